/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WrPortmap: asks the home router for a UDP port mapping of warrend's WireGuard port, so that
 * peers can reach this node at the router's external ip:port (the "portmap" endpoint of the
 * map request).  PCP (RFC 6887) and NAT-PMP (RFC 6886) on gateway:5351, codec in
 * wr-portmap-proto.h.  UPnP IGD is not spoken.
 *
 * Contract:
 *  - Runs on the thread-default GMainContext of wr_portmap_start()'s caller; no threads, never
 *    blocks.  It owns one small UDP socket connected to gateway:5351 (the mapped port is a
 *    field of the request, so the mapping need not be asked from warrend's own socket); the
 *    kernel drops datagrams from any other source, and replies with a wrong opcode, nonce,
 *    protocol, internal port or size are ignored.
 *  - The gateway is the IPv4 default route of the main routing table (netlink), read again on
 *    every wr_portmap_note_link_change(), unless an explicit one was given to _new().
 *  - Probe: a PCP ANNOUNCE and a NAT-PMP external-address request, both at once, sent again at
 *    250, 750 and 1750 ms; given up at 3 s.  PCP is preferred: a NAT-PMP answer is taken when
 *    no PCP answer followed it within 250 ms, or at once when the server refused PCP.  Then a
 *    MAP request (lifetime 7200 s by default) on the same schedule.  The mapping is renewed at
 *    half its lifetime; a renewal that fails, or a server epoch that went backwards (RFC 6887
 *    §8.5: the router restarted and lost its mappings), starts over from the probe.  Without a
 *    mapping it probes again every WR_PORTMAP_RETRY_S seconds and on every link change.
 *  - Every change of the external endpoint (including to and from "none") is reported once
 *    through the changed callback, with a short English reason for Health and the logs.
 *  - wr_portmap_free() deletes the mapping (lifetime 0, one datagram, best effort) and never
 *    calls the callback.
 */

#pragma once

#include <gio/gio.h>

#include "wr-addr.h"

/* a probe or request is sent again after these many ms, doubling; given up after the budget */
#define WR_PORTMAP_FIRST_RETRY_MS 250
#define WR_PORTMAP_BUDGET_MS	  3000
/* without a mapping, probe again this often (and on every link change) */
#define WR_PORTMAP_RETRY_S 300

typedef struct _WrPortmap WrPortmap;

/* external: the mapped endpoint, or AF_UNSPEC for none; reason: "pcp", "nat-pmp" when mapped,
 * otherwise why not ("no default gateway", "no PCP or NAT-PMP answer from 198.51.100.1", "PCP:
 * NOT_AUTHORIZED", ...).  Both valid for the call only. */
typedef void (*WrPortmapChangedFunc)(WrPortmap *self, const WrEndpoint *external,
				     const char *reason, gpointer user_data);

/* internal_port: the local UDP port to map (nonzero); gateway: the router to ask (IPv4; port 0
 * means 5351), or NULL to read the default route.  Nothing is sent before _start(). */
WrPortmap *
wr_portmap_new(guint16 internal_port, const WrEndpoint *gateway, WrPortmapChangedFunc func,
	       gpointer user_data);

/* the lifetime to ask for, in seconds (default WR_PORTMAP_LIFETIME_S); before _start() */
void
wr_portmap_set_lifetime(WrPortmap *self, guint32 lifetime_s);

/* starts probing; FALSE with an error only when the arguments were unusable (a port of 0, an
 * explicit gateway that is not IPv4).  A missing gateway or router is reported through the
 * callback, not as an error. */
gboolean
wr_portmap_start(WrPortmap *self, GError **error);

/* the network changed (address, route or link): forget the old router and probe again */
void
wr_portmap_note_link_change(WrPortmap *self);

/* TRUE and the external endpoint when a mapping is held; out untouched otherwise.
 * out_protocol (may be NULL): "pcp" or "nat-pmp". */
gboolean
wr_portmap_get_mapping(WrPortmap *self, WrEndpoint *out_external, const char **out_protocol);

/* the reason the last callback gave (static or owned by self; valid until the next change) */
const char *
wr_portmap_get_reason(WrPortmap *self);

void
wr_portmap_free(WrPortmap *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPortmap, wr_portmap_free)
