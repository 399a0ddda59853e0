/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrPortmap"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include <gio/gio.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "wr-crypto.h"
#include "wr-portmap-proto.h"
#include "wr-portmap.h"
#include "wr-sockmark.h"
#include "wr-source.h"

typedef struct nl_sock WrNlSock;
typedef struct nl_cache WrNlCache;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNlSock, nl_socket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNlCache, nl_cache_free)

/* larger than any PCP message (1100 bytes): longer ones are cut and then fail to parse */
#define RECV_BUF 1500

typedef enum {
	STATE_IDLE,	/* not started, or waiting to probe again */
	STATE_PROBING,	/* ANNOUNCE + external address sent, waiting for either */
	STATE_MAPPING,	/* MAP sent with the chosen protocol */
	STATE_MAPPED,	/* holding a mapping, renewal timer running */
	STATE_RENEWING, /* MAP sent again for the mapping held */
} State;

typedef enum {
	PROTO_NONE,
	PROTO_PCP,
	PROTO_NATPMP,
} Proto;

struct _WrPortmap {
	guint16 internal_port;
	guint32 lifetime_req;
	WrPortmapChangedFunc func;
	gpointer user_data;
	GMainContext *context;
	gboolean started;

	gboolean explicit_gateway;
	WrEndpoint gateway; /* AF_INET with the server port, or AF_UNSPEC when none is known */
	GSocket *socket;    /* connected to gateway */
	WrEndpoint local;   /* the socket's own address: PCP's client IP */
	GSource *recv_source;
	GSource *timer;

	State state;
	Proto proto;
	guint8 nonce[WR_PCP_NONCE_LEN];
	/* the request schedule: sent at start, then after 250, 500, 1000 ms ... until the budget */
	gint64 start_us;
	gint64 next_send_us;
	guint interval_ms;
	gint64 retry_us; /* STATE_IDLE after a failure: when to probe again */

	/* what the probe learned */
	gboolean pcp_unsupported;
	gboolean natpmp_ok;
	gint64 natpmp_decide_us; /* take NAT-PMP when PCP has not answered by then */
	struct in_addr natpmp_external;

	/* the server's epoch, for RFC 6887 §8.5 */
	gboolean have_epoch;
	guint32 epoch;
	gint64 epoch_at_s;

	/* the mapping held (AF_UNSPEC: none), its protocol and when to renew it */
	WrEndpoint external;
	Proto mapped_proto;
	gint64 renew_us;

	/* what was last reported */
	WrEndpoint reported;
	gchar *reason;
	gboolean reported_once;
	guint ignored;
};

static void
begin_probe(WrPortmap *self);
static void
schedule(WrPortmap *self);

static const char *
proto_name(Proto p)
{
	switch (p) {
	case PROTO_PCP:
		return "pcp";
	case PROTO_NATPMP:
		return "nat-pmp";
	case PROTO_NONE:
	default:
		return "none";
	}
}

static void
gateway_str(WrPortmap *self, char out[WR_ENDPOINT_STRLEN])
{
	char *colon;

	wr_endpoint_format(&self->gateway, out);
	/* the address alone reads better in a reason; the port is always 5351 */
	colon = strrchr(out, ':');
	if (self->gateway.sa.sa_family == AF_INET && colon != NULL)
		*colon = '\0';
}

/* tells the caller when the external endpoint (or, with none, the reason) changed */
static void
report(WrPortmap *self, const WrEndpoint *external, const char *reason)
{
	gboolean same_ep = wr_endpoint_equal(&self->reported, external);
	char ep[WR_ENDPOINT_STRLEN];

	if (self->reported_once && same_ep &&
	    (external->sa.sa_family != AF_UNSPEC || g_strcmp0(self->reason, reason) == 0))
		return;
	self->reported_once = TRUE;
	self->reported = *external;
	g_free(self->reason);
	self->reason = g_strdup(reason);
	wr_endpoint_format(external, ep);
	g_info("port mapping of UDP %u: %s (%s)", self->internal_port, ep, reason);
	if (self->func != NULL)
		self->func(self, external, reason, self->user_data);
}

static void
report_none(WrPortmap *self, const char *reason)
{
	WrEndpoint none = {.sa.sa_family = AF_UNSPEC};

	report(self, &none, reason);
}

