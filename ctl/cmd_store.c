/*
 * cmd_store.c - chatctl backup, restore and check: copies of chat.db and
 * the history (docs/backup.md), their integrity, and the repair that
 * relays what the history lacks before moving chat.db aside.
 */
#include "config.h"
#include "ctl.h"
#include "admin.h"
#include "clock.h"
#include "log.h"
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The files of a backup directory (docs/backup.md). */
typedef struct backup_files {
	char db[4096];   /* DIR/chat.db */
	char hist[4096]; /* DIR/history.db, the copy of a sqlite: store */
	char dump[4096]; /* DIR/mongodump, where mongodump writes */
} backup_files_t;

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
	return snprintf(buf, size, "%s/%s", dir, name) < (int)size ? 0 : -1;
}

/* Names the files of a backup in dir: CTL_EX_DONE, or CTL_EX_USAGE
 * (reported) when a name does not fit. */
static int backup_files(ctl_t *c, const char *dir, backup_files_t *f)
{
	if (path_in(f->db, sizeof(f->db), dir, "chat.db") ||
	    path_in(f->hist, sizeof(f->hist), dir, "history.db") ||
	    path_in(f->dump, sizeof(f->dump), dir, "mongodump"))
		return ctl_fail(c, CTL_EX_USAGE, "the directory name is too long");
	return CTL_EX_DONE;
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

int ctl_backup(ctl_t *c, const char *dir)
{
	backup_files_t f;
	char uri[4200];
	const char *sf = ctl_store_file(c), *mongo = "not needed";
	int rc;

	if ((rc = backup_files(c, dir, &f)) != CTL_EX_DONE)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ctl_fail(c, CTL_EX_FAILED, "cannot create %s: %s", dir, strerror(errno));
	/* chat.db first: the history copied after it holds every message
	 * its relay cursor says was copied (docs/backup.md). */
	rc = admin_copy_db(c->opt.db_path, f.db, 0, &c->err);
	if (rc == CHAT_OK && sf != NULL)
		rc = admin_copy_db(sf, f.hist, 0, &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, rc == CHAT_EEXIST ? CTL_EX_USAGE : CTL_EX_FAILED, "%s%s",
				c->err.message,
				rc == CHAT_EEXIST ? ": back up into an empty directory" : "");
	if (sf == NULL) {
		char *argv[] = { "mongodump", "--quiet", uri, "--out", f.dump, NULL };

		snprintf(uri, sizeof(uri), "--uri=%s", c->opt.store_uri);
		rc = run_tool(argv);
		if (rc < 0)
			return ctl_fail(c, CTL_EX_FAILED, "mongodump failed");
		mongo = rc ? "dumped" : "run mongodump yourself";
		if (!rc)
			fprintf(stderr,
				"chatctl: MongoDB history: run now (mongodump is not installed here):\n"
				"  mongodump --uri='%s' --out='%s'\n",
				c->opt.store_uri, f.dump);
	}
	if (c->json) {
		ctl_jraw(c, "{");
		ctl_jtext(c, "done", "backup");
		ctl_jtext(c, "chat_db", f.db);
		ctl_jtext(c, "history", sf != NULL ? f.hist : f.dump);
		ctl_jtext(c, "mongodump", mongo);
		ctl_jraw(c, "}");
	} else {
		printf("backup: %s -> %s\n", c->opt.db_path, f.db);
		printf("backup: %s -> %s (%s)\n", c->opt.store_uri, sf != NULL ? f.hist : f.dump,
		       sf != NULL ? "sqlite" : mongo);
	}
	return CTL_EX_DONE;
}

/* Refuses (CTL_EX_RUNNING) when a program of the stack holds a lease. */
static int check_stopped(ctl_t *c, int force)
{
	char owner[CHATDB_ID_MAX + 1];
	int running = 0;

	if (admin_stack_running(c->opt.db_path, c->now_ms, &running, owner, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (running && !force)
		return ctl_fail(c, CTL_EX_RUNNING,
				"the stack is running (%s holds a lease of %s): stop it first, or "
				"--force",
				owner, c->opt.db_path);
	return CTL_EX_DONE;
}

int ctl_restore(ctl_t *c, const char *dir, int force)
{
	backup_files_t f;
	const char *sf = ctl_store_file(c);
	struct stat sb;
	int rc;

	if ((rc = backup_files(c, dir, &f)) != CTL_EX_DONE)
		return rc;
	if (stat(f.db, &sb) != 0)
		return ctl_fail(c, CTL_EX_NOTFOUND, "no backup in %s (no chat.db)", dir);
	if (sf != NULL && stat(f.hist, &sb) != 0)
		return ctl_fail(c, CTL_EX_NOTFOUND, "no history.db in %s for the store %s", dir,
				c->opt.store_uri);
	if ((rc = check_stopped(c, force)) != CTL_EX_DONE)
		return rc;
	/* Through SQLite, so an old -wal next to the target cannot be
	 * replayed over the restored pages. */
	rc = admin_copy_db(f.db, c->opt.db_path, 1, &c->err);
	if (rc == CHAT_OK && sf != NULL)
		rc = admin_copy_db(f.hist, sf, 1, &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (sf == NULL)
		fprintf(stderr,
			"chatctl: now restore the MongoDB history:\n"
			"  mongorestore --drop --uri='%s' '%s'\n",
			c->opt.store_uri, f.dump);
	if (c->json) {
		ctl_jraw(c, "{");
		ctl_jtext(c, "done", "restore");
		ctl_jtext(c, "chat_db", c->opt.db_path);
		ctl_jtext(c, "history", sf != NULL ? sf : c->opt.store_uri);
		ctl_jraw(c, "}");
	} else {
		printf("restore: %s -> %s\n", f.db, c->opt.db_path);
		if (sf != NULL)
			printf("restore: %s -> %s\n", f.hist, sf);
	}
	return CTL_EX_DONE;
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
			ctl_jraw(k->c, ",");
		ctl_jraw(k->c, "{");
		ctl_jtext(k->c, "file", k->file);
		ctl_jtext(k->c, "problem", p);
		ctl_jraw(k->c, "}");
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
			return ctl_fail(c, CTL_EX_FAILED, "cannot move %s to %s: %s", from, to,
					strerror(errno));
	}
	return CTL_EX_DONE;
}

int ctl_check(ctl_t *c, int repair, int force)
{
	check_ctx_t k = { c, NULL, 0 };
	const char *sf = ctl_store_file(c), *action = "none";
	int db_bad, store_bad = 0, rc;
	int64_t left = -1, max_id = 0, max_guest = 0;
	char moved[4200] = "";

	if (repair && (rc = check_stopped(c, force)) != CTL_EX_DONE)
		return rc;
	if (c->json)
		ctl_jraw(c, "{\"problems\":[");
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
		rc = ctl_open_db(c);
		if (rc == CTL_EX_DONE && (c->store != NULL || ctl_open_store(c) == CTL_EX_DONE) &&
		    relay_all(c, force, &left) == CHAT_OK && left == 0) {
			chatdb_close(c->db);
			c->db = NULL;
			if ((rc = move_aside(c, moved, sizeof(moved))) != CTL_EX_DONE)
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
		ctl_jraw(c, "]");
		ctl_jkey(c, "chat_db");
		ctl_jstr(c, db_bad ? "bad" : "ok");
		ctl_jkey(c, "store");
		ctl_jstr(c, store_bad ? "bad" : "ok");
		ctl_jtext(c, "repair", action);
		if (moved[0] != '\0')
			ctl_jtext(c, "moved_to", moved);
		ctl_jraw(c, "}");
	} else {
		printf("chat.db: %s\nstore: %s\n", db_bad ? "NOT sound" : "ok",
		       store_bad ? "NOT sound" : "ok");
		if (repair)
			printf("repair: %s%s%s\n", action, moved[0] ? ": " : "", moved);
	}
	return db_bad || store_bad ? CTL_EX_PROBLEMS : CTL_EX_DONE;
}
