/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpClient"

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-derp-client.h"
#include "wr-derp-frame.h"
#include "wr-key.h"
#include "wr-source.h"

/* how much one read asks for, and how many reads one dispatch may do before yielding */
#define READ_CHUNK		(64 * 1024)
#define MAX_READS_PER_DISPATCH	16
#define SEND_PACKET_OVERHEAD	(DERP_FRAME_HEADER_LEN + WR_KEY_LEN)
#define FORWARD_PACKET_OVERHEAD (DERP_FRAME_HEADER_LEN + 2 * WR_KEY_LEN)
/* keys a mesh watcher remembers as present, to report them gone when the link breaks */
#define MAX_WATCHED_PEERS 100000
/* characters of a key's hex form in logs */
#define KEY_LOG_PREFIX 8

_Static_assert(WR_DERP_CLIENT_MAX_CONTROL_BYTES >= 2 * (DERP_FRAME_HEADER_LEN + WR_KEY_LEN),
	       "a ClosePeer and a Pong fit the control queue");

typedef struct {
	WrDerpClient *self; /* pings live in self->pings and die before it */
	guint8 data[DERP_PING_DATA_LEN];
	gint64 sent_us;
	GTask *task;
	GSource *timeout;
	GSource *cancel;
} PendingPing;

/* one established connection; freed as soon as it breaks */
typedef struct {
	WrDerpConn *dc;
	GPollableInputStream *in;
	GPollableOutputStream *out_stream;
	GSource *read_source;
	GSource *write_source; /* armed while the stream refuses more */
	GSource *timer;	       /* the read timeout */
	gint64 last_frame_us;
	GByteArray *rbuf; /* bytes read; frames start at roff */
	gsize roff;
	GByteArray *out; /* whole frames being written, from out_off */
	gsize out_off;
	GByteArray *ctrl; /* control frames waiting for out */
	GBytes *ring[WR_DERP_CLIENT_QUEUE_LEN];
	guint ring_head;
	guint ring_len;
	double tokens; /* the ServerInfo token bucket, when rate is not 0 */
	gint64 refill_us;
	GHashTable *present; /* mesh: GBytes key -> NULL */
} Conn;

/* a dial in flight; the client may be gone when it ends */
typedef struct {
	GWeakRef self;
	GCancellable *cancellable;
} DialCtx;

struct _WrDerpClient {
	GObject parent_instance;

	GMainContext *context;
	gchar *url;
	guint8 *node_private; /* guarded memory */
	guint8 *mesh_key;     /* guarded memory, or NULL */
	gchar *connect_address;
	gchar *cert_name;
	gchar *app_name;
	gchar *ideal_node;
	gboolean insecure;
	gboolean is_prober;
	guint dial_timeout_ms;
	WrDerpClientTimings timings;

	gboolean running;
	gboolean preferred;
	gboolean watching;
	GCancellable *dial_cancellable; /* while a dial is in flight */
	GSource *reconnect_source;
	guint failures; /* since the last login */
	gint64 restart_not_before_us;
	gint64 restart_until_us;
	gboolean dial_error_logged;
	Conn *conn;
	gboolean has_server_key;
	guint8 server_key[WR_KEY_LEN];
	gchar *health;
	GPtrArray *pings;
	WrDerpClientStats stats;
};

G_DEFINE_FINAL_TYPE(WrDerpClient, wr_derp_client, G_TYPE_OBJECT)

enum {
	PROP_0,
	PROP_URL,
	PROP_PREFERRED,
	PROP_HEALTH,
	N_PROPS,
};

static GParamSpec *props[N_PROPS];

enum {
	SIGNAL_CONNECTED,
	SIGNAL_DISCONNECTED,
	SIGNAL_PACKET_RECEIVED,
	SIGNAL_PEER_GONE,
	SIGNAL_PEER_PRESENT,
	SIGNAL_HEALTH,
	SIGNAL_RESTARTING,
	N_SIGNALS,
};

static guint signals[N_SIGNALS];

static const WrDerpClientTimings default_timings = {
	.read_timeout_ms = WR_DERP_CLIENT_READ_TIMEOUT_MS,
	.ping_timeout_ms = WR_DERP_CLIENT_PING_TIMEOUT_MS,
	.backoff_unit_ms = WR_DERP_CLIENT_BACKOFF_UNIT_MS,
	.backoff_max_ms = WR_DERP_CLIENT_BACKOFF_MAX_MS,
	.restart_retry_ms = WR_DERP_CLIENT_RESTART_RETRY_MS,
};

guint
wr_derp_client_backoff_ms(guint n, guint unit_ms, guint max_ms, double factor)
{
	guint64 base = (guint64) n * n * unit_ms;

	if (base > max_ms)
		base = max_ms;
	return (guint) ((double) base * factor);
}

/* uniform in [0.5, 1.5) */
static double
jitter(void)
{
	return 0.5 + (double) wr_random_uniform(1000000) / 1000000.0;
}

