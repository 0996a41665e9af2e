/*
 * fuzz_names.c - the name rules (core/names.c) on arbitrary bytes.
 * Checks invariants: a name that passes is NFC already (checking it again
 * gives the same bytes), is at most NAMES_NFC_MAX bytes, holds no byte
 * below 0x20, and has a key; the key is stable (the key of a checked key,
 * when that key is itself a valid name, is the same); a refused name
 * leaves an empty output and a reason.
 */
#include "config.h"
#include "names.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char nfc[NAMES_NFC_MAX + 1], again[NAMES_NFC_MAX + 1];
	char key[NAMES_KEY_MAX + 1], key2[NAMES_KEY_MAX + 1];
	chat_error_t err = { 0 };
	size_t len, len2, klen, i;
	chat_slice_t s = { (const char *)data, size };
	int rc = names_check("names", s, nfc, &len, &err);

	if (rc != CHAT_OK) {
		if (nfc[0] != '\0' || len != 0 || err.message[0] == '\0')
			abort();
		return 0;
	}
	if (len == 0 || len > NAMES_NFC_MAX || strlen(nfc) != len)
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)nfc[i] < 0x20)
			abort();
	if (names_check("names", (chat_slice_t){ nfc, len }, again, &len2, &err) != CHAT_OK ||
	    len2 != len || memcmp(again, nfc, len) != 0)
		abort();
	rc = names_key((chat_slice_t){ nfc, len }, key, &klen, &err);
	if (rc == CHAT_ETOOBIG)
		return 0;
	if (rc != CHAT_OK || klen == 0 || strlen(key) != klen)
		abort();
	/* The key is a fixed point of the key function. */
	if (names_key((chat_slice_t){ key, klen }, key2, &len2, &err) != CHAT_OK ||
	    strcmp(key, key2) != 0)
		abort();
	return 0;
}
