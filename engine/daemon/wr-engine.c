/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's data plane (wr-engine.h; docs/warrend.md, "The data plane").
 *
 * How a packet for a peer finds its way: the WireGuard device sends it to the peer's endpoint,
 * which this file keeps equal to what the peer's path state (wr-path) chooses — the trusted
 * direct address, or else the peer's DERP endpoint, which the UDP writer hands to derp_send_cb
 * and so to the DERP client of that region.  The path state needs to know when data flows: a
 * packet to a DERP endpoint tells it at once (derp_send_cb), and the periodic tick reads the
 * device's per-peer counters for the rest.  The tick also notices a direct path that went
 * quiet (we send, the peer says nothing) and asks the path state to probe it
 * (wr_path_probe), which is how traffic falls back to DERP within about a second.
 */
#define G_LOG_DOMAIN "warrend"

#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "wr-crypto.h"
#include "wr-derp-client.h"
#include "wr-derp-endpoint.h"
#include "wr-device.h"
#include "wr-disco.h"
#include "wr-engine.h"
#include "wr-filter.h"
#include "wr-firewall.h"
#include "wr-key.h"
#include "wr-magicdns.h"
#include "wr-netcfg.h"
#include "wr-netcheck-client.h"
#include "wr-portmap.h"
#include "wr-sockmark.h"
#include "wr-source.h"
#include "wr-stun.h"
#include "wr-tun.h"
#include "wr-uapi.h"
#include "wr-wg-io.h"

/* the tick: this often while a peer is active or a probe or ping is pending, else IDLE */
#define TICK_ACTIVE_US (100 * G_TIME_SPAN_MILLISECOND)
#define TICK_IDLE_US   (1 * G_USEC_PER_SEC)
/* a direct path is suspect when we sent and heard nothing for this long, or when the peer
 * sends to us over DERP (it gave up on the direct path) ... */
#define STALL_US (300 * G_TIME_SPAN_MILLISECOND)
/* ... then a probe must be answered within this, and probes are this far apart at least.
 * Together they bound the loss when a direct path breaks (issue 6: at most 2 s): one side
 * notices within STALL_US + a tick and falls back after the probe's deadline; the other side
 * sees its packets arrive over DERP and does the same at once. */
#define PROBE_TIMEOUT_US  (500 * G_TIME_SPAN_MILLISECOND)
#define PROBE_INTERVAL_US (1 * G_USEC_PER_SEC)
/* a CLI ping goes out at most this often (the D-Bus contract: one a second) */
#define PING_INTERVAL_US G_USEC_PER_SEC
#define MAX_ENDPOINTS	 32
/* packets for a DERP region whose connection is not up yet wait (the first handshake would
 * otherwise be lost and WireGuard would retry only after 5 s), this many and this long */
#define DERP_PENDING_MAX    64
#define DERP_PENDING_MAX_US (5 * G_USEC_PER_SEC)
/* link changes come in bursts (address, route, link flags): look once they settled */
#define LINK_SETTLE_US (500 * G_TIME_SPAN_MILLISECOND)
#define DEFAULT_TUN    "warren0"

typedef struct _Peer Peer;
typedef struct _PingOp PingOp;

typedef struct {
	WrEndpoint addr;
	const char *type; /* static: "local", "stun", "portmap" */
} Endpoint;

struct _WrEngine {
	WrEngineCallbacks cb;
	gpointer user_data;
	GMainContext *context;

	uint8_t node_private[32];
	uint8_t node_public[32];
	uint8_t disco_private[32];
	uint8_t disco_public[32];

	WrTun *tun;
	WrDevice *device;
	WrWgIo *io;
	WrNetcfg *netcfg;
	WrPacketFilter *filter;
	WrFlowTable *flows; /* NULL unless the caller takes flow records */
	gint64 flows_collected_at;

	GHashTable *peers;	  /* gint64 id -> Peer (owned) */
	GHashTable *by_node_key;  /* node key -> Peer */
	GHashTable *by_disco_key; /* disco key -> Peer */
	GHashTable *by_number;	  /* GUINT_TO_POINTER(number) -> Peer */
	guint32 next_number;

	WrDerpMap *derp_map;
	GHashTable *derp; /* GUINT_TO_POINTER(region) -> WrDerpClient (owned) */
	guint64 home_region;
	gint64 derp_idle_check_at;

	WrNetcheckClient *netcheck;
	gboolean netcheck_busy;
	GSource *restun_source;
	GPtrArray *netcheck_waiters; /* GTask of wr_engine_netcheck_async */

	WrPortmap *portmap;
	GArray *endpoints; /* Endpoint */
	gint64 endpoints_at;
	gboolean endpoints_stale_cmm; /* a CallMeMaybe waits for fresh endpoints */

	GSource *tick_source;
	GCancellable *cancel;

	/* link changes: a netlink socket whose messages are only counted, then the local
	 * addresses compared after LINK_SETTLE_US */
	int link_fd;
	guint link_watch;
	GSource *link_source;
	GArray *local_addrs; /* WrEndpoint (port 0): the last set seen */

	/* issue 7 (docs/exit-nodes.md): the exit node in use (0: none), and on a router or exit
	 * node the forwarding it switched on and the nftables script last applied */
	gint64 exit_node_id;
	gboolean exit_allow_lan;
	WrForwarding forwarding;
	char *firewall_script;

	/* Health: the current sentences, by topic */
	char *netcfg_problem;
	char *filter_problem;
	char *netcheck_problem;
	char *exit_problem;
	char *firewall_problem;
	GPtrArray *health; /* NULL-terminated view for wr_engine_get_health */

	WrMagicDns *magicdns; /* docs/magicdns.md */
};

struct _Peer {
	WrEngine *engine;
	gint64 id;
	char *name;
	uint8_t node_key[32];
	gboolean has_disco;
	uint8_t disco_key[32];
	uint8_t shared[32]; /* the disco box key; valid when has_disco */
	guint32 number;
	guint64 region;
	GArray *map_endpoints; /* WrEndpoint, as the map gave them */
	GArray *allowed;       /* WrCidr installed in the device and routes */
	WrPath *path;
	WrEndpoint device_endpoint; /* what the device has now */
	gboolean online;	    /* as the last map said */
	gboolean renewed;	    /* made afresh in the device since it last went offline */

	/* the device's counters at the last tick */
	guint64 rx_bytes, tx_bytes;
	gint64 last_handshake;
	gint64 last_rx_change;
	gint64 last_probe;

	PingOp *ping;
};

struct _PingOp {
	GTask *task;
	Peer *peer; /* NULL once the peer is gone */
	guint count;
	guint seq;
	GArray *replies; /* WrEnginePingReply */
	gint64 sent_at;
	gboolean waiting;
	GArray *tx_ids; /* the TxIDs of the current ping: uint8_t[WR_DISCO_TXID_LEN] */
	GSource *timer;
};

static void
run_actions(Peer *p, WrPathActions *acts);
static void
arm_tick(WrEngine *self);
static void
start_netcheck(WrEngine *self, gboolean full);
static void
ping_op_next(PingOp *op);
static void
probe_direct(Peer *p, gint64 now, const char *why);

static gboolean
endpoint_arrays_equal(const GArray *a, const GArray *b)
{
	guint na = a != NULL ? a->len : 0, nb = b != NULL ? b->len : 0;

	if (na != nb)
		return FALSE;
	for (guint i = 0; i < na; i++) {
		if (!wr_endpoint_equal(&g_array_index(a, WrEndpoint, i),
				       &g_array_index(b, WrEndpoint, i)))
			return FALSE;
	}
	return TRUE;
}

static void
random_cb(uint8_t *buf, size_t len, gpointer user_data)
{
	(void) user_data;
	wr_random_bytes(buf, len);
}

/* ---- Health ---- */

static void
update_health(WrEngine *self)
{
	const char *topics[] = {
		self->netcfg_problem,
		self->filter_problem,
		self->netcheck_problem,
		self->exit_problem,
		self->firewall_problem,
		self->magicdns != NULL ? wr_magicdns_get_problem(self->magicdns) : NULL};

	g_ptr_array_set_size(self->health, 0);
	for (guint i = 0; i < G_N_ELEMENTS(topics); i++) {
		if (topics[i] != NULL)
			g_ptr_array_add(self->health, (gpointer) topics[i]);
	}
	g_ptr_array_add(self->health, NULL);
	if (self->cb.health_changed != NULL)
		self->cb.health_changed(self, self->user_data);
}

/* replaces one topic's sentence (NULL: fine); TRUE when it changed */
static gboolean
set_problem(WrEngine *self, char **slot, char *sentence)
{
	if (g_strcmp0(*slot, sentence) == 0) {
		g_free(sentence);
		return FALSE;
	}
	if (sentence != NULL)
		g_warning("%s", sentence);
	g_free(*slot);
	*slot = sentence;
	update_health(self);
	return TRUE;
}

/* ---- DERP ---- */

static void
derp_packet_cb(WrDerpClient *client, gpointer src_key, GBytes *packet, gpointer user_data);

typedef struct {
	uint8_t dst[32];
	GBytes *data;
	gint64 at;
} DerpPending;

static void
derp_pending_free(gpointer data)
{
	DerpPending *d = data;

	g_bytes_unref(d->data);
	g_free(d);
}

static void
derp_queue_free(gpointer data)
{
	g_queue_free_full(data, derp_pending_free);
}

/* the connection is up: what waited for it goes now */
static void
derp_connected_cb(WrDerpClient *c, gpointer user_data)
{
	GQueue *q = g_object_get_data(G_OBJECT(c), "wr-pending");
	gint64 now = g_get_monotonic_time();
	DerpPending *d;

	while ((d = g_queue_pop_head(q)) != NULL) {
		if (now - d->at <= DERP_PENDING_MAX_US)
			(void) wr_derp_client_send(c, d->dst, g_bytes_get_data(d->data, NULL),
						   g_bytes_get_size(d->data));
		derp_pending_free(d);
	}
}

