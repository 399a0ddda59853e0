/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrWgIo"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "wr-derp-endpoint.h"
#include "wr-source.h"
#include "wr-udp.h"
#include "wr-wg-io.h"

/* IP packets per batch on the TUN reader: with TSO one read brings up to ~45 */
#define IO_BATCH 128
/* receive buffers of the UDP reader: with GRO each holds up to 64 KiB of datagrams, so
 * fewer are needed (and fewer pages touched) than without */
#define IO_RX_BUFS_GRO	 16
#define IO_RX_BUFS_PLAIN 64
/* datagrams per batch on the UDP reader, after GRO buffers are cut up */
#define IO_RX_PKTS 1024
/* the largest datagram wr_wg_io_inject() takes */
#define INJECT_MAX_LEN 65535
/* how often the control side re-reads the interface MTU (wg-quick sets it after start) */
#define MTU_REFRESH_SECONDS 1

/* a bounded queue of WrDatagram between a data thread and the main context */
typedef struct {
	GMutex lock;
	GQueue items;
	guint max;
	uint64_t queued;  /* guarded by lock */
	uint64_t dropped; /* guarded by lock */
} SideQueue;

struct WrWgIo {
	WrDevice *device;
	WrTun *tun;
	GMainContext *context;
	WrWgIoGoneFunc gone_func;
	gpointer gone_data;

	GRWLock sock_lock; /* writers swap udp; readers use it */
	WrUdp *udp;

	GThread *tx_thread;
	GThread *rx_thread;
	int stop;     /* atomic */
	int tun_gone; /* atomic */
	int wake_fd;  /* data threads -> control side */
	int rx_fd;    /* control side -> rx thread: socket swapped or stop */

	/* the side channel: side_on is set once (atomic) after side and side_data */
	int side_on;
	WrWgIoSideChannel side;
	gpointer side_data;
	SideQueue side_rx;	 /* disco/STUN from the socket -> main context */
	SideQueue derp_tx;	 /* datagrams for DERP endpoints -> main context */
	SideQueue inject;	 /* datagrams that came over DERP -> UDP reader thread */
	uint64_t rx_derp_source; /* atomic */

	WrPacketFilter *filter;	 /* atomic pointer; borrowed (wr_wg_io_set_packet_filter) */
	uint64_t filter_dropped; /* atomic */
	WrFlowTable *flows;	 /* atomic pointer; borrowed (wr_wg_io_set_flow_table) */

	GSource *wake_source;
	GSource *timer_source;
	guint mtu_source_id;
};

static WrPacket *
packets_new(unsigned int n)
{
	WrPacket *pkts = g_new0(WrPacket, n);

	for (unsigned int i = 0; i < n; i++)
		pkts[i].buf = g_malloc(WR_PACKET_CAPACITY);
	return pkts;
}

static void
packets_free(WrPacket *pkts, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		g_free(pkts[i].buf);
	g_free(pkts);
}

static void
side_queue_init(SideQueue *q, guint max)
{
	g_mutex_init(&q->lock);
	g_queue_init(&q->items);
	q->max = max;
}

static void
side_queue_clear(SideQueue *q)
{
	g_queue_clear_full(&q->items, (GDestroyNotify) wr_datagram_free);
	g_mutex_clear(&q->lock);
}

/* takes d; false (d freed, counted) when the queue is full */
static bool
side_queue_push(SideQueue *q, WrDatagram *d)
{
	bool ok;

	g_mutex_lock(&q->lock);
	ok = q->items.length < q->max;
	if (ok) {
		g_queue_push_tail(&q->items, d);
		q->queued++;
	} else {
		q->dropped++;
	}
	g_mutex_unlock(&q->lock);
	if (!ok)
		wr_datagram_free(d);
	return ok;
}

/* moves everything queued to out */
static void
side_queue_take(SideQueue *q, GQueue *out)
{
	g_mutex_lock(&q->lock);
	*out = q->items;
	g_queue_init(&q->items);
	g_mutex_unlock(&q->lock);
}