static void
key_prefix(const guint8 key[WR_KEY_LEN], gchar out[KEY_LOG_PREFIX + 1])
{
	gchar hex[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(hex, key);
	memcpy(out, hex, KEY_LOG_PREFIX);
	out[KEY_LOG_PREFIX] = '\0';
}

static GSource *
attach_timeout(WrDerpClient *self, guint ms, GSourceFunc func, gpointer data, const char *name)
{
	GSource *source = g_timeout_source_new(ms);

	g_source_set_callback(source, func, data, NULL);
	g_source_set_static_name(source, name);
	g_source_attach(source, self->context);
	return source;
}

/* pings */

static void
ping_free(PendingPing *p)
{
	wr_source_clear(&p->timeout);
	wr_source_clear(&p->cancel);
	g_clear_object(&p->task);
	g_free(p);
}

/* returns the ping's result: error (taken) or the round trip */
static void
ping_complete(PendingPing *p, GError *error, gint64 rtt_us)
{
	WrDerpClient *self = p->self;
	GTask *task = g_steal_pointer(&p->task);

	g_ptr_array_remove_fast(self->pings, p);
	ping_free(p);
	if (error != NULL)
		g_task_return_error(task, error);
	else
		g_task_return_int(task, (gssize) rtt_us);
	g_object_unref(task);
}

static void
fail_pings(WrDerpClient *self, gint code, const char *message)
{
	while (self->pings->len > 0) {
		PendingPing *p = g_ptr_array_index(self->pings, self->pings->len - 1);

		ping_complete(p, g_error_new_literal(G_IO_ERROR, code, message), 0);
	}
}

static gboolean
ping_timeout_cb(gpointer user_data)
{
	PendingPing *p = user_data;
	guint ms = p->self->timings.ping_timeout_ms;

	g_clear_pointer(&p->timeout, g_source_unref);
	ping_complete(p, g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no pong within %u ms", ms),
		      0);
	return G_SOURCE_REMOVE;
}

static gboolean
ping_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	PendingPing *p = user_data;
	GError *error = NULL;

	g_clear_pointer(&p->cancel, g_source_unref);
	g_cancellable_set_error_if_cancelled(cancellable, &error);
	ping_complete(p, error, 0);
	return G_SOURCE_REMOVE;
}

/* connections */

static void
schedule_reconnect(WrDerpClient *self);

static void
conn_free(WrDerpClient *self, Conn *c)
{
	wr_source_clear(&c->read_source);
	wr_source_clear(&c->write_source);
	wr_source_clear(&c->timer);
	/* closing the socket first makes dropping the stream immediate, even for TLS */
	(void) g_socket_close(c->dc->socket, NULL);
	wr_derp_conn_free(c->dc);
	g_byte_array_unref(c->rbuf);
	g_byte_array_unref(c->out);
	g_byte_array_unref(c->ctrl);
	for (guint i = 0; i < c->ring_len; i++) {
		guint slot = (c->ring_head + i) % WR_DERP_CLIENT_QUEUE_LEN;

		g_bytes_unref(c->ring[slot]);
		self->stats.drops[WR_DERP_CLIENT_DROP_NOT_CONNECTED]++;
	}
	g_clear_pointer(&c->present, g_hash_table_unref);
	g_free(c);
}

/*
 * Ends the connection: frees it, fails the pings, schedules a redial when running, then tells
 * the listeners, who may stop or drop the client: nothing touches self after the emissions.
 */
static void
conn_end(WrDerpClient *self, gboolean emit, const char *reason)
{
	Conn *c = self->conn;
	g_autoptr(GPtrArray) gone = NULL;

	if (c == NULL)
		return;
	self->conn = NULL;
	if (c->present != NULL && emit) {
		GHashTableIter iter;
		gpointer key;

		gone = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
		g_hash_table_iter_init(&iter, c->present);
		while (g_hash_table_iter_next(&iter, &key, NULL))
			g_ptr_array_add(gone, g_bytes_ref(key));
	}
	conn_free(self, c);
	schedule_reconnect(self);
	if (!emit) {
		fail_pings(self, G_IO_ERROR_CANCELLED, "the DERP client was stopped");
		return;
	}
	g_object_ref(self);
	fail_pings(self, G_IO_ERROR_NOT_CONNECTED, "the DERP connection closed");
	for (guint i = 0; gone != NULL && i < gone->len; i++) {
		gconstpointer key = g_bytes_get_data(g_ptr_array_index(gone, i), NULL);

		g_signal_emit(self, signals[SIGNAL_PEER_GONE], 0, key,
			      (guint) DERP_PEER_GONE_MESH_CONN_BROKE);
	}
	g_signal_emit(self, signals[SIGNAL_DISCONNECTED], 0, reason);
	g_object_unref(self);
}

