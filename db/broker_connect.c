/*
 * broker_connect.c - CONNECT/STOMP and DISCONNECT: version and
 * heart-beat negotiation, the login, the CONNECTED frame.
 */
#include "config.h"
#include "broker_int.h"
#include "counters.h"


static int parse_heartbeat(const char *s, int64_t *cx, int64_t *cy)
{
	char *end;
	long long x, y;

	if (s == NULL) {
		*cx = *cy = 0;
		return CHAT_OK;
	}
	if (*s < '0' || *s > '9')
		return CHAT_EINVAL;
	x = strtoll(s, &end, 10);
	if (*end != ',' || end[1] < '0' || end[1] > '9')
		return CHAT_EINVAL;
	y = strtoll(end + 1, &end, 10);
	if (*end != '\0' || x < 0 || y < 0 || x > 86400000 || y > 86400000)
		return CHAT_EINVAL;
	*cx = x;
	*cy = y;
	return CHAT_OK;
}

/* The highest version both sides speak, 0 for none.  No accept-version
 * means a 1.0 client. */
static stomp_version_t negotiate(const char *accept)
{
	int have[3] = { 0, 0, 0 };
	const char *p = accept;

	if (accept == NULL)
		return STOMP_V1_0;
	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 3 && memcmp(p, "1.0", 3) == 0)
			have[0] = 1;
		else if (n == 3 && memcmp(p, "1.1", 3) == 0)
			have[1] = 1;
		else if (n == 3 && memcmp(p, "1.2", 3) == 0)
			have[2] = 1;
		p += n + (e != NULL);
	}
	return have[2] ? STOMP_V1_2 : have[1] ? STOMP_V1_1 : have[0] ? STOMP_V1_0 : 0;
}

/* Before CONNECT's transaction: checks its passcode (the store may be
 * asked), keeping the outcome for broker__on_connect(). */
int broker__connect_prepare(broker_t *b, const stomp_frame_t *f)
{
	const char *pass = broker__header(f, "passcode");
	authlimit_conf_t lim;
	auth_attempt_t at = { &lim, b->peer, 0 };
	chat_error_t e = { 0 };
	store_t *s;

	if (pass == NULL)
		return CHAT_OK;
	s = broker__get_store(b);
	authlimit_conf_from(b->opt, &lim);
	b->auth.code = auth_check(b->db, s, broker__header(f, "login"), pass, b->now_ms, &at,
				  b->auth_user, &b->auth_grant, &e);
	if (b->auth.code == CHAT_EDB && s != NULL)
		broker__store_failed(b);
	if (b->auth.code == CHAT_EDENIED && s == NULL && b->store != NULL)
		snprintf(b->auth.message, sizeof(b->auth.message),
			 "cannot check passwords now: log in with a token");
	else if (b->auth.code == CHAT_ETOOMANY)
		snprintf(b->auth.message, sizeof(b->auth.message),
			 "too many failed logins, retry in %lld s",
			 (long long)((at.retry_ms + 999) / 1000));
	else if (b->auth.code == CHAT_EBUSY)
		snprintf(b->auth.message, sizeof(b->auth.message),
			 "too many logins at once, retry later");
	else
		snprintf(b->auth.message, sizeof(b->auth.message), "%s", e.message);
	return CHAT_OK;
}

/* Who the CONNECT makes the session's user: the passcode's (checked in
 * broker__connect_prepare()), or a new guest-N. */
static int connect_user(broker_t *b, const stomp_frame_t *f, char name[SESSION_USER_MAX + 1])
{
	int64_t n;
	int rc, found;

	if (broker__header(f, "passcode") != NULL) {
		/* Anything but a wrong passcode is the server's failure: its
		 * detail is not for the client. */
		if (b->auth.code == CHAT_ETOOMANY || b->auth.code == CHAT_EBUSY)
			return broker__refuse(b, "%s", b->auth.message);
		if (b->auth.code != CHAT_OK && b->auth.code != CHAT_EDENIED)
			return broker__refuse(b, "authentication is unavailable, try again later");
		if (b->auth.code != CHAT_OK)
			return broker__refuse(b, "authentication failed%s%s",
					      b->auth.message[0] ? ": " : "", b->auth.message);
		snprintf(name, SESSION_USER_MAX + 1, "%s", b->auth_user);
		rc = auth_banned(b->db, name, &found, b->err);
		if (rc != CHAT_OK)
			return rc;
		if (found)
			return broker__refuse(b, "%s", BROKER_ERROR_BANNED);
	} else if (b->opt->allow_guests) {
		/* Guests are guest-N whatever login says: a registered name
		 * cannot start with guest-, so nobody becomes someone else. */
		rc = counters_next(b->db, COUNTERS_GUEST, &n, b->err);
		if (rc != CHAT_OK)
			return rc;
		snprintf(name, SESSION_USER_MAX + 1, CHATMSG_GUEST_PREFIX "%lld", (long long)n);
	} else {
		return broker__refuse(b,
				      "authentication required: CONNECT with login and passcode");
	}
	return CHAT_OK;
}

/* Appends CONNECTED for version v; its row also tells the session's
 * dispatcher the version, the user and the heart-beat it sends (cy). */
