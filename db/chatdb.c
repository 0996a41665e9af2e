/*
 * chatdb.c - opening var/chat.db: connection settings, the schema and its
 * migrations, the prepared-statement cache and transaction helpers the
 * outbox_ and session_ modules build on.
 *
 * Why synchronous=NORMAL keeps the outbox's commit point: in WAL mode a
 * COMMIT has written the transaction's frames into the WAL file (the OS page
 * cache) before it returns; only checkpoints fsync.  From that moment the
 * row is visible to every process and survives the death of any process,
 * including the one that committed - which is the guarantee the design asks
 * for ("survive any one process being killed"; the sender's RECEIPT comes
 * after the commit).  What NORMAL gives up is durability across power loss or
 * a kernel crash: the last commits before it may roll back (the database is
 * never corrupted).  Every connection dies with the machine anyway, but a
 * RECEIPTed message could then be missing; deployments that want that too
 * open with CHATDB_OPEN_SYNC_FULL (an fsync per commit).
 */
#include "config.h"
#include "chatdb.h"

#include "metrics.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Statements prepared by all db/ modules together stay well below this. */
#define STMT_CACHE_MAX 128

struct chatdb {
	sqlite3 *sql;     /* the connection (NOMUTEX: one thread at a time) */
	doorbell_t *bell; /* borrowed; rung after outbox commits, or NULL */
	char *path;       /* the path opened (owned) */
	dev_t dev;        /* the opened file's st_dev and st_ino */
	ino_t ino;
	int64_t checked_ms; /* chat_mono_ms() of the last file check */
	int gone;           /* 1 once the path named another file or none */
	char gone_why[160]; /* why, for every later refusal */
	int64_t published;  /* broadcast rows appended in the open transaction */
	size_t nstmt;       /* used entries of stmt[] */
	struct {
		const char *key;    /* the static SQL text's address */
		sqlite3_stmt *stmt; /* prepared with SQLITE_PREPARE_PERSISTENT */
	} stmt[STMT_CACHE_MAX];
};

/*
 * The schema, as an ordered list of migrations: migrations[i] takes
 * user_version i to i + 1.  Append only; never edit a released step.
 */
