/*
 * chatmsg.h - the chat application's messages: validating what a client
 * posts to /app/chat/room/{id} (a small JSON object with a "text" member),
 * room ids and user names, and rendering the stamped message the server
 * broadcasts on /topic/chat/room/{id}.  Pure code: no IO, no logging.
 *
 * What a post may be: one JSON object (whitespace around it allowed) whose
 * members are strings, numbers, true, false or null - no nested objects or
 * arrays -, with at most CHATMSG_MEMBERS_MAX members, no key starting with
 * '$' (nothing a client sends can become a database operator downstream),
 * numbers of at most CHATMSG_NUMBER_MAX characters, and exactly one "text"
 * member, a string.  Members other than "text" are read and ignored (the
 * server, not the client, decides writer, id and time).  The text, decoded,
 * must be valid UTF-8 (no lone surrogates, from escapes or raw), hold no NUL,
 * be at most CHATMSG_TEXT_MAX bytes and not be empty or all whitespace.
 */
#ifndef CHAT_CHATMSG_H
#define CHAT_CHATMSG_H

#include "buf.h"
#include "chat.h"
#include "json.h"

#include <stdint.h>

#define CHATMSG_TEXT_MAX CHAT_TEXT_MAX
#define CHATMSG_MEMBERS_MAX 16 /* members of a post object */
#define CHATMSG_NUMBER_MAX 32  /* characters of a number in a post */
#define CHATMSG_ROOM_MAX CHAT_ROOM_ID_MAX
#define CHATMSG_NAME_MAX CHAT_USER_NAME_MAX
#define CHATMSG_PASSWORD_MIN 8 /* bytes of a password */
#define CHATMSG_PASSWORD_MAX CHAT_PASSWORD_MAX
#define CHATMSG_GUEST_PREFIX "guest-" /* reserved: guests are named guest-N */

/* The bounds of json_parse_object() for what chat clients send: posts and
 * the HTTP API's bodies (CHATMSG_MEMBERS_MAX members, CHATMSG_NUMBER_MAX,
 * member names up to CHATMSG_TEXT_MAX bytes). */
extern const json_object_limits_t chatmsg_object_limits;

/* Parses the JSON post p[0..len) and appends the decoded text to text (the
 * caller initialises it; give it a max of at least CHATMSG_TEXT_MAX).
 * Returns 0; CHAT_EINVAL (not such an object, no "text", "text" twice or
 * not a string, a '$' key, an empty or blank text, a NUL in the text);
 * CHAT_EUTF8 (invalid UTF-8 or a lone surrogate in a string); CHAT_ETOOBIG
 * (text over CHATMSG_TEXT_MAX or text's max, a number too long);
 * CHAT_ETOOMANY (too many members); CHAT_ENOMEM.  On failure text is left
 * as it was.  err (may be NULL) gets a short human reason fit for a STOMP
 * ERROR message header. */
int chatmsg_parse_post(const char *p, size_t len, chat_buf_t *text, chat_error_t *err);

/* 1 when s is a valid room id: 1..CHATMSG_ROOM_MAX bytes of [A-Za-z0-9_-]. */
int chatmsg_room_valid(chat_slice_t s);

/* 1 when s is a valid user name: 1..CHATMSG_NAME_MAX bytes of
 * [A-Za-z0-9_.-] starting with a letter or digit. */
int chatmsg_name_valid(chat_slice_t s);

/* 1 when s looks like a guest's name, in any case: "guest" alone or
 * followed by '-', '_', '.' or a digit (guests are guest-N). */
int chatmsg_name_reserved(chat_slice_t s);

/* Checks a name someone registers: chatmsg_name_valid() and not reserved
 * (chatmsg_name_reserved()).  Returns 0, CHAT_ETOOBIG or CHAT_EINVAL; err
 * gets a sentence fit for an API error.  Names are unique whatever their
 * case (the store compares them case-insensitively; they are ASCII). */
int chatmsg_check_user_name(chat_slice_t s, chat_error_t *err);

/* Checks a password: CHATMSG_PASSWORD_MIN..CHATMSG_PASSWORD_MAX bytes of
 * valid UTF-8 without control characters.  0, CHAT_EINVAL, CHAT_ETOOBIG,
 * CHAT_EUTF8, with a sentence in err. */
int chatmsg_check_password(chat_slice_t s, chat_error_t *err);

/* Checks a room id as destinations carry it (display names are
 * core/names.h's): chatmsg_room_valid().  0, CHAT_EINVAL, CHAT_ETOOBIG, with a sentence. */
int chatmsg_check_room_name(chat_slice_t s, chat_error_t *err);

/* Appends {"type":TYPE,"user":USER,"room":ROOM} (enter/leave notices).
 * All or nothing; 0, CHAT_EUTF8, CHAT_ETOOBIG, CHAT_ENOMEM. */
int chatmsg_render_notice(chat_buf_t *out, const char *type, const char *user, const char *room);

/* Appends a room: {"id":ID,"name":NAME,"creator":C,"created":MS}: id in
 * destinations, display name.  All or nothing. */
int chatmsg_render_room(chat_buf_t *out, const char *id, const char *name, const char *creator,
			int64_t created_ms);

/* A message as the server stamps it.  Strings are NUL-terminated UTF-8;
 * everything is borrowed for the call. */
typedef struct chatmsg {
	int64_t id;          /* the outbox seq that carries it */
	const char *room;    /* room id */
	int64_t room_seq;    /* 1, 2, ... within the room */
	const char *writer;  /* the session's user, never what the client said */
	const char *display; /* the writer's display name; NULL or "": none */
	int64_t time_ms;     /* server wall-clock time, ms since the epoch */
	chat_slice_t text;   /* validated text */
	int deleted;         /* 1: deleted by a moderator (text left out) */
} chatmsg_t;

/* Appends m as a JSON object to out (a deleted m: "text":"" and
 * "deleted":true after it):
 * {"id":N,"room":"R","seq":N,"writer":"W","display_name":"D","time":N,"text":"T"}
 * (display_name only when m has one).
 * All or nothing.  Returns 0, CHAT_EUTF8 (a string is not UTF-8),
 * CHAT_ETOOBIG, CHAT_ENOMEM. */
int chatmsg_render(chat_buf_t *out, const chatmsg_t *m);

#endif
