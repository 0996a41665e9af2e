/*
 * stomp.h - STOMP 1.0/1.1/1.2 frames: an incremental, bounded parser and a
 * serialiser.  Pure code: no IO, no logging.  The caller owns a
 * stomp_parser_t (one per connection) and feeds it bytes split anywhere;
 * a parsed frame points into the parser's memory, valid until the next
 * feed or free, its header names, values and body each followed by a NUL.
 * After an error the parser stays failed.  The usage loop, the error codes
 * and the wire details this parser decides: docs/protocol.md#stomp-frames.
 */
#ifndef CHAT_STOMP_H
#define CHAT_STOMP_H

#include "buf.h"
#include "chat.h"

#include <stdint.h>

/* Protocol versions; the value is 10 * major + minor. */
typedef enum stomp_version {
	STOMP_V1_0 = 10,
	STOMP_V1_1 = 11,
	STOMP_V1_2 = 12
} stomp_version_t;

/* Every command of the 1.2 spec (client and server frames). */
typedef enum stomp_command {
	STOMP_CMD_UNKNOWN = 0,
	STOMP_CMD_CONNECT,
	STOMP_CMD_STOMP,
	STOMP_CMD_CONNECTED,
	STOMP_CMD_SEND,
	STOMP_CMD_SUBSCRIBE,
	STOMP_CMD_UNSUBSCRIBE,
	STOMP_CMD_ACK,
	STOMP_CMD_NACK,
	STOMP_CMD_BEGIN,
	STOMP_CMD_COMMIT,
	STOMP_CMD_ABORT,
	STOMP_CMD_DISCONNECT,
	STOMP_CMD_MESSAGE,
	STOMP_CMD_RECEIPT,
	STOMP_CMD_ERROR,
	STOMP_CMD_COUNT_
} stomp_command_t;

/* One header: both slices are decoded bytes (no escapes). */
typedef struct stomp_header {
	chat_slice_t name;
	chat_slice_t value;
} stomp_header_t;

/* A parsed frame.  Borrowed: points into the parser (see the top). */
typedef struct stomp_frame {
	stomp_command_t command;       /* never STOMP_CMD_UNKNOWN */
	chat_slice_t command_name;     /* the command as it arrived */
	const stomp_header_t *headers; /* in arrival order, repeats kept */
	size_t nheaders;
	chat_slice_t body; /* may contain NULs (content-length) */
} stomp_frame_t;

/* Bounds for one parser.  A field left 0 takes the default. */
typedef struct stomp_limits {
	size_t max_frame;   /* bytes of a frame on the wire (default 65536) */
	size_t max_headers; /* header lines per frame (default 32) */
	size_t max_line;    /* bytes of one command/header line (default 1024) */
} stomp_limits_t;

#define STOMP_DEFAULT_MAX_FRAME 65536
#define STOMP_DEFAULT_MAX_HEADERS 32
#define STOMP_DEFAULT_MAX_LINE 1024

/* Per-connection parser state.  Caller-owned; the fields are private
 * except heartbeats, which the caller may read and reset at will. */
typedef struct stomp_parser {
	uint64_t heartbeats; /* EOLs seen between frames, ever */

	stomp_limits_t lim; /* effective limits */
	stomp_version_t version;
	chat_buf_t buf;         /* the frame being assembled, decoded */
	struct stomp__hdr *hdr; /* max_headers offsets into buf */
	stomp_header_t *out;    /* max_headers slices handed to the caller */
	size_t nhdr;            /* header lines of the current frame */
	size_t frame_bytes;     /* wire bytes of the current frame so far */
	size_t line_start;      /* offset in buf of the current line */
	size_t body_start;      /* offset in buf of the body */
	size_t body_left;       /* content-length bytes still to come */
	stomp_command_t command;
	int state;        /* where in the frame we are */
	int raw;          /* 1: this frame's headers are not unescaped */
	int delivered;    /* 1: a frame was handed out, reset on feed */
	int error;        /* sticky CHAT_E* code, 0 while healthy */
	char detail[160]; /* human text for error, "" while healthy */
} stomp_parser_t;

/* Prepares p with the given limits (NULL or 0 fields: the defaults) and
 * version 1.2.  Allocates the header table; returns CHAT_OK or CHAT_ENOMEM
 * (then p needs no free, though stomp_parser_free() is harmless).  Always
 * pair a successful init with stomp_parser_free(). */
int stomp_parser_init(stomp_parser_t *p, const stomp_limits_t *lim);

/* Releases everything p owns; frames handed out become invalid.  NULL-safe,
 * and safe to call twice. */
