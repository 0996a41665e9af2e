/*
 * broker.c - the STOMP broker over chat.db (see broker.h): one transaction
 * per frame, the dispatch to the frame families (broker_*.c), and what
 * they share: refusals, rows appended inside the frame's transaction, the
 * session's STOMP state and the durable store's back-off.
 */
#include "config.h"
#include "broker_int.h"

#include "sockjs.h"

__attribute__((format(printf, 2, 3))) int broker__refuse(broker_t *b, const char *fmt, ...)
{
	char msg[BROKER_PERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return chat_error_set(&b->refusal, CHAT_EPROTO, "%s", msg);
}

/* A header value as a C string (the parser NUL-terminates values). */
const char *broker__header(const stomp_frame_t *f, const char *name)
{
	const chat_slice_t *v = stomp_frame_header(f, name);

	return v != NULL ? v->ptr : NULL;
}

/* Runs a cached statement keyed by the session id (?1) and an optional
 * text ?2 (a write: it returns no rows). */
int broker__exec2(broker_t *b, const char *sql, const char *a2, const char *what)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, sql, &st, b->err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	return chatdb__step_done(b->db, st, what, b->err);
}

/* Runs a cached statement binding text ?1 that returns one integer. */
int broker__query_int(broker_t *b, const char *sql, const char *a1, const char *a2, int64_t *out,
		      int *found, const char *what)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, sql, &st, b->err);

	*found = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	rc = chatdb__step_row(b->db, st, found, what, b->err);
	if (rc == CHAT_OK && *found)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int broker__load_state(broker_t *b)
{
	broker_state_t st;
	int rc = session_get(b->db, b->key, &b->info, b->err);

	if (rc != CHAT_OK || (rc = broker_state__get(b->db, b->key, &st, b->err)) != CHAT_OK)
		return rc;
	b->connected = st.connected;
	b->version = st.version;
	return CHAT_OK;
}

/* Appends a row inside the open transaction.  The doorbell is detached for
 * the whole of broker_receive() (a ring before COMMIT would wake readers
 * too early); it is rung once the transaction committed. */
int broker__append(broker_t *b, const char *dest, const char *target, chat_slice_t headers,
		   chat_slice_t body, int64_t *seq_out)
{
	outbox_msg_t m = { dest, target, headers, body, b->now_ms };
	int64_t seq = 0;
	int rc = outbox_append(b->db, &m, &seq, b->err);

	if (rc == CHAT_OK) {
		b->tx_seq = seq;
		if (seq_out != NULL)
			*seq_out = seq;
	}
	return rc;
}

/* Appends b->frame as a frame for this session only; with close_code, the
 * session ends once it is delivered. */
int broker__send_frame(broker_t *b, int close_code, const char *close_reason)
{
	char code[16];
	int rc;

	chat_buf_reset(&b->hdrs);
	if (close_code != 0) {
		snprintf(code, sizeof(code), "%d", close_code);
		if ((rc = chatrow_hdr_put(&b->hdrs, "close-code", code)) != CHAT_OK ||
		    (rc = chatrow_hdr_put(&b->hdrs, "close-reason", close_reason)) != CHAT_OK)
			return rc;
	}
	return broker__append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs),
			      chat_buf_slice(&b->frame), NULL);
}

/* The seq the next appended row will get (the write lock is held). */
int broker__next_seq(broker_t *b, int64_t *seq)
{
	int rc = outbox_last_seq(b->db, seq, b->err);

	(*seq)++;
	return rc;
}

/* After a store failure the store is left alone this long: an unreachable
 * MongoDB costs its connect timeout on every try. */
#define BROKER_STORE_BACKOFF_MS 5000

static _Atomic int64_t store_down_until;

void broker__store_failed(broker_t *b)
{
	atomic_store(&store_down_until, b->now_ms + BROKER_STORE_BACKOFF_MS);
}

/* The caller's store handle, opened on first use; NULL when there is none
 * or it failed lately. */
store_t *broker__get_store(broker_t *b)
{
	chat_error_t e = { 0 };

	if (b->store == NULL || b->now_ms < atomic_load(&store_down_until))
		return NULL;
	if (*b->store == NULL && store_open(b->opt->store_uri, b->store, &e) != CHAT_OK) {
		broker__store_failed(b);
		return NULL;
	}
	return *b->store;
}

/* A header holding a whole number in [min, max]: CHAT_OK with *found 1
 * and the number in *out, CHAT_OK with *found 0 when it is absent (*out
 * unchanged), CHAT_EINVAL when it is malformed or out of range. */
