/* sockjs.c - SockJS framing, payloads and documents (see sockjs.h). */
#include "config.h"
#include "sockjs.h"

#include "json.h"
#include "mediatype.h"
#include "utf8.h"

#include <inttypes.h>
#include <string.h>

static const char *const transport_names[SOCKJS_TRANSPORT_COUNT] = {
	[SOCKJS_WEBSOCKET] = "websocket",
	[SOCKJS_XHR] = "xhr",
	[SOCKJS_XHR_SEND] = "xhr_send",
	[SOCKJS_XHR_STREAMING] = "xhr_streaming",
	[SOCKJS_EVENTSOURCE] = "eventsource",
	[SOCKJS_HTMLFILE] = "htmlfile",
	[SOCKJS_JSONP] = "jsonp",
	[SOCKJS_JSONP_SEND] = "jsonp_send",
};

/* The htmlfile page up to the callback name, and after it. */
static const char htmlfile_head[] =
	"<!doctype html>\n"
	"<html><head>\n"
	"  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
	"  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
	"</head><body><h2>Don't panic!</h2>\n"
	"  <script>\n"
	"    document.domain = document.domain;\n"
	"    var c = parent.";
static const char htmlfile_tail[] = ";\n"
				    "    c.start();\n"
				    "    function p(d) {c.message(d);};\n"
				    "    window.onload = function() {c.stop();};\n"
				    "  </script>\n";
/* Safari renders nothing until it has this much. */
#define HTMLFILE_MIN 1024

/* The iframe page up to the sockjs-client URL, and after it. */
static const char iframe_head[] =
	"<!DOCTYPE html>\n"
	"<html>\n"
	"<head>\n"
	"  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
	"  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
	"  <script>\n"
	"    document.domain = document.domain;\n"
	"    _sockjs_onload = function(){SockJS.bootstrap_iframe();};\n"
	"  </script>\n"
	"  <script src=\"";
/* With a versions URL: a loader in place of the <script src>.  The page
 * asks its parent for the SockJS session's parameters as sockjs-client's
 * iframe bootstrap does (an "s" message), reads the parent's version from
 * the answer, and loads that version's client (V, then the default one if
 * that fails); the client's _sockjs_onload then runs the real bootstrap,
 * which asks again and is answered again. */
static const char iframe_loader_head[] = "  <script>\n"
					 "    (function () {\n"
					 "      var byVersion = ";
static const char iframe_loader_mid[] = ", fallback = ";
static const char iframe_loader_tail[] =
	";\n"
	"      var id = location.hash.slice(1);\n"
	"      function load(src, next) {\n"
	"        var s = document.createElement('script');\n"
	"        s.src = src;\n"
	"        if (next) s.onerror = next;\n"
	"        document.head.appendChild(s);\n"
	"      }\n"
	"      function onMessage(e) {\n"
	"        var m, v;\n"
	"        if (e.source !== parent) return;\n"
	"        try { m = JSON.parse(e.data); v = JSON.parse(m.data)[0]; } catch (x) { return; }\n"
	"        if (!m || m.windowId !== id || m.type !== 's') return;\n"
	"        window.removeEventListener('message', onMessage);\n"
	"        var def = function () { load(fallback, null); };\n"
	"        if (typeof v === 'string' && /^[0-9]{1,4}(\\.[0-9]{1,4}){1,3}(-[0-9A-Za-z.]{1,32})?$/.test(v))\n"
	"          load(byVersion.replace('{version}', v), def);\n"
	"        else\n"
	"          def();\n"
	"      }\n"
	"      window.addEventListener('message', onMessage);\n"
	"      parent.postMessage(JSON.stringify({ windowId: id, type: 's', data: '' }), '*');\n"
	"    })();\n"
	"  </script>\n";
static const char iframe_body[] =
	"</head>\n"
	"<body>\n"
	"  <h2>Don't panic!</h2>\n"
	"  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n"
	"</body>\n"
	"</html>";

static const char iframe_tail[] = "\"></script>\n";

#define XHR_PRELUDE_H 2048

