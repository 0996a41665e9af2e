/* api_keyed.c - the API's endpoints a key opens (see api.h): the metrics
 * (metrics_key, or loopback) and publishing (publish_key). */
#include "config.h"
#include "api_int.h"

#include "broker.h"
#include "hookmsg.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
void api__get_metrics(const chat_options_t *opt, api__thread_t *t, http_request_t *r)
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
			api__respond_error(
				r, 401, "WWW-Authenticate: Bearer realm=\"metrics\"\r\n",
				"the metrics need \"Authorization: Bearer KEY\" (metrics_key)");
		else
			api__respond_error(r, 403, NULL,
					   "the metrics are readable from loopback only");
		return;
	}
	chat_buf_init(&out, (size_t)METRICS_PROCS_MAX * 512 + 64 * 1024);
	rc = metrics_render_prometheus(t->db, chat_wall_ms(), &out, &e);
	if (rc == CHAT_OK)
		http_respond(r, 200, METRICS_CONTENT_TYPE, "Cache-Control: no-store\r\n", out.data,
			     out.len);
	else
		api__respond_failure(r, "metrics", rc == CHAT_ETOOBIG ? CHAT_ENOMEM : rc, &e);
	chat_buf_free(&out);
}

/* POST /api/publish (see api.h): the key, then one message as the
 * application hook's answers give it, published by the broker. */
void api__post_publish(const chat_options_t *opt, api__thread_t *t, http_request_t *r)
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
		api__respond_error(
			r, 401, "WWW-Authenticate: Bearer\r\n",
			"the publish key is needed (Authorization: Bearer KEY, or X-Chat-Key: KEY)");
		return;
	}
	if (!key_matches(key, opt->publish_key)) {
		log_warn("api: publish with a wrong key from %s", http_param(r, "REMOTE_ADDR"));
		api__respond_error(r, 403, NULL, "wrong publish key");
		return;
	}
	/* The body as JSON: a string escaped up to 6 bytes a byte. */
	chat_buf_init(&body, max * 6 + 4096);
	chat_buf_init(&out, 64);
	chat_buf_init(&m.dest, HOOKMSG_DEST_MAX);
	chat_buf_init(&m.ctype, HOOKMSG_CTYPE_MAX);
	chat_buf_init(&m.body, max);
	if (api__read_body(r, &body) != CHAT_OK)
		goto out;
	rc = hookmsg_message_parse(body.data ? body.data : "", body.len, &m, &e);
	if (rc == CHAT_OK && m.dest.len == 0)
		rc = chat_error_set(&e, CHAT_EINVAL, "\"destination\" is missing");
	if (rc == CHAT_OK)
		rc = broker_publish(t->db, opt, m.dest.data, m.ctype.len > 0 ? m.ctype.data : NULL,
				    chat_buf_slice(&m.body), chat_wall_ms(), &id, &e);
	if (rc == CHAT_ETOOBIG)
		api__respond_error(r, 413, NULL, e.message);
	else if (rc != CHAT_OK)
		api__respond_failure(r, "publish", rc, &e);
	else if (chat_buf_printf(&out, "{\"id\":%lld}", (long long)id) == CHAT_OK)
		api__respond_json(r, 200, NULL, chat_buf_slice(&out));
	else
		api__respond_error(r, 500, NULL, "internal error");
out:
	chat_buf_free(&body);
	chat_buf_free(&out);
	chat_buf_free(&m.dest);
	chat_buf_free(&m.ctype);
	chat_buf_free(&m.body);
}
