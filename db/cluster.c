/*
 * cluster.c - the STOMP broker relay between nodes (see cluster.h): its
 * options, the relay thread's life (the chat.db lease, the doorbell
 * thread, start and stop), the STOMP connection to RabbitMQ and the main
 * loop.  Forwarding, taking in, the hold-back and presence are in
 * cluster_forward.c, cluster_intake.c, cluster_hold.c, cluster_presence.c,
 * the ids and rows to forward in cluster_rows.c (cluster_int.h joins
 * them).  The design and the proof that nothing is missed, doubled or
 * reordered are in docs/cluster.md ("Design and proof").
 */
#include "config.h"
#include "cluster_int.h"

#include "clock.h"
#include "log.h"
#include "relay.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the URL ---- */

int cluster_enabled(const chat_options_t *opt)
{
	return opt != NULL && opt->broker_relay != NULL && opt->broker_relay[0] != '\0';
}

/* Why a SQLite store cannot serve a cluster (%s: store_uri). */
#ifdef HAVE_MONGO
#define NO_MONGO_STORE                                                               \
	"broker_relay is set but store_uri is %s: a cluster needs"                   \
	" its history in one MongoDB every node shares (store_uri = mongodb://...);" \
	" the SQLite store is one machine's"
#else
#define NO_MONGO_STORE                                                         \
	"broker_relay is set but store_uri is %s: a cluster needs"             \
	" its history in one MongoDB every node shares, and this build has no" \
	" MongoDB support (configure --with-mongo)"
#endif

int cluster_check(const chat_options_t *opt, chat_error_t *err)
{
	clusterwire_url_t u;
	int rc;

	if (!cluster_enabled(opt))
		return CHAT_OK;
	if ((rc = clusterwire_parse_url(opt->broker_relay, &u, err)) != CHAT_OK)
		return rc;
	if (opt->node_id < 1 || opt->node_id >= CLUSTER_SLOTS)
		return chat_error_set(err, CHAT_EINVAL,
				      "broker_relay is set: give this node a node_id of its own,"
				      " 1..%d",
				      CLUSTER_SLOTS - 1);
	if (strncmp(opt->store_uri, "mongodb://", 10) != 0 &&
	    strncmp(opt->store_uri, "mongodb+srv://", 14) != 0)
		return chat_error_set(err, CHAT_EINVAL, NO_MONGO_STORE, opt->store_uri);
	return CHAT_OK;
}

/* ---- the relay thread ---- */

static relay_state_t rs = { .fd = -1,
			    .wake = { -1, -1 },
			    .mu = PTHREAD_MUTEX_INITIALIZER,
			    .cv = PTHREAD_COND_INITIALIZER };

