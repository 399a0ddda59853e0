/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpServer"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wr-crypto.h"
#include "wr-derp-frame.h"
#include "wr-derp-info.h"
#include "wr-derp-server.h"
#include "wr-disco.h"
#include "wr-key.h"
#include "wr-source.h"

/* one read buffer per worker: a whole ClientInfo (the largest frame a client may send) and
 * a good batch of packets behind whatever part of a frame was left over */
#define READ_BUF_SIZE (DERP_FRAME_HEADER_LEN + DERP_MAX_CLIENT_INFO_LEN + 256 * 1024)
/* bytes read from one connection per epoll round before the others get their turn */
#define READ_BUDGET (64 * 1024)
#define MAX_EVENTS  256
/* frames per writev, and the bytes one flush gathers */
#define MAX_IOV	     64
#define WRITE_GATHER (256 * 1024)
/* TLS writes are gathered into one buffer (a record per write, not per frame) */
#define TLS_WRITE_CHUNK (128 * 1024)
/* timers (keepalives, deadlines, rate-limit resumes) are checked this often */
#define TICK_US (250 * G_TIME_SPAN_MILLISECOND)
/* control frames (ServerInfo, Pong, PeerGone, a mesh watcher's PeerPresent flood) waiting
 * for one connection; past this the connection cannot keep up and is closed */
#define CTRL_MAX_BYTES (8 * 1024 * 1024)

#define REMOTE_STRLEN 64 /* "[ipv6]:port" */

#define DEFAULT_QUEUE_LEN	 32
#define DEFAULT_KEEPALIVE_US	 (60 * G_USEC_PER_SEC)
#define KEEPALIVE_JITTER_US	 (5 * G_USEC_PER_SEC)
#define DEFAULT_LOGIN_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define DEFAULT_WRITE_TIMEOUT_US (2 * G_USEC_PER_SEC)
#define MESH_WRITE_TIMEOUT_US	 (30 * G_USEC_PER_SEC)
/* a mesh link that hears nothing (the other server sends KeepAlives) for this long is dead */
#define LINK_READ_TIMEOUT_US (120 * G_USEC_PER_SEC)
/* §2.10: the burst is at least one whole SendPacket */
#define RATE_MIN_BURST (DERP_MAX_PACKET_SIZE + WR_KEY_LEN)
/* §2.9: PeerGone(NotHere) at most 1 per second with a burst of 3, per client */
#define NOT_HERE_PER_S 1.0
#define NOT_HERE_BURST 3.0
/* the largest frame an established connection may send: a ForwardPacket (mesh) or a
 * SendPacket; an unknown type above this closes the connection rather than being buffered */
#define ACTIVE_MAX_PAYLOAD (2 * WR_KEY_LEN + DERP_MAX_PACKET_SIZE)

typedef enum {
	CONN_LOGIN,	/* ServerKey sent, waiting for ClientInfo */
	CONN_VERIFYING, /* ClientInfo opened, waiting for the verifier */
	CONN_ACTIVE,
	CONN_CLOSED,
} ConnState;

typedef enum {
	KIND_CLIENT,	  /* a regular client (or one that has not logged in yet) */
	KIND_MESH_CLIENT, /* another server of the mesh, logged in with the mesh key */
	KIND_LINK,	  /* our own connection to another server of the mesh */
} ConnKind;

/* one whole encoded frame */
typedef struct {
	uint8_t *frame;
	uint32_t len;
	uint32_t packet_len; /* the relayed payload inside it, for the stats */
} QItem;

typedef struct {
	QItem *items;
	guint cap;
	guint head;
	guint count;
} Ring;

typedef struct Worker Worker;
typedef struct Conn Conn;
typedef struct Entry Entry;

/* a key with its SipHash, so that the table's hash function needs no key of its own */
typedef struct {
	guint64 hash;
	uint8_t key[WR_KEY_LEN];
} HKey;

struct Entry {
	HKey k;
	GPtrArray *conns; /* Conn refs, local connections of this key, oldest first */
	Conn *active;	  /* the one packets go to (§2.9 duplicates) */
	GPtrArray *links; /* Conn refs: mesh links where the key is present, first preferred */
	GHashTable *subscribers; /* HKey* -> itself: told PeerGone when this key leaves */
};

struct Conn {
	gint ref;
	guint64 id;
	WrDerpServer *server;
	Worker *worker; /* the owner: reads, parses, closes */
	guint worker_pos;
	ConnKind kind;
	ConnState state;
	int fd;
	GSocket *socket;
	GIOStream *stream;		/* NULL for plain TCP (the fd is used directly) */
	GPollableInputStream *tls_in;	/* set for TLS */
	GPollableOutputStream *tls_out; /* set for TLS */
	GInetSocketAddress *remote;
	char remote_str[REMOTE_STRLEN];
	char name[24]; /* short key for logs, or the mesh link's name */
	uint8_t key[WR_KEY_LEN];
	Entry *entry; /* while registered */
	gboolean registered;
	gboolean watcher;
	gboolean can_ack_pings;
	gboolean is_prober;
	gboolean preferred;
	guint8 *stash; /* owner: the start of a frame not yet read whole */
	gsize stash_len;
	gint64 login_deadline;
	gint64 keepalive_interval;
	gint64 next_keepalive;
	gint64 last_read;
	gint64 last_ping_sent;
	gint64 write_timeout;
	/* owner: per-client token bucket (§2.10) and the PeerGone(NotHere) limiter */
	double tokens;
	gint64 tokens_at;
	gint64 resume_at; /* 0 unless paused by the rate limit */
	double not_here_tokens;
	gint64 not_here_at;
	GHashTable *sent_to; /* owner: destination keys this client is subscribed to */
	/* links */
	char *link_name;
	WrDerpLinkClosedFunc closed_func;
	gpointer closed_data;
	guint dirty_seq[WR_DERP_SERVER_MAX_WORKERS]; /* per worker: the round it was marked in */

	GMutex send_lock; /* everything below, and every write to the socket */
	gboolean closed;
	gboolean reading; /* EPOLLIN wanted: not while verifying or rate-limited */
	gboolean write_failed;
	gboolean close_posted;
	guint32 events; /* the epoll interest set now */
	gint64 blocked_since;
	Ring disco_q;
	Ring data_q;
	GByteArray *ctrl;
	guint8 *partial; /* the unwritten end of a frame that was written in part */
	gsize partial_len;
	gsize partial_off;
	guint32 partial_packet_len;
};

typedef enum {
	MSG_ADD,
	MSG_VERIFY_DONE,
	MSG_CLOSE,
	MSG_SHUTDOWN,
} MsgType;

typedef struct {
	MsgType type;
	Conn *conn; /* a reference */
	gboolean allow;
	guint32 reconnect_in_ms;
	guint32 try_for_ms;
	gint64 deadline;
	gboolean send_restarting;
	const char *reason; /* MSG_CLOSE, static */
} Msg;

/* counters a worker adds to; read by other threads with relaxed atomics */
typedef struct {
	guint64 logins;
	guint64 login_failures;
	guint64 packets_recv;
	guint64 bytes_recv;
	guint64 packets_sent;
	guint64 bytes_sent;
	guint64 packets_forwarded_out;
	guint64 packets_forwarded_in;
	guint64 drops_unknown_dest;
	guint64 drops_queue_full;
	guint64 drops_gone;
	guint64 drops_write_error;
	guint64 peer_gone_sent;
	guint64 closes_protocol_error;
	guint64 closes_write_timeout;
	guint64 closes_idle;
	guint64 closes_login_timeout;
	guint64 closes_verify_denied;
	guint64 rate_limited_waits;
	guint64 frames_unknown;
	guint64 duplicate_clients;
} WorkerStats;

#define STAT_ADD(w, field, n) __atomic_fetch_add(&(w)->stats.field, (n), __ATOMIC_RELAXED)
#define STAT_GET(w, field)    __atomic_load_n(&(w)->stats.field, __ATOMIC_RELAXED)

struct Worker {
	WrDerpServer *server;
	guint index;
	GThread *thread;
	int epfd;
	int evfd;
	GMutex inbox_lock;
	GQueue inbox;
	GPtrArray *conns; /* owned connections (refs) */
	GPtrArray *dirty; /* connections to flush at the end of this round (refs) */
	GPtrArray *retry; /* connections to read again without waiting for epoll (refs) */
	GPtrArray
		*graveyard; /* closed this round: freed after the round, as events may name them */
	guint seq;
	guint8 *rbuf;
	guint8 *wbuf;
	gint64 next_tick;
	gboolean stopping;
	WorkerStats stats;
};

struct WrDerpServer {
	uint8_t *private_key; /* wr_secure_alloc */
	uint8_t public_key[WR_KEY_LEN];
	uint8_t *mesh_key; /* wr_secure_alloc, or NULL */
	WrDerpServerConfig config;
	GMainContext *context;
	Worker workers[WR_DERP_SERVER_MAX_WORKERS];
	guint n_workers;
	guint next_worker; /* atomic */
	guint64 next_id;   /* atomic */
	gint shut;	   /* atomic */

	GRWLock reg_lock;
	GHashTable *entries; /* HKey* (in the entry) -> Entry* */
	GPtrArray *watchers; /* Conn refs of mesh clients that sent WatchConns */
	uint8_t sip_key[16];

	GMutex ids_lock;
	GHashTable *by_id; /* guint64* -> Conn*: connections waiting for the verifier */

	WrDerpVerifyFunc verify_func;
	gpointer verify_data;

	guint64 accepts;      /* atomic */
	guint64 mesh_clients; /* atomic gauge */
	guint64 mesh_links;   /* atomic gauge */
};

static void
conn_close(Worker *w, Conn *c, const char *reason);

/* the two ways a connection ends that are no news (logged at info level, not as a message) */
static const char REASON_PEER_CLOSED[] = "connection closed by the peer";
static const char REASON_SHUTDOWN[] = "server shutting down";

/* ---- small helpers ---------------------------------------------------------------------- */

static void
post(Worker *owner, Msg *m)
{
	g_mutex_lock(&owner->inbox_lock);
	g_queue_push_tail(&owner->inbox, m);
	g_mutex_unlock(&owner->inbox_lock);
	wr_eventfd_poke(owner->evfd);
}

