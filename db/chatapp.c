/*
 * chatapp.c - the chat application behind /app destinations: which
 * destinations it handles, and its answers to SUBSCRIBE (rooms, presence,
 * history, direct message lists).
 */
#include "config.h"
#include "broker_int.h"

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

/* What the built-in application does with a SEND or a SUBSCRIBE to an
 * /app destination: the one list of its destinations. */
typedef enum app_route {
	ROUTE_NONE,         /* not the built-in application's (the hook's, if any) */
	ROUTE_TYPING,       /* SEND APP/chat/room/{id}/typing */
	ROUTE_DM_TYPING,    /* SEND APP/dm/{user}/typing */
	ROUTE_ROOMS,        /* SEND APP/rooms (create), SUBSCRIBE APP/rooms (list) */
	ROUTE_ROOMS_DELETE, /* SEND APP/rooms/delete */
	ROUTE_POST,         /* SEND APP/chat/room/{id} */
	ROUTE_DM,           /* SEND APP/dm/{user} */
	ROUTE_DM_READ,      /* SEND APP/dm/{user}/read */
	ROUTE_DM_LIST,      /* SUBSCRIBE APP/dm */
	ROUTE_DM_HISTORY,   /* SUBSCRIBE APP/dm/{user}/history */
	ROUTE_PRESENCE,     /* SUBSCRIBE APP/chat/room/{id}/presence */
	ROUTE_HISTORY       /* SUBSCRIBE APP/chat/room/{id}/history */
} app_route_t;

/* The route of a SEND (!sub) or SUBSCRIBE (sub) to dest, with the room
 * id or the user name the destination names. */
static app_route_t app_route(const char *dest, int sub, char room[CHATMSG_ROOM_MAX + 1],
			     char name[CHATMSG_NAME_MAX + 1])
{
	const char *path = app_path(dest);

	if (path == NULL)
		return ROUTE_NONE;
	if (strcmp(path, CHATROOM_ROOMS_PATH) == 0)
		return ROUTE_ROOMS;
	if (sub) {
		if (strcmp(path, BROKER_DM_PATH) == 0)
			return ROUTE_DM_LIST;
		if (chatapp__dm_of(dest, BROKER_HISTORY_SUFFIX, name))
			return ROUTE_DM_HISTORY;
		if (chatapp__room_of(dest, 1, BROKER_PRESENCE_SUFFIX, room))
			return ROUTE_PRESENCE;
		return chatapp__room_of(dest, 1, BROKER_HISTORY_SUFFIX, room) ? ROUTE_HISTORY
									      : ROUTE_NONE;
	}
	if (chatapp__room_of(dest, 1, BROKER_TYPING_SUFFIX, room))
		return ROUTE_TYPING;
	if (chatapp__dm_of(dest, BROKER_TYPING_SUFFIX, name))
		return ROUTE_DM_TYPING;
	if (strcmp(path, BROKER_ROOMS_DELETE_PATH) == 0)
		return ROUTE_ROOMS_DELETE;
	if (chatapp__room_of(dest, 1, "", room))
		return ROUTE_POST;
	if (chatapp__dm_of(dest, "", name))
		return ROUTE_DM;
	return chatapp__dm_of(dest, BROKER_DM_READ_SUFFIX, name) ? ROUTE_DM_READ : ROUTE_NONE;
}

/* 1 when the built-in application handles a SEND (!sub) or SUBSCRIBE
 * (sub) to app dest. */
int chatapp__builtin(const char *dest, int sub)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];

	return app_route(dest, sub, room, name) != ROUTE_NONE;
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

/* A sorted list of names, "name\0name\0...". */
static int add_name(void *ctx, const char *name)
{
	return chat_buf_append(ctx, name, strlen(name) + 1);
}

/* Appends name to the JSON array in body (*n names so far). */
static int put_name(chat_buf_t *body, int *n, const char *name)
{
	int rc = (*n)++ > 0 ? chat_buf_putc(body, ',') : CHAT_OK;

	return rc == CHAT_OK ? json_encode_string(body, name, strlen(name)) : rc;
}

/* The names of two sorted lists of distinct names ("name\0..."), each
 * once, in byte order (SQL's UNION ... ORDER BY): this node's users and
 * the other nodes' (cluster_room_users()). */