int broker__header_int(const stomp_frame_t *f, const char *name, int64_t min, int64_t max,
		       int64_t *out, int *found)
{
	const char *v = broker__header(f, name);
	char *end;
	long long x;

	*found = 0;
	if (v == NULL)
		return CHAT_OK;
	if (*v < '0' || *v > '9')
		return CHAT_EINVAL;
	x = strtoll(v, &end, 10);
	if (*end != '\0' || x < min || x > max)
		return CHAT_EINVAL;
	*out = x;
	*found = 1;
	return CHAT_OK;
}

/* A row addressed to this session that only tells its dispatcher a
 * change: name=value pairs (NULL-terminated list). */
int broker__send_change(broker_t *b, const char *const *pairs)
{
	int rc = CHAT_OK;

	chat_buf_reset(&b->hdrs);
	for (; pairs[0] != NULL && rc == CHAT_OK; pairs += 2)
		rc = chatrow_hdr_put(&b->hdrs, pairs[0], pairs[1]);
	if (rc != CHAT_OK)
		return rc;
	return broker__append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs),
			      CHAT_SLICE(""), NULL);
}

/* Drops the session's subscriptions and transactions (it is ending), and
 * announces that its user left the rooms no other session keeps it in. */
int broker__forget(broker_t *b)
{
	char rooms[SESSION_SUBS_MAX][CHATDB_DEST_MAX + 1], topic[CHATDB_DEST_MAX + 1];
	size_t n = 0, i;
	int rc;

	if ((rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, "")) != CHAT_OK ||
	    (rc = session__sub_topics(b->db, b->key, topic, rooms, SESSION_SUBS_MAX, &n, b->err)) !=
		    CHAT_OK)
		return rc;
	rc = session__subs_clear(b->db, b->key, b->err);
	for (i = 0; i < n && rc == CHAT_OK; i++)
		rc = b->app->topic_gone(b, rooms[i]);
	if (rc == CHAT_OK)
		rc = broker__tx_clear(b);
	return rc != CHAT_OK ? rc : broker_state__partial_clear(b->db, b->key, b->err);
}

int broker__dispatch(broker_t *b, const stomp_frame_t *f, int replay)
{
	if (!b->connected && f->command != STOMP_CMD_CONNECT && f->command != STOMP_CMD_STOMP)
		return broker__refuse(b, "not connected: CONNECT first");
	switch (f->command) {
	case STOMP_CMD_CONNECT:
	case STOMP_CMD_STOMP: return broker__on_connect(b, f);
	case STOMP_CMD_SUBSCRIBE: return broker__on_subscribe(b, f);
	case STOMP_CMD_UNSUBSCRIBE: return broker__on_unsubscribe(b, f);
	case STOMP_CMD_SEND: return broker__on_send(b, f, replay);
	case STOMP_CMD_ACK: return broker__on_ack(b, f, replay, 0);
	case STOMP_CMD_NACK: return broker__on_ack(b, f, replay, 1);
	case STOMP_CMD_BEGIN: return broker__on_begin(b, f);
	case STOMP_CMD_COMMIT: return broker__on_commit(b, f, 0);
	case STOMP_CMD_ABORT: return broker__on_commit(b, f, 1);
	case STOMP_CMD_DISCONNECT: return broker__on_disconnect(b, f);
	default: return broker__refuse(b, "unexpected command %s", stomp_command_name(f->command));
	}
}

void broker__rollback(broker_t *b)
{
	chatdb__rollback(b->db);
	b->tx_seq = 0;
}

int broker__commit(broker_t *b)
{
	int rc = chatdb__commit(b->db, b->err);

	if (rc == CHAT_OK && b->tx_seq > b->ring_seq)
		b->ring_seq = b->tx_seq;
	b->tx_seq = 0;
	return rc;
}

/* Answers a refused frame: ERROR (with receipt-id if asked), then the
 * session ends.  Runs in a transaction of its own. */
int broker__fail(broker_t *b, const char *receipt)
{
	int rc;

	b->ended = 1;
	if ((rc = chatdb__begin(b->db, b->err)) != CHAT_OK)
		return rc;
	rc = broker__load_state(b);
	if (rc == CHAT_OK && b->info.state != SESSION_OPEN) {
		broker__rollback(b);
		return CHAT_OK;
	}
	if (rc == CHAT_OK) {
		chat_buf_reset(&b->frame);
		rc = stomp_serialize_error(&b->frame, b->connected ? b->version : STOMP_V1_2,
					   b->refusal.message, receipt, NULL, 0);
		/* A receipt id the version cannot carry: answer without it. */
		if (rc == CHAT_EINVAL)
			rc = stomp_serialize_error(&b->frame, STOMP_V1_2, b->refusal.message, NULL,
						   NULL, 0);
	}
	if (rc == CHAT_OK)
		rc = broker__send_frame(b, BROKER_CLOSE_ERROR, BROKER_REASON_ERROR);
	if (rc == CHAT_OK)
		rc = broker__forget(b);
	if (rc == CHAT_OK)
		rc = session_set_closing(b->db, b->key, b->err);
	if (rc == CHAT_OK)
		rc = broker__commit(b);
	else
		broker__rollback(b);
	return rc;
}

