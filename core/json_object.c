/* json_object.c - the strict reader of small flat JSON objects (see
 * json.h): the chat post, the HTTP API's bodies. */
#include "config.h"
#include "json.h"
#include "json_int.h"

#include <string.h>

/* The reader's state: the cursor, the bounds, the error detail. */
typedef struct reader {
	json__cursor_t c;
	const json_object_limits_t *lim;
	chat_error_t *err;
} reader_t;

/* The byte at the cursor, or -1 at the end. */
static int peek(const reader_t *r)
{
	return r->c.pos < r->c.len ? r->c.p[r->c.pos] : -1;
}

/* Skips a run of digits; 1 when there was at least one. */
static int skip_digits(reader_t *r)
{
	size_t from = r->c.pos;

	while (peek(r) >= '0' && peek(r) <= '9')
		r->c.pos++;
	return r->c.pos > from;
}

/* Reads a number (JSON grammar) of at most lim->max_number characters. */
static int read_number(reader_t *r)
{
	size_t start = r->c.pos;

	if (peek(r) == '-')
		r->c.pos++;
	if (peek(r) == '0')
		r->c.pos++;
	else if (!skip_digits(r))
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	if (peek(r) == '.') {
		r->c.pos++;
		if (!skip_digits(r))
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		r->c.pos++;
		if (peek(r) == '+' || peek(r) == '-')
			r->c.pos++;
		if (!skip_digits(r))
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (r->c.pos - start > r->lim->max_number)
		return chat_error_set(r->err, CHAT_ETOOBIG, "number longer than %zu characters",
				      r->lim->max_number);
	return CHAT_OK;
}

static int read_literal(reader_t *r, const char *lit)
{
	size_t n = strlen(lit);

	if (r->c.len - r->c.pos < n || memcmp(r->c.p + r->c.pos, lit, n) != 0)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	r->c.pos += n;
	return CHAT_OK;
}

/* Reads an integer value into *v: a JSON number without fraction or
 * exponent that fits an int64. */
static int read_int(reader_t *r, const json_field_t *f, int64_t *v)
{
	size_t start = r->c.pos, i;
	const unsigned char *p = r->c.p;
	int neg;
	uint64_t acc = 0;

	if ((p[start] < '0' || p[start] > '9') && p[start] != '-')
		return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" is not a number", f->name);
	if (read_number(r) != CHAT_OK)
		return r->err != NULL ? r->err->code : CHAT_EINVAL;
	neg = p[start] == '-';
	for (i = start + (size_t)neg; i < r->c.pos; i++) {
		unsigned d = p[i] - '0';

		if (d > 9)
			return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" is not a whole number",
					      f->name);
		if (acc > (UINT64_MAX - d) / 10 ||
		    acc * 10 + d > (uint64_t)INT64_MAX + (uint64_t)neg)
			return chat_error_set(r->err, CHAT_ETOOBIG, "\"%s\" is out of range",
					      f->name);
		acc = acc * 10 + d;
	}
	*v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
	return CHAT_OK;
}

/* Reads a string value into f's buffer (f NULL or an integer field:
 * only checks it). */
static int read_string_value(reader_t *r, json_field_t *f)
{
	chat_buf_t *out = f != NULL ? f->str : NULL;
	int rc = json__decode_string(&r->c, JSON__DEC_STRICT, out, r->err);

	if (rc == CHAT_ETOOBIG && out != NULL)
		chat_error_set(r->err, rc, "%s longer than %zu bytes", f->name,
			       out->max - f->start);
	if (rc == CHAT_OK && out != NULL && out->len > f->start &&
	    memchr(out->data + f->start, '\0', out->len - f->start) != NULL)
		rc = chat_error_set(r->err, CHAT_EINVAL, "%s contains NUL", f->name);
	return rc;
}

/* Reads the value of member f (NULL: one not asked for) at the cursor. */
static int read_value(reader_t *r, json_field_t *f)
{
	int c = peek(r);

	if (c < 0)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: value expected");
	if (f != NULL && f->str != NULL && c != '"')
		return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" is not a string", f->name);
	if (f != NULL && f->str == NULL)
		return read_int(r, f, &f->num);
	switch (c) {
	case '"': return read_string_value(r, f);
	case 't': return read_literal(r, "true");
	case 'f': return read_literal(r, "false");
	case 'n': return read_literal(r, "null");
	case '{':
	case '[':
		return chat_error_set(r->err, CHAT_EINVAL,
				      "nested objects and arrays are not accepted");
	default: return read_number(r);
	}
}

