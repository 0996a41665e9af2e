/* logline.c - one log line rendered, and session tags (see logline.h):
 * pure functions; the writer is proc/log.c. */
#include "config.h"
#include "logline.h"

#include "chat.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int log_format_from_name(const char *name, log_format_t *out)
{
	if (name != NULL && !strcmp(name, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (name != NULL && !strcmp(name, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return CHAT_EINVAL;
	return CHAT_OK;
}

/* A bounded writer: what does not fit is dropped whole (an escape is never
 * cut), and room is kept for what closes the line. */
typedef struct writer {
	char *p;
	size_t len, cap; /* cap excludes the reserve */
	int full;
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
	if (w->full || w->len + n > w->cap) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(writer_t *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Ends a quoted value, cut or not: its quote is in the reserve.  A cut
 * value ends the line (w stays full). */
static void close_quote(writer_t *w)
{
	int cut = w->full;

	w->full = 0;
	w->cap += 1;
	put(w, "\"", 1);
	w->cap -= 1;
	w->full = cut;
}

static int needs_quotes(const char *v)
{
	const unsigned char *p;

	if (*v == '\0')
		return 1;
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
			return 1;
	return 0;
}

/* A text value: bare, or quoted with \" \\ \n \r \t \xHH. */
static void text_value(writer_t *w, const char *v)
{
	const unsigned char *p;
	char esc[8];

	if (!needs_quotes(v)) {
		puts_(w, v);
		return;
	}
	put(w, "\"", 1);
	for (p = (const unsigned char *)v; *p != '\0' && !w->full; p++) {
		switch (*p) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			if (*p < ' ' || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\x%02x", *p);
				put(w, esc, 4);
			} else {
				put(w, (const char *)p, 1);
			}
		}
	}
	close_quote(w);
}

/* A JSON string with its quotes; invalid UTF-8 becomes U+FFFD. */
static void json_value(writer_t *w, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t left = strlen(v), k;
	char esc[8];

	put(w, "\"", 1);
	while (left > 0 && !w->full) {
		switch (*p) {
		case '"':
			put(w, "\\\"", 2);
			k = 1;
			break;
		case '\\':
			put(w, "\\\\", 2);
			k = 1;
			break;
		case '\n':
			put(w, "\\n", 2);
			k = 1;
			break;
		case '\r':
			put(w, "\\r", 2);
			k = 1;
			break;
		case '\t':
			put(w, "\\t", 2);
			k = 1;
			break;
		default:
			if (*p < ' ' || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				put(w, esc, 6);
				k = 1;
			} else if (*p < 0x80) {
				put(w, (const char *)p, 1);
				k = 1;
			} else if ((k = utf8_decode(p, left, NULL)) > 0) {
				put(w, (const char *)p, k);
			} else {
				put(w, "\xef\xbf\xbd", 3);
				k = 1;
			}
		}
		p += k;
		left -= k;
	}
	close_quote(w);
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void field(writer_t *w, log_format_t f, const char *key, const char *value, int first)
{
	/* A field starts only with room for its key and an opening quote:
	 * a value may be cut, never a key. */
	if (w->full || w->len + strlen(key) + 5 > w->cap) {
		w->full = 1;
		return;
	}
	if (f == LOG_FORMAT_JSON) {
		if (!first)
			put(w, ",", 1);
		put(w, "\"", 1);
		puts_(w, key);
		put(w, "\":", 2);
		json_value(w, value);
	} else {
		if (!first)
			put(w, " ", 1);
		puts_(w, key);
		put(w, "=", 1);
		text_value(w, value);
	}
}

size_t log_format_line(char *out, size_t cap, const log_event_t *ev)
{
	/* Kept back for the closing quote of a cut value, "}", the newline
	 * and the NUL. */
	writer_t w = { out, 0, cap - 4, 0 };
	char stamp[96], pid[24];
	struct tm tm;
	time_t secs = (time_t)(ev->wall_ms / 1000);
	size_t i;
	int json = ev->format == LOG_FORMAT_JSON;
	unsigned lv = (unsigned)ev->level < 4 ? (unsigned)ev->level : 2;

	gmtime_r(&secs, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ev->wall_ms % 1000));
	snprintf(pid, sizeof(pid), "%ld", ev->pid);
	if (json) {
		put(&w, "{", 1);
		field(&w, ev->format, "time", stamp, 1);
		field(&w, ev->format, "prog", ev->program, 0);
		put(&w, ",\"pid\":", 7);
		puts_(&w, pid);
		field(&w, ev->format, "level", level_names[lv], 0);
	} else {
		/* "prog[pid]" as syslog writes it, then key=value. */
		puts_(&w, stamp);
		put(&w, " ", 1);
		puts_(&w, ev->program);
		put(&w, "[", 1);
		puts_(&w, pid);
		put(&w, "] ", 2);
		field(&w, ev->format, "level", level_names[lv], 1);
	}
	field(&w, ev->format, "msg", ev->msg != NULL ? ev->msg : "", 0);
	for (i = 0; i < ev->n; i++)
		if (ev->fields[i].value != NULL && !w.full)
			field(&w, ev->format, ev->fields[i].key, ev->fields[i].value, 0);
	w.cap = cap - 1;
	w.full = 0;
	if (json)
		put(&w, "}", 1);
	put(&w, "\n", 1);
	out[w.len] = '\0';
	return w.len;
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