static void
conn_lost(WrDerpClient *self, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
conn_lost(WrDerpClient *self, const char *format, ...)
{
	g_autofree gchar *reason = NULL;
	va_list ap;

	va_start(ap, format);
	reason = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_message("%s: connection lost: %s", self->url, reason);
	conn_end(self, TRUE, reason);
}

/* writing */

static gboolean
write_ready_cb(GObject *stream, gpointer user_data);

static void
arm_write(WrDerpClient *self, Conn *c)
{
	if (c->write_source != NULL)
		return;
	c->write_source = g_pollable_output_stream_create_source(c->out_stream, NULL);
	g_source_set_callback(c->write_source, G_SOURCE_FUNC(write_ready_cb), self, NULL);
	g_source_set_static_name(c->write_source, "[warren] derp client write");
	g_source_attach(c->write_source, self->context);
}

static void
count_out(WrDerpClient *self, const guint8 *frame, gsize len)
{
	gsize overhead = frame[0] == DERP_FRAME_FORWARD_PACKET ? FORWARD_PACKET_OVERHEAD
							       : SEND_PACKET_OVERHEAD;

	self->stats.packets_out++;
	self->stats.bytes_out += len - overhead;
}

/*
 * Writes what is pending until the stream refuses more (then the write source waits for it)
 * or nothing is left.  Control frames go before queued packets, but never inside a frame.
 * FALSE when the connection broke (and is gone).
 */
static gboolean
flush(WrDerpClient *self, Conn *c)
{
	for (;;) {
		g_autoptr(GError) error = NULL;
		gssize n;

		if (c->out_off == c->out->len) {
			g_byte_array_set_size(c->out, 0);
			c->out_off = 0;
			g_byte_array_append(c->out, c->ctrl->data, c->ctrl->len);
			g_byte_array_set_size(c->ctrl, 0);
			while (c->ring_len > 0) {
				GBytes *frame = c->ring[c->ring_head];
				gsize len;
				const guint8 *data = g_bytes_get_data(frame, &len);

				g_byte_array_append(c->out, data, (guint) len);
				count_out(self, data, len);
				g_bytes_unref(frame);
				c->ring[c->ring_head] = NULL;
				c->ring_head = (c->ring_head + 1) % WR_DERP_CLIENT_QUEUE_LEN;
				c->ring_len--;
			}
			if (c->out->len == 0)
				return TRUE;
		}
		n = g_pollable_output_stream_write_nonblocking(
			c->out_stream, c->out->data + c->out_off, c->out->len - c->out_off, NULL,
			&error);
		if (n < 0) {
			if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
				arm_write(self, c);
				return TRUE;
			}
			conn_lost(self, "writing: %s", error->message);
			return FALSE;
		}
		c->out_off += (gsize) n;
	}
}

static gboolean
write_ready_cb(GObject *stream, gpointer user_data)
{
	WrDerpClient *self = user_data;
	Conn *c = self->conn;

	g_clear_pointer(&c->write_source, g_source_unref);
	g_object_ref(self);
	(void) flush(self, c);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

/* true when nothing waits: a new frame may go straight to out */
static gboolean
idle_writer(const Conn *c)
{
	return c->out_off == c->out->len && c->ctrl->len == 0 && c->ring_len == 0;
}

/* FALSE when dropped; a control frame never waits behind queued packets for long, as flush()
 * puts the control frames first into the next write.  Control frames have fixed sizes: their
 * builders cannot fail, and their results are ignored. */
static gboolean
queue_control(WrDerpClient *self, Conn *c, GByteArray *frame)
{
	if (c->ctrl->len + frame->len > WR_DERP_CLIENT_MAX_CONTROL_BYTES) {
		self->stats.drops[WR_DERP_CLIENT_DROP_CONTROL_FULL]++;
		return FALSE;
	}
	g_byte_array_append(c->ctrl, frame->data, frame->len);
	if (c->out_off == c->out->len)
		(void) flush(self, c);
	return TRUE;
}

/* a SendPacket or ForwardPacket; FALSE when the oldest queued packet had to go */
static gboolean
queue_packet(WrDerpClient *self, Conn *c, const guint8 *src, const guint8 dst[WR_KEY_LEN],
	     const guint8 *data, gsize len)
{
	gsize size = (src != NULL ? FORWARD_PACKET_OVERHEAD : SEND_PACKET_OVERHEAD) + len;
	gboolean ok = TRUE;
	guint8 *frame;
	guint slot;
	gssize n;

	/* the usual case: nothing waits, the frame is built where it is written from */
	if (idle_writer(c)) {
		g_byte_array_set_size(c->out, (guint) size);
		c->out_off = 0;
		n = src != NULL
			    ? wr_derp_write_forward_packet(c->out->data, size, src, dst, data, len)
			    : wr_derp_write_send_packet(c->out->data, size, dst, data, len);
		g_assert(n == (gssize) size);
		count_out(self, c->out->data, size);
		(void) flush(self, c);
		return TRUE;
	}

	frame = g_malloc(size);
	n = src != NULL ? wr_derp_write_forward_packet(frame, size, src, dst, data, len)
			: wr_derp_write_send_packet(frame, size, dst, data, len);
	g_assert(n == (gssize) size);
	if (c->ring_len == WR_DERP_CLIENT_QUEUE_LEN) {
		g_bytes_unref(c->ring[c->ring_head]);
		c->ring[c->ring_head] = NULL;
		c->ring_head = (c->ring_head + 1) % WR_DERP_CLIENT_QUEUE_LEN;
		c->ring_len--;
		self->stats.drops[WR_DERP_CLIENT_DROP_QUEUE_FULL]++;
		ok = FALSE;
	}
	slot = (c->ring_head + c->ring_len) % WR_DERP_CLIENT_QUEUE_LEN;
	c->ring[slot] = g_bytes_new_take(frame, size);
	c->ring_len++;
	return ok;
}

/* reading */

static gboolean
malformed(WrDerpClient *self, const WrDerpFrame *f, int r)
{
	self->stats.malformed_frames++;
	conn_lost(self, "malformed %s frame of %u bytes: %s", wr_derp_frame_type_to_string(f->type),
		  f->len, g_strerror(-r));
	return FALSE;
}

static GSocketAddress *
present_address(const WrDerpPeerPresent *present)
{
	static const guint8 v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	g_autoptr(GInetAddress) ip = NULL;

	if (!present->has_addr ||
	    (wr_is_zero(present->ip, sizeof(present->ip)) && present->port == 0))
		return NULL;
	if (memcmp(present->ip, v4_mapped, sizeof(v4_mapped)) == 0)
		ip = g_inet_address_new_from_bytes(present->ip + 12, G_SOCKET_FAMILY_IPV4);
	else
		ip = g_inet_address_new_from_bytes(present->ip, G_SOCKET_FAMILY_IPV6);
	return g_inet_socket_address_new(ip, present->port);
}

static void
set_health(WrDerpClient *self, const char *text, gsize len)
{
	g_autofree gchar *new_text = g_strndup(text, len);

	if (g_strcmp0(self->health, new_text) == 0)
		return;
	g_free(self->health);
	self->health = g_steal_pointer(&new_text);
	if (self->health[0] != '\0')
		g_message("%s: server reports a problem: %s", self->url, self->health);
	else
		g_debug("%s: server reports healthy again", self->url);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HEALTH]);
	g_signal_emit(self, signals[SIGNAL_HEALTH], 0, self->health);
}

