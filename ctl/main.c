/*
 * main.c - chatctl, the host's admin command: reads and changes the state
 * of a running stack through the same libchat the servers use (chat.db,
 * the store), prints text or, with --json, one JSON document per call.
 * The commands, their output and exit codes are in ctl/chatctl.1.
 */
#include "config.h"
#include "admin.h"
#include "auth.h"
#include "broker.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "optload.h"
#include "relay.h"
#include "store.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Exit codes (chatctl.1, EXIT STATUS). */
enum {
	EX_DONE = 0,     /* done; check: no problem */
	EX_FAILED = 1,   /* the command failed (database, store, file) */
	EX_USAGE = 2,    /* bad command line or configuration */
	EX_PROBLEMS = 3, /* check found problems (and --repair did not fix all) */
	EX_NOTFOUND = 4, /* no such user, room or session */
	EX_RUNNING = 5   /* restore/repair refused: the stack is running */
};

static const char usage_text[] =
	"Usage: chatctl [-c FILE] [--json] [--OPTION=VALUE ...] COMMAND [ARGS]\n"
	"The chat server's admin command (man chatctl).\n\n"
	"Commands:\n"
	"  status                     sessions, outbox, relay, store and the metrics\n"
	"  metrics                    the Prometheus text GET /api/metrics serves\n"
	"  users list                 registered users (and whether banned)\n"
	"  users add NAME             register NAME; the password is read from stdin\n"
	"  users passwd NAME          set NAME's password (stdin); logs NAME out\n"
	"  users ban NAME [REASON]    refuse NAME's logins and end their sessions\n"
	"  users banned               the bans, with their reasons\n"
	"  users unban NAME           lift the ban\n"
	"  users delete NAME          delete NAME from the store; logs NAME out\n"
	"  rooms list                 live rooms\n"
	"  rooms delete NAME          delete a room (its history stays)\n"
	"  sessions list [USER]       sessions, newest first (at most 1000)\n"
	"  sessions kill ID           end a session (STOMP ERROR, then close)\n"
	"  backup DIR                 consistent online copy of chat.db and the history\n"
	"  restore DIR [--force]      put a backup back (the stack must be stopped)\n"
	"  check [--repair]           integrity of chat.db and the store\n\n"
	"Options:\n"
	"  -c FILE, --config FILE     the configuration the servers run with\n"
	"  --json                     one JSON document on stdout\n"
	"  --OPTION=VALUE             any server option (chat.fcgi --help), e.g. --db_path\n"
	"Exit status: 0 done, 1 failed, 2 usage, 3 check found problems, 4 not found,\n"
	"5 refused because the stack is running.\n";

typedef struct ctl {
	chat_options_t opt;
	int json;
	chatdb_t *db;
	doorbell_t *bell;
	store_t *store;
	chat_error_t err;
	chat_buf_t out; /* the --json document being built */
	int64_t now_ms;
	int nitems; /* items written in the current JSON array */
} ctl_t;

/* ---- output ------------------------------------------------------------ */

static void jraw(ctl_t *c, const char *s)
{
	chat_buf_puts(&c->out, s);
}

static void jstr(ctl_t *c, const char *s)
{
	json_encode_string(&c->out, s, strlen(s));
}

/* "key": for the next value, with the comma the object needs. */
static void jkey(ctl_t *c, const char *key)
{
	size_t n = c->out.len;

	if (n > 0 && c->out.data[n - 1] != '{' && c->out.data[n - 1] != '[')
		jraw(c, ",");
	jstr(c, key);
	jraw(c, ":");
}

static void jint(ctl_t *c, const char *key, int64_t v)
{
	jkey(c, key);
	chat_buf_printf(&c->out, "%lld", (long long)v);
}

static void jtext(ctl_t *c, const char *key, const char *v)
{
	jkey(c, key);
	jstr(c, v);
}

/* Starts an object in an array (with its comma). */
static void jitem(ctl_t *c)
{
	if (c->nitems++ > 0)
		jraw(c, ",");
	jraw(c, "{");
}

static int fail(ctl_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports an error (stderr; in the JSON document as "error") and returns
 * the exit code to use. */
static int fail(ctl_t *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "chatctl: %s\n", msg);
	if (c->json) {
		chat_buf_reset(&c->out);
		jraw(c, "{");
		jtext(c, "error", msg);
		jint(c, "exit", code);
		jraw(c, "}");
	}
	return code;
}

/* The exit code for a libchat status (not found, or failed). */
static int code_of(int rc)
{
	return rc == CHAT_ENOTFOUND                                          ? EX_NOTFOUND
	       : rc == CHAT_EINVAL || rc == CHAT_ETOOBIG || rc == CHAT_EUTF8 ? EX_USAGE
									     : EX_FAILED;
}

static const char *ms_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- opening what a command needs ---------------------------------------- */

