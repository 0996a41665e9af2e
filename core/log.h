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