static void
close_socket(WrPortmap *self)
{
	wr_source_clear(&self->recv_source);
	if (self->socket != NULL) {
		(void) g_socket_close(self->socket, NULL);
		g_clear_object(&self->socket);
	}
	memset(&self->local, 0, sizeof(self->local));
}

/* gives up: no mapping, tell why, probe again later */
static void
fail(WrPortmap *self, const char *reason)
{
	memset(&self->external, 0, sizeof(self->external));
	self->mapped_proto = PROTO_NONE;
	/* nothing to read until the next probe, which opens a fresh one */
	close_socket(self);
	self->state = STATE_IDLE;
	self->proto = PROTO_NONE;
	self->retry_us = g_get_monotonic_time() + (gint64) WR_PORTMAP_RETRY_S * G_USEC_PER_SEC;
	report_none(self, reason);
	schedule(self);
}

/* the IPv4 default route of the main table with the lowest metric; FALSE when there is none */
static gboolean
read_default_gateway(WrEndpoint *out, GError **error)
{
	g_autoptr(WrNlSock) sock = nl_socket_alloc();
	g_autoptr(WrNlCache) cache = NULL;
	WrEndpoint best = {.sa.sa_family = AF_UNSPEC};
	guint32 best_metric = G_MAXUINT32;
	int r;

	if (sock == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "netlink: out of memory");
		return FALSE;
	}
	r = nl_connect(sock, NETLINK_ROUTE);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "netlink: %s", nl_geterror(r));
		return FALSE;
	}
	r = rtnl_route_alloc_cache(sock, AF_INET, 0, &cache);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "reading routes: %s",
			    nl_geterror(r));
		return FALSE;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *) o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		struct rtnl_nexthop *nh;
		struct nl_addr *gw;

		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(rt) != RTN_UNICAST || rtnl_route_get_family(rt) != AF_INET)
			continue;
		if (dst != NULL && nl_addr_get_prefixlen(dst) != 0)
			continue;
		if (rtnl_route_get_nnexthops(rt) < 1)
			continue;
		nh = rtnl_route_nexthop_n(rt, 0);
		gw = nh != NULL ? rtnl_route_nh_get_gateway(nh) : NULL;
		if (gw == NULL || nl_addr_get_family(gw) != AF_INET || nl_addr_get_len(gw) != 4)
			continue;
		if (rtnl_route_get_priority(rt) >= best_metric && best.sa.sa_family != AF_UNSPEC)
			continue;
		best_metric = rtnl_route_get_priority(rt);
		memset(&best, 0, sizeof(best));
		best.in4.sin_family = AF_INET;
		best.in4.sin_port = htons(WR_PORTMAP_SERVER_PORT);
		memcpy(&best.in4.sin_addr, nl_addr_get_binary_addr(gw), 4);
	}
	*out = best;
	return TRUE;
}

static gboolean
recv_cb(GSocket *socket, GIOCondition condition, gpointer user_data);

/* a fresh socket connected to the gateway; FALSE with a reason for the caller on failure */
static gboolean
open_socket(WrPortmap *self, GError **error)
{
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSocketAddress) gw = NULL;
	g_autoptr(GSocketAddress) local = NULL;

	close_socket(self);
	sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
			    error);
	if (sock == NULL)
		return FALSE;
	/* the gateway is on the LAN, which an exit node without allow-LAN would take */
	(void) wr_sockmark_apply_fd(g_socket_get_fd(sock));
	g_socket_set_blocking(sock, FALSE);
	gw = g_socket_address_new_from_native(&self->gateway, sizeof(self->gateway.in4));
	/* connected: the kernel drops datagrams from anywhere but gateway:5351 */
	if (!g_socket_connect(sock, gw, NULL, error))
		return FALSE;
	local = g_socket_get_local_address(sock, error);
	if (local == NULL ||
	    !g_socket_address_to_native(local, &self->local, sizeof(self->local), error))
		return FALSE;
	self->socket = g_steal_pointer(&sock);
	self->recv_source = g_socket_create_source(self->socket, G_IO_IN, NULL);
	g_source_set_callback(self->recv_source, G_SOURCE_FUNC(recv_cb), self, NULL);
	g_source_set_static_name(self->recv_source, "WrPortmap recv");
	(void) g_source_attach(self->recv_source, self->context);
	return TRUE;
}

