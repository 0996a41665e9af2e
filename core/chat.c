/* chat.c - status names and error detail shared by every module. */
#include "config.h"
#include "chat.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *chat_strerror(int rc)
{
	switch (rc) {
	case CHAT_OK: return "success";
	case CHAT_EAGAIN: return "need more input";
	case CHAT_EINVAL: return "invalid input";
	case CHAT_ENOMEM: return "out of memory";
	case CHAT_ETOOBIG: return "size limit exceeded";
	case CHAT_ETOOMANY: return "count limit exceeded";
	case CHAT_ENOTFOUND: return "not found";
	case CHAT_EEXIST: return "already exists";
	case CHAT_EIO: return "I/O error";
	case CHAT_EDB: return "database error";
	case CHAT_ETIMEDOUT: return "timed out";
	case CHAT_EBUSY: return "busy";
	case CHAT_EUTF8: return "invalid UTF-8";
	case CHAT_EPROTO: return "protocol error";
	case CHAT_EDENIED: return "denied";
	case CHAT_ECLOSED: return "closed";
	default: return "unknown error";
	}
}

int chat_error_set(chat_error_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int chat_slice_eq(chat_slice_t s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

int chat_array_reserve(void **v, size_t *cap, size_t n, size_t elem, size_t first, size_t max)
{
	size_t want;
	void *p;

	if (max == 0 || max > SIZE_MAX / elem)
		max = SIZE_MAX / elem;
	if (n >= max)
		return CHAT_ETOOMANY;
	if (n < *cap)
		return CHAT_OK;
	want = *cap ? (*cap > max / 2 ? max : *cap * 2) : first;
	if (want > max)
		want = max;
	if (want <= n)
		want = n + 1;
	p = realloc(*v, want * elem);
	if (p == NULL)
		return CHAT_ENOMEM;
	*v = p;
	*cap = want;
	return CHAT_OK;
}

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

const char *chat_error_reason(const chat_error_t *err, int rc)
{
	return err != NULL && err->message[0] != '\0' ? err->message : chat_strerror(rc);
}
