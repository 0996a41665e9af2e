/*
 * doorbell.c - the cross-process doorbell: a shared mmap'd file with a
 * 64-bit "last committed seq", a futex word and a waiter count.
 *
 * Why no wakeup is lost: a ringer does  word++ ; read waiters  and a waiter
 * does  waiters++ ; read word ; FUTEX_WAIT(word == seen).  All four are
 * sequentially consistent, so either the ringer sees the waiter (and wakes
 * it; a FUTEX_WAIT that starts after the bump fails with EAGAIN because the
 * kernel compares the word) or the waiter sees the bump and does not sleep.
 * The futex is the shared (not _PRIVATE) kind: the kernel keys it by the
 * file's inode and offset, so it works between processes.
 */
#include "config.h"
#include "doorbell.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DOORBELL_MAGIC 0x4c454243u /* "CBEL" little-endian; 0 = fresh file */
#define DOORBELL_VERSION 1u
#define DOORBELL_FILE_SIZE 64

/* The file's layout.  A zero-filled file is a valid fresh doorbell. */
struct doorbell_shm {
	uint32_t magic;   /* DOORBELL_MAGIC once claimed */
	uint32_t version; /* DOORBELL_VERSION */
	uint64_t seq;     /* highest announced seq (atomic) */
	uint32_t word;    /* futex word, +1 per ring (atomic) */
	uint32_t waiters; /* threads inside doorbell_wait (atomic) */
};

_Static_assert(sizeof(struct doorbell_shm) <= DOORBELL_FILE_SIZE, "layout fits");

struct doorbell {
	struct doorbell_shm *shm; /* MAP_SHARED mapping of the file */
};

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

int doorbell_open(const char *path, doorbell_t **out, chat_error_t *err)
{
	doorbell_t *bell = NULL;
	void *map = MAP_FAILED;
	struct stat st;
	uint32_t magic;
	int fd = -1;
	int rc;

	*out = NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = chat_error_set(err, CHAT_EIO, "doorbell %s: open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = chat_error_set(err, CHAT_EIO, "doorbell %s: fstat: %s", path, strerror(errno));
		goto out;
	}
	/* Growing a fresh file is idempotent, so concurrent creators agree; a
	 * file we did not make (bigger, or not a regular file) is refused. */
	if (!S_ISREG(st.st_mode) || st.st_size > DOORBELL_FILE_SIZE) {
		rc = chat_error_set(err, CHAT_EINVAL, "doorbell %s: not a doorbell file", path);
		goto out;
	}
	if (st.st_size < DOORBELL_FILE_SIZE && ftruncate(fd, DOORBELL_FILE_SIZE) != 0) {
		rc = chat_error_set(err, CHAT_EIO, "doorbell %s: ftruncate: %s", path,
				    strerror(errno));
		goto out;
	}
	map = mmap(NULL, DOORBELL_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = chat_error_set(err, CHAT_EIO, "doorbell %s: mmap: %s", path, strerror(errno));
		goto out;
	}
	bell = malloc(sizeof(*bell));
	if (bell == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "doorbell %s: out of memory", path);
		goto out;
	}
	bell->shm = map;
	magic = 0;
	if (!__atomic_compare_exchange_n(&bell->shm->magic, &magic, DOORBELL_MAGIC, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) &&
	    magic != DOORBELL_MAGIC) {
		rc = chat_error_set(err, CHAT_EINVAL, "doorbell %s: bad magic", path);
		goto out;
	}
	magic = 0;
	__atomic_compare_exchange_n(&bell->shm->version, &magic, DOORBELL_VERSION, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&bell->shm->version, __ATOMIC_SEQ_CST) != DOORBELL_VERSION) {
		rc = chat_error_set(err, CHAT_EINVAL, "doorbell %s: unknown version", path);
		goto out;
	}
	*out = bell;
	bell = NULL;
	map = MAP_FAILED;
	rc = CHAT_OK;
out:
	free(bell);
	if (map != MAP_FAILED)
		munmap(map, DOORBELL_FILE_SIZE);
	/* The mapping keeps the file alive; the descriptor is not needed. */
	if (fd >= 0)
		close(fd);
	return rc;
}

void doorbell_close(doorbell_t *bell)
{
	if (bell == NULL)
		return;
	munmap(bell->shm, DOORBELL_FILE_SIZE);
	free(bell);
}

void doorbell_ring(doorbell_t *bell, uint64_t seq)
{
	struct doorbell_shm *s = bell->shm;
	uint64_t cur = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);

	while (cur < seq && !__atomic_compare_exchange_n(&s->seq, &cur, seq, 1, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST))
		;
	__atomic_fetch_add(&s->word, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0)
		futex(&s->word, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t doorbell_snapshot(const doorbell_t *bell)
{
	return __atomic_load_n(&bell->shm->word, __ATOMIC_SEQ_CST);
}

uint64_t doorbell_seq(const doorbell_t *bell)
{
	return __atomic_load_n(&bell->shm->seq, __ATOMIC_SEQ_CST);
}

uint32_t doorbell_waiters(const doorbell_t *bell)
{
	return __atomic_load_n(&bell->shm->waiters, __ATOMIC_SEQ_CST);
}

int doorbell_wait(doorbell_t *bell, uint32_t seen, int timeout_ms)
{
	struct doorbell_shm *s = bell->shm;
	int64_t deadline = 0, left;
	struct timespec ts, *tsp;
	int rc;

	if (__atomic_load_n(&s->word, __ATOMIC_SEQ_CST) != seen)
		return CHAT_OK;
	if (timeout_ms == 0)
		return CHAT_ETIMEDOUT;
	if (timeout_ms > 0)
		deadline = chat_mono_ns() + (int64_t)timeout_ms * 1000000;
	__atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		/* Re-read after registering: see the comment at the top. */
		if (__atomic_load_n(&s->word, __ATOMIC_SEQ_CST) != seen) {
			rc = CHAT_OK;
			break;
		}
		tsp = NULL;
		if (timeout_ms > 0) {
			left = deadline - chat_mono_ns();
			if (left <= 0) {
				rc = CHAT_ETIMEDOUT;
				break;
			}
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		if (futex(&s->word, FUTEX_WAIT, seen, tsp) == 0)
			continue; /* woken, or spuriously: the loop re-reads the word */
		if (errno == EAGAIN || errno == EINTR)
			continue;
		if (errno == ETIMEDOUT) {
			rc = __atomic_load_n(&s->word, __ATOMIC_SEQ_CST) != seen ? CHAT_OK
										 : CHAT_ETIMEDOUT;
			break;
		}
		rc = CHAT_EIO;
		break;
	}
	__atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
	return rc;
}
