/* api.c - the JSON HTTP API of chat.fcgi (see api.h): the request thread's
 * handles, the answers every endpoint shares, GET /api/config and the
 * routing; the endpoints are in api_users.c, api_rooms.c and api_keyed.c.
 * IO only: validation lives in core/chatmsg, users and tokens in db/auth,
 * rooms in db/chatroom. */
#include "config.h"
#include "api_int.h"

#include "auth.h"
#include "json.h"
#include "log.h"
#include "origin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_key_t thread_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_free(void *p)
{
	api__thread_t *t = p;

	if (t == NULL)
		return;
	chatdb_close(t->db);
	store_close(t->store);
	free(t);
}

static void make_key(void)
{
	(void)pthread_key_create(&thread_key, thread_free);
}

static api__thread_t *thread_get(const chat_options_t *opt, doorbell_t *bell, chat_error_t *err)
{
	api__thread_t *t;

	pthread_once(&key_once, make_key);
	t = pthread_getspecific(thread_key);
	if (t != NULL)
		return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	if (chatdb_open(opt->db_path, 0, &t->db, err) != CHAT_OK) {
		free(t);
		return NULL;
	}
	chatdb_set_doorbell(t->db, bell);
	pthread_setspecific(thread_key, t);
	return t;
}

store_t *api__thread_store(api__thread_t *t, const chat_options_t *opt, chat_error_t *err)
{
	if (t->store == NULL && store_open(opt->store_uri, &t->store, err) != CHAT_OK)
		t->store = NULL;
	return t->store;
}

int api_match(chat_slice_t path)
{
	size_t n = strlen(API_PREFIX);

	return path.len >= n && memcmp(path.ptr, API_PREFIX, n) == 0 &&
	       (path.len == n || path.ptr[n] == '/');
}

void api__respond_json(http_request_t *r, int status, const char *extra, chat_slice_t body)
{
	char head[256];

	snprintf(head, sizeof(head), "Cache-Control: no-store\r\n%s", extra ? extra : "");
	http_respond(r, status, status == 204 ? NULL : "application/json; charset=UTF-8", head,
		     body.ptr, status == 204 ? 0 : body.len);
}

void api__respond_error(http_request_t *r, int status, const char *extra, const char *msg)
{
	chat_buf_t b;

	chat_buf_init(&b, 1024);
	if (chat_buf_append(&b, "{\"error\":", 9) != CHAT_OK ||
	    json_encode_string(&b, msg, strlen(msg)) != CHAT_OK ||
	    chat_buf_putc(&b, '}') != CHAT_OK) {
		chat_buf_reset(&b);
		(void)chat_buf_append(&b, "{\"error\":\"internal error\"}", 26);
	}
	api__respond_json(r, status, extra, chat_buf_slice(&b));
	chat_buf_free(&b);
}

int api__read_body(http_request_t *r, chat_buf_t *body)
{
	int rc = http_read_body(r, body);

	if (rc == CHAT_ETOOBIG) {
		char msg[80];

		snprintf(msg, sizeof(msg), "the request body is larger than %zu bytes", body->max);
		api__respond_error(r, 413, NULL, msg);
	} else if (rc == CHAT_ETIMEDOUT)
		api__respond_error(r, 408, NULL, "the request body did not come in time");
	else if (rc != CHAT_OK)
		api__respond_error(r, 400, NULL, "cannot read the request body");
	return rc;
}

/* The status a validation or database failure maps to. */
static int status_of(int rc)
{
	switch (rc) {
	case CHAT_EINVAL:
	case CHAT_ETOOBIG:
	case CHAT_EUTF8:
	case CHAT_ETOOMANY: return 400;
	case CHAT_EEXIST: return 409;
	case CHAT_EDENIED: return 401;
	case CHAT_EDB: return 503;
	default: return 500;
	}
}

void api__respond_failure(http_request_t *r, const char *what, int rc, const chat_error_t *e)
{
	int status = status_of(rc);

	if (status < 500) {
		api__respond_error(r, status, NULL, chat_error_reason(e, rc));
		return;
	}
	log_warn("api: %s: %s", what, chat_error_reason(e, rc));
	if (status == 503)
		api__respond_error(r, 503, "Retry-After: 5\r\n",
				   "the service is unavailable, try again later");
	else
		api__respond_error(r, status, NULL, "internal error");
}

