/*
 * chatapp.c - the chat application behind /app destinations: which
 * destinations it handles, and its answers to SUBSCRIBE (rooms, presence,
 * history, direct message lists).
 */
#include "config.h"
#include "broker_int.h"

/* Users of a room topic ?1 through live sessions, for /presence. */
static const char SQL_PRESENT_USERS[] =
	"SELECT DISTINCT s.user_name FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE u.destination = ?1 AND s.state = 'open' AND s.user_name IS NOT NULL"
	" UNION SELECT user_name FROM cluster_presence WHERE room = ?2"
	" ORDER BY 1";

/* A room id out of APP/chat/room/ROOM/SUFFIX (app; suffix "" for a post)
 * or TOPIC/chat/room/ROOM (!app, suffix "") into room (chatroom.h). */
int chatapp__room_of(const char *dest, int app, const char *suffix, char room[CHATMSG_ROOM_MAX + 1])
{
	chat_slice_t d = { dest, strlen(dest) }, rest, r;
	size_t n = strlen(CHATROOM_ROOM_PATH), m = strlen(suffix);

	if (app) {
		if (dest_classify_in(dest_prefixes(), d, &rest) != DEST_APP || rest.len <= n + m ||
		    memcmp(rest.ptr, CHATROOM_ROOM_PATH, n) != 0 ||
		    memcmp(rest.ptr + rest.len - m, suffix, m) != 0)
			return 0;
		r = (chat_slice_t){ rest.ptr + n, rest.len - n - m };
		if (!chatmsg_room_valid(r))
			return 0;
	} else if (m > 0 || !chatroom_of_topic(d, &r)) {
		return 0;
	}
	memcpy(room, r.ptr, r.len);
	room[r.len] = '\0';
	return 1;
}

/* The application path of dest (APP/rooms -> "/rooms"), or NULL. */
static const char *app_path(const char *dest)
{
	chat_slice_t rest;

	return dest_classify_in(dest_prefixes(), (chat_slice_t){ dest, strlen(dest) }, &rest) ==
			       DEST_APP
		       ? rest.ptr
		       : NULL;
}

/* The user name out of APP/dm/{user}SUFFIX into name: 1 when dest is one. */
int chatapp__dm_of(const char *dest, const char *suffix, char name[CHATMSG_NAME_MAX + 1])
{
	const char *path = app_path(dest);
	size_t n = strlen(BROKER_DM_PATH), m = strlen(suffix), len;

	if (path == NULL || strncmp(path, BROKER_DM_PATH "/", n + 1) != 0)
		return 0;
	path += n + 1;
	len = strlen(path);
	if (len <= m || strcmp(path + len - m, suffix) != 0 ||
	    !chatmsg_name_valid((chat_slice_t){ path, len - m }))
		return 0;
	memcpy(name, path, len - m);
	name[len - m] = '\0';
	return 1;
}

/* 1 when dest goes to the application (@MessageMapping), not the broker:
 * the one place that says so (the prefixes become options). */
int chatapp__is_app_dest(const char *dest)
{
	return app_path(dest) != NULL;
}

/* Whether dest is APP/chat/room/{id}/typing. */
int chatapp__is_typing(const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1];

	return chatapp__room_of(dest, 1, BROKER_TYPING_SUFFIX, room);
}

/* 1 when the built-in chat application handles a SEND to app dest. */
int chatapp__app_send_builtin(const char *dest)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1];

	char name[CHATMSG_NAME_MAX + 1];

	return (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
				 strcmp(path, BROKER_ROOMS_DELETE_PATH) == 0)) ||
	       chatapp__room_of(dest, 1, "", room) || chatapp__is_typing(dest) || chatapp__dm_of(dest, "", name) ||
	       chatapp__dm_of(dest, BROKER_DM_READ_SUFFIX, name) || chatapp__dm_of(dest, BROKER_TYPING_SUFFIX, name);
}

/* 1 when the built-in chat application answers a SUBSCRIBE to app dest. */
int chatapp__app_subscribe_builtin(const char *dest)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1];

	char name[CHATMSG_NAME_MAX + 1];

	return (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
				 strcmp(path, BROKER_DM_PATH) == 0)) ||
	       chatapp__dm_of(dest, BROKER_HISTORY_SUFFIX, name) ||
	       chatapp__room_of(dest, 1, BROKER_PRESENCE_SUFFIX, room) ||
	       chatapp__room_of(dest, 1, BROKER_HISTORY_SUFFIX, room);
}