/* Rolls out back to start when rc is a failure; returns rc. */
static int done(chat_buf_t *out, size_t start, int rc)
{
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

size_t sockjs_json_bound(size_t n)
{
	return n * 6 + 1024;
}

const char *sockjs_transport_name(sockjs_transport_t t)
{
	if ((unsigned)t >= SOCKJS_TRANSPORT_COUNT)
		return "";
	return transport_names[t];
}

int sockjs_frame_open(chat_buf_t *out)
{
	return chat_buf_putc(out, 'o');
}

int sockjs_frame_heartbeat(chat_buf_t *out)
{
	return chat_buf_putc(out, 'h');
}

int sockjs_frame_messages(chat_buf_t *out, const chat_slice_t *msgs, size_t n)
{
	size_t start = out->len;
	int rc = chat_buf_putc(out, 'a');

	if (rc == CHAT_OK)
		rc = json_encode_array(out, msgs, n);
	return done(out, start, rc);
}

int sockjs_frame_encoded(chat_buf_t *out, const chat_slice_t *items, size_t n)
{
	size_t start = out->len, i;
	int rc = chat_buf_append(out, "a[", 2);

	for (i = 0; i < n && rc == CHAT_OK; i++) {
		if (i > 0)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, items[i].ptr, items[i].len);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	return done(out, start, rc);
}

int sockjs_frame_close(chat_buf_t *out, int code, chat_slice_t reason)
{
	size_t start = out->len;
	int rc = chat_buf_printf(out, "c[%d,", code);

	if (rc == CHAT_OK)
		rc = json_encode_string(out, reason.ptr, reason.len);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	return done(out, start, rc);
}

int sockjs_prelude(chat_buf_t *out, sockjs_transport_t t, chat_slice_t callback)
{
	size_t start = out->len, i;
	int rc = CHAT_OK;

	switch (t) {
	case SOCKJS_XHR_STREAMING:
		for (i = 0; rc == CHAT_OK && i < XHR_PRELUDE_H; i++)
			rc = chat_buf_putc(out, 'h');
		if (rc == CHAT_OK)
			rc = chat_buf_putc(out, '\n');
		break;
	case SOCKJS_EVENTSOURCE: rc = chat_buf_append(out, "\r\n", 2); break;
	case SOCKJS_HTMLFILE:
		rc = chat_buf_append(out, htmlfile_head, sizeof(htmlfile_head) - 1);
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, callback.ptr, callback.len);
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, htmlfile_tail, sizeof(htmlfile_tail) - 1);
		while (rc == CHAT_OK && out->len - start < HTMLFILE_MIN)
			rc = chat_buf_putc(out, ' ');
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, "\r\n\r\n", 4);
		break;
	default: break;
	}
	return done(out, start, rc);
}

/* "data: " frame "\r\n\r\n", percent-encoding what decodeURI() and the
 * event-stream syntax would otherwise mangle. */
static int wrap_eventsource(chat_buf_t *out, chat_slice_t frame)
{
	size_t run = 0, i;
	int rc = chat_buf_append(out, "data: ", 6);

	for (i = 0; rc == CHAT_OK && i < frame.len; i++) {
		const char *esc;

		switch (frame.ptr[i]) {
		case '%': esc = "%25"; break;
		case '\r': esc = "%0D"; break;
		case '\n': esc = "%0A"; break;
		case '\0': esc = "%00"; break;
		default: continue;
		}
		rc = chat_buf_append(out, frame.ptr + run, i - run);
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, esc, 3);
		run = i + 1;
	}
	if (rc == CHAT_OK && frame.len > run)
		rc = chat_buf_append(out, frame.ptr + run, frame.len - run);
	if (rc == CHAT_OK)
		rc = chat_buf_append(out, "\r\n\r\n", 4);
	return rc;
}

