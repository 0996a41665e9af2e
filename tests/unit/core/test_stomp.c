/* test_stomp.c - STOMP frame parser and serialiser: table rows, every split
 * point, every limit at and one past its bound, round trips. */
#include "config.h"
#include "stomp.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte-string literal with its length (may hold NULs). */
#define B(lit) (lit), (sizeof(lit) - 1)

/* Appends a readable, unambiguous picture of f to d:
 * "CMD\n" then "name=value\n" per header, then "\n" and the body. */
static void dump(chat_buf_t *d, const stomp_frame_t *f)
{
	ck_assert_int_eq(chat_buf_append(d, f->command_name.ptr, f->command_name.len), 0);
	ck_assert_int_eq(chat_buf_putc(d, '\n'), 0);
	for (size_t i = 0; i < f->nheaders; i++) {
		const stomp_header_t *h = &f->headers[i];

		ck_assert_int_eq(chat_buf_append(d, h->name.ptr, h->name.len), 0);
		ck_assert_int_eq(chat_buf_putc(d, '='), 0);
		ck_assert_int_eq(chat_buf_append(d, h->value.ptr, h->value.len), 0);
		ck_assert_int_eq(chat_buf_putc(d, '\n'), 0);
		/* The contract: names and values are NUL-terminated. */
		ck_assert_int_eq(h->name.ptr[h->name.len], '\0');
		ck_assert_int_eq(h->value.ptr[h->value.len], '\0');
	}
	ck_assert_int_eq(chat_buf_putc(d, '\n'), 0);
	ck_assert_int_eq(chat_buf_append(d, f->body.ptr, f->body.len), 0);
	ck_assert_int_eq(f->body.ptr[f->body.len], '\0');
	ck_assert(chat_slice_eq(f->command_name, stomp_command_name(f->command)));
}

/* Result of parsing a whole input: every frame's dump, then "|rc=N" for
 * the final status (EAGAIN when all was consumed, or the error), and the
 * number of heart-beats. */
typedef struct result {
	chat_buf_t d;
	int rc;
	uint64_t heartbeats;
	char detail[160];
} result_t;

/* Feeds in[0..len) cut at the given offsets (ascending, may be empty),
 * each piece in its own exact-size heap copy so ASan sees any overread. */
static void run(result_t *r, stomp_version_t v, const stomp_limits_t *lim, const char *in,
		size_t len, const size_t *cuts, size_t ncuts)
{
	stomp_parser_t p;
	stomp_frame_t f;
	size_t start = 0, used;
	int rc = CHAT_EAGAIN;

	chat_buf_init(&r->d, 1 << 22);
	ck_assert_int_eq(stomp_parser_init(&p, lim), CHAT_OK);
	stomp_parser_set_version(&p, v);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		size_t n = end - start;
		char *piece = malloc(n ? n : 1);
		size_t off = 0;

		ck_assert_ptr_nonnull(piece);
		memcpy(piece, in + start, n);
		do {
			rc = stomp_parser_feed(&p, piece + off, n - off, &used, &f);
			ck_assert_uint_le(used, n - off);
			off += used;
			if (rc == CHAT_OK)
				dump(&r->d, &f);
			else if (rc == CHAT_EAGAIN)
				ck_assert_uint_eq(off, n);
		} while (rc == CHAT_OK && off < n);
		free(piece);
		if (rc != CHAT_OK && rc != CHAT_EAGAIN)
			break;
		start = end;
	}
	if (rc == CHAT_OK)
		rc = CHAT_EAGAIN; /* all consumed after a frame */
	r->rc = rc;
	r->heartbeats = p.heartbeats;
	snprintf(r->detail, sizeof(r->detail), "%s", stomp_parser_error_detail(&p));
	if (rc != CHAT_EAGAIN) {
		/* Sticky: the same error again, nothing consumed. */
		ck_assert_int_eq(stomp_parser_feed(&p, "\n", 1, &used, &f), rc);
		ck_assert_uint_eq(used, 0);
		ck_assert_int_eq(stomp_parser_error(&p), rc);
		ck_assert_str_ne(r->detail, "");
		/* Printable, so it can go into an ERROR header. */
		for (const char *c = r->detail; *c; c++)
			ck_assert(*c >= 0x20 && *c < 0x7f);
	} else {
		ck_assert_str_eq(r->detail, "");
	}
	stomp_parser_free(&p);
}

static int same(const result_t *a, const result_t *b)
{
	return a->rc == b->rc && a->heartbeats == b->heartbeats && a->d.len == b->d.len &&
	       memcmp(a->d.data ? a->d.data : "", b->d.data ? b->d.data : "", a->d.len) == 0 &&
	       strcmp(a->detail, b->detail) == 0;
}

/* Parses in one piece, then split at every offset into two pieces, then
 * byte by byte; all must agree.  Leaves the one-piece result in *r. */
static void run_all_splits(result_t *r, int line, stomp_version_t v, const stomp_limits_t *lim,
			   const char *in, size_t len)
{
	result_t s;
	size_t *cuts = malloc((len ? len : 1) * sizeof(*cuts));

	ck_assert_ptr_nonnull(cuts);
	run(r, v, lim, in, len, NULL, 0);
	for (size_t k = 0; k <= len; k++) {
		run(&s, v, lim, in, len, &k, 1);
		ck_assert_msg(same(r, &s), "line %d: split at %zu differs (rc %d vs %d, %s)", line,
			      k, s.rc, r->rc, s.detail);
		chat_buf_free(&s.d);
	}
	for (size_t k = 1; k < len; k++)
		cuts[k - 1] = k;
	run(&s, v, lim, in, len, cuts, len > 0 ? len - 1 : 0);
	ck_assert_msg(same(r, &s), "line %d: byte-by-byte differs", line);
	chat_buf_free(&s.d);
	free(cuts);
}

