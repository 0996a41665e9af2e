/* json.c - SockJS JSON strings and string arrays (see json.h). */
#include "config.h"
#include "json.h"
#include "json_int.h"

#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

/* The code points SockJS wants escaped (see json.h).  Above U+FFFF is
 * handled by the caller (surrogate pair). */
static int escape_bmp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xad ||
	       (cp >= 0x600 && cp <= 0x604) || cp == 0x70f || cp == 0x17b4 || cp == 0x17b5 ||
	       (cp >= 0x200c && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xffff);
}

static int put_u_escape(chat_buf_t *out, uint32_t unit)
{
	char e[6] = { '\\',
		      'u',
		      hexdig[(unit >> 12) & 0xf],
		      hexdig[(unit >> 8) & 0xf],
		      hexdig[(unit >> 4) & 0xf],
		      hexdig[unit & 0xf] };

	return chat_buf_append(out, e, sizeof(e));
}

/* Writes the escape for the code point cp, which needs one. */
static int put_escape(chat_buf_t *out, uint32_t cp)
{
	int rc;

	switch (cp) {
	case '"': return chat_buf_append(out, "\\\"", 2);
	case '\\': return chat_buf_append(out, "\\\\", 2);
	case '\b': return chat_buf_append(out, "\\b", 2);
	case '\f': return chat_buf_append(out, "\\f", 2);
	case '\n': return chat_buf_append(out, "\\n", 2);
	case '\r': return chat_buf_append(out, "\\r", 2);
	case '\t': return chat_buf_append(out, "\\t", 2);
	default: break;
	}
	if (cp < 0x10000)
		return put_u_escape(out, cp);
	cp -= 0x10000;
	rc = put_u_escape(out, 0xd800 | (cp >> 10));
	if (rc == CHAT_OK)
		rc = put_u_escape(out, 0xdc00 | (cp & 0x3ff));
	return rc;
}

int json_encode_string_flags(chat_buf_t *out, const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = out->len, run = 0, i = 0, n;
	uint32_t cp;
	int rc;

	rc = chat_buf_putc(out, '"');
	while (rc == CHAT_OK && i < len) {
		unsigned char c = p[i];
		int esc;

		if (c >= 0x20 && c < 0x7f) {
			esc = c == '"' || c == '\\' ||
			      ((flags & JSON_ENC_HTML) && (c == '<' || c == '>' || c == '&'));
			n = 1;
			cp = c;
		} else {
			n = utf8_decode(p + i, len - i, &cp);
			if (n == 0) {
				rc = CHAT_EUTF8;
				break;
			}
			esc = cp > 0xffff || escape_bmp(cp);
		}
		if (!esc) {
			i += n;
			continue;
		}
		/* flush the run of bytes that go out verbatim */
		rc = chat_buf_append(out, s + run, i - run);
		if (rc == CHAT_OK)
			rc = put_escape(out, cp);
		i += n;
		run = i;
	}
	if (rc == CHAT_OK && len > run)
		rc = chat_buf_append(out, s + run, len - run);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, '"');
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

int json_encode_string(chat_buf_t *out, const char *s, size_t len)
{
	return json_encode_string_flags(out, s, len, 0);
}

