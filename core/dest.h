/*
 * dest.h - STOMP destinations, Spring-style: validation, classification by
 * prefix (/app, /topic, /queue, /user) and Ant-style pattern matching with
 * '/' as the separator ('?' one character, '*' within one segment, '**'
 * zero or more whole segments), as Spring's simple broker matches
 * subscriptions.  Pure functions over slices.
 */
#ifndef CHAT_DEST_H
#define CHAT_DEST_H

#include "chat.h"

/* Longest destination accepted anywhere, in bytes. */
#define DEST_MAX_LEN 256
/* Most segments in a destination or pattern. */
#define DEST_MAX_SEGMENTS 16

typedef enum dest_kind {
	DEST_APP,   /* under /app: application handlers */
	DEST_TOPIC, /* under /topic: broadcast */
	DEST_QUEUE, /* under /queue: point-to-point */
	DEST_USER,  /* under /user: one user's sessions */
	DEST_OTHER  /* anything else: refused by the broker */
} dest_kind_t;

/* Checks that d is a well-formed destination: starts with '/', 1..DEST_MAX_LEN
 * bytes, at most DEST_MAX_SEGMENTS segments, no empty segment ("//" or a
 * trailing '/'), no "." or ".." segment, only printable ASCII except
 * space; patterns (allow_wildcards) may also hold '*' and '?'.  Returns 0,
 * CHAT_ETOOBIG (too long or too many segments) or CHAT_EINVAL. */
int dest_validate(chat_slice_t d, int allow_wildcards);

/* Classifies a destination by its first segment.  "/topic" alone (no
 * further segment) is DEST_OTHER: every kind needs a name below it. */
dest_kind_t dest_classify(chat_slice_t d);

/* Returns 1 when destination d matches the Ant-style pattern p, else 0.
 * A pattern without wildcards matches only itself.  Inputs are assumed
 * validated; invalid ones never match. */
int dest_match(chat_slice_t p, chat_slice_t d);

/* Splits a user destination.  "/user/NAME/REST..." addresses user NAME:
 * *user gets NAME and *rest "/REST...".  "/user/queue/..." or
 * "/user/topic/..." (what a subscriber writes for its own queue) gives an
 * empty *user and *rest "/queue/...".  Returns 0, or CHAT_EINVAL when d is
 * not a /user destination with a rest below /queue or /topic. */
int dest_user_split(chat_slice_t d, chat_slice_t *user, chat_slice_t *rest);

#endif