/* ---- table: one input, the frames it gives, the final status ---- */

static const struct {
	int line;
	stomp_version_t v;
	const char *in;
	size_t in_len;
	const char *want; /* dump of all frames */
	size_t want_len;
	int rc;             /* final status: CHAT_EAGAIN = all parsed */
	const char *detail; /* substring of the detail, for errors */
} rows[] = {
	/* basics */
	{ __LINE__, STOMP_V1_2, B("SEND\ndestination:/q\n\nhello\0"),
	  B("SEND\ndestination=/q\n\nhello"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("DISCONNECT\n\n\0"), B("DISCONNECT\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\r\ndestination:/q\r\nreceipt:7\r\n\r\nhi\r\n\0"),
	  B("SEND\ndestination=/q\nreceipt=7\n\nhi\r\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ndestination:/a:b:c\n\n\0"),
	  B("SEND\ndestination=/a:b:c\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\nfoo:\n\n\0"), B("SEND\nfoo=\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\nfoo:1\nfoo:2\n\n\0"), B("SEND\nfoo=1\nfoo=2\n\n"),
	  CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\n\n\0"), B("SEND\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\n\n"), B(""), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\nx: a b \n\n\0"), B("SEND\nx= a b \n\n"), CHAT_EAGAIN,
	  NULL },
	/* content-length */
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:5\n\na\0b\0c\0"),
	  B("SEND\ncontent-length=5\n\na\0b\0c"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:0\n\n\0"), B("SEND\ncontent-length=0\n\n"),
	  CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:007\n\n\0\0\0\0\0\0\0\0"),
	  B("SEND\ncontent-length=007\n\n\0\0\0\0\0\0\0"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:2\n\nabc\0"), B(""), CHAT_EPROTO,
	  "missing NUL after the 2-byte body" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:0\n\nx\0"), B(""), CHAT_EPROTO,
	  "missing NUL" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:3\ncontent-length:1\n\nabc\0"),
	  B("SEND\ncontent-length=3\ncontent-length=1\n\nabc"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:1\ncontent-length:3\n\nabc\0"), B(""),
	  CHAT_EPROTO, "missing NUL" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:\n\n\0"), B(""), CHAT_EPROTO,
	  "invalid content-length ''" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:abc\n\n\0"), B(""), CHAT_EPROTO,
	  "invalid content-length 'abc'" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:-1\n\n\0"), B(""), CHAT_EPROTO, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:+1\n\nx\0"), B(""), CHAT_EPROTO, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length: 1\n\nx\0"), B(""), CHAT_EPROTO, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:1 \n\nx\0"), B(""), CHAT_EPROTO, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:99999999999999999999999999\n\n\0"), B(""),
	  CHAT_ETOOBIG, "exceeds the frame limit of 65536 bytes" },
	{ __LINE__, STOMP_V1_2, B("SEND\ncontent-length:65536\n\n\0"), B(""), CHAT_ETOOBIG,
	  "content-length 65536 exceeds" },
	/* escapes: 1.2 */
	{ __LINE__, STOMP_V1_2, B("SEND\na\\cb:x\\ny\\\\z\\r\\c\n\n\0"),
	  B("SEND\na:b=x\ny\\z\r:\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\nx:a\\tb\n\n\0"), B(""), CHAT_EPROTO,
	  "undefined escape sequence '\\t' in header" },
	{ __LINE__, STOMP_V1_2, B("SEND\nx\\q:ab\n\n\0"), B(""), CHAT_EPROTO,
	  "undefined escape sequence '\\q'" },
	{ __LINE__, STOMP_V1_2, B("SEND\nx:ab\\\n\n\0"), B(""), CHAT_EPROTO, "incomplete escape" },
	{ __LINE__, STOMP_V1_2, B("SEND\nx:a\\ \n\n\0"), B(""), CHAT_EPROTO,
	  "undefined escape sequence '\\' + 0x20" },
	/* escapes: 1.1 has no \r */
	{ __LINE__, STOMP_V1_1, B("SEND\na\\cb:x\\ny\\\\z\n\n\0"), B("SEND\na:b=x\ny\\z\n\n"),
	  CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_1, B("SEND\nx:a\\rb\n\n\0"), B(""), CHAT_EPROTO,
	  "undefined escape sequence '\\r'" },
	/* escapes: 1.0 has none */
	{ __LINE__, STOMP_V1_0, B("SEND\na\\cb:x\\ny\\t\\r\\\n\n\0"),
	  B("SEND\na\\cb=x\\ny\\t\\r\\\n\n"), CHAT_EAGAIN, NULL },
	/* CONNECT, STOMP, CONNECTED are never unescaped */
	{ __LINE__, STOMP_V1_2, B("CONNECT\nlogin:a\\nb\npasscode:c\\t\n\n\0"),
	  B("CONNECT\nlogin=a\\nb\npasscode=c\\t\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_1, B("STOMP\naccept-version:1.1,1.2\nhost:x\\y\n\n\0"),
	  B("STOMP\naccept-version=1.1,1.2\nhost=x\\y\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("CONNECTED\nversion:1.2\nserver:a\\cb\n\n\0"),
	  B("CONNECTED\nversion=1.2\nserver=a\\cb\n\n"), CHAT_EAGAIN, NULL },
	/* malformed */
	{ __LINE__, STOMP_V1_2, B("SEND\nnocolon\n\n\0"), B(""), CHAT_EPROTO,
	  "header line 1 without ':'" },
	{ __LINE__, STOMP_V1_2, B("SEND\n:value\n\n\0"), B(""), CHAT_EPROTO, "empty header name" },
	{ __LINE__, STOMP_V1_2, B("SEND\na:b\rc\n\n\0"), B(""), CHAT_EPROTO,
	  "CR not followed by LF" },
	{ __LINE__, STOMP_V1_2, B("SEND\na:b\r\r\n\n\0"), B(""), CHAT_EPROTO, "CR" },
	{ __LINE__, STOMP_V1_2, B("SEND\na\0:b\n\n\0"), B(""), CHAT_EPROTO, "NUL in header" },
	{ __LINE__, STOMP_V1_2, B("\rSEND\n\n\0"), B(""), CHAT_EPROTO,
	  "CR not followed by LF between frames" },
	{ __LINE__, STOMP_V1_2, B("FOO\n\n\0"), B(""), CHAT_EPROTO, "unknown command 'FOO'" },
	{ __LINE__, STOMP_V1_2, B("send\n\n\0"), B(""), CHAT_EPROTO, "unknown command 'send'" },
	{ __LINE__, STOMP_V1_2, B("SEND \n\n\0"), B(""), CHAT_EPROTO, "unknown command 'SEND '" },
	{ __LINE__, STOMP_V1_2, B("SE\rND\n\n\0"), B(""), CHAT_EPROTO, "unknown command 'SE?ND'" },
	{ __LINE__, STOMP_V1_2, B("S\0\n\n\0"), B(""), CHAT_EPROTO, "unknown command 'S?'" },
	{ __LINE__, STOMP_V1_2, B("UNSUBSCRIBEX\n\n\0"), B(""), CHAT_EPROTO,
	  "unknown command 'UNSUBSCRIBEX'" },
	{ __LINE__, STOMP_V1_2, B("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), B(""), CHAT_EPROTO,
	  "unknown command 'GET / HTTP/1'" },
	{ __LINE__, STOMP_V1_2, B("UNSUBSCRIBE\r\nid:1\r\n\r\n\0"), B("UNSUBSCRIBE\nid=1\n\n"),
	  CHAT_EAGAIN, NULL },
	/* several frames, heart-beats between them */
	{ __LINE__, STOMP_V1_2, B("\n\r\n\nSEND\n\na\0\n\nACK\nid:1\n\n\0\r\n"),
	  B("SEND\n\naACK\nid=1\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("BEGIN\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0"),
	  B("BEGIN\ntransaction=t\n\nCOMMIT\ntransaction=t\n\n"), CHAT_EAGAIN, NULL },
	{ __LINE__, STOMP_V1_2, B("SEND\n\na\0BOGUS\n\n\0"), B("SEND\n\na"), CHAT_EPROTO,
	  "unknown command 'BOGUS'" },
	/* every command */
	{ __LINE__, STOMP_V1_2,
	  B("CONNECT\n\n\0STOMP\n\n\0CONNECTED\n\n\0SEND\n\n\0SUBSCRIBE\n\n\0"
	    "UNSUBSCRIBE\n\n\0ACK\n\n\0NACK\n\n\0BEGIN\n\n\0COMMIT\n\n\0ABORT\n\n\0"
	    "DISCONNECT\n\n\0MESSAGE\n\n\0RECEIPT\n\n\0ERROR\n\n\0"),
	  B("CONNECT\n\nSTOMP\n\nCONNECTED\n\nSEND\n\nSUBSCRIBE\n\nUNSUBSCRIBE\n\nACK\n\n"
	    "NACK\n\nBEGIN\n\nCOMMIT\n\nABORT\n\nDISCONNECT\n\nMESSAGE\n\nRECEIPT\n\n"
	    "ERROR\n\n"),
	  CHAT_EAGAIN, NULL },
};

START_TEST(table)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		result_t r;

		run_all_splits(&r, rows[i].line, rows[i].v, NULL, rows[i].in, rows[i].in_len);
		ck_assert_msg(r.rc == rows[i].rc, "line %d: rc %d (%s), want %d", rows[i].line,
			      r.rc, r.detail, rows[i].rc);
		ck_assert_msg(r.d.len == rows[i].want_len &&
				      memcmp(r.d.data ? r.d.data : "", rows[i].want, r.d.len) == 0,
			      "line %d: frames differ: got [%.*s]", rows[i].line, (int)r.d.len,
			      r.d.data ? r.d.data : "");
		if (rows[i].detail != NULL)
			ck_assert_msg(strstr(r.detail, rows[i].detail) != NULL,
				      "line %d: detail '%s' lacks '%s'", rows[i].line, r.detail,
				      rows[i].detail);
		chat_buf_free(&r.d);
	}
}
END_TEST

START_TEST(heartbeats_and_consumed)
{
	static const char in[] = "\n\r\nSEND\n\na\0\n\nSEND\n\nb\0\r\n";
	stomp_parser_t p;
	stomp_frame_t f;
	size_t used;

	ck_assert_int_eq(stomp_parser_init(&p, NULL), CHAT_OK);
	ck_assert_int_eq(stomp_parser_feed(&p, in, sizeof(in) - 1, &used, &f), CHAT_OK);
	ck_assert_uint_eq(used, 11);
	ck_assert_uint_eq(p.heartbeats, 2);
	ck_assert(chat_slice_eq(f.body, "a"));
	ck_assert_int_eq(f.command, STOMP_CMD_SEND);
	ck_assert_uint_eq(sizeof(in) - 1, 23);
	ck_assert_int_eq(stomp_parser_feed(&p, in + 11, 12, &used, &f), CHAT_OK);
	ck_assert_uint_eq(used, 10);
	ck_assert_uint_eq(p.heartbeats, 4);
	ck_assert(chat_slice_eq(f.body, "b"));
	ck_assert_int_eq(stomp_parser_feed(&p, in + 21, 2, &used, &f), CHAT_EAGAIN);
	ck_assert_uint_eq(used, 2);
	ck_assert_uint_eq(p.heartbeats, 5);
	ck_assert_int_eq(stomp_parser_feed(&p, in, 0, &used, &f), CHAT_EAGAIN);
	ck_assert_uint_eq(used, 0);
	stomp_parser_free(&p);
	stomp_parser_free(&p);
	stomp_parser_free(NULL);
}
END_TEST

START_TEST(first_header_wins)
{
	static const char in[] = "MESSAGE\nfoo:1\nbar:x\nfoo:2\n\n\0";
	stomp_parser_t p;
	stomp_frame_t f;
	const chat_slice_t *v;
	size_t used;

	ck_assert_int_eq(stomp_parser_init(&p, NULL), CHAT_OK);
	ck_assert_int_eq(stomp_parser_feed(&p, in, sizeof(in) - 1, &used, &f), CHAT_OK);
	ck_assert_uint_eq(f.nheaders, 3);
	v = stomp_frame_header(&f, "foo");
	ck_assert_ptr_nonnull(v);
	ck_assert(chat_slice_eq(*v, "1"));
	ck_assert_str_eq(v->ptr, "1");
	ck_assert(chat_slice_eq(*stomp_frame_header(&f, "bar"), "x"));
	ck_assert_ptr_null(stomp_frame_header(&f, "Foo"));
	ck_assert_ptr_null(stomp_frame_header(&f, "fo"));
	stomp_parser_free(&p);
}
END_TEST

START_TEST(version_switch)
{
	/* CONNECT arrives under the default, then 1.0 is agreed: later frames
	 * are not unescaped. */
	static const char c[] = "CONNECT\naccept-version:1.0\n\n\0";
	static const char s[] = "SEND\nx:a\\tb\n\n\0";
	stomp_parser_t p;
	stomp_frame_t f;
	size_t used;

	ck_assert_int_eq(stomp_parser_init(&p, NULL), CHAT_OK);
	ck_assert_int_eq(stomp_parser_feed(&p, c, sizeof(c) - 1, &used, &f), CHAT_OK);
	stomp_parser_set_version(&p, STOMP_V1_0);
	ck_assert_int_eq(stomp_parser_feed(&p, s, sizeof(s) - 1, &used, &f), CHAT_OK);
	ck_assert_str_eq(stomp_frame_header(&f, "x")->ptr, "a\\tb");
	stomp_parser_set_version(&p, STOMP_V1_2);
	ck_assert_int_eq(stomp_parser_feed(&p, s, sizeof(s) - 1, &used, &f), CHAT_EPROTO);
	stomp_parser_free(&p);
}
END_TEST

/* ---- limits, each exactly at and one past its bound ---- */

/* Builds "SEND\n" + nhdr headers "hN:v\n" + "\n" + body of nbody 'x' +
 * NUL, with content-length first when with_cl. */
static char *make_frame(size_t nhdr, size_t nbody, int with_cl, size_t *len)
{
	chat_buf_t b;

	chat_buf_init(&b, 1 << 22);
	ck_assert_int_eq(chat_buf_puts(&b, "SEND\n"), 0);
	if (with_cl)
		ck_assert_int_eq(chat_buf_printf(&b, "content-length:%zu\n", nbody), 0);
	for (size_t i = 0; i < nhdr; i++)
		ck_assert_int_eq(chat_buf_printf(&b, "h%zu:v\n", i), 0);
	ck_assert_int_eq(chat_buf_putc(&b, '\n'), 0);
	for (size_t i = 0; i < nbody; i++)
		ck_assert_int_eq(chat_buf_putc(&b, 'x'), 0);
	ck_assert_int_eq(chat_buf_append(&b, "", 1), 0);
	return chat_buf_detach(&b, len);
}

static void expect(int line, const stomp_limits_t *lim, const char *in, size_t len, int want,
		   const char *detail, int all_splits)
{
	result_t r;

	if (all_splits)
		run_all_splits(&r, line, STOMP_V1_2, lim, in, len);
	else
		run(&r, STOMP_V1_2, lim, in, len, NULL, 0);
	ck_assert_msg(r.rc == want, "line %d: rc %d (%s), want %d", line, r.rc, r.detail, want);
	if (want == CHAT_EAGAIN)
		ck_assert_msg(r.d.len > 0, "line %d: no frame", line);
	if (detail != NULL)
		ck_assert_msg(strcmp(r.detail, detail) == 0, "line %d: detail '%s', want '%s'",
			      line, r.detail, detail);
	chat_buf_free(&r.d);
}

START_TEST(limit_frame_size)
{
	stomp_limits_t lim = { .max_frame = 64 };
	size_t len, hl;
	char *in;

	/* "SEND\n\n" + body + NUL */
	in = make_frame(0, 57, 0, &len);
	ck_assert_uint_eq(len, 64);
	expect(__LINE__, &lim, in, len, CHAT_EAGAIN, NULL, 1);
	free(in);
	in = make_frame(0, 58, 0, &len);
	expect(__LINE__, &lim, in, len, CHAT_ETOOBIG, "frame exceeds 64 bytes", 1);
	free(in);
	/* with content-length: the size check happens as the header ends */
	hl = strlen("SEND\ncontent-length:NN\n\n");
	in = make_frame(0, 64 - hl - 1, 1, &len);
	ck_assert_uint_eq(len, 64);
	expect(__LINE__, &lim, in, len, CHAT_EAGAIN, NULL, 1);
	free(in);
	in = make_frame(0, 64 - hl, 1, &len);
	expect(__LINE__, &lim, in, len, CHAT_ETOOBIG,
	       "content-length 40 exceeds the frame limit of 64 bytes", 1);
	free(in);
	/* headers alone past the bound */
	in = make_frame(12, 0, 0, &len); /* 5 + 12 * 5 + 1 + 1 > 64 */
	expect(__LINE__, &lim, in, len, CHAT_ETOOBIG, "frame exceeds 64 bytes", 1);
	free(in);
	/* frame ending exactly at the bound right after the headers: no room
	 * for the NUL */
	expect(__LINE__, &lim,
	       B("SEND\ncontent-length:0\nabcdefghijklmnopqrstuvwxyz:0123456789012\n\n\0"),
	       CHAT_ETOOBIG, NULL, 1);
	/* the default: 65536 */
	in = make_frame(0, 65536 - 7, 0, &len);
	expect(__LINE__, NULL, in, len, CHAT_EAGAIN, NULL, 0);
	free(in);
	in = make_frame(0, 65536 - 6, 0, &len);
	expect(__LINE__, NULL, in, len, CHAT_ETOOBIG, "frame exceeds 65536 bytes", 0);
	free(in);
	hl = strlen("SEND\ncontent-length:NNNNN\n\n");
	in = make_frame(0, 65536 - hl - 1, 1, &len);
	ck_assert_uint_eq(len, 65536);
	expect(__LINE__, NULL, in, len, CHAT_EAGAIN, NULL, 0);
	free(in);
	in = make_frame(0, 65536 - hl, 1, &len);
	expect(__LINE__, NULL, in, len, CHAT_ETOOBIG, NULL, 0);
	free(in);
}
END_TEST

START_TEST(limit_header_count)
{
	stomp_limits_t lim = { .max_headers = 3 };
	size_t len;
	char *in;

	in = make_frame(3, 1, 0, &len);
	expect(__LINE__, &lim, in, len, CHAT_EAGAIN, NULL, 1);
	free(in);
	in = make_frame(4, 1, 0, &len);
	expect(__LINE__, &lim, in, len, CHAT_ETOOMANY, "header count exceeds 3", 1);
	free(in);
	in = make_frame(32, 1, 0, &len);
	expect(__LINE__, NULL, in, len, CHAT_EAGAIN, NULL, 0);
	free(in);
	in = make_frame(33, 1, 0, &len);
	expect(__LINE__, NULL, in, len, CHAT_ETOOMANY, "header count exceeds 32", 0);
	free(in);
	/* content-length counts as a header */
	in = make_frame(31, 1, 1, &len);
	expect(__LINE__, NULL, in, len, CHAT_EAGAIN, NULL, 0);
	free(in);
	in = make_frame(32, 1, 1, &len);
	expect(__LINE__, NULL, in, len, CHAT_ETOOMANY, "header count exceeds 32", 0);
	free(in);
}
END_TEST

/* "SEND\n" + "a:" + value making a header line of n bytes + eol + "\n\0" */
static char *make_line(size_t n, const char *eol, size_t *len)
{
	chat_buf_t b;

	chat_buf_init(&b, 1 << 20);
	ck_assert_int_eq(chat_buf_puts(&b, "SEND\na:"), 0);
	for (size_t i = 2; i < n; i++)
		ck_assert_int_eq(chat_buf_putc(&b, 'v'), 0);
	ck_assert_int_eq(chat_buf_puts(&b, eol), 0);
	ck_assert_int_eq(chat_buf_append(&b, "\n", 2), 0);
	return chat_buf_detach(&b, len);
}

START_TEST(limit_line_length)
{
	stomp_limits_t lim = { .max_line = 16 };
	size_t len;
	char *in;

	for (int crlf = 0; crlf < 2; crlf++) {
		const char *eol = crlf ? "\r\n" : "\n";

		in = make_line(16, eol, &len);
		expect(__LINE__, &lim, in, len, CHAT_EAGAIN, NULL, 1);
		free(in);
		in = make_line(17, eol, &len);
		expect(__LINE__, &lim, in, len, CHAT_ETOOBIG, "header line 1 exceeds 16 bytes", 1);
		free(in);
		in = make_line(1024, eol, &len);
		expect(__LINE__, NULL, in, len, CHAT_EAGAIN, NULL, 0);
		free(in);
		in = make_line(1025, eol, &len);
		expect(__LINE__, NULL, in, len, CHAT_ETOOBIG, "header line 1 exceeds 1024 bytes",
		       0);
		free(in);
	}
	/* the command line too */
	lim.max_line = 5;
	expect(__LINE__, &lim, B("ABORT\n\n\0"), CHAT_EAGAIN, NULL, 1);
	expect(__LINE__, &lim, B("ABORT\r\n\r\n\0"), CHAT_EAGAIN, NULL, 1);
	expect(__LINE__, &lim, B("COMMIT\n\n\0"), CHAT_ETOOBIG, "command line exceeds 5 bytes", 1);
	expect(__LINE__, &lim, B("COMMIT\r\n\n\0"), CHAT_ETOOBIG, "command line exceeds 5 bytes",
	       1);
	/* a long command is unknown as soon as it is longer than any */
	expect(__LINE__, NULL, B("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
	       CHAT_EPROTO, "unknown command 'XXXXXXXXXXXX'", 1);
}
END_TEST

START_TEST(init_defaults)
{
	stomp_parser_t p;
	stomp_limits_t lim = { .max_headers = 7 };

	ck_assert_int_eq(stomp_parser_init(&p, &lim), CHAT_OK);
	ck_assert_uint_eq(p.lim.max_frame, STOMP_DEFAULT_MAX_FRAME);
	ck_assert_uint_eq(p.lim.max_headers, 7);
	ck_assert_uint_eq(p.lim.max_line, STOMP_DEFAULT_MAX_LINE);
	ck_assert_int_eq(stomp_parser_error(&p), 0);
	ck_assert_str_eq(stomp_parser_error_detail(&p), "");
	stomp_parser_free(&p);
}
END_TEST

/* ---- serialiser ---- */

#define H(n, v)                            \
	{                                  \
		{ (n), sizeof(n) - 1 },    \
		{                          \
			(v), sizeof(v) - 1 \
		}                          \
	}

static const stomp_header_t h_plain[] = { H("destination", "/topic/a"), H("id", "1") };
static const stomp_header_t h_special[] = { H("a:b", "x\ny\\z:w"), H("e", "") };
static const stomp_header_t h_cr[] = { H("k", "a\rb") };
static const stomp_header_t h_colon_value[] = { H("k", "a:b:c") };
static const stomp_header_t h_colon_name[] = { H("k:", "v") };
static const stomp_header_t h_empty_name[] = { H("", "v") };
static const stomp_header_t h_nul[] = { { { "k", 1 }, { "a\0b", 3 } } };
static const stomp_header_t h_cl[] = { H("content-length", "3"), H("x", "y") };
static const stomp_header_t h_cl_bad[] = { H("content-length", "4") };
static const stomp_header_t h_cl_zero[] = { H("content-length", "0") };
static const stomp_header_t h_repeat[] = { H("k", "1"), H("k", "2") };

static const struct {
	int line;
	stomp_version_t v;
	stomp_command_t cmd;
	const stomp_header_t *h;
	size_t nh;
	const char *body;
	size_t body_len;
	int rc;
	const char *want; /* exact bytes, NULL = only round-trip */
	size_t want_len;
} ser_rows[] = {
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SUBSCRIBE, h_plain, 2, B(""), CHAT_OK,
	  B("SUBSCRIBE\ndestination:/topic/a\nid:1\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SEND, h_plain, 1, B("hi"), CHAT_OK,
	  B("SEND\ndestination:/topic/a\ncontent-length:2\n\nhi\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_special, 2, B("a\0b"), CHAT_OK,
	  B("MESSAGE\na\\cb:x\\ny\\\\z\\cw\ne:\ncontent-length:3\n\na\0b\0") },
	{ __LINE__, STOMP_V1_1, STOMP_CMD_MESSAGE, h_special, 2, B(""), CHAT_OK,
	  B("MESSAGE\na\\cb:x\\ny\\\\z\\cw\ne:\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_cr, 1, B(""), CHAT_OK,
	  B("MESSAGE\nk:a\\rb\n\n\0") },
	{ __LINE__, STOMP_V1_1, STOMP_CMD_MESSAGE, h_cr, 1, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_0, STOMP_CMD_MESSAGE, h_special, 2, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_CONNECTED, h_special, 2, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_0, STOMP_CMD_MESSAGE, h_colon_value, 1, B(""), CHAT_OK,
	  B("MESSAGE\nk:a:b:c\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_CONNECT, h_colon_value, 1, B(""), CHAT_OK,
	  B("CONNECT\nk:a:b:c\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_colon_value, 1, B(""), CHAT_OK,
	  B("MESSAGE\nk:a\\cb\\cc\n\n\0") },
	{ __LINE__, STOMP_V1_0, STOMP_CMD_MESSAGE, h_colon_name, 1, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_colon_name, 1, B(""), CHAT_OK,
	  B("MESSAGE\nk\\c:v\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_empty_name, 1, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_MESSAGE, h_nul, 1, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SEND, h_cl, 2, B("abc"), CHAT_OK,
	  B("SEND\ncontent-length:3\nx:y\n\nabc\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SEND, h_cl_bad, 1, B("abc"), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SEND, h_cl_zero, 1, B(""), CHAT_OK,
	  B("SEND\ncontent-length:0\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_SEND, h_repeat, 2, B(""), CHAT_OK,
	  B("SEND\nk:1\nk:2\n\n\0") },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_UNKNOWN, NULL, 0, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_COUNT_, NULL, 0, B(""), CHAT_EINVAL, NULL, 0 },
	{ __LINE__, STOMP_V1_2, STOMP_CMD_RECEIPT, NULL, 0, NULL, 0, CHAT_OK, B("RECEIPT\n\n\0") },
};

/* parse(serialize(x)) == x, content-length appended when it was absent. */
static void check_round_trip(int line, stomp_version_t v, stomp_command_t cmd,
			     const stomp_header_t *h, size_t nh, const char *body, size_t body_len,
			     const chat_buf_t *wire)
{
	stomp_parser_t p;
	stomp_frame_t f;
	size_t used, k = 0;
	int has_cl = 0;

	ck_assert_int_eq(stomp_parser_init(&p, NULL), CHAT_OK);
	stomp_parser_set_version(&p, v);
	ck_assert_msg(stomp_parser_feed(&p, wire->data, wire->len, &used, &f) == CHAT_OK,
		      "line %d: re-parse failed: %s", line, stomp_parser_error_detail(&p));
	ck_assert_uint_eq(used, wire->len);
	ck_assert_int_eq(f.command, cmd);
	for (k = 0; k < nh; k++) {
		ck_assert_msg(k < f.nheaders, "line %d: header %zu lost", line, k);
		ck_assert_msg(f.headers[k].name.len == h[k].name.len &&
				      memcmp(f.headers[k].name.ptr, h[k].name.ptr, h[k].name.len) ==
					      0 &&
				      f.headers[k].value.len == h[k].value.len &&
				      memcmp(f.headers[k].value.ptr, h[k].value.ptr,
					     h[k].value.len) == 0,
			      "line %d: header %zu differs", line, k);
		has_cl |= chat_slice_eq(h[k].name, "content-length");
	}
	if (!has_cl && body_len > 0) {
		char n[32];

		snprintf(n, sizeof(n), "%zu", body_len);
		ck_assert_msg(f.nheaders == nh + 1, "line %d: no content-length added", line);
		ck_assert(chat_slice_eq(f.headers[nh].name, "content-length"));
		ck_assert(chat_slice_eq(f.headers[nh].value, n));
	} else {
		ck_assert_msg(f.nheaders == nh, "line %d: extra headers", line);
	}
	ck_assert_msg(f.body.len == body_len &&
			      (body_len == 0 || memcmp(f.body.ptr, body, body_len) == 0),
		      "line %d: body differs", line);
	stomp_parser_free(&p);
}

START_TEST(serialize_table)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(ser_rows); i++) {
		chat_buf_t out;
		int rc;

		chat_buf_init(&out, 4096);
		ck_assert_int_eq(chat_buf_puts(&out, "prefix"), 0);
		rc = stomp_serialize(&out, ser_rows[i].v, ser_rows[i].cmd, ser_rows[i].h,
				     ser_rows[i].nh, ser_rows[i].body, ser_rows[i].body_len);
		ck_assert_msg(rc == ser_rows[i].rc, "line %d: rc %d, want %d", ser_rows[i].line, rc,
			      ser_rows[i].rc);
		if (rc != CHAT_OK) {
			ck_assert_msg(out.len == 6 && memcmp(out.data, "prefix", 7) == 0,
				      "line %d: output not restored", ser_rows[i].line);
			chat_buf_free(&out);
			continue;
		}
		chat_buf_consume(&out, 6);
		if (ser_rows[i].want != NULL)
			ck_assert_msg(out.len == ser_rows[i].want_len &&
					      memcmp(out.data, ser_rows[i].want, out.len) == 0,
				      "line %d: got [%.*s]", ser_rows[i].line, (int)out.len,
				      out.data);
		check_round_trip(ser_rows[i].line, ser_rows[i].v, ser_rows[i].cmd, ser_rows[i].h,
				 ser_rows[i].nh, ser_rows[i].body, ser_rows[i].body_len, &out);
		chat_buf_free(&out);
	}
}
END_TEST

START_TEST(serialize_every_command_round_trips)
{
	/* What each escaping mode can carry. */
	static const stomp_header_t esc[] = { H("n\\:", "v\\c\nq\r"), H("z", "") };
	static const stomp_header_t raw[] = { H("n\\", "v\\c:q"), H("z", "") };

	for (int v = STOMP_V1_0; v <= STOMP_V1_2; v++) {
		for (int c = STOMP_CMD_CONNECT; c < STOMP_CMD_COUNT_; c++) {
			int is_raw = v == STOMP_V1_0 || c == STOMP_CMD_CONNECT ||
				     c == STOMP_CMD_STOMP || c == STOMP_CMD_CONNECTED;
			/* 1.1 has no \r escape: it gets the raw set, escaped. */
			const stomp_header_t *h = is_raw || v == STOMP_V1_1 ? raw : esc;
			size_t nh = 2;
			chat_buf_t out;

			chat_buf_init(&out, 4096);
			ck_assert_int_eq(stomp_serialize(&out, (stomp_version_t)v,
							 (stomp_command_t)c, h, nh, "b\0dy", 4),
					 CHAT_OK);
			check_round_trip(__LINE__, (stomp_version_t)v, (stomp_command_t)c, h, nh,
					 "b\0dy", 4, &out);
			chat_buf_free(&out);
		}
	}
}
END_TEST

START_TEST(serialize_too_big_restores)
{
	chat_buf_t out;

	chat_buf_init(&out, 20);
	ck_assert_int_eq(chat_buf_puts(&out, "xyz"), 0);
	ck_assert_int_eq(stomp_serialize(&out, STOMP_V1_2, STOMP_CMD_SEND, h_plain, 2, NULL, 0),
			 CHAT_ETOOBIG);
	ck_assert_uint_eq(out.len, 3);
	ck_assert_str_eq(out.data, "xyz");
	chat_buf_free(&out);
}
END_TEST

static void expect_bytes(int line, const chat_buf_t *out, const char *want, size_t len)
{
	ck_assert_msg(out->len == len && memcmp(out->data, want, len) == 0, "line %d: got [%.*s]",
		      line, (int)out->len, out->data);
}

START_TEST(helpers)
{
	static const stomp_header_t extra[] = { H("ack", "m-1") };
	chat_buf_t out;

	chat_buf_init(&out, 4096);
	ck_assert_int_eq(stomp_serialize_message(&out, STOMP_V1_2, "sub-0", "m-1",
						 "/topic/chat/room/1", "application/json", extra, 1,
						 "{}", 2),
			 CHAT_OK);
	expect_bytes(
		__LINE__, &out,
		B("MESSAGE\nsubscription:sub-0\nmessage-id:m-1\ndestination:/topic/chat/room/1\n"
		  "content-type:application/json\nack:m-1\ncontent-length:2\n\n{}\0"));
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_message(&out, STOMP_V1_2, "s", "m", "/q/a:b", NULL, NULL,
						 0, NULL, 0),
			 CHAT_OK);
	expect_bytes(__LINE__, &out,
		     B("MESSAGE\nsubscription:s\nmessage-id:m\ndestination:/q/a\\cb\n\n\0"));
	ck_assert_int_eq(stomp_serialize_message(&out, STOMP_V1_2, NULL, "m", "/q", NULL, NULL, 0,
						 NULL, 0),
			 CHAT_EINVAL);
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_error(&out, STOMP_V1_2, "header count exceeds 32", "r-7",
					       "details", 7),
			 CHAT_OK);
	expect_bytes(__LINE__, &out,
		     B("ERROR\nmessage:header count exceeds 32\nreceipt-id:r-7\n"
		       "content-type:text/plain\ncontent-length:7\n\ndetails\0"));
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_error(&out, STOMP_V1_0, "bad: thing", NULL, NULL, 0),
			 CHAT_OK);
	expect_bytes(__LINE__, &out, B("ERROR\nmessage:bad: thing\n\n\0"));
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_receipt(&out, STOMP_V1_2, "77"), CHAT_OK);
	expect_bytes(__LINE__, &out, B("RECEIPT\nreceipt-id:77\n\n\0"));
	ck_assert_int_eq(stomp_serialize_receipt(&out, STOMP_V1_2, NULL), CHAT_EINVAL);
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_connected(&out, "1.2", "10000,10000", "chat/0.1", NULL),
			 CHAT_OK);
	expect_bytes(__LINE__, &out,
		     B("CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:chat/0.1\n\n\0"));
	chat_buf_reset(&out);
	ck_assert_int_eq(stomp_serialize_connected(&out, "1.2", NULL, NULL, "a:b"), CHAT_OK);
	expect_bytes(__LINE__, &out, B("CONNECTED\nversion:1.2\nsession:a:b\n\n\0"));
	ck_assert_int_eq(stomp_serialize_connected(&out, NULL, NULL, NULL, NULL), CHAT_EINVAL);
	chat_buf_free(&out);
}
END_TEST

START_TEST(names_and_content_length)
{
	size_t n = 99;

	for (int c = STOMP_CMD_CONNECT; c < STOMP_CMD_COUNT_; c++) {
		const char *name = stomp_command_name((stomp_command_t)c);

		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(stomp_command_lookup(name, strlen(name)), c);
	}
	ck_assert_ptr_null(stomp_command_name(STOMP_CMD_UNKNOWN));
	ck_assert_ptr_null(stomp_command_name(STOMP_CMD_COUNT_));
	ck_assert_ptr_null(stomp_command_name((stomp_command_t)-1));
	ck_assert_int_eq(stomp_command_lookup("SEN", 3), STOMP_CMD_UNKNOWN);
	ck_assert_int_eq(stomp_command_lookup("", 0), STOMP_CMD_UNKNOWN);
	ck_assert_int_eq(stomp_parse_content_length(CHAT_SLICE("0"), &n), CHAT_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(stomp_parse_content_length(CHAT_SLICE("18446744073709551615"), &n),
			 sizeof(size_t) == 8 ? CHAT_OK : CHAT_ETOOBIG);
	ck_assert_int_eq(stomp_parse_content_length(CHAT_SLICE("18446744073709551616"), &n),
			 CHAT_ETOOBIG);
	ck_assert_int_eq(stomp_parse_content_length(CHAT_SLICE("1x"), &n), CHAT_EPROTO);
	ck_assert_int_eq(stomp_parse_content_length(CHAT_SLICE(""), &n), CHAT_EPROTO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stomp");
	TCase *tc = tcase_create("stomp");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table);
	tcase_add_test(tc, heartbeats_and_consumed);
	tcase_add_test(tc, first_header_wins);
	tcase_add_test(tc, version_switch);
	tcase_add_test(tc, limit_frame_size);
	tcase_add_test(tc, limit_header_count);
	tcase_add_test(tc, limit_line_length);
	tcase_add_test(tc, init_defaults);
	tcase_add_test(tc, serialize_table);
	tcase_add_test(tc, serialize_every_command_round_trips);
	tcase_add_test(tc, serialize_too_big_restores);
	tcase_add_test(tc, helpers);
	tcase_add_test(tc, names_and_content_length);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
