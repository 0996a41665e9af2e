/*
 * api_int.h - what the files of the JSON HTTP API share (api.c routes,
 * api_users.c, api_rooms.c, api_keyed.c answer): the request thread's
 * handles and the helpers every endpoint answers with.  Private to fcgi/api*.c.
 */
#ifndef CHAT_API_INT_H
#define CHAT_API_INT_H

#include "api.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "clock.h"
#include "json.h"
#include "session.h"
#include "store.h"

/* A request thread's handles, made on its first API request. */
typedef struct api__thread {
	chatdb_t *db;   /* the thread's chat.db handle (owned) */
	store_t *store; /* the durable store, opened on demand (owned; may be NULL) */
} api__thread_t;

/* The thread's store, opened on demand (NULL when unreachable). */
store_t *api__thread_store(api__thread_t *t, const chat_options_t *opt, chat_error_t *err);

/* Answers status with the JSON body (none for 204), never cached; extra:
 * more header lines, or NULL. */
void api__respond_json(http_request_t *r, int status, const char *extra, chat_slice_t body);

/* Answers status with {"error": msg}. */
void api__respond_error(http_request_t *r, int status, const char *extra, const char *msg);

/* Answers a failure: validation messages (4xx) go to the client as they
 * are; for a server-side failure (5xx: database, memory) the client gets a
 * generic reason and the log gets the detail, under what. */
void api__respond_failure(http_request_t *r, const char *what, int rc, const chat_error_t *e);

/* Reads the bounded body; answers 413/408/400 itself and returns non-zero. */
int api__read_body(http_request_t *r, chat_buf_t *body);

/* The request's token: "Authorization: Bearer T", else "token" in the
 * JSON body (front servers that do not pass Authorization to FastCGI).
 * Other members of the body go to extra (may be NULL). */
int api__request_token(http_request_t *r, chat_buf_t *body, chat_buf_t *token, json_field_t *extra,
		       chat_error_t *e);

/* Reads the body and checks its token (api__request_token(); extra as
 * there), the token's user going to user: 0, or answers 401 (no or a bad
 * token) or the failure (logged under what) itself and returns non-zero. */
int api__token_user(api__thread_t *t, http_request_t *r, json_field_t *extra, const char *what,
		    char user[SESSION_USER_MAX + 1], chat_error_t *e);

/* The endpoints (api.h), each answering r itself. */
/* api_users.c: POST /api/users, /api/login, /api/logout, POST or PATCH /api/users/me. */
void api__post_users(const chat_options_t *opt, api__thread_t *t, http_request_t *r);
void api__post_login(const chat_options_t *opt, api__thread_t *t, http_request_t *r);
void api__post_logout(const chat_options_t *opt, api__thread_t *t, http_request_t *r);
void api__post_me(api__thread_t *t, http_request_t *r);
/* api_rooms.c: GET and POST /api/rooms, DELETE /api/rooms/NAME (path_name;
 * NULL for a POST), DELETE /api/rooms/ROOM/messages/ID, POST /api/bans and
 * DELETE /api/bans/NAME (path_name; NULL for a POST). */
void api__get_rooms(api__thread_t *t, http_request_t *r);
void api__room_request(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
		       const chat_slice_t *path_name);
void api__delete_message(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
			 chat_slice_t room, chat_slice_t id);
void api__ban_request(const chat_options_t *opt, api__thread_t *t, http_request_t *r,
		      const chat_slice_t *path_name);
/* api_keyed.c: the endpoints a key opens, GET /api/metrics and POST /api/publish. */
void api__get_metrics(const chat_options_t *opt, api__thread_t *t, http_request_t *r);
void api__post_publish(const chat_options_t *opt, api__thread_t *t, http_request_t *r);

#endif
