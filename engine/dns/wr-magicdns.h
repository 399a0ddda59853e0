/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS in warrend (docs/magicdns.md): the resolver's names from the network map, the server
 * on WR_MAGICDNS_ADDR4 and WR_MAGICDNS_ADDR6 port 53 (UDP and TCP), the upstream name servers,
 * and systemd-resolved told about it all.  warrend's engine owns one and
 *
 *   - gives it every network map (wr_magicdns_set_netmap): MagicDNS is on while the map's dns
 *     says magic_dns with a domain, and off (server closed, resolved reverted) otherwise;
 *   - puts the service addresses on the TUN (wr_magicdns_add_addresses), which makes them local
 *     addresses of the node: the node reaches its own server through them (the packets never
 *     leave the host), and nothing from outside does, since no peer routes them to us;
 *   - shows wr_magicdns_get_problem() in Health.
 *
 * Upstreams: the map's dns.nameservers when it has some, else the system's as read at start from
 * resolv.conf (/etc/resolv.conf, or the file given).  When that names systemd-resolved's stub
 * (127.0.0.53), resolved's own upstream list /run/systemd/resolve/resolv.conf is read instead,
 * so that a forwarded query never comes back to us through resolved.  Our own addresses and
 * resolved's stubs are never upstreams (no loops).
 */

#pragma once

#include <gio/gio.h>

#include "wr-netcfg-config.h"
#include "wr-netmap.h"

#define WR_MAGICDNS_ADDR4	       "100.100.100.100"
#define WR_MAGICDNS_ADDR6	       "fd7a:115c:a1e0::53"
#define WR_MAGICDNS_RESOLV_CONF	       "/etc/resolv.conf"
#define WR_MAGICDNS_RESOLVED_UPSTREAMS "/run/systemd/resolve/resolv.conf"
/* resolv.conf: glibc reads 3, resolved lists more */
#define WR_MAGICDNS_MAX_UPSTREAMS 8

typedef struct _WrMagicDns WrMagicDns;

/* the Health sentence changed */
typedef void (*WrMagicDnsChangedFunc)(WrMagicDns *self, gpointer user_data);

/*
 * resolv_conf: the system's resolver configuration to forward to (NULL:
 * WR_MAGICDNS_RESOLV_CONF), read now; a file that cannot be read leaves no upstreams (said in
 * the log, and a forwarded query gets SERVFAIL).  ifname: the TUN.  Nothing listens yet.
 */
WrMagicDns *
wr_magicdns_new(const char *resolv_conf, const char *ifname, WrMagicDnsChangedFunc changed,
		gpointer user_data);
/* closes the server and reverts resolved's settings of the link; accepts NULL */
void
wr_magicdns_free(WrMagicDns *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrMagicDns, wr_magicdns_free)

void
wr_magicdns_set_netmap(WrMagicDns *self, const WrNetmap *netmap);
/* the service addresses (a /32 and a /128) into config while MagicDNS is on */
void
wr_magicdns_add_addresses(WrMagicDns *self, WrNetcfgConfig *config);
/* an exit node is in use (or no longer): systemd-resolved is told to send every name to
 * MagicDNS, not only the tailnet's */
void
wr_magicdns_set_exit_node(WrMagicDns *self, gboolean in_use);
/* NULL when all is well */
const char *
wr_magicdns_get_problem(WrMagicDns *self);
/* the system's upstreams as read at start (for logs and tests) */
const char *const *
wr_magicdns_get_system_upstreams(WrMagicDns *self);