static WrDerpClient *
derp_client(WrEngine *self, guint64 region)
{
	WrDerpClient *c = g_hash_table_lookup(self->derp, GUINT_TO_POINTER((guint) region));
	gint64 *last_used;
	const WrDerpRegion *r;
	const WrDerpNode *node = NULL;
	WrDerpDialOptions options = {0};
	g_autofree char *url = NULL;

	if (c != NULL) {
		*(gint64 *) g_object_get_data(G_OBJECT(c), "wr-last-used") = g_get_monotonic_time();
		return c;
	}
	if (region == 0 || region > G_MAXUINT32 || self->derp_map == NULL)
		return NULL;
	r = wr_derp_map_get_region(self->derp_map, region);
	for (guint i = 0; r != NULL && i < r->n_nodes; i++) {
		if (!r->nodes[i].stun_only) {
			node = &r->nodes[i];
			break;
		}
	}
	if (node == NULL)
		return NULL;
	/* the map's literal, when it has one, saves the DNS lookup: it is already the text */
	if (wr_derp_node_addr(node, AF_INET, NULL) == WR_DERP_ADDR_LITERAL)
		options.connect_address = node->ipv4;
	else if (wr_derp_node_addr(node, AF_INET6, NULL) == WR_DERP_ADDR_LITERAL)
		options.connect_address = node->ipv6;
	if (node->cert_name != NULL && *node->cert_name != '\0')
		options.cert_name = node->cert_name;
	options.insecure_skip_verify = node->insecure_for_tests;
	options.app_name = "warrend";
	/* InsecureForTests (test maps only) also allows plain http: the NAT lab's relay has no
	 * certificate */
	url = g_strdup_printf("%s://%s:%u/derp", node->insecure_for_tests ? "http" : "https",
			      node->host_name, wr_derp_node_derp_port(node));
	c = wr_derp_client_new(url, self->node_private, &options);
	g_object_set_data(G_OBJECT(c), "wr-region", GUINT_TO_POINTER((guint) region));
	last_used = g_new(gint64, 1);
	*last_used = g_get_monotonic_time();
	g_object_set_data_full(G_OBJECT(c), "wr-last-used", last_used, g_free);
	g_object_set_data(G_OBJECT(c), "wr-engine", self);
	g_object_set_data_full(G_OBJECT(c), "wr-pending", g_queue_new(), derp_queue_free);
	g_signal_connect(c, "packet-received", G_CALLBACK(derp_packet_cb), self);
	g_signal_connect(c, "connected", G_CALLBACK(derp_connected_cb), self);
	wr_derp_client_note_preferred(c, region == self->home_region);
	wr_derp_client_start(c);
	g_hash_table_insert(self->derp, GUINT_TO_POINTER((guint) region), c);
	g_message("DERP region %" G_GUINT64_FORMAT ": connecting to %s", region, url);
	return c;
}

/* to a peer's node key through the region's relay, waiting for the connection if needed */
static void
derp_send(WrEngine *self, guint64 region, const uint8_t dst[32], const uint8_t *data, gsize len)
{
	WrDerpClient *c = derp_client(self, region);
	GQueue *q;
	DerpPending *d;

	if (c == NULL)
		return;
	if (wr_derp_client_is_connected(c)) {
		(void) wr_derp_client_send(c, dst, data, len);
		return;
	}
	q = g_object_get_data(G_OBJECT(c), "wr-pending");
	if (g_queue_get_length(q) >= DERP_PENDING_MAX)
		derp_pending_free(g_queue_pop_head(q));
	d = g_new0(DerpPending, 1);
	memcpy(d->dst, dst, sizeof(d->dst));
	d->data = g_bytes_new(data, len);
	d->at = g_get_monotonic_time();
	g_queue_push_tail(q, d);
}

static void
derp_client_free(gpointer data)
{
	WrDerpClient *c = data;

	g_signal_handlers_disconnect_matched(c, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
					     g_object_get_data(G_OBJECT(c), "wr-engine"));
	wr_derp_client_stop(c);
	g_object_unref(c);
}

/* §2.12: connections to other regions than home close after a minute without use */
static void
close_idle_derp(WrEngine *self, gint64 now)
{
	GHashTableIter iter;
	gpointer key, value;

	if (now < self->derp_idle_check_at)
		return;
	self->derp_idle_check_at = now + WR_PATH_DERP_IDLE_CHECK_US;
	g_hash_table_iter_init(&iter, self->derp);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		gint64 used = *(gint64 *) g_object_get_data(value, "wr-last-used");

		if (GPOINTER_TO_UINT(key) != self->home_region &&
		    now - used > WR_PATH_DERP_IDLE_CLOSE_US) {
			g_message("DERP region %u: closed after a minute unused",
				  GPOINTER_TO_UINT(key));
			g_hash_table_iter_remove(&iter);
		}
	}
}

static void
set_home_region(WrEngine *self, guint64 region)
{
	GHashTableIter iter;
	gpointer key, value;

	if (region == self->home_region)
		return;
	g_message("home DERP region: %" G_GUINT64_FORMAT " (was %" G_GUINT64_FORMAT ")", region,
		  self->home_region);
	self->home_region = region;
	g_hash_table_iter_init(&iter, self->derp);
	while (g_hash_table_iter_next(&iter, &key, &value))
		wr_derp_client_note_preferred(value, GPOINTER_TO_UINT(key) == region);
	/* the home connection is always up: that is where peers reach us */
	(void) derp_client(self, region);
}

/* ---- sending disco ---- */

static void
send_disco(Peer *p, const uint8_t *msg, size_t len, gboolean via_derp, guint64 region,
	   const WrEndpoint *addr, GArray *bad_addrs)
{
	WrEngine *self = p->engine;
	uint8_t buf[WR_DISCO_OVERHEAD + WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS)];
	uint8_t nonce[WR_DISCO_NONCE_LEN];
	int n, r;

	if (!p->has_disco)
		return;
	wr_random_bytes(nonce, sizeof(nonce));
	n = wr_disco_seal(buf, sizeof(buf), msg, len, self->disco_public, p->shared, nonce);
	if (n < 0)
		return;
	if (via_derp) {
		derp_send(self, region, p->node_key, buf, (gsize) n);
		return;
	}
	r = wr_wg_io_send_raw(self->io, addr, buf, (size_t) n);
	if (r == -EHOSTUNREACH || r == -ENETUNREACH || r == -EADDRNOTAVAIL)
		g_array_append_val(bad_addrs, *addr);
}

static void
send_call_me_maybe(Peer *p, guint64 region)
{
	WrEngine *self = p->engine;
	uint8_t msg[WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS)];
	WrEndpoint eps[WR_DISCO_MAX_ENDPOINTS];
	guint n = 0;
	int len;

	for (guint i = 0; i < self->endpoints->len && n < G_N_ELEMENTS(eps); i++)
		eps[n++] = g_array_index(self->endpoints, Endpoint, i).addr;
	len = wr_disco_build_call_me_maybe(msg, sizeof(msg), eps, n);
	if (len < 0)
		return;
	send_disco(p, msg, (size_t) len, TRUE, region, NULL, NULL);
	/* §4.4: endpoints older than this are re-STUNned (the next CallMeMaybe has them) */
	if (g_get_monotonic_time() - self->endpoints_at > WR_PATH_ENDPOINTS_FRESH_ENOUGH_US)
		start_netcheck(self, FALSE);
}

/* ---- the path state and the device's endpoint ---- */

static void
desired_endpoint(Peer *p, gint64 now, WrEndpoint *out)
{
	WrPathStatus st;

	wr_path_get_status(p->path, now, &st);
	memset(out, 0, sizeof(*out));
	out->sa.sa_family = AF_UNSPEC;
	if (st.state == WR_PATH_DIRECT)
		*out = st.best;
	else if (p->region != 0 && p->region <= G_MAXUINT32)
		wr_derp_endpoint_encode((uint32_t) p->region, p->number, out);
	else if (st.best.sa.sa_family != AF_UNSPEC)
		*out = st.best;
	else if (p->map_endpoints->len > 0)
		*out = g_array_index(p->map_endpoints, WrEndpoint, 0);
}

static void
sync_endpoint(Peer *p, gint64 now)
{
	WrEndpoint want;

	WrEndpoint old = p->device_endpoint;

	desired_endpoint(p, now, &want);
	if (wr_endpoint_equal(&want, &old))
		return;
	if (!wr_device_peer_set_endpoint(p->engine->device, p->node_key, &want))
		return;
	p->device_endpoint = want;
	/* a handshake that went the old way — to a guess before the peer's relay was known, or
	 * over a direct path that just failed — is sent again the new way now, not 5 s later.
	 * Not when the old way was the relay: that initiation arrives, and a second one within
	 * the 2^24 ns of TAI64N's whitening would be refused by the peer as a replay. */
	if (!wr_derp_endpoint_is_derp(&old) && wr_wg_io_kick_handshake(p->engine->io, p->node_key))
		g_debug("peer %s: handshake sent again on the new path", p->name);
}

static void
ping_op_result(PingOp *op, const WrPathAction *a)
{
	WrEnginePingReply reply = {0};
	gboolean ours = FALSE;

	if (!op->waiting)
		return;
	for (guint i = 0; i < op->tx_ids->len && !ours; i++)
		ours = memcmp(&g_array_index(op->tx_ids, uint8_t, i * WR_DISCO_TXID_LEN), a->tx_id,
			      WR_DISCO_TXID_LEN) == 0;
	if (!ours)
		return;
	reply.via_derp = a->via_derp;
	reply.derp_region = a->derp_region;
	reply.endpoint = a->addr;
	reply.latency_us = a->latency_us;
	g_array_append_val(op->replies, reply);
	op->waiting = FALSE;
	ping_op_next(op);
}

