/* stomp.c - the STOMP frame parser, and the command table and header
 * checks the serialiser (stomp_write.c) shares (see stomp.h). */
#include "config.h"
#include "stomp.h"
#include "stomp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a header of the frame being assembled lives in p->buf.  Offsets,
 * not pointers, because the buffer may move while it grows. */
struct stomp__hdr {
	size_t name_off, name_len;
	size_t value_off, value_len;
};

enum {
	ST_IDLE,     /* between frames: EOLs are heart-beats */
	ST_IDLE_CR,  /* between frames, after a CR: an LF must follow */
	ST_COMMAND,  /* reading the command line */
	ST_HEADER,   /* reading a header line (an empty one ends them) */
	ST_BODY_LEN, /* reading body_left more content-length bytes */
	ST_BODY_NUL, /* the NUL that must follow a content-length body */
	ST_BODY_SCAN /* body without content-length: up to the first NUL */
};

/* Index = stomp_command_t. */
static const char *const command_names[STOMP_CMD_COUNT_] = {
	[STOMP_CMD_UNKNOWN] = NULL,
	[STOMP_CMD_CONNECT] = "CONNECT",
	[STOMP_CMD_STOMP] = "STOMP",
	[STOMP_CMD_CONNECTED] = "CONNECTED",
	[STOMP_CMD_SEND] = "SEND",
	[STOMP_CMD_SUBSCRIBE] = "SUBSCRIBE",
	[STOMP_CMD_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[STOMP_CMD_ACK] = "ACK",
	[STOMP_CMD_NACK] = "NACK",
	[STOMP_CMD_BEGIN] = "BEGIN",
	[STOMP_CMD_COMMIT] = "COMMIT",
	[STOMP_CMD_ABORT] = "ABORT",
	[STOMP_CMD_DISCONNECT] = "DISCONNECT",
	[STOMP_CMD_MESSAGE] = "MESSAGE",
	[STOMP_CMD_RECEIPT] = "RECEIPT",
	[STOMP_CMD_ERROR] = "ERROR",
};

/* Length of the longest command name ("UNSUBSCRIBE"). */
#define COMMAND_MAX_LEN 11

/* A buffer that grew past this is given back between frames, so an idle
 * connection that once carried a large frame does not keep holding it. */
#define BUF_KEEP_MAX 16384

const char *stomp_command_name(stomp_command_t cmd)
{
	if ((int)cmd <= STOMP_CMD_UNKNOWN || cmd >= STOMP_CMD_COUNT_)
		return NULL;
	return command_names[cmd];
}

stomp_command_t stomp_command_lookup(const char *s, size_t len)
{
	for (int c = STOMP_CMD_UNKNOWN + 1; c < STOMP_CMD_COUNT_; c++) {
		const char *n = command_names[c];

		if (strlen(n) == len && memcmp(n, s, len) == 0)
			return (stomp_command_t)c;
	}
	return STOMP_CMD_UNKNOWN;
}

int stomp__headers_raw(stomp_command_t cmd, stomp_version_t version)
{
	return cmd == STOMP_CMD_CONNECT || cmd == STOMP_CMD_STOMP || cmd == STOMP_CMD_CONNECTED ||
	       version == STOMP_V1_0;
}

int stomp_parse_content_length(chat_slice_t v, size_t *n)
{
	size_t x = 0;

	if (v.len == 0)
		return CHAT_EPROTO;
	for (size_t i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.ptr[i] - '0';

		if (d > 9)
			return CHAT_EPROTO;
	}
	for (size_t i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.ptr[i] - '0';

		if (x > (SIZE_MAX - d) / 10)
			return CHAT_ETOOBIG;
		x = x * 10 + d;
	}
	*n = x;
	return CHAT_OK;
}

const chat_slice_t *stomp_frame_header(const stomp_frame_t *f, const char *name)
{
	for (size_t i = 0; i < f->nheaders; i++)
		if (chat_slice_eq(f->headers[i].name, name))
			return &f->headers[i].value;
	return NULL;
}

/* ---- parser ---- */

int stomp_parser_init(stomp_parser_t *p, const stomp_limits_t *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim.max_frame = lim && lim->max_frame ? lim->max_frame : STOMP_DEFAULT_MAX_FRAME;
	p->lim.max_headers = lim && lim->max_headers ? lim->max_headers : STOMP_DEFAULT_MAX_HEADERS;
	p->lim.max_line = lim && lim->max_line ? lim->max_line : STOMP_DEFAULT_MAX_LINE;
	p->version = STOMP_V1_2;
	p->state = ST_IDLE;
	/* The decoded frame never takes more bytes than it had on the wire
	 * (each dropped EOL pays for a NUL after a name or value), so the
	 * frame limit bounds the buffer too. */
	chat_buf_init(&p->buf, p->lim.max_frame);
	p->hdr = calloc(p->lim.max_headers, sizeof(*p->hdr));
	p->out = calloc(p->lim.max_headers, sizeof(*p->out));
	if (p->hdr == NULL || p->out == NULL) {
		stomp_parser_free(p);
		return CHAT_ENOMEM;
	}
	return CHAT_OK;
}

void stomp_parser_free(stomp_parser_t *p)
{
	if (p == NULL)
		return;
	chat_buf_free(&p->buf);
	free(p->hdr);
	free(p->out);
	p->hdr = NULL;
	p->out = NULL;
}

void stomp_parser_set_version(stomp_parser_t *p, stomp_version_t v)
{
	p->version = (v == STOMP_V1_0 || v == STOMP_V1_1) ? v : STOMP_V1_2;
}

int stomp_parser_error(const stomp_parser_t *p)
{
	return p->error;
}

const char *stomp_parser_error_detail(const stomp_parser_t *p)
{
	return p->detail;
}

/* Writes up to 24 bytes of s into dst (size >= 28) as printable ASCII, so
 * that peer bytes quoted in a detail cannot break an ERROR header. */
static void quote(char *dst, const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && i < 24; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[k++] = (c >= 0x20 && c < 0x7f && c != '\\') ? (char)c : '?';
	}
	if (i < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
}

/* Puts p into its sticky error state and returns code. */
__attribute__((format(printf, 3, 4), cold)) static int fail(stomp_parser_t *p, int code,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	p->error = code;
	return code;
}

__attribute__((cold)) static int fail_append(stomp_parser_t *p, int rc)
{
	if (rc == CHAT_ENOMEM)
		return fail(p, rc, "out of memory");
	return fail(p, CHAT_ETOOBIG, "frame exceeds %zu bytes", p->lim.max_frame);
}

/* Undoes header escapes of n bytes at s, writing to dst (dst <= s: it is
 * done in place, and every output byte consumes at least one input byte).
 * Sets *out_len.  Returns CHAT_OK or a parser failure. */
static int unescape(stomp_parser_t *p, char *dst, const char *s, size_t n, size_t *out_len)
{
	size_t i, k = 0;

	if (p->raw) {
		memmove(dst, s, n);
		*out_len = n;
		return CHAT_OK;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			if (i + 1 == n)
				return fail(p, CHAT_EPROTO,
					    "incomplete escape sequence at end of header");
			c = s[++i];
			if (c == '\\')
				;
			else if (c == 'n')
				c = '\n';
			else if (c == 'c')
				c = ':';
			else if (c == 'r' && p->version >= STOMP_V1_2)
				c = '\r';
			else if (c > 0x20 && c < 0x7f)
				return fail(p, CHAT_EPROTO,
					    "undefined escape sequence '\\%c' in header", c);
			else
				return fail(p, CHAT_EPROTO,
					    "undefined escape sequence '\\' + 0x%02x in header",
					    (unsigned char)c);
		}
		dst[k++] = c;
	}
	*out_len = k;
	return CHAT_OK;
}

