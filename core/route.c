/* route.c - SockJS URL routing (see route.h). */
#include "config.h"
#include "route.h"

#include <ctype.h>
#include <string.h>

/* The slice's next segment: from *pos (just past a '/') to the next '/' or
 * the end; *pos moves past the segment. */
static chat_slice_t next_segment(chat_slice_t s, size_t *pos)
{
	const char *slash = memchr(s.ptr + *pos, '/', s.len - *pos);
	chat_slice_t seg = { s.ptr + *pos,
			     slash ? (size_t)(slash - (s.ptr + *pos)) : s.len - *pos };

	*pos += seg.len;
	return seg;
}

static int valid_id(chat_slice_t id)
{
	size_t i;

	if (id.len == 0 || id.len > ROUTE_ID_MAX)
		return 0;
	for (i = 0; i < id.len; i++) {
		unsigned char c = (unsigned char)id.ptr[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '.')
			return 0;
	}
	return 1;
}

/* iframe.html or iframe-anything.html with [0-9a-z._-] in between. */
static int is_iframe(chat_slice_t seg)
{
	size_t i;

	if (seg.len < 11 || memcmp(seg.ptr, "iframe", 6) != 0 ||
	    memcmp(seg.ptr + seg.len - 5, ".html", 5) != 0)
		return 0;
	for (i = 6; i < seg.len - 5; i++) {
		char c = seg.ptr[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' ||
		      c == '_'))
			return 0;
	}
	return 1;
}

static int find_transport(chat_slice_t seg, sockjs_transport_t *t)
{
	int i;

	for (i = 0; i < SOCKJS_TRANSPORT_COUNT; i++) {
		if (chat_slice_eq(seg, sockjs_transport_name((sockjs_transport_t)i))) {
			*t = (sockjs_transport_t)i;
			return 1;
		}
	}
	return 0;
}

/* Routes rest, the path after the prefix ("" or starting with '/'). */
static int route_rest(chat_slice_t rest, route_t *r)
{
	chat_slice_t seg[3];
	size_t pos = 0, nseg = 0;

	if (rest.len == 0 || (rest.len == 1 && rest.ptr[0] == '/')) {
		r->kind = ROUTE_GREETING;
		return CHAT_OK;
	}
	/* one trailing slash is allowed after anything */
	if (rest.ptr[rest.len - 1] == '/')
		rest.len--;
	while (pos < rest.len) {
		if (rest.ptr[pos] != '/' || nseg == 3)
			return CHAT_ENOTFOUND;
		pos++;
		seg[nseg++] = next_segment(rest, &pos);
	}
	if (nseg == 1) {
		if (chat_slice_eq(seg[0], "info")) {
			r->kind = ROUTE_INFO;
			return CHAT_OK;
		}
		if (chat_slice_eq(seg[0], "websocket")) {
			r->kind = ROUTE_RAW_WEBSOCKET;
			return CHAT_OK;
		}
		if (is_iframe(seg[0])) {
			r->kind = ROUTE_IFRAME;
			return CHAT_OK;
		}
		return CHAT_ENOTFOUND;
	}
	if (nseg != 3 || !valid_id(seg[0]) || !valid_id(seg[1]) ||
	    !find_transport(seg[2], &r->transport))
		return CHAT_ENOTFOUND;
	r->kind = ROUTE_SESSION;
	r->server_id = seg[0];
	r->session_id = seg[1];
	return CHAT_OK;
}

int route_parse(const char *const *prefixes, size_t n, const char *path, size_t len, route_t *r)
{
	const char *q;
	size_t plen, best_len = 0, i;
	chat_slice_t rest;

	if (path == NULL || len == 0) {
		path = "";
		len = 0;
	}
	q = memchr(path, '?', len);
	plen = q ? (size_t)(q - path) : len;
	memset(r, 0, sizeof(*r));
	r->prefix = ROUTE_NO_PREFIX;
	r->path.ptr = path;
	r->path.len = plen;
	r->query.ptr = q ? q + 1 : "";
	r->query.len = q ? len - plen - 1 : 0;
	r->server_id.ptr = r->session_id.ptr = "";
	for (i = 0; i < n; i++) {
		size_t l = strlen(prefixes[i]);

		if (l > plen || memcmp(prefixes[i], path, l) != 0 || (l < plen && path[l] != '/'))
			continue;
		if (r->prefix == ROUTE_NO_PREFIX || l > best_len) {
			r->prefix = i;
			best_len = l;
		}
	}
	if (r->prefix == ROUTE_NO_PREFIX)
		return CHAT_ENOTFOUND;
	rest.ptr = path + best_len;
	rest.len = plen - best_len;
	return route_rest(rest, r);
}

/* Whether e[0..n) is an endpoint path: '/' and segments of [A-Za-z0-9._~-],
 * none empty, "." or "..". */
static int endpoint_valid(const char *e, size_t n)
{
	size_t i, seg = 1;

	if (n < 2 || e[0] != '/')
		return 0;
	for (i = 1; i <= n; i++) {
		if (i == n || e[i] == '/') {
			if (i == seg || (i - seg == 1 && e[seg] == '.') ||
			    (i - seg == 2 && e[seg] == '.' && e[seg + 1] == '.'))
				return 0;
			seg = i + 1;
		} else if (!isalnum((unsigned char)e[i]) && strchr("._~-", e[i]) == NULL) {
			return 0;
		}
	}
	return 1;
}

int route_endpoints_parse(const char *text, char out[][ROUTE_ENDPOINT_MAX + 1], size_t *n,
			  chat_error_t *err)
{
	chat_slice_t item;
	size_t i;

	*n = 0;
	while (chat_list_next(&text, &item)) {
		if (item.len > 2 && item.ptr[item.len - 1] == '/')
			item.len--;
		if (*n == ROUTE_ENDPOINTS_MAX)
			return chat_error_set(err, CHAT_ETOOBIG,
					      "endpoints: more than %d endpoints",
					      ROUTE_ENDPOINTS_MAX);
		if (item.len > ROUTE_ENDPOINT_MAX)
			return chat_error_set(err, CHAT_ETOOBIG,
					      "endpoints: '%.*s' is longer than %d bytes",
					      (int)item.len, item.ptr, ROUTE_ENDPOINT_MAX);
		if (!endpoint_valid(item.ptr, item.len))
			return chat_error_set(
				err, CHAT_EINVAL,
				"endpoints: '%.*s' is not an endpoint path (like /chat or /ws/chat: '/', then segments of letters, digits and ._~-)",
				(int)item.len, item.ptr);
		if (chat_slice_eq(item, "/api"))
			return chat_error_set(err, CHAT_EINVAL,
					      "endpoints: /api is the HTTP API's");
		for (i = 0; i < *n; i++)
			if (chat_slice_eq(item, out[i]))
				return chat_error_set(err, CHAT_EINVAL,
						      "endpoints: '%s' is given twice", out[i]);
		memcpy(out[*n], item.ptr, item.len);
		out[*n][item.len] = '\0';
		(*n)++;
	}
	if (*n == 0)
		return chat_error_set(err, CHAT_EINVAL,
				      "endpoints: needs at least one path, like /chat");
	return CHAT_OK;
}
