/*
 * log.h - the one logger: levelled lines on stderr (which lighttpd, Apache
 * and the sidecar's supervisor put in their error logs), prefixed with the
 * program name and pid.  Thread-safe (one write(2) per line).  Parsers never
 * log; the IO shells do.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

typedef enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
} log_level_t;

/* Sets the program name shown on each line and the least severe level
 * logged ("error", "warn", "info", "debug"; anything else means info). */
void log_init(const char *program, const char *level);

/* Logs one line at level (a trailing newline is added). */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