static void
log_path(Peer *p, const WrPathStatus *st)
{
	char addr[WR_ENDPOINT_STRLEN];

	if (st->state == WR_PATH_DIRECT) {
		wr_endpoint_format(&st->best, addr);
		g_message("peer %s: direct via %s (%.1f ms)", p->name, addr,
			  (double) st->latency_us / 1000.0);
	} else {
		g_message("peer %s: %s (DERP region %" G_GUINT64_FORMAT ")", p->name,
			  wr_path_state_to_string(st->state), st->derp_region);
	}
}

/* disco traffic in the log at debug level: what a failed path test needs to be read */
static void
debug_disco(Peer *p, const char *what, const WrPathAction *a)
{
	char addr[WR_ENDPOINT_STRLEN];

	if (!g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) {
		if (a->via_derp)
			g_snprintf(addr, sizeof(addr), "DERP region %" G_GUINT64_FORMAT,
				   a->derp_region);
		else
			wr_endpoint_format(&a->addr, addr);
		g_debug("peer %s: %s %s", p->name, what, addr);
	}
}

static void
run_actions(Peer *p, WrPathActions *acts)
{
	WrEngine *self = p->engine;
	g_autoptr(GArray) bad = g_array_new(FALSE, FALSE, sizeof(WrEndpoint));
	gboolean changed = FALSE;
	gint64 now = g_get_monotonic_time();

	for (guint i = 0; i < acts->n; i++) {
		const WrPathAction *a = &acts->a[i];
		uint8_t msg[WR_DISCO_PING_LEN + WR_DISCO_PONG_LEN];
		int len;

		switch (a->kind) {
		case WR_PATH_SEND_PING:
			debug_disco(p, "ping to", a);
			len = wr_disco_build_ping(msg, sizeof(msg), a->tx_id, self->node_public, 0);
			if (len > 0)
				send_disco(p, msg, (size_t) len, a->via_derp, a->derp_region,
					   &a->addr, bad);
			if (p->ping != NULL && p->ping->waiting)
				g_array_append_vals(p->ping->tx_ids, a->tx_id, 1);
			break;
		case WR_PATH_SEND_PONG:
			debug_disco(p, "pong to", a);
			len = wr_disco_build_pong(msg, sizeof(msg), a->tx_id, &a->pong_src);
			if (len > 0)
				send_disco(p, msg, (size_t) len, a->via_derp, a->derp_region,
					   &a->addr, bad);
			break;
		case WR_PATH_SEND_CALL_ME_MAYBE:
			g_debug("peer %s: call-me-maybe via DERP region %" G_GUINT64_FORMAT,
				p->name, a->derp_region);
			send_call_me_maybe(p, a->derp_region);
			break;
		case WR_PATH_SEND_DATA:
			/* the device sends the data itself, to the endpoint sync_endpoint set */
			break;
		case WR_PATH_CHANGED:
			log_path(p, &a->status);
			changed = TRUE;
			break;
		case WR_PATH_PING_RESULT:
			if (p->ping != NULL)
				ping_op_result(p->ping, a);
			break;
		}
	}
	for (guint i = 0; i < bad->len; i++) {
		WrPathActions more;

		wr_path_note_send_error(p->path, now, &g_array_index(bad, WrEndpoint, i), &more);
		changed |= more.n > 0;
	}
	sync_endpoint(p, now);
	if (changed && self->cb.path_changed != NULL)
		self->cb.path_changed(self, p->id, self->user_data);
	arm_tick(self);
}

/* data for the peer is flowing (§4.3): the path state learns it, discovery may start */
static void
note_activity(Peer *p)
{
	WrPathActions acts;

	(void) wr_path_send_data(p->path, g_get_monotonic_time(), &acts);
	run_actions(p, &acts);
}

/* ---- receiving ---- */

static gboolean
is_tailnet_address(const WrEndpoint *ep);

static void
handle_disco(WrEngine *self, const uint8_t *pkt, size_t len, const WrEndpoint *udp_src,
	     guint64 region, const uint8_t *derp_src_key)
{
	uint8_t sender[WR_DISCO_KEY_LEN];
	uint8_t msg[WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS) + 64];
	WrDiscoMessage m;
	WrEndpoint src;
	WrPathActions acts;
	gint64 now = g_get_monotonic_time();
	Peer *p;
	int n;

	if (wr_disco_sender_key(pkt, len, sender) != 0)
		return;
	if (udp_src != NULL) {
		WrEndpoint plain = *udp_src;

		/* from a tailnet address, it came through the tunnel itself: a peer probing one
		 * of our endpoints that lies in a subnet route it accepted.  Answering would make
		 * that address a "direct" path, and the tunnel would carry itself. */
		wr_endpoint_unmap(&plain);
		if (is_tailnet_address(&plain))
			return;
	}
	p = g_hash_table_lookup(self->by_disco_key, sender);
	if (p == NULL || !p->has_disco)
		return;
	/* larger messages (padded pings) are not ours to answer: they do not fit here */
	n = wr_disco_open(msg, sizeof(msg), pkt, len, p->shared);
	if (n < 0 || wr_disco_parse(msg, (size_t) n, &m) != 0)
		return;
	if (udp_src != NULL)
		src = *udp_src;
	else
		wr_path_derp_source(region, &src);
	if (!g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) {
		char from[WR_ENDPOINT_STRLEN];

		if (udp_src != NULL)
			wr_endpoint_format(udp_src, from);
		else
			g_snprintf(from, sizeof(from), "DERP region %" G_GUINT64_FORMAT, region);
		g_debug("peer %s: %s from %s", p->name,
			m.type == WR_DISCO_PING	  ? "ping"
			: m.type == WR_DISCO_PONG ? "pong"
						  : "call-me-maybe",
			from);
	}

	switch (m.type) {
	case WR_DISCO_PING:
		/* §3.6: a ping that names a node key must name this peer's */
		if (m.ping.has_node_key && memcmp(m.ping.node_key, p->node_key, 32) != 0)
			return;
		(void) wr_path_recv_ping(p->path, now, &m.ping, &src, &acts);
		break;
	case WR_DISCO_PONG:
		(void) wr_path_recv_pong(p->path, now, &m.pong, &src, &acts);
		break;
	case WR_DISCO_CALL_ME_MAYBE:
		/* §3.6 step 5: only over DERP, from the node key whose disco key sealed it */
		if (derp_src_key == NULL || memcmp(derp_src_key, p->node_key, 32) != 0)
			return;
		wr_path_recv_call_me_maybe(p->path, now, &m.call_me_maybe, &acts);
		break;
	default:
		return;
	}
	run_actions(p, &acts);
}

static void
derp_packet_cb(WrDerpClient *client, gpointer src_key, GBytes *packet, gpointer user_data)
{
	WrEngine *self = user_data;
	guint64 region = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(client), "wr-region"));
	gsize len;
	const uint8_t *data = g_bytes_get_data(packet, &len);
	WrEndpoint src;
	Peer *p;

	if (self->netcheck != NULL)
		wr_netcheck_client_note_derp_frame(self->netcheck, region, g_get_monotonic_time());
	switch (wr_disco_classify(data, len)) {
	case WR_PACKET_DISCO:
		handle_disco(self, data, len, NULL, region, src_key);
		return;
	case WR_PACKET_STUN:
		return;
	case WR_PACKET_WIREGUARD:
		break;
	}
	p = g_hash_table_lookup(self->by_node_key, src_key);
	if (p == NULL)
		return;
	wr_derp_endpoint_encode((uint32_t) region, p->number, &src);
	(void) wr_wg_io_inject(self->io, &src, data, len);
	/* the peer sends over DERP while we go direct: it gave up on the direct path */
	probe_direct(p, g_get_monotonic_time(), "its packets come over DERP");
}

/* the side channel: disco and STUN from the shared socket */
static void
side_received_cb(WrPacketKind kind, const WrEndpoint *src, const uint8_t *data, size_t len,
		 gpointer user_data)
{
	WrEngine *self = user_data;

	if (kind == WR_PACKET_STUN) {
		if (self->netcheck != NULL)
			(void) wr_netcheck_client_feed(self->netcheck, data, len, src,
						       g_get_monotonic_time());
		return;
	}
	if (kind == WR_PACKET_DISCO)
		handle_disco(self, data, len, src, 0, NULL);
}

/* the side channel: WireGuard for a DERP endpoint */
static void
side_derp_send_cb(uint32_t region, uint32_t number, const uint8_t *data, size_t len,
		  gpointer user_data)
{
	WrEngine *self = user_data;
	Peer *p = g_hash_table_lookup(self->by_number, GUINT_TO_POINTER(number));

	if (p == NULL)
		return;
	derp_send(self, region, p->node_key, data, len);
	note_activity(p);
}

/* ---- our endpoints ---- */

static gboolean
is_tailnet_address(const WrEndpoint *ep)
{
	if (ep->sa.sa_family == AF_INET) {
		uint32_t a = ntohl(ep->in4.sin_addr.s_addr);

		return (a & 0xffc00000u) == 0x64400000u; /* 100.64.0.0/10 */
	}
	return memcmp(ep->in6.sin6_addr.s6_addr, "\xfd\x7a\x11\x5c\xa1\xe0", 6) == 0;
}

static void
add_endpoint(GArray *list, const WrEndpoint *addr, const char *type)
{
	Endpoint e = {.addr = *addr, .type = type};

	if (list->len >= MAX_ENDPOINTS || addr->sa.sa_family == AF_UNSPEC)
		return;
	for (guint i = 0; i < list->len; i++) {
		if (wr_endpoint_equal(&g_array_index(list, Endpoint, i).addr, addr))
			return;
	}
	g_array_append_val(list, e);
}