static int connected_frame(broker_t *b, stomp_version_t v, const char *name, int64_t expect,
			   int64_t cy)
{
	stomp_header_t h[5];
	char hb[48];
	int rc;

	snprintf(hb, sizeof(hb), "%lld,%lld", (long long)b->opt->stomp_heartbeat_ms,
		 (long long)expect);
	h[0].name = CHAT_SLICE("version");
	h[0].value = v == STOMP_V1_2   ? CHAT_SLICE("1.2")
		     : v == STOMP_V1_1 ? CHAT_SLICE("1.1")
				       : CHAT_SLICE("1.0");
	h[1].name = CHAT_SLICE("heart-beat");
	h[1].value = (chat_slice_t){ hb, strlen(hb) };
	h[2].name = CHAT_SLICE("server");
	h[2].value = CHAT_SLICE(BROKER_SERVER);
	h[3].name = CHAT_SLICE("session");
	h[3].value = (chat_slice_t){ b->key, strlen(b->key) };
	h[4].name = CHAT_SLICE("user-name");
	h[4].value = (chat_slice_t){ name, strlen(name) };
	chat_buf_reset(&b->frame);
	rc = stomp_serialize(&b->frame, v, STOMP_CMD_CONNECTED, h, 5, NULL, 0);
	if (rc != CHAT_OK)
		return rc;
	/* The row also tells the session's dispatcher its version and user. */
	snprintf(hb, sizeof(hb), "%d", (int)v);
	chat_buf_reset(&b->hdrs);
	if ((rc = chatrow_hdr_put(&b->hdrs, DELIVERY_H_VERSION, hb)) != CHAT_OK ||
	    (rc = chatrow_hdr_put(&b->hdrs, DELIVERY_H_USER, name)) != CHAT_OK)
		return rc;
	snprintf(hb, sizeof(hb), "%lld", (long long)cy);
	if ((rc = chatrow_hdr_put(&b->hdrs, DELIVERY_H_HB, hb)) != CHAT_OK)
		return rc;
	return broker__append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs),
			      chat_buf_slice(&b->frame), NULL);
}

int broker__on_connect(broker_t *b, const stomp_frame_t *f)
{
	char name[SESSION_USER_MAX + 1];
	stomp_version_t v;
	int64_t cx, cy, expect;
	int rc;

	if (b->connected)
		return broker__refuse(b, "already connected");
	v = negotiate(broker__header(f, "accept-version"));
	if (v == 0)
		return broker__refuse(b, "Supported protocol versions are 1.0,1.1,1.2");
	if (parse_heartbeat(broker__header(f, "heart-beat"), &cx, &cy) != CHAT_OK)
		return broker__refuse(b, "invalid heart-beat header");
	if ((rc = connect_user(b, f, name)) != CHAT_OK)
		return rc;
	/* The server offers heart-beats every stomp_heartbeat_ms; the shells
	 * send them at broker_heartbeat_interval().  It takes the client's at
	 * the SockJS heartbeat interval or slower. */
	expect = heartbeat_expect_ms(cx, b->opt->heartbeat_ms);
	rc = session_set_user(b->db, b->key, name, b->err);
	if (rc != CHAT_OK)
		return rc;
	rc = broker_state__put(b->db, b->key, v, cx, cy, expect, b->now_ms, b->err);
	/* Remembered so that a logout or the expiry ends the session. */
	if (rc == CHAT_OK && broker__header(f, "passcode") != NULL && b->auth_grant.by_token)
		rc = broker_state__token_put(b->db, b->key, b->auth_grant.hash,
					     sizeof(b->auth_grant.hash), b->auth_grant.expires_ms,
					     b->err);
	if (rc != CHAT_OK)
		return rc;
	b->connected = 1;
	b->version = v;
	snprintf(b->info.user_name, sizeof(b->info.user_name), "%s", name);
	b->info.has_user = 1;
	return connected_frame(b, v, name, expect, cy);
}

int broker__on_disconnect(broker_t *b, const stomp_frame_t *f)
{
	const char *receipt = broker__header(f, "receipt");
	int rc;

	if ((rc = broker__forget(b)) != CHAT_OK)
		return rc;
	b->ended = 1;
	if (receipt == NULL) {
		char code[16];
		const char *pairs[] = { "close-code", code, "close-reason", BROKER_REASON_NORMAL,
					NULL };

		/* Tells a request or socket held elsewhere to close too. */
		snprintf(code, sizeof(code), "%d", BROKER_CLOSE_NORMAL);
		if ((rc = broker__send_change(b, pairs)) != CHAT_OK)
			return rc;
		return session_close(b->db, b->key, BROKER_CLOSE_NORMAL, BROKER_REASON_NORMAL,
				     b->now_ms, b->err);
	}
	chat_buf_reset(&b->frame);
	rc = stomp_serialize_receipt(&b->frame, b->version, receipt);
	if (rc == CHAT_OK)
		rc = broker__send_frame(b, BROKER_CLOSE_NORMAL, BROKER_REASON_NORMAL);
	if (rc == CHAT_OK)
		rc = session_set_closing(b->db, b->key, b->err);
	return rc;
}