/* The command line (line_start == 0, n bytes without EOL) is complete. */
static int finish_command(stomp_parser_t *p, size_t n)
{
	char q[32];
	int rc;

	p->command = stomp_command_lookup(p->buf.data, n);
	if (p->command == STOMP_CMD_UNKNOWN) {
		quote(q, p->buf.data, n);
		return fail(p, CHAT_EPROTO, "unknown command '%s'", q);
	}
	p->raw = stomp__headers_raw(p->command, p->version);
	chat_buf_truncate(&p->buf, n);
	rc = chat_buf_putc(&p->buf, '\0');
	return rc == CHAT_OK ? CHAT_OK : fail_append(p, rc);
}

/* A non-empty header line of n bytes (no EOL) at line_start is complete:
 * split, unescape in place, NUL-terminate name and value, record it. */
static int finish_header(stomp_parser_t *p, size_t n)
{
	char *line = p->buf.data + p->line_start;
	const char *colon;
	struct stomp__hdr *h;
	size_t name_len, vlen;
	int rc;

	if (p->nhdr == p->lim.max_headers)
		return fail(p, CHAT_ETOOMANY, "header count exceeds %zu", p->lim.max_headers);
	if (memchr(line, '\0', n) != NULL)
		return fail(p, CHAT_EPROTO, "NUL in header line %zu", p->nhdr + 1);
	if (memchr(line, '\r', n) != NULL)
		return fail(p, CHAT_EPROTO, "CR not followed by LF in header line %zu",
			    p->nhdr + 1);
	colon = memchr(line, ':', n);
	if (colon == NULL)
		return fail(p, CHAT_EPROTO, "header line %zu without ':'", p->nhdr + 1);
	if (colon == line)
		return fail(p, CHAT_EPROTO, "empty header name in header line %zu", p->nhdr + 1);
	h = &p->hdr[p->nhdr];
	rc = unescape(p, line, line, (size_t)(colon - line), &name_len);
	if (rc != CHAT_OK)
		return rc;
	line[name_len] = '\0';
	rc = unescape(p, line + name_len + 1, colon + 1, n - (size_t)(colon - line) - 1, &vlen);
	if (rc != CHAT_OK)
		return rc;
	h->name_off = p->line_start;
	h->name_len = name_len;
	h->value_off = p->line_start + name_len + 1;
	h->value_len = vlen;
	chat_buf_truncate(&p->buf, h->value_off + vlen);
	rc = chat_buf_putc(&p->buf, '\0');
	if (rc != CHAT_OK)
		return fail_append(p, rc);
	p->nhdr++;
	p->line_start = p->buf.len;
	return CHAT_OK;
}