static void
handle_pong(WrDerpClient *self, const guint8 data[DERP_PING_DATA_LEN])
{
	for (guint i = 0; i < self->pings->len; i++) {
		PendingPing *p = g_ptr_array_index(self->pings, i);

		if (wr_memeq(p->data, data, DERP_PING_DATA_LEN)) {
			ping_complete(p, NULL, g_get_monotonic_time() - p->sent_us);
			return;
		}
	}
	g_debug("%s: ignoring a pong that answers no ping of ours", self->url);
}

static void
handle_restarting(WrDerpClient *self, const WrDerpRestarting *restarting)
{
	gint64 now = g_get_monotonic_time();
	guint in = MIN(restarting->reconnect_in_ms, WR_DERP_CLIENT_MAX_RECONNECT_IN_MS);
	guint for_ms = MIN(restarting->try_for_ms, WR_DERP_CLIENT_MAX_TRY_FOR_MS);

	self->restart_not_before_us = now + (gint64) in * 1000;
	self->restart_until_us = self->restart_not_before_us + (gint64) for_ms * 1000;
	g_message("%s: server is restarting: reconnect in %u ms, try for %u ms", self->url,
		  restarting->reconnect_in_ms, restarting->try_for_ms);
	g_signal_emit(self, signals[SIGNAL_RESTARTING], 0, (guint) restarting->reconnect_in_ms,
		      (guint) restarting->try_for_ms);
}

/* one whole frame; FALSE when the connection is gone afterwards (malformed, or a listener
 * stopped the client) */
static gboolean
handle_frame(WrDerpClient *self, Conn *c, const WrDerpFrame *f)
{
	guint8 data[DERP_PING_DATA_LEN];
	WrDerpPacket pkt;
	WrDerpPeerGone gone;
	WrDerpPeerPresent present;
	WrDerpRestarting restarting;
	const char *text;
	size_t text_len;
	int r;

	switch (f->type) {
	case DERP_FRAME_RECV_PACKET: {
		g_autoptr(GBytes) bytes = NULL;

		r = wr_derp_parse_recv_packet(f->payload, f->len, &pkt);
		if (r < 0)
			return malformed(self, f, r);
		self->stats.packets_in++;
		self->stats.bytes_in += pkt.len;
		bytes = g_bytes_new(pkt.data, pkt.len);
		g_signal_emit(self, signals[SIGNAL_PACKET_RECEIVED], 0, pkt.key, bytes);
		break;
	}
	case DERP_FRAME_KEEP_ALIVE:
		/* the read timer counts any frame */
		break;
	case DERP_FRAME_PING: {
		g_autoptr(GByteArray) pong = g_byte_array_new();

		r = wr_derp_parse_ping(f->payload, f->len, data);
		if (r < 0)
			return malformed(self, f, r);
		(void) wr_derp_append_pong(pong, data);
		if (!queue_control(self, c, pong))
			g_debug("%s: control queue full, pong dropped", self->url);
		break;
	}
	case DERP_FRAME_PONG:
		r = wr_derp_parse_pong(f->payload, f->len, data);
		if (r < 0)
			return malformed(self, f, r);
		handle_pong(self, data);
		break;
	case DERP_FRAME_PEER_GONE:
		r = wr_derp_parse_peer_gone(f->payload, f->len, &gone);
		if (r < 0)
			return malformed(self, f, r);
		if (c->present != NULL) {
			g_autoptr(GBytes) key = g_bytes_new(gone.key, WR_KEY_LEN);

			g_hash_table_remove(c->present, key);
		}
		g_signal_emit(self, signals[SIGNAL_PEER_GONE], 0, gone.key, (guint) gone.reason);
		break;
	case DERP_FRAME_PEER_PRESENT: {
		g_autoptr(GSocketAddress) address = NULL;

		r = wr_derp_parse_peer_present(f->payload, f->len, &present);
		if (r < 0)
			return malformed(self, f, r);
		if (self->watching) {
			if (c->present == NULL)
				c->present =
					g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
							      (GDestroyNotify) g_bytes_unref, NULL);
			if (g_hash_table_size(c->present) < MAX_WATCHED_PEERS)
				g_hash_table_add(c->present, g_bytes_new(present.key, WR_KEY_LEN));
		}
		address = present_address(&present);
		g_signal_emit(self, signals[SIGNAL_PEER_PRESENT], 0, present.key, address,
			      (guint) present.flags);
		break;
	}
	case DERP_FRAME_HEALTH:
		r = wr_derp_parse_health(f->payload, f->len, &text, &text_len);
		if (r < 0)
			return malformed(self, f, r);
		set_health(self, text, text_len);
		break;
	case DERP_FRAME_RESTARTING:
		r = wr_derp_parse_restarting(f->payload, f->len, &restarting);
		if (r < 0)
			return malformed(self, f, r);
		handle_restarting(self, &restarting);
		break;
	default:
		/* unknown types (§2.5), and types a server has no business sending here */
		self->stats.frames_skipped++;
		break;
	}
	return self->conn == c;
}

