/*
 * utf8.h - UTF-8 one code point at a time: strict decoding (shortest form
 * of a Unicode scalar value only), encoding, and hex digits for the
 * escapes that carry code points (JSON \uXXXX, URL %XX).  Pure functions;
 * the JSON, chat message and store checks all use these so that one rule
 * decides what counts as valid UTF-8.
 */
#ifndef CHAT_UTF8_H
#define CHAT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Most bytes one code point takes. */
#define UTF8_MAX 4

/* Decodes the sequence at p (n >= 1 bytes available).  Returns its length
 * (1 to 4) and stores the code point in *cp (when cp is not NULL), or
 * returns 0, leaving *cp alone, when the bytes there are not the shortest
 * form of a Unicode scalar value: a stray continuation byte, a lead byte
 * C0, C1 or F5-FF, an overlong form, a surrogate (U+D800-DFFF), a value
 * above U+10FFFF, a missing continuation byte, or a sequence longer than
 * n.  NUL and other control characters are valid (callers that refuse
 * them check the code point). */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Writes the UTF-8 for cp into out (room for UTF8_MAX bytes) and returns
 * its length (1 to 4).  A surrogate or a value above U+10FFFF, which UTF-8
 * cannot carry, is written as U+FFFD, so the output is always valid. */
size_t utf8_encode(uint32_t cp, char *out);

/* The value (0-15) of the hex digit c (0-9, a-f, A-F), or -1. */
int utf8_hexval(unsigned char c);

#endif