static void
send_bytes(WrPortmap *self, const guint8 *buf, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (self->socket == NULL)
		return;
	/* a lost request is what the retransmissions are for; only log it */
	if (g_socket_send(self->socket, (const gchar *) buf, len, NULL, &error) < 0)
		g_debug("send to the gateway: %s", error->message);
}

static void
send_probe(WrPortmap *self)
{
	guint8 pcp[WR_PCP_HEADER_LEN];
	guint8 pmp[WR_NATPMP_EXTERNAL_REQ_LEN];

	if (!self->pcp_unsupported && wr_pcp_build_announce(pcp, &self->local) > 0)
		send_bytes(self, pcp, sizeof(pcp));
	(void) wr_natpmp_build_external(pmp);
	send_bytes(self, pmp, sizeof(pmp));
}

static void
send_map(WrPortmap *self, guint32 lifetime)
{
	if (self->proto == PROTO_PCP) {
		guint8 msg[WR_PCP_MAP_LEN];
		WrEndpoint suggested = self->external;

		/* a renewal or deletion names the external endpoint held; a first request suggests
		 * the internal port on any address */
		if (suggested.sa.sa_family == AF_UNSPEC) {
			suggested.in4.sin_family = AF_INET;
			suggested.in4.sin_port = htons(self->internal_port);
		}
		if (wr_pcp_build_map(msg, &self->local, self->nonce, self->internal_port,
				     &suggested, lifetime) > 0)
			send_bytes(self, msg, sizeof(msg));
	} else if (self->proto == PROTO_NATPMP) {
		guint8 msg[WR_NATPMP_MAP_REQ_LEN];
		guint16 suggested = self->internal_port;

		if (self->external.sa.sa_family == AF_INET)
			suggested = ntohs(self->external.in4.sin_port);
		/* RFC 6886 §3.4: a deletion suggests port 0 */
		if (lifetime == 0)
			suggested = 0;
		(void) wr_natpmp_build_map(msg, self->internal_port, suggested, lifetime);
		send_bytes(self, msg, sizeof(msg));
	}
}

/* the next deadline of whatever state we are in */
static void
schedule(WrPortmap *self)
{
	gint64 t = -1;

	switch (self->state) {
	case STATE_IDLE:
		t = self->started ? self->retry_us : -1;
		break;
	case STATE_PROBING:
	case STATE_MAPPING:
	case STATE_RENEWING:
		t = MIN(self->next_send_us, self->start_us + (gint64) WR_PORTMAP_BUDGET_MS * 1000);
		if (self->state == STATE_PROBING && self->natpmp_ok)
			t = MIN(t, self->natpmp_decide_us);
		break;
	case STATE_MAPPED:
		t = self->renew_us;
		break;
	}
	if (self->timer != NULL)
		g_source_set_ready_time(self->timer, t);
}

static void
start_requests(WrPortmap *self, State state)
{
	gint64 now = g_get_monotonic_time();

	self->state = state;
	self->start_us = now;
	self->interval_ms = WR_PORTMAP_FIRST_RETRY_MS;
	self->next_send_us = now + (gint64) self->interval_ms * 1000;
	if (state == STATE_PROBING)
		send_probe(self);
	else
		send_map(self, self->lifetime_req);
	schedule(self);
}

static void
begin_mapping(WrPortmap *self, Proto proto)
{
	/* a new nonce for a new mapping; a renewal keeps the one of the mapping it renews */
	if (proto != self->mapped_proto || self->external.sa.sa_family == AF_UNSPEC)
		wr_random_bytes(self->nonce, sizeof(self->nonce));
	self->proto = proto;
	start_requests(self, STATE_MAPPING);
}

static void
begin_probe(WrPortmap *self)
{
	g_autoptr(GError) error = NULL;
	char gw[WR_ENDPOINT_STRLEN];

	self->pcp_unsupported = FALSE;
	self->natpmp_ok = FALSE;
	self->proto = PROTO_NONE;
	if (!self->explicit_gateway) {
		WrEndpoint found;

		if (!read_default_gateway(&found, &error)) {
			g_autofree gchar *reason =
				g_strdup_printf("no default gateway (%s)", error->message);
			fail(self, reason);
			return;
		}
		if (!wr_endpoint_equal(&found, &self->gateway)) {
			/* another router knows nothing of the old one's clock or mappings */
			self->have_epoch = FALSE;
			memset(&self->external, 0, sizeof(self->external));
			self->mapped_proto = PROTO_NONE;
		}
		self->gateway = found;
	}
	if (self->gateway.sa.sa_family != AF_INET) {
		fail(self, "no default gateway");
		return;
	}
	if (!open_socket(self, &error)) {
		g_autofree gchar *reason = NULL;

		gateway_str(self, gw);
		reason = g_strdup_printf("cannot reach %s: %s", gw, error->message);
		fail(self, reason);
		return;
	}
	start_requests(self, STATE_PROBING);
}