/* The field named key (klen bytes), or NULL. */
static json_field_t *find_field(json_field_t *fields, size_t n, const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(fields[i].name) == klen && memcmp(fields[i].name, key, klen) == 0)
			return &fields[i];
	return NULL;
}

/* Reads one member ("name": value) at the cursor into fields; key is
 * scratch space for its name. */
static int read_member(reader_t *r, json_field_t *fields, size_t nfields, chat_buf_t *key)
{
	json_field_t *f;
	int rc;

	chat_buf_reset(key);
	if ((rc = json__decode_string(&r->c, JSON__DEC_STRICT, key, r->err)) != CHAT_OK) {
		if (rc == CHAT_ETOOBIG)
			chat_error_set(r->err, rc, "member name too long");
		return rc;
	}
	if (key->len > 0 && key->data[0] == '$')
		return chat_error_set(r->err, CHAT_EINVAL, "member names may not start with '$'");
	f = key->len > 0 ? find_field(fields, nfields, key->data, key->len) : NULL;
	if (f != NULL && f->found)
		return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" given twice", f->name);
	json__skip_ws(&r->c);
	if (peek(r) != ':')
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: ':' expected");
	r->c.pos++;
	json__skip_ws(&r->c);
	if ((rc = read_value(r, f)) == CHAT_OK && f != NULL)
		f->found = 1;
	return rc;
}

/* Reads the members after the '{' up to and including the '}'. */
static int read_members(reader_t *r, json_field_t *fields, size_t nfields)
{
	size_t members = 0;
	chat_buf_t key;
	int rc = CHAT_OK;

	json__skip_ws(&r->c);
	if (peek(r) == '}') {
		r->c.pos++;
		return CHAT_OK;
	}
	chat_buf_init(&key, r->lim->max_key);
	for (;;) {
		json__skip_ws(&r->c);
		if (peek(r) != '"') {
			rc = chat_error_set(r->err, CHAT_EINVAL,
					    "broken JSON: member name expected");
			break;
		}
		if (++members > r->lim->max_members) {
			rc = chat_error_set(r->err, CHAT_ETOOMANY, "more than %zu members",
					    r->lim->max_members);
			break;
		}
		if ((rc = read_member(r, fields, nfields, &key)) != CHAT_OK)
			break;
		json__skip_ws(&r->c);
		if (peek(r) == ',' || peek(r) == '}') {
			if (r->c.p[r->c.pos++] == '}')
				break;
			continue;
		}
		rc = chat_error_set(r->err, CHAT_EINVAL, "broken JSON: ',' or '}' expected");
		break;
	}
	chat_buf_free(&key);
	return rc;
}

/* Undoes what a failed parse appended to the fields' buffers. */
static void fields_rewind(json_field_t *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		chat_buf_t *b = fields[i].str;

		if (b != NULL && b->len > fields[i].start) {
			b->len = fields[i].start;
			b->data[b->len] = '\0';
		}
		fields[i].found = 0;
	}
}

int json_parse_object(const char *p, size_t len, const json_object_limits_t *lim,
		      json_field_t *fields, size_t nfields, chat_error_t *err)
{
	reader_t r = { { (const unsigned char *)p, len, 0 }, lim, err };
	int rc = CHAT_OK;

	if (nfields > lim->max_members)
		return chat_error_set(err, CHAT_ETOOMANY, "more than %zu fields", lim->max_members);
	for (size_t i = 0; i < nfields; i++) {
		fields[i].start = fields[i].str != NULL ? fields[i].str->len : 0;
		fields[i].found = 0;
	}
	json__skip_ws(&r.c);
	if (peek(&r) != '{')
		rc = chat_error_set(err, CHAT_EINVAL, "the message is not a JSON object");
	if (rc == CHAT_OK) {
		r.c.pos++;
		rc = read_members(&r, fields, nfields);
	}
	if (rc == CHAT_OK) {
		json__skip_ws(&r.c);
		if (r.c.pos != r.c.len)
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: data after the object");
	}
	for (size_t i = 0; i < nfields && rc == CHAT_OK; i++)
		if (fields[i].required && !fields[i].found)
			rc = chat_error_set(err, CHAT_EINVAL, "\"%s\" is missing", fields[i].name);
	if (rc != CHAT_OK)
		fields_rewind(fields, nfields);
	return rc;
}