static int merge_names(chat_slice_t mine, chat_slice_t others, chat_buf_t *body)
{
	const char *m = mine.ptr, *me = mine.ptr + mine.len;
	const char *o = others.ptr, *oe = others.ptr + others.len;
	int rc = CHAT_OK, n = 0, c;

	while (rc == CHAT_OK && (m < me || o < oe)) {
		c = m == me ? 1 : o == oe ? -1 : strcmp(m, o);
		rc = put_name(body, &n, c <= 0 ? m : o);
		if (c <= 0)
			m += strlen(m) + 1;
		if (c >= 0)
			o += strlen(o) + 1;
	}
	return rc;
}

/* Users present in a room: a JSON array of names. */
static int reply_presence(broker_t *b, const char *sub_id, const char *dest, const char *room)
{
	char topic[CHATDB_DEST_MAX + 1];
	chat_buf_t body, mine, others;
	int rc;

	chat_buf_init(&body, (size_t)b->opt->max_frame);
	chat_buf_init(&mine, (size_t)b->opt->max_frame);
	chat_buf_init(&others, (size_t)b->opt->max_frame);
	rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, '[');
	if (rc == CHAT_OK)
		rc = session__dest_users(b->db, topic, add_name, &mine, b->err);
	if (rc == CHAT_OK)
		rc = cluster_room_users(b->db, room, add_name, &others, b->err);
	if (rc == CHAT_OK)
		rc = merge_names(chat_buf_slice(&mine), chat_buf_slice(&others), &body);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = chatapp__reply_once(b, sub_id, dest, 0, "application/json",
					 chat_buf_slice(&body));
	chat_buf_free(&others);
	chat_buf_free(&body);
	chat_buf_free(&mine);
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

/* SUBSCRIBE APP/rooms: the room list, in pages that fit a MESSAGE frame
 * with its headers (ids and the destination take well under 1 KiB). */
static int reply_rooms(broker_t *b, const char *id, const char *dest)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	int64_t after = 0;
	int more = 1, pages = 0, rc;
	chat_buf_t body;

	chat_buf_init(&body, cap + 16);
	for (rc = CHAT_OK; rc == CHAT_OK && more && pages <= CHATROOM_MAX; pages++) {
		chat_buf_reset(&body);
		rc = chatroom_list_json(b->db, after, cap, &body, &after, &more, b->err);
		if (rc == CHAT_OK)
			rc = chatapp__reply_once(b, id, dest, 0, "application/json",
						 chat_buf_slice(&body));
	}
	chat_buf_free(&body);
	return rc;
}

/* The room a SUBSCRIBE names: refused when there is none. */
static int room_exists(broker_t *b, const char *room)
{
	chatroom_t r;
	int rc = chatroom_get(b->db, room, &r, b->err);

	return rc == CHAT_ENOTFOUND ? broker__refuse(b, "no room %s", room) : rc;
}

/* SUBSCRIBE to /app/...: answered once, not kept as a subscription. */
static int app_subscribe(broker_t *b, const char *id, const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];
	int rc;

	switch (app_route(dest, 1, room, name)) {
	case ROUTE_ROOMS: return reply_rooms(b, id, dest);
	case ROUTE_DM_LIST: return dm_reply(b, id, dest, NULL);
	case ROUTE_DM_HISTORY: return dm_reply(b, id, dest, name);
	case ROUTE_PRESENCE:
		rc = room_exists(b, room);
		return rc != CHAT_OK ? rc : reply_presence(b, id, dest, room);
	case ROUTE_HISTORY:
		if (b->pre.kind != PRE_HISTORY) {
			rc = room_exists(b, room);
			return rc != CHAT_OK ? rc
					     : broker__refuse(b, "invalid limit or before header");
		}
		if ((rc = chatapp__prefetch_outbox(b)) != CHAT_OK)
			return rc;
		return chatapp__reply_history(b, id, dest);
	default: break;
	}
	if (b->opt->app_hook_url[0] != '\0')
		return chatapp__apply_hook(b, id, dest);
	return broker__refuse(b, "cannot subscribe to %s", dest);
}

/* SEND to /app/... (typing is app_send_unmetered()'s). */
static int app_send(broker_t *b, const char *dest, chat_slice_t body)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];

	switch (app_route(dest, 0, room, name)) {
	case ROUTE_ROOMS: return chatapp__app_room(b, body, 0);
	case ROUTE_ROOMS_DELETE: return chatapp__app_room(b, body, 1);
	case ROUTE_POST: return chatapp__app_post(b, room, body);
	case ROUTE_DM: return chatapp__app_dm(b, body);
	case ROUTE_DM_READ: return chatapp__app_dm_read(b, name, body);
	default: break;
	}
	if (b->opt->app_hook_url[0] != '\0')
		return chatapp__apply_hook(b, NULL, dest);
	return broker__refuse(b, "no handler for %s", dest);
}