static WrDatagram *
datagram_copy(const WrEndpoint *endpoint, const uint8_t *data, uint32_t len)
{
	WrDatagram *d = wr_datagram_new(len);

	memcpy(d->buf, data, len);
	d->len = len;
	d->endpoint = *endpoint;
	return d;
}

static bool
side_on(WrWgIo *self)
{
	return G_UNLIKELY(g_atomic_int_get(&self->side_on));
}

/* the outbox with the side channel on: DERP endpoints to derp_tx, the rest stays in out;
 * returns whether anything was queued */
static bool
divert_outbox(WrWgIo *self, GQueue *out)
{
	bool queued = false;
	GList *l = out->head;

	while (l != NULL) {
		GList *next = l->next;
		WrDatagram *d = l->data;

		if (wr_derp_endpoint_is_derp(&d->endpoint)) {
			g_queue_delete_link(out, l);
			queued |= side_queue_push(&self->derp_tx, d);
		}
		l = next;
	}
	return queued;
}

/* sends the device's outbox; must hold sock_lock for reading */
static void
send_outbox(WrWgIo *self)
{
	GQueue out = G_QUEUE_INIT;

	if (!wr_device_has_outgoing(self->device))
		return;
	wr_device_take_outgoing(self->device, &out);
	if (side_on(self) && divert_outbox(self, &out))
		wr_eventfd_poke(self->wake_fd);
	wr_udp_send_datagrams(self->udp, &out);
}

/* the TUN reader's batch with the side channel on: what goes to a DERP endpoint is copied to
 * derp_tx and taken out of the UDP send */
static void
divert_tx_batch(WrWgIo *self, WrPacket *pkts, unsigned int n)
{
	bool queued = false;

	for (unsigned int i = 0; i < n; i++) {
		if (pkts[i].verdict != WR_VERDICT_SEND ||
		    !wr_derp_endpoint_is_derp(&pkts[i].endpoint))
			continue;
		queued |= side_queue_push(&self->derp_tx, datagram_copy(&pkts[i].endpoint,
									pkts[i].data, pkts[i].len));
		pkts[i].verdict = WR_VERDICT_CONSUMED;
	}
	if (queued)
		wr_eventfd_poke(self->wake_fd);
}

/* the UDP reader's batch with the side channel on: disco and STUN are copied to side_rx, and
 * a source inside the DERP endpoint block (which only injected datagrams may have) is dropped;
 * the WireGuard datagrams are packed to the front.  Returns how many are left. */
