/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's data plane: the engine modules joined into a working tailnet node
 * (docs/warrend.md, "The data plane").  One WrEngine owns
 *
 *   - the TUN device, the WireGuard device (roaming off) and its I/O threads (wr-wg-io) with the
 *     side channel on, so that one UDP socket carries WireGuard, disco and STUN;
 *   - one DERP client per region in use: the home region (netcheck's preferred one) all the
 *     time, peers' home regions while we talk to them;
 *   - one path state machine (wr-path) per peer, whose choice becomes the peer's WireGuard
 *     endpoint: a direct ip:port while it trusts one, else the peer's DERP endpoint
 *     (wr-derp-endpoint.h);
 *   - netcheck over the shared socket (home region, STUN endpoints), this node's endpoint list;
 *   - the TUN's addresses and routes (wr-netcfg) and the packet filter (wr-filter).
 *
 * Everything runs on the thread-default main context of wr_engine_new() except the data
 * threads inside wr-wg-io.  The network map is the only input from control: give the engine
 * every new one (wr_engine_set_netmap), it works out the difference.
 */

#pragma once

#include <gio/gio.h>

#include "wr-flowtable.h"
#include "wr-netcheck.h"
#include "wr-netmap.h"
#include "wr-path.h"

typedef struct _WrEngine WrEngine;

typedef struct {
	/* the TUN interface's name (created when missing); "warren0" when NULL */
	const char *tun_name;
	/* the UDP port of WireGuard, disco and STUN; 0 picks a free one */
	guint16 port;
	/* MagicDNS's upstreams: this resolv.conf (NULL: /etc/resolv.conf; docs/magicdns.md) */
	const char *resolv_conf;
} WrEngineOptions;

typedef struct {
	/* a peer's path changed (D-Bus PeerEvent "path") */
	void (*path_changed)(WrEngine *engine, gint64 peer_id, gpointer user_data);
	/* this node's endpoints or home region changed (tell the control server) */
	void (*endpoints_changed)(WrEngine *engine, gpointer user_data);
	/* the engine's Health sentences changed */
	void (*health_changed)(WrEngine *engine, gpointer user_data);
	/* flows ended (docs/flow-logs.md), with their peers: at most once a second, and every
	 * open one at wr_engine_free (also from there); NULL: no flow table at all */
	void (*flows_ended)(WrEngine *engine, const WrFlowRecord *records, guint n,
			    gpointer user_data);
} WrEngineCallbacks;

/*
 * Creates the TUN device, binds the UDP socket and starts the data threads.  node_private is
 * the WireGuard (node) key, disco_private the disco key; both are copied and wiped at free.
 * callbacks is copied, user_data borrowed.  NULL with an error naming what failed (no
 * CAP_NET_ADMIN, port taken, ...), and nothing is left behind then.
 */
WrEngine *
wr_engine_new(const WrEngineOptions *options, const uint8_t node_private[32],
	      const uint8_t disco_private[32], const WrEngineCallbacks *callbacks,
	      gpointer user_data, GError **error);
/* removes the addresses and routes, stops everything, deletes the TUN; accepts NULL */
void
wr_engine_free(WrEngine *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrEngine, wr_engine_free)

/*
 * Switches the WireGuard (node) key at run time (a rotation, docs/key-rotation.md): new
 * handshakes use it at once, while the sessions made with the old key keep carrying traffic
 * until a handshake with the new key replaces them; the DERP connections are made again with
 * it.  The key is copied.  Calling it again with the old key undoes it.
 */
gboolean
wr_engine_set_node_key(WrEngine *self, const uint8_t node_private[32], GError **error);

/*
 * The network map changed (or is new): peers, their keys, addresses and routes (approved
 * subnet routes only with accept_routes; default routes only to the exit node in use),
 * endpoints and home regions, the packet filter and the DERP map.
 */
void
wr_engine_set_netmap(WrEngine *self, const WrNetmap *netmap, gboolean accept_routes);

/*
 * Exit nodes (issue 7, docs/exit-nodes.md).  warrend's sockets carry WR_ENGINE_FWMARK; with an
 * exit node, the routes go to table WR_ENGINE_TABLE and policy rules send marked packets to
 * the main table (PRIO_MARKED), with allow_lan the main table without its default route
 * (PRIO_LAN, suppress_prefixlength 0), and everything else to the tunnel (PRIO_TUNNEL).
 */
#define WR_ENGINE_FWMARK      0x80000
#define WR_ENGINE_FWMASK      0xff0000
#define WR_ENGINE_TABLE	      52
#define WR_ENGINE_PRIO_MARKED 5210
#define WR_ENGINE_PRIO_LAN    5230
#define WR_ENGINE_PRIO_TUNNEL 5270

/* the peer (id, 0 = none) that all traffic leaves through, and whether the local LAN stays
 * reachable directly; takes effect at the next wr_engine_set_netmap.  While that peer is
 * missing, offline or not an approved exit node, traffic is blocked and Health says so. */
void
wr_engine_set_exit_node(WrEngine *self, gint64 peer_id, gboolean allow_lan);
gint64
wr_engine_get_exit_node(WrEngine *self);

typedef struct {
	WrPathState path;
	WrEndpoint endpoint; /* the direct address in use (AF_UNSPEC unless direct) */
	guint64 derp_region; /* the peer's home region */
	gint64 latency_us;   /* of the direct address, 0 when none */
	guint64 rx_bytes;    /* WireGuard's counters */
	guint64 tx_bytes;
	gint64 last_handshake; /* Unix seconds, 0 = never */
} WrEnginePeerInfo;

/* FALSE when the engine has no such peer */
gboolean
wr_engine_get_peer_info(WrEngine *self, gint64 peer_id, WrEnginePeerInfo *out);

/* this node's advertised endpoints, "ip:port" with their types ("local", "stun", "portmap")
 * in the same order; both NULL-terminated, g_strfreev */
void
wr_engine_dup_endpoints(WrEngine *self, char ***out_addrs, char ***out_types);
/* the home DERP region, 0 while none is known */
guint64
wr_engine_get_home_region(WrEngine *self);
/* the engine's problems, for Health; NULL-terminated, valid until the next change */
const char *const *
wr_engine_get_health(WrEngine *self);
/* the TUN interface's name */
const char *
wr_engine_get_tun_name(WrEngine *self);
/* the UDP port in use */
guint16
wr_engine_get_port(WrEngine *self);

/* one answer of wr_engine_ping_async */
typedef struct {
	gboolean via_derp;
	guint64 derp_region; /* via DERP: the region */
	WrEndpoint endpoint; /* direct: the address that answered */
	gint64 latency_us;   /* -1 when the ping timed out */
} WrEnginePingReply;

/*
 * `warren ping`: count disco pings to the peer, one a second, each over the path the peer's
 * state chooses (wr_path_cli_ping); each waits WR_ENGINE_PING_TIMEOUT_US for its first answer.
 * G_IO_ERROR_NOT_FOUND for an unknown peer.
 */
#define WR_ENGINE_PING_TIMEOUT_US (2 * G_USEC_PER_SEC)
void
wr_engine_ping_async(WrEngine *self, gint64 peer_id, guint count, GCancellable *cancellable,
		     GAsyncReadyCallback callback, gpointer user_data);
/* a GArray of WrEnginePingReply, one per ping */
GArray *
wr_engine_ping_finish(WrEngine *self, GAsyncResult *result, GError **error);

/* a full netcheck now (G_IO_ERROR_NOT_INITIALIZED before a DERP map, G_IO_ERROR_PENDING
 * while one runs) */
void
wr_engine_netcheck_async(WrEngine *self, GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data);
WrNetcheckReport *
wr_engine_netcheck_finish(WrEngine *self, GAsyncResult *result, GError **error);
