/* chatmsg.c - chat posts: a strict small JSON object reader, room id and
 * user name checks, and the stamped message's JSON (see chatmsg.h). */
#include "config.h"
#include "chatmsg.h"

#include "json.h"

#include <string.h>

/* The reader's state: input, position, the error detail. */
typedef struct reader {
	const unsigned char *p;
	size_t len, pos;
	chat_error_t *err;
} reader_t;

static void skip_ws(reader_t *r)
{
	while (r->pos < r->len && (r->p[r->pos] == ' ' || r->p[r->pos] == '\t' ||
				   r->p[r->pos] == '\n' || r->p[r->pos] == '\r'))
		r->pos++;
}

/* Length of a valid UTF-8 sequence at p (n bytes available), 0 if invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t c = p[0], min;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return need;
}

static int put_cp(chat_buf_t *out, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return out ? chat_buf_append(out, u, n) : CHAT_OK;
}

static int hex4(reader_t *r, uint32_t *v)
{
	size_t i;

	*v = 0;
	if (r->len - r->pos < 4)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: short \\u escape");
	for (i = 0; i < 4; i++) {
		unsigned c = r->p[r->pos + i];
		unsigned d = c >= '0' && c <= '9'   ? c - '0'
			     : c >= 'a' && c <= 'f' ? c - 'a' + 10
			     : c >= 'A' && c <= 'F' ? c - 'A' + 10
						    : 16;

		if (d == 16)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad \\u escape");
		*v = (*v << 4) | d;
	}
	r->pos += 4;
	return CHAT_OK;
}

/* Reads a string literal at r->pos (which is at the opening quote),
 * appending its decoded bytes to out when out is not NULL. */
static int read_string(reader_t *r, chat_buf_t *out)
{
	int rc;

	r->pos++;
	for (;;) {
		unsigned char c;
		uint32_t cp, lo;
		size_t n, start = r->pos;

		/* A run of plain bytes at once. */
		while (r->pos < r->len && r->p[r->pos] != '"' && r->p[r->pos] != '\\' &&
		       r->p[r->pos] >= 0x20) {
			n = utf8_len(r->p + r->pos, r->len - r->pos);
			if (n == 0)
				return chat_error_set(r->err, CHAT_EUTF8, "text is not valid UTF-8");
			r->pos += n;
		}
		if (out != NULL && r->pos > start &&
		    (rc = chat_buf_append(out, r->p + start, r->pos - start)) != CHAT_OK)
			return rc;
		if (r->pos == r->len)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: unterminated string");
		c = r->p[r->pos++];
		if (c == '"')
			return CHAT_OK;
		if (c != '\\')
			return chat_error_set(r->err, CHAT_EINVAL,
					      "broken JSON: control character in a string");
		if (r->pos == r->len)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: unterminated string");
		c = r->p[r->pos++];
		switch (c) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if ((rc = hex4(r, &cp)) != CHAT_OK)
				return rc;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return chat_error_set(r->err, CHAT_EUTF8, "lone surrogate in a string");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->len - r->pos < 2 || r->p[r->pos] != '\\' ||
				    r->p[r->pos + 1] != 'u')
					return chat_error_set(r->err, CHAT_EUTF8,
							      "lone surrogate in a string");
				r->pos += 2;
				if ((rc = hex4(r, &lo)) != CHAT_OK)
					return rc;
				if (lo < 0xdc00 || lo > 0xdfff)
					return chat_error_set(r->err, CHAT_EUTF8,
							      "lone surrogate in a string");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			break;
		default:
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad escape");
		}
		if (out != NULL && (rc = put_cp(out, cp)) != CHAT_OK)
			return rc;
	}
}

