/*
 * doorbell.h - the cross-process doorbell: how a process that committed an
 * outbox row wakes every process and thread waiting for new rows, without
 * anyone polling (a futex word in a small file every process maps; Linux
 * only).  Snapshot first, then look for work, then wait on the snapshot:
 * docs/protocol.md#the-doorbell.
 *
 * Threads: a doorbell_t may be shared by any number of threads (ring, wait,
 * snapshot and seq are lock-free); open/close are not concurrent with use.
 * A mapping survives fork(): a child may use the parent's doorbell_t.
 */
#ifndef CHAT_DOORBELL_H
#define CHAT_DOORBELL_H

#include "chat.h"

typedef struct doorbell doorbell_t;

/* Opens (creating it if missing) the doorbell file at path and maps it.
 * On success *out owns the mapping; free it with doorbell_close().  A file
 * that exists with another layout fails with CHAT_EINVAL; open/mmap failures
 * with CHAT_EIO; err (may be NULL) gets the detail. */
CHAT_MUST_CHECK int doorbell_open(const char *path, doorbell_t **out, chat_error_t *err);

/* Unmaps and frees.  NULL-safe.  Must not race with waits on the same bell. */
void doorbell_close(doorbell_t *bell);

/* Announces that seq is committed: raises the shared seq to seq (it never
 * goes down, so rings from several processes may arrive out of order), bumps
 * the futex word and, only if someone waits, wakes all waiters (one
 * FUTEX_WAKE).  Never blocks. */
void doorbell_ring(doorbell_t *bell, uint64_t seq);

/* The current futex word: pass it to doorbell_wait() later. */
uint32_t doorbell_snapshot(const doorbell_t *bell);

/* The highest seq announced by doorbell_ring() so far (0 at first).  A hint:
 * the database is the truth, this only says whether looking is worthwhile. */
uint64_t doorbell_seq(const doorbell_t *bell);

/* Waits until the word differs from seen (a ring happened since that
 * snapshot).  Returns CHAT_OK at once if it already differs, CHAT_OK after a
 * ring, CHAT_ETIMEDOUT when timeout_ms elapsed first.  timeout_ms < 0 waits
 * without limit; 0 only checks.  Signals (EINTR) and spurious futex wakeups
 * are absorbed (the wait resumes with the remaining time), so CHAT_OK always
 * means the word moved.  CHAT_EIO on an unexpected futex error. */
CHAT_MUST_CHECK int doorbell_wait(doorbell_t *bell, uint32_t seen, int timeout_ms);

/* How many waiters are registered right now (for tests and monitoring).
 * A hint: a waiter killed inside doorbell_wait() stays counted, which only
 * costs later rings one FUTEX_WAKE system call each. */
uint32_t doorbell_waiters(const doorbell_t *bell);

#endif
