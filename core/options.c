/* options.c - the option table and its parsers (see options.h); reading
 * files, the environment and argv is proc/optload.c. */
#include "config.h"
#include "options.h"

#include "hookmsg.h"
#include "logline.h"
#include "origin.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(field) offsetof(chat_options_t, field)

const options_entry_t options_table[] = {
	{ "db_path", OPTIONS_STRING, "var/chat.db", 0, 0, OPT(db_path),
	  "SQLite file holding sessions, subscriptions and the outbox (shared by every process)" },
	{ "bell_path", OPTIONS_STRING, "var/chat.bell", 0, 0, OPT(bell_path),
	  "doorbell file that wakes waiting requests when the outbox moves" },
	{ "store_uri", OPTIONS_STRING, "sqlite:var/history.db", 0, 0, OPT(store_uri),
	  "durable history: sqlite:PATH (embedded default) or a mongodb:// URI" },
	{ "endpoints", OPTIONS_STRING, "/chat", 0, 0, OPT(endpoints),
	  "the chat's SockJS endpoint paths, comma-separated, at most 4 (Spring's addEndpoint(...).withSockJS()): each serves every SockJS transport under it, and its raw WebSocket (no SockJS framing) at PATH/websocket; the front server's configuration must route them (conf/serve.sh --endpoints)" },
	{ "app_prefixes", OPTIONS_STRING, "/app", 0, 0, OPT(app_prefixes),
	  "application destination prefixes, comma-separated (Spring's setApplicationDestinationPrefixes): a SEND or SUBSCRIBE under one goes to the chat application (PREFIX/chat/room/{id}, PREFIX/rooms, ...)" },
	{ "broker_prefixes", OPTIONS_STRING, "/topic,/queue", 0, 0, OPT(broker_prefixes),
	  "broker destination prefixes, comma-separated (Spring's enableSimpleBroker): one whose last segment is \"queue\" hands each message to one consumer in turn, every other one broadcasts; the chat's rooms are published under the first broadcasting one (PREFIX/chat/room/{id}, PREFIX/rooms)" },
	{ "user_prefix", OPTIONS_STRING, "/user", 0, 0, OPT(user_prefix),
	  "user destination prefix (Spring's setUserDestinationPrefix): PREFIX/queue/x is the subscriber's own queue, PREFIX/{name}/queue/x another user's" },
	{ "sockjs_url", OPTIONS_STRING, "/js/sockjs.min.js", 0, 0, OPT(sockjs_url),
	  "URL of sockjs-client that the iframe transport page loads (when sockjs_versions_url is empty, or has no client of the page's version)" },
	{ "sockjs_versions_url", OPTIONS_STRING, "/js/sockjs-{version}.min.js", 0, 0,
	  OPT(sockjs_versions_url),
	  "URL of sockjs-client of a given version, {version} standing for it: the iframe page loads the client of its page's own version (sockjs-client refuses another one); www/js holds 1.4.0, 1.5.2 and 1.6.1; empty: always sockjs_url" },
	{ "origins", OPTIONS_STRING, "*", 0, 0, OPT(origins),
	  "allowed Origin values, comma-separated (scheme://host:port), also as Spring's setAllowedOriginPatterns writes them: * for any run of characters (https://*.example.com), a port list :[8080,8081] or :[*]; * alone allows any" },
	{ "ws_listen", OPTIONS_STRING, "127.0.0.1", 0, 0, OPT(ws_listen),
	  "address the WebSocket sidecar listens on (keep it on loopback)" },
	{ "log_level", OPTIONS_STRING, "info", 0, 0, OPT(log_level),
	  "least severe message logged: error, warn, info or debug" },
	{ "fcgi_listen", OPTIONS_STRING, "", 0, 0, OPT(fcgi_listen),
	  "FastCGI socket (HOST:PORT or a path) to listen on; empty: the one the front server passes as fd 0" },
	{ "pidfile", OPTIONS_STRING, "", 0, 0, OPT(pidfile),
	  "chat-ws --daemon: the file that holds its PID (and a lock on it while it runs); a start that finds it locked by a running chat-ws does nothing, so cron may start it every few minutes (docs/shared-hosting.md)" },
	{ "ws_port", OPTIONS_INT, "8081", 1, 65535, OPT(ws_port),
	  "TCP port of the WebSocket sidecar" },
	{ "threads", OPTIONS_INT, "64", 1, 1024, OPT(threads),
	  "request threads per FastCGI process, each holding one long-poll or stream at a time (1 under mod_fcgid)" },
	{ "heartbeat_ms", OPTIONS_INT, "25000", 100, 3600000, OPT(heartbeat_ms),
	  "SockJS heartbeat interval in milliseconds" },
	{ "stomp_heartbeat_ms", OPTIONS_INT, "10000", 0, 3600000, OPT(stomp_heartbeat_ms),
	  "the server's STOMP heart-beat interval, in milliseconds (CONNECTED heart-beat:sx,sy); a client asking for heart-beats gets an EOL every max(this, its interval); 0: none; below 100 counts as 100" },
	{ "stomp_liveness_ms", OPTIONS_INT, "120000", 1000, 86400000, OPT(stomp_liveness_ms),
	  "a session whose client promised heart-beats ends after max(2 x the agreed interval, this) with no sign of life (a frame, an EOL, a SockJS request or a held one, a WebSocket pong); tolerates background tabs whose timers run once a minute" },
	{ "held_reserve", OPTIONS_INT, "8", 0, 1023, OPT(held_reserve),
	  "request threads of each FastCGI process kept for short requests (/api, /info, xhr_send), at most half of threads: held polls and streams use at most the rest; one over that budget is answered at once with what is waiting for it or a heartbeat frame" },
	{ "held_per_addr", OPTIONS_INT, "8", 1, 100000, OPT(held_per_addr),
	  "held polls and streams (across all processes) one client address (REMOTE_ADDR; sessions are bound to it by session_bind) may have at once; one more is answered at once with what is waiting for it or a heartbeat frame" },
	{ "held_max", OPTIONS_INT, "0", 0, 1000000, OPT(held_max),
	  "held polls and streams on this host at once, all processes (for mod_fcgid, where each process serves one request: set it below FcgidMaxProcesses so that processes stay free for short requests); one more is answered at once with what is waiting for it or a heartbeat frame; 0: no such bound" },
	{ "held_probe_ms", OPTIONS_INT, "0", 0, 3600000, OPT(held_probe_ms),
	  "when above 0 and below heartbeat_ms, a held stream writes a heartbeat frame this often so that a vanished client is noticed (set behind Apache, which notices one only on a failed write); 0: only the heartbeat" },
	{ "body_timeout_ms", OPTIONS_INT, "10000", 100, 3600000, OPT(body_timeout_ms),
	  "longest silence while reading a request body from the front server; a POST whose body stops coming is dropped after it" },
	{ "disconnect_delay_ms", OPTIONS_INT, "5000", 100, 3600000, OPT(disconnect_delay_ms),
	  "a session is closed this long after its last request ended" },
	{ "outbox_retention_ms", OPTIONS_INT, "600000", 1000, 604800000, OPT(outbox_retention_ms),
	  "outbox rows older than this are pruned even if a stalled session has not read them" },
	{ "response_limit", OPTIONS_INT, "131072", 4096, 67108864, OPT(response_limit),
	  "bytes sent on a streaming response before it is closed and the client reopens" },
	{ "max_frame", OPTIONS_INT, "65536", 1024, 16777216, OPT(max_frame),
	  "largest STOMP frame (a frame may span several SockJS or WebSocket messages) and SockJS message accepted, in bytes" },
	{ "max_headers", OPTIONS_INT, "32", 4, 1024, OPT(max_headers),
	  "most headers in one STOMP frame" },
	{ "websocket", OPTIONS_BOOL, "1", 0, 1, OPT(websocket),
	  "offer the WebSocket transport (needs the chat-ws sidecar behind the same front server)" },
	{ "streaming", OPTIONS_BOOL, "1", 0, 1, OPT(streaming),
	  "serve the streaming transports (xhr_streaming, eventsource, htmlfile); 0 answers them 404 so that sockjs-client takes a polling transport at once: for a front server that buffers responses (Apache mod_fcgid without FcgidOutputBufferSize 0); a request parameter CHAT_STREAMING=0 from the front server (SetEnv in .htaccess) does the same for its request" },
	{ "base_from_script", OPTIONS_BOOL, "0", 0, 1, OPT(base_from_script),
	  "route each request path below the directory of SCRIPT_NAME (a program that a RewriteRule in .htaccess reaches: with chat.fcgi in /~me/chat/, /~me/chat/chat/info is /chat/info and /~me/chat/api/rooms is /api/rooms); for the shared-hosting bundle" },
	{ "session_bind", OPTIONS_BOOL, "1", 0, 1, OPT(session_bind),
	  "bind each SockJS session to the address of its first request: a request from another address gets 404 (0: for clients that change address)" },
	{ "session_id_min", OPTIONS_INT, "8", 1, CHAT_SID_MAX, OPT(session_id_min),
	  "shortest SockJS session id accepted on the chat endpoint (sockjs-client sends 8 characters); shorter ones get 404 (the test services take any)" },
	{ "cookie_needed", OPTIONS_BOOL, "0", 0, 1, OPT(cookie_needed),
	  "set the JSESSIONID cookie (for load balancers with sticky sessions)" },
	{ "test_services", OPTIONS_BOOL, "0", 0, 1, OPT(test_services),
	  "mount the SockJS protocol test services /echo, /close, /disabled_websocket_echo, /cookie_needed_echo" },
	{ "topic_send", OPTIONS_BOOL, "0", 0, 1, OPT(topic_send),
	  "let clients SEND straight to /topic/** (0: only /app handlers publish there, as in Spring)" },
	{ "user_queue_others", OPTIONS_BOOL, "1", 0, 1, OPT(user_queue_others),
	  "let a client SEND to another user's /user/{name}/queue/** (as Spring does; the MESSAGE names the sender in user-name); 0: ERROR, only the sender's own /user/{own name}/queue/** is allowed" },
	{ "allow_guests", OPTIONS_BOOL, "1", 0, 1, OPT(allow_guests),
	  "let clients CONNECT without a passcode as guest-N (0: only registered users, by password or token)" },
	{ "token_ttl_ms", OPTIONS_INT, "604800000", 1000, 31536000000, OPT(token_ttl_ms),
	  "how long a login token from POST /api/login stays valid, in milliseconds; the STOMP sessions opened with it end when it expires" },
	{ "history_limit", OPTIONS_INT, "50", 1, 500, OPT(history_limit),
	  "messages a history subscription replies with when it names no limit" },
	{ "kdf_memory_kib", OPTIONS_INT, "19456", 8, 4194304, OPT(kdf_memory_kib),
	  "memory of one argon2id password hash, in KiB (19456 = 19 MiB, OWASP's minimum; existing hashes keep the parameters they were made with)" },
	{ "kdf_ops", OPTIONS_INT, "2", 1, 64, OPT(kdf_ops),
	  "passes of one argon2id password hash (with kdf_memory_kib, its time)" },
	{ "kdf_concurrency", OPTIONS_INT, "2", 1, 256, OPT(kdf_concurrency),
	  "password hashes running at once per process (each takes kdf_memory_kib); the others wait up to kdf_wait_ms, then get 503 or a STOMP ERROR" },
	{ "kdf_wait_ms", OPTIONS_INT, "2000", 0, 60000, OPT(kdf_wait_ms),
	  "how long a login, signup or STOMP CONNECT with a password waits for a free hash slot, in milliseconds" },
	{ "auth_account_failures", OPTIONS_INT, "5", 1, 1000000, OPT(auth_account_failures),
	  "failed logins of one account within auth_window_ms before it is locked (HTTP 429, STOMP ERROR)" },
	{ "auth_addr_failures", OPTIONS_INT, "20", 1, 1000000, OPT(auth_addr_failures),
	  "failed logins from one client address (REMOTE_ADDR), to any accounts, within auth_window_ms before it is locked" },
	{ "auth_window_ms", OPTIONS_INT, "900000", 1000, 86400000, OPT(auth_window_ms),
	  "how long a failed login counts, in milliseconds" },
	{ "auth_lockout_ms", OPTIONS_INT, "60000", 1, 86400000, OPT(auth_lockout_ms),
	  "first lockout of an account or address, in milliseconds; each further one in a row doubles it" },
	{ "auth_lockout_max_ms", OPTIONS_INT, "3600000", 1, 86400000, OPT(auth_lockout_max_ms),
	  "longest lockout, in milliseconds" },
	{ "guest_rooms", OPTIONS_BOOL, "0", 0, 1, OPT(guest_rooms),
	  "let guests create rooms (0: only registered users; a guest's SEND /app/rooms gets an ERROR)" },
	{ "rooms_per_user", OPTIONS_INT, "20", 0, 1000000, OPT(rooms_per_user),
	  "rooms one user may have created and not deleted; one more is refused (STOMP ERROR, HTTP 403)" },
	{ "rooms_max", OPTIONS_INT, "1000", 1, 10000, OPT(rooms_max),
	  "rooms in all, \"general\" included; one more is refused (STOMP ERROR, HTTP 403)" },
	{ "rate_sends", OPTIONS_INT, "10", 0, 1000000, OPT(rate_sends),
	  "SENDs a registered user may make per second across all its sessions (chat posts, room changes, /queue, /user and allowed /topic); over it a SEND is refused with a MESSAGE on /user/queue/errors (0: no refill)" },
	{ "rate_sends_burst", OPTIONS_INT, "50", 0, 1000000, OPT(rate_sends_burst),
	  "SENDs a registered user may make at once before rate_sends applies (0: no limit)" },
	{ "rate_guest_sends", OPTIONS_INT, "2", 0, 1000000, OPT(rate_guest_sends),
	  "SENDs a guest may make per second (as rate_sends)" },
	{ "rate_guest_sends_burst", OPTIONS_INT, "10", 0, 1000000, OPT(rate_guest_sends_burst),
	  "SENDs a guest may make at once before rate_guest_sends applies (0: no limit)" },
	{ "sessions_per_addr_rate", OPTIONS_INT, "20", 0, 1000000, OPT(sessions_per_addr_rate),
	  "new SockJS sessions one client address (REMOTE_ADDR) may open per second over the HTTP transports; over it the opening request gets 429 with Retry-After (0: no refill)" },
	{ "sessions_per_addr_burst", OPTIONS_INT, "100", 0, 1000000, OPT(sessions_per_addr_burst),
	  "new SockJS sessions one client address may open at once before sessions_per_addr_rate applies (0: no limit)" },
	{ "admins", OPTIONS_STRING, "", 0, 0, OPT(admins),
	  "user names, comma-separated, who may delete any room (the creator may always delete its own)" },
	{ "publish_key", OPTIONS_STRING, "", 0, 0, OPT(publish_key),
	  "API key of POST /api/publish (server-side publishing, as Spring's SimpMessagingTemplate.convertAndSend): sent as \"Authorization: Bearer KEY\" or \"X-Chat-Key: KEY\"; empty: the endpoint answers 404. Use a long random string and keep the configuration file private" },
	{ "app_hook_url", OPTIONS_STRING, "", 0, 0, OPT(app_hook_url),
	  "application hook (Spring's @MessageMapping and @SubscribeMapping for people who cannot write C): a SEND or SUBSCRIBE to an application destination the built-in chat does not handle is POSTed as JSON to this http://IPv4:PORT/PATH URL (plain HTTP, numeric address, e.g. a PHP script behind the same front server), and its JSON answer says what to publish; empty: such destinations are an ERROR. See docs/hooks.md" },
	{ "app_hook_timeout_ms", OPTIONS_INT, "3000", 10, 60000, OPT(app_hook_timeout_ms),
	  "longest an application hook call may take, connect to last byte, in milliseconds; past it the sender gets an ERROR. The STOMP frame's worker waits for it" },
	{ "app_hook_calls", OPTIONS_INT, "4", 1, 1024, OPT(app_hook_calls),
	  "application hook calls one process makes at once; a frame that would make one more gets an ERROR (\"application busy\") instead of waiting" },
	{ "metrics", OPTIONS_BOOL, "0", 0, 1, OPT(metrics),
	  "answer GET /api/metrics with the stack's metrics in the Prometheus text format (docs/metrics.md); 0: 404" },
	{ "metrics_loopback", OPTIONS_BOOL, "1", 0, 1, OPT(metrics_loopback),
	  "let clients on loopback (REMOTE_ADDR 127.0.0.0/8 or ::1) read /api/metrics without metrics_key (0: for a reverse proxy on the same host, whose clients all look local)" },
	{ "metrics_key", OPTIONS_STRING, "", 0, 0, OPT(metrics_key),
	  "key that lets any address read /api/metrics as \"Authorization: Bearer KEY\" (at least 16 characters; empty: loopback only)" },
	{ "log_format", OPTIONS_STRING, "text", 0, 0, OPT(log_format),
	  "log lines as text (time prog[pid] level: message key=value ...) or json (one object per line)" },
	{ "broker_relay", OPTIONS_STRING, "", 0, 0, OPT(broker_relay),
	  "stomp://USER:PASS@HOST:PORT/VHOST of a RabbitMQ STOMP listener joining this node (this machine's chat.db) to the others with the same setting (docs/cluster.md); needs a mongodb:// store_uri shared by every node and a node_id of its own; empty: one node" },
	{ "node_id", OPTIONS_INT, "0", 0, 15, OPT(node_id),
	  "this node's number in a cluster (1..15, unique per node; message ids carry it); 0: not in a cluster" },
	{ "cluster_node_timeout_ms", OPTIONS_INT, "3000", 100, 600000, OPT(cluster_node_timeout_ms),
	  "in a cluster, how long a node may go unheard (its relay beacons every second) before the others stop holding posts back for it: the longest a dead node stalls live delivery; a post of a node left out is shown when it arrives (docs/cluster.md)" },
	{ "cluster_presence_timeout_ms", OPTIONS_INT, "30000", 1000, 86400000,
	  OPT(cluster_presence_timeout_ms),
	  "in a cluster, how long a node may go unheard before the others drop its users' presence (LEAVE notices for users present nowhere else); it announces them again when it is back" },
};

