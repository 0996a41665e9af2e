/* clock.c - the process's clocks (see clock.h). */
#include "config.h"
#include "clock.h"

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t chat_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t chat_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t chat_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void chat_deadline(clockid_t clock, int64_t ms, struct timespec *out)
{
	clock_gettime(clock, out);
	out->tv_sec += (time_t)(ms / 1000);
	out->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}
