/* api.c - the JSON HTTP API of chat.fcgi (see api.h).  IO only:
 * validation lives in core/chatmsg, users and tokens in db/auth, rooms in
 * db/chatroom, the relay in db/relay (run by db/background.c's thread). */
#include "config.h"
#include "api.h"

#include "auth.h"
#include "broker.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "clock.h"
#include "hookmsg.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "relay.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* This thread's handles, made on first use. */
typedef struct api_thread {
	chatdb_t *db;
	store_t *store;
} api_thread_t;

static pthread_key_t thread_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_free(void *p)
{
	api_thread_t *t = p;

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

static api_thread_t *thread_get(const chat_options_t *opt, doorbell_t *bell, chat_error_t *err)
{
	api_thread_t *t;

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

/* The thread's store, opened on demand (NULL when unreachable). */
static store_t *thread_store(api_thread_t *t, const chat_options_t *opt, chat_error_t *err)
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

static void respond_json(http_request_t *r, int status, const char *extra, chat_slice_t body)
{
	char head[256];

	snprintf(head, sizeof(head), "Cache-Control: no-store\r\n%s", extra ? extra : "");
	http_respond(r, status, status == 204 ? NULL : "application/json; charset=UTF-8", head,
		     body.ptr, status == 204 ? 0 : body.len);
}

static void respond_error(http_request_t *r, int status, const char *extra, const char *msg)
{
	chat_buf_t b;

	chat_buf_init(&b, 1024);
	if (chat_buf_append(&b, "{\"error\":", 9) != CHAT_OK ||
	    json_encode_string(&b, msg, strlen(msg)) != CHAT_OK ||
	    chat_buf_putc(&b, '}') != CHAT_OK) {
		chat_buf_reset(&b);
		(void)chat_buf_append(&b, "{\"error\":\"internal error\"}", 26);
	}
	respond_json(r, status, extra, chat_buf_slice(&b));
	chat_buf_free(&b);
}

/* Reads the bounded body; answers 413/400 itself and returns non-zero. */
static int read_body(http_request_t *r, chat_buf_t *body)
{
	int rc = http_read_body(r, body);

	if (rc == CHAT_ETOOBIG) {
		char msg[80];

		snprintf(msg, sizeof(msg), "the request body is larger than %zu bytes", body->max);
		respond_error(r, 413, NULL, msg);
	} else if (rc == CHAT_ETIMEDOUT)
		respond_error(r, 408, NULL, "the request body did not come in time");
	else if (rc != CHAT_OK)
		respond_error(r, 400, NULL, "cannot read the request body");
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

/* Answers a failure: validation messages (4xx) go to the client as they
 * are; for a server-side failure (5xx: database, memory) the client gets a
 * generic reason and the log gets the detail. */
static void respond_failure(http_request_t *r, const char *what, int rc, const chat_error_t *e)
{
	int status = status_of(rc);

	if (status < 500) {
		respond_error(r, status, NULL, chat_error_reason(e, rc));
		return;
	}
	log_warn("api: %s: %s", what, chat_error_reason(e, rc));
	if (status == 503)
		respond_error(r, 503, "Retry-After: 5\r\n",
			      "the service is unavailable, try again later");
	else
		respond_error(r, status, NULL, "internal error");
}

/* Answers a password check that was not run: 429 (the account or address
 * is locked) or 503 (every hash slot is busy), with Retry-After in whole
 * seconds (at least 1). */
static void respond_auth_refused(http_request_t *r, int rc, int64_t retry_ms)
{
	char h[48], msg[64];
	long long s = (retry_ms + 999) / 1000;

	if (s < 1)
		s = 1;
	snprintf(h, sizeof(h), "Retry-After: %lld\r\n", s);
	snprintf(msg, sizeof(msg), "too many failed logins, retry in %lld s", s);
	if (rc == CHAT_ETOOMANY)
		respond_error(r, 429, h, msg);
	else
		respond_error(r, 503, h, "too many logins at once, retry later");
}

/* Parses {"name","password"} from the body, and "display_name" (optional)
 * into display unless it is NULL. */
static int name_password(http_request_t *r, chat_buf_t *name, chat_buf_t *pw, chat_buf_t *display)
{
	chat_buf_t body;
	chat_error_t e = { 0 };
	json_field_t f[3] = { { "name", name, 1, 0, 0, 0 },
			      { "password", pw, 1, 0, 0, 0 },
			      { "display_name", display, 0, 0, 0, 0 } };
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	rc = read_body(r, &body);
	if (rc == CHAT_OK) {
		rc = json_parse_object(body.data, body.len, &chatmsg_object_limits, f,
				       display != NULL ? 3 : 2, &e);
		if (rc != CHAT_OK)
			respond_error(r, 400, NULL, e.message);
	}
	chat_buf_free(&body);
	return rc;
}

/* Appends {"name":USER,"display_name":DISPLAY}. */
static int render_user(chat_buf_t *out, const char *user, size_t len, const char *display)
{
	int rc;

	if ((rc = chat_buf_append(out, "{\"name\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(out, user, len)) == CHAT_OK &&
	    (rc = chat_buf_append(out, ",\"display_name\":", 16)) == CHAT_OK &&
	    (rc = json_encode_string(out, display, strlen(display))) == CHAT_OK)
		rc = chat_buf_putc(out, '}');
	return rc;
}

static void post_users(const chat_options_t *opt, api_thread_t *t, http_request_t *r)
{
	chat_buf_t name, pw, display, out;
	chat_error_t e = { 0 };
	char disp[NAMES_NFC_MAX + 1] = "";
	store_t *s;
	int rc;

	chat_buf_init(&name, CHATMSG_NAME_MAX * 6);
	chat_buf_init(&pw, CHATMSG_PASSWORD_MAX * 6);
	chat_buf_init(&display, NAMES_INPUT_MAX);
	chat_buf_init(&out, 1024);
	if (name_password(r, &name, &pw, &display) != CHAT_OK)
		goto out;
	/* A display name is checked before the account is made. */
	if (display.len > 0 && (rc = names_check("display names", chat_buf_slice(&display), disp,
						 NULL, &e)) != CHAT_OK) {
		respond_failure(r, "register", rc, &e);
		goto out;
	}
	s = thread_store(t, opt, &e);
	rc = s == NULL ? CHAT_EDB
		       : auth_register(s, chat_buf_slice(&name), chat_buf_slice(&pw),
				       chat_wall_ms(), NULL, &e);
	if (rc == CHAT_EBUSY) {
		respond_auth_refused(r, rc, 1000);
	} else if (rc == CHAT_EDB) {
		log_warn("register: the user store failed: %s", e.message);
		respond_error(r, 503, "Retry-After: 5\r\n",
			      "the user store is unavailable, try again later");
	} else if (rc != CHAT_OK) {
		respond_failure(r, "register", rc, &e);
	} else {
		if (auth_claim_first(t->db, name.data, chat_wall_ms(), NULL, &e) != CHAT_OK)
			log_warn("register: %s: cannot record the first user: %s", name.data,
				 e.message);
		if (disp[0] != '\0' && auth_display_set(t->db, name.data, chat_buf_slice(&display),
							chat_wall_ms(), disp, &e) != CHAT_OK) {
			log_warn("register: %s: the display name was not kept: %s", name.data,
				 e.message);
			disp[0] = '\0';
		}
		if (render_user(&out, name.data, name.len, disp) == CHAT_OK)
			respond_json(r, 201, NULL, chat_buf_slice(&out));
		else
			respond_error(r, 500, NULL, "internal error");
	}
out:
	chat_buf_free(&name);
	chat_buf_free(&pw);
	chat_buf_free(&display);
	chat_buf_free(&out);
}

static void post_login(const chat_options_t *opt, api_thread_t *t, http_request_t *r)
{
	chat_buf_t name, pw, out;
	chat_error_t e = { 0 };
	char token[AUTH_TOKEN_HEX + 1], user[SESSION_USER_MAX + 1], disp[NAMES_NFC_MAX + 1];
	int64_t now = chat_wall_ms();
	authlimit_conf_t lim;
	auth_attempt_t at = { &lim, http_param(r, "REMOTE_ADDR"), 0 };
	store_t *s;
	int rc;

	authlimit_conf_from(opt, &lim);
	chat_buf_init(&name, CHATMSG_NAME_MAX * 6);
	chat_buf_init(&pw, CHATMSG_PASSWORD_MAX * 6);
	chat_buf_init(&out, 1024);
	if (name_password(r, &name, &pw, NULL) != CHAT_OK)
		goto out;
	s = thread_store(t, opt, &e);
	rc = s == NULL ? CHAT_EDB
		       : auth_login(t->db, s, chat_buf_slice(&name), chat_buf_slice(&pw), now,
				    opt->token_ttl_ms, &at, token, user, &e);
	if (rc == CHAT_ETOOMANY || rc == CHAT_EBUSY)
		respond_auth_refused(r, rc, at.retry_ms);
	else if (rc == CHAT_EDB)
		respond_error(r, 503, "Retry-After: 5\r\n",
			      "the user store is unavailable, try again later");
	else if (rc == CHAT_EDENIED && strstr(e.message, " is banned") != NULL)
		respond_error(r, 403, NULL, e.message); /* said only once the password matched */
	else if (rc == CHAT_EDENIED)
		respond_error(r, 401, NULL, "wrong user name or password");
	else if (rc != CHAT_OK)
		respond_error(r, 500, NULL, "internal error");
	else if (auth_display_get(t->db, user, disp, &e) == CHAT_OK &&
		 chat_buf_printf(&out, "{\"token\":\"%s\",\"user\":", token) == CHAT_OK &&
		 json_encode_string(&out, user, strlen(user)) == CHAT_OK &&
		 chat_buf_append(&out, ",\"display_name\":", 16) == CHAT_OK &&
		 json_encode_string(&out, disp, strlen(disp)) == CHAT_OK &&
		 chat_buf_printf(&out, ",\"admin\":%s,\"expires\":%lld}",
				 auth_is_admin(t->db, opt, user) ? "true" : "false",
				 (long long)(now + opt->token_ttl_ms)) == CHAT_OK)
		respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&name);
	chat_buf_free(&pw);
	chat_buf_free(&out);
}

/* The request's token: "Authorization: Bearer T", else "token" in the
 * JSON body (front servers that do not pass Authorization to FastCGI).
 * Other members of the body go to extra (may be NULL). */
static int request_token(http_request_t *r, chat_buf_t *body, chat_buf_t *token,
			 json_field_t *extra, chat_error_t *e)
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

static void post_logout(const chat_options_t *opt, api_thread_t *t, http_request_t *r)
{
	chat_buf_t body, token;
	chat_error_t e = { 0 };
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	if (read_body(r, &body) != CHAT_OK)
		goto out;
	rc = request_token(r, &body, &token, NULL, &e);
	if (rc == CHAT_OK)
		rc = auth_token_revoke(t->db, token.data, token.len, &e);
	/* The sessions opened with the token end now (the background sweep
	 * would end them within a second otherwise). */
	if (rc == CHAT_OK && broker_token_sweep(t->db, opt, chat_wall_ms(), NULL, &e) != CHAT_OK)
		log_warn("logout: cannot end the token's sessions yet: %s", e.message);
	if (rc == CHAT_OK)
		respond_json(r, 204, NULL, CHAT_SLICE(""));
	else if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED)
		respond_error(r, 401, NULL, rc == CHAT_ENOTFOUND ? "invalid token" : e.message);
	else
		respond_failure(r, "logout", rc, &e);
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
}

/* POST or PATCH /api/users/me {"display_name"}: the token's user changes
 * its display name ("" removes it). */
static void post_me(api_thread_t *t, http_request_t *r)
{
	chat_buf_t body, token, display, out;
	chat_error_t e = { 0 };
	json_field_t df = { "display_name", NULL, 1, 0, 0, 0 };
	char user[SESSION_USER_MAX + 1], disp[NAMES_NFC_MAX + 1];
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	chat_buf_init(&display, NAMES_INPUT_MAX);
	chat_buf_init(&out, 1024);
	df.str = &display;
	if (read_body(r, &body) != CHAT_OK)
		goto out;
	rc = request_token(r, &body, &token, &df, &e);
	if (rc == CHAT_OK)
		rc = auth_token_check(t->db, token.data, token.len, chat_wall_ms(), user, &e);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED) {
		respond_error(r, 401, NULL, rc == CHAT_ENOTFOUND ? "invalid token" : e.message);
		goto out;
	}
	if (rc == CHAT_OK)
		rc = auth_display_set(t->db, user, chat_buf_slice(&display), chat_wall_ms(), disp,
				      &e);
	if (rc != CHAT_OK) {
		respond_failure(r, "profile", rc, &e);
		goto out;
	}
	log_info("profile: %s set the display name \"%s\"", user, disp);
	if (render_user(&out, user, strlen(user), disp) == CHAT_OK)
		respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
	chat_buf_free(&display);
	chat_buf_free(&out);
}

/* The token's user for a request with no body members but the token:
 * 0, or answers 401/4xx itself and returns non-zero. */
static int token_user(api_thread_t *t, http_request_t *r, json_field_t *extra,
		      char user[SESSION_USER_MAX + 1], chat_error_t *e)
{
	chat_buf_t body, token;
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	rc = read_body(r, &body);
	if (rc != CHAT_OK)
		goto out;
	rc = request_token(r, &body, &token, extra, e);
	if (rc == CHAT_OK)
		rc = auth_token_check(t->db, token.data, token.len, chat_wall_ms(), user, e);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED)
		respond_error(r, 401, NULL, rc == CHAT_ENOTFOUND ? "invalid token" : e->message);
	else if (rc != CHAT_OK)
		respond_failure(r, "token", rc, e);
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
	return rc;
}

/* Answers a moderation result: 204, or the error's status. */
static void respond_moderation(http_request_t *r, const char *what, int rc, const chat_error_t *e)
{
	if (rc == CHAT_OK)
		respond_json(r, 204, NULL, CHAT_SLICE(""));
	else if (rc == CHAT_EDENIED)
		respond_error(r, 403, NULL, e->message);
	else if (rc == CHAT_ENOTFOUND)
		respond_error(r, 404, NULL, e->message);
	else
		respond_failure(r, what, rc, e);
}

/* DELETE /api/rooms/ROOM/messages/ID. */
static void delete_message(const chat_options_t *opt, api_thread_t *t, http_request_t *r,
			   chat_slice_t room, chat_slice_t id)
{
	char user[SESSION_USER_MAX + 1], num[24];
	chat_error_t e = { 0 };
	long long v = 0;
	char *end = NULL;
	int rc;

	if (token_user(t, r, NULL, user, &e) != CHAT_OK)
		return;
	if (id.len > 0 && id.len < sizeof(num) && id.ptr[0] != '-' && id.ptr[0] != '+') {
		memcpy(num, id.ptr, id.len);
		num[id.len] = '\0';
		v = strtoll(num, &end, 10);
	}
	if (end == NULL || *end != '\0' || v <= 0) {
		respond_error(r, 404, NULL, "no such message");
		return;
	}
	rc = chatroom_delete_msg(t->db, opt, room, v, user, chat_wall_ms(), &e);
	respond_moderation(r, "delete message", rc, &e);
}

/* POST /api/bans {"name"} (path_name NULL) or DELETE /api/bans/NAME. */
static void ban_request(const chat_options_t *opt, api_thread_t *t, http_request_t *r,
			const chat_slice_t *path_name)
{
	char user[SESSION_USER_MAX + 1], who[CHATMSG_NAME_MAX + 1];
	chat_buf_t name;
	chat_error_t e = { 0 };
	json_field_t nf = { "name", NULL, 1, 0, 0, 0 };
	int rc;

	chat_buf_init(&name, CHATMSG_NAME_MAX);
	nf.str = &name;
	if (token_user(t, r, path_name == NULL ? &nf : NULL, user, &e) != CHAT_OK)
		goto out;
	if (path_name != NULL)
		rc = chat_buf_append(&name, path_name->ptr, path_name->len);
	else
		rc = CHAT_OK;
	if (rc != CHAT_OK || name.len == 0 || name.len > CHATMSG_NAME_MAX) {
		respond_error(r, 400, NULL, "a user name is needed");
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

static void get_rooms(api_thread_t *t, http_request_t *r)
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
		respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		respond_error(r, 500, NULL, "cannot list the rooms");
	chat_buf_free(&out);
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
		respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		respond_error(r, 500, NULL, "cannot render the configuration");
	chat_buf_free(&out);
}

/* POST /api/rooms {"name"} (path_name NULL) or DELETE /api/rooms/NAME,
 * by the token's user. */
static void room_request(const chat_options_t *opt, api_thread_t *t, http_request_t *r,
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
	if (read_body(r, &body) != CHAT_OK)
		goto out;
	rc = request_token(r, &body, &token, path_name == NULL ? &nf : NULL, &e);
	if (rc == CHAT_OK)
		rc = auth_token_check(t->db, token.data, token.len, chat_wall_ms(), user, &e);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED) {
		respond_error(r, 401, NULL, rc == CHAT_ENOTFOUND ? "invalid token" : e.message);
		goto out;
	}
	if (rc == CHAT_OK && path_name != NULL)
		rc = chatroom_delete(t->db, opt, *path_name, user, chat_wall_ms(), &room, &e);
	else if (rc == CHAT_OK)
		rc = chatroom_create(t->db, opt, chat_buf_slice(&name), user, chat_wall_ms(), &room,
				     &e);
	if (rc == CHAT_OK && path_name != NULL) {
		respond_json(r, 204, NULL, CHAT_SLICE(""));
	} else if (rc == CHAT_OK) {
		if (chatmsg_render_room(&out, room.name, room.display, room.creator,
					room.created_ms) == CHAT_OK)
			respond_json(r, 201, NULL, chat_buf_slice(&out));
		else
			respond_error(r, 500, NULL, "internal error");
	} else if (rc == CHAT_ETOOMANY || rc == CHAT_EDENIED) {
		respond_error(r, 403, NULL, e.message);
	} else if (rc == CHAT_ENOTFOUND) {
		respond_error(r, 404, NULL, e.message);
	} else {
		respond_failure(r, path_name != NULL ? "delete room" : "create room", rc, &e);
	}
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
	chat_buf_free(&name);
	chat_buf_free(&out);
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

/* Compares a presented key with the configured one in time that does not
 * depend on where they differ. */
static int key_matches(const char *given, const char *key)
{
	size_t n = strlen(key), m = strlen(given), i;
	unsigned char d = (unsigned char)(n != m);

	for (i = 0; i < n; i++)
		d |= (unsigned char)(key[i] ^ (i < m ? given[i] : 0));
	return d == 0;
}

/* Minimum length of metrics_key: a shorter one is not accepted. */
#define METRICS_KEY_MIN 16

/* GET /api/metrics: loopback (metrics_loopback) or the bearer key. */
static void get_metrics(const chat_options_t *opt, api_thread_t *t, http_request_t *r)
{
	static int warned;
	const char *auth = http_param(r, "HTTP_AUTHORIZATION");
	const char *key = opt->metrics_key != NULL ? opt->metrics_key : "";
	int have_key = strlen(key) >= METRICS_KEY_MIN, ok = 0;
	chat_error_t e = { 0 };
	chat_buf_t out;
	int rc;

	if (*key != '\0' && !have_key && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_warn("metrics: metrics_key is shorter than %d characters: it is not accepted",
			 METRICS_KEY_MIN);
	if (have_key && auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		ok = key_matches(auth + 7, key);
	if (!ok && opt->metrics_loopback && chat_addr_loopback(http_param(r, "REMOTE_ADDR")) &&
	    (auth == NULL || !have_key))
		ok = 1;
	if (!ok) {
		metrics_add(METRICS_AUTH_FAILURES, auth != NULL ? 1 : 0);
		if (have_key)
			respond_error(
				r, 401, "WWW-Authenticate: Bearer realm=\"metrics\"\r\n",
				"the metrics need \"Authorization: Bearer KEY\" (metrics_key)");
		else
			respond_error(r, 403, NULL, "the metrics are readable from loopback only");
		return;
	}
	chat_buf_init(&out, (size_t)METRICS_PROCS_MAX * 512 + 64 * 1024);
	rc = metrics_render_prometheus(t->db, chat_wall_ms(), &out, &e);
	if (rc == CHAT_OK)
		http_respond(r, 200, METRICS_CONTENT_TYPE, "Cache-Control: no-store\r\n", out.data,
			     out.len);
	else
		respond_failure(r, "metrics", rc == CHAT_ETOOBIG ? CHAT_ENOMEM : rc, &e);
	chat_buf_free(&out);
}

/* POST /api/publish (see api.h): the key, then one message as the
 * application hook's answers give it, published by the broker. */
static void post_publish(const chat_options_t *opt, api_thread_t *t, http_request_t *r)
{
	const char *auth = http_param(r, "HTTP_AUTHORIZATION"),
		   *key = http_param(r, "HTTP_X_CHAT_KEY");
	size_t max = (size_t)opt->max_frame;
	chat_buf_t body, out;
	hookmsg_out_t m;
	chat_error_t e = { 0 };
	int64_t id = 0;
	int rc;

	if (key == NULL && auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		key = auth + 7;
	if (key == NULL || *key == '\0') {
		respond_error(
			r, 401, "WWW-Authenticate: Bearer\r\n",
			"the publish key is needed (Authorization: Bearer KEY, or X-Chat-Key: KEY)");
		return;
	}
	if (!key_matches(key, opt->publish_key)) {
		log_warn("api: publish with a wrong key from %s", http_param(r, "REMOTE_ADDR"));
		respond_error(r, 403, NULL, "wrong publish key");
		return;
	}
	/* The body as JSON: a string escaped up to 6 bytes a byte. */
	chat_buf_init(&body, max * 6 + 4096);
	chat_buf_init(&out, 64);
	chat_buf_init(&m.dest, HOOKMSG_DEST_MAX);
	chat_buf_init(&m.ctype, HOOKMSG_CTYPE_MAX);
	chat_buf_init(&m.body, max);
	if (read_body(r, &body) != CHAT_OK)
		goto out;
	rc = hookmsg_message_parse(body.data ? body.data : "", body.len, &m, &e);
	if (rc == CHAT_OK && m.dest.len == 0)
		rc = chat_error_set(&e, CHAT_EINVAL, "\"destination\" is missing");
	if (rc == CHAT_OK)
		rc = broker_publish(t->db, opt, m.dest.data, m.ctype.len > 0 ? m.ctype.data : NULL,
				    chat_buf_slice(&m.body), chat_wall_ms(), &id, &e);
	if (rc == CHAT_ETOOBIG)
		respond_error(r, 413, NULL, e.message);
	else if (rc != CHAT_OK)
		respond_failure(r, "publish", rc, &e);
	else if (chat_buf_printf(&out, "{\"id\":%lld}", (long long)id) == CHAT_OK)
		respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&body);
	chat_buf_free(&out);
	chat_buf_free(&m.dest);
	chat_buf_free(&m.ctype);
	chat_buf_free(&m.body);
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
	R_BAN
};

void api_serve(const chat_options_t *opt, doorbell_t *bell, http_request_t *r)
{
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
	chat_error_t err = { 0 };
	api_thread_t *t;
	const char *allow = NULL;
	chat_slice_t room = { NULL, 0 }, msg = { NULL, 0 }, banned = { NULL, 0 };
	size_t i, np = strlen(ROOM_PREFIX), nb = strlen(BAN_PREFIX), k;

	/* /api/rooms/ID: the room's id is the rest of the path, or up to
	 * /messages/N; /api/bans/NAME. */
	if (r->path.len > np && memcmp(r->path.ptr, ROOM_PREFIX, np) == 0)
		room = (chat_slice_t){ r->path.ptr + np, r->path.len - np };
	for (k = 0; room.ptr != NULL && k + strlen(MSG_INFIX) <= room.len; k++) {
		if (memcmp(room.ptr + k, MSG_INFIX, strlen(MSG_INFIX)) == 0) {
			msg = (chat_slice_t){ room.ptr + k + strlen(MSG_INFIX),
					      room.len - k - strlen(MSG_INFIX) };
			room.len = k;
			break;
		}
	}
	if (r->path.len > nb && memcmp(r->path.ptr, BAN_PREFIX, nb) == 0)
		banned = (chat_slice_t){ r->path.ptr + nb, r->path.len - nb };
	for (i = 0; i < CHAT_ARRAY_LEN(routes); i++) {
		if (routes[i].id == R_ROOM  ? room.ptr == NULL
		    : routes[i].id == R_BAN ? banned.ptr == NULL
					    : !chat_slice_eq(r->path, routes[i].path))
			continue;
		allow = routes[i].allow;
		if (strcmp(r->method, routes[i].method) == 0)
			break;
	}
	if (i < CHAT_ARRAY_LEN(routes) && routes[i].id == R_METRICS && !opt->metrics)
		i = CHAT_ARRAY_LEN(routes), allow = NULL; /* off: as if there were none */
	if (i == CHAT_ARRAY_LEN(routes)) {
		if (allow != NULL)
			respond_error(r, 405, allow, "method not allowed");
		else
			respond_error(r, 404, NULL, "no such API");
		return;
	}
	if (routes[i].id == R_PUBLISH && opt->publish_key[0] == '\0') {
		respond_error(
			r, 404, NULL,
			"publishing is off: set the option publish_key to use POST /api/publish");
		return;
	}
	/* The SockJS endpoint's rule (origin.h), for the same pages. */
	if (!origin_allowed(http_param(r, "HTTP_ORIGIN"), opt->origins)) {
		respond_error(r, 403, NULL, "origin not allowed");
		return;
	}
	if (strcmp(r->method, "GET") != 0 && !post_is_json(r)) {
		respond_error(r, 415, NULL,
			      "the request body must be JSON (Content-Type: application/json)");
		return;
	}
	if (routes[i].id == R_CONFIG) {
		get_config(opt, r);
		return;
	}
	t = thread_get(opt, bell, &err);
	if (t == NULL) {
		log_error("api: cannot open %s: %s", opt->db_path, err.message);
		respond_error(r, 503, NULL, "service unavailable");
		return;
	}
	switch (routes[i].id) {
	case R_USERS: post_users(opt, t, r); break;
	case R_LOGIN: post_login(opt, t, r); break;
	case R_LOGOUT: post_logout(opt, t, r); break;
	case R_ROOMS_GET: get_rooms(t, r); break;
	case R_ROOMS_POST: room_request(opt, t, r, NULL); break;
	case R_METRICS: get_metrics(opt, t, r); break;
	case R_PUBLISH: post_publish(opt, t, r); break;
	case R_ME: post_me(t, r); break;
	case R_BANS: ban_request(opt, t, r, NULL); break;
	case R_BAN: ban_request(opt, t, r, &banned); break;
	case R_ROOM:
		if (msg.ptr != NULL)
			delete_message(opt, t, r, room, msg);
		else
			room_request(opt, t, r, &room);
		break;
	default: break;
	}
}