int sockjs_wrap(chat_buf_t *out, sockjs_transport_t t, chat_slice_t callback, chat_slice_t frame)
{
	size_t start = out->len;
	int rc;

	switch (t) {
	case SOCKJS_WEBSOCKET: rc = chat_buf_append(out, frame.ptr, frame.len); break;
	case SOCKJS_XHR:
	case SOCKJS_XHR_STREAMING:
		rc = chat_buf_append(out, frame.ptr, frame.len);
		if (rc == CHAT_OK)
			rc = chat_buf_putc(out, '\n');
		break;
	case SOCKJS_EVENTSOURCE: rc = wrap_eventsource(out, frame); break;
	case SOCKJS_HTMLFILE:
		rc = chat_buf_append(out, "<script>\np(", 11);
		if (rc == CHAT_OK)
			rc = json_encode_string_flags(out, frame.ptr, frame.len, JSON_ENC_HTML);
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, ");\n</script>\r\n");
		break;
	case SOCKJS_JSONP:
		/* As sockjs-node: a comment first, so that a response sniffed
		 * as another type (Flash's crossdomain tricks) cannot start
		 * with bytes of the client's choosing. */
		rc = chat_buf_append(out, "/**/", 4);
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, callback.ptr, callback.len);
		if (rc == CHAT_OK)
			rc = chat_buf_putc(out, '(');
		if (rc == CHAT_OK)
			rc = json_encode_string(out, frame.ptr, frame.len);
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, ");\r\n", 4);
		break;
	default: rc = CHAT_EINVAL; break;
	}
	return done(out, start, rc);
}

/* The byte at s[*i] of a URL-encoded field, advancing *i past it. */
static char url_byte(const char *s, size_t len, size_t *i)
{
	char c = s[*i];
	int hi, lo;

	if (c == '+') {
		(*i)++;
		return ' ';
	}
	if (c == '%' && len - *i >= 3 && (hi = utf8_hexval((unsigned char)s[*i + 1])) >= 0 &&
	    (lo = utf8_hexval((unsigned char)s[*i + 2])) >= 0) {
		*i += 3;
		return (char)(hi << 4 | lo);
	}
	(*i)++;
	return c;
}

/* Whether the URL-encoded key s[0..len) decodes to name. */
static int key_eq(const char *s, size_t len, const char *name)
{
	size_t i = 0, k = 0;

	while (i < len) {
		if (name[k] == '\0' || url_byte(s, len, &i) != name[k])
			return 0;
		k++;
	}
	return name[k] == '\0';
}

int sockjs_query_param(chat_slice_t query, const char *name, chat_buf_t *out)
{
	size_t pos = 0;

	while (pos < query.len) {
		const char *f = query.ptr + pos, *amp, *eq;
		size_t flen, klen;

		amp = memchr(f, '&', query.len - pos);
		flen = amp ? (size_t)(amp - f) : query.len - pos;
		pos += flen + 1;
		eq = memchr(f, '=', flen);
		klen = eq ? (size_t)(eq - f) : flen;
		if (key_eq(f, klen, name)) {
			size_t start = out->len, i = eq ? klen + 1 : flen;
			int rc = CHAT_OK;

			while (rc == CHAT_OK && i < flen) {
				char c = url_byte(f, flen, &i);

				rc = chat_buf_putc(out, c);
			}
			return done(out, start, rc);
		}
	}
	return CHAT_ENOTFOUND;
}

int sockjs_callback(chat_slice_t query, chat_buf_t *out, const char **err_body)
{
	chat_buf_t cb;
	size_t i;
	int rc;

	/* one byte over the cap tells "too long" from "fits" */
	chat_buf_init(&cb, SOCKJS_CALLBACK_MAX + 1);
	rc = sockjs_query_param(query, "c", &cb);
	if (rc == CHAT_ENOTFOUND)
		rc = sockjs_query_param(query, "callback", &cb);
	if (rc == CHAT_ENOTFOUND || (rc == CHAT_OK && cb.len == 0)) {
		*err_body = SOCKJS_ERR_CALLBACK_REQUIRED;
		rc = CHAT_EINVAL;
		goto out;
	}
	if (rc == CHAT_ENOMEM)
		goto out;
	if (rc == CHAT_OK && cb.len > SOCKJS_CALLBACK_MAX)
		rc = CHAT_ETOOBIG;
	for (i = 0; rc == CHAT_OK && i < cb.len; i++) {
		char c = cb.data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			rc = CHAT_EINVAL;
	}
	if (rc != CHAT_OK) {
		*err_body = SOCKJS_ERR_CALLBACK_INVALID;
		rc = CHAT_EINVAL;
		goto out;
	}
	rc = chat_buf_append(out, cb.data, cb.len);
out:
	chat_buf_free(&cb);
	return rc;
}