int api__request_token(http_request_t *r, chat_buf_t *body, chat_buf_t *token, json_field_t *extra,
		       chat_error_t *e)
{
	const char *auth = http_param(r, "HTTP_AUTHORIZATION");
	json_field_t f[2] = { { "token", token, 0, 0, 0, 0 } };
	size_t n = 1;
	int rc;

	if (extra != NULL)
		f[n++] = *extra;
	if (body->len > 0 || extra != NULL) {
		rc = json_parse_object(body->data ? body->data : "", body->len,
				       &chatmsg_object_limits, f, n, e);
		if (extra != NULL)
			*extra = f[1];
		if (rc != CHAT_OK)
			return rc;
	}
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		chat_buf_reset(token);
		rc = chat_buf_append(token, auth + 7, strlen(auth + 7));
		if (rc != CHAT_OK)
			return chat_error_set(e, CHAT_EDENIED, "invalid token");
	}
	if (token->len == 0)
		return chat_error_set(
			e, CHAT_EDENIED,
			"a login token is needed (Authorization: Bearer TOKEN, or \"token\" in the JSON body)");
	return CHAT_OK;
}

int api__token_user(api__thread_t *t, http_request_t *r, json_field_t *extra, const char *what,
		    char user[SESSION_USER_MAX + 1], chat_error_t *e)
{
	chat_buf_t body, token;
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	rc = api__read_body(r, &body);
	if (rc != CHAT_OK)
		goto out;
	rc = api__request_token(r, &body, &token, extra, e);
	if (rc == CHAT_OK)
		rc = auth_token_check(t->db, token.data, token.len, chat_wall_ms(), user, e);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED)
		api__respond_error(r, 401, NULL,
				   rc == CHAT_ENOTFOUND ? "invalid token" : e->message);
	else if (rc != CHAT_OK)
		api__respond_failure(r, what, rc, e);
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
	return rc;
}

/* Whether a POST may be read: one that carries a body must say it is
 * JSON, so that a cross-site form or a text/plain "simple" request, which
 * browsers send without asking, is refused (415). */
static int post_is_json(const http_request_t *r)
{
	const char *ct = http_param(r, "CONTENT_TYPE");
	const char *cl = http_param(r, "CONTENT_LENGTH");
	size_t n = strlen("application/json");

	if ((ct == NULL || *ct == '\0') && (cl == NULL || *cl == '\0' || !strcmp(cl, "0")))
		return 1; /* nothing to read, nothing to forge */
	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* Appends "name":[...] of the strings list[0..n) (stride apart), then sep. */
static int json_list(chat_buf_t *out, const char *name, const char *list, size_t stride, size_t n,
		     char sep)
{
	size_t i;
	int rc = chat_buf_printf(out, "\"%s\":[", name);

	for (i = 0; rc == CHAT_OK && i < n; i++) {
		const char *item = list + i * stride;

		if (i > 0)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = json_encode_string(out, item, strlen(item));
	}
	if (rc == CHAT_OK)
		rc = chat_buf_printf(out, "]%c", sep);
	return rc;
}

/* Appends "name":"value", then sep. */
static int json_member(chat_buf_t *out, const char *name, const char *value, char sep)
{
	int rc = chat_buf_printf(out, "\"%s\":", name);

	if (rc == CHAT_OK)
		rc = json_encode_string(out, value, strlen(value));
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, sep);
	return rc;
}

/* GET /api/config: what a page needs to reach this chat with the
 * configured endpoints and destination prefixes (so that it hard-codes
 * none): the lists as configured, and the three prefixes the chat
 * application's destinations are built from (app: the first application
 * prefix; topic: the broadcasting broker prefix the rooms are published
 * under; user_queue: the user prefix and the queue prefix of the
 * errors queue, "/user/queue" by default). */