/* RFC 6887 §8.5: FALSE when the server's epoch went backwards (it lost its mappings) */
static gboolean
note_epoch(WrPortmap *self, guint32 epoch)
{
	gint64 now_s = g_get_monotonic_time() / G_USEC_PER_SEC;
	gboolean ok = !self->have_epoch ||
		      wr_portmap_epoch_ok(self->epoch, self->epoch_at_s, epoch, now_s);

	self->have_epoch = TRUE;
	self->epoch = epoch;
	self->epoch_at_s = now_s;
	return ok;
}

static void
mapped(WrPortmap *self, const WrEndpoint *external, guint32 lifetime)
{
	gint64 now = g_get_monotonic_time();

	self->external = *external;
	self->mapped_proto = self->proto;
	self->state = STATE_MAPPED;
	/* renew at half the lifetime the server granted (RFC 6886 §3.3, RFC 6887 §11.2.1) */
	self->renew_us = now + (gint64) lifetime * G_USEC_PER_SEC / 2;
	report(self, external, proto_name(self->proto));
	schedule(self);
}

static void
on_probe_response(WrPortmap *self, const WrPortmapResponse *r)
{
	if (r->version == WR_PCP_VERSION && r->opcode == WR_PCP_OP_ANNOUNCE) {
		if (r->result == WR_PCP_UNSUPP_VERSION) {
			g_debug("PCP ANNOUNCE answered %s", wr_pcp_result_str(r->result));
			self->pcp_unsupported = TRUE;
		} else {
			/* any other answer, even an error, comes from a PCP server: ask it for the
			 * mapping (a refusal then falls back to NAT-PMP when that answered) */
			if (r->result == WR_PCP_SUCCESS)
				(void) note_epoch(self, r->epoch);
			begin_mapping(self, PROTO_PCP);
		}
	} else if (r->version == WR_NATPMP_VERSION && r->opcode == WR_NATPMP_OP_EXTERNAL) {
		if (r->result == WR_NATPMP_SUCCESS && r->external.sa.sa_family == AF_INET) {
			if (!self->natpmp_ok) {
				self->natpmp_ok = TRUE;
				self->natpmp_decide_us = g_get_monotonic_time() +
							 (gint64) WR_PORTMAP_FIRST_RETRY_MS * 1000;
			}
			self->natpmp_external = r->external.in4.sin_addr;
			(void) note_epoch(self, r->epoch);
		} else if (r->result == WR_NATPMP_UNSUPP_VERSION) {
			/* a NAT-PMP-only server answering our PCP request (RFC 6887 §9) */
			self->pcp_unsupported = TRUE;
		} else {
			g_debug("NAT-PMP external address answered %s",
				wr_natpmp_result_str(r->result));
		}
	} else {
		self->ignored++;
		return;
	}
	if (self->state == STATE_PROBING && self->natpmp_ok && self->pcp_unsupported)
		begin_mapping(self, PROTO_NATPMP);
	else if (self->state == STATE_PROBING)
		schedule(self);
}