int json_encode_array(chat_buf_t *out, const chat_slice_t *items, size_t n)
{
	size_t start = out->len, i;
	int rc;

	rc = chat_buf_putc(out, '[');
	for (i = 0; rc == CHAT_OK && i < n; i++) {
		if (i > 0)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = json_encode_string(out, items[i].ptr, items[i].len);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

void json_strv_init(json_strv_t *v, size_t max_bytes, size_t max_items)
{
	chat_buf_init(&v->buf, max_bytes);
	v->ends = NULL;
	v->n = 0;
	v->cap = 0;
	v->max_items = max_items;
}

void json_strv_free(json_strv_t *v)
{
	if (v == NULL)
		return;
	chat_buf_free(&v->buf);
	free(v->ends);
	v->ends = NULL;
	v->n = 0;
	v->cap = 0;
}

void json_strv_reset(json_strv_t *v)
{
	chat_buf_reset(&v->buf);
	v->n = 0;
}

/* Makes room for one more end offset. */
static int strv_reserve(json_strv_t *v)
{
	/* max_items 0 means none (chat_array_reserve would read it as no bound). */
	if (v->n >= v->max_items)
		return CHAT_ETOOMANY;
	return chat_array_reserve((void **)&v->ends, &v->cap, v->n, sizeof(*v->ends), 8,
				  v->max_items);
}

int json_strv_push(json_strv_t *v, const char *s, size_t len)
{
	int rc = strv_reserve(v);

	if (rc == CHAT_OK)
		rc = chat_buf_append(&v->buf, s, len);
	if (rc == CHAT_OK)
		v->ends[v->n++] = v->buf.len;
	return rc;
}

chat_slice_t json_strv_at(const json_strv_t *v, size_t i)
{
	size_t from = i > 0 ? v->ends[i - 1] : 0;
	chat_slice_t s = { v->buf.data ? v->buf.data + from : "", v->ends[i] - from };

	return s;
}

void json__skip_ws(json__cursor_t *c)
{
	while (c->pos < c->len && (c->p[c->pos] == ' ' || c->p[c->pos] == '\t' ||
				   c->p[c->pos] == '\n' || c->p[c->pos] == '\r'))
		c->pos++;
}

/* Appends to out, or only checks when out is NULL. */
static int put(chat_buf_t *out, const void *p, size_t n)
{
	return out != NULL ? chat_buf_append(out, p, n) : CHAT_OK;
}

/* Reads the 4 hex digits of a \u escape at c->pos (just past the `u`). */
static int read_hex4(json__cursor_t *c, uint32_t *unit, chat_error_t *err)
{
	uint32_t u = 0;
	size_t i;

	if (c->len - c->pos < 4)
		return chat_error_set(err, CHAT_EINVAL, "broken JSON: short \\u escape");
	for (i = 0; i < 4; i++) {
		int h = utf8_hexval(c->p[c->pos + i]);

		if (h < 0)
			return chat_error_set(err, CHAT_EINVAL, "broken JSON: bad \\u escape");
		u = (u << 4) | (uint32_t)h;
	}
	c->pos += 4;
	*unit = u;
	return CHAT_OK;
}

/* Decodes the \u escape whose `u` was just consumed, joining a following
 * low surrogate escape to a high one.  A surrogate left alone becomes
 * U+FFFD, or with JSON__DEC_STRICT is CHAT_EUTF8 (and a broken \u after a
 * high surrogate CHAT_EINVAL, as anywhere else). */
static int decode_u(json__cursor_t *c, unsigned flags, chat_buf_t *out, chat_error_t *err)
{
	int strict = (flags & JSON__DEC_STRICT) != 0;
	uint32_t u, lo;
	char enc[UTF8_MAX];
	size_t n;
	int rc = read_hex4(c, &u, err);

	if (rc != CHAT_OK)
		return rc;
	if (u >= 0xd800 && u <= 0xdbff && c->len - c->pos >= 2 && c->p[c->pos] == '\\' &&
	    c->p[c->pos + 1] == 'u') {
		json__cursor_t peek = *c;

		peek.pos += 2;
		rc = read_hex4(&peek, &lo, strict ? err : NULL);
		if (rc == CHAT_OK && lo >= 0xdc00 && lo <= 0xdfff) {
			*c = peek;
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		} else if (rc != CHAT_OK && strict) {
			return rc;
		}
	}
	if (strict && u >= 0xd800 && u <= 0xdfff)
		return chat_error_set(err, CHAT_EUTF8, "lone surrogate in a string");
	/* otherwise a lone surrogate becomes U+FFFD in utf8_encode */
	n = utf8_encode(u, enc);
	return put(out, enc, n);
}

/* The character a one-letter escape stands for, or -1. */
static int short_escape(unsigned char ch)
{
	switch (ch) {
	case '"':
	case '\\':
	case '/': return ch;
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return -1;
	}
}

/* The backslash escape whose backslash was just consumed. */
static int decode_escape(json__cursor_t *c, unsigned flags, chat_buf_t *out, chat_error_t *err)
{
	unsigned char ch;
	int e;

	if (c->pos >= c->len)
		return chat_error_set(err, CHAT_EINVAL, "broken JSON: unterminated string");
	ch = c->p[c->pos++];
	if (ch == 'u')
		return decode_u(c, flags, out, err);
	e = short_escape(ch);
	if (e < 0)
		return chat_error_set(err, CHAT_EINVAL, "broken JSON: bad escape");
	ch = (unsigned char)e;
	return put(out, &ch, 1);
}

int json__decode_string(json__cursor_t *c, unsigned flags, chat_buf_t *out, chat_error_t *err)
{
	size_t run;
	int rc = CHAT_OK;

	c->pos++;
	run = c->pos;
	for (;;) {
		unsigned char ch;
		size_t n;

		if (c->pos >= c->len)
			return chat_error_set(err, CHAT_EINVAL, "broken JSON: unterminated string");
		ch = c->p[c->pos];
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch < 0x80) {
			c->pos++;
			continue;
		}
		if (ch >= 0x80) {
			n = utf8_decode(c->p + c->pos, c->len - c->pos, NULL);
			if (n == 0)
				return chat_error_set(err, CHAT_EUTF8, "text is not valid UTF-8");
			c->pos += n;
			continue;
		}
		if (ch < 0x20)
			return chat_error_set(err, CHAT_EINVAL,
					      "broken JSON: control character in a string");
		rc = put(out, c->p + run, c->pos - run);
		if (rc != CHAT_OK)
			return rc;
		c->pos++;
		if (ch == '"')
			return CHAT_OK;
		rc = decode_escape(c, flags, out, err);
		if (rc != CHAT_OK)
			return rc;
		run = c->pos;
	}
}

/* Decodes one string item into v. */
static int decode_item(json__cursor_t *c, json_strv_t *v)
{
	int rc = strv_reserve(v);

	if (rc == CHAT_OK)
		rc = json__decode_string(c, 0, &v->buf, NULL);
	if (rc == CHAT_OK)
		v->ends[v->n++] = v->buf.len;
	return rc;
}

static int decode_array(json__cursor_t *c, unsigned flags, json_strv_t *v)
{
	int rc;

	json__skip_ws(c);
	if (c->pos >= c->len)
		return CHAT_EINVAL;
	if (c->p[c->pos] == '"' && (flags & JSON_DEC_BARE_STRING)) {
		rc = decode_item(c, v);
		if (rc != CHAT_OK)
			return rc;
	} else if (c->p[c->pos] == '[') {
		c->pos++;
		json__skip_ws(c);
		if (c->pos < c->len && c->p[c->pos] == ']') {
			c->pos++;
		} else {
			for (;;) {
				if (c->pos >= c->len || c->p[c->pos] != '"')
					return CHAT_EINVAL;
				rc = decode_item(c, v);
				if (rc != CHAT_OK)
					return rc;
				json__skip_ws(c);
				if (c->pos >= c->len)
					return CHAT_EINVAL;
				if (c->p[c->pos] == ']') {
					c->pos++;
					break;
				}
				if (c->p[c->pos] != ',')
					return CHAT_EINVAL;
				c->pos++;
				json__skip_ws(c);
			}
		}
	} else {
		return CHAT_EINVAL;
	}
	json__skip_ws(c);
	return c->pos == c->len ? CHAT_OK : CHAT_EINVAL;
}

int json_decode_array(const char *p, size_t len, unsigned flags, json_strv_t *v)
{
	json__cursor_t c = { (const unsigned char *)p, len, 0 };
	int rc;

	json_strv_reset(v);
	rc = decode_array(&c, flags, v);
	if (rc != CHAT_OK)
		json_strv_reset(v);
	return rc;
}

int json_decode_string(const char *p, size_t len, size_t *used, chat_buf_t *out)
{
	json__cursor_t c = { (const unsigned char *)p, len, 0 };
	size_t start = out != NULL ? out->len : 0;
	int rc;

	if (len == 0 || p[0] != '"')
		return CHAT_EINVAL;
	rc = json__decode_string(&c, 0, out, NULL);
	if (rc != CHAT_OK && out != NULL)
		chat_buf_truncate(out, start);
	else if (rc == CHAT_OK && used != NULL)
		*used = c.pos;
	return rc;
}
