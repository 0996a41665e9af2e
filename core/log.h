/*
 * log.h - the one logger: one line per event on stderr (which lighttpd,
 * Apache, systemd and the sidecar's supervisor put in their logs), with a
 * time, the process (program[pid]), a level, the message and key=value
 * fields, including the session and user the calling thread serves when it
 * set them (log_context).  Two formats (option log_format):
 *
 *   text  2026-01-02T03:04:05.678Z chat.fcgi[123] level=warn msg="relay: the store failed" session=c:#89abcdef user=alice
 *   json  {"time":"2026-01-02T03:04:05.678Z","prog":"chat.fcgi","pid":123,"level":"warn","msg":"relay: the store failed","session":"c:#89abcdef","user":"alice"}
 *
 * Text values are quoted when they hold a space, '=', '"', '\' or a
 * control character (escaped \" \\ \n \r \t, others \xHH), so every event
 * is one line whatever a message holds; JSON strings are escaped as JSON
 * wants (invalid UTF-8 becomes U+FFFD).  Thread-safe (one write(2) per
 * line).  Parsers never log; the IO shells do.  Sessions are named by
 * log_sid(), never by their id; tokens and passwords are never logged.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

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

/* Sets the program name shown on each line and the least severe level
 * logged ("error", "warn", "info", "debug"; anything else means info). */
void log_init(const char *program, const char *level);

/* Sets the format: "text" or "json".  Returns 0, or CHAT_EINVAL for any
 * other name (the format is left as it was). */
int log_set_format(const char *name);

/* Names the session (its key, shown as log_sid() shows it) and the user
 * the calling thread serves until the next call; NULL leaves one out.
 * log_context(NULL, NULL) clears both. */
void log_context(const char *session_key, const char *user);

/* Logs one line at level (fmt gives the message; no newline needed). */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs one line with fields (n of them) after the message and before the
 * thread's context fields. */
void log_fields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Longest line written, newline included; longer values are cut (the line
 * stays well-formed). */
#define LOG_LINE_MAX 2048

/* One event, for log_format_line(). */
typedef struct log_event {
	log_format_t format;
	int64_t wall_ms;         /* ms since the epoch */
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