/* every whole frame in the read buffer; FALSE when the connection is gone */
static gboolean
process_frames(WrDerpClient *self, Conn *c)
{
	gboolean any = FALSE;

	for (;;) {
		WrDerpFrame f;
		ssize_t n = wr_derp_frame_decode(c->rbuf->data + c->roff, c->rbuf->len - c->roff,
						 DERP_MAX_FRAME_SIZE, &f);

		if (n == 0)
			break;
		if (n < 0) {
			self->stats.malformed_frames++;
			conn_lost(self, "frame longer than %u bytes", DERP_MAX_FRAME_SIZE);
			return FALSE;
		}
		/* the view stays valid: nothing reads into rbuf until the loop ends */
		c->roff += (gsize) n;
		any = TRUE;
		if (!handle_frame(self, c, &f))
			return FALSE;
	}
	if (c->roff == c->rbuf->len) {
		g_byte_array_set_size(c->rbuf, 0);
	} else if (c->roff > 0) {
		memmove(c->rbuf->data, c->rbuf->data + c->roff, c->rbuf->len - c->roff);
		g_byte_array_set_size(c->rbuf, (guint) (c->rbuf->len - c->roff));
	}
	c->roff = 0;
	if (any)
		c->last_frame_us = g_get_monotonic_time();
	return TRUE;
}

static gboolean
read_ready_cb(GObject *stream, gpointer user_data)
{
	WrDerpClient *self = user_data;
	Conn *c = self->conn;
	gboolean alive = TRUE;

	g_object_ref(self);
	for (guint i = 0; alive && i < MAX_READS_PER_DISPATCH; i++) {
		g_autoptr(GError) error = NULL;
		gsize old = c->rbuf->len;
		gssize n;

		g_byte_array_set_size(c->rbuf, (guint) (old + READ_CHUNK));
		n = g_pollable_input_stream_read_nonblocking(c->in, c->rbuf->data + old, READ_CHUNK,
							     NULL, &error);
		g_byte_array_set_size(c->rbuf, (guint) (old + (n > 0 ? (gsize) n : 0)));
		if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			break;
		if (n < 0) {
			conn_lost(self, "reading: %s", error->message);
			alive = FALSE;
		} else if (n == 0) {
			conn_lost(self, "the server closed the connection");
			alive = FALSE;
		} else {
			alive = process_frames(self, c);
		}
	}
	g_object_unref(self);
	return alive ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
read_timer_cb(gpointer user_data)
{
	WrDerpClient *self = user_data;
	Conn *c = self->conn;
	gint64 deadline = c->last_frame_us + (gint64) self->timings.read_timeout_ms * 1000;

	if (g_get_monotonic_time() < deadline) {
		g_source_set_ready_time(c->timer, deadline);
		return G_SOURCE_CONTINUE;
	}
	g_object_ref(self);
	conn_lost(self, "no frame from the server for %u ms", self->timings.read_timeout_ms);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

/* dialing */

static void
dial(WrDerpClient *self);

static gboolean
reconnect_cb(gpointer user_data)
{
	WrDerpClient *self = user_data;

	g_clear_pointer(&self->reconnect_source, g_source_unref);
	dial(self);
	return G_SOURCE_REMOVE;
}

static void
schedule_reconnect(WrDerpClient *self)
{
	gint64 now = g_get_monotonic_time();
	guint delay;

	if (!self->running || self->reconnect_source != NULL || self->dial_cancellable != NULL)
		return;
	self->failures++;
	delay = wr_derp_client_backoff_ms(self->failures, self->timings.backoff_unit_ms,
					  self->timings.backoff_max_ms, jitter());
	/* a Restarting server: wait what it asked, then retry briskly while it said to */
	if (now < self->restart_until_us) {
		if (now < self->restart_not_before_us) {
			delay = (guint) ((self->restart_not_before_us - now + 999) / 1000);
		} else {
			guint brisk = (guint) (self->timings.restart_retry_ms * jitter());

			delay = MIN(delay, brisk);
		}
	}
	g_debug("%s: redialling in %u ms (attempt %u)", self->url, delay, self->failures);
	self->reconnect_source =
		attach_timeout(self, delay, reconnect_cb, self, "[warren] derp client reconnect");
}

static void
conn_established(WrDerpClient *self, WrDerpConn *dc)
{
	Conn *c = g_new0(Conn, 1);
	GInputStream *in = g_io_stream_get_input_stream(dc->stream);
	GOutputStream *out = g_io_stream_get_output_stream(dc->stream);
	gchar prefix[KEY_LOG_PREFIX + 1];

	c->dc = dc;
	c->in = G_POLLABLE_INPUT_STREAM(in);
	c->out_stream = G_POLLABLE_OUTPUT_STREAM(out);
	c->rbuf = g_steal_pointer(&dc->pending);
	c->out = g_byte_array_new();
	c->ctrl = g_byte_array_new();
	c->last_frame_us = g_get_monotonic_time();
	c->tokens = dc->server_info.token_bucket_bytes_burst;
	c->refill_us = c->last_frame_us;
	c->read_source = g_pollable_input_stream_create_source(c->in, NULL);
	g_source_set_callback(c->read_source, G_SOURCE_FUNC(read_ready_cb), self, NULL);
	g_source_set_static_name(c->read_source, "[warren] derp client read");
	g_source_attach(c->read_source, self->context);
	c->timer = wr_deadline_source_new(self->context, "[warren] derp client read timeout",
					  c->last_frame_us +
						  (gint64) self->timings.read_timeout_ms * 1000,
					  read_timer_cb, self);

	self->conn = c;
	self->failures = 0;
	self->restart_not_before_us = 0;
	self->restart_until_us = 0;
	self->dial_error_logged = FALSE;
	memcpy(self->server_key, dc->server_key, WR_KEY_LEN);
	self->has_server_key = TRUE;
	if (self->stats.connects > 0)
		self->stats.reconnects++;
	self->stats.connects++;
	key_prefix(dc->server_key, prefix);
	g_message("%s: connected, server key %s...", self->url, prefix);

	/* what the server must hear again on every connection: the home region gets
	 * NotePreferred(1), every other connection NotePreferred(0) (§2.12) */
	{
		g_autoptr(GByteArray) frame = g_byte_array_new();

		(void) wr_derp_append_note_preferred(frame, self->preferred);
		(void) queue_control(self, c, frame);
	}
	if (self->watching) {
		g_autoptr(GByteArray) frame = g_byte_array_new();

		(void) wr_derp_append_watch_conns(frame);
		(void) queue_control(self, c, frame);
	}
	if (self->conn != c)
		return;

	g_object_ref(self);
	if (self->health != NULL && self->health[0] != '\0')
		set_health(self, "", 0);
	if (self->conn == c)
		g_signal_emit(self, signals[SIGNAL_CONNECTED], 0);
	/* frames that came with the ServerInfo */
	if (self->conn == c)
		(void) process_frames(self, c);
	g_object_unref(self);
}

static void
dial_ctx_free(DialCtx *ctx)
{
	g_weak_ref_clear(&ctx->self);
	g_object_unref(ctx->cancellable);
	g_free(ctx);
}

static void
dial_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	DialCtx *ctx = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDerpConn) dc = wr_derp_dial_finish(res, &error);
	g_autoptr(WrDerpClient) self = g_weak_ref_get(&ctx->self);

	/* a client gone, stopped or restarted since: not our business any more */
	if (self == NULL || g_cancellable_is_cancelled(ctx->cancellable) ||
	    self->dial_cancellable != ctx->cancellable) {
		dial_ctx_free(ctx);
		return;
	}
	dial_ctx_free(ctx);
	g_clear_object(&self->dial_cancellable);
	if (dc == NULL) {
		self->stats.dial_failures++;
		/* the first failure in a row is news, the rest are not */
		if (!self->dial_error_logged)
			g_message("%s: cannot connect: %s", self->url, error->message);
		else
			g_debug("%s: cannot connect: %s", self->url, error->message);
		self->dial_error_logged = TRUE;
		schedule_reconnect(self);
		return;
	}
	conn_established(self, g_steal_pointer(&dc));
}