static const char *const migrations[] = {
	/* 1: SockJS sessions and their STOMP subscriptions. */
	"CREATE TABLE sessions("
	" id TEXT PRIMARY KEY NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closing', 'closed')),"
	" close_code INTEGER NOT NULL DEFAULT 0,"
	" close_reason TEXT NOT NULL DEFAULT '',"
	" closed_ms INTEGER NOT NULL DEFAULT 0,"
	" user_name TEXT NULL,"
	" cursor INTEGER NOT NULL DEFAULT 0,"
	" lease_owner TEXT NULL,"
	" lease_until_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_state_seen ON sessions(state, last_seen_ms);"
	"CREATE TABLE subscriptions("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" sub_id TEXT NOT NULL,"
	" destination TEXT NOT NULL,"
	" ack_mode TEXT NOT NULL CHECK (ack_mode IN ('auto', 'client', 'client-individual')),"
	" PRIMARY KEY (session_id, sub_id)) WITHOUT ROWID;"
	"CREATE INDEX subscriptions_destination ON subscriptions(destination);",

	/* 2: the outbox, the cross-process queue.  AUTOINCREMENT: a seq is
	 * never reused, even after the newest rows were pruned. */
	"CREATE TABLE outbox("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" destination TEXT NOT NULL,"
	" target_session TEXT NULL,"
	" headers BLOB NOT NULL,"
	" body BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX outbox_created ON outbox(created_ms);",

	/* 3: named outbox readers other than sessions (the MongoDB relay):
	 * pruning keeps rows they have not passed. */
	"CREATE TABLE outbox_consumers("
	" name TEXT PRIMARY KEY NOT NULL,"
	" cursor INTEGER NOT NULL) WITHOUT ROWID;",

	/* 4: the STOMP broker's per-session state (db/broker.c): the CONNECT
	 * outcome, open transactions and the frames they buffer, messages
	 * delivered to client/client-individual subscriptions and not yet
	 * acknowledged, counters (guest names), per-room sequence numbers. */
	"CREATE TABLE stomp_sessions("
	" session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" version INTEGER NOT NULL,"
	" hb_client_send_ms INTEGER NOT NULL,"
	" hb_client_recv_ms INTEGER NOT NULL,"
	" hb_expect_ms INTEGER NOT NULL,"
	" connected_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE stomp_tx("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" tx_id TEXT NOT NULL,"
	" nframes INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (session_id, tx_id)) WITHOUT ROWID;"
	"CREATE TABLE stomp_tx_frames("
	" session_id TEXT NOT NULL,"
	" tx_id TEXT NOT NULL,"
	" n INTEGER NOT NULL,"
	" frame BLOB NOT NULL,"
	" PRIMARY KEY (session_id, tx_id, n),"
	" FOREIGN KEY (session_id, tx_id) REFERENCES stomp_tx(session_id, tx_id)"
	"  ON DELETE CASCADE) WITHOUT ROWID;"
	"CREATE TABLE stomp_unacked("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" ack_id TEXT NOT NULL,"
	" sub_id TEXT NOT NULL,"
	" sub_destination TEXT NOT NULL,"
	" ack_mode TEXT NOT NULL CHECK (ack_mode IN ('client', 'client-individual')),"
	" msg_seq INTEGER NOT NULL,"
	" destination TEXT NOT NULL,"
	" content_type TEXT NULL,"
	" body BLOB NOT NULL,"
	" user_name TEXT NULL,"
	" PRIMARY KEY (session_id, ack_id)) WITHOUT ROWID;"
	"CREATE INDEX stomp_unacked_user ON stomp_unacked(user_name, sub_destination);"
	"CREATE TABLE stomp_counters("
	" name TEXT PRIMARY KEY NOT NULL,"
	" value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE chat_room_seq("
	" room TEXT PRIMARY KEY NOT NULL,"
	" seq INTEGER NOT NULL) WITHOUT ROWID;",

	/* 5: the chat application (db/auth.c, db/chatroom.c, db/relay.c,
	 * db/broker.c): login tokens (only a hash of each is kept, so a copy of
	 * the file does not log anyone in), rooms (the room "general" always
	 * exists; stored = 1 once the relay copied the room to the durable
	 * store), who is announced present in which room, the outbox seq a
	 * subscription starts after (what it receives live), and leases that
	 * let one process at a time run a job such as the relay. */
	"CREATE TABLE auth_tokens("
	" hash BLOB PRIMARY KEY NOT NULL,"
	" user_name TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX auth_tokens_expires ON auth_tokens(expires_ms);"
	"CREATE TABLE chat_rooms("
	" name TEXT PRIMARY KEY NOT NULL,"
	" id INTEGER NOT NULL UNIQUE,"
	" creator TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" stored INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"INSERT INTO chat_rooms(name, id, creator, created_ms) VALUES ('general', 1, '', 0);"
	"CREATE TABLE chat_presence("
	" room TEXT NOT NULL,"
	" user_name TEXT NOT NULL,"
	" PRIMARY KEY (room, user_name)) WITHOUT ROWID;"
	"ALTER TABLE subscriptions ADD COLUMN from_seq INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE chat_leases("
	" name TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" until_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/* 6: when the broker last heard from each STOMP client (any frame or
	 * heart-beat EOL), to close clients silent past their heart-beat. */
	"ALTER TABLE stomp_sessions ADD COLUMN heard_ms INTEGER NOT NULL DEFAULT 0;",
	/* 7: the login token each STOMP session was opened with (its hash and
	 * expiry), so revoking the token (logout) or its expiry ends the
	 * session (db/broker.c broker_token_sweep()); room names looked up
	 * whatever their case (db/chatroom.c refuses a new room whose name
	 * differs from an existing one only in case; rooms that already do
	 * stay, their names being ids in destinations). */
	"CREATE TABLE stomp_tokens("
	" session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" token_hash BLOB NOT NULL,"
	" expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX stomp_tokens_expires ON stomp_tokens(expires_ms);"
	"CREATE INDEX chat_rooms_name_nocase ON chat_rooms(name COLLATE NOCASE);",
	/* 8: the client address a session is bound to (session_bind). */
	"ALTER TABLE sessions ADD COLUMN peer TEXT NULL;",
	/* 9: the incomplete STOMP frame a session's last SockJS or WebSocket
	 * message ended with (its wire bytes, at most max_frame), which the
	 * session's next message continues (db/broker.c); a row only while a
	 * frame is split. */
	"CREATE TABLE stomp_partial("
	" session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" bytes BLOB NOT NULL) WITHOUT ROWID;",
	/* 10: failed logins per account ("u:" + name in lower case) and per
	 * client address ("a:" + address), and their lockouts (db/authlimit.c);
	 * a row goes at expires_ms. */
	"CREATE TABLE auth_limits("
	" key TEXT PRIMARY KEY NOT NULL,"
	" failures INTEGER NOT NULL,"
	" first_ms INTEGER NOT NULL,"
	" locked_until_ms INTEGER NOT NULL,"
	" strikes INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX auth_limits_expires ON auth_limits(expires_ms);",
	/* 11: /queue consumers in turn (db/broker.c): each subscription's
	 * prefetch-count (0: no limit) and the outbox seq of the last message
	 * it was given (the least recently served consumer is next), indexed
	 * by exact destination so a SEND reads only that queue's consumers
	 * (it replaces the index on destination alone);
	 * the /queue messages handed to client-ack consumers and not yet
	 * acknowledged; the sender (user-name) of an unacknowledged message,
	 * for its redelivery. */
	"ALTER TABLE subscriptions ADD COLUMN prefetch INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE subscriptions ADD COLUMN served INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX subscriptions_queue ON subscriptions(destination, served);"
	"DROP INDEX subscriptions_destination;"
	"CREATE TABLE queue_inflight("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" sub_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, sub_id, seq)) WITHOUT ROWID;"
	"ALTER TABLE stomp_unacked ADD COLUMN sender TEXT NULL;",
	/* 12: deleted rooms (db/chatroom.c): deleted_ms > 0 hides the room
	 * and keeps its name taken; stored = 0 on a deleted room means the
	 * relay has yet to delete it in the store.  Rooms per creator are
	 * counted for rooms_per_user. */
	"ALTER TABLE chat_rooms ADD COLUMN deleted_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX chat_rooms_creator ON chat_rooms(creator);",
	/* 13: token buckets (db/ratelimit.c): thousandths of a token left at
	 * at_ms; full_ms is when the bucket is full again (the row may go). */
	"CREATE TABLE rate_buckets("
	" key TEXT PRIMARY KEY NOT NULL,"
	" tokens INTEGER NOT NULL,"
	" at_ms INTEGER NOT NULL,"
	" full_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX rate_buckets_full ON rate_buckets(full_ms);",
	/* 14: metrics (db/metrics.c): one row per live process, its counters
	 * (counter = 1, added to at each flush) and gauges (set); pid 0 holds
	 * the counters of processes that ended. */
	"CREATE TABLE metrics_procs("
	" pid INTEGER PRIMARY KEY,"
	" program TEXT NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"CREATE TABLE metrics_values("
	" pid INTEGER NOT NULL,"
	" key TEXT NOT NULL,"
	" counter INTEGER NOT NULL,"
	" value INTEGER NOT NULL,"
	" PRIMARY KEY (pid, key)) WITHOUT ROWID;",
	/* 15: banned users (db/auth.c auth_ban()): a banned name, in any
	 * case, is refused at STOMP CONNECT and at login. */
	"CREATE TABLE auth_bans("
	" name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
	" reason TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/* 16: rooms' display names (db/chatroom.c, core/names.h): the name
	 * people read, and its uniqueness key, unique among live rooms.  A
	 * room made before keeps its id as its name, keyed in lower case
	 * (names_key() of an ASCII name); of old rooms whose ids differ only
	 * in case, all but the first get a key no name can have (char(1)
	 * then the id), so the index can be made and every room stays. */
	"ALTER TABLE chat_rooms ADD COLUMN display TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE chat_rooms ADD COLUMN display_key TEXT NOT NULL DEFAULT '';"
	"UPDATE chat_rooms SET display = name, display_key = CASE WHEN deleted_ms > 0 OR id ="
	" (SELECT min(o.id) FROM chat_rooms o WHERE lower(o.name) = lower(chat_rooms.name)"
	" AND o.deleted_ms = 0) THEN lower(name) ELSE char(1) || name END;"
	"CREATE UNIQUE INDEX chat_rooms_display_key ON chat_rooms(display_key) WHERE deleted_ms = 0;",
	/* 17: users' display names (db/auth.c auth_display_set()), by login
	 * name in any case; a user without a row shows the login. */
	"CREATE TABLE user_profiles("
	" user_name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
	" display TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/* 18: moderation (db/auth.c, db/chatroom.c; bans are auth_bans of
	 * migration 15): deleted messages (tombstones: history shows them deleted); the first user
	 * registered, an admin while the admins option is empty.  A chat.db
	 * already in use (sessions, tokens or rooms made by users) gets no
	 * first user: its admins are named with the option. */
	"CREATE TABLE chat_tombstones("
	" msg_id INTEGER PRIMARY KEY,"
	" room TEXT NOT NULL,"
	" by_user TEXT NOT NULL,"
	" at_ms INTEGER NOT NULL);"
	"CREATE TABLE chat_first_user("
	" one INTEGER PRIMARY KEY CHECK (one = 1),"
	" user_name TEXT NOT NULL COLLATE NOCASE,"
	" at_ms INTEGER NOT NULL);"
	"INSERT INTO chat_first_user(one, user_name, at_ms) SELECT 1, '', 0"
	" WHERE EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM auth_tokens)"
	" OR EXISTS (SELECT 1 FROM chat_rooms WHERE creator <> '');",
	/* 19: in a cluster (db/cluster.c), the users other nodes announced
	 * present in a room, per node: this node's ENTER/LEAVE notices and
	 * /presence count them too. */
	"CREATE TABLE cluster_presence("
	" node INTEGER NOT NULL,"
	" room TEXT NOT NULL,"
	" user_name TEXT NOT NULL,"
	" PRIMARY KEY (room, user_name, node)) WITHOUT ROWID;",
	/* 20: direct messages (db/dm.c): each message once, keyed by its
	 * two users (lo < hi case-insensitively), stored = 1 once copied to
	 * the durable store; each user's read mark per peer (unread counts). */
	"CREATE TABLE chat_dm("
	" id INTEGER PRIMARY KEY,"
	" lo TEXT NOT NULL COLLATE NOCASE,"
	" hi TEXT NOT NULL COLLATE NOCASE,"
	" writer TEXT NOT NULL COLLATE NOCASE,"
	" body TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" stored INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX chat_dm_pair ON chat_dm(lo, hi, id);"
	"CREATE INDEX chat_dm_hi ON chat_dm(hi, lo, id);"
	"CREATE INDEX chat_dm_unstored ON chat_dm(id) WHERE stored = 0;"
	"CREATE TABLE chat_dm_read("
	" user_name TEXT NOT NULL COLLATE NOCASE,"
	" peer TEXT NOT NULL COLLATE NOCASE,"
	" last_id INTEGER NOT NULL,"
	" PRIMARY KEY (user_name, peer)) WITHOUT ROWID;",
	/* 21: in a cluster (db/cluster.c), chat posts of every node held
	 * back, by id, until no node can send a smaller one: then they go
	 * into the outbox in id order (one order for every room on every
	 * node). */
	"CREATE TABLE cluster_hold("
	" id INTEGER PRIMARY KEY,"
	" destination TEXT NOT NULL,"
	" headers BLOB NOT NULL,"
	" body BLOB NOT NULL);",
};

