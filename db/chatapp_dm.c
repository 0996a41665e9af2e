/*
 * chatapp_dm.c - the chat application's direct messages: SEND
 * /app/dm/{user}, its read marks and typing.
 */
#include "config.h"
#include "broker_int.h"

/* USER/{name}/QUEUE/dm. */
static int dm_dest(char out[CHATDB_DEST_MAX + 1], const char *name)
{
	const dest_prefixes_t *p = dest_prefixes();
	int n = snprintf(out, CHATDB_DEST_MAX + 1, "%s/%s%s%s", p->user, name, p->broker[p->queue],
			 BROKER_DM_QUEUE_PATH);

	return n < 0 || n > CHATDB_DEST_MAX ? CHAT_ETOOBIG : CHAT_OK;
}

/* Publishes scratch to both users' USER/{name}/QUEUE/dm; *seq: the first row's. */
static int dm_publish(broker_t *b, const char *peer, int64_t *seq)
{
	char to[CHATDB_DEST_MAX + 1];
	int rc;

	if ((rc = broker__message_headers(b, NULL, "application/json", b->info.user_name)) !=
		    CHAT_OK ||
	    (rc = dm_dest(to, peer)) != CHAT_OK ||
	    (rc = broker__append(b, to, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch),
				 seq)) != CHAT_OK ||
	    (rc = dm_dest(to, b->info.user_name)) != CHAT_OK)
		return rc;
	return broker__append(b, to, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch),
			      NULL);
}

/* Who may SEND APP/dm/{peer}[/typing]: a registered, unbanned user, to
 * another registered user (looked up in broker__prepare()).  0 to go on. */
static int dm_check(broker_t *b)
{
	int banned = 0, rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return broker__refuse(b, "direct messages are for registered users");
	if ((rc = auth_banned(b->db, b->info.user_name, &banned, b->err)) != CHAT_OK)
		return rc;
	if (banned)
		return broker__refuse(b, "%s", BROKER_ERROR_BANNED);
	if (b->pre.dm_rc == 1)
		return broker__refuse(b, "a direct message cannot be in a transaction");
	if (b->pre.dm_rc == CHAT_ENOTFOUND)
		return broker__refuse(b, "no user %s", b->pre.dm_peer);
	if (b->pre.dm_rc != CHAT_OK)
		return broker__refuse(b, "cannot check users now: retry later");
	if (strcasecmp(b->pre.dm_peer, b->info.user_name) == 0)
		return broker__refuse(b, "a direct message needs another user");
	return CHAT_OK;
}

/* SEND APP/dm/{peer} {"text"}: stamped like a room post, kept in chat.db
 * (dm.h) and sent to both users' USER/{name}/QUEUE/dm. */
int chatapp__app_dm(broker_t *b, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	char display[NAMES_NFC_MAX + 1];
	const char *peer = b->pre.dm_peer, *me = b->info.user_name;
	chat_buf_t text;
	int64_t seq, got = 0;
	int rc;

	if ((rc = dm_check(b)) != CHAT_OK)
		return rc;
	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	rc = chatmsg_parse_post(body.ptr, body.len, &text, &perr);
	if (rc != CHAT_OK) {
		rc = broker__refuse(b, "invalid chat message: %s", perr.message);
		goto out;
	}
	if ((rc = broker__next_seq(b, &seq)) != CHAT_OK ||
	    (rc = auth_display_get(b->db, me, display, b->err)) != CHAT_OK)
		goto out;
	if ((rc = dm_render(&b->scratch, seq, b->now_ms, me, display, peer,
			    chat_buf_slice(&text))) != CHAT_OK)
		goto out;
	if ((rc = dm__add_in_tx(b->db, seq, me, peer, chat_buf_slice(&b->scratch), b->now_ms,
				b->err)) != CHAT_OK ||
	    (rc = dm_publish(b, peer, &got)) != CHAT_OK)
		goto out;
	if (got != seq)
		rc = chat_error_set(b->err, CHAT_EDB, "outbox seq %lld, expected %lld",
				    (long long)got, (long long)seq);
out:
	chat_buf_free(&text);
	return rc;
}

/* SEND APP/dm/{peer}/read {"id"}: the caller has read up to id. */
int chatapp__app_dm_read(broker_t *b, const char *peer, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	json_field_t fl = { "id", NULL, 1, 0, 0, 0 };
	int rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return broker__refuse(b, "direct messages are for registered users");
	rc = json_parse_object(body.ptr, body.len, &chatmsg_object_limits, &fl, 1, &perr);
	if (rc != CHAT_OK || fl.num <= 0)
		return broker__refuse(b, "invalid read mark: %s",
				      rc != CHAT_OK ? perr.message : "id <= 0");
	return dm__read_in_tx(b->db, b->info.user_name, peer, fl.num, b->err);
}

/* SEND APP/dm/{user}/typing: as a room's, to the peer's USER/{user}/QUEUE/dm
 * only ({"type":"TYPING",...,"to"}); never kept. */
int chatapp__app_dm_typing(broker_t *b)
{
	char to[CHATDB_DEST_MAX + 1];
	int64_t seq = 0;
	int rc, over;

	if ((rc = dm_check(b)) != CHAT_OK)
		return rc;
	if ((rc = chatapp__typing_body(b, "to", b->pre.dm_peer, &over)) != CHAT_OK || over)
		return rc;
	if ((rc = broker__message_headers(b, NULL, "application/json", b->info.user_name)) ==
		    CHAT_OK &&
	    (rc = dm_dest(to, b->pre.dm_peer)) == CHAT_OK)
		rc = broker__append(b, to, NULL, chat_buf_slice(&b->hdrs),
				    chat_buf_slice(&b->scratch), &seq);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}