static int open_db(ctl_t *c)
{
	struct stat sb;
	int rc;

	if (stat(c->opt.db_path, &sb) != 0)
		return fail(c, EX_FAILED, "no chat.db at %s (is db_path right? give -c CONFIG)",
			    c->opt.db_path);
	rc = chatdb_open(c->opt.db_path, 0, &c->db, &c->err);
	if (rc != CHAT_OK)
		return fail(c, EX_FAILED, "cannot open %s: %s", c->opt.db_path, c->err.message);
	/* Ring the running processes' doorbell after changes, so the
	 * ERRORs and notices reach their clients at once. */
	if (stat(c->opt.bell_path, &sb) == 0 &&
	    doorbell_open(c->opt.bell_path, &c->bell, &c->err) == CHAT_OK)
		chatdb_set_doorbell(c->db, c->bell);
	return EX_DONE;
}

static int open_store(ctl_t *c)
{
	int rc = store_open(c->opt.store_uri, &c->store, &c->err);

	if (rc != CHAT_OK)
		return fail(c, EX_FAILED, "cannot open the store %s: %s", c->opt.store_uri,
			    c->err.message);
	return EX_DONE;
}

/* Reads a password from the first line of stdin; on a terminal it asks
 * and does not echo it. */
static int read_password(ctl_t *c, char *pw, size_t size)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	char *got;
	size_t n;

	if (tty) {
		fprintf(stderr, "password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	got = fgets(pw, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (got == NULL)
		return fail(c, EX_USAGE, "no password on standard input");
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == size - 1)
		return fail(c, EX_USAGE, "the password is longer than %zu bytes", size - 2);
	pw[n] = '\0';
	return EX_DONE;
}

/* ---- status -------------------------------------------------------------- */

/* The scrape GET /api/metrics serves (db/metrics.h: every process's
 * counters summed in chat.db) into out. */
static int render_metrics(ctl_t *c, chat_buf_t *out)
{
	chat_buf_init(out, 4 << 20);
	if (metrics_render_prometheus(c->db, c->now_ms, out, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "metrics: %s", c->err.message);
	return EX_DONE;
}

/* Hands each sample line of a Prometheus text scrape (name{labels} and
 * value, split at the last space) to fn. */
static void each_sample(const chat_buf_t *m,
			void (*fn)(ctl_t *c, const char *name, size_t nlen, const char *value,
				   size_t vlen),
			ctl_t *c)
{
	const char *p = m->data, *end = m->data + m->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;

		if (nl == NULL)
			nl = end;
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			;
		if (*p != '#' && sp > p + 1)
			fn(c, p, (size_t)(sp - 1 - p), sp, (size_t)(nl - sp));
		p = nl + 1;
	}
}

static void sample_text(ctl_t *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
	(void)c;
	printf("  %-58.*s %.*s\n", (int)nlen, name, (int)vlen, value);
}

static void sample_json(ctl_t *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t n = c->out.len;

	if (n > 0 && c->out.data[n - 1] != '{')
		jraw(c, ",");
	json_encode_string(&c->out, name, nlen);
	jraw(c, ":");
	/* Prometheus values are numbers, or NaN / +Inf, which JSON lacks. */
	if (vlen > 0 && (value[0] == '-' || (value[0] >= '0' && value[0] <= '9')))
		chat_buf_append(&c->out, value, vlen);
	else
		jraw(c, "null");
}

/* chatctl metrics: the scrape itself, for node_exporter's textfile
 * collector or a look by eye. */
static int cmd_metrics(ctl_t *c)
{
	chat_buf_t m;
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	if ((rc = render_metrics(c, &m)) == EX_DONE) {
		if (c->json) {
			jraw(c, "{\"metrics\":{");
			each_sample(&m, sample_json, c);
			jraw(c, "}}");
		} else {
			fwrite(m.data, 1, m.len, stdout);
		}
	}
	chat_buf_free(&m);
	return rc;
}

/* What cmd_status() found out about the durable store. */
typedef struct status_store {
	const char *state; /* "up" or "down" */
	char error[256];   /* why it is down, "" when up */
	int64_t max_id;    /* the highest message id it holds */
} status_store_t;

/* chatctl status --json: s, the store and the metrics samples m. */
static void status_json(ctl_t *c, const admin_status_t *s, const status_store_t *st,
			const chat_buf_t *m)
{
	jraw(c, "{");
	jint(c, "schema_version", s->schema_version);
	jkey(c, "sessions");
	jraw(c, "{");
	jint(c, "open", s->sessions_open);
	jint(c, "closing", s->sessions_closing);
	jint(c, "closed", s->sessions_closed);
	jint(c, "websocket", s->sessions_websocket);
	jint(c, "http", s->sessions_http);
	jint(c, "idle", s->sessions_idle);
	jraw(c, "}");
	jint(c, "users_online", s->users_online);
	jint(c, "subscriptions", s->subscriptions);
	jkey(c, "outbox");
	jraw(c, "{");
	jint(c, "rows", s->outbox_rows);
	jint(c, "last_seq", s->outbox_last_seq);
	jint(c, "unread_rows", s->unread_rows);
	jint(c, "oldest_unread_age_ms", s->oldest_unread_age_ms);
	jraw(c, "}");
	jkey(c, "relay");
	jraw(c, "{");
	jint(c, "cursor", s->relay_cursor);
	jint(c, "lag_rows", s->relay_lag_rows);
	jint(c, "lag_ms", s->relay_lag_ms);
	jtext(c, "lease_owner", s->relay_owner);
	jraw(c, "}");
	jkey(c, "store");
	jraw(c, "{");
	jtext(c, "uri_scheme", strncmp(c->opt.store_uri, "sqlite:", 7) == 0 ? "sqlite" : "mongodb");
	jtext(c, "state", st->state);
	if (st->error[0] != '\0')
		jtext(c, "error", st->error);
	jint(c, "max_message_id", st->max_id);
	jraw(c, "}");
	jint(c, "rooms", s->rooms);
	jint(c, "bans", s->bans);
	jint(c, "tokens", s->tokens);
	jkey(c, "metrics");
	jraw(c, "{");
	each_sample(m, sample_json, c);
	jraw(c, "}}");
}