/* the addresses of this host's interfaces that a peer on the same network could reach */
static void
add_local_endpoints(WrEngine *self, GArray *list, guint16 port)
{
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa) != 0)
		return;
	for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
		WrEndpoint ep = {0};

		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) ||
		    g_strcmp0(i->ifa_name, wr_tun_get_name(self->tun)) == 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(&ep.in4, i->ifa_addr, sizeof(ep.in4));
			ep.in4.sin_port = htons(port);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(&ep.in6, i->ifa_addr, sizeof(ep.in6));
			if (IN6_IS_ADDR_LINKLOCAL(&ep.in6.sin6_addr))
				continue;
			ep.in6.sin6_port = htons(port);
			ep.in6.sin6_scope_id = 0;
			ep.in6.sin6_flowinfo = 0;
		} else {
			continue;
		}
		if (!is_tailnet_address(&ep))
			add_endpoint(list, &ep, "local");
	}
	freeifaddrs(ifa);
}

static gboolean
endpoints_equal(GArray *a, GArray *b)
{
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++) {
		const Endpoint *x = &g_array_index(a, Endpoint, i);
		const Endpoint *y = &g_array_index(b, Endpoint, i);

		if (!wr_endpoint_equal(&x->addr, &y->addr) || strcmp(x->type, y->type) != 0)
			return FALSE;
	}
	return TRUE;
}

static void
refresh_endpoints(WrEngine *self, const WrNetcheckReport *report)
{
	g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(Endpoint));
	guint16 port = wr_engine_get_port(self);

	WrEndpoint mapped;

	/* a mapping the router granted works for every peer, even behind a hard NAT */
	if (self->portmap != NULL && wr_portmap_get_mapping(self->portmap, &mapped, NULL))
		add_endpoint(list, &mapped, "portmap");
	/* what STUN saw first: for a NAT that keeps ports, that is the one that works */
	if (report != NULL) {
		add_endpoint(list, &report->global_v4, "stun");
		add_endpoint(list, &report->global_v6, "stun");
		for (guint i = 0; i < report->n_mapped_v4; i++)
			add_endpoint(list, &report->mapped_v4[i].addr, "stun");
	}
	add_local_endpoints(self, list, port);
	self->endpoints_at = g_get_monotonic_time();
	if (endpoints_equal(list, self->endpoints))
		return;
	g_array_set_size(self->endpoints, 0);
	g_array_append_vals(self->endpoints, list->data, list->len);
	g_message("endpoints: %u", self->endpoints->len);
	if (self->cb.endpoints_changed != NULL)
		self->cb.endpoints_changed(self, self->user_data);
}

/* ---- port mapping ---- */

static void
portmap_changed_cb(WrPortmap *portmap, const WrEndpoint *external, const char *reason,
		   gpointer user_data)
{
	WrEngine *self = user_data;
	char text[WR_ENDPOINT_STRLEN] = "none";

	if (external->sa.sa_family != AF_UNSPEC)
		wr_endpoint_format(external, text);
	g_message("port mapping: %s (%s)", text, reason);
	refresh_endpoints(self, self->netcheck != NULL
					? wr_netcheck_client_get_last_report(self->netcheck)
					: NULL);
}

/* ---- link changes ---- */

static GArray *
read_local_addrs(WrEngine *self)
{
	g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(Endpoint));
	GArray *out = g_array_new(FALSE, TRUE, sizeof(WrEndpoint));

	add_local_endpoints(self, list, 0);
	for (guint i = 0; i < list->len; i++)
		g_array_append_val(out, g_array_index(list, Endpoint, i).addr);
	return out;
}

/* the addresses settled: if they changed, every path starts over and we re-STUN (§4.9) */
static gboolean
link_settled_cb(gpointer user_data)
{
	WrEngine *self = user_data;
	g_autoptr(GArray) now_addrs = read_local_addrs(self);
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	gpointer value;

	if (endpoint_arrays_equal(now_addrs, self->local_addrs))
		return G_SOURCE_CONTINUE;
	g_message("the local addresses changed: looking for paths again");
	g_array_set_size(self->local_addrs, 0);
	g_array_append_vals(self->local_addrs, now_addrs->data, now_addrs->len);
	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		WrPathActions acts;

		wr_path_note_link_change(((Peer *) value)->path, now, &acts);
		run_actions(value, &acts);
	}
	if (self->portmap != NULL)
		wr_portmap_note_link_change(self->portmap);
	start_netcheck(self, TRUE);
	return G_SOURCE_CONTINUE;
}

static gboolean
link_readable_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	WrEngine *self = user_data;
	char buf[8192];

	/* the content does not matter: getifaddrs() tells what is there once it settled */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	g_source_set_ready_time(self->link_source, g_get_monotonic_time() + LINK_SETTLE_US);
	return G_SOURCE_CONTINUE;
}

static void
watch_links(WrEngine *self)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};

	self->local_addrs = read_local_addrs(self);
	self->link_source = wr_deadline_source_new(self->context, "[warren] link settle", -1,
						   link_settled_cb, self);
	self->link_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (self->link_fd < 0 || bind(self->link_fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		/* not fatal: the periodic netcheck still refreshes the endpoints */
		g_warning("cannot watch the network interfaces: %s", g_strerror(errno));
		if (self->link_fd >= 0)
			close(self->link_fd);
		self->link_fd = -1;
		return;
	}
	self->link_watch = g_unix_fd_add(self->link_fd, G_IO_IN, link_readable_cb, self);
}

/* ---- netcheck ---- */

static int
netcheck_send_cb(const guint8 *pkt, gsize len, const WrEndpoint *to, gpointer user_data)
{
	WrEngine *self = user_data;

	return wr_wg_io_send_raw(self->io, to, pkt, len);
}

static gboolean
restun_cb(gpointer user_data)
{
	WrEngine *self = user_data;

	start_netcheck(self, FALSE);
	return G_SOURCE_CONTINUE;
}

static void
schedule_restun(WrEngine *self)
{
	gint64 delay =
		WR_PATH_RESTUN_MIN_US +
		wr_random_uniform((uint32_t) (WR_PATH_RESTUN_MAX_US - WR_PATH_RESTUN_MIN_US));

	g_source_set_ready_time(self->restun_source, g_get_monotonic_time() + delay);
}

static void
netcheck_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WrEngine *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcheckReport) report =
		wr_netcheck_client_get_report_finish(WR_NETCHECK_CLIENT(source), res, &error);
	g_autoptr(GPtrArray) waiters = NULL;

	if (report == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* self may be gone */
	self->netcheck_busy = FALSE;
	waiters = g_steal_pointer(&self->netcheck_waiters);
	self->netcheck_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < waiters->len; i++) {
		if (report != NULL)
			g_task_return_pointer(waiters->pdata[i], wr_netcheck_report_copy(report),
					      (GDestroyNotify) wr_netcheck_report_free);
		else
			g_task_return_error(waiters->pdata[i], g_error_copy(error));
	}
	schedule_restun(self);
	if (report == NULL) {
		set_problem(self, &self->netcheck_problem,
			    g_strdup_printf("netcheck failed: %s", error->message));
		refresh_endpoints(self, NULL);
		return;
	}
	if (report->preferred_derp != 0)
		set_home_region(self, report->preferred_derp);
	if (!report->udp)
		set_problem(self, &self->netcheck_problem,
			    g_strdup("UDP is blocked on this network: every peer is reached "
				     "through the DERP relay"));
	else if (report->preferred_derp == 0)
		set_problem(self, &self->netcheck_problem,
			    g_strdup("no DERP region answered: peers cannot reach this node until "
				     "a direct path is found"));
	else
		set_problem(self, &self->netcheck_problem, NULL);
	refresh_endpoints(self, report);
}

static void
start_netcheck(WrEngine *self, gboolean full)
{
	if (self->netcheck_busy || self->derp_map == NULL)
		return;
	self->netcheck_busy = TRUE;
	wr_netcheck_client_get_report_async(self->netcheck, self->derp_map,
					    full ? WR_NETCHECK_FLAG_FULL : WR_NETCHECK_FLAG_NONE,
					    self->cancel, netcheck_done_cb, self);
}

/* ---- the tick: counters, activity, stalls, path timers ---- */

/* the direct path may be broken: ping it, and fall back unless it answers in time */
static void
probe_direct(Peer *p, gint64 now, const char *why)
{
	WrPathActions acts;
	WrPathStatus st;

	wr_path_get_status(p->path, now, &st);
	if (st.state != WR_PATH_DIRECT || now - p->last_probe < PROBE_INTERVAL_US)
		return;
	p->last_probe = now;
	if (wr_path_probe(p->path, now, PROBE_TIMEOUT_US, &acts) == 0) {
		g_debug("peer %s: %s: probing the direct path", p->name, why);
		run_actions(p, &acts);
	}
}

static void
tick_peer(Peer *p, const WrUapiPeerInfo *info, gint64 now, gboolean *any_active)
{
	gboolean sent = info->tx_bytes != p->tx_bytes;
	WrPathStatus st;

	if (info->rx_bytes != p->rx_bytes)
		p->last_rx_change = now;
	p->rx_bytes = info->rx_bytes;
	p->tx_bytes = info->tx_bytes;
	p->last_handshake = info->last_handshake_sec;
	if (sent)
		note_activity(p);
	wr_path_get_status(p->path, now, &st);
	if (st.state != WR_PATH_IDLE || p->ping != NULL)
		*any_active = TRUE;
	/* we keep sending over the direct path and hear nothing back */
	if (sent && now - p->last_rx_change >= STALL_US)
		probe_direct(p, now, "nothing heard back");
}

