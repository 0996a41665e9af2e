/* httpreq.c - the pure parts of chat.fcgi's HTTP side (see httpreq.h). */
#include "config.h"
#include "httpreq.h"

#include <stdio.h>
#include <string.h>

void httpreq_split_uri(const char *uri, const char *query_string, chat_slice_t *path,
		       chat_slice_t *query)
{
	const char *q = strchr(uri, '?');

	path->ptr = uri;
	path->len = q != NULL ? (size_t)(q - uri) : strlen(uri);
	query->ptr = q != NULL ? q + 1 : uri + path->len;
	query->len = q != NULL ? strlen(q + 1) : 0;
	if (query_string != NULL) {
		query->ptr = query_string;
		query->len = strlen(query_string);
	}
}

int httpreq_header_safe(const char *v, size_t max)
{
	size_t n = 0;

	for (; *v != '\0'; v++, n++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f || n >= max)
			return 0;
	return 1;
}

int httpreq_cors_headers(chat_buf_t *head, const char *origin)
{
	if (origin == NULL || *origin == '\0' || !httpreq_header_safe(origin, HTTPREQ_ORIGIN_MAX))
		return chat_buf_puts(head, "Access-Control-Allow-Origin: *\r\nVary: Origin\r\n");
	return chat_buf_printf(head,
			       "Access-Control-Allow-Origin: %s\r\n"
			       "Access-Control-Allow-Credentials: true\r\n"
			       "Vary: Origin\r\n",
			       origin);
}

void httpreq_jsessionid(const char *cookie, char *out, size_t size)
{
	const char *p = cookie;

	snprintf(out, size, "dummy");
	while (p != NULL && (p = strstr(p, "JSESSIONID=")) != NULL) {
		if (p == cookie || p[-1] == ' ' || p[-1] == ';') {
			size_t n = strcspn(p + 11, "; \t\r\n");

			if (n > 0 && n < size && n <= HTTPREQ_COOKIE_MAX) {
				memcpy(out, p + 11, n);
				out[n] = '\0';
			}
			return;
		}
		p += 11;
	}
}

chat_slice_t httpreq_below_script_dir(chat_slice_t path, const char *script_name)
{
	const char *slash = script_name != NULL ? strrchr(script_name, '/') : NULL;
	size_t n = slash != NULL ? (size_t)(slash - script_name) : 0;

	if (n == 0 || path.len <= n || memcmp(path.ptr, script_name, n) != 0 || path.ptr[n] != '/')
		return path;
	return (chat_slice_t){ path.ptr + n, path.len - n };
}