/* The empty line after the headers: decide how the body ends. */
static int finish_headers(stomp_parser_t *p)
{
	char q[32];
	size_t room, n;
	int rc;

	p->body_start = p->buf.len;
	p->state = ST_BODY_SCAN;
	for (size_t i = 0; i < p->nhdr; i++) {
		const struct stomp__hdr *h = &p->hdr[i];
		chat_slice_t name = { p->buf.data + h->name_off, h->name_len };
		chat_slice_t value = { p->buf.data + h->value_off, h->value_len };

		if (!chat_slice_eq(name, "content-length"))
			continue;
		quote(q, value.ptr, value.len);
		rc = stomp_parse_content_length(value, &n);
		if (rc == CHAT_EPROTO)
			return fail(p, rc, "invalid content-length '%s'", q);
		/* The body and the final NUL must fit in what is left. */
		room = p->lim.max_frame - p->frame_bytes;
		if (rc != CHAT_OK || room == 0 || n > room - 1)
			return fail(p, CHAT_ETOOBIG,
				    "content-length %s exceeds the frame limit of %zu bytes", q,
				    p->lim.max_frame);
		p->body_left = n;
		p->state = n > 0 ? ST_BODY_LEN : ST_BODY_NUL;
		break;
	}
	return CHAT_OK;
}

