/* api_users.c - the API's accounts (see api.h): register, login, logout
 * and the display name of /api/users/me. */
#include "config.h"
#include "api_int.h"

#include "auth.h"
#include "authlimit.h"
#include "broker.h"
#include "json.h"
#include "log.h"
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		api__respond_error(r, 429, h, msg);
	else
		api__respond_error(r, 503, h, "too many logins at once, retry later");
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
	rc = api__read_body(r, &body);
	if (rc == CHAT_OK) {
		rc = json_parse_object(body.data, body.len, &chatmsg_object_limits, f,
				       display != NULL ? 3 : 2, &e);
		if (rc != CHAT_OK)
			api__respond_error(r, 400, NULL, e.message);
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

void api__post_users(const chat_options_t *opt, api__thread_t *t, http_request_t *r)
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
		api__respond_failure(r, "register", rc, &e);
		goto out;
	}
	s = api__thread_store(t, opt, &e);
	rc = s == NULL ? CHAT_EDB
		       : auth_register(s, chat_buf_slice(&name), chat_buf_slice(&pw),
				       chat_wall_ms(), NULL, &e);
	if (rc == CHAT_EBUSY) {
		respond_auth_refused(r, rc, 1000);
	} else if (rc == CHAT_EDB) {
		log_warn("register: the user store failed: %s", e.message);
		api__respond_error(r, 503, "Retry-After: 5\r\n",
				   "the user store is unavailable, try again later");
	} else if (rc != CHAT_OK) {
		api__respond_failure(r, "register", rc, &e);
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
			api__respond_json(r, 201, NULL, chat_buf_slice(&out));
		else
			api__respond_error(r, 500, NULL, "internal error");
	}
out:
	chat_buf_free(&name);
	chat_buf_free(&pw);
	chat_buf_free(&display);
	chat_buf_free(&out);
}

void api__post_login(const chat_options_t *opt, api__thread_t *t, http_request_t *r)
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
	s = api__thread_store(t, opt, &e);
	rc = s == NULL ? CHAT_EDB
		       : auth_login(t->db, s, chat_buf_slice(&name), chat_buf_slice(&pw), now,
				    opt->token_ttl_ms, &at, token, user, &e);
	if (rc == CHAT_ETOOMANY || rc == CHAT_EBUSY)
		respond_auth_refused(r, rc, at.retry_ms);
	else if (rc == CHAT_EDB)
		api__respond_error(r, 503, "Retry-After: 5\r\n",
				   "the user store is unavailable, try again later");
	else if (rc == CHAT_EDENIED && strstr(e.message, " is banned") != NULL)
		api__respond_error(r, 403, NULL,
				   e.message); /* said only once the password matched */
	else if (rc == CHAT_EDENIED)
		api__respond_error(r, 401, NULL, "wrong user name or password");
	else if (rc != CHAT_OK)
		api__respond_error(r, 500, NULL, "internal error");
	else if (auth_display_get(t->db, user, disp, &e) == CHAT_OK &&
		 chat_buf_printf(&out, "{\"token\":\"%s\",\"user\":", token) == CHAT_OK &&
		 json_encode_string(&out, user, strlen(user)) == CHAT_OK &&
		 chat_buf_append(&out, ",\"display_name\":", 16) == CHAT_OK &&
		 json_encode_string(&out, disp, strlen(disp)) == CHAT_OK &&
		 chat_buf_printf(&out, ",\"admin\":%s,\"expires\":%lld}",
				 auth_is_admin(t->db, opt, user) ? "true" : "false",
				 (long long)(now + opt->token_ttl_ms)) == CHAT_OK)
		api__respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		api__respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&name);
	chat_buf_free(&pw);
	chat_buf_free(&out);
}

void api__post_logout(const chat_options_t *opt, api__thread_t *t, http_request_t *r)
{
	chat_buf_t body, token;
	chat_error_t e = { 0 };
	int rc;

	chat_buf_init(&body, API_BODY_MAX);
	chat_buf_init(&token, AUTH_PASSCODE_MAX);
	if (api__read_body(r, &body) != CHAT_OK)
		goto out;
	rc = api__request_token(r, &body, &token, NULL, &e);
	if (rc == CHAT_OK)
		rc = auth_token_revoke(t->db, token.data, token.len, &e);
	/* The sessions opened with the token end now (the background sweep
	 * would end them within a second otherwise). */
	if (rc == CHAT_OK && broker_token_sweep(t->db, opt, chat_wall_ms(), NULL, &e) != CHAT_OK)
		log_warn("logout: cannot end the token's sessions yet: %s", e.message);
	if (rc == CHAT_OK)
		api__respond_json(r, 204, NULL, CHAT_SLICE(""));
	else if (rc == CHAT_ENOTFOUND || rc == CHAT_EDENIED)
		api__respond_error(r, 401, NULL,
				   rc == CHAT_ENOTFOUND ? "invalid token" : e.message);
	else
		api__respond_failure(r, "logout", rc, &e);
out:
	chat_buf_free(&body);
	chat_buf_free(&token);
}

/* POST or PATCH /api/users/me {"display_name"}: the token's user changes
 * its display name ("" removes it). */
void api__post_me(api__thread_t *t, http_request_t *r)
{
	chat_buf_t display, out;
	chat_error_t e = { 0 };
	json_field_t df = { "display_name", NULL, 1, 0, 0, 0 };
	char user[SESSION_USER_MAX + 1], disp[NAMES_NFC_MAX + 1];
	int rc;

	chat_buf_init(&display, NAMES_INPUT_MAX);
	chat_buf_init(&out, 1024);
	df.str = &display;
	if (api__token_user(t, r, &df, "profile", user, &e) != CHAT_OK)
		goto out;
	rc = auth_display_set(t->db, user, chat_buf_slice(&display), chat_wall_ms(), disp, &e);
	if (rc != CHAT_OK) {
		api__respond_failure(r, "profile", rc, &e);
		goto out;
	}
	log_info("profile: %s set the display name \"%s\"", user, disp);
	if (render_user(&out, user, strlen(user), disp) == CHAT_OK)
		api__respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		api__respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&display);
	chat_buf_free(&out);
}