void stomp_parser_free(stomp_parser_t *p);

/* Sets the negotiated version, which decides header unescaping for the
 * frames that start after this call (CONNECT, STOMP and CONNECTED frames
 * are never unescaped).  Call it once CONNECT/CONNECTED has agreed on one.
 * Unknown values are treated as 1.2. */
void stomp_parser_set_version(stomp_parser_t *p, stomp_version_t v);

/* Feeds len bytes of input.  Always sets *consumed to the bytes used.
 *  CHAT_OK      a complete frame is in *out; *consumed may be < len:
 *               feed the rest (buf + *consumed) next.
 *  CHAT_EAGAIN  all of buf was consumed (stored), more is needed.
 *  otherwise    an error (see the top); stomp_parser_error_detail() says
 *               what, and p stays failed.
 * The previously returned frame becomes invalid when this is called. */
int stomp_parser_feed(stomp_parser_t *p, const char *buf, size_t len, size_t *consumed,
		      stomp_frame_t *out);

/* The sticky error code (0 while healthy). */
int stomp_parser_error(const stomp_parser_t *p);

/* Human text for the error, e.g. "header count exceeds 32", suitable for
 * an ERROR frame's message header (printable ASCII, no CR/LF); "" while
 * healthy.  Owned by p. */
const char *stomp_parser_error_detail(const stomp_parser_t *p);

/* The value of the first header named name (exact, case-sensitive), or
 * NULL when there is none.  Borrowed from f. */
const chat_slice_t *stomp_frame_header(const stomp_frame_t *f, const char *name);

/* Parses a content-length value: all digits, at least one.  Returns CHAT_OK
 * with *n set, CHAT_EPROTO if not all digits, CHAT_ETOOBIG on overflow. */
int stomp_parse_content_length(chat_slice_t v, size_t *n);

/* The wire name of a command ("SEND"), or NULL for STOMP_CMD_UNKNOWN and
 * out-of-range values.  Static storage. */
const char *stomp_command_name(stomp_command_t cmd);

/* The command named by the len bytes at s, or STOMP_CMD_UNKNOWN. */
stomp_command_t stomp_command_lookup(const char *s, size_t len);

/* Appends one complete frame to out: command, headers in the given order,
 * blank line, body, NUL.  Header names and values are escaped for version
 * (1.2: \\ \n \r \c; 1.1: \\ \n \c; 1.0 and CONNECT/STOMP/CONNECTED frames:
 * none).  When body_len > 0 and headers hold no content-length, one is
 * appended after them; a content-length that is given must equal body_len.
 * body may be NULL when body_len is 0.
 * Returns CHAT_OK; CHAT_EINVAL for an unknown command, an empty name, a
 * NUL anywhere in a header, a byte the version cannot carry (CR or LF
 * unescaped, CR in 1.1, ':' in an unescaped name) or a wrong
 * content-length; CHAT_ETOOBIG past out's max; CHAT_ENOMEM.  On failure out
 * is left as it was. */
int stomp_serialize(chat_buf_t *out, stomp_version_t version, stomp_command_t cmd,
		    const stomp_header_t *headers, size_t nheaders, const void *body,
		    size_t body_len);

/* MESSAGE for a subscriber: headers subscription, message-id, destination,
 * then content-type (omitted when NULL), then extra[0..nextra) (e.g. ack,
 * or application headers), then content-length when body_len > 0.
 * Strings are NUL-terminated; same return values as stomp_serialize(). */
int stomp_serialize_message(chat_buf_t *out, stomp_version_t version, const char *subscription,
			    const char *message_id, const char *destination,
			    const char *content_type, const stomp_header_t *extra, size_t nextra,
			    const void *body, size_t body_len);

/* ERROR with a short message header (e.g. stomp_parser_error_detail()),
 * receipt-id when receipt_id is not NULL, and, when body_len > 0,
 * content-type text/plain and the body (the longer explanation). */
int stomp_serialize_error(chat_buf_t *out, stomp_version_t version, const char *message,
			  const char *receipt_id, const void *body, size_t body_len);

/* RECEIPT with receipt-id. */
int stomp_serialize_receipt(chat_buf_t *out, stomp_version_t version, const char *receipt_id);

/* CONNECTED (never escaped): version, then heart-beat, server and session
 * when not NULL, e.g. ("1.2", "10000,10000", "chat/1.0", "abc"). */
int stomp_serialize_connected(chat_buf_t *out, const char *version, const char *heart_beat,
			      const char *server, const char *session);

#endif
