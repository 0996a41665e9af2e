/*
 * sockjs.h - SockJS 0.3.3 (as sockjs-client 1.x speaks it) without IO:
 * frames, how each HTTP transport wraps them, request-payload parsing with
 * the protocol's exact error bodies, the greeting, /info and iframe
 * documents, and the jsonp/htmlfile callback parameter.
 *
 * Every builder appends to a chat_buf_t and is all or nothing: on failure
 * the buffer is left as it was.  Builders return 0, CHAT_ETOOBIG (past the
 * buffer's max), CHAT_ENOMEM, or CHAT_EUTF8 where a string must be UTF-8.
 * Frames ("o", "h", "a[...]", "c[...]") are built without a transport
 * delimiter; sockjs_wrap() and the per-transport builders add it.
 */
#ifndef CHAT_SOCKJS_H
#define CHAT_SOCKJS_H

#include "buf.h"
#include "chat.h"
#include "json.h"

/* The session transports, in URL order /PREFIX/SERVER/SESSION/NAME. */
typedef enum sockjs_transport {
	SOCKJS_WEBSOCKET,
	SOCKJS_XHR,
	SOCKJS_XHR_SEND,
	SOCKJS_XHR_STREAMING,
	SOCKJS_EVENTSOURCE,
	SOCKJS_HTMLFILE,
	SOCKJS_JSONP,
	SOCKJS_JSONP_SEND,
	SOCKJS_TRANSPORT_COUNT
} sockjs_transport_t;

/* The URL name of t ("xhr_streaming"...), "" for an out-of-range value. */
const char *sockjs_transport_name(sockjs_transport_t t);

/* Close codes and reasons the protocol fixes. */
#define SOCKJS_CLOSE_NORMAL 1000 /* "Normal closure" (default) */
#define SOCKJS_CLOSE_INTERRUPTED 1002
#define SOCKJS_CLOSE_ANOTHER 2010
#define SOCKJS_CLOSE_GO_AWAY 3000 /* what the `close` test service sends */
#define SOCKJS_REASON_NORMAL "Normal closure"
#define SOCKJS_REASON_INTERRUPTED "Connection interrupted"
#define SOCKJS_REASON_ANOTHER "Another connection still open"
#define SOCKJS_REASON_GO_AWAY "Go away!"

/* Exact response bodies (sent with status 500 unless noted). */
#define SOCKJS_GREETING "Welcome to SockJS!\n" /* 200 text/plain */
#define SOCKJS_ERR_PAYLOAD "Payload expected."
#define SOCKJS_ERR_BROKEN_JSON "Broken JSON encoding."
#define SOCKJS_ERR_CALLBACK_REQUIRED "\"callback\" parameter required"
#define SOCKJS_ERR_CALLBACK_INVALID "invalid \"callback\" parameter"
/* Ours, not the protocol's: over the configured size/count caps. */
#define SOCKJS_ERR_TOO_BIG "Payload too large."
#define SOCKJS_ERR_TOO_MANY "Too many messages."

/* Longest callback name accepted (sockjs-node's jsonp limit). */
#define SOCKJS_CALLBACK_MAX 32

/* The worst-case size of n bytes of messages once JSON-encoded for a
 * SockJS frame: every byte may become a six-byte \u00XX escape, plus room
 * for the array, the quotes and the commas of a batch. */
size_t sockjs_json_bound(size_t n);

/* Frames. */
int sockjs_frame_open(chat_buf_t *out);      /* o */
int sockjs_frame_heartbeat(chat_buf_t *out); /* h */

/* a["m1","m2"] from n UTF-8 messages (n may be 0: a[]). */
int sockjs_frame_messages(chat_buf_t *out, const chat_slice_t *msgs, size_t n);

/* c[code,"reason"], e.g. c[3000,"Go away!"]. */
/* a[...] of n messages already encoded as JSON string literals (with
 * SockJS escaping, e.g. by json_encode_string()); all or nothing. */
int sockjs_frame_encoded(chat_buf_t *out, const chat_slice_t *items, size_t n);
int sockjs_frame_close(chat_buf_t *out, int code, chat_slice_t reason);

/* What a streaming response sends before any frame:
 *   xhr_streaming: 2048 'h' then '\n' (IE needs a 2 KiB prelude);
 *   eventsource:   "\r\n" (Opera);
 *   htmlfile:      the page that calls parent.CALLBACK, padded with spaces
 *                  to over 1 KiB (Safari), then "\r\n\r\n";
 *                  callback must have passed sockjs_callback();
 *   other transports: nothing.  callback is ignored except for htmlfile. */
int sockjs_prelude(chat_buf_t *out, sockjs_transport_t t, chat_slice_t callback);