static const char *send_error_body(int rc)
{
	switch (rc) {
	case CHAT_EINVAL:
	case CHAT_EUTF8: return SOCKJS_ERR_BROKEN_JSON;
	case CHAT_ETOOBIG: return SOCKJS_ERR_TOO_BIG;
	case CHAT_ETOOMANY: return SOCKJS_ERR_TOO_MANY;
	default: return "Internal error.";
	}
}

int sockjs_parse_send(sockjs_transport_t t, chat_slice_t content_type, const char *body, size_t len,
		      json_strv_t *v, const char **err_body)
{
	chat_buf_t d;
	int rc;

	json_strv_reset(v);
	chat_buf_init(&d, len);
	if (t != SOCKJS_XHR_SEND && t != SOCKJS_JSONP_SEND) {
		*err_body = SOCKJS_ERR_PAYLOAD;
		rc = CHAT_EINVAL;
		goto out;
	}
	if (t == SOCKJS_JSONP_SEND &&
	    mediatype_is(content_type, "application/x-www-form-urlencoded")) {
		chat_slice_t form = { body, len };

		rc = sockjs_query_param(form, "d", &d);
		if (rc == CHAT_ENOMEM) {
			*err_body = send_error_body(rc);
			goto out;
		}
		body = d.data;
		len = rc == CHAT_OK ? d.len : 0;
	}
	if (len == 0) {
		*err_body = SOCKJS_ERR_PAYLOAD;
		rc = CHAT_EINVAL;
		goto out;
	}
	rc = json_decode_array(body, len, 0, v);
	if (rc != CHAT_OK)
		*err_body = send_error_body(rc);
out:
	chat_buf_free(&d);
	return rc;
}

int sockjs_parse_ws_message(const char *msg, size_t len, json_strv_t *v)
{
	if (len == 0) {
		json_strv_reset(v);
		return CHAT_OK;
	}
	return json_decode_array(msg, len, JSON_DEC_BARE_STRING, v);
}

int sockjs_info(chat_buf_t *out, int websocket, int cookie_needed, int streaming, uint32_t entropy)
{
	return chat_buf_printf(out,
			       "{\"websocket\":%s,\"origins\":[\"*:*\"],"
			       "\"cookie_needed\":%s,\"entropy\":%" PRIu32 "%s}",
			       websocket ? "true" : "false", cookie_needed ? "true" : "false",
			       entropy, streaming ? "" : ",\"streaming\":false");
}

int sockjs_iframe_page(chat_buf_t *out, chat_slice_t sockjs_url, chat_slice_t versions_url)
{
	size_t start = out->len, run = 0, i;
	int rc;

	if (versions_url.len > 0) {
		/* Up to "</script>\n": the head common to both pages. */
		rc = chat_buf_append(out, iframe_head,
				     (size_t)(strstr(iframe_head, "  <script src") - iframe_head));
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, iframe_loader_head);
		if (rc == CHAT_OK)
			rc = json_encode_string_flags(out, versions_url.ptr, versions_url.len,
						      JSON_ENC_HTML);
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, iframe_loader_mid);
		if (rc == CHAT_OK)
			rc = json_encode_string_flags(out, sockjs_url.ptr, sockjs_url.len,
						      JSON_ENC_HTML);
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, iframe_loader_tail);
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, iframe_body);
		return done(out, start, rc);
	}
	rc = chat_buf_append(out, iframe_head, sizeof(iframe_head) - 1);
	for (i = 0; rc == CHAT_OK && i < sockjs_url.len; i++) {
		const char *esc;

		switch (sockjs_url.ptr[i]) {
		case '&': esc = "&amp;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		default: continue;
		}
		rc = chat_buf_append(out, sockjs_url.ptr + run, i - run);
		if (rc == CHAT_OK)
			rc = chat_buf_puts(out, esc);
		run = i + 1;
	}
	if (rc == CHAT_OK && sockjs_url.len > run)
		rc = chat_buf_append(out, sockjs_url.ptr + run, sockjs_url.len - run);
	if (rc == CHAT_OK)
		rc = chat_buf_puts(out, iframe_tail);
	if (rc == CHAT_OK)
		rc = chat_buf_puts(out, iframe_body);
	return done(out, start, rc);
}

int sockjs_etag(chat_buf_t *out, const char *body, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= UINT64_C(0x100000001b3);
	}
	return chat_buf_printf(out, "\"%016" PRIx64 "\"", h);
}
