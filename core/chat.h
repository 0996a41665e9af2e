/*
 * chat.h - what every module of libchat shares: the status codes, the error
 * detail struct and the slice type.
 *
 * Status convention (libuv-style): functions return int, 0 is success,
 * negative CHAT_E* codes are failures, and CHAT_EAGAIN ("need more input",
 * an incremental parser's answer) is its own code, never an error to log.
 * Each code has one meaning.  The one positive code, CHAT_STOP, is what a
 * callback returns to stop an iteration early; the iterating function then
 * returns CHAT_OK.  Results come back through out-parameters; optional human
 * detail goes into a chat_error_t.
 */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include <stddef.h>
#include <stdint.h>

enum {
	CHAT_STOP = 1, /* a callback's "stop iterating" (not an error) */
	CHAT_OK = 0,
	CHAT_EAGAIN = -1,     /* an incremental parser needs more input */
	CHAT_EINVAL = -2,     /* malformed input or bad argument */
	CHAT_ENOMEM = -3,     /* allocation failed */
	CHAT_ETOOBIG = -4,    /* a size bound was exceeded (frame, line, buffer) */
	CHAT_ETOOMANY = -5,   /* a count bound was exceeded (headers, items) */
	CHAT_ENOTFOUND = -6,  /* no such thing (session, user, room, route) */
	CHAT_EEXIST = -7,     /* already exists (unique name, id) */
	CHAT_EIO = -8,        /* operating-system I/O failure */
	CHAT_EDB = -9,        /* database failure (SQLite or MongoDB) */
	CHAT_ETIMEDOUT = -10, /* a wait ended without the event */
	CHAT_EBUSY = -11,     /* held by someone else (lease, lock) */
	CHAT_EUTF8 = -12,     /* text is not valid UTF-8 */
	CHAT_EPROTO = -13,    /* protocol violation by the peer */
	CHAT_EDENIED = -14,   /* not allowed (auth, origin, destination) */
	CHAT_ECLOSED = -15,   /* the session or connection is closed */
	CHAT_EHELP = -16,     /* --help was asked for: print the usage, exit 0 */
	CHAT_E_LAST = -17
};

/* On the declaration of a function that returns a status: a caller that
 * drops the result gets a warning (an error with --enable-werror). */
#define CHAT_MUST_CHECK __attribute__((warn_unused_result))

/* Returns a static, human-readable name of a status code; never NULL. */
const char *chat_strerror(int rc);

/* Optional human detail for a failure.  Callers may pass NULL. */
typedef struct chat_error {
	int code;          /* the CHAT_E* code that was returned */
	char message[256]; /* what happened, NUL-terminated */
} chat_error_t;

/* Records code and a printf-style message into err (no-op if err is NULL).
 * Returns code, so callers can write `return chat_error_set(err, rc, ...)`. */
int chat_error_set(chat_error_t *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What a log line says about failure rc: err's message, or, when err is
 * NULL or holds none, chat_strerror(rc), so no log line has an empty
 * reason.  Borrowed from err or static. */
const char *chat_error_reason(const chat_error_t *err, int rc);

/* A borrowed view of bytes: never owns, never NUL-terminated by contract. */
typedef struct chat_slice {
	const char *ptr;
	size_t len;
} chat_slice_t;

#define CHAT_SLICE(lit) ((chat_slice_t){ (lit), sizeof(lit) - 1 })

/* Returns 1 when s equals the NUL-terminated string lit byte for byte. */
int chat_slice_eq(chat_slice_t s, const char *lit);

/* Flags of chat_glob(). */
#define CHAT_GLOB_QMARK 1  /* '?' stands for any one byte */
#define CHAT_GLOB_NOCASE 2 /* ASCII case is ignored */

/* Returns 1 when s[0..sn) matches the pattern p[0..pn), in which '*'
 * stands for any run of bytes (and, with CHAT_GLOB_QMARK, '?' for one),
 * else 0.  Linear backtracking: O(pn * sn) at worst. */
int chat_glob(const char *p, size_t pn, const char *s, size_t sn, int flags);

/* Walks a comma-separated list, as the list options are written: sets
 * *item to the next item with the spaces and tabs around it trimmed,
 * skipping empty ones, advances *s past it and returns 1; returns 0 at the
 * end.  A comma inside brackets does not end an item ("a:[1,2]" is one).  *s is a NUL-terminated string, borrowed; *item points into it. */
int chat_list_next(const char **s, chat_slice_t *item);

/* Whether addr (a numeric client address, as REMOTE_ADDR or a socket's
 * peer gives it) is a loopback one: 127.0.0.0/8, ::1, or ::ffff:127.x. */
int chat_addr_loopback(const char *addr);

/* Makes room in the array *v (of elements of size elem, *cap allocated)
 * for element index n: when n >= *cap it grows, doubling from first, to at
 * most max elements (0: no bound but the address space).  The array keeps
 * its contents; on failure (CHAT_ENOMEM, or CHAT_ETOOMANY when n >= max)
 * *v and *cap are unchanged. */
int chat_array_reserve(void **v, size_t *cap, size_t n, size_t elem, size_t first, size_t max);

#define CHAT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The input limits of docs/limits.md, each defined here once; the modules'
 * constants (CHATMSG_NAME_MAX, STORE_USER_NAME_MAX, CHATDB_ID_MAX, ...) are
 * these under their own names. */
#define CHAT_USER_NAME_MAX 32 /* bytes of a registered user name */
/* Bytes of a session's user as chat.db, the cluster wire and delivery keep
 * it: wider than a registered name (a name or guest-N in practice), kept at
 * 128 so what the sessions table and the cluster wire accept is unchanged. */
#define CHAT_PRINCIPAL_MAX 128
_Static_assert(CHAT_PRINCIPAL_MAX >= CHAT_USER_NAME_MAX, "a session holds any user name");
#define CHAT_TEXT_MAX 4000    /* bytes of decoded text in one chat post */
#define CHAT_ROOM_ID_MAX 64   /* bytes of a room id */
#define CHAT_PASSWORD_MAX 128 /* bytes of a password */
/* Bytes of an id in chat.db and on the wire: a session key, a SockJS
 * server id, a subscription id, a lease owner, a consumer name. */
#define CHAT_ID_MAX 128
/* Characters of a SockJS session id: its chat.db key adds 2 (service.h). */
#define CHAT_SID_MAX (CHAT_ID_MAX - 2)
#define CHAT_DEST_MAX 256 /* bytes of a STOMP destination */

#endif