_Static_assert(CHAT_ARRAY_LEN(migrations) == CHATDB_SCHEMA_VERSION,
	       "CHATDB_SCHEMA_VERSION names the last migration");

int chatdb__error(chatdb_t *db, int sqlite_rc, const char *what, chat_error_t *err)
{
	const char *msg = db != NULL && db->sql != NULL ? sqlite3_errmsg(db->sql)
							: sqlite3_errstr(sqlite_rc);
	int code;

	switch (sqlite_rc & 0xff) {
	case SQLITE_NOMEM: code = CHAT_ENOMEM; break;
	case SQLITE_TOOBIG: code = CHAT_ETOOBIG; break;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_PERM:
	case SQLITE_READONLY: code = CHAT_EIO; break;
	default: code = CHAT_EDB; break;
	}
	return chat_error_set(err, code, "%s: %s", what, msg);
}

int chatdb__check_str(const char *s, size_t max, const char *what, chat_error_t *err)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return chat_error_set(err, CHAT_EINVAL, "%s is empty", what);
	n = strnlen(s, max + 1);
	if (n > max)
		return chat_error_set(err, CHAT_ETOOBIG, "%s is longer than %zu bytes", what, max);
	return CHAT_OK;
}

int chatdb__stmt(chatdb_t *db, const char *sql, sqlite3_stmt **out, chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < db->nstmt; i++) {
		if (db->stmt[i].key == sql) {
			st = db->stmt[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			*out = st;
			return CHAT_OK;
		}
	}
	if (db->nstmt == STMT_CACHE_MAX)
		return chat_error_set(err, CHAT_ETOOMANY, "statement cache full (%d)",
				      STMT_CACHE_MAX);
	rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return chatdb__error(db, rc, "prepare", err);
	db->stmt[db->nstmt].key = sql;
	db->stmt[db->nstmt].stmt = st;
	db->nstmt++;
	*out = st;
	return CHAT_OK;
}

