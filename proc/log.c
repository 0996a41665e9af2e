/* log.c - the one logger (see log.h): the process's level, format and
 * program name, the thread's context, and the write to stderr. */
#include "config.h"
#include "log.h"

#include "chat.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_program = "chat";
static log_level_t log_threshold = LOG_LEVEL_INFO;
static log_format_t log_format = LOG_FORMAT_TEXT;

/* Longest user name a context holds; longer ones (a session's may be
 * CHAT_PRINCIPAL_MAX) are cut in log lines. */
#define LOG_USER_MAX 64

/* Longest session key a context holds (SockJS ids are shorter). */
#define LOG_KEY_MAX CHAT_ID_MAX

/* Set for every request and every chat-ws callback, read only when a line
 * is written: so it copies, and the tag is made when needed. */
static _Thread_local struct {
	char key[LOG_KEY_MAX + 1];   /* "" when none */
	char user[LOG_USER_MAX + 1]; /* "" when none */
} log_ctx;

/* Copies s (NULL: "") into out of size cap, cut to fit. */
static void copy_cut(char *out, size_t cap, const char *s)
{
	size_t n = s != NULL ? strnlen(s, cap - 1) : 0;

	memcpy(out, s != NULL ? s : "", n);
	out[n] = '\0';
}

void log_init(const char *program, const char *level)
{
	log_program = program;
	if (level == NULL || !strcmp(level, "info"))
		log_threshold = LOG_LEVEL_INFO;
	else if (!strcmp(level, "error"))
		log_threshold = LOG_LEVEL_ERROR;
	else if (!strcmp(level, "warn"))
		log_threshold = LOG_LEVEL_WARN;
	else if (!strcmp(level, "debug"))
		log_threshold = LOG_LEVEL_DEBUG;
	else
		log_threshold = LOG_LEVEL_INFO;
}

int log_set_format(const char *name)
{
	return log_format_from_name(name, &log_format);
}

void log_context(const char *session_key, const char *user)
{
	copy_cut(log_ctx.key, sizeof(log_ctx.key), session_key);
	copy_cut(log_ctx.user, sizeof(log_ctx.user), user);
}

static void log_vfields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt,
			va_list ap) __attribute__((format(printf, 4, 0)));

static void log_vfields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt,
			va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX], sid[LOG_SID_LEN];
	log_field_t all[16];
	int64_t now;
	log_event_t ev;
	size_t k = 0, i;

	if (level > log_threshold)
		return;
	now = chat_wall_ms();
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	for (i = 0; i < n && k < CHAT_ARRAY_LEN(all) - 2; i++)
		all[k++] = fields[i];
	if (log_ctx.key[0] != '\0')
		all[k++] = (log_field_t){ "session", log_sid(sid, log_ctx.key) };
	if (log_ctx.user[0] != '\0')
		all[k++] = (log_field_t){ "user", log_ctx.user };
	ev = (log_event_t){ log_format, now, log_program, (long)getpid(), level, msg, all, k };
	n = log_format_line(line, sizeof(line), &ev);
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vfields(level, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vfields(level, fields, n, fmt, ap);
	va_end(ap);
}
