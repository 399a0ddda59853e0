/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Network configuration of warrend's TUN link over rtnetlink (libnl-route-3): addresses,
 * routes, MTU, link up, and the policy rules that steer traffic to the routes' table.
 * wr_netcfg_apply() reads what the kernel has, lets wr_netcfg_diff() (pure, wr-netcfg-diff.h,
 * where the rules are) compute the operations, and performs them; applying the same
 * configuration twice changes nothing the second time.  Routes and rules are marked with the
 * protocol WR_NETCFG_RTPROT; addresses are remembered by this object.  Nothing that is not
 * ours is removed, and no other link is touched.  docs/netcfg.md explains the choices.
 *
 * Blocking netlink calls (the link, then dumps of addresses, routes and rules, then one request
 * per change): for the control-plane thread (the GLib main loop).
 * One object per link; no globals, so several can live in one process.
 */

#pragma once

#include <glib.h>

#include "wr-netcfg-config.h"
#include "wr-netcfg-diff.h"

typedef struct WrNetcfg WrNetcfg;

/* binds to the link named ifname (or with index ifindex); fails if there is none */
WrNetcfg *
wr_netcfg_new(const char *ifname, GError **error);
WrNetcfg *
wr_netcfg_new_for_index(int ifindex, GError **error);
/* closes the netlink socket; leaves the kernel as it is (call teardown first); accepts NULL */
void
wr_netcfg_free(WrNetcfg *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcfg, wr_netcfg_free)

int
wr_netcfg_get_ifindex(WrNetcfg *self);

/*
 * Validates config (nothing is touched when it is invalid), then brings the link to it.
 * Every operation is attempted even after one fails, so that one conflicting route does not
 * hold back the others; the error names the first failure and counts the rest, e.g.
 * "route 192.0.2.0/24 dev wr0: File exists".  A later apply retries what failed.
 * out_changes (optional): the number of operations performed successfully, set on failure
 * too.
 */
gboolean
wr_netcfg_apply(WrNetcfg *self, const WrNetcfgConfig *config, guint *out_changes, GError **error);

/* removes every rule, route and address of ours (MTU and link state stay) */
gboolean
wr_netcfg_teardown(WrNetcfg *self, guint *out_changes, GError **error);

/* what the kernel has on the link now, as wr_netcfg_apply() sees it; for tests and status */
WrNetcfgState *
wr_netcfg_read_state(WrNetcfg *self, GError **error);