/* Consumes bytes of a command or header line.  Returns CHAT_OK when the
 * line was completed (state may have moved on), CHAT_EAGAIN when in ran
 * out first, or a failure.  *used gets the bytes taken. */
static int take_line(stomp_parser_t *p, const char *in, size_t avail, size_t *used)
{
	const char *nl = memchr(in, '\n', avail);
	size_t take = nl ? (size_t)(nl - in) + 1 : avail;
	size_t have = p->buf.len - p->line_start;
	size_t raw = have + take - (nl ? 1 : 0); /* line bytes, CR included */
	size_t n;
	char q[32];
	int rc;

	*used = 0;
	if (p->state == ST_COMMAND && raw > COMMAND_MAX_LEN + 1) {
		/* Longer than any command: quote its start, wherever the line
		 * was split (have <= COMMAND_MAX_LEN + 1 < have + take here). */
		char line[COMMAND_MAX_LEN + 1];

		if (have > 0)
			memcpy(line, p->buf.data, have);
		memcpy(line + have, in, sizeof(line) - have);
		quote(q, line, sizeof(line));
		return fail(p, CHAT_EPROTO, "unknown command '%s'", q);
	}
	/* One byte of slack: it may be the CR of a CRLF. */
	if (raw > p->lim.max_line + 1)
		goto too_long;
	if (take > p->lim.max_frame - p->frame_bytes)
		return fail(p, CHAT_ETOOBIG, "frame exceeds %zu bytes", p->lim.max_frame);
	rc = chat_buf_append(&p->buf, in, take - (nl ? 1 : 0));
	if (rc != CHAT_OK)
		return fail_append(p, rc);
	p->frame_bytes += take;
	*used = take;
	if (nl == NULL)
		return CHAT_EAGAIN;
	n = p->buf.len - p->line_start;
	if (n > 0 && p->buf.data[p->buf.len - 1] == '\r')
		n--;
	if (n > p->lim.max_line)
		goto too_long;
	if (p->state == ST_COMMAND) {
		rc = finish_command(p, n);
		p->line_start = p->buf.len;
		p->state = ST_HEADER;
		return rc;
	}
	if (n > 0)
		return finish_header(p, n);
	chat_buf_truncate(&p->buf, p->line_start);
	return finish_headers(p);
too_long:
	if (p->state == ST_COMMAND)
		return fail(p, CHAT_ETOOBIG, "command line exceeds %zu bytes", p->lim.max_line);
	return fail(p, CHAT_ETOOBIG, "header line %zu exceeds %zu bytes", p->nhdr + 1,
		    p->lim.max_line);
}

static void deliver(stomp_parser_t *p, stomp_frame_t *out)
{
	for (size_t i = 0; i < p->nhdr; i++) {
		const struct stomp__hdr *h = &p->hdr[i];

		p->out[i].name.ptr = p->buf.data + h->name_off;
		p->out[i].name.len = h->name_len;
		p->out[i].value.ptr = p->buf.data + h->value_off;
		p->out[i].value.len = h->value_len;
	}
	out->command = p->command;
	out->command_name.ptr = p->buf.data;
	out->command_name.len = strlen(command_names[p->command]);
	out->headers = p->out;
	out->nheaders = p->nhdr;
	out->body.ptr = p->buf.data + p->body_start;
	out->body.len = p->buf.len - p->body_start;
	p->delivered = 1;
	p->state = ST_IDLE;
}

/* Forgets the frame handed out by the previous feed. */
static void start_frame(stomp_parser_t *p)
{
	if (p->buf.cap > BUF_KEEP_MAX)
		chat_buf_free(&p->buf);
	chat_buf_reset(&p->buf);
	p->nhdr = 0;
	p->frame_bytes = 0;
	p->line_start = 0;
	p->delivered = 0;
}

/* The steps of stomp_parser_feed(), one per state.  Each takes input from
 * in[0..avail) (avail > 0), sets *used to the bytes it took, and returns
 * CHAT_EAGAIN to go on, CHAT_OK when it delivered a frame into *out, or a
 * failure (then *used is 0). */

