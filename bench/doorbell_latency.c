/*
 * doorbell_latency.c - how long a doorbell_ring() in one process takes to
 * wake a doorbell_wait() in another.
 *
 * Two processes, two doorbells: the child arms itself (snapshot "ping",
 * ring "pong") and sleeps on "ping"; the parent waits for "pong", spins until
 * the child is registered as a waiter and asleep in the kernel (state S in
 * /proc/PID/stat), stamps the time into shared memory and rings "ping"; the
 * child stamps its wakeup.  So each sample is a full futex wakeup.  Prints one line:
 *   doorbell wakeup across processes: median X us, p99 Y us, max Z us (N wakeups)
 * Usage: doorbell_latency [-n COUNT]   (default 10000)
 */
#include "config.h"
#include "doorbell.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

struct shared {
	int64_t t_ring; /* CLOCK_MONOTONIC ns of the current ring (atomic) */
	int failed;     /* the child saw a timeout */
	int64_t lat[];  /* ns from ring to wakeup, per round */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the process whose /proc/PID/stat is open on fd is asleep ('S').
 * Without /proc (fd < 0) it says yes: the waiter count alone then decides. */
static int sleeping(int fd)
{
	char buf[256], *p;
	ssize_t n;

	if (fd < 0)
		return 1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may contain anything */
	return p != NULL && p[1] == ' ' && p[2] == 'S';
}

static int child(doorbell_t *ping, doorbell_t *pong, struct shared *sh, long n)
{
	uint32_t w;
	long i;

	for (i = 0; i < n; i++) {
		w = doorbell_snapshot(ping);
		doorbell_ring(pong, (uint64_t)i);
		if (doorbell_wait(ping, w, WAIT_MS) != CHAT_OK) {
			sh->failed = 1;
			return 1;
		}
		sh->lat[i] = now_ns() - __atomic_load_n(&sh->t_ring, __ATOMIC_SEQ_CST);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/chat-bench-XXXXXX", p1[64], p2[64], statpath[64];
	doorbell_t *ping = NULL, *pong = NULL;
	struct shared *sh = MAP_FAILED;
	size_t shsize = 0;
	chat_error_t err;
	int status, opt, statfd, rc = 1;
	long n = 10000, i;
	uint32_t wp;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (n = strtol(optarg, NULL, 10)) < 1 || n > 10000000) {
			fprintf(stderr, "usage: %s [-n COUNT]\n", argv[0]);
			return 2;
		}
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p1, sizeof(p1), "%s/ping.bell", dir);
	snprintf(p2, sizeof(p2), "%s/pong.bell", dir);
	if (doorbell_open(p1, &ping, &err) != CHAT_OK ||
	    doorbell_open(p2, &pong, &err) != CHAT_OK) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	shsize = sizeof(*sh) + (size_t)n * sizeof(int64_t);
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		goto out;
	}
	wp = doorbell_snapshot(pong);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		goto out;
	}
	if (pid == 0)
		_exit(child(ping, pong, sh, n));
	snprintf(statpath, sizeof(statpath), "/proc/%d/stat", (int)pid);
	statfd = open(statpath, O_RDONLY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		if (doorbell_wait(pong, wp, WAIT_MS) != CHAT_OK)
			break;
		wp = doorbell_snapshot(pong);
		/* Ring only once the child sleeps in the kernel: measure a real
		 * wakeup, not a waiter that had not gone to sleep yet. */
		while ((doorbell_waiters(ping) == 0 || !sleeping(statfd)) &&
		       !__atomic_load_n(&sh->failed, __ATOMIC_SEQ_CST))
			;
		__atomic_store_n(&sh->t_ring, now_ns(), __ATOMIC_SEQ_CST);
		doorbell_ring(ping, (uint64_t)i);
	}
	waitpid(pid, &status, 0);
	if (statfd >= 0)
		close(statfd);
	if (i < n || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "doorbell_latency: a wait timed out after %ld rounds\n", i);
		goto out;
	}
	qsort(sh->lat, (size_t)n, sizeof(int64_t), cmp64);
	printf("doorbell wakeup across processes: median %.1f us, p99 %.1f us, max %.1f us "
	       "(%ld wakeups)\n",
	       sh->lat[n / 2] / 1000.0, sh->lat[(n * 99) / 100] / 1000.0, sh->lat[n - 1] / 1000.0,
	       n);
	rc = 0;
out:
	if (sh != MAP_FAILED)
		munmap(sh, shsize);
	doorbell_close(ping);
	doorbell_close(pong);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	return rc;
}
