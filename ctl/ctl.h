/*
 * ctl.h - what chatctl's command files share: the state of one call
 * (ctl_t), the exit codes, the --json document builder and the error
 * report, opening chat.db and the store, and the commands main.c
 * dispatches to.  Private to ctl/.
 */
#ifndef CTL_CTL_H
#define CTL_CTL_H

#include "chatdb.h"
#include "doorbell.h"
#include "options.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* Exit codes (chatctl.1, EXIT STATUS). */
enum {
	CTL_EX_DONE = 0,     /* done; check: no problem */
	CTL_EX_FAILED = 1,   /* the command failed (database, store, file) */
	CTL_EX_USAGE = 2,    /* bad command line or configuration */
	CTL_EX_PROBLEMS = 3, /* check found problems (and --repair did not fix all) */
	CTL_EX_NOTFOUND = 4, /* no such user, room or session */
	CTL_EX_RUNNING = 5   /* restore/repair refused: the stack is running */
};

/* One call of chatctl: main() fills it and runs one command, then closes
 * what the command opened and writes out the --json document. */
typedef struct ctl {
	chat_options_t opt; /* the servers' options (-c FILE, --OPTION=VALUE) */
	int json;           /* --json: build out instead of printing text */
	chatdb_t *db;       /* chat.db once ctl_open_db() opened it, or NULL */
	doorbell_t *bell;   /* the running servers' doorbell, or NULL */
	store_t *store;     /* the durable store once opened, or NULL */
	chat_error_t err;   /* the detail of the last libchat error */
	chat_buf_t out;     /* the --json document being built */
	int64_t now_ms;     /* the wall clock when the command started */
	int nitems;         /* items written in the current JSON array */
} ctl_t;

/* ---- output (ctl.c) ------------------------------------------------------ */

/* Appends s to the --json document as it is. */
void ctl_jraw(ctl_t *c, const char *s);

/* Appends s to the --json document as a JSON string. */
void ctl_jstr(ctl_t *c, const char *s);

/* "key": for the next value, with the comma the object needs. */
void ctl_jkey(ctl_t *c, const char *key);

/* "key":v and "key":"v", with the comma the object needs. */
void ctl_jint(ctl_t *c, const char *key, int64_t v);
void ctl_jtext(ctl_t *c, const char *key, const char *v);

/* Starts an object in an array (with its comma; c->nitems counts them). */
void ctl_jitem(ctl_t *c);

/* Reports an error (stderr; with --json, the document becomes
 * {"error":...,"exit":code}) and returns code, the exit code to use. */
int ctl_fail(ctl_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The exit code for a libchat status (not found, usage, or failed). */
int ctl_code_of(int rc);

/* ms (wall-clock milliseconds) as an ISO 8601 UTC time in buf, or "-"
 * for none; returns buf or the static "-". */
const char *ctl_ms_text(int64_t ms, char *buf, size_t size);

/* {"done":what,"name":name} with --json, else the line "what: name". */
void ctl_done_json(ctl_t *c, const char *what, const char *name);

/* ---- opening what a command needs (ctl.c) -------------------------------- */

/* Opens chat.db (c->db) and, when the servers run, their doorbell, so
 * that changes reach their clients at once: CTL_EX_DONE or the reported
 * exit code. */
int ctl_open_db(ctl_t *c);

/* Opens the durable store (c->store): CTL_EX_DONE or the reported exit
 * code. */
int ctl_open_store(ctl_t *c);

/* The file a "sqlite:PATH" store lives in (inside c->opt), or NULL for
 * MongoDB. */
const char *ctl_store_file(const ctl_t *c);

/* ---- the commands: each returns the exit code (chatctl.1) ---------------- */

/* cmd_status.c: status, metrics. */
int ctl_status(ctl_t *c);
int ctl_metrics(ctl_t *c);

/* cmd_users.c: users list|add|passwd|ban|banned|unban|delete. */
int ctl_users_list(ctl_t *c);
int ctl_users_add(ctl_t *c, const char *name);
int ctl_users_passwd(ctl_t *c, const char *name);
int ctl_users_ban(ctl_t *c, const char *name, const char *reason);
int ctl_users_banned(ctl_t *c);
int ctl_users_unban(ctl_t *c, const char *name);
int ctl_users_delete(ctl_t *c, const char *name);

/* cmd_rooms.c: rooms list|delete. */
int ctl_rooms_list(ctl_t *c);
int ctl_rooms_delete(ctl_t *c, const char *name);

/* cmd_sessions.c: sessions list [USER], sessions kill ID (user may be NULL). */
int ctl_sessions_list(ctl_t *c, const char *user);
int ctl_sessions_kill(ctl_t *c, const char *id);

/* cmd_store.c: backup DIR, restore DIR [--force], check [--repair] [--force]. */
int ctl_backup(ctl_t *c, const char *dir);
int ctl_restore(ctl_t *c, const char *dir, int force);
int ctl_check(ctl_t *c, int repair, int force);

#endif
