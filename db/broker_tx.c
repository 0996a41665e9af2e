/*
 * broker_tx.c - BEGIN, COMMIT and ABORT: a transaction's frames are kept in
 * chat.db and replayed at COMMIT.
 */
#include "config.h"
#include "broker_int.h"

static const char SQL_TX_DELETE[] = "DELETE FROM stomp_tx WHERE session_id = ?1 AND tx_id = ?2";

static const char SQL_TX_FRAMES[] =
	"SELECT frame FROM stomp_tx_frames WHERE session_id = ?1 AND tx_id = ?2 ORDER BY n";

static const char SQL_TX_FRAME_PUT[] =
	"INSERT INTO stomp_tx_frames(session_id, tx_id, n, frame) VALUES (?1, ?2, ?3, ?4)";

static const char SQL_TX_BUMP[] =
	"UPDATE stomp_tx SET nframes = nframes + 1 WHERE session_id = ?1 AND tx_id = ?2";

static const char SQL_TX_GET[] =
	"SELECT nframes FROM stomp_tx WHERE session_id = ?1 AND tx_id = ?2";

static const char SQL_TX_INSERT[] = "INSERT INTO stomp_tx(session_id, tx_id) VALUES (?1, ?2)";

static const char SQL_TX_CLEAR[] = "DELETE FROM stomp_tx WHERE session_id = ?1";
static const char SQL_TX_COUNT[] = "SELECT count(*) FROM stomp_tx WHERE session_id = ?1";

static int tx_exists(broker_t *b, const char *tx, int64_t *nframes, int *found)
{
	return broker__query_int(b, SQL_TX_GET, b->key, tx, nframes, found, "transaction");
}

int broker__buffer_in_tx(broker_t *b, const stomp_frame_t *f, const char *tx)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, found;

	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (!found)
		return broker__refuse(b, "no transaction %.64s", tx);
	if (n >= BROKER_TX_FRAMES_MAX)
		return broker__refuse(b, "more than %d frames in a transaction",
				      BROKER_TX_FRAMES_MAX);
	chat_buf_reset(&b->frame);
	rc = stomp_serialize(&b->frame, b->version, f->command, f->headers, f->nheaders,
			     f->body.ptr, f->body.len);
	if (rc != CHAT_OK)
		return rc;
	if ((rc = broker__exec2(b, SQL_TX_BUMP, tx, "transaction")) != CHAT_OK ||
	    (rc = chatdb__stmt(b->db, SQL_TX_FRAME_PUT, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	sqlite3_bind_blob(st, 4, b->frame.data, (int)b->frame.len, SQLITE_STATIC);
	return chatdb__step_done(b->db, st, "transaction frame", b->err);
}

int broker__on_begin(broker_t *b, const stomp_frame_t *f)
{
	const char *tx = broker__header(f, "transaction");
	int64_t n;
	int rc, found;

	if (tx == NULL || *tx == '\0')
		return broker__refuse(b, "BEGIN without transaction");
	if (strlen(tx) > CHATDB_ID_MAX)
		return broker__refuse(b, "transaction id longer than %d bytes", CHATDB_ID_MAX);
	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (found)
		return broker__refuse(b, "transaction %s already begun", tx);
	if ((rc = broker__query_int(b, SQL_TX_COUNT, b->key, NULL, &n, &found, "transaction")) !=
	    CHAT_OK)
		return rc;
	if (n >= BROKER_TX_MAX)
		return broker__refuse(b, "more than %d open transactions", BROKER_TX_MAX);
	return broker__exec2(b, SQL_TX_INSERT, tx, "begin");
}

int broker__on_commit(broker_t *b, const stomp_frame_t *f, int abort)
{
	const char *tx = broker__header(f, "transaction");
	stomp_limits_t lim = { (size_t)b->opt->max_frame, (size_t)b->opt->max_headers, 0 };
	sqlite3_stmt *st;
	stomp_parser_t p;
	stomp_frame_t g;
	int64_t n;
	int rc, found, row = 0;

	if (tx == NULL)
		return broker__refuse(b, "%s without transaction", abort ? "ABORT" : "COMMIT");
	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (!found)
		return broker__refuse(b, "no transaction %.64s", tx);
	if (abort)
		return broker__exec2(b, SQL_TX_DELETE, tx, "abort");
	/* Frames stored by this broker were valid when they came in. */
	lim.max_frame = lim.max_frame * 2 + 1024;
	if ((rc = stomp_parser_init(&p, &lim)) != CHAT_OK)
		return rc;
	stomp_parser_set_version(&p, b->version);
	rc = chatdb__stmt(b->db, SQL_TX_FRAMES, &st, b->err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(b->db, st, &row, "commit frames", b->err)) == CHAT_OK &&
	       row) {
		const char *data = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0), used = 0;

		if (data == NULL || stomp_parser_feed(&p, data, len, &used, &g) != CHAT_OK) {
			rc = chat_error_set(b->err, CHAT_EDB, "stored frame of %s is broken", tx);
			break;
		}
		rc = broker__dispatch(b, &g, 1);
		if (rc != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = broker__exec2(b, SQL_TX_DELETE, tx, "commit");
out:
	stomp_parser_free(&p);
	return rc;
}

/* The session ends: its open transactions are dropped (their frames
 * cascade). */
int broker__tx_clear(broker_t *b)
{
	return broker__exec2(b, SQL_TX_CLEAR, NULL, "transactions");
}