int chatdb__step_done(chatdb_t *db, sqlite3_stmt *st, const char *what, chat_error_t *err)
{
	int rc = sqlite3_step(st);

	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, what, err);
	sqlite3_reset(st);
	return rc;
}

int chatdb__step_row(chatdb_t *db, sqlite3_stmt *st, int *row, const char *what, chat_error_t *err)
{
	int rc = sqlite3_step(st);

	*row = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, what, err);
}

static int exec_cached(chatdb_t *db, const char *sql, const char *what, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = chatdb__stmt(db, sql, &st, err);
	if (rc != CHAT_OK)
		return rc;
	return chatdb__step_done(db, st, what, err);
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

int chatdb_check_file(chatdb_t *db, chat_error_t *err)
{
	struct stat sb;

	db->checked_ms = chat_mono_ms();
	if (!db->gone && stat(db->path, &sb) != 0) {
		db->gone = 1;
		snprintf(db->gone_why, sizeof(db->gone_why), "%s was deleted (%s)", db->path,
			 strerror(errno));
	} else if (!db->gone && (sb.st_dev != db->dev || sb.st_ino != db->ino)) {
		db->gone = 1;
		snprintf(db->gone_why, sizeof(db->gone_why), "%s was replaced by another file",
			 db->path);
	}
	if (db->gone)
		return chat_error_set(err, CHAT_EIO, "%s under this process: restart it",
				      db->gone_why);
	return CHAT_OK;
}

int chatdb__begin(chatdb_t *db, chat_error_t *err)
{
	if (db->gone || chat_mono_ms() - db->checked_ms >= CHATDB_FILE_CHECK_MS) {
		int rc = chatdb_check_file(db, err);

		if (rc != CHAT_OK)
			return rc;
	}
	return exec_cached(db, SQL_BEGIN, "begin immediate", err);
}

int chatdb__commit(chatdb_t *db, chat_error_t *err)
{
	int rc = exec_cached(db, SQL_COMMIT, "commit", err);

	/* A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open. */
	if (rc != CHAT_OK)
		chatdb__rollback(db);
	else if (db->published > 0)
		metrics_add(METRICS_PUBLISHED, db->published);
	db->published = 0;
	return rc;
}

void chatdb__rollback(chatdb_t *db)
{
	db->published = 0;
	if (!sqlite3_get_autocommit(db->sql))
		exec_cached(db, SQL_ROLLBACK, "rollback", NULL);
}

void chatdb__count_published(chatdb_t *db)
{
	/* Counted once the row is committed: at once in autocommit mode,
	 * else at chatdb__commit() (a rollback forgets it). */
	if (sqlite3_get_autocommit(db->sql))
		metrics_add(METRICS_PUBLISHED, 1);
	else
		db->published++;
}

/* Runs a pragma that returns one row and copies its first column. */
static int pragma(chatdb_t *db, const char *sql, char *res, size_t n, chat_error_t *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = chatdb__error(db, rc, sql, err);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = chatdb__error(db, rc, sql, err);
		goto out;
	}
	if (res != NULL && n > 0) {
		t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
		snprintf(res, n, "%s", t != NULL ? (const char *)t : "");
	}
	rc = CHAT_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static int read_version(chatdb_t *db, int *version, chat_error_t *err)
{
	char buf[32], *end;
	long v;
	int rc;

	rc = pragma(db, "PRAGMA user_version", buf, sizeof(buf), err);
	if (rc != CHAT_OK)
		return rc;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX)
		return chat_error_set(err, CHAT_EDB, "PRAGMA user_version is '%s', not a number",
				      buf);
	*version = (int)v;
	return CHAT_OK;
}