/* The ERROR message of a session whose token is gone (expired as
 * broker_state__token_state() and broker_state__dead_tokens() say). */
const char *broker__token_end_message(int expired)
{
	return expired ? BROKER_ERROR_EXPIRED : BROKER_ERROR_LOGGED_OUT;
}

/* A session opened with a token takes no frame once the token was revoked
 * or expired: refused with "logged out" / "token expired". */
int broker__check_token(broker_t *b)
{
	int dead = 0;
	int rc = broker_state__token_state(b->db, b->key, b->now_ms, &dead, b->err);

	if (rc == CHAT_OK && dead != 0)
		rc = broker__refuse(b, "%s", broker__token_end_message(dead == 1));
	return rc;
}

/* Before a frame's transaction: what CONNECT's passcode check or the
 * application (the store, the hook) needs read outside it. */
static int prepare(broker_t *b, const stomp_frame_t *f)
{
	b->app->release(b);
	/* Not checked yet: as a wrong passcode. */
	b->auth = (chat_error_t){ CHAT_EDENIED, "" };
	b->auth_user[0] = '\0';
	if (f->command == STOMP_CMD_CONNECT || f->command == STOMP_CMD_STOMP)
		return broker__connect_prepare(b, f);
	return b->app->prepare(b, f, broker__header(f, "destination"));
}

/* One frame in one transaction.  CHAT_ECLOSED: the session no longer takes
 * frames (stop). */
static int handle(broker_t *b, const stomp_frame_t *f)
{
	const char *receipt = broker__header(f, "receipt");
	int rc, tries = 0;

	b->no_retry = 0;
	b->hook_done = 0;
	b->rate_taken = b->rate_refused = 0;
again:
	b->retry = 0;
	if ((rc = prepare(b, f)) != CHAT_OK)
		return rc;
	if ((rc = chatdb__begin(b->db, b->err)) != CHAT_OK)
		return rc;
	rc = broker__load_state(b);
	if (rc == CHAT_OK && b->info.state != SESSION_OPEN) {
		broker__rollback(b);
		return CHAT_ECLOSED;
	}
	if (rc == CHAT_OK && b->connected)
		rc = broker__check_token(b);
	if (rc == CHAT_OK)
		rc = broker__dispatch(b, f, 0);
	if (rc == CHAT_OK && receipt != NULL && f->command != STOMP_CMD_DISCONNECT) {
		chat_buf_reset(&b->frame);
		rc = stomp_serialize_receipt(&b->frame, b->version, receipt);
		if (rc == CHAT_EINVAL)
			rc = broker__refuse(b, "invalid receipt header");
		else if (rc == CHAT_OK)
			rc = broker__send_frame(b, 0, NULL);
	}
	/* The frame that completes a stored partial one consumes it in its
	 * own transaction: committed together, never handled twice. */
	if (rc == CHAT_OK && b->partial_held)
		rc = broker_state__partial_clear(b->db, b->key, b->err);
	if (rc == CHAT_OK) {
		if ((rc = broker__commit(b)) == CHAT_OK)
			b->partial_held = 0;
		return rc;
	}
	broker__rollback(b);
	if (b->retry) {
		/* The relay moved while the store was read: read again (the
		 * third time, answer from what is there). */
		if (++tries >= 2)
			b->no_retry = 1;
		goto again;
	}
	if (rc == CHAT_EPROTO)
		return broker__fail(b, receipt);
	return rc;
}

int broker__fail_now(broker_t *b, const char *msg)
{
	int rc = broker__refuse(b, "%s", msg);

	/* rc is CHAT_EPROTO, the refusal broker__fail() answers. */
	return rc == CHAT_EPROTO ? broker__fail(b, NULL) : rc;
}

/* Loads the version and, into *joined, the partial frame the session's
 * previous message ended with followed by msg; leaves *joined empty when
 * there is none (then msg is parsed in place, the common case, with no
 * copy). */
