/*
 * cmd_rooms.c - chatctl rooms: list the live rooms, delete one (its
 * history stays).
 */
#include "config.h"
#include "ctl.h"
#include "chatroom.h"

#include <stdio.h>
#include <string.h>

static int room_row(void *ctx, const chatroom_t *r)
{
	ctl_t *c = ctx;
	char when[32];

	if (c->json) {
		ctl_jitem(c);
		ctl_jtext(c, "name", r->name);
		ctl_jint(c, "id", r->id);
		ctl_jtext(c, "creator", r->creator);
		ctl_jint(c, "created_ms", r->created_ms);
		ctl_jkey(c, "stored");
		ctl_jraw(c, r->stored ? "true}" : "false}");
	} else {
		printf("%s\t%s\t%s%s\n", r->name, r->creator[0] ? r->creator : "-",
		       ctl_ms_text(r->created_ms, when, sizeof(when)),
		       r->stored ? "" : "\tnot in the store yet");
	}
	return CHAT_OK;
}

int ctl_rooms_list(ctl_t *c)
{
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	if (c->json)
		ctl_jraw(c, "{\"rooms\":[");
	if (chatroom_list(c->db, 0, room_row, c, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if (c->json)
		ctl_jraw(c, "]}");
	return CTL_EX_DONE;
}

int ctl_rooms_delete(ctl_t *c, const char *name)
{
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	rc = chatroom_delete(c->db, &c->opt, (chat_slice_t){ name, strlen(name) }, NULL, c->now_ms,
			     NULL, &c->err);
	if (rc == CHAT_ENOTFOUND)
		return ctl_fail(c, CTL_EX_NOTFOUND, "no room %s", name);
	if (rc != CHAT_OK)
		return ctl_fail(c, rc == CHAT_EDENIED ? CTL_EX_USAGE : CTL_EX_FAILED, "%s",
				c->err.message);
	ctl_done_json(c, "deleted", name);
	return CTL_EX_DONE;
}