/* the peer whose allowed addresses hold addr (its tailnet address or a route it serves) */
static Peer *
peer_for_address(WrEngine *self, uint8_t family, const uint8_t addr[16])
{
	GHashTableIter iter;
	gpointer value;
	Peer *best = NULL;
	guint best_len = 0;

	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Peer *p = value;

		for (guint i = 0; p->allowed != NULL && i < p->allowed->len; i++) {
			const WrCidr *c = &g_array_index(p->allowed, WrCidr, i);
			guint bytes = c->cidr / 8, bits = c->cidr % 8;

			if (c->family != family || (best != NULL && c->cidr < best_len))
				continue;
			if (memcmp(c->addr, addr, bytes) != 0)
				continue;
			if (bits != 0 &&
			    ((c->addr[bytes] ^ addr[bytes]) & (0xff << (8 - bits))) != 0)
				continue;
			best = p;
			best_len = c->cidr;
		}
	}
	return best;
}

/* the flows that ended go to the caller, with the peer and (for flows that never heard
 * back) the path the peer has now */
static void
collect_flows(WrEngine *self, gint64 now, gboolean flush)
{
	g_autoptr(GArray) ended = NULL;

	if (self->flows == NULL || (!flush && now - self->flows_collected_at < G_USEC_PER_SEC))
		return;
	self->flows_collected_at = now;
	ended = g_array_new(FALSE, FALSE, sizeof(WrFlowRecord));
	if (wr_flow_table_collect(self->flows, now, g_get_real_time(), flush, ended) == 0)
		return;
	for (guint i = 0; i < ended->len; i++) {
		WrFlowRecord *r = &g_array_index(ended, WrFlowRecord, i);
		Peer *p = peer_for_address(self, r->family, r->remote);

		if (p == NULL)
			continue;
		r->peer_id = p->id;
		(void) g_strlcpy(r->peer, p->name != NULL ? p->name : "", sizeof(r->peer));
		if (r->path == WR_FLOW_PATH_UNKNOWN) {
			if (wr_derp_endpoint_is_derp(&p->device_endpoint))
				r->path = WR_FLOW_PATH_DERP;
			else if (p->device_endpoint.sa.sa_family != AF_UNSPEC)
				r->path = WR_FLOW_PATH_DIRECT;
		}
	}
	self->cb.flows_ended(self, (const WrFlowRecord *) ended->data, ended->len, self->user_data);
}

static gboolean
tick_cb(gpointer user_data)
{
	WrEngine *self = user_data;
	g_autoptr(WrUapiDeviceInfo) info = wr_uapi_device_info_new();
	gint64 now = g_get_monotonic_time();
	gboolean any_active = FALSE;
	GHashTableIter iter;
	gpointer value;

	wr_wg_io_get_info(self->io, info);
	for (guint i = 0; i < info->peers->len; i++) {
		const WrUapiPeerInfo *pi = info->peers->pdata[i];
		Peer *p = g_hash_table_lookup(self->by_node_key, pi->public_key);

		if (p != NULL)
			tick_peer(p, pi, now, &any_active);
	}
	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Peer *p = value;

		if (wr_path_next_wakeup(p->path, now) <= now) {
			WrPathActions acts;

			wr_path_tick(p->path, now, &acts);
			run_actions(p, &acts);
		}
	}
	(void) wr_packet_filter_expire(self->filter, now);
	collect_flows(self, now, FALSE);
	close_idle_derp(self, now);
	g_source_set_ready_time(self->tick_source,
				now + (any_active ? TICK_ACTIVE_US : TICK_IDLE_US));
	arm_tick(self);
	return G_SOURCE_CONTINUE;
}

/* brings the tick forward to the earliest path timer */
static void
arm_tick(WrEngine *self)
{
	gint64 ready = g_source_get_ready_time(self->tick_source);
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		gint64 w = wr_path_next_wakeup(((Peer *) value)->path, now);

		if (w < ready || ready < 0)
			ready = w;
	}
	if (ready != g_source_get_ready_time(self->tick_source))
		g_source_set_ready_time(self->tick_source, MAX(ready, now));
}

/* ---- CLI pings ---- */

static void
ping_op_free(PingOp *op)
{
	wr_source_clear(&op->timer);
	g_array_unref(op->replies);
	g_array_unref(op->tx_ids);
	g_free(op);
}

static void
ping_op_finish(PingOp *op)
{
	GTask *task = op->task;

	if (op->peer != NULL)
		op->peer->ping = NULL;
	g_task_return_pointer(task, g_array_ref(op->replies), (GDestroyNotify) g_array_unref);
	g_object_unref(task);
}

static gboolean
ping_timer_cb(gpointer user_data)
{
	PingOp *op = user_data;

	if (op->waiting) {
		WrEnginePingReply reply = {.latency_us = -1};

		g_array_append_val(op->replies, reply);
		op->waiting = FALSE;
	}
	ping_op_next(op);
	return G_SOURCE_CONTINUE;
}

/* the next ping, or the end; called after an answer or a timeout */
static void
ping_op_next(PingOp *op)
{
	gint64 now = g_get_monotonic_time();
	WrPathActions acts;
	Peer *p = op->peer;

	if (op->waiting)
		return;
	if (p == NULL || op->seq >= op->count ||
	    g_cancellable_is_cancelled(g_task_get_cancellable(op->task))) {
		g_source_set_ready_time(op->timer, -1);
		ping_op_finish(op);
		return;
	}
	if (op->seq > 0 && now < op->sent_at + PING_INTERVAL_US) {
		g_source_set_ready_time(op->timer, op->sent_at + PING_INTERVAL_US);
		return;
	}
	op->seq++;
	op->sent_at = now;
	op->waiting = TRUE;
	g_array_set_size(op->tx_ids, 0);
	g_source_set_ready_time(op->timer, now + WR_ENGINE_PING_TIMEOUT_US);
	if (wr_path_cli_ping(p->path, now, &acts) != 0) {
		/* nowhere to send it: counts as lost at once */
		WrEnginePingReply reply = {.latency_us = -1};

		g_array_append_val(op->replies, reply);
		op->waiting = FALSE;
		g_source_set_ready_time(op->timer, now + PING_INTERVAL_US);
	}
	run_actions(p, &acts);
}

void
wr_engine_ping_async(WrEngine *self, gint64 peer_id, guint count, GCancellable *cancellable,
		     GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	Peer *p = g_hash_table_lookup(self->peers, &peer_id);
	PingOp *op;

	g_task_set_source_tag(task, wr_engine_ping_async);
	if (p == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					"no peer %" G_GINT64_FORMAT " in the data plane", peer_id);
		return;
	}
	if (p->ping != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY,
					"a ping to %s is already running", p->name);
		return;
	}
	op = g_new0(PingOp, 1);
	op->task = g_object_ref(task);
	op->peer = p;
	op->count = MAX(count, 1);
	op->replies = g_array_new(FALSE, TRUE, sizeof(WrEnginePingReply));
	op->tx_ids = g_array_new(FALSE, TRUE, WR_DISCO_TXID_LEN);
	op->timer = wr_deadline_source_new(self->context, "[warren] ping", -1, ping_timer_cb, op);
	g_task_set_task_data(task, op, (GDestroyNotify) ping_op_free);
	p->ping = op;
	ping_op_next(op);
}

GArray *
wr_engine_ping_finish(WrEngine *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- netcheck on request ---- */

void
wr_engine_netcheck_async(WrEngine *self, GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);

	g_task_set_source_tag(task, wr_engine_netcheck_async);
	if (self->derp_map == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
					"no DERP map from the control server yet");
		return;
	}
	g_ptr_array_add(self->netcheck_waiters, g_object_ref(task));
	start_netcheck(self, TRUE);
}

