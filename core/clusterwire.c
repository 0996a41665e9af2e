/* clusterwire.c - the broker_relay URL and the MESSAGE frames between
 * nodes (see clusterwire.h). */
#include "config.h"
#include "clusterwire.h"

#include "chatrow.h"

#include "dest.h"
#include "json.h"
#include "mediatype.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies s[0..n) into out (CLUSTER_URL_PART_MAX + 1 bytes), decoding
 * %XX when decode; refuses control bytes and NUL. */
static int url_part(const char *s, size_t n, int decode, char *out, const char *what,
		    chat_error_t *err)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (decode && c == '%') {
			int hi = i + 2 < n ? utf8_hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? utf8_hexval((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return chat_error_set(err, CHAT_EINVAL,
						      "broker_relay: a bad %%-escape in the %s",
						      what);
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return chat_error_set(err, CHAT_EINVAL,
					      "broker_relay: a control character in the %s", what);
		if (k == CLUSTER_URL_PART_MAX)
			return chat_error_set(err, CHAT_ETOOBIG,
					      "broker_relay: the %s is longer than %d bytes", what,
					      CLUSTER_URL_PART_MAX);
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return CHAT_OK;
}

int clusterwire_parse_url(const char *s, clusterwire_url_t *out, chat_error_t *err)
{
	static const char scheme[] = "stomp://";
	const char *p, *at, *slash, *colon, *end, *host_end;
	char port[8];
	long v;
	int rc;

	memset(out, 0, sizeof(*out));
	out->port = 61613;
	snprintf(out->vhost, sizeof(out->vhost), "/");
	if (s == NULL || strncmp(s, scheme, sizeof(scheme) - 1) != 0)
		return chat_error_set(err, CHAT_EINVAL,
				      "broker_relay: expected stomp://USER:PASS@HOST:PORT/VHOST");
	p = s + sizeof(scheme) - 1;
	end = p + strlen(p);
	slash = strchr(p, '/');
	host_end = slash != NULL ? slash : end;
	at = NULL;
	for (const char *q = p; q < host_end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			return chat_error_set(err, CHAT_EINVAL,
					      "broker_relay: expected USER:PASS@ before the host");
		if ((rc = url_part(p, (size_t)(colon - p), 1, out->user, "user", err)) != CHAT_OK ||
		    (rc = url_part(colon + 1, (size_t)(at - colon - 1), 1, out->pass, "password",
				   err)) != CHAT_OK)
			return rc;
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(host_end - p));
	if ((rc = url_part(p, (size_t)((colon != NULL ? colon : host_end) - p), 0, out->host,
			   "host", err)) != CHAT_OK)
		return rc;
	if (out->host[0] == '\0' || strpbrk(out->host, "@[]%?#") != NULL)
		return chat_error_set(err, CHAT_EINVAL, "broker_relay: a bad host");
	if (colon != NULL) {
		size_t n = (size_t)(host_end - colon - 1);
		char *e;

		if (n == 0 || n >= sizeof(port))
			return chat_error_set(err, CHAT_EINVAL, "broker_relay: a bad port");
		memcpy(port, colon + 1, n);
		port[n] = '\0';
		v = strtol(port, &e, 10);
		if (*e != '\0' || port[0] < '0' || port[0] > '9' || v < 1 || v > 65535)
			return chat_error_set(err, CHAT_EINVAL, "broker_relay: a bad port");
		out->port = (int)v;
	}
	if (slash != NULL && slash + 1 < end) {
		if ((rc = url_part(slash + 1, (size_t)(end - slash - 1), 1, out->vhost, "vhost",
				   err)) != CHAT_OK)
			return rc;
	}
	return CHAT_OK;
}

static int hdr_int(const stomp_frame_t *f, const char *name, int64_t lo, int64_t *v)
{
	const chat_slice_t *h = stomp_frame_header(f, name);
	char tmp[24], *e;
	long long x;

	if (h == NULL || h->len == 0 || h->len >= sizeof(tmp))
		return CHAT_EPROTO;
	memcpy(tmp, h->ptr, h->len);
	tmp[h->len] = '\0';
	if (tmp[0] < '0' || tmp[0] > '9')
		return CHAT_EPROTO;
	errno = 0;
	x = strtoll(tmp, &e, 10);
	if (*e != '\0' || errno == ERANGE || x < lo)
		return CHAT_EPROTO;
	*v = x;
	return CHAT_OK;
}

/* A message for a user's sessions (/user/NAME/queue/... or /topic/...) or,
 * as CLUSTERWIRE_TOPIC, for a /topic/...: its body as it was sent, its
 * content-type and sender when it had them. */
static int user_message(const stomp_frame_t *f, clusterwire_msg_t *m, clusterwire_kind_t kind)
{
	const chat_slice_t *d = stomp_frame_header(f, "chat-dest");
	const chat_slice_t *ct = stomp_frame_header(f, "chat-ctype");
	const chat_slice_t *who = stomp_frame_header(f, "chat-sender");
	chat_slice_t user, rest;

	if (d == NULL || d->len > CLUSTERWIRE_DEST_MAX || dest_validate(*d, 0) != CHAT_OK)
		return CHAT_EPROTO;
	if (kind == CLUSTERWIRE_TOPIC
		    ? dest_classify(*d) != DEST_TOPIC
		    : dest_classify(*d) != DEST_USER ||
			      dest_user_split(*d, &user, &rest) != CHAT_OK || user.len == 0)
		return CHAT_EPROTO;
	if (ct != NULL && !mediatype_valid(*ct))
		return CHAT_EPROTO;
	if (who != NULL && (who->len == 0 || who->len > CLUSTERWIRE_SENDER_MAX ||
			    memchr(who->ptr, '\0', who->len) != NULL))
		return CHAT_EPROTO;
	m->kind = kind;
	m->dest = *d;
	if (ct != NULL)
		m->ctype = *ct;
	if (who != NULL)
		m->sender = *who;
	m->body = f->body;
	return CHAT_OK;
}

int clusterwire_token_body(chat_buf_t *out, int put, const unsigned char *hash, const char *user,
			   int64_t created_ms, int64_t expires_ms)
{
	char hex[CLUSTERWIRE_TOKEN_HASH * 2 + 1];
	int rc;

	for (size_t i = 0; i < CLUSTERWIRE_TOKEN_HASH; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	if (!put)
		return chat_buf_printf(out, "{\"op\":\"del\",\"hash\":\"%s\"}", hex);
	if (user == NULL || *user == '\0')
		return CHAT_EINVAL;
	if ((rc = chat_buf_printf(out, "{\"op\":\"put\",\"hash\":\"%s\",\"user\":", hex)) !=
		    CHAT_OK ||
	    (rc = json_encode_string(out, user, strlen(user))) != CHAT_OK)
		return rc;
	return chat_buf_printf(out, ",\"created\":%lld,\"expires\":%lld}", (long long)created_ms,
			       (long long)expires_ms);
}

int clusterwire_presence_body(chat_buf_t *out, int entered, const char *room, const char *user)
{
	int rc;

	if (room == NULL || user == NULL || *user == '\0' ||
	    !chatmsg_room_valid((chat_slice_t){ room, strlen(room) }))
		return CHAT_EINVAL;
	if ((rc = chat_buf_printf(out, "{\"op\":\"%s\",\"room\":\"%s\",\"user\":",
				  entered ? "enter" : "leave", room)) != CHAT_OK ||
	    (rc = json_encode_string(out, user, strlen(user))) != CHAT_OK)
		return rc;
	return chat_buf_putc(out, '}');
}

/* A user entering or leaving a room on another node; op, room and user
 * are read into the caller's buffers. */
static int presence_message(const stomp_frame_t *f, clusterwire_msg_t *m, chat_buf_t *op,
			    chat_buf_t *room, chat_buf_t *user)
{
	json_field_t fl[3] = {
		{ "op", op, 1, 0, 0, 0 },
		{ "room", room, 1, 0, 0, 0 },
		{ "user", user, 1, 0, 0, 0 },
	};
	int rc;

	chat_buf_reset(op);
	chat_buf_reset(room);
	chat_buf_reset(user);
	if ((rc = json_parse_object(f->body.ptr, f->body.len, &chatmsg_object_limits, fl, 3,
				    NULL)) != CHAT_OK)
		return rc;
	if ((!chat_slice_eq(chat_buf_slice(op), "enter") &&
	     !chat_slice_eq(chat_buf_slice(op), "leave")) ||
	    room->len > CHATMSG_ROOM_MAX || !chatmsg_room_valid(chat_buf_slice(room)) ||
	    user->len == 0 || user->len > CLUSTERWIRE_SENDER_MAX)
		return CHAT_EINVAL;
	m->kind = CLUSTERWIRE_PRESENCE;
	m->body = f->body;
	m->entered = op->data[0] == 'e';
	memcpy(m->room, room->data, room->len + 1);
	memcpy(m->token_user, user->data, user->len + 1);
	return CHAT_OK;
}

int clusterwire_room_body(chat_buf_t *out, int created, const char *room, int64_t id,
			  const char *user, int64_t at_ms)
{
	int rc;

	if (room == NULL || user == NULL ||
	    !chatmsg_room_valid((chat_slice_t){ room, strlen(room) }))
		return CHAT_EINVAL;
	if ((rc = chat_buf_printf(out, "{\"op\":\"%s\",\"name\":\"%s\",\"id\":%lld,\"user\":",
				  created ? "create" : "delete", room, (long long)id)) != CHAT_OK ||
	    (rc = json_encode_string(out, user, strlen(user))) != CHAT_OK)
		return rc;
	return chat_buf_printf(out, ",\"at\":%lld}", (long long)at_ms);
}

/* A room created or deleted on another node; op, name and user are read
 * into the caller's buffers. */
static int room_message(const stomp_frame_t *f, clusterwire_msg_t *m, chat_buf_t *op,
			chat_buf_t *name, chat_buf_t *user)
{
	json_field_t fl[5] = {
		{ "op", op, 1, 0, 0, 0 },   { "name", name, 1, 0, 0, 0 },
		{ "id", NULL, 1, 0, 0, 0 }, { "user", user, 1, 0, 0, 0 },
		{ "at", NULL, 1, 0, 0, 0 },
	};
	int rc;

	chat_buf_reset(op);
	chat_buf_reset(name);
	chat_buf_reset(user);
	if ((rc = json_parse_object(f->body.ptr, f->body.len, &chatmsg_object_limits, fl, 5,
				    NULL)) != CHAT_OK)
		return rc;
	if ((!chat_slice_eq(chat_buf_slice(op), "create") &&
	     !chat_slice_eq(chat_buf_slice(op), "delete")) ||
	    name->len > CHATMSG_ROOM_MAX || !chatmsg_room_valid(chat_buf_slice(name)) ||
	    user->len > CLUSTERWIRE_SENDER_MAX || fl[2].num <= 0 || fl[4].num < 0)
		return CHAT_EINVAL;
	m->kind = CLUSTERWIRE_ROOM;
	m->body = f->body;
	m->entered = op->data[0] == 'c';
	memcpy(m->room, name->data, name->len + 1);
	memcpy(m->token_user, user->data, user->len + 1);
	m->room_id = fl[2].num;
	m->room_created_ms = fl[4].num;
	return CHAT_OK;
}

/* A token issued or revoked on another node; op, user and hash are read
 * into the caller's buffers. */
static int token_message(const stomp_frame_t *f, clusterwire_msg_t *m, chat_buf_t *op,
			 chat_buf_t *user, chat_buf_t *hash)
{
	json_field_t fl[5] = {
		{ "op", op, 1, 0, 0, 0 },        { "hash", hash, 1, 0, 0, 0 },
		{ "user", user, 0, 0, 0, 0 },    { "created", NULL, 0, 0, 0, 0 },
		{ "expires", NULL, 0, 0, 0, 0 },
	};
	int rc;

	chat_buf_reset(op);
	chat_buf_reset(user);
	chat_buf_reset(hash);
	if ((rc = json_parse_object(f->body.ptr, f->body.len, &chatmsg_object_limits, fl, 5,
				    NULL)) != CHAT_OK)
		return rc;
	if (hash->len != CLUSTERWIRE_TOKEN_HASH * 2)
		return CHAT_EINVAL;
	for (size_t i = 0; i < CLUSTERWIRE_TOKEN_HASH; i++) {
		int hi = utf8_hexval((unsigned char)hash->data[2 * i]);
		int lo = utf8_hexval((unsigned char)hash->data[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CHAT_EINVAL;
		m->token_hash[i] = (unsigned char)(hi * 16 + lo);
	}
	m->kind = CLUSTERWIRE_TOKEN;
	m->body = f->body;
	if (chat_slice_eq(chat_buf_slice(op), "del"))
		return CHAT_OK;
	if (!chat_slice_eq(chat_buf_slice(op), "put") || !fl[2].found || !fl[3].found ||
	    !fl[4].found || user->len == 0 || user->len > CLUSTERWIRE_SENDER_MAX || fl[3].num < 0 ||
	    fl[4].num <= fl[3].num)
		return CHAT_EINVAL;
	m->token_put = 1;
	memcpy(m->token_user, user->data, user->len + 1);
	m->token_created_ms = fl[3].num;
	m->token_expires_ms = fl[4].num;
	return CHAT_OK;
}

int clusterwire_parse_message(const stomp_frame_t *f, clusterwire_msg_t *m, chat_buf_t *room,
			      chat_buf_t *writer, chat_buf_t *text)
{
	const chat_slice_t *r, *ack, *kind;
	chatrow_msg_t c;
	int rc;

	memset(m, 0, sizeof(*m));
	if (f->command != STOMP_CMD_MESSAGE)
		return CHAT_EPROTO;
	r = stomp_frame_header(f, "chat-room");
	ack = stomp_frame_header(f, "ack");
	if (ack == NULL || ack->len == 0 || ack->len > CLUSTERWIRE_ACK_MAX)
		return CHAT_EPROTO;
	m->ack = *ack;
	if ((rc = hdr_int(f, "chat-origin", 1, &m->origin)) != CHAT_OK ||
	    (rc = hdr_int(f, "chat-id", 1, &m->id)) != CHAT_OK)
		return rc;
	kind = stomp_frame_header(f, "chat-kind");
	if (m->origin < CLUSTER_SLOTS && kind != NULL && chat_slice_eq(*kind, "clock")) {
		m->kind = CLUSTERWIRE_CLOCK;
		return CHAT_OK;
	}
	if (m->origin >= CLUSTER_SLOTS || m->id % CLUSTER_SLOTS != m->origin)
		return CHAT_EPROTO;
	if (kind != NULL && chat_slice_eq(*kind, "user"))
		return user_message(f, m, CLUSTERWIRE_USER);
	if (kind != NULL && chat_slice_eq(*kind, "topic"))
		return user_message(f, m, CLUSTERWIRE_TOPIC);
	if (kind != NULL && chat_slice_eq(*kind, "token"))
		return token_message(f, m, room, writer, text);
	if (kind != NULL && chat_slice_eq(*kind, "presence"))
		return presence_message(f, m, text, room, writer);
	if (kind != NULL && chat_slice_eq(*kind, "room"))
		return room_message(f, m, text, room, writer);
	if (kind != NULL)
		return CHAT_EPROTO;
	if ((rc = hdr_int(f, "chat-room-id", 1, &m->room_id)) != CHAT_OK ||
	    (rc = hdr_int(f, "chat-room-created", 0, &m->room_created_ms)) != CHAT_OK)
		return rc;
	if (r == NULL || r->len > CHATMSG_ROOM_MAX || !chatmsg_room_valid(*r))
		return CHAT_EPROTO;
	memcpy(m->room, r->ptr, r->len);
	m->room[r->len] = '\0';
	if ((rc = chatrow_parse(f->body, &c, room, writer, text)) != CHAT_OK)
		return rc;
	if (c.id != m->id || strcmp(room->data, m->room) != 0)
		return CHAT_EINVAL;
	m->body = f->body;
	return CHAT_OK;
}
