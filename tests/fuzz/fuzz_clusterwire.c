/*
 * fuzz_clusterwire.c - what a node reads from RabbitMQ and from its
 * configuration (core/clusterwire.h).
 *
 * Input: byte 0 picks the part: even, the bytes (up to a NUL) are a
 * broker_relay URL; odd, the rest is a STOMP byte stream whose frames go
 * to clusterwire_parse_message().  Invariants: a URL that parses has a
 * host, a port in 1..65535 and NUL-terminated parts within their bounds; a
 * message that parses has an id of its origin (id % 16 == origin, origin
 * 1..15), a body that is the frame's and a non-empty ack, and either (a
 * post) a valid room equal to the body's or (a user message) a /user/NAME
 * destination and a valid content-type; a failure is a CHAT_E* code.  abort() otherwise.
 */
#include "config.h"
#include "clusterwire.h"
#include "dest.h"
#include "fuzz.h"
#include "mediatype.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void url(const uint8_t *data, size_t size)
{
	char s[1024];
	clusterwire_url_t u;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int rc;

	memcpy(s, data, n);
	s[n] = '\0';
	rc = clusterwire_parse_url(s, &u, NULL);
	if (rc == CHAT_OK) {
		if (u.host[0] == '\0' || u.port < 1 || u.port > 65535 ||
		    strnlen(u.user, sizeof(u.user)) == sizeof(u.user) ||
		    strnlen(u.pass, sizeof(u.pass)) == sizeof(u.pass) ||
		    strnlen(u.vhost, sizeof(u.vhost)) == sizeof(u.vhost) || u.vhost[0] == '\0')
			abort();
	} else if (rc >= 0 || rc <= CHAT_E_LAST) {
		abort();
	}
}

static void messages(const uint8_t *data, size_t size)
{
	stomp_limits_t lim = { 8192, 16, 1024 };
	stomp_parser_t p;
	stomp_frame_t f;
	chat_buf_t room, writer, text;
	size_t off = 0, used;

	if (stomp_parser_init(&p, &lim) != CHAT_OK)
		return;
	stomp_parser_set_version(&p, STOMP_V1_2);
	chat_buf_init(&room, CHATMSG_ROOM_MAX);
	chat_buf_init(&writer, 128);
	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	while (off < size) {
		clusterwire_msg_t m;
		int rc = stomp_parser_feed(&p, (const char *)data + off, size - off, &used, &f);

		off += used;
		if (rc != CHAT_OK)
			break;
		rc = clusterwire_parse_message(&f, &m, &room, &writer, &text);
		if (rc == CHAT_OK) {
			chat_slice_t user, rest;

			/* A clock beacon's id is the origin's clock, which need
			 * not carry the origin's residue, and it has no body. */
			if (m.origin < 1 || m.origin >= CLUSTER_SLOTS || m.id <= 0 ||
			    m.ack.len == 0 ||
			    (m.kind != CLUSTERWIRE_CLOCK &&
			     (m.id % CLUSTER_SLOTS != m.origin || m.body.ptr != f.body.ptr ||
			      m.body.len != f.body.len)))
				abort();
			if (m.kind == CLUSTERWIRE_CLOCK) {
				/* nothing more to hold to */
			} else if (m.kind == CLUSTERWIRE_ROOM) {
				if (m.room_id <= 0 ||
				    !chatmsg_room_valid((chat_slice_t){ m.room, strlen(m.room) }))
					abort();
			} else if (m.kind == CLUSTERWIRE_PRESENCE) {
				if (m.token_user[0] == '\0' ||
				    !chatmsg_room_valid((chat_slice_t){ m.room, strlen(m.room) }))
					abort();
			} else if (m.kind == CLUSTERWIRE_TOKEN) {
				if (m.token_put && (m.token_user[0] == '\0' ||
						    m.token_expires_ms <= m.token_created_ms))
					abort();
			} else if (m.kind == CLUSTERWIRE_TOPIC) {
				if (dest_classify(m.dest) != DEST_TOPIC ||
				    m.dest.len > CLUSTERWIRE_DEST_MAX)
					abort();
			} else if (m.kind == CLUSTERWIRE_USER
					   ? dest_user_split(m.dest, &user, &rest) != CHAT_OK ||
						     user.len == 0 ||
						     m.dest.len > CLUSTERWIRE_DEST_MAX ||
						     (m.ctype.len > 0 &&
						      !mediatype_valid(m.ctype)) ||
						     m.sender.len > CLUSTERWIRE_SENDER_MAX
					   : !chatmsg_room_valid(
						     (chat_slice_t){ m.room, strlen(m.room) }) ||
						     strcmp(m.room, room.data) != 0 ||
						     writer.len == 0 || text.len == 0)
				abort();
		} else if (rc >= 0 || rc <= CHAT_E_LAST) {
			abort();
		}
		if (used == 0)
			break;
	}
	chat_buf_free(&room);
	chat_buf_free(&writer);
	chat_buf_free(&text);
	stomp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		url(data + 1, size - 1);
	else
		messages(data + 1, size - 1);
	return 0;
}
