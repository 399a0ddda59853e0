/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Telling systemd-resolved about MagicDNS, over D-Bus (org.freedesktop.resolve1.Manager on the
 * system bus; docs/magicdns.md, "The system's resolver"):
 *
 *   SetLinkDNS(ifindex, [100.100.100.100, fd7a:115c:a1e0::53])
 *   SetLinkDomains(ifindex, [(domain, false),    the tailnet domain as a search domain, which
 *                  (zone, true)...])              resolved also uses as a routing domain: names
 *                                                 under it go to this link's servers only; and
 *                                                 routing-only domains ("~zone"): the reverse
 *                                                 zones of the tailnet's addresses, so that PTR
 *                                                 lookups of them come here too
 *   SetLinkDefaultRoute(ifindex, default_route)   FALSE unless an exit node is in use: other
 *                                                 names keep going to the other links' servers
 *   RevertLink(ifindex)                           on the way out
 *
 * Nothing here rewrites /etc/resolv.conf: where resolved does not run, configure fails with
 * the bus's error and the caller says so in Health.
 */

#pragma once

#include <gio/gio.h>

#include "wr-addr.h"

/* how long one call may take: resolved answers at once or not at all */
#define WR_DNS_RESOLVED_TIMEOUT_MS 5000

/* the three calls above in order (routing: the routing-only domains, NULL for none); the
 * error is the first one's that failed, prefixed with the method's name */
void
wr_dns_resolved_configure_async(int ifindex, const char *domain, const char *const *routing,
				const WrEndpoint *servers, guint n_servers, gboolean default_route,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data);
gboolean
wr_dns_resolved_configure_finish(GAsyncResult *result, GError **error);

/* RevertLink, waiting at most WR_DNS_RESOLVED_TIMEOUT_MS (for the way out, where there is no
 * main loop to wait on); FALSE with the error when it failed */
gboolean
wr_dns_resolved_revert(int ifindex, GError **error);
