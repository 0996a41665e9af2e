/*
 * main.c - chat-ws: the WebSocket sidecar behind lighttpd or Apache.
 * Wires options, logging and signals to the server (server.c); everything
 * else lives in libchat.
 *
 * The front server proxies /PREFIX/SERVER/SESSION/websocket and
 * /PREFIX/websocket upgrades to --ws_listen:--ws_port (loopback); conf/serve.sh
 * starts it with the same chat.conf as chat.fcgi (CHAT_CONFIG).  SIGTERM
 * or SIGINT closes every socket with 1001 and exits.
 *
 * --daemon (with the pidfile option, e.g. --pidfile FILE) detaches it
 * from the terminal once it listens; when the PID file is locked by a
 * chat-ws that runs, the start does nothing and exits 0 (a crontab line
 * keeps it running on a host without a service manager).
 */
#include "config.h"
#include "log.h"
#include "server.h"
#include "start.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* --daemon without a value: taken out of argv (the option table's
 * options all take one).  Returns 1 when it was there. */
static int take_daemon_flag(int *argc, char **argv)
{
	int i, j, found = 0;

	for (i = j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--daemon"))
			found = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return found;
}

/* Locks the PID file (kept open, and locked, for the life of the process).
 * Returns the fd, -1 on an error (logged), or -2 when a running chat-ws
 * holds the lock. */
static int lock_pidfile(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	char pid[32] = "";
	ssize_t n;

	if (fd < 0) {
		log_error("cannot open the PID file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		log_error("cannot lock the PID file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	n = pread(fd, pid, sizeof(pid) - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	/* Debug only: cron runs this every few minutes into the log. */
	log_debug("already running (pid %s, %s): nothing to do", pid[0] ? pid : "?", path);
	close(fd);
	return -2;
}

/* Forks; the parent waits until the child says it listens (a byte on the
 * pipe) or exits, and exits with 0 or 1.  In the child, *ready is the pipe
 * to write that byte to.  Returns 0 in the child, -1 when fork failed. */
static int detach(int *ready)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	close(p[0]);
	*ready = p[1];
	if (setsid() < 0)
		log_warn("setsid: %s", strerror(errno));
	return 0;
}

/* The detached child listens: write its PID, tell the parent, and let go
 * of the terminal (stdin; stdout and stderr stay where the caller sent
 * them: the log). */
static void daemon_ready(int pidfd, int ready)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid()), fd;

	if (pidfd >= 0 && (ftruncate(pidfd, 0) != 0 || pwrite(pidfd, pid, (size_t)n, 0) != n))
		log_warn("cannot write the PID file: %s", strerror(errno));
	if (ready >= 0) {
		if (write(ready, "r", 1) != 1)
			log_warn("cannot tell the starting process that it listens");
		close(ready);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		(void)dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	chat_options_t opt;
	chat_error_t err = { 0 };
	wsserver_t *srv = NULL;
	pthread_t sig_thread;
	sigset_t set;
	int rc, status = EXIT_FAILURE, daemonize = take_daemon_flag(&argc, argv);
	int pidfd = -1, ready = -1;

	if (start_load(&opt, argc, argv, "chat-ws", summary, &status) != CHAT_OK)
		goto out;
	/* Before any thread: the lock first, so that two starts racing from
	 * cron cannot both go on. */
	if (opt.pidfile[0] != '\0') {
		pidfd = lock_pidfile(opt.pidfile);
		if (pidfd == -2)
			status = EXIT_SUCCESS;
		if (pidfd < 0)
			goto out;
	}
	if (daemonize && detach(&ready) != 0) {
		log_error("cannot fork: %s", strerror(errno));
		goto out;
	}
	if (start_configure(&opt, "chat-ws") != CHAT_OK)
		goto out;
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
	if (pidfd >= 0 || ready >= 0)
		daemon_ready(pidfd, ready);
	ready = -1;
	wsserver_run(srv);
	log_info("stopped");
	status = EXIT_SUCCESS;
out:
	wsserver_close(srv);
	if (pidfd >= 0) {
		/* Emptied, not removed: removing would let a start racing with
		 * this exit lock a new file while another start locks this one. */
		if (ftruncate(pidfd, 0) != 0) {
			/* nothing more to do: the lock goes with the process */
		}
		close(pidfd);
	}
	if (ready >= 0)
		close(ready); /* the waiting parent exits 1 */
	options_free(&opt);
	return status;
}