/* ST_IDLE and ST_IDLE_CR: heart-beat EOLs until a frame starts. */
static int take_idle(stomp_parser_t *p, const char *in, size_t *used)
{
	if (p->state == ST_IDLE_CR && in[0] != '\n') {
		*used = 0;
		return fail(p, CHAT_EPROTO, "CR not followed by LF between frames");
	}
	if (in[0] == '\n') {
		p->heartbeats++;
		p->state = ST_IDLE;
	} else if (in[0] == '\r') {
		p->state = ST_IDLE_CR;
	} else {
		*used = 0;
		p->state = ST_COMMAND;
		return CHAT_EAGAIN;
	}
	*used = 1;
	return CHAT_EAGAIN;
}

/* ST_BODY_LEN: the body_left bytes content-length still promises. */
static int take_body_len(stomp_parser_t *p, const char *in, size_t avail, size_t *used)
{
	size_t take = avail < p->body_left ? avail : p->body_left;
	int rc = chat_buf_append(&p->buf, in, take);

	*used = 0;
	if (rc != CHAT_OK)
		return fail_append(p, rc);
	*used = take;
	p->frame_bytes += take;
	p->body_left -= take;
	if (p->body_left == 0)
		p->state = ST_BODY_NUL;
	return CHAT_EAGAIN;
}

/* ST_BODY_NUL: the NUL after a content-length body ends the frame. */
static int take_body_nul(stomp_parser_t *p, const char *in, size_t *used, stomp_frame_t *out)
{
	*used = 0;
	if (in[0] != '\0')
		return fail(p, CHAT_EPROTO,
			    "missing NUL after the %zu-byte body given by content-length",
			    p->buf.len - p->body_start);
	*used = 1;
	p->frame_bytes++;
	deliver(p, out);
	return CHAT_OK;
}

/* ST_BODY_SCAN: a body without content-length, up to its NUL. */
static int take_body_scan(stomp_parser_t *p, const char *in, size_t avail, size_t *used,
			  stomp_frame_t *out)
{
	const char *z = memchr(in, '\0', avail);
	size_t take = z ? (size_t)(z - in) + 1 : avail;
	int rc;

	*used = 0;
	if (take > p->lim.max_frame - p->frame_bytes)
		return fail(p, CHAT_ETOOBIG, "frame exceeds %zu bytes", p->lim.max_frame);
	rc = chat_buf_append(&p->buf, in, take - (z ? 1 : 0));
	if (rc != CHAT_OK)
		return fail_append(p, rc);
	*used = take;
	p->frame_bytes += take;
	if (z == NULL)
		return CHAT_EAGAIN;
	deliver(p, out);
	return CHAT_OK;
}

int stomp_parser_feed(stomp_parser_t *p, const char *buf, size_t len, size_t *consumed,
		      stomp_frame_t *out)
{
	size_t pos = 0, used = 0;
	int rc = CHAT_EAGAIN;

	*consumed = 0;
	if (p->error != 0)
		return p->error;
	if (p->delivered)
		start_frame(p);
	while (pos < len) {
		switch (p->state) {
		case ST_IDLE:
		case ST_IDLE_CR: rc = take_idle(p, buf + pos, &used); break;
		case ST_COMMAND:
		case ST_HEADER:
			rc = take_line(p, buf + pos, len - pos, &used);
			if (rc == CHAT_OK)
				rc = CHAT_EAGAIN; /* a line, not a frame, is complete */
			break;
		case ST_BODY_LEN: rc = take_body_len(p, buf + pos, len - pos, &used); break;
		case ST_BODY_NUL: rc = take_body_nul(p, buf + pos, &used, out); break;
		case ST_BODY_SCAN: rc = take_body_scan(p, buf + pos, len - pos, &used, out); break;
		}
		pos += used;
		if (rc != CHAT_EAGAIN)
			break;
	}
	*consumed = pos;
	return rc;
}