/* Reads a number (JSON grammar) of at most CHATMSG_NUMBER_MAX characters. */
static int read_number(reader_t *r)
{
	size_t start = r->pos, digits;

	if (r->pos < r->len && r->p[r->pos] == '-')
		r->pos++;
	digits = r->pos;
	if (r->pos < r->len && r->p[r->pos] == '0') {
		r->pos++;
	} else {
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos == digits)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	if (r->pos < r->len && r->p[r->pos] == '.') {
		digits = ++r->pos;
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
		if (r->pos == digits)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (r->pos < r->len && (r->p[r->pos] == 'e' || r->p[r->pos] == 'E')) {
		r->pos++;
		if (r->pos < r->len && (r->p[r->pos] == '+' || r->p[r->pos] == '-'))
			r->pos++;
		digits = r->pos;
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
		if (r->pos == digits)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (r->pos - start > CHATMSG_NUMBER_MAX)
		return chat_error_set(r->err, CHAT_ETOOBIG, "number longer than %d characters",
				      CHATMSG_NUMBER_MAX);
	return CHAT_OK;
}

static int read_literal(reader_t *r, const char *lit)
{
	size_t n = strlen(lit);

	if (r->len - r->pos < n || memcmp(r->p + r->pos, lit, n) != 0)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	r->pos += n;
	return CHAT_OK;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

int chatmsg_parse_post(const char *p, size_t len, chat_buf_t *text, chat_error_t *err)
{
	reader_t r = { (const unsigned char *)p, len, 0, err };
	chat_buf_t key;
	size_t start = text->len, members = 0;
	int rc, have_text = 0;

	chat_buf_init(&key, CHATMSG_TEXT_MAX);
	skip_ws(&r);
	if (r.pos == r.len || r.p[r.pos] != '{') {
		rc = chat_error_set(err, CHAT_EINVAL, "the message is not a JSON object");
		goto out;
	}
	r.pos++;
	skip_ws(&r);
	if (r.pos < r.len && r.p[r.pos] == '}') {
		r.pos++;
		goto end;
	}
	for (;;) {
		int is_text;

		skip_ws(&r);
		if (r.pos == r.len || r.p[r.pos] != '"') {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: member name expected");
			goto out;
		}
		if (++members > CHATMSG_MEMBERS_MAX) {
			rc = chat_error_set(err, CHAT_ETOOMANY, "more than %d members",
					    CHATMSG_MEMBERS_MAX);
			goto out;
		}
		chat_buf_reset(&key);
		if ((rc = read_string(&r, &key)) != CHAT_OK) {
			if (rc == CHAT_ETOOBIG)
				chat_error_set(err, rc, "member name too long");
			goto out;
		}
		if (key.len > 0 && key.data[0] == '$') {
			rc = chat_error_set(err, CHAT_EINVAL, "member names may not start with '$'");
			goto out;
		}
		is_text = key.len == 4 && memcmp(key.data, "text", 4) == 0;
		if (is_text && have_text) {
			rc = chat_error_set(err, CHAT_EINVAL, "\"text\" given twice");
			goto out;
		}
		skip_ws(&r);
		if (r.pos == r.len || r.p[r.pos] != ':') {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: ':' expected");
			goto out;
		}
		r.pos++;
		skip_ws(&r);
		if (r.pos == r.len) {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: value expected");
			goto out;
		}
		if (is_text && r.p[r.pos] != '"') {
			rc = chat_error_set(err, CHAT_EINVAL, "\"text\" is not a string");
			goto out;
		}
		switch (r.p[r.pos]) {
		case '"':
			rc = read_string(&r, is_text ? text : NULL);
			if (rc == CHAT_ETOOBIG && is_text)
				chat_error_set(err, rc, "text longer than %zu bytes",
					       text->max - start < CHATMSG_TEXT_MAX
						       ? text->max - start
						       : (size_t)CHATMSG_TEXT_MAX);
			have_text |= is_text;
			break;
		case 't': rc = read_literal(&r, "true"); break;
		case 'f': rc = read_literal(&r, "false"); break;
		case 'n': rc = read_literal(&r, "null"); break;
		case '{':
		case '[':
			rc = chat_error_set(err, CHAT_EINVAL, "nested objects and arrays are not accepted");
			break;
		default: rc = read_number(&r); break;
		}
		if (rc != CHAT_OK)
			goto out;
		skip_ws(&r);
		if (r.pos < r.len && r.p[r.pos] == ',') {
			r.pos++;
			continue;
		}
		if (r.pos < r.len && r.p[r.pos] == '}') {
			r.pos++;
			break;
		}
		rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: ',' or '}' expected");
		goto out;
	}
end:
	skip_ws(&r);
	if (r.pos != r.len) {
		rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: data after the object");
		goto out;
	}
	if (!have_text) {
		rc = chat_error_set(err, CHAT_EINVAL, "\"text\" is missing");
		goto out;
	}
	if (text->len - start > CHATMSG_TEXT_MAX) {
		rc = chat_error_set(err, CHAT_ETOOBIG, "text longer than %d bytes",
				    CHATMSG_TEXT_MAX);
		goto out;
	}
	if (text->len == start) { /* nothing appended: data may be NULL */
		rc = chat_error_set(err, CHAT_EINVAL, "text is empty");
		goto out;
	}
	if (memchr(text->data + start, '\0', text->len - start) != NULL) {
		rc = chat_error_set(err, CHAT_EINVAL, "text contains NUL");
		goto out;
	}
	if (is_blank(text->data + start, text->len - start)) {
		rc = chat_error_set(err, CHAT_EINVAL, "text is empty");
		goto out;
	}
	rc = CHAT_OK;
out:
	if (rc != CHAT_OK && text->len > start) {
		text->len = start;
		text->data[start] = '\0';
	}
	chat_buf_free(&key);
	return rc;
}

static int all_in(chat_slice_t s, size_t max, const char *extra, int first_alnum)
{
	if (s.len == 0 || s.len > max)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (c == '\0' || strchr(extra, c) == NULL || (i == 0 && first_alnum)))
			return 0;
	}
	return 1;
}

int chatmsg_room_valid(chat_slice_t s)
{
	return all_in(s, CHATMSG_ROOM_MAX, "_-", 0);
}

int chatmsg_name_valid(chat_slice_t s)
{
	return all_in(s, CHATMSG_NAME_MAX, "_.-", 1);
}

int chatmsg_render(chat_buf_t *out, const chatmsg_t *m)
{
	size_t start = out->len;
	int rc;

	if ((rc = chat_buf_printf(out, "{\"id\":%lld,\"room\":", (long long)m->id)) != CHAT_OK ||
	    (rc = json_encode_string(out, m->room, strlen(m->room))) != CHAT_OK ||
	    (rc = chat_buf_printf(out, ",\"seq\":%lld,\"writer\":", (long long)m->room_seq)) !=
		    CHAT_OK ||
	    (rc = json_encode_string(out, m->writer, strlen(m->writer))) != CHAT_OK ||
	    (rc = chat_buf_printf(out, ",\"time\":%lld,\"text\":", (long long)m->time_ms)) !=
		    CHAT_OK ||
	    (rc = json_encode_string(out, m->text.ptr ? m->text.ptr : "", m->text.len)) !=
		    CHAT_OK ||
	    (rc = chat_buf_putc(out, '}')) != CHAT_OK) {
		if (out->len > start) {
			out->len = start;
			out->data[start] = '\0';
		}
	}
	return rc;
}