static unsigned int
divert_rx_batch(WrWgIo *self, WrPacket *pkts, unsigned int n)
{
	unsigned int m = 0;
	bool queued = false;

	for (unsigned int i = 0; i < n; i++) {
		WrPacket *p = &pkts[i];

		if (wr_disco_classify(p->data, p->len) != WR_PACKET_WIREGUARD) {
			queued |= side_queue_push(&self->side_rx,
						  datagram_copy(&p->endpoint, p->data, p->len));
			continue;
		}
		if (wr_derp_endpoint_is_derp(&p->endpoint)) {
			__atomic_add_fetch(&self->rx_derp_source, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (m != i)
			pkts[m] = *p;
		m++;
	}
	if (queued)
		wr_eventfd_poke(self->wake_fd);
	return m;
}

/* what the TUN gives us, recorded so that its replies pass (before encryption) */
static void
filter_outbound(WrWgIo *self, WrPacket *pkts, unsigned int n)
{
	WrPacketFilter *filter = g_atomic_pointer_get(&self->filter);
	gint64 now;

	if (G_LIKELY(filter == NULL))
		return;
	now = g_get_monotonic_time();
	for (unsigned int i = 0; i < n; i++)
		(void) wr_packet_filter_outbound(filter, pkts[i].data, pkts[i].len, now);
}

/* what peers sent, decided before it reaches the TUN */
static void
filter_inbound(WrWgIo *self, WrPacket *pkts, unsigned int n)
{
	WrPacketFilter *filter = g_atomic_pointer_get(&self->filter);
	gint64 now;

	if (G_LIKELY(filter == NULL))
		return;
	now = g_get_monotonic_time();
	for (unsigned int i = 0; i < n; i++) {
		if (pkts[i].verdict != WR_VERDICT_TUN)
			continue;
		if (wr_packet_filter_inbound(filter, pkts[i].data, pkts[i].len, now, NULL) !=
		    WR_FILTER_ACCEPT) {
			pkts[i].verdict = WR_VERDICT_DROP;
			__atomic_add_fetch(&self->filter_dropped, 1, __ATOMIC_RELAXED);
		}
	}
}

/* flow logs: outbound, what the TUN gave us, counted before it is encrypted; inbound, what
 * goes to the TUN (after the filter), with the path it came by */
static void
flows_record(WrWgIo *self, WrFlowDir dir, WrPacket *pkts, unsigned int n)
{
	WrFlowTable *flows = g_atomic_pointer_get(&self->flows);
	WrFlowCursor cursor = {0};
	gint64 now;

	if (G_LIKELY(flows == NULL))
		return;
	now = g_get_monotonic_time();
	for (unsigned int i = 0; i < n; i++) {
		WrFlowPath path = WR_FLOW_PATH_UNKNOWN;

		if (dir == WR_FLOW_IN) {
			if (pkts[i].verdict != WR_VERDICT_TUN)
				continue;
			path = wr_derp_endpoint_is_derp(&pkts[i].endpoint) ? WR_FLOW_PATH_DERP
									   : WR_FLOW_PATH_DIRECT;
		}
		(void) wr_flow_table_record_run(flows, &cursor, dir, pkts[i].data, pkts[i].len,
						path, now);
	}
	wr_flow_table_flush_run(flows, &cursor);
}

static void
after_batch(WrWgIo *self)
{
	if (wr_device_take_wake(self->device))
		wr_eventfd_poke(self->wake_fd);
}

/* the TUN reader: plaintext in, ciphertext out */
static gpointer
tx_thread_cb(gpointer user_data)
{
	WrWgIo *self = user_data;
	WrPacket *pkts = packets_new(IO_BATCH);

	while (!g_atomic_int_get(&self->stop)) {
		int n = wr_tun_read_batch(self->tun, pkts, IO_BATCH);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			/* -ECANCELED is our own shutdown; anything else means the interface is gone
			 */
			if (n != -ECANCELED) {
				g_message("TUN device %s is gone (%s)", wr_tun_get_name(self->tun),
					  g_strerror(-n));
				g_atomic_int_set(&self->tun_gone, 1);
				wr_eventfd_poke(self->wake_fd);
			}
			break;
		}
		filter_outbound(self, pkts, (unsigned int) n);
		flows_record(self, WR_FLOW_OUT, pkts, (unsigned int) n);
		wr_device_feed_ip_packets(self->device, pkts, (unsigned int) n,
					  g_get_monotonic_time());
		if (side_on(self))
			divert_tx_batch(self, pkts, (unsigned int) n);
		g_rw_lock_reader_lock(&self->sock_lock);
		(void) wr_udp_send_batch(self->udp, pkts, (unsigned int) n);
		send_outbox(self);
		g_rw_lock_reader_unlock(&self->sock_lock);
		after_batch(self);
	}
	packets_free(pkts, IO_BATCH);
	return NULL;
}

/* decrypts a batch of datagrams and writes the plaintext to the TUN */
static void
rx_process(WrWgIo *self, WrPacket *pkts, unsigned int n)
{
	wr_device_feed_datagrams(self->device, pkts, n, g_get_monotonic_time());
	filter_inbound(self, pkts, n);
	flows_record(self, WR_FLOW_IN, pkts, n);
	(void) wr_tun_write_batch(self->tun, pkts, n);
	g_rw_lock_reader_lock(&self->sock_lock);
	send_outbox(self);
	g_rw_lock_reader_unlock(&self->sock_lock);
	after_batch(self);
}

/* feeds what wr_wg_io_inject() queued, n_bufs at a time through the receive buffers */
static void
rx_injected(WrWgIo *self, uint8_t **bufs, unsigned int n_bufs, WrPacket *pkts)
{
	GQueue items;
	WrDatagram *d;

	side_queue_take(&self->inject, &items);
	while (!g_queue_is_empty(&items)) {
		unsigned int n = 0;

		while (n < n_bufs && (d = g_queue_pop_head(&items)) != NULL) {
			memcpy(bufs[n], d->buf, d->len);
			memset(&pkts[n], 0, sizeof(pkts[n]));
			pkts[n].buf = bufs[n];
			pkts[n].data = bufs[n];
			pkts[n].len = d->len;
			pkts[n].endpoint = d->endpoint;
			wr_datagram_free(d);
			n++;
		}
		rx_process(self, pkts, n);
	}
}

/* the UDP reader: ciphertext in, plaintext to the TUN */
static gpointer
rx_thread_cb(gpointer user_data)
{
	WrWgIo *self = user_data;
	unsigned int n_bufs;
	uint8_t **bufs;
	WrPacket *pkts = g_new0(WrPacket, IO_RX_PKTS);

	g_rw_lock_reader_lock(&self->sock_lock);
	n_bufs = wr_udp_has_gro(self->udp) ? IO_RX_BUFS_GRO : IO_RX_BUFS_PLAIN;
	g_rw_lock_reader_unlock(&self->sock_lock);
	bufs = g_new(uint8_t *, n_bufs);
	for (unsigned int i = 0; i < n_bufs; i++)
		bufs[i] = g_malloc(WR_PACKET_CAPACITY);

	while (!g_atomic_int_get(&self->stop)) {
		struct pollfd pfds[2];
		int n;

		g_rw_lock_reader_lock(&self->sock_lock);
		pfds[0].fd = wr_udp_get_fd(self->udp);
		g_rw_lock_reader_unlock(&self->sock_lock);
		pfds[0].events = POLLIN;
		pfds[1].fd = self->rx_fd;
		pfds[1].events = POLLIN;
		if (poll(pfds, 2, -1) < 0)
			continue;
		if (pfds[1].revents & POLLIN) {
			/* the socket was swapped, datagrams were injected, or we are asked to stop
			 */
			wr_eventfd_drain(self->rx_fd);
			if (side_on(self))
				rx_injected(self, bufs, n_bufs, pkts);
			continue;
		}
		do {
			g_rw_lock_reader_lock(&self->sock_lock);
			n = wr_udp_recv_batch(self->udp, bufs, n_bufs, pkts, IO_RX_PKTS);
			g_rw_lock_reader_unlock(&self->sock_lock);
			if (n <= 0)
				break;
			if (side_on(self)) {
				unsigned int m = divert_rx_batch(self, pkts, (unsigned int) n);

				if (m > 0)
					rx_process(self, pkts, m);
			} else {
				rx_process(self, pkts, (unsigned int) n);
			}
		} while (n > 0 && !g_atomic_int_get(&self->stop));
	}
	for (unsigned int i = 0; i < n_bufs; i++)
		g_free(bufs[i]);
	g_free(bufs);
	g_free(pkts);
	return NULL;
}

/* hands what the data threads queued to the side channel's callbacks */
static void
deliver_side(WrWgIo *self)
{
	GQueue items;
	WrDatagram *d;

	side_queue_take(&self->side_rx, &items);
	while ((d = g_queue_pop_head(&items)) != NULL) {
		const uint8_t *data = d->buf + d->offset;

		if (self->side.received != NULL)
			self->side.received(wr_disco_classify(data, d->len), &d->endpoint, data,
					    d->len, self->side_data);
		wr_datagram_free(d);
	}
	side_queue_take(&self->derp_tx, &items);
	while ((d = g_queue_pop_head(&items)) != NULL) {
		uint32_t region, peer;

		if (self->side.derp_send != NULL &&
		    wr_derp_endpoint_decode(&d->endpoint, &region, &peer))
			self->side.derp_send(region, peer, d->buf + d->offset, d->len,
					     self->side_data);
		wr_datagram_free(d);
	}
}

/* the control side: tick, send, schedule the next tick */
static void
service(WrWgIo *self)
{
	int64_t next = wr_device_tick(self->device, g_get_monotonic_time(), g_get_real_time());

	g_rw_lock_reader_lock(&self->sock_lock);
	send_outbox(self);
	g_rw_lock_reader_unlock(&self->sock_lock);
	g_source_set_ready_time(self->timer_source, next == INT64_MAX ? -1 : next);
	if (side_on(self))
		deliver_side(self);
}

static gboolean
wake_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	WrWgIo *self = user_data;

	wr_eventfd_drain(fd);
	if (g_atomic_int_get(&self->tun_gone) && self->gone_func != NULL) {
		WrWgIoGoneFunc func = self->gone_func;

		self->gone_func = NULL;
		func(self->gone_data);
	}
	service(self);
	return G_SOURCE_CONTINUE;
}