static void
key_short(char out[24], const uint8_t key[WR_KEY_LEN])
{
	char hex[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(hex, key);
	g_snprintf(out, 24, "[%.8s]", hex);
}

static void
hkey_set(WrDerpServer *s, HKey *out, const uint8_t key[WR_KEY_LEN])
{
	memcpy(out->key, key, WR_KEY_LEN);
	out->hash = wr_siphash(s->sip_key, key, WR_KEY_LEN);
}

static guint
hkey_hash(gconstpointer p)
{
	const HKey *k = p;

	return (guint) (k->hash ^ (k->hash >> 32));
}

static gboolean
hkey_equal(gconstpointer a, gconstpointer b)
{
	const HKey *x = a;
	const HKey *y = b;

	return x->hash == y->hash && memcmp(x->key, y->key, WR_KEY_LEN) == 0;
}

static gboolean
looks_like_disco(const uint8_t *data, size_t len)
{
	/* §2.9: at least magic + sender key + nonce, starting with the magic */
	return len >= WR_DISCO_BOX_OFFSET && memcmp(data, WR_DISCO_MAGIC, WR_DISCO_MAGIC_LEN) == 0;
}

static void
ring_init(Ring *r, guint cap)
{
	r->items = g_new0(QItem, cap);
	r->cap = cap;
	r->head = 0;
	r->count = 0;
}

static QItem *
ring_at(Ring *r, guint i)
{
	return &r->items[(r->head + i) % r->cap];
}

static void
ring_pop(Ring *r)
{
	QItem *it = ring_at(r, 0);

	g_free(it->frame);
	it->frame = NULL;
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

/* returns the number of packets dropped */
static guint
ring_clear(Ring *r)
{
	guint n = r->count;

	while (r->count > 0)
		ring_pop(r);
	return n;
}

/* ---- connections ---------------------------------------------------------------------------- */

static Conn *
conn_ref(Conn *c)
{
	g_atomic_int_inc(&c->ref);
	return c;
}

static void
conn_unref(Conn *c)
{
	if (c == NULL || !g_atomic_int_dec_and_test(&c->ref))
		return;
	ring_clear(&c->disco_q);
	ring_clear(&c->data_q);
	g_free(c->disco_q.items);
	g_free(c->data_q.items);
	if (c->ctrl != NULL)
		g_byte_array_unref(c->ctrl);
	g_free(c->partial);
	g_free(c->stash);
	g_clear_pointer(&c->sent_to, g_hash_table_unref);
	g_clear_object(&c->stream);
	g_clear_object(&c->socket);
	g_clear_object(&c->remote);
	g_free(c->link_name);
	g_mutex_clear(&c->send_lock);
	g_free(c);
}

static Conn *
conn_new(WrDerpServer *s, ConnKind kind, GIOStream *stream, GSocket *socket,
	 GInetSocketAddress *remote)
{
	Conn *c = g_new0(Conn, 1);
	guint qlen = kind == KIND_LINK ? s->config.mesh_queue_len : s->config.queue_len;

	c->ref = 1;
	c->id = __atomic_add_fetch(&s->next_id, 1, __ATOMIC_RELAXED);
	c->server = s;
	c->kind = kind;
	c->state = kind == KIND_LINK ? CONN_ACTIVE : CONN_LOGIN;
	c->socket = g_object_ref(socket);
	c->fd = g_socket_get_fd(socket);
	/*
	 * Every frame goes out as soon as it is queued (writes are batched per epoll round
	 * already): with Nagle, a lone packet behind unacknowledged data waits for the peer's
	 * delayed ACK, tens to hundreds of milliseconds.  Not a TCP socket (a test's socketpair):
	 * nothing to set.
	 */
	{
		int one = 1;

		(void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (G_IS_TLS_CONNECTION(stream)) {
		c->stream = g_object_ref(stream);
		c->tls_in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream));
		c->tls_out = G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream));
	} else if (stream != NULL) {
		/* plain TCP: the fd is read and written directly; keep the connection object alive
		 */
		c->stream = g_object_ref(stream);
	}
	if (remote != NULL) {
		g_autofree char *ip =
			g_inet_address_to_string(g_inet_socket_address_get_address(remote));
		guint16 port = g_inet_socket_address_get_port(remote);

		c->remote = g_object_ref(remote);
		if (strchr(ip, ':') != NULL)
			g_snprintf(c->remote_str, sizeof(c->remote_str), "[%s]:%u", ip, port);
		else
			g_snprintf(c->remote_str, sizeof(c->remote_str), "%s:%u", ip, port);
	} else {
		g_strlcpy(c->remote_str, "?", sizeof(c->remote_str));
	}
	g_strlcpy(c->name, "[new]", sizeof(c->name));
	c->write_timeout = s->config.write_timeout_us;
	c->keepalive_interval =
		s->config.keepalive_us + (gint64) wr_random_uniform(KEEPALIVE_JITTER_US);
	c->sent_to = g_hash_table_new_full(hkey_hash, hkey_equal, g_free, NULL);
	g_mutex_init(&c->send_lock);
	c->reading = TRUE;
	ring_init(&c->disco_q, qlen);
	ring_init(&c->data_q, qlen);
	c->ctrl = g_byte_array_new();
	return c;
}

