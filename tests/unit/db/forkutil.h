/*
 * forkutil.h - running test code in several child processes, sequenced by
 * pipes (never by sleeping): each child may say "ready" and may wait for a
 * common "go" (the parent closing a pipe: every child sees EOF at once).
 * Children exit with _exit() so that neither Check nor LeakSanitizer runs
 * its exit-time work in them; their status is their result (0 = pass).
 * Header-only (static functions) for the tests in tests/unit/db/.
 */
#ifndef CHAT_FORKUTIL_H
#define CHAT_FORKUTIL_H

#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKSET_MAX 32

typedef struct forkset {
	int n; /* children started */
	pid_t pid[FORKSET_MAX];
	int ready[2]; /* children -> parent: one byte each */
	int go[2];    /* parent closes [1]: children read EOF */
} forkset_t;

/* In a child: tells the parent this child is ready. */
static inline void forkset_ready(forkset_t *fs)
{
	char c = 'r';

	while (write(fs->ready[1], &c, 1) < 0 && errno == EINTR)
		;
}

/* In a child: blocks until the parent calls forkset_go(). */
static inline void forkset_await_go(forkset_t *fs)
{
	char c;

	while (read(fs->go[0], &c, 1) != 0 && errno == EINTR)
		;
}

/* Starts n children, each running fn(fs, index, ctx) and exiting with its
 * return value.  Returns 0, or -1 if pipe/fork failed. */
static inline int forkset_start(forkset_t *fs, int n, int (*fn)(forkset_t *, int, void *),
				void *ctx)
{
	int i;

	fs->n = 0;
	if (n > FORKSET_MAX || pipe(fs->ready) != 0)
		return -1;
	if (pipe(fs->go) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			close(fs->ready[0]);
			close(fs->go[1]);
			_exit(fn(fs, i, ctx));
		}
		fs->pid[fs->n++] = pid;
	}
	/* Only children write "ready" and read "go": if they all die, the
	 * parent's reads see EOF instead of hanging. */
	close(fs->ready[1]);
	close(fs->go[0]);
	return 0;
}

/* In the parent: waits until every child called forkset_ready(). */
static inline int forkset_wait_ready(forkset_t *fs)
{
	int got = 0;
	char c;

	while (got < fs->n) {
		ssize_t r = read(fs->ready[0], &c, 1);

		if (r == 1)
			got++;
		else if (r == 0 || errno != EINTR)
			return -1;
	}
	return 0;
}

/* In the parent: releases every child blocked in forkset_await_go(). */
static inline void forkset_go(forkset_t *fs)
{
	if (fs->go[1] >= 0)
		close(fs->go[1]);
	fs->go[1] = -1;
}

/* In the parent: reaps every child, storing exit codes in codes[] (may be
 * NULL; -1 for a child killed by a signal).  Returns how many exited 0. */
static inline int forkset_join(forkset_t *fs, int *codes)
{
	int i, status, ok = 0;

	forkset_go(fs);
	for (i = 0; i < fs->n; i++) {
		int code = -1;

		while (waitpid(fs->pid[i], &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		if (code == 0)
			ok++;
		if (codes != NULL)
			codes[i] = code;
	}
	close(fs->ready[0]);
	return ok;
}

#endif
