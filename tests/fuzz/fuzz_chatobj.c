/*
 * fuzz_chatobj.c - the small JSON object reader behind the API bodies
 * (json_parse_object).  Invariants: a failure leaves every buffer as it
 * was and no field found; what was extracted, rendered again as JSON, parses
 * back to the same values.
 */
#include "config.h"
#include "chatmsg.h"
#include "json.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *p, size_t len, chat_buf_t *name, chat_buf_t *pw, json_field_t *f)
{
	f[0] = (json_field_t){ "name", name, 1, 0, 0, 0 };
	f[1] = (json_field_t){ "password", pw, 0, 0, 0, 0 };
	f[2] = (json_field_t){ "n", NULL, 0, 0, 0, 0 };
	return json_parse_object(p, len, &chatmsg_object_limits, f, 3, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chat_buf_t name, pw, out, name2, pw2;
	json_field_t f[3], g[3];
	int rc;

	chat_buf_init(&name, 64);
	chat_buf_init(&pw, 256);
	chat_buf_init(&out, 4096);
	chat_buf_init(&name2, 64);
	chat_buf_init(&pw2, 256);
	rc = parse((const char *)data, size, &name, &pw, f);
	if (rc != CHAT_OK) {
		if (name.len != 0 || pw.len != 0 || f[0].found || f[1].found || f[2].found)
			abort();
		goto out;
	}
	if (!f[0].found || memchr(name.data ? name.data : "", 0, name.len) != NULL)
		abort();
	if (chat_buf_append(&out, "{\"name\":", 8) != CHAT_OK ||
	    json_encode_string(&out, name.data ? name.data : "", name.len) != CHAT_OK)
		abort();
	if (f[1].found && (chat_buf_append(&out, ",\"password\":", 12) != CHAT_OK ||
			   json_encode_string(&out, pw.data ? pw.data : "", pw.len) != CHAT_OK))
		abort();
	if (f[2].found && chat_buf_printf(&out, ",\"n\":%lld", (long long)f[2].num) != CHAT_OK)
		abort();
	if (chat_buf_putc(&out, '}') != CHAT_OK)
		abort();
	if (parse(out.data, out.len, &name2, &pw2, g) != CHAT_OK || name2.len != name.len ||
	    (name.len && memcmp(name.data, name2.data, name.len)) || g[1].found != f[1].found ||
	    pw2.len != pw.len || (pw.len && memcmp(pw.data, pw2.data, pw.len)) ||
	    g[2].found != f[2].found || g[2].num != f[2].num)
		abort();
out:
	chat_buf_free(&name);
	chat_buf_free(&pw);
	chat_buf_free(&out);
	chat_buf_free(&name2);
	chat_buf_free(&pw2);
	return 0;
}