const size_t options_count = CHAT_ARRAY_LEN(options_table);

const options_entry_t *options_find(const char *name, size_t len)
{
	size_t i;

	/* "prefix", the one SockJS path before endpoints took a list, still
	 * names it in older configuration files. */
	if (len == 6 && memcmp(name, "prefix", 6) == 0)
		name = "endpoints", len = 9;
	for (i = 0; i < options_count; i++)
		if (strlen(options_table[i].name) == len &&
		    memcmp(options_table[i].name, name, len) == 0)
			return &options_table[i];
	return NULL;
}

static int set_option(chat_options_t *c, const options_entry_t *o, const char *value,
		      const char *where, chat_error_t *err)
{
	char *field = (char *)c + o->offset;
	long long v;
	char *end;

	switch (o->type) {
	case OPTIONS_STRING: {
		chat_error_t why = { 0 };
		char *copy;

		/* A hook URL that cannot be called is refused where it is written. */
		if (o->offset == OPT(app_hook_url) && *value != '\0' &&
		    hookmsg_url_parse(value, &(hookmsg_url_t){ 0 }, &why) != CHAT_OK)
			return chat_error_set(err, CHAT_EINVAL, "%s: %s: %s", where, o->name,
					      why.message);
		copy = strdup(value);
		if (copy == NULL)
			return chat_error_set(err, CHAT_ENOMEM, "%s: out of memory", where);
		free(*(char **)field);
		*(char **)field = copy;
		return CHAT_OK;
	}
	case OPTIONS_BOOL:
		if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "on"))
			v = 1;
		else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false") ||
			 !strcmp(value, "off"))
			v = 0;
		else
			return chat_error_set(
				err, CHAT_EINVAL,
				"%s: %s: '%s' is not a boolean (use 1/0, yes/no, true/false, on/off)",
				where, o->name, value);
		*(long long *)field = v;
		return CHAT_OK;
	case OPTIONS_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno == ERANGE)
			return chat_error_set(err, CHAT_EINVAL,
					      "%s: %s: '%s' is not a whole number", where, o->name,
					      value);
		if (v < o->min)
			return chat_error_set(err, CHAT_ETOOBIG,
					      "%s: %s: %lld is below the minimum %lld", where,
					      o->name, v, o->min);
		if (v > o->max)
			return chat_error_set(err, CHAT_ETOOBIG,
					      "%s: %s: %lld is above the maximum %lld", where,
					      o->name, v, o->max);
		*(long long *)field = v;
		return CHAT_OK;
	}
	return CHAT_EINVAL;
}