/* Renders message i of the prefetched list as chat JSON into out. */
static int render_hmsg(broker_t *b, size_t i, chat_buf_t *out)
{
	const hmsg_t *h = &b->pre.msgs.v[i];
	char display[NAMES_NFC_MAX + 1];
	chatmsg_t m = { h->id, b->pre.room.name, h->room_seq, h->writer, display, h->time_ms,
			{ h->text, h->text_len }, chatroom_msg_deleted(b->db, h->id) };

	/* The writer's display name now (the store keeps only the login). */
	if (auth_display_get(b->db, h->writer, display, NULL) != CHAT_OK)
		display[0] = '\0';
	return chatmsg_render(out, &m);
}

/* Sends body to subscription sub_id of this session once, as a MESSAGE
 * from dest (Spring's @SubscribeMapping reply). */
int chatapp__reply_once(broker_t *b, const char *sub_id, const char *dest, int64_t mid,
		      const char *ctype, chat_slice_t body)
{
	int64_t seq;
	int rc;

	if (mid == 0 && (rc = broker__next_seq(b, &seq)) != CHAT_OK)
		return rc;
	chat_buf_reset(&b->frame);
	rc = delivery_render_message(&b->frame, b->version, sub_id, mid != 0 ? mid : seq, dest,
			    ctype, NULL, NULL, body);
	if (rc == CHAT_ETOOBIG)
		return broker__refuse(b, "the reply to %s is too large", dest);
	return rc != CHAT_OK ? rc : broker__send_frame(b, 0, NULL);
}

/* The history reply: the prefetched page as a JSON array, oldest first,
 * dropping the oldest messages that do not fit one frame. */
static int reply_history(broker_t *b, const char *sub_id, const char *dest)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	size_t n = b->pre.msgs.n, start = n, total = 2, i;
	chat_buf_t one, body;
	int rc = CHAT_OK;

	chat_buf_init(&one, CHATMSG_TEXT_MAX * 6 + 1024);
	chat_buf_init(&body, cap + 16);
	while (start > 0 && rc == CHAT_OK) {
		chat_buf_reset(&one);
		rc = render_hmsg(b, start - 1, &one);
		if (rc == CHAT_OK && total + one.len + 1 > cap)
			break;
		total += one.len + 1;
		start--;
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, '[');
	for (i = start; i < n && rc == CHAT_OK; i++) {
		if (i > start)
			rc = chat_buf_putc(&body, ',');
		if (rc == CHAT_OK)
			rc = render_hmsg(b, i, &body);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = chatapp__reply_once(b, sub_id, dest, 0, "application/json", chat_buf_slice(&body));
	chat_buf_free(&one);
	chat_buf_free(&body);
	return rc;
}

/* Resume: every prefetched message after the client's id, one MESSAGE
 * each with its own id, before anything live (they precede the
 * subscription's from_seq, so live delivery does not repeat them). */
int chatapp__resume(broker_t *b, const char *sub_id, const char *dest)
{
	chat_buf_t body;
	int rc = CHAT_OK;

	chat_buf_init(&body, CHATMSG_TEXT_MAX * 6 + 1024);
	for (size_t i = 0; i < b->pre.msgs.n && rc == CHAT_OK; i++) {
		chat_buf_reset(&body);
		rc = render_hmsg(b, i, &body);
		if (rc == CHAT_OK)
			rc = chatapp__reply_once(b, sub_id, dest, b->pre.msgs.v[i].id, "application/json",
					chat_buf_slice(&body));
	}
	chat_buf_free(&body);
	return rc;
}

/* Users present in a room: a JSON array of names. */
static int reply_presence(broker_t *b, const char *sub_id, const char *dest, const char *room)
{
	char topic[CHATDB_DEST_MAX + 1];
	sqlite3_stmt *st;
	chat_buf_t body;
	int rc, step, n = 0;

	chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	chat_buf_init(&body, (size_t)b->opt->max_frame);
	rc = chat_buf_putc(&body, '[');
	if (rc == CHAT_OK)
		rc = chatdb__stmt(b->db, SQL_PRESENT_USERS, &st, b->err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == CHAT_OK) {
		const char *u = (const char *)sqlite3_column_text(st, 0);

		if (n++ > 0)
			rc = chat_buf_putc(&body, ',');
		if (rc == CHAT_OK)
			rc = json_encode_string(&body, u, strlen(u));
	}
	if (rc == CHAT_OK && step != SQLITE_DONE)
		rc = chatdb__error(b->db, step, "presence", b->err);
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = chatapp__reply_once(b, sub_id, dest, 0, "application/json", chat_buf_slice(&body));
out:
	chat_buf_free(&body);
	return rc;
}