static gboolean
timer_cb(gpointer user_data)
{
	service(user_data);
	return G_SOURCE_CONTINUE;
}

static gboolean
mtu_cb(gpointer user_data)
{
	WrWgIo *self = user_data;

	wr_device_set_mtu(self->device, wr_tun_get_mtu(self->tun));
	return G_SOURCE_CONTINUE;
}

WrWgIo *
wr_wg_io_new(WrDevice *device, WrTun *tun, GMainContext *context, WrWgIoGoneFunc gone_func,
	     gpointer user_data, GError **error)
{
	g_autoptr(WrUdp) udp = NULL;
	WrWgIo *self;

	udp = wr_udp_new(wr_device_get_listen_port(device), wr_device_get_fwmark(device), error);
	if (udp == NULL)
		return NULL;

	self = g_new0(WrWgIo, 1);
	self->device = device;
	self->tun = tun;
	self->context =
		context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
	self->gone_func = gone_func;
	self->gone_data = user_data;
	g_rw_lock_init(&self->sock_lock);
	side_queue_init(&self->side_rx, WR_WG_IO_SIDE_RX_MAX);
	side_queue_init(&self->derp_tx, WR_WG_IO_DERP_TX_MAX);
	side_queue_init(&self->inject, WR_WG_IO_INJECT_MAX);
	self->udp = g_steal_pointer(&udp);
	self->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	self->rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (self->wake_fd < 0 || self->rx_fd < 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "eventfd: %s",
			    g_strerror(err));
		wr_wg_io_free(self);
		return NULL;
	}
	wr_device_set_mtu(device, wr_tun_get_mtu(tun));
	/* the device learns the port the kernel really gave us */
	wr_device_set_listen_port(device, wr_udp_get_port(self->udp));

	self->wake_source = g_unix_fd_source_new(self->wake_fd, G_IO_IN);
	g_source_set_callback(self->wake_source, (GSourceFunc) (void (*)(void)) wake_cb, self,
			      NULL);
	g_source_attach(self->wake_source, self->context);
	self->timer_source =
		wr_deadline_source_new(self->context, "[warren] wg timers", 0, timer_cb, self);
	{
		GSource *mtu = g_timeout_source_new_seconds(MTU_REFRESH_SECONDS);

		g_source_set_callback(mtu, mtu_cb, self, NULL);
		self->mtu_source_id = g_source_attach(mtu, self->context);
		g_source_unref(mtu);
	}

	self->tx_thread = g_thread_new("wr-tun-rx", tx_thread_cb, self);
	self->rx_thread = g_thread_new("wr-udp-rx", rx_thread_cb, self);
	return self;
}