static void get_config(const chat_options_t *opt, http_request_t *r)
{
	const dest_prefixes_t *p = &opt->dest;
	char user_queue[2 * DEST_PREFIX_MAX + 1];
	chat_buf_t out;
	int rc;

	snprintf(user_queue, sizeof(user_queue), "%s%s", p->user, p->broker[p->queue]);
	chat_buf_init(&out, 4096);
	rc = chat_buf_putc(&out, '{');
	if (rc == CHAT_OK)
		rc = json_list(&out, "endpoints", opt->endpoint[0], sizeof(opt->endpoint[0]),
			       opt->nendpoints, ',');
	if (rc == CHAT_OK)
		rc = json_list(&out, "app_prefixes", p->app[0], sizeof(p->app[0]), p->napp, ',');
	if (rc == CHAT_OK)
		rc = json_list(&out, "broker_prefixes", p->broker[0], sizeof(p->broker[0]),
			       p->nbroker, ',');
	if (rc == CHAT_OK)
		rc = json_member(&out, "user_prefix", p->user, ',');
	if (rc == CHAT_OK)
		rc = json_member(&out, "app", p->app[0], ',');
	if (rc == CHAT_OK)
		rc = json_member(&out, "topic", p->broker[p->topic], ',');
	if (rc == CHAT_OK)
		rc = json_member(&out, "user_queue", user_queue, ',');
	if (rc == CHAT_OK)
		rc = chat_buf_printf(&out, "\"websocket\":%s}", opt->websocket ? "true" : "false");
	if (rc == CHAT_OK)
		api__respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		api__respond_error(r, 500, NULL, "cannot render the configuration");
	chat_buf_free(&out);
}

#define ROOM_PREFIX "/api/rooms/"
#define BAN_PREFIX "/api/bans/"
#define MSG_INFIX "/messages/"

/* The routes of api_serve(). */
enum {
	R_USERS,
	R_LOGIN,
	R_LOGOUT,
	R_ROOMS_GET,
	R_ROOMS_POST,
	R_ROOM,
	R_METRICS,
	R_CONFIG,
	R_PUBLISH,
	R_ME,
	R_BANS,
	R_BAN,
	R_NONE /* no route (404), or none for the method (405) */
};

static const struct {
	const char *path, *method, *allow;
	int id;
} routes[] = {
	{ "/api/users", "POST", "Allow: POST\r\n", R_USERS },
	{ "/api/login", "POST", "Allow: POST\r\n", R_LOGIN },
	{ "/api/logout", "POST", "Allow: POST\r\n", R_LOGOUT },
	{ "/api/rooms", "GET", "Allow: GET, POST\r\n", R_ROOMS_GET },
	{ "/api/rooms", "POST", "Allow: GET, POST\r\n", R_ROOMS_POST },
	{ ROOM_PREFIX, "DELETE", "Allow: DELETE\r\n", R_ROOM },
	{ "/api/metrics", "GET", "Allow: GET\r\n", R_METRICS },
	{ "/api/config", "GET", "Allow: GET\r\n", R_CONFIG },
	{ "/api/publish", "POST", "Allow: POST\r\n", R_PUBLISH },
	{ "/api/users/me", "POST", "Allow: POST, PATCH\r\n", R_ME },
	{ "/api/users/me", "PATCH", "Allow: POST, PATCH\r\n", R_ME },
	{ "/api/bans", "POST", "Allow: POST\r\n", R_BANS },
	{ BAN_PREFIX, "DELETE", "Allow: DELETE\r\n", R_BAN },
};

/* The names a path carries: /api/rooms/ROOM, /api/rooms/ROOM/messages/MSG,
 * /api/bans/BANNED (ptr NULL when absent). */
typedef struct api_path {
	chat_slice_t room, msg, banned;
} api_path_t;

/* Splits the path's names out: the room's id is the rest of the path, or
 * up to /messages/N. */
