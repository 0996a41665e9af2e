/* test_doorbell.c - the cross-process doorbell: wake across processes and
 * threads, timeouts, no lost wakeups, many waiters. */
#include "config.h"
#include "doorbell.h"
#include "forkutil.h"
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAKE_TIMEOUT_MS 10000

static char *dir;
static char path[512];

static void setup(void)
{
	dir = testutil_tmpdir("doorbell");
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/chat.bell", dir);
}

static void teardown(void)
{
	testutil_rmtree(dir);
	free(dir);
	dir = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spins (yielding, not sleeping) until n waiters are registered: the waiters
 * are then inside doorbell_wait, so a ring exercises the futex path. */
static int await_waiters(doorbell_t *bell, uint32_t n)
{
	int64_t deadline = now_ms() + WAKE_TIMEOUT_MS;

	while (doorbell_waiters(bell) < n) {
		if (now_ms() > deadline)
			return -1;
		sched_yield();
	}
	return 0;
}

START_TEST(fresh_bell_and_monotonic_seq)
{
	doorbell_t *a, *b;
	chat_error_t err;
	uint32_t w;

	ck_assert_int_eq(doorbell_open(path, &a, &err), CHAT_OK);
	ck_assert_uint_eq(doorbell_seq(a), 0);
	ck_assert_uint_eq(doorbell_waiters(a), 0);
	w = doorbell_snapshot(a);
	doorbell_ring(a, 5);
	doorbell_ring(a, 3); /* an older commit announced late */
	ck_assert_uint_eq(doorbell_seq(a), 5);
	ck_assert_uint_eq(doorbell_snapshot(a), w + 2);
	/* A second mapping of the same file shares the state. */
	ck_assert_int_eq(doorbell_open(path, &b, NULL), CHAT_OK);
	ck_assert_uint_eq(doorbell_seq(b), 5);
	doorbell_ring(b, 9);
	ck_assert_uint_eq(doorbell_seq(a), 9);
	doorbell_close(b);
	doorbell_close(a);
	doorbell_close(NULL);
}
END_TEST

START_TEST(bad_files_refused)
{
	char other[600];
	doorbell_t *bell;
	chat_error_t err;
	int fd;

	snprintf(other, sizeof(other), "%s/not-a-bell", dir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "this is some other file, longer than sixty-four bytes........!",
			       63),
			 63);
	close(fd);
	ck_assert_int_eq(doorbell_open(other, &bell, &err), CHAT_EINVAL);
	ck_assert_ptr_null(bell);
	snprintf(other, sizeof(other), "%s/no/such/dir/bell", dir);
	ck_assert_int_eq(doorbell_open(other, &bell, &err), CHAT_EIO);
	ck_assert_ptr_nonnull(strstr(err.message, "open"));
	ck_assert_int_eq(doorbell_open(dir, &bell, &err), CHAT_EIO); /* a directory */
}
END_TEST

START_TEST(wait_without_ring_times_out)
{
	doorbell_t *bell;
	uint32_t w;
	int64_t t0;

	ck_assert_int_eq(doorbell_open(path, &bell, NULL), CHAT_OK);
	w = doorbell_snapshot(bell);
	ck_assert_int_eq(doorbell_wait(bell, w, 0), CHAT_ETIMEDOUT);
	t0 = now_ms();
	ck_assert_int_eq(doorbell_wait(bell, w, 50), CHAT_ETIMEDOUT);
	ck_assert_int_ge(now_ms() - t0, 50);
	ck_assert_uint_eq(doorbell_waiters(bell), 0);
	doorbell_close(bell);
}
END_TEST

START_TEST(ring_before_wait_is_not_lost)
{
	doorbell_t *bell;
	uint32_t w;
	int64_t t0;

	ck_assert_int_eq(doorbell_open(path, &bell, NULL), CHAT_OK);
	w = doorbell_snapshot(bell);
	doorbell_ring(bell, 1);
	t0 = now_ms();
	ck_assert_int_eq(doorbell_wait(bell, w, WAKE_TIMEOUT_MS), CHAT_OK);
	ck_assert_int_lt(now_ms() - t0, 1000);
	ck_assert_int_eq(doorbell_wait(bell, w, 0), CHAT_OK);
	doorbell_close(bell);
}
END_TEST

/* Child: its own mapping, snapshot, "ready", wait for a ring. */
static int waiter_child(forkset_t *fs, int i, void *ctx)
{
	doorbell_t *bell;
	uint32_t w;
	int rc;

	(void)i;
	(void)ctx;
	if (doorbell_open(path, &bell, NULL) != CHAT_OK)
		return 2;
	w = doorbell_snapshot(bell);
	forkset_ready(fs);
	rc = doorbell_wait(bell, w, WAKE_TIMEOUT_MS);
	if (rc == CHAT_OK && doorbell_seq(bell) != 42)
		rc = 3;
	doorbell_close(bell);
	return rc == CHAT_OK ? 0 : rc == CHAT_ETIMEDOUT ? 4 : 5;
}

static void wake_children(int n)
{
	int codes[FORKSET_MAX];
	doorbell_t *bell;
	forkset_t fs;
	int i;

	ck_assert_int_eq(doorbell_open(path, &bell, NULL), CHAT_OK);
	ck_assert_int_eq(forkset_start(&fs, n, waiter_child, NULL), 0);
	ck_assert_int_eq(forkset_wait_ready(&fs), 0);
	ck_assert_int_eq(await_waiters(bell, (uint32_t)n), 0);
	doorbell_ring(bell, 42);
	ck_assert_int_eq(forkset_join(&fs, codes), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(codes[i], 0);
	ck_assert_uint_eq(doorbell_waiters(bell), 0);
	doorbell_close(bell);
}

START_TEST(waiter_in_other_process_wakes)
{
	wake_children(1);
}
END_TEST

START_TEST(many_waiting_processes_all_wake)
{
	wake_children(8);
}
END_TEST

static void *waiter_thread(void *arg)
{
	doorbell_t *bell = arg;
	uint32_t w = doorbell_snapshot(bell);

	return (void *)(intptr_t)doorbell_wait(bell, w, WAKE_TIMEOUT_MS);
}

START_TEST(waiting_threads_wake)
{
	pthread_t t[4];
	doorbell_t *bell;
	void *res;
	size_t i;

	ck_assert_int_eq(doorbell_open(path, &bell, NULL), CHAT_OK);
	for (i = 0; i < CHAT_ARRAY_LEN(t); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, waiter_thread, bell), 0);
	/* A thread that snapshots after the ring would wait in vain, so ring
	 * only once all are registered. */
	ck_assert_int_eq(await_waiters(bell, CHAT_ARRAY_LEN(t)), 0);
	doorbell_ring(bell, 7);
	for (i = 0; i < CHAT_ARRAY_LEN(t); i++) {
		ck_assert_int_eq(pthread_join(t[i], &res), 0);
		ck_assert_int_eq((int)(intptr_t)res, CHAT_OK);
	}
	doorbell_close(bell);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("doorbell");
	TCase *tc = tcase_create("doorbell");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fresh_bell_and_monotonic_seq);
	tcase_add_test(tc, bad_files_refused);
	tcase_add_test(tc, wait_without_ring_times_out);
	tcase_add_test(tc, ring_before_wait_is_not_lost);
	tcase_add_test(tc, waiter_in_other_process_wakes);
	tcase_add_test(tc, many_waiting_processes_all_wake);
	tcase_add_test(tc, waiting_threads_wake);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
