/* jtok.c - the bounded JSON tokenizer (see jtok.h). */
#include "config.h"
#include "jtok.h"

#include "json.h"

#include <string.h>

typedef struct cur {
	jtok_doc_t *d;
	size_t pos;
} cur_t;

static void skip_ws(cur_t *c)
{
	const char *p = c->d->p;

	while (c->pos < c->d->len &&
	       (p[c->pos] == ' ' || p[c->pos] == '\t' || p[c->pos] == '\n' || p[c->pos] == '\r'))
		c->pos++;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* A number as JSON's grammar has it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(cur_t *c)
{
	const char *p = c->d->p;
	size_t n = c->d->len, i = c->pos;

	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if (i < n && is_digit(p[i]))
		while (i < n && is_digit(p[i]))
			i++;
	else
		return CHAT_EINVAL;
	if (i < n && p[i] == '.') {
		if (++i >= n || !is_digit(p[i]))
			return CHAT_EINVAL;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		if (++i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !is_digit(p[i]))
			return CHAT_EINVAL;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i - c->pos > JTOK_NUMBER_MAX)
		return CHAT_EINVAL;
	c->pos = i;
	return CHAT_OK;
}

static int scan_literal(cur_t *c, const char *lit)
{
	size_t n = strlen(lit);

	if (c->d->len - c->pos < n || memcmp(c->d->p + c->pos, lit, n) != 0)
		return CHAT_EINVAL;
	c->pos += n;
	return CHAT_OK;
}

static int new_token(cur_t *c, jtok_type_t type, size_t *index)
{
	jtok_doc_t *d = c->d;

	if (d->n >= d->max)
		return CHAT_ETOOMANY;
	*index = d->n++;
	d->t[*index] = (jtok_t){ type, c->pos, c->pos, 0, 0 };
	return CHAT_OK;
}

static int scan_string(cur_t *c)
{
	size_t used = 0, i;
	int rc = new_token(c, JTOK_STRING, &i);

	if (rc == CHAT_OK)
		rc = json_decode_string(c->d->p + c->pos, c->d->len - c->pos, &used, NULL);
	if (rc != CHAT_OK)
		return rc;
	c->pos += used;
	c->d->t[i].end = c->pos;
	c->d->t[i].next = c->d->n;
	return CHAT_OK;
}

static int scan_value(cur_t *c, int depth);

/* An array or object whose opening bracket is at c->pos. */
static int scan_container(cur_t *c, int depth)
{
	jtok_doc_t *d = c->d;
	int obj = d->p[c->pos] == '{';
	char close = obj ? '}' : ']';
	size_t i;
	int rc;

	if (depth >= JTOK_DEPTH_MAX)
		return CHAT_EINVAL;
	if ((rc = new_token(c, obj ? JTOK_OBJECT : JTOK_ARRAY, &i)) != CHAT_OK)
		return rc;
	c->pos++;
	skip_ws(c);
	if (c->pos < d->len && d->p[c->pos] == close) {
		c->pos++;
		goto done;
	}
	for (;;) {
		if (obj) {
			skip_ws(c);
			if (c->pos >= d->len || d->p[c->pos] != '"')
				return CHAT_EINVAL;
			if ((rc = scan_string(c)) != CHAT_OK)
				return rc;
			skip_ws(c);
			if (c->pos >= d->len || d->p[c->pos] != ':')
				return CHAT_EINVAL;
			c->pos++;
		}
		if ((rc = scan_value(c, depth + 1)) != CHAT_OK)
			return rc;
		d->t[i].size++;
		skip_ws(c);
		if (c->pos >= d->len)
			return CHAT_EINVAL;
		if (d->p[c->pos] == close) {
			c->pos++;
			break;
		}
		if (d->p[c->pos] != ',')
			return CHAT_EINVAL;
		c->pos++;
	}
done:
	d->t[i].end = c->pos;
	d->t[i].next = d->n;
	return CHAT_OK;
}

static int scan_value(cur_t *c, int depth)
{
	jtok_doc_t *d = c->d;
	jtok_type_t type;
	size_t i;
	int rc;

	skip_ws(c);
	if (c->pos >= d->len)
		return CHAT_EINVAL;
	switch (d->p[c->pos]) {
	case '{':
	case '[': return scan_container(c, depth);
	case '"': return scan_string(c);
	case 't': type = JTOK_TRUE; break;
	case 'f': type = JTOK_FALSE; break;
	case 'n': type = JTOK_NULL; break;
	default: type = JTOK_NUMBER; break;
	}
	if ((rc = new_token(c, type, &i)) != CHAT_OK)
		return rc;
	switch (type) {
	case JTOK_TRUE: rc = scan_literal(c, "true"); break;
	case JTOK_FALSE: rc = scan_literal(c, "false"); break;
	case JTOK_NULL: rc = scan_literal(c, "null"); break;
	default: rc = scan_number(c); break;
	}
	d->t[i].end = c->pos;
	d->t[i].next = d->n;
	return rc;
}

int jtok_parse(jtok_doc_t *d, const char *p, size_t len)
{
	cur_t c = { d, 0 };
	int rc;

	d->p = p != NULL ? p : "";
	d->len = p != NULL ? len : 0;
	d->n = 0;
	rc = scan_value(&c, 0);
	if (rc == CHAT_OK) {
		skip_ws(&c);
		if (c.pos != d->len)
			rc = CHAT_EINVAL;
	}
	if (rc != CHAT_OK)
		d->n = 0;
	return rc;
}

/* 1 when string token i decodes to key. */
static int key_is(const jtok_doc_t *d, size_t i, const char *key)
{
	chat_buf_t b;
	size_t n = strlen(key);
	int eq;

	/* The common case: no escapes, compare in place. */
	if (memchr(d->p + d->t[i].start, '\\', d->t[i].end - d->t[i].start) == NULL)
		return d->t[i].end - d->t[i].start == n + 2 &&
		       memcmp(d->p + d->t[i].start + 1, key, n) == 0;
	chat_buf_init(&b, strlen(key) + 8);
	eq = jtok_string(d, i, &b) == CHAT_OK && b.len == n && memcmp(b.data, key, n) == 0;
	chat_buf_free(&b);
	return eq;
}

size_t jtok_member(const jtok_doc_t *d, size_t obj, const char *key)
{
	size_t i, k;

	if (obj >= d->n || d->t[obj].type != JTOK_OBJECT)
		return JTOK_NONE;
	for (i = 0, k = obj + 1; i < d->t[obj].size; i++) {
		if (key_is(d, k, key))
			return k + 1;
		k = d->t[k + 1].next;
	}
	return JTOK_NONE;
}

size_t jtok_item(const jtok_doc_t *d, size_t arr, size_t i)
{
	size_t k = arr + 1;

	if (arr >= d->n || d->t[arr].type != JTOK_ARRAY || i >= d->t[arr].size)
		return JTOK_NONE;
	while (i-- > 0)
		k = d->t[k].next;
	return k;
}

int jtok_string(const jtok_doc_t *d, size_t i, chat_buf_t *out)
{
	if (i >= d->n || d->t[i].type != JTOK_STRING)
		return CHAT_EINVAL;
	return json_decode_string(d->p + d->t[i].start, d->t[i].end - d->t[i].start, NULL, out);
}

chat_slice_t jtok_text(const jtok_doc_t *d, size_t i)
{
	if (i >= d->n)
		return (chat_slice_t){ "", 0 };
	return (chat_slice_t){ d->p + d->t[i].start, d->t[i].end - d->t[i].start };
}
