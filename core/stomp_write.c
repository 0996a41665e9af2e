/* stomp_write.c - the STOMP frame serialiser: stomp_serialize() and the
 * MESSAGE, ERROR, RECEIPT and CONNECTED helpers (see stomp.h). */
#include "config.h"
#include "stomp.h"
#include "stomp_int.h"

#include <string.h>

enum {
	ESC_NONE,
	ESC_11,
	ESC_12
};

/* Appends n bytes of a header name or value escaped per mode.  Returns
 * CHAT_EINVAL for bytes the mode cannot carry. */
static int put_escaped(chat_buf_t *out, int mode, const char *s, size_t n, int is_name)
{
	size_t i, run = 0;
	int rc = CHAT_OK;

	for (i = 0; i < n; i++) {
		const char *esc = NULL;

		switch (s[i]) {
		case '\0': return CHAT_EINVAL;
		case '\\': esc = mode == ESC_NONE ? NULL : "\\\\"; break;
		case '\n':
			if (mode == ESC_NONE)
				return CHAT_EINVAL;
			esc = "\\n";
			break;
		case '\r':
			if (mode != ESC_12)
				return CHAT_EINVAL;
			esc = "\\r";
			break;
		case ':':
			if (mode == ESC_NONE && is_name)
				return CHAT_EINVAL;
			esc = mode == ESC_NONE ? NULL : "\\c";
			break;
		}
		if (esc == NULL)
			continue;
		if ((rc = chat_buf_append(out, s + run, i - run)) != CHAT_OK ||
		    (rc = chat_buf_append(out, esc, 2)) != CHAT_OK)
			return rc;
		run = i + 1;
	}
	return chat_buf_append(out, s + run, n - run);
}

static int put_header(chat_buf_t *out, int mode, const stomp_header_t *h)
{
	int rc;

	if (h->name.len == 0)
		return CHAT_EINVAL;
	if ((rc = put_escaped(out, mode, h->name.ptr, h->name.len, 1)) != CHAT_OK ||
	    (rc = chat_buf_putc(out, ':')) != CHAT_OK ||
	    (rc = put_escaped(out, mode, h->value.ptr, h->value.len, 0)) != CHAT_OK)
		return rc;
	return chat_buf_putc(out, '\n');
}

/* Finds the first content-length among pre then headers (NULL if none). */
static const stomp_header_t *find_length(const stomp_header_t *pre, size_t npre,
					 const stomp_header_t *headers, size_t n)
{
	for (size_t i = 0; i < npre; i++)
		if (chat_slice_eq(pre[i].name, "content-length"))
			return &pre[i];
	for (size_t i = 0; i < n; i++)
		if (chat_slice_eq(headers[i].name, "content-length"))
			return &headers[i];
	return NULL;
}

/* stomp_serialize() with two header lists (pre first), so the helpers need
 * not copy the caller's extra headers. */
static int serialize2(chat_buf_t *out, stomp_version_t version, stomp_command_t cmd,
		      const stomp_header_t *pre, size_t npre, const stomp_header_t *headers,
		      size_t nheaders, const void *body, size_t body_len)
{
	const char *name = stomp_command_name(cmd);
	const stomp_header_t *cl;
	size_t start = out->len, n;
	int mode, rc = CHAT_EINVAL;

	if (name == NULL)
		goto out;
	if (stomp__headers_raw(cmd, version))
		mode = ESC_NONE;
	else if (version == STOMP_V1_1)
		mode = ESC_11;
	else
		mode = ESC_12;
	cl = find_length(pre, npre, headers, nheaders);
	if (cl != NULL && (stomp_parse_content_length(cl->value, &n) != CHAT_OK || n != body_len))
		goto out;
	if ((rc = chat_buf_puts(out, name)) != CHAT_OK ||
	    (rc = chat_buf_putc(out, '\n')) != CHAT_OK)
		goto out;
	for (size_t i = 0; i < npre; i++)
		if ((rc = put_header(out, mode, &pre[i])) != CHAT_OK)
			goto out;
	for (size_t i = 0; i < nheaders; i++)
		if ((rc = put_header(out, mode, &headers[i])) != CHAT_OK)
			goto out;
	if (cl == NULL && body_len > 0 &&
	    (rc = chat_buf_printf(out, "content-length:%zu\n", body_len)) != CHAT_OK)
		goto out;
	if ((rc = chat_buf_putc(out, '\n')) != CHAT_OK ||
	    (rc = chat_buf_append(out, body, body_len)) != CHAT_OK ||
	    (rc = chat_buf_putc(out, '\0')) != CHAT_OK)
		goto out;
out:
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

int stomp_serialize(chat_buf_t *out, stomp_version_t version, stomp_command_t cmd,
		    const stomp_header_t *headers, size_t nheaders, const void *body,
		    size_t body_len)
{
	return serialize2(out, version, cmd, NULL, 0, headers, nheaders, body, body_len);
}

static chat_slice_t cstr(const char *s)
{
	chat_slice_t v = { s, strlen(s) };

	return v;
}

/* Appends header (name, value) to h[*n] when value is not NULL. */
static void add(stomp_header_t *h, size_t *n, const char *name, const char *value)
{
	if (value == NULL)
		return;
	h[*n].name = cstr(name);
	h[*n].value = cstr(value);
	(*n)++;
}

int stomp_serialize_message(chat_buf_t *out, stomp_version_t version, const char *subscription,
			    const char *message_id, const char *destination,
			    const char *content_type, const stomp_header_t *extra, size_t nextra,
			    const void *body, size_t body_len)
{
	stomp_header_t h[4];
	size_t n = 0;

	if (subscription == NULL || message_id == NULL || destination == NULL)
		return CHAT_EINVAL;
	add(h, &n, "subscription", subscription);
	add(h, &n, "message-id", message_id);
	add(h, &n, "destination", destination);
	add(h, &n, "content-type", content_type);
	return serialize2(out, version, STOMP_CMD_MESSAGE, h, n, extra, nextra, body, body_len);
}

int stomp_serialize_error(chat_buf_t *out, stomp_version_t version, const char *message,
			  const char *receipt_id, const void *body, size_t body_len)
{
	stomp_header_t h[3];
	size_t n = 0;

	add(h, &n, "message", message);
	add(h, &n, "receipt-id", receipt_id);
	if (body_len > 0)
		add(h, &n, "content-type", "text/plain");
	return serialize2(out, version, STOMP_CMD_ERROR, h, n, NULL, 0, body, body_len);
}

int stomp_serialize_receipt(chat_buf_t *out, stomp_version_t version, const char *receipt_id)
{
	stomp_header_t h[1];
	size_t n = 0;

	if (receipt_id == NULL)
		return CHAT_EINVAL;
	add(h, &n, "receipt-id", receipt_id);
	return serialize2(out, version, STOMP_CMD_RECEIPT, h, n, NULL, 0, NULL, 0);
}

int stomp_serialize_connected(chat_buf_t *out, const char *version, const char *heart_beat,
			      const char *server, const char *session)
{
	stomp_header_t h[4];
	size_t n = 0;

	if (version == NULL)
		return CHAT_EINVAL;
	add(h, &n, "version", version);
	add(h, &n, "heart-beat", heart_beat);
	add(h, &n, "server", server);
	add(h, &n, "session", session);
	return serialize2(out, STOMP_V1_2, STOMP_CMD_CONNECTED, h, n, NULL, 0, NULL, 0);
}