static void path_names(chat_slice_t path, api_path_t *p)
{
	size_t np = strlen(ROOM_PREFIX), nb = strlen(BAN_PREFIX), ni = strlen(MSG_INFIX), k;

	*p = (api_path_t){ { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	if (path.len > np && memcmp(path.ptr, ROOM_PREFIX, np) == 0)
		p->room = (chat_slice_t){ path.ptr + np, path.len - np };
	for (k = 0; p->room.ptr != NULL && k + ni <= p->room.len; k++) {
		if (memcmp(p->room.ptr + k, MSG_INFIX, ni) == 0) {
			p->msg = (chat_slice_t){ p->room.ptr + k + ni, p->room.len - k - ni };
			p->room.len = k;
			break;
		}
	}
	if (path.len > nb && memcmp(path.ptr, BAN_PREFIX, nb) == 0)
		p->banned = (chat_slice_t){ path.ptr + nb, path.len - nb };
}

/* The route of r's path and method (R_NONE: none, *allow then the Allow
 * header of the path's methods, or NULL when no route has the path). */
static int route_find(const chat_options_t *opt, const http_request_t *r, const api_path_t *p,
		      const char **allow)
{
	size_t i;

	*allow = NULL;
	for (i = 0; i < CHAT_ARRAY_LEN(routes); i++) {
		if (routes[i].id == R_ROOM  ? p->room.ptr == NULL
		    : routes[i].id == R_BAN ? p->banned.ptr == NULL
					    : !chat_slice_eq(r->path, routes[i].path))
			continue;
		*allow = routes[i].allow;
		if (strcmp(r->method, routes[i].method) == 0)
			break;
	}
	if (i == CHAT_ARRAY_LEN(routes))
		return R_NONE;
	if (routes[i].id == R_METRICS && !opt->metrics) {
		*allow = NULL; /* off: as if there were none */
		return R_NONE;
	}
	return routes[i].id;
}

/* Whether route id may be served for r; answers it itself (404 for a route
 * that is off, 403 for a foreign origin, 415 for a body that is not JSON)
 * and returns 0 when not. */
static int route_allowed(const chat_options_t *opt, http_request_t *r, int id)
{
	if (id == R_PUBLISH && opt->publish_key[0] == '\0') {
		api__respond_error(
			r, 404, NULL,
			"publishing is off: set the option publish_key to use POST /api/publish");
		return 0;
	}
	/* The SockJS endpoint's rule (origin.h), for the same pages. */
	if (!origin_allowed(http_param(r, "HTTP_ORIGIN"), opt->origins)) {
		api__respond_error(r, 403, NULL, "origin not allowed");
		return 0;
	}
	if (strcmp(r->method, "GET") != 0 && !post_is_json(r)) {
		api__respond_error(r, 415, NULL,
				   "the request body must be JSON (Content-Type: application/json)");
		return 0;
	}
	return 1;
}

/* Runs the endpoint of route id, which needs the thread's handles. */
static void route_run(const chat_options_t *opt, api__thread_t *t, http_request_t *r, int id,
		      api_path_t *p)
{
	switch (id) {
	case R_USERS: api__post_users(opt, t, r); break;
	case R_LOGIN: api__post_login(opt, t, r); break;
	case R_LOGOUT: api__post_logout(opt, t, r); break;
	case R_ROOMS_GET: api__get_rooms(t, r); break;
	case R_ROOMS_POST: api__room_request(opt, t, r, NULL); break;
	case R_METRICS: api__get_metrics(opt, t, r); break;
	case R_PUBLISH: api__post_publish(opt, t, r); break;
	case R_ME: api__post_me(t, r); break;
	case R_BANS: api__ban_request(opt, t, r, NULL); break;
	case R_BAN: api__ban_request(opt, t, r, &p->banned); break;
	case R_ROOM:
		if (p->msg.ptr != NULL)
			api__delete_message(opt, t, r, p->room, p->msg);
		else
			api__room_request(opt, t, r, &p->room);
		break;
	default: break;
	}
}

void api_serve(const chat_options_t *opt, doorbell_t *bell, http_request_t *r)
{
	chat_error_t err = { 0 };
	api__thread_t *t;
	const char *allow;
	api_path_t p;
	int id;

	path_names(r->path, &p);
	id = route_find(opt, r, &p, &allow);
	if (id == R_NONE) {
		if (allow != NULL)
			api__respond_error(r, 405, allow, "method not allowed");
		else
			api__respond_error(r, 404, NULL, "no such API");
		return;
	}
	if (!route_allowed(opt, r, id))
		return;
	if (id == R_CONFIG) {
		get_config(opt, r);
		return;
	}
	t = thread_get(opt, bell, &err);
	if (t == NULL) {
		log_error("api: cannot open %s: %s", opt->db_path, err.message);
		api__respond_error(r, 503, NULL, "service unavailable");
		return;
	}
	route_run(opt, t, r, id, &p);
}
