/*
 * main.c - chat.fcgi: the FastCGI program behind lighttpd or Apache.
 * Wires options, the FastCGI socket and a pool of request threads to the
 * request handler; everything else lives in libchat.
 *
 * The front server either spawns it with the listening socket as fd 0
 * (lighttpd mod_fastcgi, Apache mod_fcgid) or it listens itself with
 * --fcgi_listen HOST:PORT (Apache mod_proxy_fcgi).  Started as a plain CGI
 * program (mod_cgi, mod_cgid, lighttpd mod_cgi) it serves the one request
 * of its environment and ends (docs/shared-hosting.md).
 */
#include "config.h"
#include "background.h"
#include "handler.h"
#include "http.h"
#include "log.h"
#include "optload.h"
#include "start.h"

#include <fcgiapp.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char summary[] =
	"chat.fcgi - STOMP-over-SockJS chat: the SockJS HTTP transports as a FastCGI program.";

/* A request thread's start: it accepts on sock and serves with handler
 * (its per-thread state is transport.h's worker_t, made by the handler). */
typedef struct request_thread {
	pthread_t thread;
	int sock;
	handler_t *handler;
} request_thread_t;

extern char **environ;

/* Started by a front server as a CGI program: no FastCGI listening socket
 * on fd 0, and the CGI environment. */
static int started_as_cgi(void)
{
	const char *gi = getenv("GATEWAY_INTERFACE");

	return FCGX_IsCGI() && gi != NULL && !strncmp(gi, "CGI/", 4);
}

/* Serves this process's CGI request; then, with stdout closed (the front
 * server's sign that the response is complete), the background work no
 * long-lived process is there for. */
static int serve_cgi(chat_options_t *opt)
{
	chat_error_t err = { 0 };
	handler_t *handler = NULL;
	sigset_t term;
	int fd, rc;

	/* One request: a held poll or stream is this sleeping process. */
	opt->threads = 1;
	opt->held_reserve = 0;
	/* SIGTERM (the client left) must reach this thread, which serves. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &term, NULL);
	rc = handler_open(opt, 1, &handler, &err);
	if (rc == CHAT_OK && http_cgi_catch_term() != CHAT_OK)
		log_warn(
			"cannot catch SIGTERM: a client that leaves is noticed at the next heartbeat");
	if (rc != CHAT_OK) {
		log_error("cannot start: %s", err.message);
		fputs("Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n"
		      "Service unavailable.\n",
		      stdout);
		return EXIT_FAILURE;
	}
	handler_serve_cgi(handler, environ);
	/* mod_cgid hands the script one socket as both stdin and stdout. */
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDIN_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	background_run_once(opt, NULL);
	handler_close(handler);
	return EXIT_SUCCESS;
}

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *request_thread_main(void *arg)
{
	request_thread_t *w = arg;
	FCGX_Request req;

	if (FCGX_InitRequest(&req, w->sock, 0) != 0) {
		log_error("cannot initialise a FastCGI request");
		return NULL;
	}
	for (;;) {
		int rc;

		/* Some platforms' accept() is not safe to call from several
		 * threads on one socket; libfcgi's own example serialises it. */
		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		handler_serve(w->handler, &req);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	return NULL;
}

/* Without CHAT_CONFIG, a chat.conf beside the program is the
 * configuration: where the front server cannot set the program's
 * environment (mod_fcgid from .htaccess, suexec, which clears it). */
static void config_beside_program(void)
{
	char path[4096];
	ssize_t n;
	char *slash;
	const char *v = getenv("CHAT_CONFIG");

	if (v != NULL && *v != '\0')
		return;
	n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("/chat.conf"));
	if (n <= 0 || (size_t)n >= sizeof(path) - sizeof("/chat.conf"))
		return;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	memcpy(slash, "/chat.conf", sizeof("/chat.conf"));
	if (access(path, R_OK) == 0)
		(void)setenv("CHAT_CONFIG", path, 1);
}

int main(int argc, char **argv)
{
	chat_options_t opt;
	chat_error_t err = { 0 };
	handler_t *handler = NULL;
	request_thread_t *workers = NULL;
	int rc, sock = 0, status = EXIT_FAILURE;
	long long i;

	/* The configuration reference (docs/configuration.md) is generated
	 * from the option table alone. */
	if (argc == 2 && !strcmp(argv[1], "--reference")) {
		options_reference(stdout);
		return EXIT_SUCCESS;
	}
	config_beside_program();
	if (start_load(&opt, argc, argv, "chat.fcgi", summary, &status) != CHAT_OK)
		goto out;
	if (start_configure(&opt, "chat.fcgi") != CHAT_OK)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		goto out;
	}
	/* libfcgi turns SIGTERM and SIGUSR1 into a "shutdown pending" flag that
	 * is only looked at after the next request, so an idle process would
	 * never exit.  Every committed message is already in SQLite, so dying
	 * at once on the front server's signal loses nothing. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	if (opt.fcgi_listen[0] != '\0') {
		sock = FCGX_OpenSocket(opt.fcgi_listen, 128);
		if (sock < 0) {
			log_error("cannot listen on %s: is the address free?", opt.fcgi_listen);
			goto out;
		}
	} else if (started_as_cgi()) {
		status = serve_cgi(&opt);
		goto out;
	} else if (FCGX_IsCGI()) {
		fprintf(stderr,
			"chat.fcgi: not started by a FastCGI server nor as a CGI program (no GATEWAY_INTERFACE); use --fcgi_listen HOST:PORT "
			"or run it from lighttpd/Apache (see --help)\n");
		goto out;
	}
	rc = handler_open(&opt, 0, &handler, &err);
	if (rc != CHAT_OK) {
		log_error("cannot start: %s", err.message);
		goto out;
	}
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	if (workers == NULL)
		goto out;
	log_info("serving %s with %lld threads", opt.endpoints, opt.threads);
	for (i = 0; i < opt.threads; i++) {
		workers[i].sock = sock;
		workers[i].handler = handler;
		if (pthread_create(&workers[i].thread, NULL, request_thread_main, &workers[i]) !=
		    0) {
			log_error("cannot start thread %lld", i);
			goto out;
		}
	}
	for (i = 0; i < opt.threads; i++)
		pthread_join(workers[i].thread, NULL);
	status = EXIT_SUCCESS;
out:
	free(workers);
	handler_close(handler);
	options_free(&opt);
	return status;
}