WrNetcheckReport *
wr_engine_netcheck_finish(WrEngine *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- peers from the network map ---- */

static void
peer_free(gpointer data)
{
	Peer *p = data;

	if (p->ping != NULL) {
		p->ping->peer = NULL;
		p->ping->waiting = FALSE;
		g_source_set_ready_time(p->ping->timer, 0);
	}
	wr_path_free(p->path);
	g_array_unref(p->map_endpoints);
	g_array_unref(p->allowed);
	g_free(p->name);
	wr_memzero(p->shared, sizeof(p->shared));
	g_free(p);
}

static gboolean
cidr_is_default(const WrCidr *c)
{
	return c->cidr == 0;
}

static gboolean
cidr_in(const GArray *list, const WrCidr *c)
{
	for (guint i = 0; list != NULL && i < list->len; i++) {
		const WrCidr *x = &g_array_index(list, WrCidr, i);

		if (x->family == c->family && x->cidr == c->cidr &&
		    memcmp(x->addr, c->addr, 16) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the exit node in use and able to carry traffic: chosen, an approved exit node, online */
static gboolean
is_live_exit(WrEngine *self, const WrNetmapNode *node)
{
	return self->exit_node_id != 0 && node->id == self->exit_node_id &&
	       node->exit_node_option && node->online;
}

/* what the device routes to the peer: its addresses, its approved routes when accepted, and
 * everything (0.0.0.0/0, ::/0) when it is the exit node in use */
static GArray *
allowed_for(WrEngine *self, const WrNetmapNode *node, gboolean accept_routes)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(WrCidr));

	for (guint i = 0; node->addresses != NULL && i < node->addresses->len; i++) {
		WrCidr c = g_array_index(node->addresses, WrCidr, i);

		wr_cidr_mask(&c);
		if (!cidr_in(out, &c))
			g_array_append_val(out, c);
	}
	for (guint i = 0; accept_routes && node->allowed_ips != NULL && i < node->allowed_ips->len;
	     i++) {
		WrCidr c = g_array_index(node->allowed_ips, WrCidr, i);

		wr_cidr_mask(&c);
		if (!cidr_is_default(&c) && !cidr_in(out, &c))
			g_array_append_val(out, c);
	}
	if (is_live_exit(self, node)) {
		WrCidr any4 = {.family = AF_INET}, any6 = {.family = AF_INET6};

		g_array_append_val(out, any4);
		g_array_append_val(out, any6);
	}
	return out;
}

static gboolean
cidrs_equal(const GArray *a, const GArray *b)
{
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++) {
		if (!cidr_in(b, &g_array_index(a, WrCidr, i)))
			return FALSE;
	}
	return TRUE;
}

static void
remove_peer(WrEngine *self, Peer *p, WrUapiSet *set)
{
	WrUapiPeer *u = wr_uapi_set_add_peer(set, p->node_key);

	u->remove = TRUE;
	g_hash_table_remove(self->by_node_key, p->node_key);
	if (p->has_disco)
		g_hash_table_remove(self->by_disco_key, p->disco_key);
	g_hash_table_remove(self->by_number, GUINT_TO_POINTER(p->number));
	g_hash_table_remove(self->peers, &p->id); /* frees p */
}

/* brings one peer to the map's view; new ones are created, changed keys are re-keyed */
static void
update_peer(WrEngine *self, const WrNetmapNode *node, gboolean accept_routes, WrUapiSet *set,
	    GArray *routes)
{
	Peer *p = g_hash_table_lookup(self->peers, &node->id);
	g_autoptr(GArray) allowed = allowed_for(self, node, accept_routes);
	gboolean is_new = FALSE;
	gboolean restarted = FALSE;
	gboolean path_changed = FALSE;
	gint64 now = g_get_monotonic_time();
	WrPathActions acts;

	if (p != NULL && memcmp(p->node_key, node->node_key, 32) != 0 && node->has_disco_key &&
	    p->has_disco && memcmp(p->disco_key, node->disco_key, 32) == 0) {
		/* the peer rotated its node key (docs/key-rotation.md): a new WireGuard peer, but
		 * the same warrend, so its path stays.  Made afresh, the path would start on DERP,
		 * and the first handshake with the new key would wait there */
		wr_uapi_set_add_peer(set, p->node_key)->remove = TRUE;
		g_hash_table_remove(self->by_node_key, p->node_key);
		memcpy(p->node_key, node->node_key, 32);
		g_hash_table_insert(self->by_node_key, p->node_key, p);
		restarted = TRUE;
		g_message("peer %s: new node key", p->name);
	} else if (p != NULL && memcmp(p->node_key, node->node_key, 32) != 0) {
		/* a new node key and a new warrend: a new peer altogether */
		remove_peer(self, p, set);
		p = NULL;
	}
	if (p == NULL) {
		p = g_new0(Peer, 1);
		p->engine = self;
		p->id = node->id;
		memcpy(p->node_key, node->node_key, 32);
		p->number = self->next_number++;
		p->path = wr_path_new(random_cb, NULL);
		p->map_endpoints = g_array_new(FALSE, TRUE, sizeof(WrEndpoint));
		p->allowed = g_array_new(FALSE, TRUE, sizeof(WrCidr));
		p->device_endpoint.sa.sa_family = AF_UNSPEC;
		p->last_rx_change = now;
		g_hash_table_insert(self->peers, &p->id, p);
		g_hash_table_insert(self->by_node_key, p->node_key, p);
		g_hash_table_insert(self->by_number, GUINT_TO_POINTER(p->number), p);
		is_new = TRUE;
	}
	g_free(p->name);
	p->name = g_strdup(*node->name != '\0' ? node->name : node->hostname);

	if (node->has_disco_key && (!p->has_disco || memcmp(p->disco_key, node->disco_key, 32))) {
		/* a new disco key means the peer's warrend started again and forgot its WireGuard
		 * sessions: ours would be sent into the void until a rekey (up to 2 min), so the
		 * peer is made afresh and the next packet starts a handshake */
		if (p->has_disco && !is_new) {
			wr_uapi_set_add_peer(set, p->node_key)->remove = TRUE;
			restarted = TRUE;
			g_message("peer %s started again: new WireGuard session", p->name);
		}
		if (p->has_disco)
			g_hash_table_remove(self->by_disco_key, p->disco_key);
		p->has_disco =
			wr_disco_shared_key(p->shared, node->disco_key, self->disco_private) == 0;
		memcpy(p->disco_key, node->disco_key, 32);
		if (p->has_disco)
			g_hash_table_insert(self->by_disco_key, p->disco_key, p);
		path_changed = TRUE;
	}
	if (p->online && !node->online)
		p->renewed = FALSE;
	if (is_new || restarted) {
		p->renewed = TRUE;
	} else if (!p->online && node->online && !p->renewed) {
		/* back online with the same warrend (warren down and up, a resume): it dropped
		 * its WireGuard sessions with its tunnel, and ours would be sent into the void
		 * until WireGuard's own retry (no reply for 15 s).  Made afresh, the peer's next
		 * packet starts a handshake.  Not when it was made afresh while away (a node key
		 * rotation takes the node offline for a moment): that would throw away the
		 * handshake already under way with its new key */
		wr_uapi_set_add_peer(set, p->node_key)->remove = TRUE;
		restarted = TRUE;
		p->renewed = TRUE;
		g_message("peer %s is back online: new WireGuard session", p->name);
	}
	p->online = node->online;
	if (!endpoint_arrays_equal(p->map_endpoints, node->endpoints)) {
		g_array_set_size(p->map_endpoints, 0);
		if (node->endpoints != NULL)
			g_array_append_vals(p->map_endpoints, node->endpoints->data,
					    node->endpoints->len);
		path_changed = TRUE;
		if (!g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) {
			g_autoptr(GString) list = g_string_new(NULL);

			for (guint i = 0; i < p->map_endpoints->len; i++) {
				char ep[WR_ENDPOINT_STRLEN];

				wr_endpoint_format(&g_array_index(p->map_endpoints, WrEndpoint, i),
						   ep);
				g_string_append_printf(list, " %s", ep);
			}
			g_debug("peer %s: endpoints from the map:%s", p->name, list->str);
		}
	}
	if ((guint64) MAX(node->derp_region, 0) != p->region) {
		p->region = (guint64) MAX(node->derp_region, 0);
		path_changed = TRUE;
	}
	if (path_changed && p->has_disco) {
		wr_path_set_peer(p->path, now, p->disco_key,
				 (const WrEndpoint *) (gpointer) p->map_endpoints->data,
				 p->map_endpoints->len, p->region, &acts);
		run_actions(p, &acts);
	}

	if (is_new || restarted || !cidrs_equal(allowed, p->allowed)) {
		WrUapiPeer *u = wr_uapi_set_add_peer(set, p->node_key);

		u->replace_allowed_ips = TRUE;
		g_array_append_vals(u->allowed_ips, allowed->data, allowed->len);
		g_array_set_size(p->allowed, 0);
		g_array_append_vals(p->allowed, allowed->data, allowed->len);
		if (is_new || restarted) {
			desired_endpoint(p, now, &u->endpoint);
			u->has_endpoint = u->endpoint.sa.sa_family != AF_UNSPEC;
			p->device_endpoint = u->endpoint;
		}
	}
	for (guint i = 0; i < p->allowed->len; i++) {
		const WrCidr *c = &g_array_index(p->allowed, WrCidr, i);

		if (!cidr_in(routes, c))
			g_array_append_val(routes, *c);
	}
}

/*
 * With an exit node, everything goes to the tunnel's own table except what the rules keep
 * out (docs/exit-nodes.md): warrend's marked packets, and with allow-LAN the main table's
 * routes but its default.  The default routes stay in that table while the exit node is
 * offline, and the device has no peer for them then: traffic is dropped, not leaked.
 */
static void
add_exit_rules(WrEngine *self, WrNetcfgConfig *config)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};

	config->table = WR_ENGINE_TABLE;
	for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
		WrNetcfgRule marked = {.family = families[i],
				       .action = WR_NETCFG_RULE_LOOKUP,
				       .priority = WR_ENGINE_PRIO_MARKED,
				       .fwmark = WR_ENGINE_FWMARK,
				       .fwmask = WR_ENGINE_FWMASK,
				       .table = WR_NETCFG_TABLE_MAIN};
		WrNetcfgRule lan = {.family = families[i],
				    .action = WR_NETCFG_RULE_LOOKUP,
				    .priority = WR_ENGINE_PRIO_LAN,
				    .table = WR_NETCFG_TABLE_MAIN,
				    .suppress = true,
				    .suppress_prefixlength = 0};
		WrNetcfgRule tunnel = {.family = families[i],
				       .action = WR_NETCFG_RULE_LOOKUP,
				       .priority = WR_ENGINE_PRIO_TUNNEL,
				       .table = WR_ENGINE_TABLE};
		WrCidr any = {.family = families[i]};

		wr_netcfg_config_add_rule(config, &marked);
		if (self->exit_allow_lan)
			wr_netcfg_config_add_rule(config, &lan);
		wr_netcfg_config_add_rule(config, &tunnel);
		if (!cidr_in(config->routes, &any))
			wr_netcfg_config_add_route(config, &any);
	}
}

static void
apply_netcfg(WrEngine *self, const WrNetmapNode *me, GArray *routes)
{
	g_autoptr(WrNetcfgConfig) config = wr_netcfg_config_new();
	g_autoptr(GError) error = NULL;

	config->mtu = WR_NETCFG_MTU_DEFAULT;
	for (guint i = 0; me != NULL && me->addresses != NULL && i < me->addresses->len; i++)
		wr_netcfg_config_add_address(config, &g_array_index(me->addresses, WrCidr, i));
	for (guint i = 0; i < routes->len; i++)
		wr_netcfg_config_add_route(config, &g_array_index(routes, WrCidr, i));
	wr_magicdns_add_addresses(self->magicdns, config);
	if (self->exit_node_id != 0)
		add_exit_rules(self, config);
	if (wr_netcfg_apply(self->netcfg, config, NULL, &error))
		set_problem(self, &self->netcfg_problem, NULL);
	else
		set_problem(self, &self->netcfg_problem,
			    g_strdup_printf("cannot configure %s: %s", wr_tun_get_name(self->tun),
					    error->message));
}