/* chatctl status: the same as status_json(), for people. */
static void status_text(ctl_t *c, const admin_status_t *s, const status_store_t *st,
			const chat_buf_t *m)
{
	printf("chat.db            %s (schema %d)\n", c->opt.db_path, s->schema_version);
	printf("sessions           %lld open, %lld closing, %lld closed\n",
	       (long long)s->sessions_open, (long long)s->sessions_closing,
	       (long long)s->sessions_closed);
	printf("  held by          %lld websocket, %lld http, %lld idle\n",
	       (long long)s->sessions_websocket, (long long)s->sessions_http,
	       (long long)s->sessions_idle);
	printf("users online       %lld\n", (long long)s->users_online);
	printf("subscriptions      %lld\n", (long long)s->subscriptions);
	printf("outbox             %lld rows, last seq %lld\n", (long long)s->outbox_rows,
	       (long long)s->outbox_last_seq);
	printf("  unread           %lld rows, oldest %lld ms\n", (long long)s->unread_rows,
	       (long long)s->oldest_unread_age_ms);
	printf("relay              cursor %lld, lag %lld rows, %lld ms%s%s\n",
	       (long long)s->relay_cursor, (long long)s->relay_lag_rows, (long long)s->relay_lag_ms,
	       s->relay_owner[0] ? ", run by " : "", s->relay_owner);
	printf("store              %s %s%s%s\n", c->opt.store_uri, st->state,
	       st->error[0] ? ": " : "", st->error);
	printf("rooms              %lld\n", (long long)s->rooms);
	printf("bans               %lld\n", (long long)s->bans);
	printf("login tokens       %lld\n", (long long)s->tokens);
	printf("metrics (all processes, as GET /api/metrics serves them):\n");
	each_sample(m, sample_text, c);
}