/* Must hold c->send_lock.  Keeps the epoll interest in line with reading/blocked. */
static void
conn_update_events_locked(Conn *c)
{
	struct epoll_event ev = {0};
	guint32 want = EPOLLRDHUP;

	if (c->closed || c->worker == NULL)
		return;
	if (c->reading)
		want |= EPOLLIN;
	if (c->blocked_since != 0)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(c->worker->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

static void
conn_set_reading(Conn *c, gboolean reading)
{
	g_mutex_lock(&c->send_lock);
	c->reading = reading;
	conn_update_events_locked(c);
	g_mutex_unlock(&c->send_lock);
}

/* marks c to be flushed at the end of w's round */
static void
mark_dirty(Worker *w, Conn *c)
{
	if (c->dirty_seq[w->index] == w->seq)
		return;
	c->dirty_seq[w->index] = w->seq;
	g_ptr_array_add(w->dirty, conn_ref(c));
}

/* appends a control frame for c (any thread); FALSE when c is gone or cannot keep up */
static gboolean
conn_queue_ctrl(Worker *w, Conn *c, const uint8_t *frame, gsize len)
{
	gboolean ok = FALSE;

	g_mutex_lock(&c->send_lock);
	if (!c->closed && c->ctrl->len + len <= CTRL_MAX_BYTES) {
		g_byte_array_append(c->ctrl, frame, len);
		ok = TRUE;
	} else if (!c->closed) {
		/* the owner closes it at its next tick */
		c->write_failed = TRUE;
	}
	g_mutex_unlock(&c->send_lock);
	if (ok)
		mark_dirty(w, c);
	return ok;
}

static ssize_t
conn_writev(Worker *w, Conn *c, struct iovec *iov, guint n)
{
	if (c->tls_out == NULL) {
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t r;

		do
			r = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return r;
	} else {
		g_autoptr(GError) error = NULL;
		gsize len = 0;
		gssize r;

		/* one TLS record per gathered chunk, not one per frame */
		for (guint i = 0; i < n && len < TLS_WRITE_CHUNK; i++) {
			gsize take = MIN(iov[i].iov_len, TLS_WRITE_CHUNK - len);

			memcpy(w->wbuf + len, iov[i].iov_base, take);
			len += take;
		}
		r = g_pollable_output_stream_write_nonblocking(c->tls_out, w->wbuf, len, NULL,
							       &error);
		if (r < 0) {
			if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				return -EAGAIN;
			g_debug("%s %s: TLS write: %s", c->name, c->remote_str, error->message);
			return -EIO;
		}
		return r;
	}
}

/* Must hold c->send_lock.  Drops n written bytes from the front of the output. */
static void
conn_consume_locked(Worker *w, Conn *c, gsize n)
{
	if (c->partial != NULL) {
		gsize left = c->partial_len - c->partial_off;
		gsize take = MIN(n, left);

		c->partial_off += take;
		n -= take;
		if (c->partial_off == c->partial_len) {
			/* only packet frames are ever written in part and kept here */
			STAT_ADD(w, packets_sent, 1);
			STAT_ADD(w, bytes_sent, c->partial_packet_len);
			g_clear_pointer(&c->partial, g_free);
		}
	}
	if (n > 0 && c->ctrl->len > 0) {
		gsize take = MIN(n, c->ctrl->len);

		g_byte_array_remove_range(c->ctrl, 0, (guint) take);
		n -= take;
	}
	for (Ring *r = &c->disco_q; n > 0; r = &c->data_q) {
		while (n > 0 && r->count > 0) {
			QItem *it = ring_at(r, 0);

			if (n < it->len) {
				/* written in part: keep the rest in order, before anything else */
				c->partial = g_memdup2(it->frame + n, it->len - n);
				c->partial_len = it->len - n;
				c->partial_off = 0;
				c->partial_packet_len = it->packet_len;
				ring_pop(r);
				return;
			}
			n -= it->len;
			STAT_ADD(w, packets_sent, 1);
			STAT_ADD(w, bytes_sent, it->packet_len);
			ring_pop(r);
		}
		if (r == &c->data_q)
			break;
	}
}

/* Must hold c->send_lock.  Writes what c has queued; arms EPOLLOUT on the owner when the
 * socket is full.  Sets write_failed when the socket failed. */
static void
conn_flush_locked(Worker *w, Conn *c)
{
	while (!c->closed && !c->write_failed) {
		struct iovec iov[MAX_IOV];
		guint n = 0;
		gsize total = 0;
		ssize_t r;

		if (c->partial != NULL) {
			iov[n].iov_base = c->partial + c->partial_off;
			iov[n].iov_len = c->partial_len - c->partial_off;
			total += iov[n++].iov_len;
		}
		if (c->ctrl->len > 0) {
			iov[n].iov_base = c->ctrl->data;
			iov[n].iov_len = c->ctrl->len;
			total += iov[n++].iov_len;
		}
		for (Ring *q = &c->disco_q; q != NULL; q = q == &c->disco_q ? &c->data_q : NULL) {
			for (guint i = 0; i < q->count && n < MAX_IOV && total < WRITE_GATHER;
			     i++) {
				QItem *it = ring_at(q, i);

				iov[n].iov_base = it->frame;
				iov[n].iov_len = it->len;
				total += iov[n++].iov_len;
			}
		}
		if (n == 0) {
			c->blocked_since = 0;
			conn_update_events_locked(c);
			break;
		}
		r = conn_writev(w, c, iov, n);
		if (r == -EAGAIN) {
			if (c->blocked_since == 0)
				c->blocked_since = g_get_monotonic_time();
			conn_update_events_locked(c);
			break;
		}
		if (r < 0) {
			c->write_failed = TRUE;
			break;
		}
		conn_consume_locked(w, c, (gsize) r);
		c->blocked_since = 0;
	}
}

/* Must hold c->send_lock, and give its result to conn_after_flush() once unlocked: whether
 * the owner must be told to close c (the caller is another thread) */
static gboolean
conn_failed_locked(Worker *w, Conn *c)
{
	if (!c->write_failed || c->closed || c->worker == NULL || c->worker == w || c->close_posted)
		return FALSE;
	c->close_posted = TRUE;
	return TRUE;
}

static void
conn_tell_owner_failed(Conn *c)
{
	Msg *m = g_new0(Msg, 1);

	m->type = MSG_CLOSE;
	m->conn = conn_ref(c);
	m->reason = "write failed";
	post(c->worker, m);
}

/* writes what c has queued, from any thread.  Returns FALSE when the connection failed: the
 * owner closes it (told here when the caller is another thread). */
static gboolean
conn_flush(Worker *w, Conn *c)
{
	gboolean failed;
	gboolean tell_owner;

	g_mutex_lock(&c->send_lock);
	conn_flush_locked(w, c);
	failed = c->write_failed && !c->closed;
	tell_owner = conn_failed_locked(w, c);
	g_mutex_unlock(&c->send_lock);
	if (tell_owner)
		conn_tell_owner_failed(c);
	return !failed;
}

/* queues a whole packet frame (taking frame) on c's disco or data queue.  A full queue is
 * written out first, so that the bound drops packets only for a client whose socket is full,
 * never for one that merely got a burst within one round; then the oldest is dropped. */
static void
conn_queue_packet(Worker *w, Conn *c, uint8_t *frame, gsize len, guint32 packet_len, gboolean disco)
{
	gboolean tell_owner = FALSE;
	Ring *r;
	QItem *it;

	g_mutex_lock(&c->send_lock);
	if (c->closed) {
		g_mutex_unlock(&c->send_lock);
		g_free(frame);
		STAT_ADD(w, drops_gone, 1);
		return;
	}
	r = disco ? &c->disco_q : &c->data_q;
	if (r->count == r->cap && c->blocked_since == 0) {
		conn_flush_locked(w, c);
		tell_owner = conn_failed_locked(w, c);
	}
	if (r->count == r->cap) {
		ring_pop(r);
		STAT_ADD(w, drops_queue_full, 1);
	}
	it = &r->items[(r->head + r->count) % r->cap];
	it->frame = frame;
	it->len = (uint32_t) len;
	it->packet_len = packet_len;
	r->count++;
	g_mutex_unlock(&c->send_lock);
	if (tell_owner)
		conn_tell_owner_failed(c);
	mark_dirty(w, c);
}

static void
flush_dirty(Worker *w)
{
	for (guint i = 0; i < w->dirty->len; i++) {
		Conn *c = g_ptr_array_index(w->dirty, i);

		if (!conn_flush(w, c) && c->worker == w) {
			STAT_ADD(w, drops_write_error, 1);
			conn_close(w, c, "write failed");
		}
		conn_unref(c);
	}
	g_ptr_array_set_size(w->dirty, 0);
	w->seq++;
}

/* ---- the key table ------------------------------------------------------------------------ */

static void
entry_free(Entry *e)
{
	g_ptr_array_unref(e->conns);
	g_ptr_array_unref(e->links);
	g_hash_table_unref(e->subscribers);
	g_free(e);
}

/* Must hold reg_lock (reader or writer) */
static Entry *
entry_lookup(WrDerpServer *s, const uint8_t key[WR_KEY_LEN])
{
	HKey probe;

	hkey_set(s, &probe, key);
	return g_hash_table_lookup(s->entries, &probe);
}

/* Must hold reg_lock as writer */
static Entry *
entry_get(WrDerpServer *s, const uint8_t key[WR_KEY_LEN])
{
	Entry *e = entry_lookup(s, key);

	if (e != NULL)
		return e;
	e = g_new0(Entry, 1);
	hkey_set(s, &e->k, key);
	e->conns = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	e->links = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	e->subscribers = g_hash_table_new_full(hkey_hash, hkey_equal, g_free, NULL);
	g_hash_table_insert(s->entries, &e->k, e);
	return e;
}

/* Must hold reg_lock as writer */
static void
entry_maybe_remove(WrDerpServer *s, Entry *e)
{
	if (e->conns->len == 0 && e->links->len == 0) {
		g_hash_table_remove(s->entries, &e->k);
		entry_free(e);
	}
}

static void
append_peer_present(Conn *c, GByteArray *out)
{
	WrDerpPeerPresent p = {0};

	memcpy(p.key, c->key, WR_KEY_LEN);
	if (c->remote != NULL) {
		GInetAddress *addr = g_inet_socket_address_get_address(c->remote);
		const guint8 *bytes = g_inet_address_to_bytes(addr);

		if (g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV4) {
			p.ip[10] = 0xff;
			p.ip[11] = 0xff;
			memcpy(p.ip + 12, bytes, 4);
		} else {
			memcpy(p.ip, bytes, 16);
		}
		p.port = g_inet_socket_address_get_port(c->remote);
		p.has_addr = true;
	}
	p.flags = c->kind == KIND_MESH_CLIENT ? DERP_PEER_PRESENT_IS_MESH_PEER
		  : c->is_prober	      ? DERP_PEER_PRESENT_IS_PROBER
					      : DERP_PEER_PRESENT_IS_REGULAR;
	(void) wr_derp_append_peer_present(out, &p);
}

static void
send_peer_gone(Worker *w, Conn *to, const uint8_t key[WR_KEY_LEN], uint8_t reason)
{
	g_autoptr(GByteArray) frame = g_byte_array_new();

	(void) wr_derp_append_peer_gone(frame, key, reason);
	if (conn_queue_ctrl(w, to, frame->data, frame->len))
		STAT_ADD(w, peer_gone_sent, 1);
}

/* a client logged in: into the key table, and news for the watchers */
static void
conn_register(Worker *w, Conn *c)
{
	WrDerpServer *s = c->server;
	g_autoptr(GPtrArray) watchers = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	g_autoptr(GByteArray) present = g_byte_array_new();
	Entry *e;

	g_rw_lock_writer_lock(&s->reg_lock);
	e = entry_get(s, c->key);
	g_ptr_array_add(e->conns, conn_ref(c));
	e->active = c;
	c->entry = e;
	c->registered = TRUE;
	for (guint i = 0; i < s->watchers->len; i++)
		g_ptr_array_add(watchers, conn_ref(g_ptr_array_index(s->watchers, i)));
	if (e->conns->len > 1) {
		STAT_ADD(w, duplicate_clients, 1);
		g_message("%s %s: a second connection for this key; the newest is used", c->name,
			  c->remote_str);
	}
	g_rw_lock_writer_unlock(&s->reg_lock);

	append_peer_present(c, present);
	for (guint i = 0; i < watchers->len; i++)
		(void) conn_queue_ctrl(w, g_ptr_array_index(watchers, i), present->data,
				       present->len);
}

static void
conn_unregister(Worker *w, Conn *c)
{
	WrDerpServer *s = c->server;
	g_autoptr(GPtrArray) watchers = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	g_autoptr(GPtrArray) subscribers =
		g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	Entry *e = c->entry;
	gboolean gone;

	g_rw_lock_writer_lock(&s->reg_lock);
	if (e->active == c)
		e->active = NULL;
	c->registered = FALSE;
	c->entry = NULL;
	gone = e->conns->len == 1;
	if (!gone && e->active == NULL)
		e->active = g_ptr_array_index(e->conns, e->conns->len - 1) == c
				    ? g_ptr_array_index(e->conns, e->conns->len - 2)
				    : g_ptr_array_index(e->conns, e->conns->len - 1);
	if (gone) {
		for (guint i = 0; i < s->watchers->len; i++)
			g_ptr_array_add(watchers, conn_ref(g_ptr_array_index(s->watchers, i)));
		/* §2.9: those the key sent to learn it left, unless another server still has it */
		if (e->links->len == 0) {
			GHashTableIter iter;
			HKey *sub;

			g_hash_table_iter_init(&iter, e->subscribers);
			while (g_hash_table_iter_next(&iter, (gpointer *) &sub, NULL)) {
				Entry *se = g_hash_table_lookup(s->entries, sub);

				if (se != NULL && se->active != NULL && se->active != c)
					g_ptr_array_add(subscribers, conn_ref(se->active));
			}
			g_hash_table_remove_all(e->subscribers);
		}
	}
	/* last: this may drop the entry's reference to c */
	g_ptr_array_remove(e->conns, c);
	entry_maybe_remove(s, e);
	g_rw_lock_writer_unlock(&s->reg_lock);

	for (guint i = 0; i < watchers->len; i++)
		send_peer_gone(w, g_ptr_array_index(watchers, i), c->key,
			       DERP_PEER_GONE_DISCONNECTED);
	for (guint i = 0; i < subscribers->len; i++)
		send_peer_gone(w, g_ptr_array_index(subscribers, i), c->key,
			       DERP_PEER_GONE_DISCONNECTED);
}

/* ---- routing -------------------------------------------------------------------------------- */

static gboolean
not_here_allowed(Conn *c, gint64 now)
{
	c->not_here_tokens += (double) (now - c->not_here_at) * NOT_HERE_PER_S / G_USEC_PER_SEC;
	c->not_here_at = now;
	if (c->not_here_tokens > NOT_HERE_BURST)
		c->not_here_tokens = NOT_HERE_BURST;
	if (c->not_here_tokens < 1.0)
		return FALSE;
	c->not_here_tokens -= 1.0;
	return TRUE;
}

static void
subscribe(WrDerpServer *s, Conn *src, const uint8_t dst_key[WR_KEY_LEN])
{
	HKey *k = g_new(HKey, 1);

	hkey_set(s, k, dst_key);
	g_hash_table_add(src->sent_to, k);
	g_rw_lock_writer_lock(&s->reg_lock);
	if (src->entry != NULL) {
		HKey *k2 = g_memdup2(k, sizeof(*k));

		g_hash_table_add(src->entry->subscribers, k2);
	}
	g_rw_lock_writer_unlock(&s->reg_lock);
}

/* a SendPacket from client c */
static void
route_packet(Worker *w, Conn *c, const uint8_t dst[WR_KEY_LEN], const uint8_t *data, gsize len)
{
	WrDerpServer *s = c->server;
	Conn *to = NULL;
	Conn *link = NULL;
	gboolean need_sub = FALSE;
	gboolean make_active = FALSE;
	gboolean disco = looks_like_disco(data, len);
	Entry *e;

	g_rw_lock_reader_lock(&s->reg_lock);
	e = entry_lookup(s, dst);
	if (e != NULL && e->active != NULL)
		to = conn_ref(e->active);
	else if (e != NULL && e->links->len > 0)
		link = conn_ref(g_ptr_array_index(e->links, 0));
	/* §2.9 duplicates: the connection that last sent is the one that receives */
	make_active = c->entry != NULL && c->entry->active != c;
	g_rw_lock_reader_unlock(&s->reg_lock);

	if (make_active) {
		g_rw_lock_writer_lock(&s->reg_lock);
		if (c->entry != NULL)
			c->entry->active = c;
		g_rw_lock_writer_unlock(&s->reg_lock);
	}

	if (to != NULL) {
		gsize flen = DERP_FRAME_HEADER_LEN + WR_KEY_LEN + len;
		uint8_t *frame = g_malloc(flen);
		HKey probe;

		(void) wr_derp_write_recv_packet(frame, flen, c->key, data, len);
		conn_queue_packet(w, to, frame, flen, (guint32) len, disco);
		hkey_set(s, &probe, dst);
		need_sub = !g_hash_table_contains(c->sent_to, &probe);
		conn_unref(to);
		if (need_sub)
			subscribe(s, c, dst);
	} else if (link != NULL) {
		gsize flen = DERP_FRAME_HEADER_LEN + 2 * WR_KEY_LEN + len;
		uint8_t *frame = g_malloc(flen);

		(void) wr_derp_write_forward_packet(frame, flen, c->key, dst, data, len);
		conn_queue_packet(w, link, frame, flen, (guint32) len, FALSE);
		STAT_ADD(w, packets_forwarded_out, 1);
		conn_unref(link);
	} else {
		STAT_ADD(w, drops_unknown_dest, 1);
		if (disco && not_here_allowed(c, g_get_monotonic_time()))
			send_peer_gone(w, c, dst, DERP_PEER_GONE_NOT_HERE);
	}
}

/* a ForwardPacket from a mesh client: local delivery only, never forwarded again (§2.11) */
static void
deliver_forwarded(Worker *w, Conn *c, const WrDerpForwardPacket *fwd)
{
	WrDerpServer *s = c->server;
	Conn *to = NULL;
	Entry *e;

	g_rw_lock_reader_lock(&s->reg_lock);
	e = entry_lookup(s, fwd->dst_key);
	if (e != NULL && e->active != NULL)
		to = conn_ref(e->active);
	g_rw_lock_reader_unlock(&s->reg_lock);

	if (to == NULL) {
		STAT_ADD(w, drops_unknown_dest, 1);
		return;
	} else {
		gsize flen = DERP_FRAME_HEADER_LEN + WR_KEY_LEN + fwd->len;
		uint8_t *frame = g_malloc(flen);

		(void) wr_derp_write_recv_packet(frame, flen, fwd->src_key, fwd->data, fwd->len);
		conn_queue_packet(w, to, frame, flen, (guint32) fwd->len,
				  looks_like_disco(fwd->data, fwd->len));
		STAT_ADD(w, packets_forwarded_in, 1);
		conn_unref(to);
	}
}

static void
watch_conns(Worker *w, Conn *c)
{
	WrDerpServer *s = c->server;
	g_autoptr(GByteArray) flood = g_byte_array_new();
	GHashTableIter iter;
	Entry *e;

	g_rw_lock_writer_lock(&s->reg_lock);
	if (!c->watcher) {
		c->watcher = TRUE;
		g_ptr_array_add(s->watchers, conn_ref(c));
	}
	/* §2.11: first every connected client, then news as it happens */
	g_hash_table_iter_init(&iter, s->entries);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &e)) {
		for (guint i = 0; i < e->conns->len; i++)
			append_peer_present(g_ptr_array_index(e->conns, i), flood);
	}
	g_rw_lock_writer_unlock(&s->reg_lock);
	if (flood->len > 0 && !conn_queue_ctrl(w, c, flood->data, flood->len))
		g_message("%s %s: the PeerPresent flood does not fit its queue", c->name,
			  c->remote_str);
}

