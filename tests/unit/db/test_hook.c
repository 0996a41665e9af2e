/* test_hook.c - the application hook client (db/hook) against a small
 * HTTP server on a loopback socket in a thread: the request it sends, an
 * answer parsed, and each failure - connection refused, a 5xx, no answer
 * in time, too large, broken JSON, every call slot busy - as its code. */
#include "config.h"
#include "hook.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum mode {
	M_ANSWER,
	M_STALL,
	M_BIG
} mode_t_;

typedef struct server {
	int lfd, port;
	mode_t_ mode;
	const char *response; /* M_ANSWER: sent as it is */
	char request[8192];   /* what came in */
	size_t request_len;
	int accepted[2]; /* the thread writes a byte once it accepted */
	int release[2];  /* M_STALL: it closes once a byte comes here */
	pthread_t thread;
} server_t;

/* Reads the request: headers, then Content-Length bytes. */
static void read_request(server_t *s, int fd)
{
	char *end;
	ssize_t n;
	size_t want = (size_t)-1;

	while (s->request_len < sizeof(s->request) - 1 && s->request_len < want) {
		n = read(fd, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len);
		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		end = strstr(s->request, "\r\n\r\n");
		if (end != NULL && want == (size_t)-1) {
			const char *cl = strstr(s->request, "Content-Length: ");

			want = (size_t)(end + 4 - s->request) +
			       (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
	}
}

static void *serve(void *arg)
{
	server_t *s = arg;
	static char big[65536];
	int fd = accept(s->lfd, NULL, NULL);
	char c = 1;

	if (fd < 0)
		return NULL;
	(void)!write(s->accepted[1], &c, 1);
	read_request(s, fd);
	if (s->mode == M_ANSWER) {
		(void)!write(fd, s->response, strlen(s->response));
	} else if (s->mode == M_BIG) {
		memset(big, 'x', sizeof(big));
		(void)!write(fd, "HTTP/1.0 200 OK\r\n\r\n", 19);
		for (int i = 0; i < 64; i++)
			if (send(fd, big, sizeof(big), MSG_NOSIGNAL) < 0)
				break;
	} else {
		(void)!read(s->release[0], &c, 1);
	}
	close(fd);
	return NULL;
}

static void server_start(server_t *s, mode_t_ mode, const char *response)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->response = response;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->lfd, 0);
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->lfd, 4), 0);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pipe(s->accepted), 0);
	ck_assert_int_eq(pipe(s->release), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server_t *s)
{
	char c = 1;

	(void)!write(s->release[1], &c, 1);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->accepted[0]);
	close(s->accepted[1]);
	close(s->release[0]);
	close(s->release[1]);
}

static chat_options_t opts(char *url, size_t size, int port, long long timeout_ms)
{
	chat_options_t o;

	memset(&o, 0, sizeof(o));
	snprintf(url, size, "http://127.0.0.1:%d/hooks/chat.php?x=1", port);
	o.app_hook_url = url;
	o.app_hook_timeout_ms = timeout_ms;
	o.app_hook_calls = 1;
	return o;
}

static int call(server_t *s, long long timeout_ms, hookmsg_answer_t *a, chat_error_t *e)
{
	char url[128];
	chat_options_t o = opts(url, sizeof(url), s->port, timeout_ms);

	return hook_call(&o, CHAT_SLICE("{\"type\":\"SEND\"}"), a, e);
}

START_TEST(answer_and_request)
{
	server_t s;
	hookmsg_answer_t a;
	chat_error_t e = { 0 };

	hookmsg_answer_init(&a, 1024);
	server_start(
		&s, M_ANSWER,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
		"{\"messages\":[{\"destination\":\"/topic/t\",\"body\":1}]}");
	ck_assert_int_eq(call(&s, 5000, &a, &e), 0);
	server_stop(&s);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.out[0].dest.data, "/topic/t");
	ck_assert_str_eq(a.out[0].body.data, "1");
	ck_assert_msg(strncmp(s.request, "POST /hooks/chat.php?x=1 HTTP/1.0\r\n", 35) == 0, "%s",
		      s.request);
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nContent-Length: 15\r\n"));
	ck_assert_ptr_nonnull(strstr(s.request, "\r\n\r\n{\"type\":\"SEND\"}"));
	hookmsg_answer_free(&a);
}
END_TEST

