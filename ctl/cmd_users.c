/*
 * cmd_users.c - chatctl users: list, add, passwd, ban, banned, unban and
 * delete; the passwords are read from stdin.
 */
#include "config.h"
#include "ctl.h"
#include "auth.h"
#include "broker.h"
#include "chatmsg.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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
		return ctl_fail(c, CTL_EX_USAGE, "no password on standard input");
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == size - 1)
		return ctl_fail(c, CTL_EX_USAGE, "the password is longer than %zu bytes", size - 2);
	pw[n] = '\0';
	return CTL_EX_DONE;
}

int ctl_users_list(ctl_t *c)
{
	store_user_list_t l = { 0 };
	int64_t after = 0;
	char when[32];
	int rc, ex = CTL_EX_DONE;
	size_t i;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE || (rc = ctl_open_store(c)) != CTL_EX_DONE)
		return rc;
	if (c->json)
		ctl_jraw(c, "{\"users\":[");
	for (;;) {
		if (store_user_list(c->store, after, STORE_PAGE_MAX, &l, &c->err) != CHAT_OK) {
			ex = ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
			break;
		}
		for (i = 0; i < l.count; i++) {
			chat_error_t e = { 0 };
			int banned = 0, brc;

			if ((brc = auth_banned(c->db, l.items[i].name, &banned, &e)) != CHAT_OK)
				fprintf(stderr, "chatctl: %s: ban check: %s\n", l.items[i].name,
					chat_error_reason(&e, brc));
			if (c->json) {
				ctl_jitem(c);
				ctl_jtext(c, "name", l.items[i].name);
				ctl_jint(c, "id", l.items[i].id);
				ctl_jint(c, "created_ms", l.items[i].created_ms);
				ctl_jkey(c, "banned");
				ctl_jraw(c, banned ? "true}" : "false}");
			} else {
				printf("%s\t%s%s\n", l.items[i].name,
				       ctl_ms_text(l.items[i].created_ms, when, sizeof(when)),
				       banned ? "\tbanned" : "");
			}
			after = l.items[i].id;
		}
		if (l.count < STORE_PAGE_MAX)
			break;
	}
	store_user_list_free(&l);
	if (c->json && ex == CTL_EX_DONE)
		ctl_jraw(c, "]}");
	return ex;
}

int ctl_users_add(ctl_t *c, const char *name)
{
	char pw[STORE_PASSWORD_HASH_MAX + 2];
	store_user_t u;
	int rc;

	if ((rc = read_password(c, pw, sizeof(pw))) != CTL_EX_DONE ||
	    (rc = ctl_open_store(c)) != CTL_EX_DONE)
		return rc;
	rc = auth_register(c->store, (chat_slice_t){ name, strlen(name) },
			   (chat_slice_t){ pw, strlen(pw) }, c->now_ms, &u, &c->err);
	memset(pw, 0, sizeof(pw));
	if (rc == CHAT_EEXIST)
		return ctl_fail(c, CTL_EX_FAILED, "%s is taken", name);
	if (rc != CHAT_OK)
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	ctl_done_json(c, "added", u.name);
	return CTL_EX_DONE;
}

/* Looks a user up in the store: CTL_EX_DONE with *u, or the exit code. */
static int find_user(ctl_t *c, const char *name, store_user_t *u)
{
	int rc;

	if ((rc = ctl_open_store(c)) != CTL_EX_DONE)
		return rc;
	rc = store_user_get_by_name(c->store, name, u, &c->err);
	if (rc == CHAT_ENOTFOUND)
		return ctl_fail(c, CTL_EX_NOTFOUND, "no user %s", name);
	if (rc != CHAT_OK)
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	return CTL_EX_DONE;
}

/* Revokes name's tokens and ends the sessions they opened. */
static int log_out(ctl_t *c, const char *name, int64_t *ended)
{
	int rc = auth_token_revoke_user(c->db, name, NULL, &c->err);

	if (rc == CHAT_OK)
		rc = broker_token_sweep(c->db, &c->opt, c->now_ms, ended, &c->err);
	return rc;
}

int ctl_users_passwd(ctl_t *c, const char *name)
{
	char pw[STORE_PASSWORD_HASH_MAX + 2], hash[STORE_PASSWORD_HASH_MAX + 1];
	store_user_t u;
	int rc;

	if ((rc = read_password(c, pw, sizeof(pw))) != CTL_EX_DONE ||
	    (rc = ctl_open_db(c)) != CTL_EX_DONE || (rc = find_user(c, name, &u)) != CTL_EX_DONE)
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
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	ctl_done_json(c, "password changed", u.name);
	return CTL_EX_DONE;
}

int ctl_users_ban(ctl_t *c, const char *name, const char *reason)
{
	int64_t ended = 0;
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	/* The ban first: a CONNECT committed after it is refused, one
	 * committed before it is ended here. */
	rc = auth_ban(c->db, name, reason, c->now_ms, &c->err);
	if (rc == CHAT_OK)
		rc = broker_end_user(c->db, &c->opt, name, BROKER_ERROR_BANNED, c->now_ms, &ended,
				     &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	if (c->json) {
		ctl_jraw(c, "{");
		ctl_jtext(c, "done", "banned");
		ctl_jtext(c, "name", name);
		ctl_jint(c, "sessions_ended", ended);
		ctl_jraw(c, "}");
	} else {
		printf("banned: %s (%lld sessions ended)\n", name, (long long)ended);
	}
	return CTL_EX_DONE;
}

static int ban_row(void *ctx, const char *name, const char *reason, int64_t created_ms)
{
	ctl_t *c = ctx;
	char when[32];

	if (c->json) {
		ctl_jitem(c);
		ctl_jtext(c, "name", name);
		ctl_jtext(c, "reason", reason);
		ctl_jint(c, "created_ms", created_ms);
		ctl_jraw(c, "}");
	} else {
		printf("%s\t%s\t%s\n", name, ctl_ms_text(created_ms, when, sizeof(when)),
		       reason[0] ? reason : "-");
	}
	return 0;
}

int ctl_users_banned(ctl_t *c)
{
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	if (c->json)
		ctl_jraw(c, "{\"bans\":[");
	if (auth_ban_list(c->db, ban_row, c, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (c->json)
		ctl_jraw(c, "]}");
	return CTL_EX_DONE;
}

int ctl_users_unban(ctl_t *c, const char *name)
{
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	rc = auth_unban(c->db, name, &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	ctl_done_json(c, "unbanned", name);
	return CTL_EX_DONE;
}

int ctl_users_delete(ctl_t *c, const char *name)
{
	store_user_t u;
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE || (rc = find_user(c, name, &u)) != CTL_EX_DONE)
		return rc;
	rc = store_user_delete(c->store, u.id, &c->err);
	if (rc == CHAT_OK)
		rc = log_out(c, u.name, NULL);
	if (rc == CHAT_OK)
		rc = broker_end_user(c->db, &c->opt, u.name, BROKER_ERROR_DELETED, c->now_ms, NULL,
				     &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, ctl_code_of(rc), "%s", c->err.message);
	ctl_done_json(c, "deleted", u.name);
	return CTL_EX_DONE;
}
