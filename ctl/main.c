/*
 * main.c - chatctl, the host's admin command: reads and changes the state
 * of a running stack through the same libchat the servers use (chat.db,
 * the store), prints text or, with --json, one JSON document per call.
 * The commands, their output and exit codes are in ctl/chatctl.1.
 * This file parses the command line and dispatches; each command family
 * has its file (cmd_status.c, cmd_users.c, cmd_rooms.c, cmd_sessions.c,
 * cmd_store.c) over the helpers of ctl.h.
 */
#include "config.h"
#include "ctl.h"
#include "auth.h"
#include "clock.h"
#include "log.h"
#include "optload.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- command line -------------------------------------------------------- */

/* Run as root on a chat.db the services own (User=chat), chatctl becomes
 * that owner first: a -wal, -shm or restored file SQLite creates as root
 * would lock the services out of their own database. */
static int drop_root(ctl_t *c)
{
	struct stat sb;

	if (geteuid() != 0 || stat(c->opt.db_path, &sb) != 0 || sb.st_uid == 0)
		return CTL_EX_DONE;
	if (setgroups(0, NULL) != 0 || setgid(sb.st_gid) != 0 || setuid(sb.st_uid) != 0)
		return ctl_fail(c, CTL_EX_FAILED, "cannot become uid %ld, the owner of %s: %s",
				(long)sb.st_uid, c->opt.db_path, strerror(errno));
	return CTL_EX_DONE;
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
			return ctl_fail(c, CTL_EX_USAGE, "too many arguments (see --help)");
	}
	if (k == 1 && !strcmp(w[0], "status"))
		return ctl_status(c);
	if (k == 1 && !strcmp(w[0], "metrics"))
		return ctl_metrics(c);
	if (k == 2 && !strcmp(w[0], "users") && !strcmp(w[1], "list"))
		return ctl_users_list(c);
	if (k == 2 && !strcmp(w[0], "users") && !strcmp(w[1], "banned"))
		return ctl_users_banned(c);
	if (k == 3 && !strcmp(w[0], "users")) {
		if (!strcmp(w[1], "add"))
			return ctl_users_add(c, w[2]);
		if (!strcmp(w[1], "passwd"))
			return ctl_users_passwd(c, w[2]);
		if (!strcmp(w[1], "unban"))
			return ctl_users_unban(c, w[2]);
		if (!strcmp(w[1], "delete"))
			return ctl_users_delete(c, w[2]);
	}
	if ((k == 3 || k == 4) && !strcmp(w[0], "users") && !strcmp(w[1], "ban"))
		return ctl_users_ban(c, w[2], k == 4 ? w[3] : "");
	if (k == 2 && !strcmp(w[0], "rooms") && !strcmp(w[1], "list"))
		return ctl_rooms_list(c);
	if (k == 3 && !strcmp(w[0], "rooms") && !strcmp(w[1], "delete"))
		return ctl_rooms_delete(c, w[2]);
	if ((k == 2 || k == 3) && !strcmp(w[0], "sessions") && !strcmp(w[1], "list"))
		return ctl_sessions_list(c, k == 3 ? w[2] : NULL);
	if (k == 3 && !strcmp(w[0], "sessions") && !strcmp(w[1], "kill"))
		return ctl_sessions_kill(c, w[2]);
	if (k == 2 && !strcmp(w[0], "backup"))
		return ctl_backup(c, w[1]);
	if (k == 2 && !strcmp(w[0], "restore"))
		return ctl_restore(c, w[1], force);
	if (k == 1 && !strcmp(w[0], "check"))
		return ctl_check(c, repair, force);
	return ctl_fail(c, CTL_EX_USAGE, "unknown command '%s%s%s' (see --help)", k > 0 ? w[0] : "",
			k > 1 ? " " : "", k > 1 ? w[1] : "");
}

int main(int argc, char **argv)
{
	ctl_t c;
	char **args = NULL;
	int nargs = 1, i, ex = CTL_EX_USAGE;

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
			ex = CTL_EX_DONE;
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
		ex = CTL_EX_FAILED;
		goto out;
	}
	if ((ex = drop_root(&c)) != CTL_EX_DONE)
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
