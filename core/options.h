/*
 * options.h - the server's options as one declared table (name, type,
 * default, bounds, help).  The same table parses configuration files,
 * `--name=value` arguments and CHAT_NAME environment variables, prints
 * `--help`, and generates the configuration reference (docs/configuration.md).
 * A bad value is reported with the file and line it came from.  Pure:
 * reading files, the environment and argv, and printing --help and the
 * reference, is proc/optload.h.
 */
#ifndef CHAT_OPTIONS_H
#define CHAT_OPTIONS_H

#include "chat.h"
#include "dest.h"
#include "route.h"

#include <stddef.h>

typedef struct chat_options {
	char *db_path;             /* SQLite file of sessions and the outbox */
	char *bell_path;           /* doorbell file shared by all processes */
	char *store_uri;           /* durable store: sqlite:PATH or mongodb://... */
	char *endpoints;           /* SockJS endpoint paths, comma-separated */
	char *app_prefixes;        /* application destination prefixes, comma-separated */
	char *broker_prefixes;     /* broker destination prefixes, comma-separated */
	char *user_prefix;         /* user destination prefix */
	char *sockjs_url;          /* sockjs-client URL the iframe page loads */
	char *sockjs_versions_url; /* the same per version ("{version}"); empty: only sockjs_url */
	char *origins;             /* allowed Origins, comma-separated; * = any */
	char *ws_listen;           /* sidecar listen address (loopback) */
	char *pidfile;             /* chat-ws --daemon: its PID file and lock */
	char *log_level;           /* error, warn, info, debug */
	char *fcgi_listen;         /* FastCGI socket to listen on; empty: inherited fd 0 */
	long long ws_port;         /* sidecar TCP port */
	long long threads;         /* FastCGI request threads per process */
	long long heartbeat_ms;    /* SockJS heartbeat interval */
	long long stomp_heartbeat_ms;  /* server's STOMP heart-beat interval; 0: none */
	long long stomp_liveness_ms;   /* least silence before a heart-beating client is ended */
	long long held_reserve;        /* threads per process kept from held requests */
	long long held_per_addr;       /* held requests per client address, all processes */
	long long held_max;            /* 0, or held requests on the host, all processes */
	long long held_probe_ms;       /* 0, or how often a held stream writes "h" */
	long long body_timeout_ms;     /* longest silence reading a request body */
	long long disconnect_delay_ms; /* session closes this long after its last request */
	long long outbox_retention_ms; /* outbox rows older than this are pruned regardless */
	long long response_limit;      /* bytes before a streaming response is closed */
	long long max_frame;           /* largest STOMP frame / SockJS message, bytes */
	long long max_headers;         /* most STOMP headers per frame */
	long long websocket;           /* 1: offer WebSocket (sidecar running) */
	long long streaming;           /* 0: streaming transports answer 404 (a buffering front) */
	long long base_from_script;    /* 1: route paths below the directory of SCRIPT_NAME */
	long long session_bind;        /* 1: a session answers only its first request's address */
	long long session_id_min;      /* shortest SockJS session id accepted */
	long long cookie_needed;       /* 1: set JSESSIONID (sticky-session load balancers) */
	long long test_services;       /* 1: mount /echo, /close, ... SockJS test services */
	long long topic_send;          /* 1: clients may SEND straight to /topic destinations */
	long long user_queue_others;   /* 1: SEND to other users' /user/NAME/queue allowed */
	long long allow_guests;        /* 1: CONNECT without passcode gets a guest-N name */
	long long token_ttl_ms;        /* lifetime of login tokens */
	long long history_limit;       /* default page of a history subscription */
	long long kdf_memory_kib;      /* memory of one argon2id hash, KiB */
	long long kdf_ops;             /* argon2id passes */
	long long kdf_concurrency;     /* password hashes at once per process */
	long long kdf_wait_ms;         /* wait for a free hash slot */
	long long auth_account_failures;   /* failed logins per account before a lockout */
	long long auth_addr_failures;      /* failed logins per address before a lockout */
	long long auth_window_ms;          /* how long a failure counts */
	long long auth_lockout_ms;         /* first lockout, doubling */
	long long auth_lockout_max_ms;     /* longest lockout */
	long long guest_rooms;             /* 1: guests may create rooms */
	long long rooms_per_user;          /* rooms one user may have created at once */
	long long rooms_max;               /* rooms in all, "general" included */
	long long rate_sends;              /* SENDs per second of a registered user */
	long long rate_sends_burst;        /* SENDs at once of a registered user (0: no limit) */
	long long rate_guest_sends;        /* SENDs per second of a guest */
	long long rate_guest_sends_burst;  /* SENDs at once of a guest (0: no limit) */
	long long sessions_per_addr_rate;  /* new sessions per second of one address */
	long long sessions_per_addr_burst; /* new sessions at once of one address (0: no limit) */
	char *admins;                  /* user names, comma-separated, who may delete any room */
	char *publish_key;             /* API key of POST /api/publish; empty: refused */
	char *app_hook_url;            /* application hook URL; empty: none */
	long long app_hook_timeout_ms; /* longest hook call */
	long long app_hook_calls;      /* hook calls at once per process */
	long long metrics;             /* 1: GET /api/metrics answers */
	long long metrics_loopback;    /* 1: loopback clients need no metrics_key */
	char *metrics_key;             /* bearer key of /api/metrics; empty: none */
	char *log_format;              /* text or json */
	/* Derived by options_check() from the text above: */
	dest_prefixes_t dest; /* app_prefixes, broker_prefixes, user_prefix parsed */
	char endpoint[ROUTE_ENDPOINTS_MAX][ROUTE_ENDPOINT_MAX + 1]; /* endpoints parsed */
	size_t nendpoints;                                          /* 1..ROUTE_ENDPOINTS_MAX */
	char *broker_relay; /* stomp://USER:PASS@HOST:PORT/VHOST of RabbitMQ; empty: one node */
	long long node_id;  /* this node's number in a cluster, 1..15 */
	long long cluster_node_timeout_ms; /* a node not heard this long is left out of the order */
	long long cluster_presence_timeout_ms; /* ... this long: its users' presence is dropped */
} chat_options_t;

