/* api_rooms.c - the API's rooms and moderation (see api.h): the room list,
 * creating and deleting rooms, deleting a message, bans. */
#include "config.h"
#include "api_int.h"

#include "auth.h"
#include "broker.h"
#include "chatroom.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Answers a moderation result: 204, or the error's status. */
static void respond_moderation(http_request_t *r, const char *what, int rc, const chat_error_t *e)
{
	if (rc == CHAT_OK)
		api__respond_json(r, 204, NULL, CHAT_SLICE(""));
	else if (rc == CHAT_EDENIED)
		api__respond_error(r, 403, NULL, e->message);
	else if (rc == CHAT_ENOTFOUND)
		api__respond_error(r, 404, NULL, e->message);
	else
		api__respond_failure(r, what, rc, e);
}

/* DELETE /api/rooms/ROOM/messages/ID. */
void api__delete_message(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
			 chat_slice_t room, chat_slice_t id)
{
	char user[SESSION_USER_MAX + 1], num[24];
	chat_error_t e = { 0 };
	long long v = 0;
	char *end = NULL;
	int rc;

	if (api__token_user(t, r, NULL, "token", user, &e) != CHAT_OK)
		return;
	if (id.len > 0 && id.len < sizeof(num) && id.ptr[0] != '-' && id.ptr[0] != '+') {
		memcpy(num, id.ptr, id.len);
		num[id.len] = '\0';
		v = strtoll(num, &end, 10);
	}
	if (end == NULL || *end != '\0' || v <= 0) {
		api__respond_error(r, 404, NULL, "no such message");
		return;
	}
	rc = chatroom_delete_msg(t->db, opt, room, v, user, chat_wall_ms(), &e);
	respond_moderation(r, "delete message", rc, &e);
}

/* POST /api/bans {"name"} (path_name NULL) or DELETE /api/bans/NAME. */
void api__ban_request(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
		      const chat_slice_t *path_name)
{
	char user[SESSION_USER_MAX + 1], who[CHATMSG_NAME_MAX + 1];
	chat_buf_t name;
	chat_error_t e = { 0 };
	json_field_t nf = { "name", NULL, 1, 0, 0, 0 };
	int rc;

	chat_buf_init(&name, CHATMSG_NAME_MAX);
	nf.str = &name;
	if (api__token_user(t, r, path_name == NULL ? &nf : NULL, "token", user, &e) != CHAT_OK)
		goto out;
	if (path_name != NULL)
		rc = chat_buf_append(&name, path_name->ptr, path_name->len);
	else
		rc = CHAT_OK;
	if (rc != CHAT_OK || name.len == 0 || name.len > CHATMSG_NAME_MAX) {
		api__respond_error(r, 400, NULL, "a user name is needed");
		goto out;
	}
	memcpy(who, name.data, name.len);
	who[name.len] = '\0';
	rc = auth_moderate_ban(t->db, opt, who, path_name == NULL, user, chat_wall_ms(), &e);
	/* The banned user's sessions end now, on every transport. */
	if (rc == CHAT_OK && path_name == NULL &&
	    broker_end_user(t->db, opt, who, BROKER_ERROR_BANNED, chat_wall_ms(), NULL, &e) !=
		    CHAT_OK)
		log_warn("ban: cannot end %s's sessions yet: %s", who, e.message);
	respond_moderation(r, path_name == NULL ? "ban" : "unban", rc, &e);
out:
	chat_buf_free(&name);
}

void api__get_rooms(api__thread_t *t, http_request_t *r)
{
	/* A room renders in under 1 KiB (an id of [A-Za-z0-9_-], a display
	 * name of NAMES_CHARS_MAX characters, each 12 bytes at worst once
	 * escaped), and there are at most CHATROOM_MAX: one page always
	 * holds them all. */
	size_t max = (size_t)CHATROOM_MAX * 1024;
	chat_buf_t out;
	chat_error_t e = { 0 };
	int64_t last;
	int more;

	chat_buf_init(&out, max + 16);
	if (chatroom_list_json(t->db, 0, max, &out, &last, &more, &e) == CHAT_OK && !more)
		api__respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		api__respond_error(r, 500, NULL, "cannot list the rooms");
	chat_buf_free(&out);
}

/* POST /api/rooms {"name"} (path_name NULL) or DELETE /api/rooms/NAME,
 * by the token's user. */
void api__room_request(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
		       const chat_slice_t *path_name)
{
	chat_buf_t body, token, name, out;
	chat_error_t e = { 0 };
	json_field_t nf = { "name", NULL, 1, 0, 0, 0 };
	char user[SESSION_USER_MAX + 1];
	chatroom_t room;
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	chat_buf_init(&name, NAMES_INPUT_MAX);
	chat_buf_init(&out, 1024);
	nf.str = &name;
	if (api__read_body(r, &body) != CHAT_OK)
		goto out;
	rc = api__request_token(r, &body, &token, path_name == NULL ? &nf : NULL, &e);
	if (rc == CHAT_OK)
		rc = auth_token_check(t->db, token.data, token.len, chat_wall_ms(), user, &e);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED) {
		api__respond_error(r, 401, NULL,
				   rc == CHAT_ENOTFOUND ? "invalid token" : e.message);
		goto out;
	}
	if (rc == CHAT_OK && path_name != NULL)
		rc = chatroom_delete(t->db, opt, *path_name, user, chat_wall_ms(), &room, &e);
	else if (rc == CHAT_OK)
		rc = chatroom_create(t->db, opt, chat_buf_slice(&name), user, chat_wall_ms(), &room,
				     &e);
	if (rc == CHAT_OK && path_name != NULL) {
		api__respond_json(r, 204, NULL, CHAT_SLICE(""));
	} else if (rc == CHAT_OK) {
		if (chatmsg_render_room(&out, room.name, room.display, room.creator,
					room.created_ms) == CHAT_OK)
			api__respond_json(r, 201, NULL, chat_buf_slice(&out));
		else
			api__respond_error(r, 500, NULL, "internal error");
	} else if (rc == CHAT_ETOOMANY || rc == CHAT_EDENIED) {
		api__respond_error(r, 403, NULL, e.message);
	} else if (rc == CHAT_ENOTFOUND) {
		api__respond_error(r, 404, NULL, e.message);
	} else {
		api__respond_failure(r, path_name != NULL ? "delete room" : "create room", rc, &e);
	}
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
	chat_buf_free(&name);
	chat_buf_free(&out);
}