/* Switching a fresh file to WAL needs an exclusive lock for a moment; when
 * several processes create the file at once the loser may see SQLITE_BUSY
 * even with a busy handler, so it retries within the busy timeout. */
static int set_wal(chatdb_t *db, chat_error_t *err)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	char mode[16];
	int tries = CHATDB_BUSY_TIMEOUT_MS / 2;
	int rc;

	for (;;) {
		rc = pragma(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err);
		if (rc == CHAT_OK && strcmp(mode, "wal") == 0)
			return CHAT_OK;
		if (rc == CHAT_OK)
			return chat_error_set(err, CHAT_EDB, "journal_mode is %s, not wal", mode);
		if ((sqlite3_errcode(db->sql) & 0xff) != SQLITE_BUSY || --tries <= 0)
			return rc;
		nanosleep(&pause, NULL);
	}
}

static int migrate(chatdb_t *db, chat_error_t *err)
{
	char sql[64];
	int version, rc, v;

	rc = read_version(db, &version, err);
	if (rc != CHAT_OK || version == CHATDB_SCHEMA_VERSION)
		goto out;
	/* Take the write lock, then look again: another process may have
	 * migrated while we waited. */
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	rc = read_version(db, &version, err);
	if (rc != CHAT_OK)
		goto out;
	if (version > CHATDB_SCHEMA_VERSION || version < 0) {
		rc = chat_error_set(err, CHAT_EDB,
				    "database schema version %d is newer than this program's (%d)",
				    version, CHATDB_SCHEMA_VERSION);
		goto out;
	}
	for (v = version; v < CHATDB_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db->sql, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = chatdb__error(db, rc, "schema migration", err);
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", CHATDB_SCHEMA_VERSION);
	rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = chatdb__error(db, rc, "set user_version", err);
		goto out;
	}
	rc = chatdb__commit(db, err);
out:
	if (rc != CHAT_OK)
		chatdb__rollback(db);
	return rc;
}