typedef enum options_type {
	OPTIONS_INT,
	OPTIONS_BOOL,
	OPTIONS_STRING
} options_type_t;

typedef struct options_entry {
	const char *name; /* as written in files and after "--" */
	options_type_t type;
	const char *def; /* default, as text */
	long long min;   /* bounds of OPTIONS_INT (inclusive) */
	long long max;
	size_t offset;    /* of the field in chat_options_t */
	const char *help; /* one line */
} options_entry_t;

/* The option table and its length. */
extern const options_entry_t options_table[];
extern const size_t options_count;

/* Fills c with the defaults.  Returns 0 or CHAT_ENOMEM.  Free with
 * options_free() even on failure. */
int options_defaults(chat_options_t *c);

/* Frees the strings c owns.  NULL-safe. */
void options_free(chat_options_t *c);

/* The entry of the option named by name's first len bytes, or NULL.
 * "prefix" names "endpoints" (older configuration files). */
const options_entry_t *options_find(const char *name, size_t len);

/* Sets one option from text.  where ("file:line", "--arg", "CHAT_X") goes
 * into the error message.  Returns 0, CHAT_ENOTFOUND (unknown name),
 * CHAT_EINVAL (not a number/boolean) or CHAT_ETOOBIG (out of bounds). */
int options_set(chat_options_t *c, const char *name, const char *value, const char *where,
		chat_error_t *err);

/* Parses configuration text: lines of `name = value`, '#' comments, blank
 * lines; values may be double-quoted.  filename names the source in errors
 * ("chat.conf:12: threads: 0 is below the minimum 1"). */
int options_parse(chat_options_t *c, const char *text, size_t len, const char *filename,
		  chat_error_t *err);

/* Checks the options that are lists, and log_format, and fills the
 * fields derived from them (dest, endpoint, nendpoints).
 * options_defaults() and options_load() (proc/optload.h) call it; a
 * caller that changes those options afterwards calls it again.  Returns 0, or CHAT_EINVAL / CHAT_ETOOBIG with err naming
 * the option. */
int options_check(chat_options_t *c, chat_error_t *err);

#endif