static void
apply_filter(WrEngine *self, const WrNetmap *nm)
{
	JsonNode *pf = wr_netmap_get_packet_filter(nm);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFilterRuleset) rules = NULL;
	g_autoptr(WrFilterRuleset) old = wr_packet_filter_dup_ruleset(self->filter);

	if (pf == NULL) {
		/* no filter from control: nothing comes in that we did not ask for */
		wr_packet_filter_set_ruleset(self->filter, NULL);
		set_problem(self, &self->filter_problem, NULL);
		return;
	}
	rules = wr_filter_ruleset_new_from_json(pf, &error);
	if (rules == NULL) {
		/* the last good rule set stays */
		set_problem(self, &self->filter_problem,
			    g_strdup_printf("the packet filter from control was refused (the "
					    "previous one stays): %s",
					    error->message));
		return;
	}
	wr_packet_filter_set_ruleset(self->filter, rules);
	set_problem(self, &self->filter_problem, NULL);
	if (old == NULL || wr_filter_ruleset_n_rules(old) != wr_filter_ruleset_n_rules(rules))
		g_message("packet filter: %u rules", wr_filter_ruleset_n_rules(rules));
}

static void
apply_firewall(WrEngine *self, const WrNetmapNode *me)
{
	g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_autoptr(GArray) tailnet = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	WrFirewallConfig fw = {
		.tun = wr_tun_get_name(self->tun), .routes = routes, .tailnet = tailnet};
	g_autoptr(GError) error = NULL;
	g_autofree char *script = NULL;
	WrCidr cgnat;

	(void) wr_cidr_parse(&cgnat, WR_FIREWALL_TAILNET_V4);
	g_array_append_val(tailnet, cgnat);
	for (guint i = 0; me != NULL && me->addresses != NULL && i < me->addresses->len; i++) {
		WrCidr c = g_array_index(me->addresses, WrCidr, i);

		/* the tailnet's ULA prefix is the /48 of this node's IPv6 address */
		if (c.family != AF_INET6)
			continue;
		c.cidr = 48;
		wr_cidr_mask(&c);
		if (!cidr_in(tailnet, &c))
			g_array_append_val(tailnet, c);
	}
	for (guint i = 0; me != NULL && me->primary_routes != NULL && i < me->primary_routes->len;
	     i++) {
		WrCidr c = g_array_index(me->primary_routes, WrCidr, i);

		wr_cidr_mask(&c);
		if (!cidr_is_default(&c) && !cidr_in(routes, &c))
			g_array_append_val(routes, c);
	}
	fw.exit_node = me != NULL && me->exit_node_option;

	/* forwarding only while something approved is forwarded, put back when not */
	if (fw.exit_node || routes->len > 0) {
		if (!wr_forwarding_enable(&self->forwarding, &error)) {
			set_problem(self, &self->firewall_problem,
				    g_strdup_printf("cannot switch IP forwarding on for the "
						    "approved routes: %s",
						    error->message));
			g_clear_error(&error);
		}
	} else if (!wr_forwarding_restore(&self->forwarding, &error)) {
		g_warning("cannot restore IP forwarding: %s", error->message);
		g_clear_error(&error);
	}

	script = wr_firewall_script(&fw, &error);
	if (script == NULL) {
		set_problem(self, &self->firewall_problem,
			    g_strdup_printf("the firewall was not changed: %s", error->message));
		return;
	}
	if (g_strcmp0(script, self->firewall_script) == 0)
		return;
	if (!wr_firewall_apply(script, &error)) {
		set_problem(self, &self->firewall_problem,
			    g_strdup_printf("cannot install the firewall (anti-spoofing, "
					    "forwarding): %s",
					    error->message));
		return;
	}
	g_free(self->firewall_script);
	self->firewall_script = g_steal_pointer(&script);
	set_problem(self, &self->firewall_problem, NULL);
	g_message("firewall: %u approved routes%s", routes->len, fw.exit_node ? ", exit node" : "");
}

/* the exit node's state, for Health: blocked traffic has to say why */
static void
check_exit_node(WrEngine *self, const WrNetmap *nm)
{
	g_autoptr(GPtrArray) nodes = NULL;
	const WrNetmapNode *exit = NULL;

	if (self->exit_node_id == 0) {
		set_problem(self, &self->exit_problem, NULL);
		return;
	}
	nodes = wr_netmap_get_peers(nm);
	for (guint i = 0; i < nodes->len && exit == NULL; i++) {
		if (((const WrNetmapNode *) nodes->pdata[i])->id == self->exit_node_id)
			exit = nodes->pdata[i];
	}
	if (exit == NULL)
		set_problem(self, &self->exit_problem,
			    g_strdup_printf("exit node %" G_GINT64_FORMAT
					    " is no longer in the tailnet: traffic is blocked "
					    "until another exit node or none is chosen",
					    self->exit_node_id));
	else if (!exit->exit_node_option)
		set_problem(self, &self->exit_problem,
			    g_strdup_printf("exit node %s is not approved as an exit node: "
					    "traffic is blocked until another exit node or none is "
					    "chosen",
					    *exit->name != '\0' ? exit->name : exit->hostname));
	else if (!exit->online)
		set_problem(self, &self->exit_problem,
			    g_strdup_printf("exit node %s is offline: traffic is blocked until it "
					    "is back, or another exit node or none is chosen",
					    *exit->name != '\0' ? exit->name : exit->hostname));
	else
		set_problem(self, &self->exit_problem, NULL);
}

void
wr_engine_set_exit_node(WrEngine *self, gint64 peer_id, gboolean allow_lan)
{
	self->exit_node_id = peer_id;
	self->exit_allow_lan = allow_lan;
	/* every name through MagicDNS while the traffic goes through the exit node */
	if (self->magicdns != NULL)
		wr_magicdns_set_exit_node(self->magicdns, peer_id != 0);
}

gint64
wr_engine_get_exit_node(WrEngine *self)
{
	return self->exit_node_id;
}

void
wr_engine_set_netmap(WrEngine *self, const WrNetmap *nm, gboolean accept_routes)
{
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_autoptr(GPtrArray) nodes = wr_netmap_get_peers(nm);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_autoptr(GPtrArray) gone = g_ptr_array_new();
	const WrDerpMap *dm = wr_netmap_get_derp_map(nm);
	GHashTableIter iter;
	gpointer value;
	int err;

	if (!wr_netmap_has_state(nm))
		return;
	if (dm != NULL && (self->derp_map == NULL || !wr_derp_map_equal(dm, self->derp_map))) {
		gboolean first = self->derp_map == NULL;

		g_clear_pointer(&self->derp_map, wr_derp_map_free);
		self->derp_map = wr_derp_map_copy(dm);
		/* clients of regions the map no longer has, or whose nodes changed, redial */
		g_hash_table_remove_all(self->derp);
		if (self->home_region != 0)
			(void) derp_client(self, self->home_region);
		start_netcheck(self, first);
	}

	for (guint i = 0; i < nodes->len; i++) {
		const WrNetmapNode *node = nodes->pdata[i];

		g_hash_table_add(seen, (gpointer) &node->id);
		update_peer(self, node, accept_routes, set, routes);
	}
	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Peer *p = value;

		if (!g_hash_table_contains(seen, &p->id))
			g_ptr_array_add(gone, p);
	}
	for (guint i = 0; i < gone->len; i++)
		remove_peer(self, gone->pdata[i], set);

	if (set->peers->len > 0) {
		err = wr_wg_io_apply(self->io, set);
		if (err != 0)
			g_warning("the WireGuard device refused the peers: %s", g_strerror(err));
	}
	apply_filter(self, nm);
	/* MagicDNS first: its addresses go on the TUN with the others */
	wr_magicdns_set_netmap(self->magicdns, nm);
	apply_netcfg(self, wr_netmap_get_self(nm), routes);
	apply_firewall(self, wr_netmap_get_self(nm));
	check_exit_node(self, nm);
	arm_tick(self);
}

/* ---- queries ---- */

gboolean
wr_engine_get_peer_info(WrEngine *self, gint64 peer_id, WrEnginePeerInfo *out)
{
	Peer *p = g_hash_table_lookup(self->peers, &peer_id);
	WrPathStatus st;

	memset(out, 0, sizeof(*out));
	out->endpoint.sa.sa_family = AF_UNSPEC;
	if (p == NULL)
		return FALSE;
	wr_path_get_status(p->path, g_get_monotonic_time(), &st);
	out->path = st.state;
	out->derp_region = p->region;
	if (st.state == WR_PATH_DIRECT) {
		out->endpoint = st.best;
		out->latency_us = st.latency_us;
	}
	out->rx_bytes = p->rx_bytes;
	out->tx_bytes = p->tx_bytes;
	out->last_handshake = p->last_handshake;
	return TRUE;
}