static void
close_peer(Worker *w, Conn *c, const uint8_t key[WR_KEY_LEN])
{
	WrDerpServer *s = c->server;
	g_autoptr(GPtrArray) victims = g_ptr_array_new();
	Entry *e;

	g_rw_lock_reader_lock(&s->reg_lock);
	e = entry_lookup(s, key);
	for (guint i = 0; e != NULL && i < e->conns->len; i++)
		g_ptr_array_add(victims, conn_ref(g_ptr_array_index(e->conns, i)));
	g_rw_lock_reader_unlock(&s->reg_lock);
	for (guint i = 0; i < victims->len; i++) {
		Msg *m = g_new0(Msg, 1);
		Conn *v = g_ptr_array_index(victims, i);

		m->type = MSG_CLOSE;
		m->conn = v;
		m->reason = "closed by a mesh peer (ClosePeer)";
		post(v->worker, m);
	}
	if (victims->len > 0)
		g_message("%s %s: mesh ClosePeer closes %u connection(s)", c->name, c->remote_str,
			  victims->len);
}

/* a link learned where a key is, or that it left */
static void
link_presence(Conn *link, const uint8_t key[WR_KEY_LEN], gboolean present)
{
	WrDerpServer *s = link->server;
	Entry *e;

	g_rw_lock_writer_lock(&s->reg_lock);
	if (present) {
		e = entry_get(s, key);
		if (!g_ptr_array_find(e->links, link, NULL))
			g_ptr_array_add(e->links, conn_ref(link));
	} else {
		e = entry_lookup(s, key);
		if (e != NULL) {
			(void) g_ptr_array_remove(e->links, link);
			entry_maybe_remove(s, e);
		}
	}
	g_rw_lock_writer_unlock(&s->reg_lock);
}

/* a link broke: every key learned over it is gone with it (§2.11, reason MeshConnBroke) */
static void
link_forget_all(Conn *link)
{
	WrDerpServer *s = link->server;
	g_autoptr(GPtrArray) empty = g_ptr_array_new();
	GHashTableIter iter;
	Entry *e;

	g_rw_lock_writer_lock(&s->reg_lock);
	g_hash_table_iter_init(&iter, s->entries);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &e)) {
		(void) g_ptr_array_remove(e->links, link);
		if (e->conns->len == 0 && e->links->len == 0)
			g_ptr_array_add(empty, e);
	}
	for (guint i = 0; i < empty->len; i++)
		entry_maybe_remove(s, g_ptr_array_index(empty, i));
	g_rw_lock_writer_unlock(&s->reg_lock);
}

/* ---- login ------------------------------------------------------------------------------------
 */

static void
conn_activate(Worker *w, Conn *c)
{
	WrDerpServer *s = c->server;
	WrDerpServerInfoBody body = {.version = DERP_PROTOCOL_VERSION};
	g_autoptr(GByteArray) info = g_byte_array_new();
	gint64 now = g_get_monotonic_time();

	if (wr_derp_info_append_server_info(info, &body, s->private_key, c->key) < 0) {
		conn_close(w, c, "cannot seal ServerInfo to the client's key");
		return;
	}
	(void) conn_queue_ctrl(w, c, info->data, info->len);
	c->state = CONN_ACTIVE;
	c->next_keepalive = now + c->keepalive_interval;
	STAT_ADD(w, logins, 1);
	if (c->kind == KIND_MESH_CLIENT) {
		c->write_timeout = MESH_WRITE_TIMEOUT_US;
		__atomic_add_fetch(&s->mesh_clients, 1, __ATOMIC_RELAXED);
		g_message("%s %s: mesh peer connected", c->name, c->remote_str);
	} else {
		conn_register(w, c);
		g_info("%s %s: client connected", c->name, c->remote_str);
	}
}