int chatdb_open(const char *path, unsigned flags, chatdb_t **out, chat_error_t *err)
{
	struct stat sb;
	chatdb_t *db;
	int rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	/* NOMUTEX: one handle per thread (see chatdb.h), no locking needed. */
	rc = sqlite3_open_v2(path, &db->sql,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		rc = chatdb__error(db, rc, path, err);
		goto out;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, CHATDB_BUSY_TIMEOUT_MS);
	rc = set_wal(db, err);
	if (rc != CHAT_OK)
		goto out;
	/* The file just opened (and created if need be) is the one to keep
	 * naming: see chatdb_check_file(). */
	db->path = strdup(path);
	if (db->path == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(path, &sb) != 0) {
		rc = chat_error_set(err, CHAT_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	db->dev = sb.st_dev;
	db->ino = sb.st_ino;
	db->checked_ms = chat_mono_ms();
	rc = pragma(db,
		    (flags & CHATDB_OPEN_SYNC_FULL) ? "PRAGMA synchronous=FULL"
						    : "PRAGMA synchronous=NORMAL",
		    NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	rc = pragma(db, "PRAGMA foreign_keys=ON", NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	/* Keep an idle WAL file from staying large after a burst. */
	rc = pragma(db, "PRAGMA journal_size_limit=67108864", NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	rc = migrate(db, err);
out:
	if (rc != CHAT_OK)
		chatdb_close(db);
	else
		*out = db;
	return rc;
}

void chatdb_close(chatdb_t *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nstmt; i++)
		sqlite3_finalize(db->stmt[i].stmt);
	sqlite3_close(db->sql);
	free(db->path);
	free(db);
}

void chatdb_set_doorbell(chatdb_t *db, doorbell_t *bell)
{
	db->bell = bell;
}

doorbell_t *chatdb_doorbell(const chatdb_t *db)
{
	return db->bell;
}

int chatdb_schema_version(chatdb_t *db, int *version, chat_error_t *err)
{
	return read_version(db, version, err);
}

sqlite3 *chatdb_sqlite(chatdb_t *db)
{
	return db->sql;
}
