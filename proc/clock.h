/*
 * clock.h - the process's clocks, read in one place: the wall clock for
 * times stored in chat.db (which other processes compare) and the monotonic
 * clock for timers.  core/ reads no clock (its rules take "now" as an
 * argument, core/heartbeat.h); the IO layers call these.
 */
#ifndef CHAT_CLOCK_H
#define CHAT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of the wall clock (CLOCK_REALTIME) and of the monotonic
 * clock (CLOCK_MONOTONIC). */
int64_t chat_wall_ms(void);
int64_t chat_mono_ms(void);

/* Nanoseconds of the monotonic clock, for a relative timeout finer than a
 * millisecond (a futex wait). */
int64_t chat_mono_ns(void);

/* *out = now on clock plus ms (ms >= 0): a deadline for
 * pthread_cond_timedwait on a condition variable of that clock. */
void chat_deadline(clockid_t clock, int64_t ms, struct timespec *out);

#endif