static void
conn_login(Worker *w, Conn *c, const WrDerpFrame *f)
{
	WrDerpServer *s = c->server;
	WrDerpClientInfo info;
	WrDerpClientInfoBody body;
	int r;

	if (f->type != DERP_FRAME_CLIENT_INFO) {
		STAT_ADD(w, login_failures, 1);
		conn_close(w, c, "the first frame is not ClientInfo");
		return;
	}
	if (wr_derp_parse_client_info(f->payload, f->len, &info) < 0) {
		STAT_ADD(w, login_failures, 1);
		conn_close(w, c, "malformed ClientInfo");
		return;
	}
	memcpy(c->key, info.key, WR_KEY_LEN);
	key_short(c->name, c->key);
	r = wr_derp_info_open_client_info(&info, s->private_key, &body);
	if (r < 0) {
		STAT_ADD(w, login_failures, 1);
		conn_close(w, c,
			   r == -EBADMSG ? "ClientInfo does not open with our key"
					 : "ClientInfo holds bad JSON");
		return;
	}
	c->can_ack_pings = body.can_ack_pings;
	c->is_prober = body.is_prober;
	if (body.has_mesh_key) {
		gboolean ok = s->mesh_key != NULL && wr_memeq(body.mesh_key, s->mesh_key, 32);

		wr_memzero(body.mesh_key, sizeof(body.mesh_key));
		if (!ok) {
			STAT_ADD(w, login_failures, 1);
			conn_close(w, c, "wrong mesh key");
			return;
		}
		c->kind = KIND_MESH_CLIENT;
	}
	if (wr_key_is_zero(c->key)) {
		STAT_ADD(w, login_failures, 1);
		conn_close(w, c, "all-zero client key");
		return;
	}
	if (c->kind == KIND_CLIENT && s->verify_func != NULL) {
		c->state = CONN_VERIFYING;
		conn_set_reading(c, FALSE);
		g_mutex_lock(&s->ids_lock);
		g_hash_table_insert(s->by_id, &c->id, conn_ref(c));
		g_mutex_unlock(&s->ids_lock);
		s->verify_func(s, c->id, c->key, c->remote, s->verify_data);
		return;
	}
	conn_activate(w, c);
}

/* ---- frames from an established connection ------------------------------------------------- */

static void
send_pong(Worker *w, Conn *c, const uint8_t data[DERP_PING_DATA_LEN])
{
	g_autoptr(GByteArray) frame = g_byte_array_new();

	(void) wr_derp_append_pong(frame, data);
	(void) conn_queue_ctrl(w, c, frame->data, frame->len);
}

static void
handle_link_frame(Worker *w, Conn *c, const WrDerpFrame *f)
{
	uint8_t ping[DERP_PING_DATA_LEN];

	switch (f->type) {
	case DERP_FRAME_PEER_PRESENT: {
		WrDerpPeerPresent p;

		if (wr_derp_parse_peer_present(f->payload, f->len, &p) < 0) {
			conn_close(w, c, "malformed PeerPresent");
			return;
		}
		link_presence(c, p.key, TRUE);
		break;
	}
	case DERP_FRAME_PEER_GONE: {
		WrDerpPeerGone g;

		if (wr_derp_parse_peer_gone(f->payload, f->len, &g) < 0) {
			conn_close(w, c, "malformed PeerGone");
			return;
		}
		link_presence(c, g.key, FALSE);
		break;
	}
	case DERP_FRAME_PING:
		if (wr_derp_parse_ping(f->payload, f->len, ping) < 0) {
			conn_close(w, c, "malformed Ping");
			return;
		}
		send_pong(w, c, ping);
		break;
	case DERP_FRAME_RESTARTING:
		g_message("mesh link %s: the other server is restarting", c->name);
		break;
	case DERP_FRAME_HEALTH: {
		const char *text;
		size_t len;

		if (wr_derp_parse_health(f->payload, f->len, &text, &len) == 0 && len > 0)
			g_message("mesh link %s: health: %.*s", c->name, (int) MIN(len, 200), text);
		break;
	}
	default:
		/* KeepAlive, Pong, stray packets: nothing to do */
		break;
	}
}

static void
handle_client_frame(Worker *w, Conn *c, const WrDerpFrame *f)
{
	uint8_t data[DERP_PING_DATA_LEN];
	gboolean mesh = c->kind == KIND_MESH_CLIENT;

	switch (f->type) {
	case DERP_FRAME_SEND_PACKET: {
		WrDerpPacket p;

		if (wr_derp_parse_send_packet(f->payload, f->len, &p) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, "malformed SendPacket");
			return;
		}
		STAT_ADD(w, packets_recv, 1);
		STAT_ADD(w, bytes_recv, p.len);
		if (mesh) {
			/* a mesh peer forwards with ForwardPacket; it has no key of its own here */
			STAT_ADD(w, drops_unknown_dest, 1);
			return;
		}
		route_packet(w, c, p.key, p.data, p.len);
		break;
	}
	case DERP_FRAME_FORWARD_PACKET: {
		WrDerpForwardPacket fwd;

		if (!mesh) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, "ForwardPacket from a client that is not a mesh peer");
			return;
		}
		if (wr_derp_parse_forward_packet(f->payload, f->len, &fwd) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, "malformed ForwardPacket");
			return;
		}
		STAT_ADD(w, packets_recv, 1);
		STAT_ADD(w, bytes_recv, fwd.len);
		deliver_forwarded(w, c, &fwd);
		break;
	}
	case DERP_FRAME_NOTE_PREFERRED: {
		bool preferred;

		if (wr_derp_parse_note_preferred(f->payload, f->len, &preferred) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, "NotePreferred of the wrong length");
			return;
		}
		c->preferred = preferred;
		break;
	}
	case DERP_FRAME_PING:
		if (wr_derp_parse_ping(f->payload, f->len, data) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, "malformed Ping");
			return;
		}
		send_pong(w, c, data);
		break;
	case DERP_FRAME_PONG:
		/* the answer to our liveness ping: reading it already counted as activity */
		break;
	case DERP_FRAME_WATCH_CONNS:
		if (!mesh || wr_derp_parse_watch_conns(f->payload, f->len) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c,
				   mesh ? "WatchConns with a body"
					: "WatchConns from a non-mesh client");
			return;
		}
		watch_conns(w, c);
		break;
	case DERP_FRAME_CLOSE_PEER: {
		uint8_t key[WR_KEY_LEN];

		if (!mesh || wr_derp_parse_close_peer(f->payload, f->len, key) < 0) {
			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c,
				   mesh ? "ClosePeer of the wrong length"
					: "ClosePeer from a non-mesh client");
			return;
		}
		close_peer(w, c, key);
		break;
	}
	case DERP_FRAME_CLIENT_INFO:
		STAT_ADD(w, closes_protocol_error, 1);
		conn_close(w, c, "a second ClientInfo");
		return;
	default:
		/* §2.5: unknown types are skipped; server-to-client types from a client too */
		STAT_ADD(w, frames_unknown, 1);
		break;
	}
}

/* refills c's token bucket; FALSE (and paused until it suffices) when need is not there */
static gboolean
rate_take(Worker *w, Conn *c, gsize need, gint64 now)
{
	WrDerpServer *s = c->server;
	double rate = (double) s->config.rate_bytes_per_s;
	double burst = (double) s->config.rate_burst_bytes;

	c->tokens += (double) (now - c->tokens_at) * rate / G_USEC_PER_SEC;
	c->tokens_at = now;
	if (c->tokens > burst)
		c->tokens = burst;
	if (c->tokens >= (double) need) {
		c->tokens -= (double) need;
		return TRUE;
	}
	c->resume_at = now + (gint64) (((double) need - c->tokens) * G_USEC_PER_SEC / rate) + 1;
	STAT_ADD(w, rate_limited_waits, 1);
	conn_set_reading(c, FALSE);
	return FALSE;
}

/* parses the frames in buf; returns the bytes used, and sets *stop when c must not be read now */
static gsize
conn_process(Worker *w, Conn *c, const uint8_t *buf, gsize len, gboolean *stop)
{
	WrDerpServer *s = c->server;
	gsize off = 0;
	gint64 now = g_get_monotonic_time();

	while (off < len && c->state != CONN_CLOSED) {
		WrDerpFrame f;
		uint32_t max =
			c->state == CONN_LOGIN ? DERP_MAX_CLIENT_INFO_LEN : ACTIVE_MAX_PAYLOAD;
		ssize_t r;

		if (c->state == CONN_VERIFYING || c->resume_at != 0) {
			*stop = TRUE;
			return off;
		}
		r = wr_derp_frame_decode(buf + off, len - off, max, &f);
		if (r == 0)
			break;
		if (r < 0) {
			g_autofree char *why = g_strdup_printf(
				"a frame announcing more than %u bytes (type 0x%02x)", max,
				buf[off]);

			STAT_ADD(w, closes_protocol_error, 1);
			conn_close(w, c, why);
			break;
		}
		if (c->state == CONN_ACTIVE && c->kind == KIND_CLIENT &&
		    s->config.rate_bytes_per_s > 0 &&
		    !rate_take(w, c, MIN((gsize) r, RATE_MIN_BURST), now)) {
			*stop = TRUE;
			return off;
		}
		off += (gsize) r;
		if (c->state == CONN_LOGIN)
			conn_login(w, c, &f);
		else if (c->kind == KIND_LINK)
			handle_link_frame(w, c, &f);
		else
			handle_client_frame(w, c, &f);
	}
	if (c->state == CONN_CLOSED || c->state == CONN_VERIFYING)
		*stop = TRUE;
	return off;
}

static ssize_t
conn_read(Conn *c, uint8_t *buf, gsize len)
{
	if (c->tls_in == NULL) {
		ssize_t r;

		do
			r = recv(c->fd, buf, len, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return r;
	} else {
		g_autoptr(GError) error = NULL;
		gssize r =
			g_pollable_input_stream_read_nonblocking(c->tls_in, buf, len, NULL, &error);

		if (r < 0) {
			if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				return -EAGAIN;
			g_debug("%s %s: TLS read: %s", c->name, c->remote_str, error->message);
			return -EIO;
		}
		return r;
	}
}

static void
retry_later(Worker *w, Conn *c)
{
	if (!g_ptr_array_find(w->retry, c, NULL))
		g_ptr_array_add(w->retry, conn_ref(c));
}

static void
conn_on_readable(Worker *w, Conn *c)
{
	gsize len = 0;
	gsize budget = READ_BUDGET;
	gboolean stop = FALSE;

	if (c->stash != NULL) {
		gsize used;

		memcpy(w->rbuf, c->stash, c->stash_len);
		len = c->stash_len;
		g_clear_pointer(&c->stash, g_free);
		c->stash_len = 0;
		/* a verified or resumed client may have whole frames waiting already */
		used = conn_process(w, c, w->rbuf, len, &stop);
		if (c->state == CONN_CLOSED)
			return;
		memmove(w->rbuf, w->rbuf + used, len - used);
		len -= used;
	}
	while (!stop && budget > 0) {
		ssize_t n;
		gsize used;

		/* cannot happen (a whole frame always fits), but a zero-length read would look
		 * like the end of the stream */
		if (len == READ_BUF_SIZE)
			break;
		n = conn_read(c, w->rbuf + len, MIN(READ_BUF_SIZE - len, budget));
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			conn_close(w, c, n == 0 ? REASON_PEER_CLOSED : "read error");
			return;
		}
		c->last_read = g_get_monotonic_time();
		len += (gsize) n;
		budget -= MIN(budget, (gsize) n);
		used = conn_process(w, c, w->rbuf, len, &stop);
		if (c->state == CONN_CLOSED)
			return;
		memmove(w->rbuf, w->rbuf + used, len - used);
		len -= used;
	}
	if (len > 0) {
		c->stash = g_memdup2(w->rbuf, len);
		c->stash_len = len;
	}
	/* more may be waiting (in TLS buffers too, which epoll cannot see): read again soon */
	if (!stop && budget == 0)
		retry_later(w, c);
}