int options_defaults(chat_options_t *c)
{
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < options_count; i++) {
		rc = set_option(c, &options_table[i], options_table[i].def, "default", NULL);
		if (rc != CHAT_OK)
			return rc;
	}
	return options_check(c, NULL);
}

int options_check(chat_options_t *c, chat_error_t *err)
{
	int rc = dest_prefixes_parse(&c->dest, c->app_prefixes, c->broker_prefixes, c->user_prefix,
				     err);

	if (rc == CHAT_OK)
		rc = route_endpoints_parse(c->endpoints, c->endpoint, &c->nendpoints, err);
	if (rc == CHAT_OK)
		rc = origin_check(c->origins, err);
	if (rc == CHAT_OK && log_format_from_name(c->log_format, &(log_format_t){ 0 }) != CHAT_OK)
		rc = chat_error_set(err, CHAT_EINVAL, "log_format: '%s' is neither text nor json",
				    c->log_format);
	return rc;
}

void options_free(chat_options_t *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < options_count; i++) {
		if (options_table[i].type == OPTIONS_STRING) {
			char **field = (char **)((char *)c + options_table[i].offset);

			free(*field);
			*field = NULL;
		}
	}
}

int options_set(chat_options_t *c, const char *name, const char *value, const char *where,
		chat_error_t *err)
{
	const options_entry_t *o = options_find(name, strlen(name));

	if (o == NULL)
		return chat_error_set(err, CHAT_ENOTFOUND, "%s: unknown option '%s' (see --help)",
				      where, name);
	return set_option(c, o, value, where, err);
}