/* Typing: its own bucket (chatapp_room.c), not the user's SEND token. */
static int app_send_unmetered(broker_t *b, const char *dest, int *handled)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];

	*handled = 1;
	switch (app_route(dest, 0, room, name)) {
	case ROUTE_TYPING: return chatapp__app_typing(b, dest);
	case ROUTE_DM_TYPING: return chatapp__app_dm_typing(b);
	default: *handled = 0; return CHAT_OK;
	}
}

/* A SEND to the hook is not kept for a STOMP transaction's COMMIT. */
static int app_send_in_tx(const broker_t *b, const char *dest)
{
	return !chatapp__is_app_dest(dest) || b->opt->app_hook_url[0] == '\0' ||
	       chatapp__builtin(dest, 0);
}

/* Before the frame's transaction: the hook's call, a direct message's
 * user lookup, or a history or resume subscription's store read. */
static int app_prepare(broker_t *b, const stomp_frame_t *f, const char *dest)
{
	prefetch_t *p = &b->pre;
	chat_error_t e = { 0 };
	store_user_t u;
	store_t *s;

	if (chatapp__hook_wanted(b, f, dest))
		return chatapp__call_hook(b, f, dest);
	p->dm_rc = 1;
	if (f->command == STOMP_CMD_SEND && dest != NULL &&
	    (chatapp__dm_of(dest, "", p->dm_peer) ||
	     chatapp__dm_of(dest, BROKER_TYPING_SUFFIX, p->dm_peer))) {
		s = broker__get_store(b);
		p->dm_rc = s == NULL ? CHAT_EIO : store_user_get_by_name(s, p->dm_peer, &u, &e);
		if (p->dm_rc == CHAT_EDB)
			broker__store_failed(b);
		if (p->dm_rc == CHAT_OK)
			snprintf(p->dm_peer, sizeof(p->dm_peer), "%s", u.name);
		return CHAT_OK;
	}
	if (f->command != STOMP_CMD_SUBSCRIBE || dest == NULL)
		return CHAT_OK;
	return chatapp__history_prepare(b, f, dest);
}

/* Frees what app_prepare() kept. */
static void app_release(broker_t *b)
{
	chatapp__hlist_free(&b->pre.msgs);
	memset(&b->pre, 0, sizeof(b->pre));
}

/* Before a SUBSCRIBE to broker topic (or queue) is kept: a room's topic
 * needs the room; only a room's takes the after header (resume). */
static int app_topic_check(broker_t *b, const stomp_frame_t *f, const char *topic, int *is_room)
{
	char room[CHATMSG_ROOM_MAX + 1];
	int rc;

	*is_room = chatapp__room_of(topic, 0, "", room);
	if (*is_room && (rc = room_exists(b, room)) != CHAT_OK)
		return rc;
	if (broker__header(f, "after") != NULL && (!*is_room || b->pre.kind != PRE_RESUME))
		return broker__refuse(b, "invalid after header");
	return CHAT_OK;
}

/* Once the subscription is kept: the resumed messages, then ENTER. */
static int app_topic_subscribed(broker_t *b, const char *id, const char *topic, int is_room)
{
	char room[CHATMSG_ROOM_MAX + 1];
	int rc;

	if (b->pre.kind == PRE_RESUME) {
		if ((rc = chatapp__prefetch_outbox(b)) != CHAT_OK ||
		    (rc = chatapp__resume(b, id, topic)) != CHAT_OK)
			return rc;
	}
	if (is_room && chatapp__room_of(topic, 0, "", room))
		return chatapp__enter(b, room);
	return CHAT_OK;
}

const broker_app_ops_t chatapp_ops = {
	.prepare = app_prepare,
	.release = app_release,
	.send_in_tx = app_send_in_tx,
	.send_unmetered = app_send_unmetered,
	.send = app_send,
	.subscribe = app_subscribe,
	.topic_check = app_topic_check,
	.topic_subscribed = app_topic_subscribed,
	.topic_gone = chatapp__leave_if_gone,
};
