/* loadgen.c - load generator for chat servers and their peers.
 *
 * Opens N subscriber sessions over one transport (WebSocket with SockJS
 * framing or raw, SockJS xhr-streaming, xhr-polling, eventsource; Nchan
 * EventSource and long-poll), M publishers at a total rate, and measures
 * what arrives: every message carries a stamp "LGM<pub>.<seq>.<ns>;" (the
 * publisher's index, its sequence number and CLOCK_MONOTONIC at send time)
 * that survives SockJS's JSON and STOMP's framing untouched, so receivers
 * only scan for it.  Reports delivered/s, latency percentiles, lost and
 * duplicated counts, and the server's CPU seconds and peak RSS (the sum
 * over the given PIDs and their descendants, from /proc) as one JSON line.
 *
 * One thread, one epoll loop, a small hand-written HTTP/1.1 and WebSocket
 * client (client frames are masked with a zero key, so payloads are sent
 * as they are): the generator stays far below the server's CPU use; its
 * own CPU time is in the report so that can be checked.
 *
 * Protocols: stomp (CONNECT, SUBSCRIBE with a receipt, SEND to --dest),
 * echo (each client's messages come back to it: the SockJS echo service),
 * nchan (subscribe on --sub-path, publish by HTTP POST to --pub-path).
 * Run `loadgen --help` for the options. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum transport {
	TR_WS,
	TR_XHR_STREAMING,
	TR_XHR_POLLING,
	TR_EVENTSOURCE,
	TR_LONGPOLL
};
enum proto {
	PR_STOMP,
	PR_ECHO,
	PR_NCHAN
};
enum phase {
	PH_CONNECTING,
	PH_HEADERS,
	PH_BODY,
	PH_WS,
	PH_IDLE,
	PH_CLOSED
};
enum cstate {
	CL_WAITING,
	CL_SETUP,
	CL_READY,
	CL_FAILED
};

struct client;

struct conn {
	int fd;
	int is_main; /* the receiving connection (else the sender) */
	struct client *cl;
	int phase;
	int status;           /* HTTP status of the response being read */
	int chunked;          /* body is chunked */
	long long clen;       /* body bytes left, -1 = until close */
	long long chunk_left; /* bytes left in the current chunk */
	int chunk_state;      /* 0 size line, 1 data, 2 CRLF after data */
	int keepalive;        /* the response allows another request */
	int pending;          /* responses still expected (pipelined) */
	int ws_opcode;        /* opcode of a fragmented message */
	char *rx;             /* raw bytes read, not yet consumed */
	size_t rxlen, rxcap;
	char *body; /* decoded body / WebSocket message so far */
	size_t bodylen, bodycap;
	char *tx; /* bytes to write */
	size_t txoff, txlen, txcap;
	int want_out;               /* EPOLLOUT is armed */
	char lastmod[64], etag[96]; /* Nchan long-poll position */
};

struct client {
	int id;
	int room;
	int is_sub, pubidx; /* pubidx -1: not a publisher */
	int state;
	int stomp;  /* 0, 1 CONNECT sent, 2 SUBSCRIBE sent, 3 done */
	int opened; /* SockJS 'o' seen */
	char sid[40];
	struct conn *main, *send;
	char *sq; /* requests waiting for the sender: length, bytes */
	size_t sqoff, sqlen, sqcap;
	uint32_t seq;     /* last sequence number published */
	int64_t next_pub; /* ns */
	int64_t setup_start;
};

static struct {
	const char *host;
	int port;
	int transport;
	int proto;
	int sockjs;              /* SockJS framing (else raw) */
	const char *prefix;      /* SockJS prefix, e.g. /chat */
	const char *ws_path;     /* raw WebSocket path */
	const char *ws_protocol; /* Sec-WebSocket-Protocol, or NULL */
	const char *sub_path;    /* Nchan subscriber path, %d = room */
	const char *pub_path;    /* Nchan publisher path, %d = room */
	const char *dest;        /* STOMP destination, %d = room */
	const char *login, *passcode;
	const char *label, *server, *scenario, *out;
	int nsubs, npubs, pubs_are_subs, rooms, conc;
	double rate, duration, settle, drain, setup_timeout, idle;
	pid_t pids[16];
	int npids;
} opt = {
	.host = "127.0.0.1",
	.port = 8080,
	.transport = TR_WS,
	.proto = PR_STOMP,
	.sockjs = 1,
	.prefix = "/chat",
	.ws_path = "/chat/websocket",
	.sub_path = "/sub/r%d",
	.pub_path = "/pub?id=r%d",
	.dest = "/topic/bench.%d",
	.label = "",
	.server = "",
	.scenario = "",
	.nsubs = 10,
	.npubs = 1,
	.rooms = 1,
	.conc = 64,
	.rate = 100,
	.duration = 5,
	.settle = 0.5,
	.drain = 3,
	.setup_timeout = 30,
};

static int ep;
static struct client *clients;
static int nclients;
static int *room_ready;    /* ready subscribers per room */
static uint32_t *last_seq; /* [client][publisher] highest seq seen */
static uint32_t *samples;  /* latencies in microseconds */
static size_t nsamples, samples_cap;
static uint64_t sent, expected, delivered, dups, errors, send_lost;
static char first_error[200];
static int nready, nfailed, nsetting, next_start;
static int64_t t_first_send, t_last_recv;
static int publishing;
static struct sockaddr_in server_addr;
static struct conn **all_conns; /* every conn opened, freed at exit */
static size_t nall_conns, all_conns_cap;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void note_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note_error(const char *fmt, ...)
{
	va_list ap;

	errors++;
	if (first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(first_error, sizeof(first_error), fmt, ap);
	va_end(ap);
	for (char *p = first_error; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(2);
	}
	return p;
}

static void grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 512;
	while (n < need)
		n *= 2;
	*buf = xrealloc(*buf, n);
	*cap = n;
}

/* ---- server processes: CPU and RSS from /proc ---- */

static int in_tree(pid_t pid, const pid_t *ppid_of, int depth)
{
	for (int i = 0; i < opt.npids; i++)
		if (pid == opt.pids[i])
			return 1;
	if (depth > 8 || pid <= 1)
		return 0;
	return ppid_of[pid] > 1 && in_tree(ppid_of[pid], ppid_of, depth + 1);
}