static const char *trim(char *s, char **end)
{
	while (*s == ' ' || *s == '\t')
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
	**end = '\0';
	return s;
}

int options_parse(chat_options_t *c, const char *text, size_t len, const char *filename,
		  chat_error_t *err)
{
	char *copy, *line, *next, where[256];
	int lineno = 0, rc = CHAT_OK;

	if (memchr(text, '\0', len) != NULL)
		return chat_error_set(err, CHAT_EINVAL, "%s: contains a NUL byte", filename);
	copy = malloc(len + 1);
	if (copy == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "%s: out of memory", filename);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; line != NULL && rc == CHAT_OK; line = next) {
		char *eq, *name_end, *value_end;
		const char *name, *value;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", filename, lineno);
		value_end = line + strlen(line);
		line = (char *)trim(line, &value_end);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			rc = chat_error_set(err, CHAT_EINVAL, "%s: expected 'name = value'", where);
			break;
		}
		name_end = eq;
		*eq = '\0';
		name = trim(line, &name_end);
		value = trim(eq + 1, &value_end);
		if (*value == '"') {
			if (value_end - value < 2 || value_end[-1] != '"') {
				rc = chat_error_set(err, CHAT_EINVAL,
						    "%s: unterminated quoted value", where);
				break;
			}
			value_end[-1] = '\0';
			value++;
		}
		rc = options_set(c, name, value, where, err);
	}
	free(copy);
	return rc;
}
