/* log.c - the one logger (see log.h). */
#include "config.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "chat";
static log_level_t log_threshold = LOG_LEVEL_INFO;

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

void log_msg(log_level_t level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level > log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, log_program, (long)getpid(), names[level]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

const char *log_sid(char out[LOG_SID_LEN], const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const char *colon, *p;
	size_t tag;

	if (key == NULL) {
		snprintf(out, LOG_SID_LEN, "-");
		return out;
	}
	colon = strchr(key, ':');
	tag = colon != NULL && colon - key < 2 ? (size_t)(colon - key) + 1 : 0;
	for (p = key + tag; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, LOG_SID_LEN, "%.*s#%08x", (int)tag, key, (unsigned)h);
	return out;
}