/* Sums utime+stime (seconds) and VmRSS (KiB) over the server tree. */
static void server_usage(double *cpu, long *rss)
{
	static pid_t *ppid_of;
	static long maxpid;
	DIR *d;
	struct dirent *e;
	char path[64], buf[1024];

	*cpu = 0;
	*rss = 0;
	if (opt.npids == 0)
		return;
	if (ppid_of == NULL) {
		FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
		if (f == NULL || fscanf(f, "%ld", &maxpid) != 1)
			maxpid = 4194304;
		if (f != NULL)
			fclose(f);
		ppid_of = calloc((size_t)maxpid + 1, sizeof(*ppid_of));
		if (ppid_of == NULL)
			return;
	}
	d = opendir("/proc");
	if (d == NULL)
		return;
	pid_t list[4096];
	int n = 0;
	while ((e = readdir(d)) != NULL && n < 4096) {
		long pid = strtol(e->d_name, NULL, 10);
		if (pid <= 0 || pid > maxpid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *p = strrchr(buf, ')');
		int ppid;
		if (p == NULL || sscanf(p + 2, "%*c %d", &ppid) != 1)
			continue;
		ppid_of[pid] = ppid;
		list[n++] = (pid_t)pid;
	}
	closedir(d);
	long tck = sysconf(_SC_CLK_TCK);
	for (int i = 0; i < n; i++) {
		if (!in_tree(list[i], ppid_of, 0))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)list[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *p = strrchr(buf, ')');
		unsigned long ut, st;
		long rsspages;
		if (p == NULL || sscanf(p + 2,
					"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
					"%*d %*d %*d %*d %*d %*d %*u %*u %ld",
					&ut, &st, &rsspages) != 3)
			continue;
		*cpu += (double)(ut + st) / (double)tck;
		*rss += rsspages * (sysconf(_SC_PAGESIZE) / 1024);
	}
}

/* ---- connections ---- */

static void arm(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int out = c->txlen > c->txoff || c->phase == PH_CONNECTING;

	if (out == c->want_out)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	c->want_out = out;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static struct conn *conn_open(struct client *cl, int is_main)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL)
		return NULL;
	if (nall_conns == all_conns_cap) {
		all_conns_cap = all_conns_cap ? all_conns_cap * 2 : 1024;
		all_conns = xrealloc(all_conns, all_conns_cap * sizeof(*all_conns));
	}
	all_conns[nall_conns++] = c;
	c->cl = cl;
	c->is_main = is_main;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		note_error("socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0 &&
	    errno != EINPROGRESS) {
		note_error("connect: %s", strerror(errno));
		close(c->fd);
		free(c);
		return NULL;
	}
	c->phase = PH_CONNECTING;
	c->want_out = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return c;
}

static void conn_write(struct conn *c, const char *p, size_t n)
{
	if (c->txoff == c->txlen)
		c->txoff = c->txlen = 0;
	grow(&c->tx, &c->txcap, c->txlen + n);
	memcpy(c->tx + c->txlen, p, n);
	c->txlen += n;
	if (c->phase == PH_CONNECTING)
		return;
	ssize_t w = write(c->fd, c->tx + c->txoff, c->txlen - c->txoff);
	if (w > 0)
		c->txoff += (size_t)w;
	arm(c);
}

static void http_request(struct conn *c, const char *method, const char *path, const char *extra,
			 const char *body, size_t blen)
{
	char head[1024];
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s", method, path,
			 opt.host, opt.port, extra ? extra : "", body ? "" : "\r\n");

	if (body != NULL)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", blen);
	conn_write(c, head, (size_t)n);
	if (body != NULL)
		conn_write(c, body, blen);
	c->pending++;
}

/* A masked client frame with a zero key: the payload goes out unchanged. */
static void ws_send(struct conn *c, const char *p, size_t n)
{
	unsigned char h[14];
	size_t hl;

	h[0] = 0x81;
	if (n < 126) {
		h[1] = (unsigned char)(0x80 | n);
		hl = 2;
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memset(h + hl, 0, 4);
	conn_write(c, (char *)h, hl + 4);
	conn_write(c, p, n);
}

/* ---- sessions ---- */

static void client_fail(struct client *cl, const char *why);
static void main_request(struct client *cl);

static void fmt_room(char *out, size_t cap, const char *tmpl, int room)
{
	const char *p = strstr(tmpl, "%d");

	if (p == NULL)
		snprintf(out, cap, "%s", tmpl);
	else
		snprintf(out, cap, "%.*s%d%s", (int)(p - tmpl), tmpl, room, p + 2);
}

/* Appends s as the body of a JSON string (SockJS's escaping). */
static size_t json_escape(char *out, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (ch < 0x20) {
			static const char hex[] = "0123456789abcdef";
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[ch >> 4];
			out[o + 5] = hex[ch & 15];
			o += 6;
		} else {
			out[o++] = (char)ch;
		}
	}
	return o;
}

/* A connection for the client's sends: one request at a time (no
 * pipelining: a server may close a keep-alive connection after any
 * response, and a pipelined request behind it would be lost), reopened
 * when the server closes it. */