static void
dial(WrDerpClient *self)
{
	WrDerpDialOptions options = {
		.connect_address = self->connect_address,
		.cert_name = self->cert_name,
		.insecure_skip_verify = self->insecure,
		.mesh_key = self->mesh_key,
		.is_prober = self->is_prober,
		.app_name = self->app_name,
		.ideal_node = self->ideal_node,
		.timeout_ms = self->dial_timeout_ms,
	};
	DialCtx *ctx = g_new0(DialCtx, 1);

	g_assert(self->dial_cancellable == NULL && self->conn == NULL);
	self->dial_cancellable = g_cancellable_new();
	g_weak_ref_init(&ctx->self, self);
	ctx->cancellable = g_object_ref(self->dial_cancellable);
	g_debug("%s: dialling", self->url);
	/* the dial's callbacks run on the context it finds as thread-default */
	g_main_context_push_thread_default(self->context);
	wr_derp_dial_async(self->url, self->node_private, &options, ctx->cancellable, dial_cb, ctx);
	g_main_context_pop_thread_default(self->context);
}

/* public */

void
wr_derp_client_start(WrDerpClient *self)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));

	if (self->running)
		return;
	self->running = TRUE;
	self->failures = 0;
	dial(self);
}

/* everything down; emit tells the listeners (not from dispose) */
static void
stop_internal(WrDerpClient *self, gboolean emit)
{
	self->running = FALSE;
	if (self->dial_cancellable != NULL) {
		g_cancellable_cancel(self->dial_cancellable);
		g_clear_object(&self->dial_cancellable);
	}
	wr_source_clear(&self->reconnect_source);
	if (self->conn != NULL && emit)
		g_message("%s: stopped", self->url);
	conn_end(self, emit, "stopped");
	if (emit)
		fail_pings(self, G_IO_ERROR_CANCELLED, "the DERP client was stopped");
}

void
wr_derp_client_stop(WrDerpClient *self)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));

	stop_internal(self, TRUE);
}

gboolean
wr_derp_client_is_connected(WrDerpClient *self)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);

	return self->conn != NULL;
}