void
wr_wg_io_free(WrWgIo *self)
{
	if (self == NULL)
		return;
	g_atomic_int_set(&self->stop, 1);
	if (self->tx_thread != NULL) {
		wr_tun_close(self->tun);
		g_thread_join(self->tx_thread);
	}
	if (self->rx_thread != NULL) {
		wr_eventfd_poke(self->rx_fd);
		g_thread_join(self->rx_thread);
	}
	wr_source_clear(&self->wake_source);
	wr_source_clear(&self->timer_source);
	if (self->mtu_source_id != 0) {
		GSource *mtu = g_main_context_find_source_by_id(self->context, self->mtu_source_id);

		if (mtu != NULL)
			g_source_destroy(mtu);
	}
	if (self->wake_fd >= 0)
		close(self->wake_fd);
	if (self->rx_fd >= 0)
		close(self->rx_fd);
	wr_udp_free(self->udp);
	g_rw_lock_clear(&self->sock_lock);
	side_queue_clear(&self->side_rx);
	side_queue_clear(&self->derp_tx);
	side_queue_clear(&self->inject);
	g_main_context_unref(self->context);
	g_free(self);
}

static int
errno_of(const GError *error)
{
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
		return EADDRINUSE;
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
		return EPERM;
	return EIO;
}

int
wr_wg_io_apply(WrWgIo *self, const WrUapiSet *set)
{
	g_autoptr(WrUdp) fresh = NULL;
	g_autoptr(GError) error = NULL;
	uint16_t port = wr_udp_get_port(self->udp);
	uint32_t old_fwmark = wr_device_get_fwmark(self->device);
	uint32_t fwmark = set->has_fwmark ? set->fwmark : old_fwmark;
	int err;

	/* bind first: if the port is taken, nothing else changes */
	if (set->has_listen_port && (set->listen_port != port || set->listen_port == 0)) {
		fresh = wr_udp_new(set->listen_port, fwmark, &error);
		if (fresh == NULL) {
			g_warning("set: %s", error->message);
			return errno_of(error);
		}
	} else if (set->has_fwmark && fwmark != old_fwmark) {
		g_rw_lock_reader_lock(&self->sock_lock);
		if (!wr_udp_set_fwmark(self->udp, fwmark, &error)) {
			g_rw_lock_reader_unlock(&self->sock_lock);
			g_warning("set: %s", error->message);
			return errno_of(error);
		}
		g_rw_lock_reader_unlock(&self->sock_lock);
	}

	err = wr_device_apply(self->device, set, g_get_monotonic_time());
	if (err != 0) {
		if (fresh == NULL && set->has_fwmark && fwmark != old_fwmark)
			(void) wr_udp_set_fwmark(self->udp, old_fwmark, NULL);
		return err;
	}

	if (fresh != NULL) {
		WrUdp *old;

		g_rw_lock_writer_lock(&self->sock_lock);
		old = self->udp;
		self->udp = g_steal_pointer(&fresh);
		g_rw_lock_writer_unlock(&self->sock_lock);
		wr_udp_free(old);
		wr_eventfd_poke(self->rx_fd);
	}
	/* the device records the port the socket really has (a request for 0 picks one) */
	g_rw_lock_reader_lock(&self->sock_lock);
	wr_device_set_listen_port(self->device, wr_udp_get_port(self->udp));
	g_rw_lock_reader_unlock(&self->sock_lock);
	service(self);
	return 0;
}