/* SUBSCRIBE APP/dm (peer NULL: the caller's conversations with unread
 * counts) or APP/dm/{peer}/history (the caller's conversation with peer):
 * answered once.  Only the caller's own conversations can be named. */
static int dm_reply(broker_t *b, const char *id, const char *dest, const char *peer)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	chat_buf_t body;
	int rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return broker__refuse(b, "direct messages are for registered users");
	chat_buf_init(&body, cap + 16);
	rc = peer != NULL ? dm_history_json(b->db, b->info.user_name, peer, cap, &body, b->err)
			  : dm_list_json(b->db, b->info.user_name, cap, &body, b->err);
	if (rc == CHAT_OK)
		rc = chatapp__reply_once(b, id, dest, 0, "application/json", chat_buf_slice(&body));
	chat_buf_free(&body);
	return rc;
}

/* SUBSCRIBE to /app/...: answered once, not kept as a subscription. */
int chatapp__app_subscribe(broker_t *b, const char *id, const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];
	chatroom_t r;
	int rc;

	const char *path = app_path(dest);

	if (path != NULL && strcmp(path, CHATROOM_ROOMS_PATH) == 0) {
		/* Pages that fit a MESSAGE frame with its headers (ids and the
		 * destination take well under 1 KiB). */
		size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024
							      : 1024;
		int64_t after = 0;
		int more = 1, pages = 0;
		chat_buf_t body;

		chat_buf_init(&body, cap + 16);
		for (rc = CHAT_OK; rc == CHAT_OK && more && pages <= CHATROOM_MAX; pages++) {
			chat_buf_reset(&body);
			rc = chatroom_list_json(b->db, after, cap, &body, &after, &more, b->err);
			if (rc == CHAT_OK)
				rc = chatapp__reply_once(b, id, dest, 0, "application/json", chat_buf_slice(&body));
		}
		chat_buf_free(&body);
		return rc;
	}
	if (path != NULL &&
	    (strcmp(path, BROKER_DM_PATH) == 0 || chatapp__dm_of(dest, BROKER_HISTORY_SUFFIX, name)))
		return dm_reply(b, id, dest, path[strlen(BROKER_DM_PATH)] != '\0' ? name : NULL);
	if (chatapp__room_of(dest, 1, BROKER_PRESENCE_SUFFIX, room)) {
		rc = chatroom_get(b->db, room, &r, b->err);
		if (rc == CHAT_ENOTFOUND)
			return broker__refuse(b, "no room %s", room);
		return rc != CHAT_OK ? rc : reply_presence(b, id, dest, room);
	}
	if (chatapp__room_of(dest, 1, BROKER_HISTORY_SUFFIX, room)) {
		if (b->pre.kind != PRE_HISTORY) {
			rc = chatroom_get(b->db, room, &r, b->err);
			if (rc == CHAT_ENOTFOUND)
				return broker__refuse(b, "no room %s", room);
			return rc != CHAT_OK ? rc : broker__refuse(b, "invalid limit or before header");
		}
		if ((rc = broker__prefetch_outbox(b)) != CHAT_OK)
			return rc;
		return reply_history(b, id, dest);
	}
	if (b->opt->app_hook_url[0] != '\0')
		return chatapp__apply_hook(b, id, dest);
	return broker__refuse(b, "cannot subscribe to %s", dest);
}

int chatapp__send_app(broker_t *b, const char *dest, chat_slice_t body)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];

	if (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
			     strcmp(path, BROKER_ROOMS_DELETE_PATH) == 0))
		return chatapp__app_room(b, body, path[strlen(CHATROOM_ROOMS_PATH)] != '\0');
	if (chatapp__room_of(dest, 1, "", room))
		return chatapp__app_post(b, room, body);
	if (chatapp__dm_of(dest, "", name))
		return chatapp__app_dm(b, body);
	if (chatapp__dm_of(dest, BROKER_DM_READ_SUFFIX, name))
		return chatapp__app_dm_read(b, name, body);
	if (b->opt->app_hook_url[0] != '\0')
		return chatapp__apply_hook(b, NULL, dest);
	return broker__refuse(b, "no handler for %s", dest);
}