static gboolean
token_bucket_allows(Conn *c, gsize cost)
{
	guint32 rate = c->dc->server_info.token_bucket_bytes_per_second;
	guint32 burst = c->dc->server_info.token_bucket_bytes_burst;
	gint64 now;

	if (rate == 0)
		return TRUE;
	now = g_get_monotonic_time();
	c->tokens += (double) rate * (double) (now - c->refill_us) / (double) G_USEC_PER_SEC;
	if (c->tokens > burst)
		c->tokens = burst;
	c->refill_us = now;
	if (c->tokens < (double) cost)
		return FALSE;
	c->tokens -= (double) cost;
	return TRUE;
}

gboolean
wr_derp_client_send(WrDerpClient *self, const uint8_t dst[32], const guint8 *data, gsize len)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);
	g_return_val_if_fail(dst != NULL, FALSE);
	g_return_val_if_fail(data != NULL || len == 0, FALSE);

	if (len > DERP_MAX_PACKET_SIZE) {
		self->stats.drops[WR_DERP_CLIENT_DROP_TOO_BIG]++;
		return FALSE;
	}
	if (self->conn == NULL) {
		self->stats.drops[WR_DERP_CLIENT_DROP_NOT_CONNECTED]++;
		return FALSE;
	}
	/* §2.8: what the bucket refuses is dropped, not queued */
	if (!token_bucket_allows(self->conn, SEND_PACKET_OVERHEAD + len)) {
		self->stats.drops[WR_DERP_CLIENT_DROP_RATE_LIMITED]++;
		return FALSE;
	}
	return queue_packet(self, self->conn, NULL, dst, data, len);
}

gboolean
wr_derp_client_forward_packet(WrDerpClient *self, const uint8_t src[32], const uint8_t dst[32],
			      const guint8 *data, gsize len)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);
	g_return_val_if_fail(src != NULL && dst != NULL, FALSE);
	g_return_val_if_fail(data != NULL || len == 0, FALSE);

	if (len > DERP_MAX_PACKET_SIZE) {
		self->stats.drops[WR_DERP_CLIENT_DROP_TOO_BIG]++;
		return FALSE;
	}
	if (self->conn == NULL) {
		self->stats.drops[WR_DERP_CLIENT_DROP_NOT_CONNECTED]++;
		return FALSE;
	}
	/* mesh links are exempt from rate limits (§2.10, §2.11) */
	return queue_packet(self, self->conn, src, dst, data, len);
}

void
wr_derp_client_note_preferred(WrDerpClient *self, gboolean preferred)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));

	preferred = !!preferred;
	if (self->conn != NULL && preferred != self->preferred) {
		g_autoptr(GByteArray) frame = g_byte_array_new();

		(void) wr_derp_append_note_preferred(frame, preferred);
		(void) queue_control(self, self->conn, frame);
	}
	if (preferred == self->preferred)
		return;
	self->preferred = preferred;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PREFERRED]);
}

gboolean
wr_derp_client_get_preferred(WrDerpClient *self)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);

	return self->preferred;
}

void
wr_derp_client_watch_conns(WrDerpClient *self)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));

	if (self->watching)
		return;
	self->watching = TRUE;
	if (self->conn != NULL) {
		g_autoptr(GByteArray) frame = g_byte_array_new();

		(void) wr_derp_append_watch_conns(frame);
		(void) queue_control(self, self->conn, frame);
	}
}

gboolean
wr_derp_client_close_peer(WrDerpClient *self, const uint8_t key[32])
{
	g_autoptr(GByteArray) frame = g_byte_array_new();

	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);
	g_return_val_if_fail(key != NULL, FALSE);

	if (self->conn == NULL)
		return FALSE;
	(void) wr_derp_append_close_peer(frame, key);
	return queue_control(self, self->conn, frame);
}

void
wr_derp_client_ping_async(WrDerpClient *self, GCancellable *cancellable,
			  GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GByteArray) frame = g_byte_array_new();
	PendingPing *p;

	g_return_if_fail(WR_IS_DERP_CLIENT(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, wr_derp_client_ping_async);
	if (g_task_return_error_if_cancelled(task))
		return;
	if (self->conn == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
					"%s: not connected", self->url);
		return;
	}
	if (self->pings->len >= WR_DERP_CLIENT_MAX_PINGS) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY,
					"%s: %u pings already wait for their pong", self->url,
					WR_DERP_CLIENT_MAX_PINGS);
		return;
	}
	p = g_new0(PendingPing, 1);
	p->self = self;
	wr_random_bytes(p->data, sizeof(p->data));
	(void) wr_derp_append_ping(frame, p->data);
	if (!queue_control(self, self->conn, frame)) {
		g_free(p);
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY, "%s: control queue full",
					self->url);
		return;
	}
	/* the write may have broken the connection */
	if (self->conn == NULL) {
		g_free(p);
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
					"%s: the DERP connection closed", self->url);
		return;
	}
	p->sent_us = g_get_monotonic_time();
	p->task = g_steal_pointer(&task);
	p->timeout = attach_timeout(self, self->timings.ping_timeout_ms, ping_timeout_cb, p,
				    "[warren] derp client ping timeout");
	if (cancellable != NULL) {
		p->cancel = g_cancellable_source_new(cancellable);
		g_source_set_callback(p->cancel, G_SOURCE_FUNC(ping_cancelled_cb), p, NULL);
		g_source_attach(p->cancel, self->context);
	}
	g_ptr_array_add(self->pings, p);
}