/* ---- closing -------------------------------------------------------------------------------- */

/* takes c out of w's connections, handing over the worker's reference */
static Conn *
remove_from_worker(Worker *w, Conn *c)
{
	guint pos = c->worker_pos;
	Conn *taken;

	g_assert(g_ptr_array_index(w->conns, pos) == c);
	taken = g_ptr_array_steal_index_fast(w->conns, pos);
	if (pos < w->conns->len) {
		Conn *moved = g_ptr_array_index(w->conns, pos);

		moved->worker_pos = pos;
	}
	return taken;
}

typedef struct {
	WrDerpServer *server;
	WrDerpLinkClosedFunc func;
	gpointer data;
	char *name;
	char *reason;
} LinkClosed;

static gboolean
link_closed_cb(gpointer user_data)
{
	LinkClosed *lc = user_data;

	lc->func(lc->server, lc->name, lc->reason, lc->data);
	return G_SOURCE_REMOVE;
}

static void
link_closed_free(gpointer user_data)
{
	LinkClosed *lc = user_data;

	g_free(lc->name);
	g_free(lc->reason);
	g_free(lc);
}

static void
conn_close(Worker *w, Conn *c, const char *reason)
{
	WrDerpServer *s = c->server;
	ConnState prev = c->state;
	guint dropped;

	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	if (c->kind == KIND_CLIENT && (reason == REASON_PEER_CLOSED || reason == REASON_SHUTDOWN))
		g_info("%s %s: closed: %s", c->name, c->remote_str, reason);
	else
		g_message("%s%s %s: closed: %s", c->kind == KIND_LINK ? "mesh link " : "", c->name,
			  c->remote_str, reason);

	g_mutex_lock(&c->send_lock);
	c->closed = TRUE;
	(void) epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	dropped = ring_clear(&c->disco_q) + ring_clear(&c->data_q) + (c->partial != NULL ? 1 : 0);
	g_clear_pointer(&c->partial, g_free);
	g_byte_array_set_size(c->ctrl, 0);
	/* writers on other threads see closed under this lock before they touch the socket */
	(void) shutdown(c->fd, SHUT_RDWR);
	g_mutex_unlock(&c->send_lock);
	if (dropped > 0)
		STAT_ADD(w, drops_gone, dropped);

	if (c->registered)
		conn_unregister(w, c);
	if (c->watcher) {
		g_rw_lock_writer_lock(&s->reg_lock);
		c->watcher = FALSE;
		(void) g_ptr_array_remove(s->watchers, c);
		g_rw_lock_writer_unlock(&s->reg_lock);
	}
	if (prev == CONN_ACTIVE && c->kind == KIND_MESH_CLIENT)
		__atomic_sub_fetch(&s->mesh_clients, 1, __ATOMIC_RELAXED);
	if (c->kind == KIND_LINK) {
		__atomic_sub_fetch(&s->mesh_links, 1, __ATOMIC_RELAXED);
		link_forget_all(c);
		if (c->closed_func != NULL && !g_atomic_int_get(&s->shut)) {
			LinkClosed *lc = g_new0(LinkClosed, 1);

			lc->server = s;
			lc->func = c->closed_func;
			lc->data = c->closed_data;
			lc->name = g_strdup(c->link_name);
			lc->reason = g_strdup(reason);
			g_main_context_invoke_full(s->context, G_PRIORITY_DEFAULT, link_closed_cb,
						   lc, link_closed_free);
		}
	}
	if (prev == CONN_VERIFYING) {
		g_mutex_lock(&s->ids_lock);
		if (g_hash_table_steal(s->by_id, &c->id))
			conn_unref(c);
		g_mutex_unlock(&s->ids_lock);
	}
	g_clear_pointer(&c->stash, g_free);
	c->stash_len = 0;
	(void) g_socket_close(c->socket, NULL);
	g_ptr_array_add(w->graveyard, remove_from_worker(w, c));
}

/* ---- the worker thread ----------------------------------------------------------------------- */

static void
worker_add(Worker *w, Conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	gint64 now = g_get_monotonic_time();

	c->worker_pos = w->conns->len;
	g_ptr_array_add(w->conns, c); /* takes the message's reference */
	c->last_read = now;
	c->tokens = (double) c->server->config.rate_burst_bytes;
	c->tokens_at = now;
	c->not_here_tokens = NOT_HERE_BURST;
	c->not_here_at = now;
	c->login_deadline = now + c->server->config.login_timeout_us;
	g_mutex_lock(&c->send_lock);
	c->worker = w;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0) {
		c->events = ev.events;
	} else {
		g_mutex_unlock(&c->send_lock);
		conn_close(w, c, "cannot watch the socket");
		return;
	}
	g_mutex_unlock(&c->send_lock);

	if (c->kind == KIND_LINK) {
		g_autoptr(GByteArray) watch = g_byte_array_new();

		(void) wr_derp_append_watch_conns(watch);
		(void) conn_queue_ctrl(w, c, watch->data, watch->len);
		g_message("mesh link %s %s: watching its clients", c->name, c->remote_str);
	} else {
		g_autoptr(GByteArray) hello = g_byte_array_new();

		(void) wr_derp_append_server_key(hello, c->server->public_key);
		(void) conn_queue_ctrl(w, c, hello->data, hello->len);
	}
	if (c->stash != NULL)
		retry_later(w, c);
}

static void
worker_shutdown(Worker *w, const Msg *m)
{
	if (m->send_restarting) {
		g_autoptr(GByteArray) frame = g_byte_array_new();

		(void) wr_derp_append_restarting(frame, m->reconnect_in_ms, m->try_for_ms);
		for (guint i = 0; i < w->conns->len; i++) {
			Conn *c = g_ptr_array_index(w->conns, i);

			if (c->kind != KIND_LINK && c->state == CONN_ACTIVE)
				(void) conn_queue_ctrl(w, c, frame->data, frame->len);
		}
	}
	flush_dirty(w);
	/* let the last frames leave, within the deadline */
	while (g_get_monotonic_time() < m->deadline) {
		struct epoll_event events[MAX_EVENTS];
		gboolean busy = FALSE;
		int n;

		for (guint i = 0; i < w->conns->len; i++) {
			Conn *c = g_ptr_array_index(w->conns, i);

			g_mutex_lock(&c->send_lock);
			busy |= c->blocked_since != 0;
			g_mutex_unlock(&c->send_lock);
		}
		if (!busy)
			break;
		n = epoll_wait(w->epfd, events, MAX_EVENTS, 20);
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr != w && (events[i].events & EPOLLOUT))
				conn_flush(w, events[i].data.ptr);
		}
	}
	while (w->conns->len > 0)
		conn_close(w, g_ptr_array_index(w->conns, w->conns->len - 1),
			   "server shutting down");
	w->stopping = TRUE;
}

static void
worker_inbox(Worker *w)
{
	GQueue msgs = G_QUEUE_INIT;
	Msg *m;

	wr_eventfd_drain(w->evfd);
	g_mutex_lock(&w->inbox_lock);
	msgs = w->inbox;
	g_queue_init(&w->inbox);
	g_mutex_unlock(&w->inbox_lock);

	while ((m = g_queue_pop_head(&msgs)) != NULL) {
		Conn *c = m->conn;

		switch (m->type) {
		case MSG_ADD:
			m->conn = NULL;
			worker_add(w, c);
			if (w->stopping)
				conn_close(w, c, REASON_SHUTDOWN);
			break;
		case MSG_VERIFY_DONE:
			if (c->state != CONN_VERIFYING)
				break;
			if (!m->allow) {
				STAT_ADD(w, closes_verify_denied, 1);
				conn_close(w, c, "not allowed by the client verifier");
				break;
			}
			conn_activate(w, c);
			if (c->state == CONN_ACTIVE) {
				conn_set_reading(c, TRUE);
				retry_later(w, c);
			}
			break;
		case MSG_CLOSE:
			conn_close(w, c, m->reason);
			break;
		case MSG_SHUTDOWN:
			worker_shutdown(w, m);
			break;
		}
		conn_unref(m->conn);
		g_free(m);
	}
}

