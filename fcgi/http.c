/* http.c - one FastCGI or CGI request's HTTP input and output (see http.h). */
#include "config.h"
#include "http.h"
#include "httpreq.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The CGI response's status line and headers, at most. */
#define CGI_HEAD_MAX (16 * 1024)
/* An oversize CGI body up to this size is read and dropped before the
 * answer (413): Apache mod_cgid writes the whole body before it reads the
 * response, and resets the client's connection when the program stops
 * reading.  A larger one gets its answer unread. */
#define CGI_DRAIN_MAX (4 * 1024 * 1024)

static volatile sig_atomic_t cgi_terminated;

static void on_term(int sig)
{
	(void)sig;
	cgi_terminated = 1;
}

int http_cgi_catch_term(void)
{
	struct sigaction sa;
	sigset_t term;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a held request's poll() returns at once. */
	if (sigaction(SIGTERM, &sa, NULL) != 0)
		return CHAT_EIO;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	return pthread_sigmask(SIG_UNBLOCK, &term, NULL) == 0 ? CHAT_OK : CHAT_EIO;
}

static int request_init(http_request_t *r, FCGX_Request *f, char **envp)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", envp);
	const char *method = FCGX_GetParam("REQUEST_METHOD", envp);

	memset(r, 0, sizeof(*r));
	r->fcgx = f;
	r->envp = envp;
	r->conn_fd = f != NULL ? f->ipcFd : STDOUT_FILENO;
	/* Under CGI stdin may be a pipe its writer closed after the body,
	 * or the very socket stdout is: only a hang-up of stdout counts. */
	r->conn_events = f != NULL ? POLLIN | POLLRDHUP : 0;
	r->method = method != NULL ? method : "GET";
	if (uri == NULL)
		return CHAT_EINVAL;
	httpreq_split_uri(uri, FCGX_GetParam("QUERY_STRING", envp), &r->path, &r->query);
	return CHAT_OK;
}

int http_request_init(http_request_t *r, FCGX_Request *f)
{
	return request_init(r, f, f->envp);
}

int http_request_init_cgi(http_request_t *r, char **envp)
{
	return request_init(r, NULL, envp);
}

int http_client_gone(const http_request_t *r)
{
	struct pollfd p = { r->conn_fd, r->conn_events, 0 };
	char c;

	if (r->fcgx == NULL && cgi_terminated)
		return 1;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
		return 1;
	if (r->fcgx == NULL)
		return 0;
	return recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN;
}

const char *http_param(const http_request_t *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

/* Waits up to the body timeout for stdin to be readable: 1, 0 (timed
 * out) or -1 (error). */
static int stdin_ready(const http_request_t *r)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	int n;

	do
		n = poll(&p, 1, r->body_timeout_ms > 0 ? r->body_timeout_ms : -1);
	while (n < 0 && errno == EINTR && !cgi_terminated);
	return n;
}

/* Reads and drops len bytes of body (or until it stops). */
static void drain(const http_request_t *r, size_t len)
{
	char chunk[8192];

	while (len > 0 && stdin_ready(r) > 0) {
		ssize_t n = read(STDIN_FILENO, chunk, len < sizeof(chunk) ? len : sizeof(chunk));

		if (n <= 0)
			break;
		len -= (size_t)n;
	}
}

/* A CGI body: CONTENT_LENGTH bytes from stdin; without one (Apache passes
 * a chunked body so), up to the EOF the front server gives after the body
 * (mod_cgid shuts its socket down for writing, mod_cgi closes the pipe). */
static int cgi_read_body(http_request_t *r, chat_buf_t *out)
{
	const char *cl = http_param(r, "CONTENT_LENGTH");
	char chunk[8192], *end;
	unsigned long long want = ULLONG_MAX;
	int sized = cl != NULL && *cl != '\0';

	if (sized) {
		errno = 0;
		want = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || *cl == '-')
			return CHAT_EINVAL;
		if (want > out->max - out->len) {
			if (want <= CGI_DRAIN_MAX)
				drain(r, (size_t)want);
			return CHAT_ETOOBIG;
		}
	}
	while (want > 0) {
		size_t room = out->max - out->len;
		/* One byte past the cap tells an oversize body. */
		size_t n = sized ? (want < sizeof(chunk) ? (size_t)want : sizeof(chunk))
				 : (room + 1 < sizeof(chunk) ? room + 1 : sizeof(chunk));
		ssize_t got;
		int ready = stdin_ready(r);

		if (ready == 0)
			return CHAT_ETIMEDOUT;
		if (ready < 0)
			return CHAT_EIO;
		got = read(STDIN_FILENO, chunk, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0 && !sized)
			break;
		if (got <= 0)
			return CHAT_EIO; /* the body ended before CONTENT_LENGTH */
		if ((size_t)got > room) {
			drain(r, CGI_DRAIN_MAX);
			return CHAT_ETOOBIG;
		}
		if (chat_buf_append(out, chunk, (size_t)got) != CHAT_OK)
			return CHAT_ENOMEM;
		if (sized)
			want -= (unsigned long long)got;
	}
	return CHAT_OK;
}

