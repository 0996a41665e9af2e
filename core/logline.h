/*
 * logline.h - what one log line says, rendered (log_format_line), and how
 * lines name a session (log_sid): pure functions, so that the line format
 * is tested and fuzzed without a process.  The logger that writes lines,
 * with the time, the process and the thread's context, is proc/log.h.
 */
#ifndef CHAT_LOGLINE_H
#define CHAT_LOGLINE_H

#include <stddef.h>
#include <stdint.h>

typedef enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
} log_level_t;

typedef enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON
} log_format_t;

/* One key=value field.  key: [a-z0-9_]+ (the caller's constant); value any
 * bytes up to NUL (NULL: the field is left out). */
typedef struct log_field {
	const char *key;
	const char *value;
} log_field_t;

/* The format named name ("text" or "json") into *out.  Returns 0, or
 * CHAT_EINVAL for any other name (*out untouched). */
int log_format_from_name(const char *name, log_format_t *out);

/* Longest line written, newline included; longer values are cut (the line
 * stays well-formed). */
#define LOG_LINE_MAX 2048

/* One event, for log_format_line(). */
typedef struct log_event {
	log_format_t format;
	int64_t wall_ms; /* ms since the epoch */
	const char *program;
	long pid;
	log_level_t level;
	const char *msg;
	const log_field_t *fields; /* n fields; a NULL value is left out */
	size_t n;
} log_event_t;

/* Renders ev as one line, newline included, into out (cap bytes, at least
 * 64): a pure function.  Returns the length written (not counting the NUL
 * it adds). */
size_t log_format_line(char *out, size_t cap, const log_event_t *ev);

/* Bytes of a session tag (log_sid), NUL included. */
#define LOG_SID_LEN 12

/* A session key as log lines name it: its service tag (what precedes the
 * first ':') and a hash of the rest, "c:#89abcdef", never the id itself,
 * which is all another client would need to use the session.  Writes out
 * and returns it; key NULL gives "-". */
const char *log_sid(char out[LOG_SID_LEN], const char *key);

/* log_sid() into a buffer that lives until the end of the enclosing block,
 * for a log call's argument list. */
#define LOG_SID(key) log_sid((char[LOG_SID_LEN]){ 0 }, (key))

#endif