static void
worker_tick(Worker *w, gint64 now)
{
	WrDerpServer *s = w->server;

	/* backwards, so that a close (which moves the last connection into its slot) is safe */
	for (guint i = w->conns->len; i-- > 0;) {
		Conn *c = g_ptr_array_index(w->conns, i);
		gint64 blocked;
		gboolean failed;

		g_mutex_lock(&c->send_lock);
		blocked = c->blocked_since;
		failed = c->write_failed;
		g_mutex_unlock(&c->send_lock);
		if (failed) {
			STAT_ADD(w, drops_write_error, 1);
			conn_close(w, c, "write failed");
			continue;
		}
		if (blocked != 0 && c->write_timeout > 0 && now - blocked > c->write_timeout) {
			STAT_ADD(w, closes_write_timeout, 1);
			conn_close(w, c, "write timeout: the peer does not read");
			continue;
		}
		if (c->state == CONN_LOGIN || c->state == CONN_VERIFYING) {
			if (now > c->login_deadline) {
				STAT_ADD(w, closes_login_timeout, 1);
				conn_close(w, c,
					   c->state == CONN_LOGIN
						   ? "no ClientInfo in time"
						   : "the verifier did not answer in time");
			}
			continue;
		}
		if (c->kind == KIND_LINK) {
			if (now - c->last_read > LINK_READ_TIMEOUT_US)
				conn_close(w, c, "the other server went silent");
			continue;
		}
		if (s->config.idle_timeout_us > 0 &&
		    now - c->last_read > s->config.idle_timeout_us) {
			STAT_ADD(w, closes_idle, 1);
			conn_close(w, c, "idle timeout");
			continue;
		}
		if (now >= c->next_keepalive) {
			g_autoptr(GByteArray) frame = g_byte_array_new();

			(void) wr_derp_append_keep_alive(frame);
			(void) conn_queue_ctrl(w, c, frame->data, frame->len);
			c->next_keepalive = now + c->keepalive_interval;
		}
		/* a silent client that can answer pings is asked whether it is still there, well
		 * before the idle timeout would close it */
		if (s->config.idle_timeout_us > 0 && c->can_ack_pings &&
		    now - c->last_read > s->config.idle_timeout_us / 3 &&
		    now - c->last_ping_sent > s->config.idle_timeout_us / 3) {
			g_autoptr(GByteArray) frame = g_byte_array_new();
			uint8_t data[DERP_PING_DATA_LEN];

			wr_random_bytes(data, sizeof(data));
			(void) wr_derp_append_ping(frame, data);
			(void) conn_queue_ctrl(w, c, frame->data, frame->len);
			c->last_ping_sent = now;
		}
		if (c->resume_at != 0 && now >= c->resume_at) {
			c->resume_at = 0;
			conn_set_reading(c, TRUE);
			retry_later(w, c);
		}
	}
}

static gpointer
worker_main(gpointer user_data)
{
	Worker *w = user_data;
	struct epoll_event events[MAX_EVENTS];

	w->next_tick = g_get_monotonic_time() + TICK_US;
	while (!w->stopping) {
		gint64 now = g_get_monotonic_time();
		int timeout = 0;
		int n;

		if (w->retry->len == 0)
			timeout = (int) MAX(0, (w->next_tick - now + 999) / 1000);
		n = epoll_wait(w->epfd, events, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			g_warning("epoll_wait: %s", g_strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			Conn *c = events[i].data.ptr;

			if (events[i].data.ptr == w) {
				worker_inbox(w);
				if (w->stopping)
					break;
				continue;
			}
			/* closed earlier in this round: still allocated (the graveyard), skip it */
			if (c->state == CONN_CLOSED)
				continue;
			if ((events[i].events & EPOLLOUT) && !conn_flush(w, c)) {
				STAT_ADD(w, drops_write_error, 1);
				conn_close(w, c, "write failed");
				continue;
			}
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
				conn_on_readable(w, c);
				flush_dirty(w);
			}
		}
		if (w->stopping)
			break;
		if (w->retry->len > 0) {
			g_autoptr(GPtrArray) again = w->retry;

			w->retry = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
			for (guint i = 0; i < again->len; i++) {
				Conn *c = g_ptr_array_index(again, i);

				if (c->state != CONN_CLOSED && c->state != CONN_VERIFYING &&
				    c->resume_at == 0) {
					conn_on_readable(w, c);
					flush_dirty(w);
				}
			}
		}
		flush_dirty(w);
		now = g_get_monotonic_time();
		if (now >= w->next_tick) {
			worker_tick(w, now);
			flush_dirty(w);
			w->next_tick = now + TICK_US;
		}
		g_ptr_array_set_size(w->graveyard, 0);
	}
	flush_dirty(w);
	g_ptr_array_set_size(w->graveyard, 0);
	return NULL;
}

/* ---- the public side ------------------------------------------------------------------------- */

static void
worker_init(WrDerpServer *s, Worker *w, guint index, GError **error)
{
	struct epoll_event ev = {.events = EPOLLIN};

	w->server = s;
	w->index = index;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g_mutex_init(&w->inbox_lock);
	g_queue_init(&w->inbox);
	w->conns = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	w->dirty = g_ptr_array_new();
	w->retry = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	w->graveyard = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	w->seq = 1; /* a connection's dirty_seq starts at 0: never marked */
	w->rbuf = g_malloc(READ_BUF_SIZE);
	w->wbuf = g_malloc(TLS_WRITE_CHUNK);
	if (w->epfd < 0 || w->evfd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create the relay's worker %u: %s", index, g_strerror(errno));
		return;
	}
	ev.data.ptr = w;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create the relay's worker %u: %s", index, g_strerror(errno));
		return;
	}
}

static void
worker_clear(Worker *w)
{
	Msg *m;

	while ((m = g_queue_pop_head(&w->inbox)) != NULL) {
		conn_unref(m->conn);
		g_free(m);
	}
	g_clear_pointer(&w->conns, g_ptr_array_unref);
	g_clear_pointer(&w->dirty, g_ptr_array_unref);
	g_clear_pointer(&w->retry, g_ptr_array_unref);
	g_clear_pointer(&w->graveyard, g_ptr_array_unref);
	g_clear_pointer(&w->rbuf, g_free);
	g_clear_pointer(&w->wbuf, g_free);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	w->epfd = w->evfd = -1;
	g_mutex_clear(&w->inbox_lock);
}

WrDerpServer *
wr_derp_server_new(const uint8_t private_key[32], const WrDerpServerConfig *config, GError **error)
{
	g_autoptr(WrDerpServer) s = g_new0(WrDerpServer, 1);
	guint n;

	s->config = *config;
	if (s->config.queue_len == 0)
		s->config.queue_len = DEFAULT_QUEUE_LEN;
	if (s->config.mesh_queue_len == 0)
		s->config.mesh_queue_len = 16 * s->config.queue_len;
	if (s->config.keepalive_us <= 0)
		s->config.keepalive_us = DEFAULT_KEEPALIVE_US;
	if (s->config.login_timeout_us <= 0)
		s->config.login_timeout_us = DEFAULT_LOGIN_TIMEOUT_US;
	if (s->config.write_timeout_us <= 0)
		s->config.write_timeout_us = DEFAULT_WRITE_TIMEOUT_US;
	if (s->config.rate_bytes_per_s > 0 && s->config.rate_burst_bytes < RATE_MIN_BURST)
		s->config.rate_burst_bytes = RATE_MIN_BURST;
	s->config.mesh_key = NULL;
	for (guint i = 0; i < WR_DERP_SERVER_MAX_WORKERS; i++)
		s->workers[i].epfd = s->workers[i].evfd = -1;

	s->private_key = wr_secure_alloc(WR_KEY_LEN);
	memcpy(s->private_key, private_key, WR_KEY_LEN);
	if (!wr_x25519_public(s->public_key, s->private_key)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the server's private key is all zeros");
		return NULL;
	}
	if (config->mesh_key != NULL) {
		s->mesh_key = wr_secure_alloc(32);
		memcpy(s->mesh_key, config->mesh_key, 32);
	}
	wr_random_bytes(s->sip_key, sizeof(s->sip_key));
	g_rw_lock_init(&s->reg_lock);
	s->entries = g_hash_table_new(hkey_hash, hkey_equal);
	s->watchers = g_ptr_array_new_with_free_func((GDestroyNotify) conn_unref);
	g_mutex_init(&s->ids_lock);
	s->by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
	s->context = g_main_context_ref_thread_default();

	n = config->n_workers;
	if (n == 0)
		n = g_get_num_processors();
	s->n_workers = CLAMP(n, 1, WR_DERP_SERVER_MAX_WORKERS);
	for (guint i = 0; i < s->n_workers; i++) {
		worker_init(s, &s->workers[i], i, error);
		if (error != NULL && *error != NULL)
			return NULL;
	}
	for (guint i = 0; i < s->n_workers; i++) {
		g_autofree char *name = g_strdup_printf("derp-worker-%u", i);

		s->workers[i].thread = g_thread_new(name, worker_main, &s->workers[i]);
	}
	return g_steal_pointer(&s);
}

void
wr_derp_server_shutdown(WrDerpServer *self, guint32 reconnect_in_ms, guint32 try_for_ms,
			guint flush_timeout_ms)
{
	gboolean restarting = reconnect_in_ms > 0 || try_for_ms > 0;

	if (!g_atomic_int_compare_and_exchange(&self->shut, 0, 1))
		return;
	for (guint i = 0; i < self->n_workers; i++) {
		Msg *m = g_new0(Msg, 1);

		m->type = MSG_SHUTDOWN;
		m->send_restarting = restarting;
		m->reconnect_in_ms = reconnect_in_ms;
		m->try_for_ms = try_for_ms;
		m->deadline = g_get_monotonic_time() + (gint64) flush_timeout_ms * 1000;
		post(&self->workers[i], m);
	}
	for (guint i = 0; i < self->n_workers; i++)
		g_clear_pointer(&self->workers[i].thread, g_thread_join);
}

void
wr_derp_server_free(WrDerpServer *self)
{
	if (self == NULL)
		return;
	if (self->workers[0].thread != NULL)
		wr_derp_server_shutdown(self, 0, 0, 0);
	for (guint i = 0; i < WR_DERP_SERVER_MAX_WORKERS; i++) {
		if (self->workers[i].server != NULL)
			worker_clear(&self->workers[i]);
	}
	if (self->entries != NULL) {
		GHashTableIter iter;
		Entry *e;

		g_hash_table_iter_init(&iter, self->entries);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &e))
			entry_free(e);
		g_hash_table_unref(self->entries);
		g_rw_lock_clear(&self->reg_lock);
	}
	g_clear_pointer(&self->watchers, g_ptr_array_unref);
	if (self->by_id != NULL) {
		g_hash_table_unref(self->by_id);
		g_mutex_clear(&self->ids_lock);
	}
	g_clear_pointer(&self->context, g_main_context_unref);
	wr_secure_free(self->private_key);
	wr_secure_free(self->mesh_key);
	g_free(self);
}

void
wr_derp_server_get_public_key(WrDerpServer *self, uint8_t out[32])
{
	memcpy(out, self->public_key, WR_KEY_LEN);
}