static int load_receive(broker_t *b, chat_slice_t msg, chat_buf_t *joined)
{
	broker_state_t st;
	int rc = broker_state__receive(b->db, b->key, msg, &st, joined, &b->partial_held, b->err);

	b->connected = st.connected;
	b->version = st.version;
	return rc;
}

/* The parser wants more than in[from..] holds: keeps that incomplete frame
 * (without the heart-beat EOLs before it) for the session's next message.
 * The parser has bounded it by max_frame already.  Written after the
 * message's last whole frame committed: a process dying in between loses
 * the tail along with its answer to the request (sockjs-client then ends
 * the session). */
static int keep_partial(broker_t *b, chat_slice_t in, size_t from, size_t new_bytes)
{
	while (from < in.len && (in.ptr[from] == '\n' || in.ptr[from] == '\r'))
		from++;
	/* Only EOLs; nothing new since the partial was stored (an empty
	 * message); or the session takes no more frames. */
	if (from == in.len || new_bytes == 0 || b->info.state != SESSION_OPEN)
		return CHAT_OK;
	return broker_state__partial_put(b->db, b->key,
					 (chat_slice_t){ in.ptr + from, in.len - from }, b->err);
}

void broker__setup(broker_t *b, chatdb_t *db, const chat_options_t *opt, store_t **store,
		   const char *key, int64_t now_ms, chat_error_t *err)
{
	memset(b, 0, sizeof(*b));
	b->db = db;
	b->opt = opt;
	b->key = key;
	b->now_ms = now_ms;
	b->err = err;
	b->store = store;
	b->app = &chatapp_ops;
	chat_buf_init(&b->frame, (size_t)opt->max_frame * 2 + 4096);
	chat_buf_init(&b->hdrs, OUTBOX_HEADERS_MAX);
	chat_buf_init(&b->scratch, sockjs_json_bound(CHATMSG_TEXT_MAX));
	hookmsg_answer_init(&b->hook, (size_t)opt->max_frame);
}

void broker__teardown(broker_t *b)
{
	b->app->release(b);
	chat_buf_free(&b->frame);
	chat_buf_free(&b->hdrs);
	chat_buf_free(&b->scratch);
	hookmsg_answer_free(&b->hook);
}

int broker_receive(chatdb_t *db, const chat_options_t *opt, store_t **store, const char *key,
		   const char *peer, chat_slice_t msg, int64_t now_ms, chat_error_t *err)
{
	stomp_limits_t lim = { (size_t)opt->max_frame, (size_t)opt->max_headers, 0 };
	doorbell_t *bell;
	broker_t b;
	stomp_parser_t p;
	stomp_frame_t f;
	chat_buf_t joined;
	chat_slice_t in = msg;
	size_t pos = 0, frame_end = 0, used;
	int rc;

	broker__setup(&b, db, opt, store, key, now_ms, err);
	chat_buf_init(&joined, 0);
	b.peer = peer;
	if ((rc = stomp_parser_init(&p, &lim)) != CHAT_OK)
		goto out_free;
	bell = chatdb__hold_doorbell(db);
	rc = session_get(db, key, &b.info, err);
	if (rc != CHAT_OK)
		goto out;
	if (b.info.state == SESSION_CLOSED) {
		rc = chat_error_set(err, CHAT_ECLOSED, "session is closed");
		goto out;
	}
	/* Anything from the client, a heart-beat EOL included, shows it is
	 * alive (see broker_heartbeat_sweep()). */
	if ((rc = broker_state__heard(db, key, now_ms, err)) != CHAT_OK)
		goto out;
	if ((rc = load_receive(&b, msg, &joined)) != CHAT_OK)
		goto out;
	if (joined.len > 0)
		in = chat_buf_slice(&joined);
	stomp_parser_set_version(&p, b.version);
	while (pos < in.len && !b.ended) {
		rc = stomp_parser_feed(&p, in.ptr + pos, in.len - pos, &used, &f);
		pos += used;
		if (rc == CHAT_OK) {
			frame_end = pos;
			rc = handle(&b, &f);
			if (rc == CHAT_ECLOSED) {
				rc = CHAT_OK;
				break;
			}
			if (rc != CHAT_OK)
				break;
			stomp_parser_set_version(&p, b.version);
			continue;
		}
		if (rc == CHAT_EAGAIN) {
			rc = keep_partial(&b, in, frame_end, msg.len);
			break;
		}
		/* The rest of a message the parser rejected is refused. */
		rc = broker__fail_now(&b, stomp_parser_error_detail(&p));
		break;
	}
out:
	chatdb__release_doorbell(db, bell, b.ring_seq);
	stomp_parser_free(&p);
out_free:
	chat_buf_free(&joined);
	broker__teardown(&b);
	return rc;
}
