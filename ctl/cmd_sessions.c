/*
 * cmd_sessions.c - chatctl sessions: list them (newest first), end one
 * (a STOMP ERROR, then the close).
 */
#include "config.h"
#include "ctl.h"
#include "admin.h"
#include "broker.h"

#include <stdio.h>

static const char *state_text(session_state_t s)
{
	return s == SESSION_OPEN ? "open" : s == SESSION_CLOSING ? "closing" : "closed";
}

static int session_row(void *ctx, const admin_session_t *a)
{
	ctl_t *c = ctx;
	const session_info_t *i = &a->info;
	char when[32];

	if (c->json) {
		ctl_jitem(c);
		ctl_jtext(c, "id", i->id);
		ctl_jtext(c, "state", state_text(i->state));
		ctl_jtext(c, "user", i->user_name);
		ctl_jtext(c, "held_by", a->held_by);
		ctl_jtext(c, "peer", i->peer);
		ctl_jint(c, "created_ms", i->created_ms);
		ctl_jint(c, "last_seen_ms", i->last_seen_ms);
		ctl_jint(c, "cursor", i->cursor);
		ctl_jint(c, "subscriptions", a->subscriptions);
		ctl_jraw(c, "}");
	} else {
		printf("%s\t%s\t%s\t%s\t%s\t%lld subs\t%s\n", i->id, state_text(i->state),
		       i->has_user ? i->user_name : "-", a->held_by, i->peer[0] ? i->peer : "-",
		       (long long)a->subscriptions,
		       ctl_ms_text(i->last_seen_ms, when, sizeof(when)));
	}
	return 0;
}

int ctl_sessions_list(ctl_t *c, const char *user)
{
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	if (c->json)
		ctl_jraw(c, "{\"sessions\":[");
	if (admin_sessions(c->db, user, c->now_ms, 1000, session_row, c, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (c->json)
		ctl_jraw(c, "]}");
	return CTL_EX_DONE;
}

int ctl_sessions_kill(ctl_t *c, const char *id)
{
	int64_t n = 0;
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	rc = broker_end_session(c->db, &c->opt, id, c->now_ms, &n, &c->err);
	if (rc != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (n == 0)
		return ctl_fail(c, CTL_EX_NOTFOUND, "no open session %s", id);
	ctl_done_json(c, "ended", id);
	return CTL_EX_DONE;
}
