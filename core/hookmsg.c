/* hookmsg.c - the application hook's messages (see hookmsg.h). */
#include "config.h"
#include "hookmsg.h"

#include "json.h"
#include "jtok.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the URL ---- */

/* Reads a decimal number of at most max_digits digits at *s. */
static int read_dec(const char **s, int max_digits, long *out)
{
	long v = 0;
	int n = 0;

	while (**s >= '0' && **s <= '9' && n < max_digits) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	if (n == 0 || (**s >= '0' && **s <= '9'))
		return CHAT_EINVAL;
	*out = v;
	return CHAT_OK;
}

int hookmsg_url_parse(const char *url, hookmsg_url_t *u, chat_error_t *err)
{
	const char *s = url, *host;
	long v;
	int i;

	memset(u, 0, sizeof(*u));
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return chat_error_set(err, CHAT_EINVAL, "the hook URL must start with http://");
	s = host = url + 7;
	for (i = 0; i < 4; i++) {
		if (read_dec(&s, 3, &v) != CHAT_OK || v > 255 || (i < 3 && *s++ != '.'))
			return chat_error_set(
				err, CHAT_EINVAL,
				"the hook URL's host must be a numeric IPv4 address (such as 127.0.0.1)");
	}
	memcpy(u->host, host, (size_t)(s - host));
	u->port = 80;
	if (*s == ':') {
		s++;
		if (read_dec(&s, 5, &v) != CHAT_OK || v < 1 || v > 65535)
			return chat_error_set(err, CHAT_EINVAL, "invalid port in the hook URL");
		u->port = (int)v;
	}
	if (*s == '\0') {
		u->path[0] = '/';
		return CHAT_OK;
	}
	if (*s != '/')
		return chat_error_set(err, CHAT_EINVAL, "invalid hook URL after the address");
	if (strlen(s) > HOOKMSG_PATH_MAX)
		return chat_error_set(err, CHAT_EINVAL, "the hook URL's path is too long");
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '#')
			return chat_error_set(
				err, CHAT_EINVAL,
				"the hook URL's path has a space, control or non-ASCII character or '#'");
	memcpy(u->path, s, strlen(s) + 1);
	return CHAT_OK;
}

/* ---- the request ---- */

static int put_member(chat_buf_t *out, const char *name, const char *p, size_t n)
{
	int rc = json_encode_string(out, name, strlen(name));

	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ':');
	if (rc == CHAT_OK)
		rc = json_encode_string(out, p != NULL ? p : "", p != NULL ? n : 0);
	return rc;
}

/* 1 when header pair i repeats an earlier name. */
static int repeated(const hookmsg_request_t *rq, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (rq->hdrs[2 * j].len == rq->hdrs[2 * i].len &&
		    memcmp(rq->hdrs[2 * j].ptr, rq->hdrs[2 * i].ptr, rq->hdrs[2 * i].len) == 0)
			return 1;
	return 0;
}