void
wr_derp_server_set_verify_func(WrDerpServer *self, WrDerpVerifyFunc func, gpointer user_data)
{
	self->verify_func = func;
	self->verify_data = user_data;
}

void
wr_derp_server_verify_done(WrDerpServer *self, guint64 conn_id, gboolean allow)
{
	Conn *c = NULL;
	Msg *m;

	g_mutex_lock(&self->ids_lock);
	if (g_hash_table_steal_extended(self->by_id, &conn_id, NULL, (gpointer *) &c) == FALSE)
		c = NULL;
	g_mutex_unlock(&self->ids_lock);
	if (c == NULL)
		return;
	m = g_new0(Msg, 1);
	m->type = MSG_VERIFY_DONE;
	m->conn = c; /* the table's reference */
	m->allow = allow;
	post(c->worker, m);
}

static Worker *
pick_worker(WrDerpServer *s)
{
	guint i = (guint) g_atomic_int_add((gint *) &s->next_worker, 1);

	return &s->workers[i % s->n_workers];
}

void
wr_derp_server_accept(WrDerpServer *self, GIOStream *stream, GSocket *socket, GBytes *pending,
		      GInetSocketAddress *remote)
{
	Conn *c;
	Msg *m;

	if (g_atomic_int_get(&self->shut)) {
		(void) g_socket_close(socket, NULL);
		return;
	}
	__atomic_add_fetch(&self->accepts, 1, __ATOMIC_RELAXED);
	c = conn_new(self, KIND_CLIENT, stream, socket, remote);
	if (pending != NULL && g_bytes_get_size(pending) > 0) {
		c->stash = g_bytes_unref_to_data(g_bytes_ref(pending), &c->stash_len);
	}
	m = g_new0(Msg, 1);
	m->type = MSG_ADD;
	m->conn = c;
	post(pick_worker(self), m);
}

gboolean
wr_derp_server_add_mesh_link(WrDerpServer *self, const char *name, GIOStream *stream,
			     GSocket *socket, GBytes *pending, const uint8_t server_key[32],
			     WrDerpLinkClosedFunc closed_func, gpointer user_data)
{
	g_autoptr(GSocketAddress) addr = NULL;
	Conn *c;
	Msg *m;

	if (memcmp(server_key, self->public_key, WR_KEY_LEN) == 0 || g_atomic_int_get(&self->shut))
		return FALSE;
	addr = g_socket_get_remote_address(socket, NULL);
	c = conn_new(self, KIND_LINK, stream, socket,
		     G_IS_INET_SOCKET_ADDRESS(addr) ? G_INET_SOCKET_ADDRESS(addr) : NULL);
	memcpy(c->key, server_key, WR_KEY_LEN);
	g_strlcpy(c->name, name, sizeof(c->name));
	c->link_name = g_strdup(name);
	c->closed_func = closed_func;
	c->closed_data = user_data;
	c->write_timeout = MESH_WRITE_TIMEOUT_US;
	if (pending != NULL && g_bytes_get_size(pending) > 0)
		c->stash = g_bytes_unref_to_data(g_bytes_ref(pending), &c->stash_len);
	__atomic_add_fetch(&self->mesh_links, 1, __ATOMIC_RELAXED);
	m = g_new0(Msg, 1);
	m->type = MSG_ADD;
	m->conn = c;
	post(pick_worker(self), m);
	return TRUE;
}

void
wr_derp_server_get_stats(WrDerpServer *self, WrDerpServerStats *out)
{
	GHashTableIter iter;
	Entry *e;

	memset(out, 0, sizeof(*out));
	out->accepts = __atomic_load_n(&self->accepts, __ATOMIC_RELAXED);
	out->mesh_clients = __atomic_load_n(&self->mesh_clients, __ATOMIC_RELAXED);
	out->mesh_links = __atomic_load_n(&self->mesh_links, __ATOMIC_RELAXED);
	for (guint i = 0; i < self->n_workers; i++) {
		Worker *w = &self->workers[i];

		out->logins += STAT_GET(w, logins);
		out->login_failures += STAT_GET(w, login_failures);
		out->packets_recv += STAT_GET(w, packets_recv);
		out->bytes_recv += STAT_GET(w, bytes_recv);
		out->packets_sent += STAT_GET(w, packets_sent);
		out->bytes_sent += STAT_GET(w, bytes_sent);
		out->packets_forwarded_out += STAT_GET(w, packets_forwarded_out);
		out->packets_forwarded_in += STAT_GET(w, packets_forwarded_in);
		out->drops_unknown_dest += STAT_GET(w, drops_unknown_dest);
		out->drops_queue_full += STAT_GET(w, drops_queue_full);
		out->drops_gone += STAT_GET(w, drops_gone);
		out->drops_write_error += STAT_GET(w, drops_write_error);
		out->peer_gone_sent += STAT_GET(w, peer_gone_sent);
		out->closes_protocol_error += STAT_GET(w, closes_protocol_error);
		out->closes_write_timeout += STAT_GET(w, closes_write_timeout);
		out->closes_idle += STAT_GET(w, closes_idle);
		out->closes_login_timeout += STAT_GET(w, closes_login_timeout);
		out->closes_verify_denied += STAT_GET(w, closes_verify_denied);
		out->rate_limited_waits += STAT_GET(w, rate_limited_waits);
		out->frames_unknown += STAT_GET(w, frames_unknown);
		out->duplicate_clients += STAT_GET(w, duplicate_clients);
	}
	g_rw_lock_reader_lock(&self->reg_lock);
	g_hash_table_iter_init(&iter, self->entries);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &e)) {
		if (e->conns->len == 0)
			continue;
		out->unique_keys++;
		out->clients += e->conns->len;
		for (guint i = 0; i < e->conns->len; i++) {
			Conn *c = g_ptr_array_index(e->conns, i);

			out->home_clients += c->preferred ? 1 : 0;
		}
	}
	out->watchers = self->watchers->len;
	g_rw_lock_reader_unlock(&self->reg_lock);
}

static void
metric(GString *out, const char *name, const char *type, const char *help, guint64 value)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n", name,
			       help, name, type, name, value);
}

static void
metric_labeled(GString *out, const char *name, const char *label, const char *const *values,
	       const guint64 *counts, guint n)
{
	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "%s{%s=\"%s\"} %" G_GUINT64_FORMAT "\n", name, label,
				       values[i], counts[i]);
}

void
wr_derp_server_format_metrics(WrDerpServer *self, GString *out)
{
	WrDerpServerStats st;

	wr_derp_server_get_stats(self, &st);
	metric(out, "warren_derp_clients", "gauge", "Connected clients (duplicates counted).",
	       st.clients);
	metric(out, "warren_derp_client_keys", "gauge", "Distinct keys of connected clients.",
	       st.unique_keys);
	metric(out, "warren_derp_home_clients", "gauge",
	       "Clients for which this server is the home region.", st.home_clients);
	metric(out, "warren_derp_mesh_clients", "gauge", "Mesh peers connected to this server.",
	       st.mesh_clients);
	metric(out, "warren_derp_mesh_links", "gauge", "This server's links to mesh peers.",
	       st.mesh_links);
	metric(out, "warren_derp_watchers", "gauge", "Mesh peers watching this server's clients.",
	       st.watchers);
	metric(out, "warren_derp_accepts_total", "counter", "Upgraded DERP connections.",
	       st.accepts);
	metric(out, "warren_derp_logins_total", "counter", "Completed logins.", st.logins);
	metric(out, "warren_derp_login_failures_total", "counter", "Failed logins.",
	       st.login_failures);
	metric(out, "warren_derp_duplicate_clients_total", "counter",
	       "Logins for a key that was already connected.", st.duplicate_clients);
	metric(out, "warren_derp_packets_received_total", "counter",
	       "Packets received for relaying (SendPacket and ForwardPacket).", st.packets_recv);
	metric(out, "warren_derp_bytes_received_total", "counter",
	       "Payload bytes received for relaying.", st.bytes_recv);
	metric(out, "warren_derp_packets_relayed_total", "counter",
	       "Packets written to their recipients.", st.packets_sent);
	metric(out, "warren_derp_bytes_relayed_total", "counter",
	       "Payload bytes written to their recipients.", st.bytes_sent);
	metric(out, "warren_derp_packets_forwarded_out_total", "counter",
	       "Packets forwarded to a mesh peer.", st.packets_forwarded_out);
	metric(out, "warren_derp_packets_forwarded_in_total", "counter",
	       "Packets forwarded by a mesh peer and delivered here.", st.packets_forwarded_in);
	metric(out, "warren_derp_peer_gone_sent_total", "counter", "PeerGone frames sent.",
	       st.peer_gone_sent);
	{
		const char *const reasons[] = {"unknown_dest", "queue_full", "gone", "write_error"};
		const guint64 counts[] = {st.drops_unknown_dest, st.drops_queue_full, st.drops_gone,
					  st.drops_write_error};

		g_string_append(out, "# HELP warren_derp_packets_dropped_total Packets not "
				     "delivered, by reason.\n"
				     "# TYPE warren_derp_packets_dropped_total counter\n");
		metric_labeled(out, "warren_derp_packets_dropped_total", "reason", reasons, counts,
			       G_N_ELEMENTS(counts));
	}
	{
		const char *const reasons[] = {"protocol_error", "write_timeout", "idle",
					       "login_timeout", "verify_denied"};
		const guint64 counts[] = {st.closes_protocol_error, st.closes_write_timeout,
					  st.closes_idle, st.closes_login_timeout,
					  st.closes_verify_denied};

		g_string_append(out, "# HELP warren_derp_closes_total Connections the server "
				     "closed, by reason.\n"
				     "# TYPE warren_derp_closes_total counter\n");
		metric_labeled(out, "warren_derp_closes_total", "reason", reasons, counts,
			       G_N_ELEMENTS(counts));
	}
	metric(out, "warren_derp_rate_limited_waits_total", "counter",
	       "Times a client's reading paused for its rate limit.", st.rate_limited_waits);
	metric(out, "warren_derp_unknown_frames_total", "counter",
	       "Frames of unknown or unexpected types, skipped.", st.frames_unknown);
}
