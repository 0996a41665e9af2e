/* chat.c - status names and error detail shared by every module. */
#include "config.h"
#include "chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