/* Wraps one frame for transport t:
 *   websocket:                the frame as is;
 *   xhr, xhr_streaming:       frame "\n";
 *   eventsource:              "data: " frame "\r\n\r\n", with % \r \n NUL in
 *                             the frame percent-encoded (sockjs-client 1.x
 *                             runs decodeURI() on every event);
 *   htmlfile:                 "<script>\np(" JSON(frame) ");\n</script>\r\n",
 *                             JSON with < > & escaped as well;
 *   jsonp:                    an empty comment, callback "(" JSON(frame) ");\r\n".
 * xhr_send / jsonp_send carry no frames: CHAT_EINVAL. */
int sockjs_wrap(chat_buf_t *out, sockjs_transport_t t, chat_slice_t callback, chat_slice_t frame);

/* Parses an xhr_send or jsonp_send request body into v (see json.h for
 * v's caps), replacing its contents.
 *   xhr_send:   the body is the JSON array whatever the content type;
 *   jsonp_send: with content type application/x-www-form-urlencoded
 *               (parameters ignored, case-insensitive) the array is the
 *               URL-decoded `d` field, otherwise the raw body.
 * Returns 0 with the messages in v (possibly none: `[]`), or an error with
 * *err_body set to the static body to answer with status 500:
 *   CHAT_EINVAL "Payload expected." - empty body, no or empty `d`;
 *   CHAT_EINVAL "Broken JSON encoding." - not a JSON array of strings;
 *   CHAT_EUTF8  "Broken JSON encoding." - invalid UTF-8 in a string;
 *   CHAT_ETOOBIG "Payload too large.", CHAT_ETOOMANY "Too many messages.";
 *   CHAT_ENOMEM "Internal error."; CHAT_EINVAL if t is another transport.
 * jsonp_send with a form uses a temporary buffer of at most len bytes,
 * freed before returning. */
int sockjs_parse_send(sockjs_transport_t t, chat_slice_t content_type, const char *body, size_t len,
		      json_strv_t *v, const char **err_body);

/* Parses one WebSocket text message: a JSON array of strings or a single
 * JSON string (sockjs-node accepts both).  An empty message is not an error
 * and yields no items (the protocol says to ignore it).  Returns as
 * json_decode_array(); any error means "close the connection". */
int sockjs_parse_ws_message(const char *msg, size_t len, json_strv_t *v);

/* Finds the first field called name in a query string or form body
 * ("a=1&b=2", no leading '?') and appends its URL-decoded value (`+` is a
 * space, %XX a byte, a malformed % stays literal) to out.  Keys are compared
 * after decoding.  Returns 0, CHAT_ENOTFOUND, CHAT_ETOOBIG, CHAT_ENOMEM. */
int sockjs_query_param(chat_slice_t query, const char *name, chat_buf_t *out);

/* The jsonp/htmlfile callback: the `c` field of the query, or `callback`
 * when there is no `c`; it must be 1..SOCKJS_CALLBACK_MAX characters from
 * [A-Za-z0-9_.].  Appends it to out and returns 0, or returns CHAT_EINVAL
 * with *err_body "\"callback\" parameter required" (absent or empty) or
 * "invalid \"callback\" parameter" (anything else); CHAT_ENOMEM. */
int sockjs_callback(chat_slice_t query, chat_buf_t *out, const char **err_body);

/* The /info document:
 * {"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":N}
 * entropy is the caller's fresh random 32-bit value.  With streaming 0 it
 * ends with "streaming":false, a key of this server's own: the streaming
 * transports are not served (sockjs-client ignores it; the chat page then
 * asks sockjs-client for polling at once). */
int sockjs_info(chat_buf_t *out, int websocket, int cookie_needed, int streaming, uint32_t entropy);

/* The iframe page (/iframe.html, /iframe-VERSION.html).  With an empty
 * versions_url it loads sockjs-client from sockjs_url (HTML-escaped into
 * the src attribute), as sockjs-node's page does.  sockjs-client refuses an
 * iframe of another version than its page's ("Incompatible SockJS!") and
 * names no version in the iframe's URL, so with a versions_url (a URL with
 * "{version}" in it, such as "/js/sockjs-{version}.min.js") the page
 * learns the parent's version from the parent's first message and loads
 * versions_url with it, falling back to sockjs_url when that fails to load
 * (an unbundled version).  Both URLs go into a script as JSON strings
 * escaped for HTML.  The page is the same for every client, so it stays
 * cacheable. */
int sockjs_iframe_page(chat_buf_t *out, chat_slice_t sockjs_url, chat_slice_t versions_url);

/* A strong ETag for a body: a quoted 64-bit FNV-1a hash in hex
 * ("\"0123456789abcdef\""), stable across processes and runs. */
int sockjs_etag(chat_buf_t *out, const char *body, size_t len);

#endif
