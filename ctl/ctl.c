/*
 * ctl.c - what chatctl's commands share (ctl.h): building the --json
 * document, reporting an error with its exit code, times for people,
 * opening chat.db and the store.
 */
#include "config.h"
#include "ctl.h"
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- output ------------------------------------------------------------ */

void ctl_jraw(ctl_t *c, const char *s)
{
	chat_buf_puts(&c->out, s);
}

void ctl_jstr(ctl_t *c, const char *s)
{
	json_encode_string(&c->out, s, strlen(s));
}

void ctl_jkey(ctl_t *c, const char *key)
{
	size_t n = c->out.len;

	if (n > 0 && c->out.data[n - 1] != '{' && c->out.data[n - 1] != '[')
		ctl_jraw(c, ",");
	ctl_jstr(c, key);
	ctl_jraw(c, ":");
}

void ctl_jint(ctl_t *c, const char *key, int64_t v)
{
	ctl_jkey(c, key);
	chat_buf_printf(&c->out, "%lld", (long long)v);
}

void ctl_jtext(ctl_t *c, const char *key, const char *v)
{
	ctl_jkey(c, key);
	ctl_jstr(c, v);
}

void ctl_jitem(ctl_t *c)
{
	if (c->nitems++ > 0)
		ctl_jraw(c, ",");
	ctl_jraw(c, "{");
}

int ctl_fail(ctl_t *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "chatctl: %s\n", msg);
	if (c->json) {
		chat_buf_reset(&c->out);
		ctl_jraw(c, "{");
		ctl_jtext(c, "error", msg);
		ctl_jint(c, "exit", code);
		ctl_jraw(c, "}");
	}
	return code;
}

int ctl_code_of(int rc)
{
	return rc == CHAT_ENOTFOUND                                          ? CTL_EX_NOTFOUND
	       : rc == CHAT_EINVAL || rc == CHAT_ETOOBIG || rc == CHAT_EUTF8 ? CTL_EX_USAGE
									     : CTL_EX_FAILED;
}

const char *ctl_ms_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void ctl_done_json(ctl_t *c, const char *what, const char *name)
{
	if (c->json) {
		ctl_jraw(c, "{");
		ctl_jtext(c, "done", what);
		ctl_jtext(c, "name", name);
		ctl_jraw(c, "}");
	} else {
		printf("%s: %s\n", what, name);
	}
}

/* ---- opening what a command needs ---------------------------------------- */

int ctl_open_db(ctl_t *c)
{
	struct stat sb;
	int rc;

	if (stat(c->opt.db_path, &sb) != 0)
		return ctl_fail(c, CTL_EX_FAILED,
				"no chat.db at %s (is db_path right? give -c CONFIG)",
				c->opt.db_path);
	rc = chatdb_open(c->opt.db_path, 0, &c->db, &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "cannot open %s: %s", c->opt.db_path,
				c->err.message);
	/* Ring the running processes' doorbell after changes, so the
	 * ERRORs and notices reach their clients at once. */
	if (stat(c->opt.bell_path, &sb) == 0 &&
	    doorbell_open(c->opt.bell_path, &c->bell, &c->err) == CHAT_OK)
		chatdb_set_doorbell(c->db, c->bell);
	return CTL_EX_DONE;
}

int ctl_open_store(ctl_t *c)
{
	int rc = store_open(c->opt.store_uri, &c->store, &c->err);

	if (rc != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "cannot open the store %s: %s", c->opt.store_uri,
				c->err.message);
	return CTL_EX_DONE;
}

const char *ctl_store_file(const ctl_t *c)
{
	return strncmp(c->opt.store_uri, "sqlite:", 7) == 0 ? c->opt.store_uri + 7 : NULL;
}