gboolean
wr_derp_client_ping_finish(WrDerpClient *self, GAsyncResult *result, gint64 *out_rtt_us,
			   GError **error)
{
	gssize rtt;

	g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
	g_return_val_if_fail(g_async_result_is_tagged(result, wr_derp_client_ping_async), FALSE);

	rtt = g_task_propagate_int(G_TASK(result), error);
	if (rtt < 0)
		return FALSE;
	if (out_rtt_us != NULL)
		*out_rtt_us = rtt;
	return TRUE;
}

void
wr_derp_client_get_stats(WrDerpClient *self, WrDerpClientStats *out_stats)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));
	g_return_if_fail(out_stats != NULL);

	*out_stats = self->stats;
}

gboolean
wr_derp_client_get_server_key(WrDerpClient *self, uint8_t out_key[32])
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), FALSE);

	if (!self->has_server_key)
		return FALSE;
	memcpy(out_key, self->server_key, WR_KEY_LEN);
	return TRUE;
}

const char *
wr_derp_client_get_url(WrDerpClient *self)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), NULL);

	return self->url;
}

const char *
wr_derp_client_get_health(WrDerpClient *self)
{
	g_return_val_if_fail(WR_IS_DERP_CLIENT(self), NULL);

	return self->health != NULL ? self->health : "";
}

void
wr_derp_client_set_timings(WrDerpClient *self, const WrDerpClientTimings *timings)
{
	g_return_if_fail(WR_IS_DERP_CLIENT(self));

	self->timings = timings != NULL ? *timings : default_timings;
}

WrDerpClient *
wr_derp_client_new(const char *url, const uint8_t node_private[32],
		   const WrDerpDialOptions *options)
{
	WrDerpClient *self;

	g_return_val_if_fail(url != NULL, NULL);
	g_return_val_if_fail(node_private != NULL, NULL);

	self = g_object_new(WR_TYPE_DERP_CLIENT, NULL);
	self->url = g_strdup(url);
	self->node_private = wr_secure_alloc(WR_KEY_LEN);
	memcpy(self->node_private, node_private, WR_KEY_LEN);
	if (options != NULL) {
		if (options->mesh_key != NULL) {
			self->mesh_key = wr_secure_alloc(WR_KEY_LEN);
			memcpy(self->mesh_key, options->mesh_key, WR_KEY_LEN);
		}
		self->connect_address = g_strdup(options->connect_address);
		self->cert_name = g_strdup(options->cert_name);
		self->app_name = g_strdup(options->app_name);
		self->ideal_node = g_strdup(options->ideal_node);
		self->insecure = options->insecure_skip_verify;
		self->is_prober = options->is_prober;
		self->dial_timeout_ms = options->timeout_ms;
	}
	return self;
}

/* GObject */

static void
wr_derp_client_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	WrDerpClient *self = WR_DERP_CLIENT(object);

	switch (prop_id) {
	case PROP_URL:
		g_value_set_string(value, self->url);
		break;
	case PROP_PREFERRED:
		g_value_set_boolean(value, self->preferred);
		break;
	case PROP_HEALTH:
		g_value_set_string(value, wr_derp_client_get_health(self));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
wr_derp_client_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	WrDerpClient *self = WR_DERP_CLIENT(object);

	switch (prop_id) {
	case PROP_PREFERRED:
		wr_derp_client_note_preferred(self, g_value_get_boolean(value));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
wr_derp_client_dispose(GObject *object)
{
	WrDerpClient *self = WR_DERP_CLIENT(object);

	stop_internal(self, FALSE);
	G_OBJECT_CLASS(wr_derp_client_parent_class)->dispose(object);
}

static void
wr_derp_client_finalize(GObject *object)
{
	WrDerpClient *self = WR_DERP_CLIENT(object);

	g_ptr_array_unref(self->pings);
	g_main_context_unref(self->context);
	g_free(self->url);
	wr_secure_free(self->node_private);
	wr_secure_free(self->mesh_key);
	g_free(self->connect_address);
	g_free(self->cert_name);
	g_free(self->app_name);
	g_free(self->ideal_node);
	g_free(self->health);
	G_OBJECT_CLASS(wr_derp_client_parent_class)->finalize(object);
}

static void
wr_derp_client_class_init(WrDerpClientClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = wr_derp_client_get_property;
	object_class->set_property = wr_derp_client_set_property;
	object_class->dispose = wr_derp_client_dispose;
	object_class->finalize = wr_derp_client_finalize;

	props[PROP_URL] = g_param_spec_string("url", NULL, NULL, NULL,
					      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	props[PROP_PREFERRED] = g_param_spec_boolean("preferred", NULL, NULL, FALSE,
						     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
							     G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_HEALTH] = g_param_spec_string("health", NULL, NULL, "",
						 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
							 G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_PROPS, props);

	signals[SIGNAL_CONNECTED] =
		g_signal_new("connected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_DISCONNECTED] =
		g_signal_new("disconnected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
	signals[SIGNAL_PACKET_RECEIVED] =
		g_signal_new("packet-received", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
			     NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BYTES);
	signals[SIGNAL_PEER_GONE] =
		g_signal_new("peer-gone", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);
	signals[SIGNAL_PEER_PRESENT] = g_signal_new(
		"peer-present", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_SOCKET_ADDRESS, G_TYPE_UINT);
	signals[SIGNAL_HEALTH] = g_signal_new("health", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
					      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
	signals[SIGNAL_RESTARTING] =
		g_signal_new("restarting", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
}

static void
wr_derp_client_init(WrDerpClient *self)
{
	self->context = g_main_context_ref_thread_default();
	self->timings = default_timings;
	self->pings = g_ptr_array_new();
}
