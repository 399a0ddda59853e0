/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's firewall (issue 7): one nftables table of its own, "inet warren", that
 *
 *   - drops packets with a tailnet source address (100.64.0.0/10, the tailnet's ULA /48)
 *     arriving on any interface but the TUN and loopback (anti-spoof: a host on the LAN must
 *     not pass for a peer, whose packets only ever come out of the TUN);
 *   - forwards from the TUN only to the approved subnet routes, or, on an approved exit node,
 *     to anything that is not the tailnet; everything else arriving from the TUN for
 *     forwarding is dropped, so a peer cannot use this node as a router it was not granted;
 *   - masquerades what it forwards out of the other interfaces, so that the hosts behind the
 *     router (or the internet) answer this node, which knows the way back into the tunnel.
 *
 * Two halves:
 *   wr_firewall_script()  pure: WrFirewallConfig -> the nft script text.  The script replaces
 *                         the table in one transaction ("table inet warren" creates it when
 *                         absent, "delete table" empties it, then the new one), so no packet
 *                         ever sees a half-built table.  Unit-tested (test-firewall.c).
 *   wr_firewall_apply()   thin: runs a script through libnftables;
 *   wr_firewall_remove()  deletes the table (and nothing else), also when there is none.
 *
 * Forwarding (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) is switched on only while
 * this node forwards something approved, and put back as it was found:
 * WrForwarding remembers the values it replaced.
 *
 * docs/exit-nodes.md describes the table and what is restored on exit.
 */
#pragma once

#include <glib.h>

#include "wr-addr.h"

#define WR_FIREWALL_TABLE "warren"
/* the tailnet's IPv4 range (CGNAT space, RFC 6598) */
#define WR_FIREWALL_TAILNET_V4 "100.64.0.0/10"
/* limits on what a config may hold (STYLE.md §11) */
#define WR_FIREWALL_MAX_ROUTES	4096
#define WR_FIREWALL_MAX_TAILNET 16

typedef struct {
	const char *tun;    /* the TUN's interface name */
	GArray *routes;	    /* WrCidr: approved subnet routes to forward to (may be NULL) */
	gboolean exit_node; /* approved as an exit node: forward to anything but the tailnet */
	GArray *tailnet;    /* WrCidr: the tailnet's ranges (100.64.0.0/10, the ULA /48) */
} WrFirewallConfig;

/*
 * The nft script that makes the table what config says; NULL and G_IO_ERROR_INVALID_ARGUMENT
 * when config is unusable: an interface name that is empty, too long (IFNAMSIZ) or holds
 * anything but letters, digits and "-_.@" (it is quoted into the script), a route with host
 * bits set, a default route (that is exit_node), a route inside the tailnet, an empty tailnet,
 * or more than the limits above.  The error names the offending item.
 */
char *
wr_firewall_script(const WrFirewallConfig *config, GError **error);

/* runs script through libnftables; the error carries nft's own message */
gboolean
wr_firewall_apply(const char *script, GError **error);

/* deletes the table "inet warren" when there is one */
gboolean
wr_firewall_remove(GError **error);

/* ---- IP forwarding ---- */

typedef struct {
	gboolean saved; /* the values below were read and ours are in place */
	char old_v4[8]; /* what net.ipv4.ip_forward was */
	char old_v6[8]; /* what net.ipv6.conf.all.forwarding was */
} WrForwarding;

/* switches both on (remembering what they were, once); idempotent */
gboolean
wr_forwarding_enable(WrForwarding *self, GError **error);
/* puts back what enable found; nothing when enable did not run */
gboolean
wr_forwarding_restore(WrForwarding *self, GError **error);
