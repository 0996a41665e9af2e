/*
 * broker_sweep.c - sessions ended from outside a frame: signs of life,
 * heart-beat and token sweeps, ending a user's or one session.
 */
#include "config.h"
#include "broker_int.h"

/* The sessions a sweep ends (at most SWEEP_MAX) and their ERROR
 * messages. */
#define SWEEP_MAX 64

typedef struct sweep {
	int64_t now_ms;
	const char *text; /* every ERROR's message, or NULL: message() writes it */
	void (*message)(const struct sweep *s, int64_t value, char *out, size_t size);
	char keys[SWEEP_MAX][CHATDB_ID_MAX + 1];
	char msgs[SWEEP_MAX][BROKER_PERR_MAX];
	size_t n;
} sweep_t;

/* Finds the sessions to end: calls collect(s, key, value) for each. */
typedef int (*sweep_find_fn)(chatdb_t *db, const chat_options_t *opt, const char *arg, sweep_t *s,
			     chat_error_t *err);

static int collect(void *ctx, const char *key, int64_t value)
{
	sweep_t *s = ctx;

	snprintf(s->keys[s->n], sizeof(s->keys[s->n]), "%s", key);
	if (s->message != NULL)
		s->message(s, value, s->msgs[s->n], sizeof(s->msgs[s->n]));
	else
		snprintf(s->msgs[s->n], sizeof(s->msgs[s->n]), "%s", s->text);
	return ++s->n < SWEEP_MAX ? CHAT_OK : CHAT_STOP;
}

static int collect_id(void *ctx, const char *key)
{
	return collect(ctx, key, 0);
}

int broker_heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
{
	return broker_state__heard_soon(db, key, now_ms, err);
}

int broker_heard_prefix(chatdb_t *db, const char *prefix, int64_t now_ms, chat_error_t *err)
{
	return broker_state__heard_prefix(db, prefix, now_ms, err);
}

/* Ends the sessions find() yields with ERROR, then close, as for a
 * refused frame: at most SWEEP_MAX, each in its own transaction; rings the
 * doorbell once.  s holds the sweep's time and its message. */
static int sweep_sessions(chatdb_t *db, const chat_options_t *opt, sweep_find_fn find,
			  const char *arg, sweep_t *s, int64_t *closed_out, chat_error_t *err)
{
	doorbell_t *bell;
	int64_t ring = 0;
	size_t i;
	int rc;

	if (closed_out != NULL)
		*closed_out = 0;
	s->n = 0;
	if ((rc = find(db, opt, arg, s, err)) != CHAT_OK)
		return rc;
	bell = chatdb__hold_doorbell(db);
	for (i = 0; i < s->n && rc == CHAT_OK; i++) {
		broker_t b;

		broker__setup(&b, db, opt, NULL, s->keys[i], s->now_ms, err);
		rc = broker__fail_now(&b, s->msgs[i]);
		if (b.ring_seq > ring)
			ring = b.ring_seq;
		broker__teardown(&b);
	}
	chatdb__release_doorbell(db, bell, ring);
	if (rc == CHAT_OK && closed_out != NULL)
		*closed_out = (int64_t)s->n;
	return rc;
}

static void silent_message(const sweep_t *s, int64_t heard_ms, char *out, size_t size)
{
	snprintf(out, size, "heart-beat timeout, nothing received for %lld ms",
		 (long long)(s->now_ms - heard_ms));
}

static int find_silent(chatdb_t *db, const chat_options_t *opt, const char *arg, sweep_t *s,
		       chat_error_t *err)
{
	(void)arg;
	return broker_state__silent(db, s->now_ms, opt->stomp_liveness_ms, collect, s, err);
}

int64_t broker_heartbeat_interval(const chat_options_t *opt, int64_t client_recv_ms)
{
	return heartbeat_send_ms(opt->stomp_heartbeat_ms, client_recv_ms);
}

int broker_heartbeat_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
			   int64_t *closed_out, chat_error_t *err)
{
	sweep_t s = { .now_ms = now_ms, .message = silent_message };

	return sweep_sessions(db, opt, find_silent, NULL, &s, closed_out, err);
}

static void token_message(const sweep_t *s, int64_t expired, char *out, size_t size)
{
	(void)s;
	snprintf(out, size, "%s", broker__token_end_message(expired != 0));
}

static int find_dead_tokens(chatdb_t *db, const chat_options_t *opt, const char *arg, sweep_t *s,
			    chat_error_t *err)
{
	(void)opt;
	(void)arg;
	return broker_state__dead_tokens(db, s->now_ms, collect, s, err);
}

int broker_token_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms, int64_t *closed_out,
		       chat_error_t *err)
{
	sweep_t s = { .now_ms = now_ms, .message = token_message };

	return sweep_sessions(db, opt, find_dead_tokens, NULL, &s, closed_out, err);
}

static int find_user(chatdb_t *db, const chat_options_t *opt, const char *user, sweep_t *s,
		     chat_error_t *err)
{
	(void)opt;
	return session__open_ids(db, NULL, user, SWEEP_MAX, collect_id, s, err);
}

int broker_end_user(chatdb_t *db, const chat_options_t *opt, const char *user, const char *why,
		    int64_t now_ms, int64_t *closed_out, chat_error_t *err)
{
	sweep_t s = { .now_ms = now_ms, .text = why };
	int64_t n = 0, total = 0;
	int rc;

	/* SWEEP_MAX at a time; each ended session is no longer open. */
	do {
		rc = sweep_sessions(db, opt, find_user, user, &s, &n, err);
		total += n;
	} while (rc == CHAT_OK && n == SWEEP_MAX);
	if (closed_out != NULL)
		*closed_out = total;
	return rc;
}

static int find_session(chatdb_t *db, const chat_options_t *opt, const char *id, sweep_t *s,
			chat_error_t *err)
{
	(void)opt;
	return session__open_ids(db, id, NULL, 1, collect_id, s, err);
}

int broker_end_session(chatdb_t *db, const chat_options_t *opt, const char *id, int64_t now_ms,
		       int64_t *closed_out, chat_error_t *err)
{
	sweep_t s = { .now_ms = now_ms, .text = BROKER_ERROR_KILLED };

	return sweep_sessions(db, opt, find_session, id, &s, closed_out, err);
}