int hookmsg_request_render(chat_buf_t *out, const hookmsg_request_t *rq)
{
	const char *s[] = { "type",    rq->type,    "user",        rq->user,
			    "session", rq->session, "destination", rq->destination };
	size_t start = out->len, i, first = 1;
	int rc = chat_buf_putc(out, '{');

	for (i = 0; rc == CHAT_OK && i < CHAT_ARRAY_LEN(s); i += 2) {
		if (i > 0)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = put_member(out, s[i], s[i + 1], s[i + 1] ? strlen(s[i + 1]) : 0);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_puts(out, ",\"headers\":{");
	for (i = 0; rc == CHAT_OK && i < rq->nhdrs; i++) {
		if (repeated(rq, i))
			continue;
		if (!first)
			rc = chat_buf_putc(out, ',');
		first = 0;
		if (rc == CHAT_OK)
			rc = json_encode_string(out, rq->hdrs[2 * i].ptr, rq->hdrs[2 * i].len);
		if (rc == CHAT_OK)
			rc = chat_buf_putc(out, ':');
		if (rc == CHAT_OK)
			rc = json_encode_string(out, rq->hdrs[2 * i + 1].ptr,
						rq->hdrs[2 * i + 1].len);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_puts(out, "},");
	if (rc == CHAT_OK)
		rc = put_member(out, "body", rq->body.ptr, rq->body.len);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, '}');
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

/* ---- the HTTP response ---- */

/* The end of the header section (just past the blank line), or 0. */
static size_t head_end(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Header line [p, e) named name (case-insensitive): its value, trimmed. */
static int header_value(const char *p, const char *e, const char *name, chat_slice_t *v)
{
	size_t n = strlen(name);

	if ((size_t)(e - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return 0;
	p += n + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*v = (chat_slice_t){ p, (size_t)(e - p) };
	return 1;
}

int hookmsg_http_parse(const char *p, size_t len, int eof, hookmsg_http_t *r)
{
	size_t end = head_end(p, len), i, line, clen = 0;
	int has_clen = 0;
	chat_slice_t v;

	memset(r, 0, sizeof(*r));
	if (end == 0 || end > HOOKMSG_HEAD_MAX) {
		if (end > HOOKMSG_HEAD_MAX || len > HOOKMSG_HEAD_MAX)
			return CHAT_ETOOBIG;
		return eof ? CHAT_EINVAL : CHAT_EAGAIN;
	}
	/* HTTP/1.x SP DDD (SP reason)? */
	/* The shortest: "HTTP/1.0 200\n\n" (14 bytes). */
	if (end < 14 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return CHAT_EINVAL;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	for (line = 0; line < end && p[line] != '\n'; line++)
		;
	for (i = line + 1; i < end; i = line + 1) {
		const char *s = p + i;

		for (line = i; line < end && p[line] != '\n'; line++)
			;
		if (line == i || (line == i + 1 && p[i] == '\r'))
			break;
		if (header_value(s, p + line, "Transfer-Encoding", &v) ||
		    (header_value(s, p + line, "Content-Encoding", &v) &&
		     !(v.len == 8 && strncasecmp(v.ptr, "identity", 8) == 0)))
			return CHAT_EINVAL;
		if (header_value(s, p + line, "Content-Length", &v)) {
			size_t n = 0, k;

			if (has_clen || v.len == 0 || v.len > 12)
				return CHAT_EINVAL;
			for (k = 0; k < v.len; k++) {
				if (v.ptr[k] < '0' || v.ptr[k] > '9')
					return CHAT_EINVAL;
				n = n * 10 + (size_t)(v.ptr[k] - '0');
			}
			has_clen = 1;
			clen = n;
		}
	}
	if (has_clen) {
		if (len - end < clen)
			return eof ? CHAT_EINVAL : CHAT_EAGAIN;
		r->body = (chat_slice_t){ p + end, clen };
		return CHAT_OK;
	}
	if (!eof)
		return CHAT_EAGAIN;
	r->body = (chat_slice_t){ p + end, len - end };
	return CHAT_OK;
}

/* ---- the answer ---- */

void hookmsg_answer_init(hookmsg_answer_t *a, size_t body_max)
{
	memset(a, 0, sizeof(*a));
	chat_buf_init(&a->error, HOOKMSG_ERROR_MAX);
	for (size_t i = 0; i < HOOKMSG_OUT_MAX; i++) {
		chat_buf_init(&a->out[i].dest, HOOKMSG_DEST_MAX);
		chat_buf_init(&a->out[i].ctype, HOOKMSG_CTYPE_MAX);
		chat_buf_init(&a->out[i].body, body_max);
	}
}

void hookmsg_answer_free(hookmsg_answer_t *a)
{
	if (a == NULL)
		return;
	chat_buf_free(&a->error);
	for (size_t i = 0; i < HOOKMSG_OUT_MAX; i++) {
		chat_buf_free(&a->out[i].dest);
		chat_buf_free(&a->out[i].ctype);
		chat_buf_free(&a->out[i].body);
	}
	a->n = 0;
	a->has_error = 0;
}

static void answer_reset(hookmsg_answer_t *a)
{
	chat_buf_reset(&a->error);
	for (size_t i = 0; i < HOOKMSG_OUT_MAX; i++) {
		chat_buf_reset(&a->out[i].dest);
		chat_buf_reset(&a->out[i].ctype);
		chat_buf_reset(&a->out[i].body);
	}
	a->n = 0;
	a->has_error = 0;
}

/* String member key of object obj into out (absent: nothing, 0). */
static int opt_string(const jtok_doc_t *d, size_t obj, const char *key, chat_buf_t *out,
		      chat_error_t *err)
{
	size_t v = jtok_member(d, obj, key);
	int rc;

	if (v == JTOK_NONE || d->t[v].type == JTOK_NULL)
		return CHAT_OK;
	if (d->t[v].type != JTOK_STRING)
		return chat_error_set(err, CHAT_EINVAL, "\"%s\" is not a string", key);
	rc = jtok_string(d, v, out);
	if (rc == CHAT_ETOOBIG)
		return chat_error_set(err, rc, "\"%s\" is longer than %zu bytes", key, out->max);
	return rc != CHAT_OK ? chat_error_set(err, rc, "\"%s\": %s", key, chat_strerror(rc)) : rc;
}

static int parse_out(const jtok_doc_t *d, size_t m, hookmsg_out_t *o, chat_error_t *err)
{
	size_t b, h;
	chat_slice_t raw;
	int rc;

	if (d->t[m].type != JTOK_OBJECT)
		return chat_error_set(err, CHAT_EINVAL, "a message is not an object");
	if ((rc = opt_string(d, m, "destination", &o->dest, err)) != CHAT_OK)
		return rc;
	h = jtok_member(d, m, "headers");
	if (h != JTOK_NONE && d->t[h].type != JTOK_NULL) {
		if (d->t[h].type != JTOK_OBJECT)
			return chat_error_set(err, CHAT_EINVAL, "\"headers\" is not an object");
		if ((rc = opt_string(d, h, "content-type", &o->ctype, err)) != CHAT_OK)
			return rc;
	}
	b = jtok_member(d, m, "body");
	if (b == JTOK_NONE)
		return chat_error_set(err, CHAT_EINVAL, "a message without \"body\"");
	if (d->t[b].type == JTOK_STRING) {
		rc = opt_string(d, m, "body", &o->body, err);
	} else {
		/* Any other JSON value is sent as its JSON text. */
		raw = jtok_text(d, b);
		rc = chat_buf_append(&o->body, raw.ptr, raw.len);
		if (rc == CHAT_ETOOBIG)
			rc = chat_error_set(err, rc, "\"body\" is longer than %zu bytes",
					    o->body.max);
		if (rc == CHAT_OK && o->ctype.len == 0)
			rc = chat_buf_puts(&o->ctype, "application/json");
	}
	return rc;
}

/* Tokenizes p[0..len) into d, a JSON object (d->t allocated: free it). */
static int parse_doc(jtok_doc_t *d, const char *p, size_t len, const char *what, chat_error_t *err)
{
	int rc;

	d->max = HOOKMSG_TOKENS_MAX;
	d->t = calloc(HOOKMSG_TOKENS_MAX, sizeof(*d->t));
	if (d->t == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	rc = jtok_parse(d, p, len);
	if (rc == CHAT_ETOOMANY)
		return chat_error_set(err, rc, "more than %d JSON values", HOOKMSG_TOKENS_MAX);
	if (rc != CHAT_OK || d->t[0].type != JTOK_OBJECT)
		return chat_error_set(err, rc != CHAT_OK ? rc : CHAT_EINVAL,
				      "%s is not a JSON object", what);
	return CHAT_OK;
}

int hookmsg_message_parse(const char *p, size_t len, hookmsg_out_t *o, chat_error_t *err)
{
	jtok_doc_t d = { 0 };
	int rc = parse_doc(&d, p, len, "the message", err);

	if (rc == CHAT_OK)
		rc = parse_out(&d, 0, o, err);
	if (rc != CHAT_OK) {
		chat_buf_reset(&o->dest);
		chat_buf_reset(&o->ctype);
		chat_buf_reset(&o->body);
	}
	free(d.t);
	return rc;
}

int hookmsg_answer_parse(const char *p, size_t len, hookmsg_answer_t *a, chat_error_t *err)
{
	jtok_doc_t d = { 0 };
	size_t e, ms, i;
	int rc;

	answer_reset(a);
	if ((rc = parse_doc(&d, p, len, "the answer", err)) != CHAT_OK)
		goto out;
	e = jtok_member(&d, 0, "error");
	if (e != JTOK_NONE && d.t[e].type != JTOK_NULL) {
		if ((rc = opt_string(&d, 0, "error", &a->error, err)) != CHAT_OK)
			goto out;
		a->has_error = 1;
	}
	ms = jtok_member(&d, 0, "messages");
	if (ms == JTOK_NONE || d.t[ms].type == JTOK_NULL)
		goto out;
	if (d.t[ms].type != JTOK_ARRAY) {
		rc = chat_error_set(err, CHAT_EINVAL, "\"messages\" is not an array");
		goto out;
	}
	if (d.t[ms].size > HOOKMSG_OUT_MAX) {
		rc = chat_error_set(err, CHAT_ETOOMANY, "more than %d messages", HOOKMSG_OUT_MAX);
		goto out;
	}
	for (i = 0; i < d.t[ms].size; i++) {
		if ((rc = parse_out(&d, jtok_item(&d, ms, i), &a->out[i], err)) != CHAT_OK)
			goto out;
		a->n = i + 1;
	}
out:
	if (rc != CHAT_OK)
		answer_reset(a);
	free(d.t);
	return rc;
}