void
wr_engine_dup_endpoints(WrEngine *self, char ***out_addrs, char ***out_types)
{
	GStrvBuilder *a = g_strv_builder_new();
	GStrvBuilder *t = g_strv_builder_new();

	for (guint i = 0; i < self->endpoints->len; i++) {
		const Endpoint *e = &g_array_index(self->endpoints, Endpoint, i);
		char text[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(&e->addr, text);
		g_strv_builder_add(a, text);
		g_strv_builder_add(t, e->type);
	}
	*out_addrs = g_strv_builder_end(a);
	*out_types = g_strv_builder_end(t);
	g_strv_builder_unref(a);
	g_strv_builder_unref(t);
}

guint64
wr_engine_get_home_region(WrEngine *self)
{
	return self->home_region;
}

const char *const *
wr_engine_get_health(WrEngine *self)
{
	return (const char *const *) self->health->pdata;
}

const char *
wr_engine_get_tun_name(WrEngine *self)
{
	return wr_tun_get_name(self->tun);
}

guint16
wr_engine_get_port(WrEngine *self)
{
	return wr_device_get_listen_port(self->device);
}

/* ---- life ---- */

static void
magicdns_changed_cb(WrMagicDns *magicdns, gpointer user_data)
{
	(void) magicdns;
	update_health(user_data);
}

static void
tun_gone_cb(gpointer user_data)
{
	WrEngine *self = user_data;

	set_problem(self, &self->netcfg_problem,
		    g_strdup_printf("the tunnel interface %s went away: restart warrend",
				    wr_tun_get_name(self->tun)));
}

gboolean
wr_engine_set_node_key(WrEngine *self, const uint8_t node_private[32], GError **error)
{
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	uint8_t pub[32];
	int err;

	if (!wr_x25519_public(pub, node_private)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the node key is not usable");
		return FALSE;
	}
	if (memcmp(pub, self->node_public, 32) == 0)
		return TRUE;
	set->has_private_key = true;
	set->keep_sessions = true;
	memcpy(set->private_key, node_private, 32);
	err = wr_wg_io_apply(self->io, set);
	wr_memzero(set->private_key, sizeof(set->private_key));
	if (err != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot change the WireGuard key: %s", g_strerror(err));
		return FALSE;
	}
	memcpy(self->node_private, node_private, 32);
	memcpy(self->node_public, pub, 32);
	/* DERP knows us by the node key: peers address the new one from their next map on, so
	 * every relay connection is made again with it; the home one at once */
	g_hash_table_remove_all(self->derp);
	if (self->home_region != 0)
		(void) derp_client(self, self->home_region);
	return TRUE;
}

WrEngine *
wr_engine_new(const WrEngineOptions *options, const uint8_t node_private[32],
	      const uint8_t disco_private[32], const WrEngineCallbacks *callbacks,
	      gpointer user_data, GError **error)
{
	g_autoptr(WrEngine) self = g_new0(WrEngine, 1);
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	const char *tun_name = options->tun_name != NULL ? options->tun_name : DEFAULT_TUN;
	WrWgIoSideChannel side = {.received = side_received_cb, .derp_send = side_derp_send_cb};
	g_autoptr(GError) local = NULL;
	uint64_t seed;
	int err;

	if (callbacks != NULL)
		self->cb = *callbacks;
	self->user_data = user_data;
	self->link_fd = -1;
	self->context = g_main_context_ref_thread_default();
	self->cancel = g_cancellable_new();
	self->health = g_ptr_array_new();
	g_ptr_array_add(self->health, NULL);
	memcpy(self->node_private, node_private, 32);
	memcpy(self->disco_private, disco_private, 32);
	self->peers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, peer_free);
	self->by_node_key = g_hash_table_new(wr_key_hash, wr_key_equal);
	self->by_disco_key = g_hash_table_new(wr_key_hash, wr_key_equal);
	self->by_number = g_hash_table_new(g_direct_hash, g_direct_equal);
	self->next_number = 1;
	self->derp = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, derp_client_free);
	self->endpoints = g_array_new(FALSE, TRUE, sizeof(Endpoint));
	self->netcheck_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	if (!wr_x25519_public(self->node_public, node_private) ||
	    !wr_x25519_public(self->disco_public, disco_private)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the node or disco key is not usable");
		return NULL;
	}

	self->tun = wr_tun_linux_open(tun_name, true, error);
	if (self->tun == NULL)
		return NULL;
	self->netcfg = wr_netcfg_new(wr_tun_get_name(self->tun), error);
	if (self->netcfg == NULL)
		return NULL;
	self->device = wr_device_new(NULL);
	/* only the path choice moves a peer's endpoint (docs/warrend.md) */
	wr_device_set_roaming(self->device, false);
	self->io = wr_wg_io_new(self->device, self->tun, NULL, tun_gone_cb, self, error);
	if (self->io == NULL)
		return NULL;
	set->has_private_key = true;
	memcpy(set->private_key, node_private, 32);
	set->has_listen_port = true;
	set->listen_port = options->port;
	/* warrend's own packets bypass the exit node's routing (docs/exit-nodes.md) */
	wr_sockmark_set(WR_ENGINE_FWMARK);
	set->has_fwmark = true;
	set->fwmark = WR_ENGINE_FWMARK;
	err = wr_wg_io_apply(self->io, set);
	if (err != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot use UDP port %u: %s", options->port, g_strerror(err));
		return NULL;
	}
	wr_random_bytes(&seed, sizeof(seed));
	self->filter = wr_packet_filter_new(0, seed);
	wr_wg_io_set_packet_filter(self->io, self->filter);
	if (self->cb.flows_ended != NULL) {
		wr_random_bytes(&seed, sizeof(seed));
		self->flows = wr_flow_table_new(0, seed);
		self->flows_collected_at = g_get_monotonic_time();
		wr_wg_io_set_flow_table(self->io, self->flows);
	}
	wr_wg_io_set_side_channel(self->io, &side, self);
	self->netcheck = wr_netcheck_client_new(netcheck_send_cb, self, NULL, true, true);
	self->magicdns = wr_magicdns_new(options->resolv_conf, wr_tun_get_name(self->tun),
					 magicdns_changed_cb, self);

	self->tick_source =
		wr_deadline_source_new(self->context, "[warren] engine tick",
				       g_get_monotonic_time() + TICK_IDLE_US, tick_cb, self);
	self->restun_source =
		wr_deadline_source_new(self->context, "[warren] re-STUN", -1, restun_cb, self);

	/* not having a port mapping is normal (most routers do not speak PCP or NAT-PMP) */
	self->portmap = wr_portmap_new(wr_engine_get_port(self), NULL, portmap_changed_cb, self);
	if (!wr_portmap_start(self->portmap, &local))
		g_clear_pointer(&self->portmap, wr_portmap_free);
	refresh_endpoints(self, NULL);
	watch_links(self);
	g_message("data plane up: %s, UDP port %u", wr_tun_get_name(self->tun),
		  wr_engine_get_port(self));
	return g_steal_pointer(&self);
}

void
wr_engine_free(WrEngine *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancel);
	/* the name server goes before its addresses (and resolved forgets it) */
	g_clear_pointer(&self->magicdns, wr_magicdns_free);
	if (self->link_watch != 0)
		g_source_remove(self->link_watch);
	if (self->link_fd > 0)
		close(self->link_fd);
	wr_source_clear(&self->link_source);
	/* deletes the mapping (best effort) */
	g_clear_pointer(&self->portmap, wr_portmap_free);
	g_clear_pointer(&self->local_addrs, g_array_unref);
	wr_source_clear(&self->tick_source);
	wr_source_clear(&self->restun_source);
	if (self->netcheck_waiters != NULL) {
		for (guint i = 0; i < self->netcheck_waiters->len; i++)
			g_task_return_new_error(self->netcheck_waiters->pdata[i], G_IO_ERROR,
						G_IO_ERROR_CANCELLED, "the data plane stopped");
		g_ptr_array_unref(self->netcheck_waiters);
	}
	if (self->netcfg != NULL) {
		g_autoptr(GError) error = NULL;

		if (!wr_netcfg_teardown(self->netcfg, NULL, &error))
			g_warning("cannot remove the tunnel's addresses and routes: %s",
				  error->message);
	}
	if (self->firewall_script != NULL) {
		g_autoptr(GError) error = NULL;

		if (!wr_firewall_remove(&error))
			g_warning("cannot remove the firewall table: %s", error->message);
	}
	{
		g_autoptr(GError) error = NULL;

		if (!wr_forwarding_restore(&self->forwarding, &error))
			g_warning("cannot restore IP forwarding: %s", error->message);
	}
	if (self->io != NULL) {
		wr_wg_io_set_packet_filter(self->io, NULL);
		wr_wg_io_set_flow_table(self->io, NULL);
	}
	g_clear_pointer(&self->io, wr_wg_io_free);
	/* the data threads are gone: every flow still open ends here (peers still known) */
	if (self->peers != NULL)
		collect_flows(self, g_get_monotonic_time(), TRUE);
	g_clear_pointer(&self->flows, wr_flow_table_free);
	g_clear_pointer(&self->derp, g_hash_table_unref);
	/* peers after the I/O: their pings answer their callers */
	g_clear_pointer(&self->peers, g_hash_table_unref);
	g_clear_pointer(&self->by_node_key, g_hash_table_unref);
	g_clear_pointer(&self->by_disco_key, g_hash_table_unref);
	g_clear_pointer(&self->by_number, g_hash_table_unref);
	g_clear_object(&self->netcheck);
	g_clear_pointer(&self->filter, wr_packet_filter_free);
	g_clear_pointer(&self->device, wr_device_free);
	g_clear_pointer(&self->netcfg, wr_netcfg_free);
	g_clear_pointer(&self->tun, wr_tun_free);
	g_clear_pointer(&self->derp_map, wr_derp_map_free);
	g_clear_pointer(&self->endpoints, g_array_unref);
	g_clear_pointer(&self->health, g_ptr_array_unref);
	g_free(self->netcfg_problem);
	g_free(self->filter_problem);
	g_free(self->netcheck_problem);
	g_free(self->exit_problem);
	g_free(self->firewall_problem);
	g_free(self->firewall_script);
	g_clear_object(&self->cancel);
	g_main_context_unref(self->context);
	wr_memzero(self->node_private, sizeof(self->node_private));
	wr_memzero(self->disco_private, sizeof(self->disco_private));
	g_free(self);
}