static int cmd_status(ctl_t *c)
{
	admin_status_t s;
	status_store_t st = { "up", "", 0 };
	chat_buf_t m;
	int64_t max_guest = 0;
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	if (admin_status(c->db, c->now_ms, &s, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if ((rc = render_metrics(c, &m)) != EX_DONE) {
		chat_buf_free(&m);
		return rc;
	}
	if (store_open(c->opt.store_uri, &c->store, &c->err) != CHAT_OK ||
	    store_msg_max(c->store, NULL, &st.max_id, &max_guest, &c->err) != CHAT_OK) {
		st.state = "down";
		snprintf(st.error, sizeof(st.error), "%s", c->err.message);
	}
	if (c->json)
		status_json(c, &s, &st, &m);
	else
		status_text(c, &s, &st, &m);
	chat_buf_free(&m);
	return EX_DONE;
}

/* ---- users --------------------------------------------------------------- */

static int cmd_users_list(ctl_t *c)
{
	store_user_list_t l = { 0 };
	int64_t after = 0;
	char when[32];
	int rc, ex = EX_DONE;
	size_t i;

	if ((rc = open_db(c)) != EX_DONE || (rc = open_store(c)) != EX_DONE)
		return rc;
	if (c->json)
		jraw(c, "{\"users\":[");
	for (;;) {
		if (store_user_list(c->store, after, STORE_PAGE_MAX, &l, &c->err) != CHAT_OK) {
			ex = fail(c, EX_FAILED, "%s", c->err.message);
			break;
		}
		for (i = 0; i < l.count; i++) {
			chat_error_t e = { 0 };
			int banned = 0, brc;

			if ((brc = auth_banned(c->db, l.items[i].name, &banned, &e)) != CHAT_OK)
				fprintf(stderr, "chatctl: %s: ban check: %s\n", l.items[i].name,
					chat_error_reason(&e, brc));
			if (c->json) {
				jitem(c);
				jtext(c, "name", l.items[i].name);
				jint(c, "id", l.items[i].id);
				jint(c, "created_ms", l.items[i].created_ms);
				jkey(c, "banned");
				jraw(c, banned ? "true}" : "false}");
			} else {
				printf("%s\t%s%s\n", l.items[i].name,
				       ms_text(l.items[i].created_ms, when, sizeof(when)),
				       banned ? "\tbanned" : "");
			}
			after = l.items[i].id;
		}
		if (l.count < STORE_PAGE_MAX)
			break;
	}
	store_user_list_free(&l);
	if (c->json && ex == EX_DONE)
		jraw(c, "]}");
	return ex;
}

static void done_json(ctl_t *c, const char *what, const char *name)
{
	if (c->json) {
		jraw(c, "{");
		jtext(c, "done", what);
		jtext(c, "name", name);
		jraw(c, "}");
	} else {
		printf("%s: %s\n", what, name);
	}
}

static int cmd_users_add(ctl_t *c, const char *name)
{
	char pw[STORE_PASSWORD_HASH_MAX + 2];
	store_user_t u;
	int rc;

	if ((rc = read_password(c, pw, sizeof(pw))) != EX_DONE || (rc = open_store(c)) != EX_DONE)
		return rc;
	rc = auth_register(c->store, (chat_slice_t){ name, strlen(name) },
			   (chat_slice_t){ pw, strlen(pw) }, c->now_ms, &u, &c->err);
	memset(pw, 0, sizeof(pw));
	if (rc == CHAT_EEXIST)
		return fail(c, EX_FAILED, "%s is taken", name);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	done_json(c, "added", u.name);
	return EX_DONE;
}

/* Looks a user up in the store: EX_DONE with *u, or the exit code. */
static int find_user(ctl_t *c, const char *name, store_user_t *u)
{
	int rc;

	if ((rc = open_store(c)) != EX_DONE)
		return rc;
	rc = store_user_get_by_name(c->store, name, u, &c->err);
	if (rc == CHAT_ENOTFOUND)
		return fail(c, EX_NOTFOUND, "no user %s", name);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	return EX_DONE;
}

/* Revokes name's tokens and ends the sessions they opened. */
static int log_out(ctl_t *c, const char *name, int64_t *ended)
{
	int rc = auth_token_revoke_user(c->db, name, NULL, &c->err);

	if (rc == CHAT_OK)
		rc = broker_token_sweep(c->db, &c->opt, c->now_ms, ended, &c->err);
	return rc;
}

static int cmd_users_passwd(ctl_t *c, const char *name)
{
	char pw[STORE_PASSWORD_HASH_MAX + 2], hash[STORE_PASSWORD_HASH_MAX + 1];
	store_user_t u;
	int rc;

	if ((rc = read_password(c, pw, sizeof(pw))) != EX_DONE || (rc = open_db(c)) != EX_DONE ||
	    (rc = find_user(c, name, &u)) != EX_DONE)
		return rc;
	rc = chatmsg_check_password((chat_slice_t){ pw, strlen(pw) }, &c->err);
	if (rc == CHAT_OK)
		rc = auth_hash_password(pw, strlen(pw), hash, &c->err);
	memset(pw, 0, sizeof(pw));
	if (rc == CHAT_OK)
		rc = store_user_set_password(c->store, u.id, hash, &c->err);
	if (rc == CHAT_OK)
		rc = log_out(c, u.name, NULL);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	done_json(c, "password changed", u.name);
	return EX_DONE;
}

static int cmd_users_ban(ctl_t *c, const char *name, const char *reason)
{
	int64_t ended = 0;
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	/* The ban first: a CONNECT committed after it is refused, one
	 * committed before it is ended here. */
	rc = auth_ban(c->db, name, reason, c->now_ms, &c->err);
	if (rc == CHAT_OK)
		rc = broker_end_user(c->db, &c->opt, name, BROKER_ERROR_BANNED, c->now_ms, &ended,
				     &c->err);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	if (c->json) {
		jraw(c, "{");
		jtext(c, "done", "banned");
		jtext(c, "name", name);
		jint(c, "sessions_ended", ended);
		jraw(c, "}");
	} else {
		printf("banned: %s (%lld sessions ended)\n", name, (long long)ended);
	}
	return EX_DONE;
}

static int ban_row(void *ctx, const char *name, const char *reason, int64_t created_ms)
{
	ctl_t *c = ctx;
	char when[32];

	if (c->json) {
		jitem(c);
		jtext(c, "name", name);
		jtext(c, "reason", reason);
		jint(c, "created_ms", created_ms);
		jraw(c, "}");
	} else {
		printf("%s\t%s\t%s\n", name, ms_text(created_ms, when, sizeof(when)),
		       reason[0] ? reason : "-");
	}
	return 0;
}

static int cmd_users_banned(ctl_t *c)
{
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	if (c->json)
		jraw(c, "{\"bans\":[");
	if (auth_ban_list(c->db, ban_row, c, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (c->json)
		jraw(c, "]}");
	return EX_DONE;
}

static int cmd_users_unban(ctl_t *c, const char *name)
{
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	rc = auth_unban(c->db, name, &c->err);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	done_json(c, "unbanned", name);
	return EX_DONE;
}

static int cmd_users_delete(ctl_t *c, const char *name)
{
	store_user_t u;
	int rc;

	if ((rc = open_db(c)) != EX_DONE || (rc = find_user(c, name, &u)) != EX_DONE)
		return rc;
	rc = store_user_delete(c->store, u.id, &c->err);
	if (rc == CHAT_OK)
		rc = log_out(c, u.name, NULL);
	if (rc == CHAT_OK)
		rc = broker_end_user(c->db, &c->opt, u.name, BROKER_ERROR_DELETED, c->now_ms, NULL,
				     &c->err);
	if (rc != CHAT_OK)
		return fail(c, code_of(rc), "%s", c->err.message);
	done_json(c, "deleted", u.name);
	return EX_DONE;
}

/* ---- rooms --------------------------------------------------------------- */

static int room_row(void *ctx, const chatroom_t *r)
{
	ctl_t *c = ctx;
	char when[32];

	if (c->json) {
		jitem(c);
		jtext(c, "name", r->name);
		jint(c, "id", r->id);
		jtext(c, "creator", r->creator);
		jint(c, "created_ms", r->created_ms);
		jkey(c, "stored");
		jraw(c, r->stored ? "true}" : "false}");
	} else {
		printf("%s\t%s\t%s%s\n", r->name, r->creator[0] ? r->creator : "-",
		       ms_text(r->created_ms, when, sizeof(when)),
		       r->stored ? "" : "\tnot in the store yet");
	}
	return CHAT_OK;
}

static int cmd_rooms_list(ctl_t *c)
{
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	if (c->json)
		jraw(c, "{\"rooms\":[");
	if (chatroom_list(c->db, 0, room_row, c, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (c->json)
		jraw(c, "]}");
	return EX_DONE;
}

static int cmd_rooms_delete(ctl_t *c, const char *name)
{
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	rc = chatroom_delete(c->db, &c->opt, (chat_slice_t){ name, strlen(name) }, NULL, c->now_ms,
			     NULL, &c->err);
	if (rc == CHAT_ENOTFOUND)
		return fail(c, EX_NOTFOUND, "no room %s", name);
	if (rc != CHAT_OK)
		return fail(c, rc == CHAT_EDENIED ? EX_USAGE : EX_FAILED, "%s", c->err.message);
	done_json(c, "deleted", name);
	return EX_DONE;
}

/* ---- sessions ------------------------------------------------------------ */

static const char *state_text(session_state_t s)
{
	return s == SESSION_OPEN ? "open" : s == SESSION_CLOSING ? "closing" : "closed";
}

static int session_row(void *ctx, const admin_session_t *a)
{
	ctl_t *c = ctx;
	const session_info_t *i = &a->info;
	char when[32];

	if (c->json) {
		jitem(c);
		jtext(c, "id", i->id);
		jtext(c, "state", state_text(i->state));
		jtext(c, "user", i->user_name);
		jtext(c, "held_by", a->held_by);
		jtext(c, "peer", i->peer);
		jint(c, "created_ms", i->created_ms);
		jint(c, "last_seen_ms", i->last_seen_ms);
		jint(c, "cursor", i->cursor);
		jint(c, "subscriptions", a->subscriptions);
		jraw(c, "}");
	} else {
		printf("%s\t%s\t%s\t%s\t%s\t%lld subs\t%s\n", i->id, state_text(i->state),
		       i->has_user ? i->user_name : "-", a->held_by, i->peer[0] ? i->peer : "-",
		       (long long)a->subscriptions, ms_text(i->last_seen_ms, when, sizeof(when)));
	}
	return 0;
}

static int cmd_sessions_list(ctl_t *c, const char *user)
{
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	if (c->json)
		jraw(c, "{\"sessions\":[");
	if (admin_sessions(c->db, user, c->now_ms, 1000, session_row, c, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (c->json)
		jraw(c, "]}");
	return EX_DONE;
}

static int cmd_sessions_kill(ctl_t *c, const char *id)
{
	int64_t n = 0;
	int rc;

	if ((rc = open_db(c)) != EX_DONE)
		return rc;
	rc = broker_end_session(c->db, &c->opt, id, c->now_ms, &n, &c->err);
	if (rc != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (n == 0)
		return fail(c, EX_NOTFOUND, "no open session %s", id);
	done_json(c, "ended", id);
	return EX_DONE;
}

/* ---- backup, restore, check ---------------------------------------------- */

/* The file a "sqlite:PATH" store lives in, or NULL for MongoDB. */
static const char *store_file(const ctl_t *c)
{
	return strncmp(c->opt.store_uri, "sqlite:", 7) == 0 ? c->opt.store_uri + 7 : NULL;
}

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
	return snprintf(buf, size, "%s/%s", dir, name) < (int)size ? 0 : -1;
}

/* Runs mongodump or mongorestore (argv) when it is installed: 1 when it
 * ran and succeeded, 0 when it is not installed, -1 when it failed. */
static int run_tool(char *const argv[])
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : -1;
}

static int cmd_backup(ctl_t *c, const char *dir)
{
	char db[4096], hist[4096], dump[4096], uri[4200];
	const char *sf = store_file(c), *mongo = "not needed";
	int rc;

	if (path_in(db, sizeof(db), dir, "chat.db") ||
	    path_in(hist, sizeof(hist), dir, "history.db") ||
	    path_in(dump, sizeof(dump), dir, "mongodump"))
		return fail(c, EX_USAGE, "the directory name is too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(c, EX_FAILED, "cannot create %s: %s", dir, strerror(errno));
	/* chat.db first: the history copied after it holds every message
	 * its relay cursor says was copied (docs/backup.md). */
	rc = admin_copy_db(c->opt.db_path, db, 0, &c->err);
	if (rc == CHAT_OK && sf != NULL)
		rc = admin_copy_db(sf, hist, 0, &c->err);
	if (rc != CHAT_OK)
		return fail(c, rc == CHAT_EEXIST ? EX_USAGE : EX_FAILED, "%s%s", c->err.message,
			    rc == CHAT_EEXIST ? ": back up into an empty directory" : "");
	if (sf == NULL) {
		char *argv[] = { "mongodump", "--quiet", uri, "--out", dump, NULL };

		snprintf(uri, sizeof(uri), "--uri=%s", c->opt.store_uri);
		rc = run_tool(argv);
		if (rc < 0)
			return fail(c, EX_FAILED, "mongodump failed");
		mongo = rc ? "dumped" : "run mongodump yourself";
		if (!rc)
			fprintf(stderr,
				"chatctl: MongoDB history: run now (mongodump is not installed here):\n"
				"  mongodump --uri='%s' --out='%s'\n",
				c->opt.store_uri, dump);
	}
	if (c->json) {
		jraw(c, "{");
		jtext(c, "done", "backup");
		jtext(c, "chat_db", db);
		jtext(c, "history", sf != NULL ? hist : dump);
		jtext(c, "mongodump", mongo);
		jraw(c, "}");
	} else {
		printf("backup: %s -> %s\n", c->opt.db_path, db);
		printf("backup: %s -> %s (%s)\n", c->opt.store_uri, sf != NULL ? hist : dump,
		       sf != NULL ? "sqlite" : mongo);
	}
	return EX_DONE;
}

/* Refuses (EX_RUNNING) when a program of the stack holds a lease. */
static int check_stopped(ctl_t *c, int force)
{
	char owner[CHATDB_ID_MAX + 1];
	int running = 0;

	if (admin_stack_running(c->opt.db_path, c->now_ms, &running, owner, &c->err) != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (running && !force)
		return fail(c, EX_RUNNING,
			    "the stack is running (%s holds a lease of %s): stop it first, or "
			    "--force",
			    owner, c->opt.db_path);
	return EX_DONE;
}

static int cmd_restore(ctl_t *c, const char *dir, int force)
{
	char db[4096], hist[4096], dump[4096];
	const char *sf = store_file(c);
	struct stat sb;
	int rc;

	if (path_in(db, sizeof(db), dir, "chat.db") ||
	    path_in(hist, sizeof(hist), dir, "history.db") ||
	    path_in(dump, sizeof(dump), dir, "mongodump"))
		return fail(c, EX_USAGE, "the directory name is too long");
	if (stat(db, &sb) != 0)
		return fail(c, EX_NOTFOUND, "no backup in %s (no chat.db)", dir);
	if (sf != NULL && stat(hist, &sb) != 0)
		return fail(c, EX_NOTFOUND, "no history.db in %s for the store %s", dir,
			    c->opt.store_uri);
	if ((rc = check_stopped(c, force)) != EX_DONE)
		return rc;
	/* Through SQLite, so an old -wal next to the target cannot be
	 * replayed over the restored pages. */
	rc = admin_copy_db(db, c->opt.db_path, 1, &c->err);
	if (rc == CHAT_OK && sf != NULL)
		rc = admin_copy_db(hist, sf, 1, &c->err);
	if (rc != CHAT_OK)
		return fail(c, EX_FAILED, "%s", c->err.message);
	if (sf == NULL)
		fprintf(stderr,
			"chatctl: now restore the MongoDB history:\n"
			"  mongorestore --drop --uri='%s' '%s'\n",
			c->opt.store_uri, dump);
	if (c->json) {
		jraw(c, "{");
		jtext(c, "done", "restore");
		jtext(c, "chat_db", c->opt.db_path);
		jtext(c, "history", sf != NULL ? sf : c->opt.store_uri);
		jraw(c, "}");
	} else {
		printf("restore: %s -> %s\n", db, c->opt.db_path);
		if (sf != NULL)
			printf("restore: %s -> %s\n", hist, sf);
	}
	return EX_DONE;
}

typedef struct check_ctx {
	ctl_t *c;
	const char *file;
	int nitems; /* problems written to the JSON array */
} check_ctx_t;

static void problem(void *ctx, const char *p)
{
	check_ctx_t *k = ctx;

	if (k->c->json) {
		if (k->nitems++ > 0)
			jraw(k->c, ",");
		jraw(k->c, "{");
		jtext(k->c, "file", k->file);
		jtext(k->c, "problem", p);
		jraw(k->c, "}");
	} else {
		printf("%s: %s\n", k->file, p);
	}
}

/* Checks one SQLite file: its problems count, or -1 when unreadable
 * (reported as a problem too). */
static int check_file(check_ctx_t *k, const char *path)
{
	int n = 0;

	k->file = path;
	if (admin_check_db(path, &n, problem, k, &k->c->err) != CHAT_OK) {
		problem(k, k->c->err.message);
		return -1;
	}
	return n;
}

/* Copies every outbox row the relay has not copied to the store, so that
 * a repair loses nothing receipted.  *left gets the rows still uncopied. */
static int relay_all(ctl_t *c, int force, int64_t *left)
{
	char owner[64];
	int more = 1, rc = CHAT_OK;
	admin_status_t s;

	snprintf(owner, sizeof(owner), "chatctl:%ld", (long)getpid());
	/* --force: the stack is stopped but a killed process's lease may
	 * still look held. */
	if (force)
		rc = admin_break_leases(c->db, &c->err);
	while (rc == CHAT_OK && more)
		rc = relay_run(c->db, c->store, owner, chat_wall_ms(), NULL, &more, &c->err);
	/* Best effort: the lease runs out by itself. */
	if (relay_lease_release(c->db, RELAY_LEASE, owner, NULL) != CHAT_OK)
		log_debug("relay lease not released; it expires");
	if (admin_status(c->db, chat_wall_ms(), &s, rc == CHAT_OK ? &c->err : NULL) == CHAT_OK)
		*left = s.relay_lag_rows;
	return rc;
}

/* Moves chat.db and its -wal and -shm aside (PATH.broken-MS*), so the
 * next start makes a new one that continues above the history. */
static int move_aside(ctl_t *c, char *moved, size_t size)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char from[4200], to[4300];
	size_t i;

	snprintf(moved, size, "%s.broken-%lld", c->opt.db_path, (long long)c->now_ms);
	for (i = 0; i < CHAT_ARRAY_LEN(ext); i++) {
		snprintf(from, sizeof(from), "%s%s", c->opt.db_path, ext[i]);
		snprintf(to, sizeof(to), "%s%s", moved, ext[i]);
		if (rename(from, to) != 0 && errno != ENOENT)
			return fail(c, EX_FAILED, "cannot move %s to %s: %s", from, to,
				    strerror(errno));
	}
	return EX_DONE;
}

static int cmd_check(ctl_t *c, int repair, int force)
{
	check_ctx_t k = { c, NULL, 0 };
	const char *sf = store_file(c), *action = "none";
	int db_bad, store_bad = 0, rc;
	int64_t left = -1, max_id = 0, max_guest = 0;
	char moved[4200] = "";

	if (repair && (rc = check_stopped(c, force)) != EX_DONE)
		return rc;
	if (c->json)
		jraw(c, "{\"problems\":[");
	db_bad = check_file(&k, c->opt.db_path);
	if (sf != NULL) {
		struct stat sb;

		/* No SQLite history yet is no problem: the store makes it. */
		if (stat(sf, &sb) == 0 || errno != ENOENT)
			store_bad = check_file(&k, sf);
	} else if (store_open(c->opt.store_uri, &c->store, &c->err) != CHAT_OK ||
		   store_msg_max(c->store, NULL, &max_id, &max_guest, &c->err) != CHAT_OK) {
		k.file = c->opt.store_uri;
		problem(&k, c->err.message);
		store_bad = 1;
	}
	if (repair && store_bad == 0 && db_bad != 0) {
		/* The receipted messages are in chat.db's outbox: copy what the
		 * history lacks first, and move chat.db aside only when
		 * nothing is left there. */
		rc = open_db(c);
		if (rc == EX_DONE && (c->store != NULL || open_store(c) == EX_DONE) &&
		    relay_all(c, force, &left) == CHAT_OK && left == 0) {
			chatdb_close(c->db);
			c->db = NULL;
			if ((rc = move_aside(c, moved, sizeof(moved))) != EX_DONE)
				return rc;
			action = "relayed every outbox row, moved chat.db aside";
			db_bad = 0;
		} else {
			action = "chat.db kept: rows the history lacks could not be copied "
				 "(try sqlite3 chat.db .recover; docs/backup.md)";
		}
	} else if (repair && store_bad != 0) {
		action = "the store is not sound: restore it (chatctl restore, mongorestore), "
			 "then let the relay copy again (docs/backup.md)";
	}
	if (c->json) {
		jraw(c, "]");
		jkey(c, "chat_db");
		jstr(c, db_bad ? "bad" : "ok");
		jkey(c, "store");
		jstr(c, store_bad ? "bad" : "ok");
		jtext(c, "repair", action);
		if (moved[0] != '\0')
			jtext(c, "moved_to", moved);
		jraw(c, "}");
	} else {
		printf("chat.db: %s\nstore: %s\n", db_bad ? "NOT sound" : "ok",
		       store_bad ? "NOT sound" : "ok");
		if (repair)
			printf("repair: %s%s%s\n", action, moved[0] ? ": " : "", moved);
	}
	return db_bad || store_bad ? EX_PROBLEMS : EX_DONE;
}

/* ---- command line -------------------------------------------------------- */

/* Run as root on a chat.db the services own (User=chat), chatctl becomes
 * that owner first: a -wal, -shm or restored file SQLite creates as root
 * would lock the services out of their own database. */
static int drop_root(ctl_t *c)
{
	struct stat sb;

	if (geteuid() != 0 || stat(c->opt.db_path, &sb) != 0 || sb.st_uid == 0)
		return EX_DONE;
	if (setgroups(0, NULL) != 0 || setgid(sb.st_gid) != 0 || setuid(sb.st_uid) != 0)
		return fail(c, EX_FAILED, "cannot become uid %ld, the owner of %s: %s",
			    (long)sb.st_uid, c->opt.db_path, strerror(errno));
	return EX_DONE;
}

static int dispatch(ctl_t *c, int argc, char **argv)
{
	int force = 0, repair = 0, i, k = 0;
	char *w[4] = { NULL };

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--repair"))
			repair = 1;
		else if (k < 4)
			w[k++] = argv[i];
		else
			return fail(c, EX_USAGE, "too many arguments (see --help)");
	}
	if (k == 1 && !strcmp(w[0], "status"))
		return cmd_status(c);
	if (k == 1 && !strcmp(w[0], "metrics"))
		return cmd_metrics(c);
	if (k == 2 && !strcmp(w[0], "users") && !strcmp(w[1], "list"))
		return cmd_users_list(c);
	if (k == 2 && !strcmp(w[0], "users") && !strcmp(w[1], "banned"))
		return cmd_users_banned(c);
	if (k == 3 && !strcmp(w[0], "users")) {
		if (!strcmp(w[1], "add"))
			return cmd_users_add(c, w[2]);
		if (!strcmp(w[1], "passwd"))
			return cmd_users_passwd(c, w[2]);
		if (!strcmp(w[1], "unban"))
			return cmd_users_unban(c, w[2]);
		if (!strcmp(w[1], "delete"))
			return cmd_users_delete(c, w[2]);
	}
	if ((k == 3 || k == 4) && !strcmp(w[0], "users") && !strcmp(w[1], "ban"))
		return cmd_users_ban(c, w[2], k == 4 ? w[3] : "");
	if (k == 2 && !strcmp(w[0], "rooms") && !strcmp(w[1], "list"))
		return cmd_rooms_list(c);
	if (k == 3 && !strcmp(w[0], "rooms") && !strcmp(w[1], "delete"))
		return cmd_rooms_delete(c, w[2]);
	if ((k == 2 || k == 3) && !strcmp(w[0], "sessions") && !strcmp(w[1], "list"))
		return cmd_sessions_list(c, k == 3 ? w[2] : NULL);
	if (k == 3 && !strcmp(w[0], "sessions") && !strcmp(w[1], "kill"))
		return cmd_sessions_kill(c, w[2]);
	if (k == 2 && !strcmp(w[0], "backup"))
		return cmd_backup(c, w[1]);
	if (k == 2 && !strcmp(w[0], "restore"))
		return cmd_restore(c, w[1], force);
	if (k == 1 && !strcmp(w[0], "check"))
		return cmd_check(c, repair, force);
	return fail(c, EX_USAGE, "unknown command '%s%s%s' (see --help)", k > 0 ? w[0] : "",
		    k > 1 ? " " : "", k > 1 ? w[1] : "");
}

int main(int argc, char **argv)
{
	ctl_t c;
	char **args = NULL;
	int nargs = 1, i, ex = EX_USAGE;

	memset(&c, 0, sizeof(c));
	chat_buf_init(&c.out, 64 << 20);
	if (options_defaults(&c.opt) != CHAT_OK)
		goto out;
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		goto out;
	args[0] = argv[0];
	/* chatctl's own flags, then the servers' options (--name=value,
	 * --config FILE), up to the first word of the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			ex = EX_DONE;
			goto out;
		} else if (!strcmp(argv[i], "--json")) {
			c.json = 1;
		} else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "chatctl: %s needs a file\n", argv[i]);
				goto out;
			}
			args[nargs++] = "--config";
			args[nargs++] = argv[++i];
		} else if (strchr(argv[i], '=') != NULL && !strncmp(argv[i], "--", 2)) {
			args[nargs++] = argv[i];
		} else {
			fprintf(stderr, "chatctl: unknown option %s (see --help)\n", argv[i]);
			goto out;
		}
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		goto out;
	}
	if (options_from_args(&c.opt, nargs, args, &c.err) != CHAT_OK) {
		fprintf(stderr, "chatctl: %s\n", c.err.message);
		goto out;
	}
	/* Quiet libchat's own log lines below warnings unless asked. */
	log_init("chatctl", strcmp(c.opt.log_level, "debug") == 0 ? "debug" : "warn");
	auth_configure(&c.opt);
	if (auth_init() != CHAT_OK) {
		fprintf(stderr, "chatctl: libsodium is unusable\n");
		ex = EX_FAILED;
		goto out;
	}
	if ((ex = drop_root(&c)) != EX_DONE)
		goto out;
	c.now_ms = chat_wall_ms();
	ex = dispatch(&c, argc - i, argv + i);
	if (c.json && c.out.len > 0) {
		fwrite(c.out.data, 1, c.out.len, stdout);
		fputc('\n', stdout);
	}
out:
	chatdb_close(c.db);
	doorbell_close(c.bell);
	store_close(c.store);
	store_global_cleanup();
	chat_buf_free(&c.out);
	options_free(&c.opt);
	free(args);
	return ex;
}
