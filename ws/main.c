/*
 * main.c - chat-ws: the WebSocket sidecar behind lighttpd or Apache.
 * Wires options, logging and signals to the server (server.c); everything
 * else lives in libchat.
 *
 * The front server proxies /PREFIX/SERVER/SESSION/websocket and
 * /PREFIX/websocket upgrades to --ws_listen:--ws_port (loopback); conf/serve.sh
 * starts it with the same chat.conf as chat.fcgi (CHAT_CONFIG).  SIGTERM
 * or SIGINT closes every socket with 1001 and exits.
 */
#include "config.h"
#include "auth.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char summary[] =
	"chat-ws - STOMP-over-SockJS chat: the WebSocket transport (SockJS and raw), one event loop.";

/* Turns SIGTERM/SIGINT into a graceful stop (a thread, not a handler, so
 * the stop may take locks). */
static void *signal_main(void *arg)
{
	wsserver_t *srv = arg;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigwait(&set, &sig) == 0) {
		log_info("signal %d: shutting down", sig);
		wsserver_stop(srv);
	}
	return NULL;
}

/* Every socket is a file descriptor: raise the soft limit (often 1,024)
 * towards the hard one, so that thousands of clients fit without a
 * `ulimit -n` in the start script.  Capped, because libwebsockets sizes
 * its tables from it. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the open-files limit to %llu; raise it with ulimit -n",
			 (unsigned long long)want);
}

int main(int argc, char **argv)
{
	chat_options_t opt;
	chat_error_t err = { 0 };
	wsserver_t *srv = NULL;
	pthread_t sig_thread;
	sigset_t set;
	int rc, status = EXIT_FAILURE;

	if (options_load(&opt, argc, argv, "chat-ws", summary, &status) != CHAT_OK)
		goto out;
	log_init("chat-ws", opt.log_level);
	if (log_set_format(opt.log_format) != CHAT_OK) {
		fprintf(stderr, "chat-ws: log_format: '%s' is neither text nor json\n", opt.log_format);
		goto out;
	}
	metrics_init("chat-ws");
	auth_configure(&opt);
	dest_prefixes_use(&opt.dest);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	/* Every thread started from here on leaves these to signal_main. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = wsserver_open(&opt, &srv, &err);
	if (rc != CHAT_OK) {
		log_error("cannot start: %s", err.message);
		goto out;
	}
	if (pthread_create(&sig_thread, NULL, signal_main, srv) != 0) {
		log_error("cannot start the signal thread");
		goto out;
	}
	pthread_detach(sig_thread);
	wsserver_run(srv);
	log_info("stopped");
	status = EXIT_SUCCESS;
out:
	wsserver_close(srv);
	options_free(&opt);
	return status;
}