void
wr_wg_io_get_info(WrWgIo *self, WrUapiDeviceInfo *info)
{
	wr_device_get_info(self->device, info);
	g_rw_lock_reader_lock(&self->sock_lock);
	info->listen_port = wr_udp_get_port(self->udp);
	g_rw_lock_reader_unlock(&self->sock_lock);
}

char *
wr_wg_io_describe_stats(WrWgIo *self)
{
	WrDeviceStats d;
	WrUdpStats u;
	WrTunStats t;

	wr_device_get_stats(self->device, &d);
	g_rw_lock_reader_lock(&self->sock_lock);
	wr_udp_get_stats(self->udp, &u);
	g_rw_lock_reader_unlock(&self->sock_lock);
	wr_tun_get_stats(self->tun, &t);
	return g_strdup_printf(
		"rx %" G_GUINT64_FORMAT " pkts/%" G_GUINT64_FORMAT " B, tx %" G_GUINT64_FORMAT
		" pkts/%" G_GUINT64_FORMAT " B; udp %" G_GUINT64_FORMAT
		" recv syscalls, %" G_GUINT64_FORMAT " send syscalls; tun %" G_GUINT64_FORMAT
		" reads (%" G_GUINT64_FORMAT " super), %" G_GUINT64_FORMAT
		" writes for %" G_GUINT64_FORMAT " pkts; drops: replay %" G_GUINT64_FORMAT
		", decrypt %" G_GUINT64_FORMAT ", no route %" G_GUINT64_FORMAT
		", bad inner %" G_GUINT64_FORMAT,
		d.rx_packets, d.rx_bytes, d.tx_packets, d.tx_bytes, u.rx_syscalls, u.tx_syscalls,
		t.read_packets, t.read_superpackets, t.written_writes, t.written_packets,
		d.drop_replay, d.drop_decrypt_failed, d.drop_no_route, d.drop_bad_inner);
}