static void
on_map_response(WrPortmap *self, const WrPortmapResponse *r)
{
	g_autofree gchar *reason = NULL;
	char gw[WR_ENDPOINT_STRLEN];
	WrEndpoint ext;
	gboolean epoch_ok;

	if (self->proto == PROTO_PCP) {
		if (r->version != WR_PCP_VERSION || r->opcode != WR_PCP_OP_MAP ||
		    memcmp(r->nonce, self->nonce, WR_PCP_NONCE_LEN) != 0 ||
		    r->protocol != WR_PCP_PROTO_UDP || r->internal_port != self->internal_port) {
			self->ignored++;
			return;
		}
	} else if (r->version != WR_NATPMP_VERSION || r->opcode != WR_NATPMP_OP_MAP_UDP ||
		   (r->result == WR_NATPMP_SUCCESS && r->internal_port != self->internal_port)) {
		self->ignored++;
		return;
	}
	gateway_str(self, gw);
	if ((self->proto == PROTO_PCP && r->result != WR_PCP_SUCCESS) ||
	    (self->proto == PROTO_NATPMP && r->result != WR_NATPMP_SUCCESS)) {
		if (self->proto == PROTO_PCP && self->state == STATE_MAPPING && self->natpmp_ok) {
			g_info("PCP MAP refused by %s (%s); trying NAT-PMP", gw,
			       wr_pcp_result_str(r->result));
			begin_mapping(self, PROTO_NATPMP);
			return;
		}
		reason = g_strdup_printf("%s: %s from %s",
					 self->proto == PROTO_PCP ? "PCP" : "NAT-PMP",
					 self->proto == PROTO_PCP ? wr_pcp_result_str(r->result)
								  : wr_natpmp_result_str(r->result),
					 gw);
		fail(self, reason);
		return;
	}
	epoch_ok = note_epoch(self, r->epoch);
	if (r->lifetime == 0) {
		reason = g_strdup_printf("%s granted a lifetime of 0", gw);
		fail(self, reason);
		return;
	}
	ext = r->external;
	if (self->proto == PROTO_NATPMP) {
		/* the port from this answer, the address from the probe's */
		ext.in4.sin_addr = self->natpmp_external;
	}
	if (!epoch_ok && self->state == STATE_RENEWING) {
		/* the router restarted and lost its state: the address may have changed too, so
		 * start over from the probe; what is reported stays until that answers */
		g_info("the epoch of %s went backwards: it restarted; mapping again", gw);
		mapped(self, &ext, r->lifetime);
		begin_probe(self);
		return;
	}
	mapped(self, &ext, r->lifetime);
}

static void
handle_datagram(WrPortmap *self, const guint8 *buf, gsize len)
{
	WrPortmapResponse r;

	if (wr_portmap_parse_response(buf, len, &r) < 0) {
		self->ignored++;
		return;
	}
	switch (self->state) {
	case STATE_PROBING:
		on_probe_response(self, &r);
		break;
	case STATE_MAPPING:
	case STATE_RENEWING:
		on_map_response(self, &r);
		break;
	case STATE_IDLE:
	case STATE_MAPPED:
	default:
		/* late duplicates; an unsolicited ANNOUNCE would come to port 5350, which we do
		 * not listen on (docs/portmap.md) */
		self->ignored++;
		break;
	}
}

static gboolean
recv_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	WrPortmap *self = user_data;

	(void) condition;
	/* bounded: at most this many datagrams per wake-up, the rest wait for the next */
	for (guint i = 0; i < 16 && self->socket == socket; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GSocketAddress) from = NULL;
		guint8 buf[RECV_BUF];
		WrEndpoint src;
		gssize n;

		n = g_socket_receive_from(socket, &from, (gchar *) buf, sizeof(buf), NULL, &error);
		if (n < 0) {
			if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				break;
			/* ICMP port unreachable and the like: the budget ends the probe */
			g_debug("receive: %s", error->message);
			continue;
		}
		memset(&src, 0, sizeof(src));
		if (from == NULL || !g_socket_address_to_native(from, &src, sizeof(src), NULL) ||
		    !wr_endpoint_equal(&src, &self->gateway)) {
			self->ignored++;
			continue;
		}
		handle_datagram(self, buf, (gsize) n);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