static int running(relay_state_t *r)
{
	int go;

	pthread_mutex_lock(&r->mu);
	go = !r->stopping;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static void nap(relay_state_t *r, int64_t ms)
{
	struct timespec until;

	chat_deadline(CLOCK_REALTIME, ms, &until);
	pthread_mutex_lock(&r->mu);
	while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
		;
	pthread_mutex_unlock(&r->mu);
}

void cluster__disconnect(relay_state_t *r, const char *why)
{
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	stomp_parser_free(&r->parser);
	chat_buf_reset(&r->out);
	/* What was in flight is sent again from the cursor. */
	r->receipts_due = 0;
	r->batch_last = 0;
	if (why != NULL) {
		if (!r->was_down)
			log_warn("cluster: RabbitMQ at %s:%d: %s; local chat goes on, posts wait in"
				 " chat.db",
				 r->url.host, r->url.port, why);
		r->was_down = 1;
		r->backoff = r->backoff ? (r->backoff * 2 > 5000 ? 5000 : r->backoff * 2) : 200;
		r->retry_at = chat_mono_ms() + r->backoff;
	}
}

int cluster__write_all(relay_state_t *r)
{
	size_t off = 0;

	while (off < r->out.len) {
		ssize_t n = send(r->fd, r->out.data + off, r->out.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHAT_EIO;
		off += (size_t)n;
		r->tx_ms = chat_mono_ms();
	}
	chat_buf_reset(&r->out);
	return CHAT_OK;
}

int cluster__put_frame(relay_state_t *r, stomp_command_t cmd, const stomp_header_t *h, size_t n,
		       const void *body, size_t len)
{
	return stomp_serialize(&r->out, STOMP_V1_2, cmd, h, n, body, len);
}

/* Reads one frame within timeout_ms: CHAT_OK with *f, CHAT_ETIMEDOUT,
 * or an error (the connection is to be dropped). */
static int read_frame(relay_state_t *r, int timeout_ms, stomp_frame_t *f, char *buf, size_t cap,
		      size_t *have, size_t *pos)
{
	for (;;) {
		struct pollfd pfd[2] = { { r->fd, POLLIN, 0 }, { -1, POLLIN, 0 } };
		size_t used = 0;
		ssize_t n;
		int rc;

		if (*pos < *have) {
			rc = stomp_parser_feed(&r->parser, buf + *pos, *have - *pos, &used, f);
			*pos += used;
			if (rc == CHAT_OK)
				return CHAT_OK;
			if (rc != CHAT_EAGAIN)
				return rc;
		}
		*pos = *have = 0;
		pfd[1].fd = timeout_ms > 0 ? r->wake[0] : -1;
		rc = poll(pfd, 2, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return CHAT_EIO;
		if (rc > 0 && (pfd[1].revents & POLLIN)) {
			char drain[64];

			/* The outbox moved: the caller looks at it now. */
			while (read(r->wake[0], drain, sizeof(drain)) > 0)
				;
			if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
				return CHAT_ETIMEDOUT;
		}
		if (rc == 0)
			return CHAT_ETIMEDOUT;
		n = recv(r->fd, buf, cap, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHAT_ECLOSED;
		*have = (size_t)n;
		r->rx_ms = chat_mono_ms();
		timeout_ms = 0; /* what is buffered is read now; then no wait */
	}
}

static char rbuf[65536];
static size_t rhave, rpos;

/* Resolves RabbitMQ's host and connects r->fd to it (a 5 s send timeout,
 * no Nagle). */
static int open_socket(relay_state_t *r)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct timeval tv = { 5, 0 };
	char port[8];
	int rc, one = 1;

	snprintf(port, sizeof(port), "%d", r->url.port);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(r->url.host, port, &hints, &ai) != 0 || ai == NULL) {
		cluster__disconnect(r, "cannot resolve the host");
		return CHAT_EIO;
	}
	r->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd >= 0) {
		(void)setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	rc = r->fd >= 0 && connect(r->fd, ai->ai_addr, ai->ai_addrlen) == 0 ? CHAT_OK : CHAT_EIO;
	freeaddrinfo(ai);
	if (rc != CHAT_OK)
		cluster__disconnect(r, strerror(errno));
	return rc;
}

static int connect_broker(relay_state_t *r)
{
	stomp_limits_t lim = { CLUSTER_FRAME_MAX, 64, 8192 };
	stomp_frame_t f;
	char qname[64], node[16];
	int rc;

	if ((rc = open_socket(r)) != CHAT_OK)
		return rc;
	if (stomp_parser_init(&r->parser, &lim) != CHAT_OK) {
		cluster__disconnect(r, "out of memory");
		return CHAT_ENOMEM;
	}
	rhave = rpos = 0;
	{
		stomp_header_t h[] = { H("accept-version", "1.2"), H("host", r->url.vhost),
				       H("login", r->url.user), H("passcode", r->url.pass),
				       H("heart-beat", CLUSTER_HEARTBEAT) };

		rc = cluster__put_frame(r, STOMP_CMD_CONNECT, h, 5, NULL, 0);
	}
	if (rc == CHAT_OK)
		rc = cluster__write_all(r);
	if (rc == CHAT_OK)
		rc = read_frame(r, 5000, &f, rbuf, sizeof(rbuf), &rhave, &rpos);
	if (rc != CHAT_OK || f.command != STOMP_CMD_CONNECTED) {
		const chat_slice_t *msg = rc == CHAT_OK ? stomp_frame_header(&f, "message") : NULL;
		char why[160];

		snprintf(why, sizeof(why), "CONNECT refused: %.*s", msg ? (int)msg->len : 20,
			 msg ? msg->ptr : "no CONNECTED frame");
		cluster__disconnect(r, why);
		return CHAT_EPROTO;
	}
	stomp_parser_set_version(&r->parser, STOMP_V1_2);
	snprintf(qname, sizeof(qname), "chat-node-%lld", (long long)r->opt->node_id);
	snprintf(node, sizeof(node), "%d", CLUSTER_BATCH);
	{
		stomp_header_t h[] = { H("destination", CLUSTER_TOPIC), H("id", "cluster"),
				       H("ack", "client-individual"),   H("durable", "true"),
				       H("auto-delete", "false"),       H("x-queue-name", qname),
				       H("prefetch-count", node) };

		rc = cluster__put_frame(r, STOMP_CMD_SUBSCRIBE, h, 7, NULL, 0);
	}
	if (rc == CHAT_OK)
		rc = cluster__write_all(r);
	if (rc != CHAT_OK) {
		cluster__disconnect(r, "cannot subscribe");
		return rc;
	}
	r->rx_ms = r->tx_ms = chat_mono_ms();
	if (r->was_down)
		log_info("cluster: RabbitMQ at %s:%d is back: forwarding what waited", r->url.host,
			 r->url.port);
	else
		log_info("cluster: node %lld relays through RabbitMQ at %s:%d (queue %s)",
			 (long long)r->opt->node_id, r->url.host, r->url.port, qname);
	r->was_down = 0;
	r->backoff = 0;
	return CHAT_OK;
}

static int on_frame(relay_state_t *r, const stomp_frame_t *f)
{
	const chat_slice_t *h;

	switch (f->command) {
	case STOMP_CMD_MESSAGE: return cluster__on_message(r, f);
	case STOMP_CMD_RECEIPT: return cluster__on_receipt(r, f);
	case STOMP_CMD_ERROR: {
		char why[200];

		h = stomp_frame_header(f, "message");
		snprintf(why, sizeof(why), "ERROR from RabbitMQ: %.*s", h ? (int)h->len : 0,
			 h ? h->ptr : "");
		cluster__disconnect(r, why);
		return CHAT_EPROTO;
	}
	default: return CHAT_OK;
	}
}

/* Reads and handles what RabbitMQ sent, waiting at most wait_ms. */
static void pump(relay_state_t *r, int wait_ms)
{
	stomp_frame_t f;
	int rc, frames = 0;

	for (;;) {
		rc = read_frame(r, frames == 0 ? wait_ms : 0, &f, rbuf, sizeof(rbuf), &rhave,
				&rpos);
		if (rc == CHAT_ETIMEDOUT)
			break;
		if (rc != CHAT_OK) {
			cluster__disconnect(r, rc == CHAT_ECLOSED
						       ? "it closed the connection"
						       : "a bad frame or a broken connection");
			return;
		}
		frames++;
		if (on_frame(r, &f) != CHAT_OK || r->fd < 0)
			break;
		if (frames >= CLUSTER_BATCH)
			break;
	}
	if (r->fd >= 0)
		cluster__pending_flush(r);
	else
		cluster__pending_drop();
	if (r->fd >= 0 && r->out.len > 0 && cluster__write_all(r) != CHAT_OK)
		cluster__disconnect(r, "the connection broke while acking");
}

/* Waits up to ms for the doorbell (or cluster_stop()). */
static void wait_bell(relay_state_t *r, int64_t ms)
{
	struct pollfd p = { r->wake[0], POLLIN, 0 };
	char drain[64];

	if (r->wake[0] < 0) {
		nap(r, ms < 20 ? ms : 20);
		return;
	}
	if (poll(&p, 1, (int)(ms < 1000 ? ms : 1000)) > 0)
		while (read(r->wake[0], drain, sizeof(drain)) > 0)
			;
}

static int hold_lease(relay_state_t *r, int64_t mono)
{
	chat_error_t err = { 0 };
	int rc;

	if (r->holder && mono - r->lease_at < 1000)
		return 1;
	rc = relay_lease(r->db, CLUSTER_LEASE, r->owner, chat_wall_ms(), CLUSTER_LEASE_MS, &err);
	if (rc == CHAT_OK) {
		if (!r->holder) {
			int64_t c = 0;

			/* Nothing was ever posted in the cluster here: forwarding
			 * starts after what the outbox holds now. */
			if (outbox_consumer_get(r->db, CLUSTER_CONSUMER, &c, NULL) != CHAT_OK &&
			    outbox_last_seq(r->db, &c, NULL) == CHAT_OK &&
			    (rc = outbox_consumer_advance(r->db, CLUSTER_CONSUMER, c, &err)) !=
				    CHAT_OK)
				log_warn("cluster: registering the forwarding cursor at %lld: %s",
					 (long long)c, chat_error_reason(&err, rc));
			r->cursor = c;
			/* The nodes this one has heard from are taken as live
			 * until they time out (their beacons then say more). */
			for (int n = 1; n < CLUSTER_SLOTS; n++) {
				r->known[n] = 0;
				r->heard[n] = 0;
				if (n != r->opt->node_id &&
				    cluster_high_water(r->db, n, &r->known[n], NULL) == CHAT_OK &&
				    r->known[n] > 0)
					r->heard[n] = mono;
			}
		}
		r->holder = 1;
		r->lease_at = mono;
		return 1;
	}
	if (rc != CHAT_EBUSY)
		log_warn("cluster: %s", chat_error_reason(&err, rc));
	if (r->holder)
		cluster__disconnect(r, NULL);
	r->holder = 0;
	return 0;
}

static void *cluster_main(void *arg)
{
	relay_state_t *r = arg;
	chat_error_t err = { 0 };

	chat_buf_init(&r->out, 4 * 1024 * 1024);
	chat_buf_init(&r->room, CHATMSG_ROOM_MAX);
	chat_buf_init(&r->writer, SESSION_USER_MAX);
	chat_buf_init(&r->text, CHATMSG_TEXT_MAX);
	while (running(r)) {
		int64_t mono = chat_mono_ms();

		if (r->db == NULL && chatdb_open(r->opt->db_path, 0, &r->db, &err) != CHAT_OK) {
			log_error("cluster: cannot open %s: %s", r->opt->db_path, err.message);
			r->db = NULL;
			nap(r, 1000);
			continue;
		}
		if (!hold_lease(r, mono)) {
			nap(r, 2000);
			continue;
		}
		if (r->fd < 0) {
			/* Cut off: this node's posts go out at once. */
			cluster__release_stable(r, mono);
			if (mono < r->retry_at) {
				wait_bell(r, r->retry_at - mono);
				continue;
			}
			if (connect_broker(r) != CHAT_OK)
				continue;
			cluster__connected(r, chat_mono_ms());
		}
		/* Heart-beats both ways: a broker that hangs (no byte for three
		 * intervals) is left and reconnected to. */
		if (mono - r->rx_ms > 3 * CLUSTER_HEARTBEAT_MS) {
			cluster__disconnect(r, "no heart-beat from RabbitMQ");
			continue;
		}
		if (mono - r->tx_ms >= CLUSTER_HEARTBEAT_MS && r->out.len == 0) {
			chat_buf_reset(&r->out);
			if (chat_buf_putc(&r->out, '\n') != CHAT_OK ||
			    cluster__write_all(r) != CHAT_OK) {
				cluster__disconnect(
					r, "the connection broke while sending a heart-beat");
				continue;
			}
		}
		(void)cluster__forward(r, mono);
		if (r->fd >= 0)
			(void)cluster__beacon(r, mono);
		/* Woken by the bell thread when the outbox moves; without a
		 * doorbell the outbox is looked at every 20 ms. */
		if (r->fd >= 0)
			pump(r, r->wake[0] >= 0 ? 1000 : 20);
		cluster__release_stable(r, chat_mono_ms());
		cluster__drop_gone(r, chat_mono_ms());
	}
	cluster__disconnect(r, NULL);
	cluster__pending_drop();
	if (r->db != NULL && r->holder &&
	    relay_lease_release(r->db, CLUSTER_LEASE, r->owner, NULL) != CHAT_OK)
		log_debug("cluster: lease not released; it expires");
	chatdb_close(r->db);
	r->db = NULL;
	chat_buf_free(&r->out);
	chat_buf_free(&r->room);
	chat_buf_free(&r->writer);
	chat_buf_free(&r->text);
	return NULL;
}

/* Turns doorbell rings into a byte on rs.wake, which the relay's poll()
 * watches next to its socket: it waits on the last word it saw, so no
 * ring is missed. */
static void *bell_main(void *arg)
{
	relay_state_t *r = arg;
	uint32_t seen = doorbell_snapshot(r->bell);

	while (running(r)) {
		uint32_t now;
		int rc = doorbell_wait(r->bell, seen, 1000);

		/* Woken or timed out, the word is looked at again. */
		if (rc != CHAT_OK && rc != CHAT_ETIMEDOUT)
			log_debug("cluster: doorbell wait: %s", chat_strerror(rc));
		now = doorbell_snapshot(r->bell);
		if (now != seen) {
			seen = now;
			(void)!write(r->wake[1], "x", 1);
		}
	}
	return NULL;
}

int cluster_start(const chat_options_t *opt, doorbell_t *bell)
{
	chat_error_t err = { 0 };
	int rc = CHAT_OK;

	cluster_configure(opt);
	if (!cluster_enabled(opt))
		return CHAT_OK;
	pthread_mutex_lock(&rs.mu);
	if (!rs.started && !rs.stopping) {
		rs.opt = opt;
		rs.bell = bell;
		rc = clusterwire_parse_url(opt->broker_relay, &rs.url, &err);
		snprintf(rs.owner, sizeof(rs.owner), "cluster:%ld", (long)getpid());
		if (rc == CHAT_OK && bell != NULL && pipe2(rs.wake, O_NONBLOCK | O_CLOEXEC) == 0 &&
		    pthread_create(&rs.bell_thread, NULL, bell_main, &rs) == 0)
			rs.bell_started = 1;
		else if (rs.wake[0] >= 0) {
			close(rs.wake[0]);
			close(rs.wake[1]);
			rs.wake[0] = rs.wake[1] = -1;
		}
		if (rc == CHAT_OK && pthread_create(&rs.thread, NULL, cluster_main, &rs) == 0)
			rs.started = 1;
		else if (rc == CHAT_OK)
			rc = CHAT_ENOMEM;
	}
	pthread_mutex_unlock(&rs.mu);
	if (rc != CHAT_OK)
		log_error("cannot start the cluster relay: %s", chat_error_reason(&err, rc));
	return rc;
}

void cluster_stop(void)
{
	int started;

	pthread_mutex_lock(&rs.mu);
	started = rs.started && !rs.stopping;
	rs.stopping = 1;
	pthread_cond_broadcast(&rs.cv);
	pthread_mutex_unlock(&rs.mu);
	if (rs.wake[1] >= 0)
		(void)!write(rs.wake[1], "x", 1);
	if (started)
		pthread_join(rs.thread, NULL);
	if (rs.bell_started) {
		/* Ringing with the current seq wakes its wait and moves nothing. */
		doorbell_ring(rs.bell, doorbell_seq(rs.bell));
		pthread_join(rs.bell_thread, NULL);
		rs.bell_started = 0;
	}
}
