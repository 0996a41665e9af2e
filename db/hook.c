/* hook.c - the application hook client (see hook.h). */
#include "config.h"
#include "hook.h"

#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static _Atomic long long calls_now;

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline, chat_error_t *err)
{
	struct pollfd p = { fd, events, 0 };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - chat_mono_ms();
		if (left <= 0)
			return chat_error_set(err, CHAT_ETIMEDOUT, "no answer in time");
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return CHAT_OK;
		if (n < 0 && errno != EINTR)
			return chat_error_set(err, CHAT_EIO, "poll: %s", strerror(errno));
	}
}

static int connect_to(const hookmsg_url_t *u, int64_t deadline, int *fd_out, chat_error_t *err)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(int);
	int fd, rc, so = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)u->port);
	if (inet_pton(AF_INET, u->host, &sa.sin_addr) != 1)
		return chat_error_set(err, CHAT_EINVAL, "bad address %s", u->host);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return chat_error_set(err, CHAT_EIO, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno != EINPROGRESS) {
			rc = chat_error_set(err, CHAT_EIO, "cannot connect to %s:%d: %s", u->host,
					    u->port, strerror(errno));
			goto fail;
		}
		if ((rc = wait_fd(fd, POLLOUT, deadline, err)) != CHAT_OK)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) != 0 || so != 0) {
			rc = chat_error_set(err, CHAT_EIO, "cannot connect to %s:%d: %s", u->host,
					    u->port, strerror(so != 0 ? so : errno));
			goto fail;
		}
	}
	*fd_out = fd;
	return CHAT_OK;
fail:
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline, chat_error_t *err)
{
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return chat_error_set(err, CHAT_EIO, "send: %s", strerror(errno));
		if ((rc = wait_fd(fd, POLLOUT, deadline, err)) != CHAT_OK)
			return rc;
	}
	return CHAT_OK;
}

/* Reads until the response is complete, EOF, the bound or the deadline. */
static int read_response(int fd, chat_buf_t *in, hookmsg_http_t *r, int64_t deadline,
			 chat_error_t *err)
{
	char chunk[16384];
	ssize_t n;
	int rc, eof = 0;

	for (;;) {
		rc = hookmsg_http_parse(in->data ? in->data : "", in->len, eof, r);
		if (rc == CHAT_OK)
			return CHAT_OK;
		if (rc == CHAT_ETOOBIG)
			return chat_error_set(err, rc, "the answer's HTTP headers are too large");
		if (rc != CHAT_EAGAIN)
			return chat_error_set(err, rc,
					      "the answer is not a complete HTTP response");
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			if (chat_buf_append(in, chunk, (size_t)n) != CHAT_OK)
				return chat_error_set(err, CHAT_ETOOBIG,
						      "the answer is larger than %d bytes",
						      HOOK_RESPONSE_MAX);
			continue;
		}
		if (n == 0) {
			eof = 1;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return chat_error_set(err, CHAT_EIO, "recv: %s", strerror(errno));
		if ((rc = wait_fd(fd, POLLIN, deadline, err)) != CHAT_OK)
			return rc;
	}
}

int hook_call(const chat_options_t *opt, chat_slice_t request, hookmsg_answer_t *ans,
	      chat_error_t *err)
{
	int64_t deadline = chat_mono_ms() + opt->app_hook_timeout_ms;
	hookmsg_url_t u;
	hookmsg_http_t r;
	chat_buf_t head, in;
	int fd = -1, rc;

	chat_buf_init(&head, HOOKMSG_PATH_MAX + 256);
	chat_buf_init(&in, HOOK_RESPONSE_MAX);
	if (atomic_fetch_add(&calls_now, 1) >= opt->app_hook_calls) {
		rc = chat_error_set(err, CHAT_EBUSY, "application busy (%lld hook calls at once)",
				    opt->app_hook_calls);
		goto out;
	}
	if ((rc = hookmsg_url_parse(opt->app_hook_url, &u, err)) != CHAT_OK)
		goto out;
	rc = chat_buf_printf(&head,
			     "POST %s HTTP/1.0\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
			     "Accept: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n",
			     u.path, u.host, u.port, request.len);
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "out of memory");
		goto out;
	}
	if ((rc = connect_to(&u, deadline, &fd, err)) != CHAT_OK ||
	    (rc = write_all(fd, head.data, head.len, deadline, err)) != CHAT_OK ||
	    (rc = write_all(fd, request.ptr, request.len, deadline, err)) != CHAT_OK ||
	    (rc = read_response(fd, &in, &r, deadline, err)) != CHAT_OK)
		goto out;
	if (r.status < 200 || r.status > 299) {
		rc = chat_error_set(err, CHAT_EPROTO, "the hook answered HTTP %d", r.status);
		goto out;
	}
	rc = hookmsg_answer_parse(r.body.ptr, r.body.len, ans, err);
out:
	atomic_fetch_sub(&calls_now, 1);
	if (fd >= 0)
		close(fd);
	chat_buf_free(&head);
	chat_buf_free(&in);
	return rc;
}