static const struct fail_row {
	int line;
	const char *response;
	int rc;
	const char *msg;
} fail_rows[] = {
	{ __LINE__, "HTTP/1.0 500 Internal Server Error\r\n\r\n{}", CHAT_EPROTO,
	  "the hook answered HTTP 500" },
	{ __LINE__, "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n", CHAT_EPROTO,
	  "the hook answered HTTP 302" },
	{ __LINE__, "HTTP/1.0 200 OK\r\n\r\n{\"messages\":", CHAT_EINVAL,
	  "the answer is not a JSON object" },
	{ __LINE__, "HTTP/1.0 200 OK\r\n\r\n{\"error\":\"nope\"}", 0, "" },
	{ __LINE__, "HTTP/1.0 200 OK\r\nContent-Length: 90\r\n\r\n{}", CHAT_EINVAL,
	  "the answer is not a complete HTTP response" },
	{ __LINE__, "garbage\r\n\r\n", CHAT_EINVAL, "the answer is not a complete HTTP response" },
	{ __LINE__, "", CHAT_EINVAL, "the answer is not a complete HTTP response" },
};

START_TEST(failures)
{
	server_t s;
	hookmsg_answer_t a;

	hookmsg_answer_init(&a, 1024);
	for (size_t i = 0; i < sizeof(fail_rows) / sizeof(fail_rows[0]); i++) {
		chat_error_t e = { 0 };
		int rc;

		server_start(&s, M_ANSWER, fail_rows[i].response);
		rc = call(&s, 5000, &a, &e);
		server_stop(&s);
		ck_assert_msg(rc == fail_rows[i].rc &&
				      (rc == 0 || !strcmp(e.message, fail_rows[i].msg)),
			      "row at line %d: %d %s", fail_rows[i].line, rc, e.message);
	}
	ck_assert_int_eq(a.has_error, 1);
	hookmsg_answer_free(&a);
}
END_TEST

START_TEST(too_slow_too_big_refused)
{
	server_t s;
	hookmsg_answer_t a;
	chat_error_t e = { 0 };
	char url[128];
	chat_options_t o;
	int port;

	hookmsg_answer_init(&a, 1024);
	server_start(&s, M_STALL, NULL);
	ck_assert_int_eq(call(&s, 200, &a, &e), CHAT_ETIMEDOUT);
	ck_assert_str_eq(e.message, "no answer in time");
	server_stop(&s);

	server_start(&s, M_BIG, NULL);
	ck_assert_int_eq(call(&s, 10000, &a, &e), CHAT_ETOOBIG);
	ck_assert_str_eq(e.message, "the answer is larger than 1048576 bytes");
	server_stop(&s);

	/* Nothing listens on a port bound and closed again. */
	{
		struct sockaddr_in sa = { 0 };
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
		port = ntohs(sa.sin_port);
		close(fd);
	}
	o = opts(url, sizeof(url), port, 2000);
	ck_assert_int_eq(hook_call(&o, CHAT_SLICE("{}"), &a, &e), CHAT_EIO);
	ck_assert_msg(strstr(e.message, "cannot connect to 127.0.0.1:") != NULL, "%s", e.message);

	o.app_hook_url = "https://127.0.0.1/";
	ck_assert_int_eq(hook_call(&o, CHAT_SLICE("{}"), &a, &e), CHAT_EINVAL);
	hookmsg_answer_free(&a);
}
END_TEST

typedef struct caller {
	server_t *s;
	int rc;
} caller_t;

static void *call_thread(void *arg)
{
	caller_t *c = arg;
	hookmsg_answer_t a;
	chat_error_t e = { 0 };

	hookmsg_answer_init(&a, 64);
	c->rc = call(c->s, 10000, &a, &e);
	hookmsg_answer_free(&a);
	return NULL;
}

START_TEST(busy)
{
	server_t s;
	caller_t c;
	pthread_t t;
	hookmsg_answer_t a;
	chat_error_t e = { 0 };
	char byte;

	hookmsg_answer_init(&a, 64);
	server_start(&s, M_STALL, NULL);
	c.s = &s;
	c.rc = 1;
	ck_assert_int_eq(pthread_create(&t, NULL, call_thread, &c), 0);
	/* The first call holds the one slot (app_hook_calls = 1) once the
	 * server accepted it: the second fails at once. */
	ck_assert_int_eq(read(s.accepted[0], &byte, 1), 1);
	ck_assert_int_eq(call(&s, 10000, &a, &e), CHAT_EBUSY);
	ck_assert_str_eq(e.message, "application busy (1 hook calls at once)");
	server_stop(&s);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.rc, CHAT_EINVAL); /* closed without an answer */
	hookmsg_answer_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hook");
	TCase *tc = tcase_create("hook");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, answer_and_request);
	tcase_add_test(tc, failures);
	tcase_add_test(tc, too_slow_too_big_refused);
	tcase_add_test(tc, busy);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
