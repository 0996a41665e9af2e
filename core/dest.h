/*
 * dest.h - STOMP destinations, Spring-style: validation, classification by
 * the configured prefixes (app_prefixes, broker_prefixes, user_prefix: by
 * default /app, /topic and /queue, /user) and Ant-style pattern matching
 * with '/' as the separator ('?' one character, '*' within one segment,
 * '**' zero or more whole segments), as Spring's simple broker matches
 * subscriptions.  Pure functions over slices, except that the prefixes a
 * process classifies by are set once at its start (dest_prefixes_use()).
 */
#ifndef CHAT_DEST_H
#define CHAT_DEST_H

#include "chat.h"

/* Longest destination accepted anywhere, in bytes. */
#define DEST_MAX_LEN CHAT_DEST_MAX
/* Most segments in a destination or pattern. */
#define DEST_MAX_SEGMENTS 16

/* Longest configured prefix, in bytes. */
#define DEST_PREFIX_MAX 64
/* Most prefixes in app_prefixes, and in broker_prefixes. */
#define DEST_PREFIXES_MAX 8

typedef enum dest_kind {
	DEST_APP,   /* under an application prefix (/app): application handlers */
	DEST_TOPIC, /* under a broadcast broker prefix (/topic) */
	DEST_QUEUE, /* under a broker prefix whose last segment is "queue": point-to-point */
	DEST_USER,  /* under the user prefix (/user): one user's sessions */
	DEST_OTHER  /* anything else: refused by the broker */
} dest_kind_t;

/* The destination prefixes of a process, as Spring's
 * setApplicationDestinationPrefixes, enableSimpleBroker and
 * setUserDestinationPrefix configure them.  A value type: copy it freely. */
typedef struct dest_prefixes {
	char app[DEST_PREFIXES_MAX][DEST_PREFIX_MAX + 1];    /* application prefixes */
	size_t napp;                                         /* 1..DEST_PREFIXES_MAX */
	char broker[DEST_PREFIXES_MAX][DEST_PREFIX_MAX + 1]; /* broker prefixes */
	dest_kind_t broker_kind[DEST_PREFIXES_MAX];          /* DEST_TOPIC or DEST_QUEUE each */
	size_t nbroker;                                      /* 1..DEST_PREFIXES_MAX */
	size_t topic; /* index of the first DEST_TOPIC broker prefix (the chat's broadcasts) */
	size_t queue; /* index of the first DEST_QUEUE one, else topic (the chat's user queues) */
	char user[DEST_PREFIX_MAX + 1]; /* the user prefix */
} dest_prefixes_t;

/* Checks that d is a well-formed destination: starts with '/', 1..DEST_MAX_LEN
 * bytes, at most DEST_MAX_SEGMENTS segments, no empty segment ("//" or a
 * trailing '/'), no "." or ".." segment, only printable ASCII except
 * space; patterns (allow_wildcards) may also hold '*' and '?'.  Returns 0,
 * CHAT_ETOOBIG (too long or too many segments) or CHAT_EINVAL. */
int dest_validate(chat_slice_t d, int allow_wildcards);

/* Fills *p from the three options' text: app and broker are
 * comma-separated lists (spaces around items ignored), user one prefix.
 * Each prefix is a destination (dest_validate, no wildcards) of at most
 * DEST_PREFIX_MAX bytes; one trailing '/' is dropped ("/app/" is "/app").
 * A broker prefix whose last segment is "queue" has DEST_QUEUE semantics
 * (consumers in turn), every other one DEST_TOPIC (broadcast); at least one
 * must be a DEST_TOPIC one, for the chat application's rooms.  No prefix
 * may be given twice, in one list or across them.  Returns 0, or CHAT_EINVAL
 * / CHAT_ETOOBIG with err naming the option and the item. */
int dest_prefixes_parse(dest_prefixes_t *p, const char *app, const char *broker, const char *user,
			chat_error_t *err);

/* Spring's defaults: /app; /topic, /queue; /user. */
void dest_prefixes_default(dest_prefixes_t *p);

/* Makes *p (copied) the prefixes dest_classify() and dest_user_split() use
 * in this process.  Call before any thread starts; until then the defaults
 * apply. */
void dest_prefixes_use(const dest_prefixes_t *p);

/* The prefixes in use (borrowed, static). */
const dest_prefixes_t *dest_prefixes(void);

/* Classifies d by the prefixes in p: the longest prefix that d lies under
 * (the prefix, a '/', and at least one more byte) decides.  A prefix alone
 * ("/topic") is DEST_OTHER: every kind needs a name below it.  When rest is
 * not NULL it gets the part of d from the '/' after the prefix ("/x" of
 * "/topic/x"); for DEST_OTHER it is left alone. */
dest_kind_t dest_classify_in(const dest_prefixes_t *p, chat_slice_t d, chat_slice_t *rest);

/* dest_classify_in() with the prefixes in use. */
dest_kind_t dest_classify(chat_slice_t d);

/* Returns 1 when d lies under prefix (NUL-terminated; whole segments and
 * something below), with *rest from the '/' after it; else 0. */
int dest_under(chat_slice_t d, const char *prefix, chat_slice_t *rest);

/* Returns 1 when destination d matches the Ant-style pattern p, else 0.
 * A pattern without wildcards matches only itself.  Inputs are assumed
 * validated; invalid ones never match. */
int dest_match(chat_slice_t p, chat_slice_t d);

/* Splits a user destination (by the prefixes in use; here with the
 * defaults).  "/user/NAME/REST..." addresses user NAME: *user gets NAME and
 * *rest "/REST...".  "/user/queue/..." or "/user/topic/..." (what a
 * subscriber writes for its own queue: the rest is under a broker prefix)
 * gives an empty *user and *rest "/queue/...".  Returns 0, or CHAT_EINVAL
 * when d is not a user destination with a rest below a broker prefix. */
int dest_user_split(chat_slice_t d, chat_slice_t *user, chat_slice_t *rest);

#endif