void
wr_wg_io_set_side_channel(WrWgIo *self, const WrWgIoSideChannel *funcs, gpointer user_data)
{
	g_return_if_fail(funcs != NULL);
	g_return_if_fail(!g_atomic_int_get(&self->side_on));

	self->side = *funcs;
	self->side_data = user_data;
	/* the data threads read side_on first; the callbacks are only called here */
	g_atomic_int_set(&self->side_on, 1);
}

int
wr_wg_io_inject(WrWgIo *self, const WrEndpoint *src, const uint8_t *data, size_t len)
{
	if (!g_atomic_int_get(&self->side_on) || src->sa.sa_family == AF_UNSPEC || len == 0 ||
	    len > INJECT_MAX_LEN)
		return -EINVAL;
	if (!side_queue_push(&self->inject, datagram_copy(src, data, (uint32_t) len)))
		return -ENOBUFS;
	wr_eventfd_poke(self->rx_fd);
	return 0;
}

int
wr_wg_io_send_raw(WrWgIo *self, const WrEndpoint *dst, const uint8_t *data, size_t len)
{
	int r;

	if (wr_derp_endpoint_is_derp(dst))
		return -EINVAL;
	g_rw_lock_reader_lock(&self->sock_lock);
	r = wr_udp_send_one(self->udp, dst, data, len);
	g_rw_lock_reader_unlock(&self->sock_lock);
	return r;
}

static void
side_queue_counts(SideQueue *q, uint64_t *queued, uint64_t *dropped)
{
	g_mutex_lock(&q->lock);
	*queued = q->queued;
	*dropped = q->dropped;
	g_mutex_unlock(&q->lock);
}

bool
wr_wg_io_kick_handshake(WrWgIo *self, const uint8_t public_key[32])
{
	if (!wr_device_peer_kick_handshake(self->device, public_key, g_get_monotonic_time()))
		return false;
	/* sent from the next main loop iteration, so that no callback runs inside the caller's */
	wr_eventfd_poke(self->wake_fd);
	return true;
}

void
wr_wg_io_set_packet_filter(WrWgIo *self, WrPacketFilter *filter)
{
	g_atomic_pointer_set(&self->filter, filter);
}

uint64_t
wr_wg_io_get_filter_dropped(WrWgIo *self)
{
	return __atomic_load_n(&self->filter_dropped, __ATOMIC_RELAXED);
}

void
wr_wg_io_get_side_stats(WrWgIo *self, WrWgIoSideStats *out)
{
	side_queue_counts(&self->side_rx, &out->rx_queued, &out->rx_dropped);
	side_queue_counts(&self->derp_tx, &out->derp_tx_queued, &out->derp_tx_dropped);
	side_queue_counts(&self->inject, &out->injected, &out->inject_dropped);
	out->rx_derp_source = __atomic_load_n(&self->rx_derp_source, __ATOMIC_RELAXED);
}

void
wr_wg_io_set_flow_table(WrWgIo *self, WrFlowTable *flows)
{
	g_atomic_pointer_set(&self->flows, flows);
}
