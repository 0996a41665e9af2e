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
 * line).  Parsers never log; the IO shells do.  The line itself is
 * rendered by core/logline.h (pure).  Sessions are named by
 * log_sid(), never by their id; tokens and passwords are never logged.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

#include "logline.h"

#include <stddef.h>

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

#endif
