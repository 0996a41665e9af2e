/*
 * chatdb_schema.c - chat.db's schema as its ordered list of migrations, and
 * the step of chatdb_open() that brings a file up to CHATDB_SCHEMA_VERSION.
 */
#include "config.h"
#include "chatdb_int.h"

#include <sqlite3.h>
#include <stdio.h>

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

int chatdb__migrate(chatdb_t *db, chat_error_t *err)
{
	char sql[64];
	int version, rc, v;

	rc = chatdb_schema_version(db, &version, err);
	if (rc != CHAT_OK || version == CHATDB_SCHEMA_VERSION)
		goto out;
	/* Take the write lock, then look again: another process may have
	 * migrated while we waited. */
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb_schema_version(db, &version, err);
	if (rc != CHAT_OK)
		goto out;
	if (version > CHATDB_SCHEMA_VERSION || version < 0) {
		rc = chat_error_set(err, CHAT_EDB,
				    "database schema version %d is newer than this program's (%d)",
				    version, CHATDB_SCHEMA_VERSION);
		goto out;
	}
	for (v = version; v < CHATDB_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(chatdb_sqlite(db), migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = chatdb__error(db, rc, "schema migration", err);
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", CHATDB_SCHEMA_VERSION);
	rc = sqlite3_exec(chatdb_sqlite(db), sql, NULL, NULL, NULL);
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