/* Writes all of data to stdout (CGI), or CHAT_EIO. */
static int cgi_write(const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHAT_EIO;
		p += n;
		len -= (size_t)n;
	}
	return CHAT_OK;
}

int http_read_body(http_request_t *r, chat_buf_t *out)
{
	char chunk[8192];
	struct timeval tv = { r->body_timeout_ms / 1000, (r->body_timeout_ms % 1000) * 1000 };
	struct timeval none = { 0, 0 };
	int n, rc, timed = r->body_timeout_ms > 0;

	if (r->fcgx == NULL)
		return cgi_read_body(r, out);
	/* libfcgi's reads block; a receive timeout on the request's connection
	 * makes a stalled one fail instead of holding the thread.  Only for
	 * the body: a kept-alive connection then waits for its next request. */
	if (timed)
		timed = setsockopt(r->fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
	for (;;) {
		size_t room = out->max - out->len;
		/* Read one byte past the cap so an oversize body is detected
		 * without buffering it. */
		size_t want = room + 1 < sizeof(chunk) ? room + 1 : sizeof(chunk);

		n = FCGX_GetStr(chunk, (int)want, r->fcgx->in);
		if (n <= 0)
			break;
		if ((size_t)n > room) {
			rc = CHAT_ETOOBIG;
			goto out;
		}
		if (chat_buf_append(out, chunk, (size_t)n) != CHAT_OK) {
			rc = CHAT_ENOMEM;
			goto out;
		}
	}
	n = FCGX_GetError(r->fcgx->in);
	rc = n == EAGAIN || n == EWOULDBLOCK ? CHAT_ETIMEDOUT : n != 0 ? CHAT_EIO : CHAT_OK;
out:
	if (timed)
		(void)setsockopt(r->fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return rc;
}

const char *http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* CGI: the head in one write, so a held response's headers go out whole. */
static int cgi_start(int status, const char *content_type, const char *headers)
{
	chat_buf_t head;
	int rc;

	chat_buf_init(&head, CGI_HEAD_MAX);
	rc = chat_buf_printf(&head, "Status: %d %s\r\n", status, http_reason(status));
	if (rc == CHAT_OK && content_type != NULL)
		rc = chat_buf_printf(&head, "Content-Type: %s\r\n", content_type);
	if (rc == CHAT_OK && headers != NULL)
		rc = chat_buf_puts(&head, headers);
	if (rc == CHAT_OK)
		rc = chat_buf_puts(&head, "\r\n");
	if (rc == CHAT_OK)
		rc = cgi_write(head.data, head.len);
	chat_buf_free(&head);
	return rc == CHAT_OK ? CHAT_OK : CHAT_EIO;
}

int http_start(http_request_t *r, int status, const char *content_type, const char *headers)
{
	FCGX_Stream *out;

	if (r->headers_sent)
		return CHAT_OK;
	r->headers_sent = 1;
	if (r->fcgx == NULL)
		return cgi_start(status, content_type, headers);
	out = r->fcgx->out;
	if (FCGX_FPrintF(out, "Status: %d %s\r\n", status, http_reason(status)) < 0)
		return CHAT_EIO;
	if (content_type != NULL && FCGX_FPrintF(out, "Content-Type: %s\r\n", content_type) < 0)
		return CHAT_EIO;
	if (headers != NULL && FCGX_PutS(headers, out) < 0)
		return CHAT_EIO;
	if (FCGX_PutS("\r\n", out) < 0)
		return CHAT_EIO;
	return CHAT_OK;
}

int http_write(http_request_t *r, const void *data, size_t len)
{
	FCGX_Stream *out;

	if (r->fcgx == NULL) {
		if (cgi_write(data, len) != CHAT_OK)
			return CHAT_EIO;
		r->bytes_sent += (long long)len;
		return CHAT_OK;
	}
	out = r->fcgx->out;
	if (len > 0 && FCGX_PutStr(data, (int)len, out) != (int)len)
		return CHAT_EIO;
	r->bytes_sent += (long long)len;
	if (FCGX_FFlush(out) < 0 || FCGX_GetError(out) != 0)
		return CHAT_EIO;
	return CHAT_OK;
}

int http_respond(http_request_t *r, int status, const char *content_type, const char *headers,
		 const void *body, size_t len)
{
	int rc = http_start(r, status, content_type, headers);

	return rc != CHAT_OK ? rc : http_write(r, body, len);
}

int http_respond_text(http_request_t *r, int status, const char *headers, const char *body)
{
	return http_respond(r, status, "text/plain; charset=UTF-8", headers, body, strlen(body));
}