timer_cb(gpointer user_data)
{
	WrPortmap *self = user_data;
	gint64 now = g_get_monotonic_time();
	char gw[WR_ENDPOINT_STRLEN];
	g_autofree gchar *reason = NULL;

	switch (self->state) {
	case STATE_IDLE:
		begin_probe(self);
		return G_SOURCE_CONTINUE;
	case STATE_MAPPED:
		if (now >= self->renew_us) {
			self->proto = self->mapped_proto;
			start_requests(self, STATE_RENEWING);
			return G_SOURCE_CONTINUE;
		}
		break;
	case STATE_PROBING:
		if (self->natpmp_ok && now >= self->natpmp_decide_us) {
			begin_mapping(self, PROTO_NATPMP);
			return G_SOURCE_CONTINUE;
		}
		G_GNUC_FALLTHROUGH;
	case STATE_MAPPING:
	case STATE_RENEWING:
		if (now >= self->start_us + (gint64) WR_PORTMAP_BUDGET_MS * 1000) {
			gateway_str(self, gw);
			if (self->state == STATE_PROBING)
				reason = g_strdup_printf("no PCP or NAT-PMP answer from %s", gw);
			else
				reason = g_strdup_printf(
					"no answer to the %s MAP request from %s",
					self->proto == PROTO_PCP ? "PCP" : "NAT-PMP", gw);
			if (self->state == STATE_RENEWING) {
				/* the mapping may outlive the silence; find out from the start */
				g_info("%s; probing again", reason);
				begin_probe(self);
			} else {
				fail(self, reason);
			}
			return G_SOURCE_CONTINUE;
		}
		if (now >= self->next_send_us) {
			if (self->state == STATE_PROBING)
				send_probe(self);
			else
				send_map(self, self->lifetime_req);
			self->interval_ms *= 2;
			self->next_send_us = now + (gint64) self->interval_ms * 1000;
		}
		break;
	}
	schedule(self);
	return G_SOURCE_CONTINUE;
}

WrPortmap *
wr_portmap_new(guint16 internal_port, const WrEndpoint *gateway, WrPortmapChangedFunc func,
	       gpointer user_data)
{
	WrPortmap *self = g_new0(WrPortmap, 1);

	self->internal_port = internal_port;
	self->lifetime_req = WR_PORTMAP_LIFETIME_S;
	self->func = func;
	self->user_data = user_data;
	if (gateway != NULL) {
		self->explicit_gateway = TRUE;
		self->gateway = *gateway;
		wr_endpoint_unmap(&self->gateway);
		if (self->gateway.sa.sa_family == AF_INET && self->gateway.in4.sin_port == 0)
			self->gateway.in4.sin_port = htons(WR_PORTMAP_SERVER_PORT);
	}
	return self;
}

void
wr_portmap_set_lifetime(WrPortmap *self, guint32 lifetime_s)
{
	g_return_if_fail(self != NULL);
	self->lifetime_req = lifetime_s;
}

gboolean
wr_portmap_start(WrPortmap *self, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(!self->started, FALSE);

	if (self->internal_port == 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "port mapping: the internal port is 0");
		return FALSE;
	}
	if (self->lifetime_req == 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "port mapping: a lifetime of 0 asks for no mapping");
		return FALSE;
	}
	if (self->explicit_gateway && self->gateway.sa.sa_family != AF_INET) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "port mapping: the gateway must be an IPv4 address");
		return FALSE;
	}
	self->started = TRUE;
	self->context = g_main_context_ref_thread_default();
	self->timer = wr_deadline_source_new(self->context, "WrPortmap timer", -1, timer_cb, self);
	begin_probe(self);
	return TRUE;
}

void
wr_portmap_note_link_change(WrPortmap *self)
{
	g_return_if_fail(self != NULL);

	if (!self->started)
		return;
	g_debug("link change: probing again");
	/* the mapping reported stays until the probe says otherwise */
	begin_probe(self);
}

gboolean
wr_portmap_get_mapping(WrPortmap *self, WrEndpoint *out_external, const char **out_protocol)
{
	g_return_val_if_fail(self != NULL, FALSE);

	if (self->reported.sa.sa_family == AF_UNSPEC)
		return FALSE;
	if (out_external != NULL)
		*out_external = self->reported;
	if (out_protocol != NULL)
		*out_protocol = proto_name(self->mapped_proto);
	return TRUE;
}

const char *
wr_portmap_get_reason(WrPortmap *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->reason != NULL ? self->reason : "not started";
}

void
wr_portmap_free(WrPortmap *self)
{
	if (self == NULL)
		return;
	/* best effort: one datagram with lifetime 0 for the mapping held */
	if (self->socket != NULL && self->external.sa.sa_family != AF_UNSPEC &&
	    self->mapped_proto != PROTO_NONE) {
		self->proto = self->mapped_proto;
		send_map(self, 0);
	}
	close_socket(self);
	wr_source_clear(&self->timer);
	if (self->context != NULL)
		g_main_context_unref(self->context);
	g_free(self->reason);
	g_free(self);
}