static void sender_reopen(struct client *cl)
{
	struct conn *c = cl->send;

	if (c == NULL) {
		cl->send = conn_open(cl, 0);
		return;
	}
	/* Same struct, new socket: the caller may be inside conn_parse(c). */
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	int one = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->rxlen = c->bodylen = c->txoff = c->txlen = 0;
	c->pending = 0;
	if (c->fd < 0) {
		c->phase = PH_CLOSED;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->phase = PH_CLOSED;
		return;
	}
	c->phase = PH_CONNECTING;
	c->want_out = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void sender_kick(struct client *cl)
{
	if (cl->sqoff == cl->sqlen)
		return;
	if (cl->send == NULL || cl->send->phase == PH_CLOSED || cl->send->fd < 0)
		sender_reopen(cl);
	struct conn *c = cl->send;
	if (c == NULL || c->fd < 0) {
		send_lost++;
		note_error("cannot connect a sender");
		cl->sqoff = cl->sqlen = 0;
		return;
	}
	if (c->pending > 0)
		return;
	uint32_t n;
	memcpy(&n, cl->sq + cl->sqoff, sizeof(n));
	conn_write(c, cl->sq + cl->sqoff + sizeof(n), n);
	c->pending = 1;
	cl->sqoff += sizeof(n) + n;
	if (cl->sqoff == cl->sqlen)
		cl->sqoff = cl->sqlen = 0;
}

static void sender_queue(struct client *cl, const char *path, const char *body, size_t blen)
{
	char head[768];
	int hn = snprintf(head, sizeof(head),
			  "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
			  "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
			  path, opt.host, opt.port, blen);
	uint32_t n = (uint32_t)((size_t)hn + blen);

	if (cl->sqoff > 0 && cl->sqoff == cl->sqlen)
		cl->sqoff = cl->sqlen = 0;
	grow(&cl->sq, &cl->sqcap, cl->sqlen + sizeof(n) + n);
	memcpy(cl->sq + cl->sqlen, &n, sizeof(n));
	memcpy(cl->sq + cl->sqlen + sizeof(n), head, (size_t)hn);
	memcpy(cl->sq + cl->sqlen + sizeof(n) + (size_t)hn, body, blen);
	cl->sqlen += sizeof(n) + n;
	sender_kick(cl);
}

/* Sends one application message (a STOMP frame, an echo text or an Nchan
 * publication) the way the transport does. */
static void client_send(struct client *cl, const char *msg, size_t n)
{
	char buf[8192], path[512];
	size_t o = 0;

	if (n > 1000)
		return;
	if (opt.proto == PR_NCHAN) {
		fmt_room(path, sizeof(path), opt.pub_path, cl->room);
		sender_queue(cl, path, msg, n);
		return;
	}
	if (opt.sockjs) {
		buf[o++] = '[';
		buf[o++] = '"';
		o += json_escape(buf + o, msg, n);
		buf[o++] = '"';
		buf[o++] = ']';
	} else {
		memcpy(buf, msg, n);
		o = n;
	}
	if (opt.transport == TR_WS) {
		ws_send(cl->main, buf, o);
		return;
	}
	snprintf(path, sizeof(path), "%s/000/%s/xhr_send", opt.prefix, cl->sid);
	sender_queue(cl, path, buf, o);
}

static void client_ready(struct client *cl)
{
	if (cl->state != CL_SETUP)
		return;
	cl->state = CL_READY;
	nready++;
	nsetting--;
	if (cl->is_sub)
		room_ready[cl->room]++;
}

static void stomp_connect(struct client *cl)
{
	char f[512];
	int n;

	if (opt.login != NULL)
		n = snprintf(f, sizeof(f),
			     "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n"
			     "login:%s\npasscode:%s\n\n",
			     opt.login, opt.passcode ? opt.passcode : "");
	else
		n = snprintf(f, sizeof(f),
			     "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n\n");
	client_send(cl, f, (size_t)n + 1);
	cl->stomp = 1;
}

/* Starts the protocol once the transport is open. */
static void transport_open(struct client *cl)
{
	if (opt.proto == PR_STOMP)
		stomp_connect(cl);
	else
		client_ready(cl);
}

static void record(struct client *cl, const char *p, const char *end)
{
	/* p points after "LGM" */
	char *q;
	unsigned long pub = strtoul(p, &q, 10);
	if (q >= end || *q != '.')
		return;
	unsigned long seq = strtoul(q + 1, &q, 10);
	if (q >= end || *q != '.')
		return;
	long long ts = strtoll(q + 1, &q, 10);
	if (q >= end || *q != ';' || pub >= (unsigned long)opt.npubs)
		return;
	int64_t now = now_ns();
	uint32_t *last = &last_seq[(size_t)cl->id * (size_t)opt.npubs + pub];
	if (seq <= *last) {
		dups++;
		return;
	}
	*last = (uint32_t)seq;
	delivered++;
	t_last_recv = now;
	if (nsamples == samples_cap) {
		if (samples_cap >= ((size_t)1 << 26))
			return;
		samples_cap = samples_cap ? samples_cap * 2 : 65536;
		samples = xrealloc(samples, samples_cap * sizeof(*samples));
	}
	int64_t us = (now - ts) / 1000;
	samples[nsamples++] = us < 0 ? 0 : (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

/* One application-level payload: STOMP frame(s), an echo or an Nchan message. */
static void on_payload(struct client *cl, const char *p, size_t n)
{
	const char *end = p + n;

	if (opt.proto == PR_STOMP) {
		if (cl->stomp == 1 && memmem(p, n, "CONNECTED", 9) != NULL) {
			if (cl->is_sub) {
				char f[512], dest[256];
				fmt_room(dest, sizeof(dest), opt.dest, cl->room);
				int k = snprintf(f, sizeof(f),
						 "SUBSCRIBE\nid:0\ndestination:%s\nreceipt:r0\n\n",
						 dest);
				client_send(cl, f, (size_t)k + 1);
				cl->stomp = 2;
			} else {
				cl->stomp = 3;
				client_ready(cl);
			}
		}
		if (cl->stomp == 2 && memmem(p, n, "RECEIPT", 7) != NULL) {
			cl->stomp = 3;
			client_ready(cl);
		}
		if ((n >= 5 && memcmp(p, "ERROR", 5) == 0) || memmem(p, n, "\"ERROR", 6) != NULL)
			note_error("STOMP ERROR: %.*s", (int)(n > 150 ? 150 : n), p);
	}
	for (;;) {
		const char *m = memmem(p, (size_t)(end - p), "LGM", 3);
		if (m == NULL)
			break;
		record(cl, m + 3, end);
		p = m + 3;
	}
}

/* One SockJS frame (o, h, a[...], c[...]) or, raw, one payload. */
static void on_frame(struct client *cl, const char *p, size_t n)
{
	if (!opt.sockjs) {
		on_payload(cl, p, n);
		return;
	}
	if (n == 0)
		return;
	switch (p[0]) {
	case 'o':
		if (!cl->opened) {
			cl->opened = 1;
			transport_open(cl);
		}
		break;
	case 'a': on_payload(cl, p + 1, n - 1); break;
	case 'c':
		client_fail(cl, "SockJS close frame");
		note_error("SockJS close: %.*s", (int)(n > 100 ? 100 : n), p);
		break;
	default: break;
	}
}

/* Hands complete lines of the body to the streaming transports. */
static void body_lines(struct conn *c)
{
	size_t start = 0;

	for (size_t i = 0; i < c->bodylen; i++) {
		if (c->body[i] != '\n')
			continue;
		size_t len = i - start;
		const char *line = c->body + start;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (opt.transport == TR_EVENTSOURCE) {
			if (len >= 5 && memcmp(line, "data:", 5) == 0) {
				size_t skip = (len > 5 && line[5] == ' ') ? 6 : 5;
				on_frame(c->cl, line + skip, len - skip);
			}
		} else {
			on_frame(c->cl, line, len);
		}
		start = i + 1;
		if (c->cl->main != c)
			return; /* the client failed and this conn is gone */
	}
	memmove(c->body, c->body + start, c->bodylen - start);
	c->bodylen -= start;
}

static void response_end(struct conn *c)
{
	struct client *cl = c->cl;

	c->pending--;
	if (!c->is_main) {
		if (c->status >= 300)
			note_error("HTTP %d on a send", c->status);
		c->bodylen = 0;
		c->pending = 0;
		if (!c->keepalive)
			sender_reopen(cl);
		sender_kick(cl);
		return;
	}
	if (c->status == 101)
		return;
	if (opt.transport == TR_XHR_POLLING) {
		if (c->status != 200) {
			note_error("HTTP %d on xhr", c->status);
			client_fail(cl, "xhr status");
			return;
		}
		size_t n = c->bodylen;
		if (n > 0 && c->body[n - 1] == '\n')
			n--;
		on_frame(cl, c->body, n);
	} else if (opt.transport == TR_LONGPOLL) {
		if (c->status == 200)
			on_payload(cl, c->body, c->bodylen);
		else if (c->status != 304 && c->status != 408) {
			note_error("HTTP %d on long-poll", c->status);
			client_fail(cl, "long-poll status");
			return;
		}
	} else if (c->status != 200) {
		note_error("HTTP %d on %s", c->status,
			   opt.transport == TR_EVENTSOURCE ? "eventsource" : "xhr_streaming");
		client_fail(cl, "status");
		return;
	}
	c->bodylen = 0;
	if (cl->state == CL_FAILED || cl->main != c)
		return;
	/* Polls go again; a stream that reached its size limit is reopened. */
	if (!c->keepalive) {
		c->phase = PH_CLOSED;
		return; /* reopened by on_closed */
	}
	main_request(cl);
}

static void parse_headers(struct conn *c, const char *h, size_t n)
{
	c->status = 0;
	c->chunked = 0;
	c->clen = -1;
	c->keepalive = 1;
	sscanf(h, "HTTP/1.%*d %d", &c->status);
	if (strncmp(h, "HTTP/1.0", 8) == 0)
		c->keepalive = 0;
	const char *end = h + n;
	for (const char *l = memchr(h, '\n', n); l != NULL && l + 1 < end;
	     l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
		const char *s = l + 1;
		const char *e = memchr(s, '\r', (size_t)(end - s));
		if (e == NULL)
			break;
		size_t len = (size_t)(e - s);
		if (len > 15 && strncasecmp(s, "Content-Length:", 15) == 0)
			c->clen = strtoll(s + 15, NULL, 10);
		else if (len > 18 && strncasecmp(s, "Transfer-Encoding:", 18) == 0 &&
			 memmem(s, len, "chunked", 7))
			c->chunked = 1;
		else if (len > 11 && strncasecmp(s, "Connection:", 11) == 0 &&
			 memmem(s, len, "close", 5))
			c->keepalive = 0;
		else if (len > 14 && strncasecmp(s, "Last-Modified:", 14) == 0)
			snprintf(c->lastmod, sizeof(c->lastmod), "%.*s", (int)(len - 15), s + 15);
		else if (len > 5 && strncasecmp(s, "Etag:", 5) == 0)
			snprintf(c->etag, sizeof(c->etag), "%.*s", (int)(len - 6), s + 6);
	}
	if (c->status == 204 || c->status == 304 || c->status == 101)
		c->clen = c->status == 101 ? -1 : 0;
}

static void body_add(struct conn *c, const char *p, size_t n)
{
	grow(&c->body, &c->bodycap, c->bodylen + n);
	memcpy(c->body + c->bodylen, p, n);
	c->bodylen += n;
	if (c->is_main && (opt.transport == TR_XHR_STREAMING || opt.transport == TR_EVENTSOURCE))
		body_lines(c);
	else if (!c->is_main)
		c->bodylen = 0;
}

static void ws_frames(struct conn *c)
{
	size_t off = 0;

	while (c->rxlen - off >= 2) {
		unsigned char *h = (unsigned char *)c->rx + off;
		size_t avail = c->rxlen - off, hl = 2;
		uint64_t len = h[1] & 0x7f;
		if (len == 126) {
			if (avail < 4)
				break;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | h[2 + i];
			hl = 10;
		}
		if (avail < hl + len)
			break;
		int fin = h[0] & 0x80, op = h[0] & 0x0f;
		const char *p = (const char *)h + hl;
		off += hl + (size_t)len;
		if (op == 8) {
			note_error("WebSocket closed by the server");
			client_fail(c->cl, "ws close");
			return;
		} else if (op == 9) {
			unsigned char pong[6] = { 0x8a, 0x80, 0, 0, 0, 0 };
			conn_write(c, (char *)pong, 6); /* an empty pong is enough */
			continue;
		} else if (op == 10) {
			continue;
		}
		if (op != 0)
			c->ws_opcode = op;
		if (!fin || c->bodylen > 0) {
			grow(&c->body, &c->bodycap, c->bodylen + len);
			memcpy(c->body + c->bodylen, p, len);
			c->bodylen += len;
			if (!fin)
				continue;
			p = c->body;
			len = c->bodylen;
		}
		struct client *cl = c->cl;
		on_frame(cl, p, (size_t)len);
		if (cl->main != c)
			return;
		c->bodylen = 0;
	}
	memmove(c->rx, c->rx + off, c->rxlen - off);
	c->rxlen -= off;
}

/* Consumes what is in c->rx: headers, then a body or WebSocket frames. */
static void conn_parse(struct conn *c)
{
	struct client *cl = c->cl;

	for (;;) {
		if (c->phase == PH_WS) {
			ws_frames(c);
			return;
		}
		if (c->phase == PH_HEADERS || c->phase == PH_IDLE) {
			char *e = memmem(c->rx, c->rxlen, "\r\n\r\n", 4);
			if (e == NULL)
				return;
			size_t hl = (size_t)(e - c->rx) + 4;
			parse_headers(c, c->rx, hl);
			memmove(c->rx, c->rx + hl, c->rxlen - hl);
			c->rxlen -= hl;
			c->chunk_state = 0;
			c->bodylen = 0;
			if (c->status == 101) {
				c->phase = PH_WS;
				if (!opt.sockjs)
					transport_open(cl);
				continue;
			}
			if (c->is_main && c->status != 200 && opt.transport != TR_LONGPOLL) {
				note_error("HTTP %d opening %s", c->status, cl->sid);
				client_fail(cl, "status");
				return;
			}
			if (c->is_main && !opt.sockjs && opt.transport == TR_EVENTSOURCE)
				transport_open(cl);
			c->phase = PH_BODY;
			if (c->clen == 0 && !c->chunked) {
				c->phase = PH_IDLE;
				response_end(c);
				if (cl->main != c && cl->send != c)
					return;
			}
			continue;
		}
		if (c->phase != PH_BODY)
			return;
		if (!c->chunked) {
			size_t n = c->rxlen;
			if (c->clen >= 0 && (long long)n > c->clen)
				n = (size_t)c->clen;
			if (n == 0 && c->clen != 0)
				return;
			body_add(c, c->rx, n);
			if (cl->main != c && cl->send != c)
				return;
			memmove(c->rx, c->rx + n, c->rxlen - n);
			c->rxlen -= n;
			if (c->clen >= 0) {
				c->clen -= (long long)n;
				if (c->clen == 0) {
					c->phase = PH_IDLE;
					response_end(c);
					if (cl->main != c && cl->send != c)
						return;
				}
			}
			continue;
		}
		/* chunked */
		if (c->chunk_state == 0) {
			char *e = memmem(c->rx, c->rxlen, "\r\n", 2);
			if (e == NULL)
				return;
			c->chunk_left = strtoll(c->rx, NULL, 16);
			size_t hl = (size_t)(e - c->rx) + 2;
			memmove(c->rx, c->rx + hl, c->rxlen - hl);
			c->rxlen -= hl;
			c->chunk_state = c->chunk_left == 0 ? 3 : 1;
		} else if (c->chunk_state == 1) {
			size_t n = c->rxlen;
			if ((long long)n > c->chunk_left)
				n = (size_t)c->chunk_left;
			if (n == 0)
				return;
			body_add(c, c->rx, n);
			if (cl->main != c && cl->send != c)
				return;
			memmove(c->rx, c->rx + n, c->rxlen - n);
			c->rxlen -= n;
			c->chunk_left -= (long long)n;
			if (c->chunk_left == 0)
				c->chunk_state = 2;
		} else { /* 2: CRLF after data; 3: CRLF after the last chunk */
			if (c->rxlen < 2)
				return;
			memmove(c->rx, c->rx + 2, c->rxlen - 2);
			c->rxlen -= 2;
			if (c->chunk_state == 3) {
				c->phase = PH_IDLE;
				response_end(c);
				if (cl->main != c && cl->send != c)
					return;
			} else {
				c->chunk_state = 0;
			}
		}
	}
}

static void new_sid(struct client *cl)
{
	static unsigned gen;

	snprintf(cl->sid, sizeof(cl->sid), "lg%d-%x-%u", cl->id, (unsigned)getpid(), ++gen);
}

/* Issues the receiving request of the transport on cl->main. */
static void main_request(struct client *cl)
{
	struct conn *c = cl->main;
	char path[512], extra[512];

	if (c->phase != PH_CONNECTING)
		c->phase = PH_HEADERS;
	switch (opt.transport) {
	case TR_WS:
		if (opt.proto == PR_NCHAN)
			fmt_room(path, sizeof(path), opt.sub_path, cl->room);
		else if (opt.sockjs)
			snprintf(path, sizeof(path), "%s/000/%s/websocket", opt.prefix, cl->sid);
		else
			snprintf(path, sizeof(path), "%s", opt.ws_path);
		snprintf(
			extra, sizeof(extra),
			"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://%s:%d\r\n%s%s%s",
			opt.host, opt.port, opt.ws_protocol ? "Sec-WebSocket-Protocol: " : "",
			opt.ws_protocol ? opt.ws_protocol : "", opt.ws_protocol ? "\r\n" : "");
		http_request(c, "GET", path, extra, NULL, 0);
		break;
	case TR_XHR_STREAMING:
		snprintf(path, sizeof(path), "%s/000/%s/xhr_streaming", opt.prefix, cl->sid);
		http_request(c, "POST", path, NULL, "", 0);
		break;
	case TR_XHR_POLLING:
		snprintf(path, sizeof(path), "%s/000/%s/xhr", opt.prefix, cl->sid);
		http_request(c, "POST", path, NULL, "", 0);
		break;
	case TR_EVENTSOURCE:
		if (opt.sockjs)
			snprintf(path, sizeof(path), "%s/000/%s/eventsource", opt.prefix, cl->sid);
		else
			fmt_room(path, sizeof(path), opt.sub_path, cl->room);
		http_request(c, "GET", path, "Accept: text/event-stream\r\n", NULL, 0);
		break;
	case TR_LONGPOLL:
		fmt_room(path, sizeof(path), opt.sub_path, cl->room);
		extra[0] = '\0';
		if (c->lastmod[0] != '\0')
			snprintf(extra, sizeof(extra),
				 "If-Modified-Since: %s\r\nIf-None-Match: %s\r\n", c->lastmod,
				 c->etag);
		http_request(c, "GET", path, extra, NULL, 0);
		if (cl->state == CL_SETUP)
			client_ready(cl); /* Nchan holds the request: subscribed once it arrives */
		break;
	}
}

static void client_start(struct client *cl)
{
	cl->state = CL_SETUP;
	cl->setup_start = now_ns();
	nsetting++;
	new_sid(cl);
	if (opt.proto == PR_NCHAN && !cl->is_sub) {
		client_ready(cl); /* publishes by POST; subscribes to nothing */
		return;
	}
	cl->main = conn_open(cl, 1);
	if (cl->main == NULL) {
		client_fail(cl, "connect");
		return;
	}
	main_request(cl);
}

static void client_fail(struct client *cl, const char *why)
{
	(void)why;
	if (cl->state == CL_FAILED)
		return;
	if (cl->state == CL_SETUP)
		nsetting--;
	if (cl->state == CL_READY) {
		nready--;
		if (cl->is_sub)
			room_ready[cl->room]--;
	}
	cl->state = CL_FAILED;
	nfailed++;
	/* freed at exit: a conn may be on the caller's stack of calls */
	if (cl->main != NULL) {
		epoll_ctl(ep, EPOLL_CTL_DEL, cl->main->fd, NULL);
		close(cl->main->fd);
		cl->main->fd = -1;
		cl->main->phase = PH_CLOSED;
	}
	cl->main = NULL;
}

static void on_closed(struct conn *c)
{
	struct client *cl = c->cl;

	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (!c->is_main) {
		c->phase = PH_CLOSED;
		if (c->pending > 0) {
			send_lost += (uint64_t)c->pending;
			note_error("a send's connection closed before its response");
		}
		c->pending = 0;
		sender_kick(cl); /* reopens for what is queued */
		return;
	}
	if (cl->state == CL_FAILED)
		return;
	/* A stream ended by the server (size limit, Connection: close) or a
	 * poll's connection closed: reopen on a new connection.  Anything else
	 * closed is a failure. */
	if ((c->phase == PH_BODY && c->clen < 0 && !c->chunked && opt.transport != TR_WS) ||
	    (c->phase == PH_CLOSED || c->phase == PH_IDLE)) {
		if (c->phase == PH_BODY)
			response_end(c);
		if (cl->state == CL_FAILED)
			return;
		struct conn *n = conn_open(cl, 1);
		if (n == NULL) {
			client_fail(cl, "reconnect");
			return;
		}
		memcpy(n->lastmod, c->lastmod, sizeof(n->lastmod));
		memcpy(n->etag, c->etag, sizeof(n->etag));
		cl->main = n;
		c->cl = NULL;
		main_request(cl);
		return;
	}
	note_error("connection closed by the server (%s)", cl->sid);
	client_fail(cl, "closed");
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (c->phase == PH_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			note_error("connect: %s", strerror(err));
			if (c->is_main)
				client_fail(c->cl, "connect");
			else
				on_closed(c);
			return;
		}
		c->phase = c->is_main ? PH_HEADERS : PH_IDLE;
	}
	if (events & EPOLLOUT) {
		if (c->txlen > c->txoff) {
			ssize_t w = write(c->fd, c->tx + c->txoff, c->txlen - c->txoff);
			if (w > 0)
				c->txoff += (size_t)w;
		}
		arm(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			grow(&c->rx, &c->rxcap, c->rxlen + 65536);
			ssize_t r = read(c->fd, c->rx + c->rxlen, c->rxcap - c->rxlen);
			if (r > 0) {
				c->rxlen += (size_t)r;
				conn_parse(c);
				if (c->fd < 0 || c->cl == NULL ||
				    (c->cl->main != c && c->cl->send != c))
					return;
				if ((size_t)r < 65536)
					break;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			on_closed(c);
			return;
		}
	}
}

/* ---- publishing ---- */

static void publish(struct client *cl)
{
	char stamp[96], f[512];
	int64_t t = now_ns();
	int n = snprintf(stamp, sizeof(stamp), "LGM%d.%u.%" PRId64 ";", cl->pubidx, ++cl->seq, t);

	if (t_first_send == 0)
		t_first_send = t;
	if (opt.proto == PR_STOMP) {
		char dest[256];
		fmt_room(dest, sizeof(dest), opt.dest, cl->room);
		n = snprintf(f, sizeof(f), "SEND\ndestination:%s\ncontent-type:text/plain\n\n%s",
			     dest, stamp);
		client_send(cl, f, (size_t)n + 1);
	} else {
		client_send(cl, stamp, (size_t)n);
	}
	sent++;
	expected += opt.proto == PR_ECHO ? 1u : (uint64_t)room_ready[cl->room];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(double q)
{
	if (nsamples == 0)
		return 0;
	size_t i = (size_t)(q * (double)nsamples);
	if (i >= nsamples)
		i = nsamples - 1;
	return samples[i] / 1000.0;
}

static double cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void loop_until(int64_t deadline, int (*done)(void), double *cpu, long *peak_rss)
{
	struct epoll_event evs[256];
	int64_t next_sample = 0;

	for (;;) {
		int64_t now = now_ns();
		if (now >= deadline || (done != NULL && done()))
			return;
		if (peak_rss != NULL && now >= next_sample) {
			long rss;
			server_usage(cpu, &rss);
			if (rss > *peak_rss)
				*peak_rss = rss;
			next_sample = now + 200000000;
		}
		/* start clients, a bounded number at a time */
		while (next_start < nclients && nsetting < opt.conc)
			client_start(&clients[next_start++]);
		int64_t wake = deadline;
		if (publishing) {
			for (int i = 0; i < nclients; i++) {
				struct client *cl = &clients[i];
				if (cl->pubidx < 0 || cl->state != CL_READY)
					continue;
				if (cl->next_pub <= now) {
					publish(cl);
					int64_t step = (int64_t)(1e9 * opt.npubs / opt.rate);
					cl->next_pub += step;
					if (cl->next_pub < now - step * 10)
						cl->next_pub = now +
							       step; /* fell behind: do not burst */
				}
				if (cl->next_pub < wake)
					wake = cl->next_pub;
			}
		}
		if (wake > next_sample && peak_rss != NULL)
			wake = next_sample;
		now = now_ns();
		int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		if (ms > 100)
			ms = 100;
		int n = epoll_wait(ep, evs, 256, ms);
		for (int i = 0; i < n; i++)
			conn_event(evs[i].data.ptr, evs[i].events);
	}
}

static int setup_done(void)
{
	return next_start >= nclients && nsetting == 0;
}

static int drained(void)
{
	return delivered >= expected;
}

static const char *transport_name(void)
{
	static const char *names[] = { "websocket", "xhr-streaming", "xhr-polling", "eventsource",
				       "long-poll" };
	return names[opt.transport];
}

/* A whole-number argument of --name, or exit 2 saying what is wrong. */
static int int_arg(const char *name, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX) {
		fprintf(stderr, "loadgen: --%s: '%s' is not a whole number\n", name, s);
		exit(2);
	}
	return (int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [options]\n"
		"  --host H --port P         server (loopback)\n"
		"  --transport T             websocket|xhr-streaming|xhr-polling|eventsource|long-poll\n"
		"  --raw                     no SockJS framing (raw WebSocket / Nchan)\n"
		"  --proto P                 stomp|echo|nchan\n"
		"  --prefix /chat            SockJS prefix;  --ws-path /chat/websocket raw WebSocket path\n"
		"  --ws-protocol P           Sec-WebSocket-Protocol to ask for\n"
		"  --sub-path T --pub-path T Nchan paths (%%d = room)\n"
		"  --dest T                  STOMP destination (%%d = room), default /topic/bench.%%d\n"
		"  --login L --passcode P    STOMP credentials (none: guest)\n"
		"  --subs N --pubs M --rooms K [--pubs-are-subs]\n"
		"  --rate R                  messages per second, all publishers together\n"
		"  --duration S --settle S --drain S --setup-timeout S --conc N\n"
		"  --idle S                  open the sessions, hold them S seconds, report memory\n"
		"  --pid PID                 a server process (and its descendants), repeatable\n"
		"  --label L --server S --scenario S   copied into the result\n"
		"  --out FILE                append the JSON result line to FILE\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", 1, 0, 'h' },
		{ "port", 1, 0, 'p' },
		{ "transport", 1, 0, 't' },
		{ "raw", 0, 0, 'R' },
		{ "proto", 1, 0, 'P' },
		{ "prefix", 1, 0, 1 },
		{ "ws-path", 1, 0, 2 },
		{ "ws-protocol", 1, 0, 3 },
		{ "sub-path", 1, 0, 4 },
		{ "pub-path", 1, 0, 5 },
		{ "dest", 1, 0, 6 },
		{ "login", 1, 0, 7 },
		{ "passcode", 1, 0, 8 },
		{ "subs", 1, 0, 9 },
		{ "pubs", 1, 0, 10 },
		{ "rooms", 1, 0, 11 },
		{ "pubs-are-subs", 0, 0, 12 },
		{ "rate", 1, 0, 13 },
		{ "duration", 1, 0, 14 },
		{ "settle", 1, 0, 15 },
		{ "drain", 1, 0, 16 },
		{ "setup-timeout", 1, 0, 17 },
		{ "conc", 1, 0, 18 },
		{ "idle", 1, 0, 19 },
		{ "pid", 1, 0, 20 },
		{ "label", 1, 0, 21 },
		{ "server", 1, 0, 22 },
		{ "scenario", 1, 0, 23 },
		{ "out", 1, 0, 24 },
		{ "help", 0, 0, 25 },
		{ 0, 0, 0, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = int_arg("port", optarg); break;
		case 't':
			if (strcmp(optarg, "websocket") == 0)
				opt.transport = TR_WS;
			else if (strcmp(optarg, "xhr-streaming") == 0)
				opt.transport = TR_XHR_STREAMING;
			else if (strcmp(optarg, "xhr-polling") == 0)
				opt.transport = TR_XHR_POLLING;
			else if (strcmp(optarg, "eventsource") == 0)
				opt.transport = TR_EVENTSOURCE;
			else if (strcmp(optarg, "long-poll") == 0)
				opt.transport = TR_LONGPOLL;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'R': opt.sockjs = 0; break;
		case 'P':
			if (strcmp(optarg, "stomp") == 0)
				opt.proto = PR_STOMP;
			else if (strcmp(optarg, "echo") == 0)
				opt.proto = PR_ECHO;
			else if (strcmp(optarg, "nchan") == 0)
				opt.proto = PR_NCHAN;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 1: opt.prefix = optarg; break;
		case 2: opt.ws_path = optarg; break;
		case 3: opt.ws_protocol = optarg; break;
		case 4: opt.sub_path = optarg; break;
		case 5: opt.pub_path = optarg; break;
		case 6: opt.dest = optarg; break;
		case 7: opt.login = optarg; break;
		case 8: opt.passcode = optarg; break;
		case 9: opt.nsubs = int_arg("subs", optarg); break;
		case 10: opt.npubs = int_arg("pubs", optarg); break;
		case 11: opt.rooms = int_arg("rooms", optarg); break;
		case 12: opt.pubs_are_subs = 1; break;
		case 13: opt.rate = atof(optarg); break;
		case 14: opt.duration = atof(optarg); break;
		case 15: opt.settle = atof(optarg); break;
		case 16: opt.drain = atof(optarg); break;
		case 17: opt.setup_timeout = atof(optarg); break;
		case 18: opt.conc = int_arg("conc", optarg); break;
		case 19: opt.idle = atof(optarg); break;
		case 20:
			if (opt.npids < 16)
				opt.pids[opt.npids++] = (pid_t)int_arg("pid", optarg);
			break;
		case 21: opt.label = optarg; break;
		case 22: opt.server = optarg; break;
		case 23: opt.scenario = optarg; break;
		case 24: opt.out = optarg; break;
		case 25: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.proto == PR_NCHAN)
		opt.sockjs = 0;
	if (opt.proto == PR_ECHO) {
		opt.pubs_are_subs = 1;
		opt.npubs = opt.nsubs;
		opt.rooms = opt.nsubs;
	}
	if (opt.nsubs < 0 || opt.npubs < 0 || opt.rooms < 1 || opt.rate <= 0 || opt.conc < 1 ||
	    opt.nsubs > 100000 || (opt.pubs_are_subs && opt.npubs > opt.nsubs)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	nclients = opt.nsubs + (opt.pubs_are_subs ? 0 : opt.npubs);
	clients = calloc((size_t)nclients + 1, sizeof(*clients));
	room_ready = calloc((size_t)opt.rooms, sizeof(*room_ready));
	last_seq = calloc((size_t)nclients * (size_t)(opt.npubs ? opt.npubs : 1) + 1,
			  sizeof(*last_seq));
	if (clients == NULL || room_ready == NULL || last_seq == NULL)
		return 2;
	/* Publishers first, so they are set up before the crowd. */
	for (int i = 0; i < nclients; i++) {
		struct client *cl = &clients[i];
		cl->id = i;
		cl->pubidx = -1;
		if (opt.pubs_are_subs) {
			cl->is_sub = 1;
			cl->room = i % opt.rooms;
			if (i < opt.npubs)
				cl->pubidx = i;
		} else if (i < opt.npubs) {
			cl->pubidx = i;
			cl->room = i % opt.rooms;
		} else {
			cl->is_sub = 1;
			cl->room = (i - opt.npubs) % opt.rooms;
		}
	}

	double cpu0, cpu1, cpu_idle0;
	long rss0, rss1, peak = 0;
	server_usage(&cpu_idle0, &rss0);
	int64_t t0 = now_ns();
	loop_until(t0 + (int64_t)(opt.setup_timeout * 1e9), setup_done, &cpu_idle0, &peak);
	double setup_s = (double)(now_ns() - t0) / 1e9;
	for (int i = 0; i < nclients; i++) {
		if (clients[i].state == CL_WAITING) {
			clients[i].state = CL_FAILED; /* never started: counted as failed */
			nfailed++;
		} else if (clients[i].state == CL_SETUP) {
			client_fail(&clients[i], "setup timeout");
		}
	}
	if (nready < nclients)
		note_error("%d of %d sessions not ready after %.1f s", nclients - nready, nclients,
			   setup_s);
	loop_until(now_ns() + (int64_t)((opt.idle > 0 ? opt.idle : opt.settle) * 1e9), NULL,
		   &cpu_idle0, &peak);
	server_usage(&cpu0, &rss1);
	peak = rss1;
	int64_t tp = now_ns();
	double pub_s = 0;
	if (opt.idle <= 0) {
		for (int i = 0; i < nclients; i++)
			clients[i].next_pub = tp + (int64_t)(1e9 * opt.npubs / opt.rate) *
							   (clients[i].pubidx < 0
								    ? 0
								    : clients[i].pubidx) /
							   (opt.npubs ? opt.npubs : 1);
		publishing = 1;
		loop_until(tp + (int64_t)(opt.duration * 1e9), NULL, &cpu1, &peak);
		publishing = 0;
		pub_s = (double)(now_ns() - tp) / 1e9;
		loop_until(now_ns() + (int64_t)(opt.drain * 1e9), drained, &cpu1, &peak);
	}
	long rss_end;
	server_usage(&cpu1, &rss_end);
	if (rss_end > peak)
		peak = rss_end;

	qsort(samples, nsamples, sizeof(*samples), cmp_u32);
	double span = t_last_recv > t_first_send ? (double)(t_last_recv - t_first_send) / 1e9
						 : pub_s;
	if (span < pub_s)
		span = pub_s;
	double dcpu = cpu1 - cpu0;
	double load1 = 0;
	FILE *lf = fopen("/proc/loadavg", "r");
	if (lf != NULL) {
		if (fscanf(lf, "%lf", &load1) != 1)
			load1 = 0;
		fclose(lf);
	}
	char line[4096];
	snprintf(
		line, sizeof(line),
		"{\"label\":\"%s\",\"server\":\"%s\",\"scenario\":\"%s\",\"transport\":\"%s\","
		"\"framing\":\"%s\",\"proto\":\"%s\",\"subs\":%d,\"pubs\":%d,\"rooms\":%d,\"rate\":%g,"
		"\"duration_s\":%.2f,\"setup_s\":%.2f,\"ready\":%d,\"failed\":%d,\"sent\":%" PRIu64
		",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64
		",\"dup\":%" PRIu64 ",\"send_lost\":%" PRIu64
		",\"delivered_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
		"\"p99_ms\":%.3f,\"max_ms\":%.3f,\"server_cpu_s\":%.3f,\"server_cpu_s_per_100k\":%.3f,"
		"\"server_rss_before_kib\":%ld,\"server_rss_idle_kib\":%ld,\"server_peak_rss_kib\":%ld,"
		"\"server_rss_per_conn_kib\":%.2f,\"loadgen_cpu_s\":%.3f,\"loadavg\":%.2f,\"errors\":%" PRIu64
		",\"first_error\":\"%s\"}\n",
		opt.label, opt.server, opt.scenario, transport_name(),
		opt.sockjs ? "sockjs" : "raw",
		opt.proto == PR_STOMP  ? "stomp"
		: opt.proto == PR_ECHO ? "echo"
				       : "nchan",
		opt.nsubs, opt.npubs, opt.rooms, opt.rate, pub_s, setup_s, nready, nfailed, sent,
		expected, delivered, expected > delivered ? expected - delivered : 0, dups,
		send_lost, span > 0 ? (double)delivered / span : 0, pct(0.5), pct(0.9), pct(0.99),
		nsamples ? samples[nsamples - 1] / 1000.0 : 0, dcpu,
		delivered ? dcpu * 1e5 / (double)delivered : 0, rss0, rss1, peak,
		nready ? (double)(rss1 - rss0) / nready : 0, cpu_self(), load1, errors,
		first_error);
	fputs(line, stdout);
	if (opt.out != NULL) {
		FILE *f = fopen(opt.out, "a");
		if (f != NULL) {
			fputs(line, f);
			fclose(f);
		}
	}
	int ok = nready == nclients && (opt.idle > 0 || (expected > 0 && delivered >= expected));
	for (size_t i = 0; i < nall_conns; i++) {
		struct conn *c = all_conns[i];
		if (c->fd >= 0)
			close(c->fd);
		free(c->rx);
		free(c->body);
		free(c->tx);
		free(c);
	}
	for (int i = 0; i < nclients; i++)
		free(clients[i].sq);
	free(all_conns);
	free(clients);
	free(room_ready);
	free(last_seq);
	free(samples);
	close(ep);
	return ok ? 0 : 1;
}
