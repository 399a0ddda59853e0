/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The pure half of netcfg: what the kernel has on the link (WrNetcfgState, read by
 * wr-netcfg.c) and what is wanted (WrNetcfgConfig) in, the list of operations that turns one
 * into the other out.  No netlink here, so the rules are unit-tested without root
 * (tests/unit/test-netcfg.c):
 *
 *  - a route or policy rule is ours when it carries WR_NETCFG_RTPROT; an address is ours when this
 * process added it (the caller keeps that set, "owned", because an address carries no mark on the
 *    kernels we support: IFA_PROTO is Linux 6.3+);
 *  - what is wanted and missing is added; what is ours and no longer wanted is removed; what
 *    is not ours is never removed, and a route or address someone else made that is exactly
 *    what we want counts as present (we neither add a duplicate nor, later, remove it);
 *  - routes are compared by (destination, table, metric), so a changed table or metric is a
 *    removal plus an addition; the metric of an IPv6 route is compared as the kernel stores
 *    it (0 becomes 1024);
 *  - rules are compared by all their fields (family, priority, mark/mask, action, table); only
 *    rules of ours are read, since rules belong to no link;
 *  - the order is: MTU, link up, remove rules, remove routes, remove addresses, add addresses,
 *    add routes, add rules; removals first so that a replaced route or address never collides
 *    with its old self, rules last in and first out so that no rule points traffic at a table
 *    that is still being filled or emptied.
 *  - with no desired configuration (teardown) every route and address of ours is removed, and
 *    the MTU and link state are left as they are.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-netcfg-config.h"

typedef struct {
	WrNetcfgRoute route;
	bool ours; /* protocol WR_NETCFG_RTPROT */
} WrNetcfgKernelRoute;

/* what the kernel has, restricted to our link */
typedef struct {
	uint32_t mtu;
	bool up;
	GArray *addrs;	/* WrCidr: every address on the link */
	GArray *routes; /* WrNetcfgKernelRoute: unicast routes out of the link, every table */
	GArray *rules;	/* WrNetcfgRule: our policy rules (protocol WR_NETCFG_RTPROT) */
} WrNetcfgState;

WrNetcfgState *
wr_netcfg_state_new(void);
void
wr_netcfg_state_free(WrNetcfgState *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcfgState, wr_netcfg_state_free)

typedef enum {
	WR_NETCFG_OP_SET_MTU,
	WR_NETCFG_OP_LINK_UP,
	WR_NETCFG_OP_DEL_RULE,
	WR_NETCFG_OP_DEL_ROUTE,
	WR_NETCFG_OP_DEL_ADDR,
	WR_NETCFG_OP_ADD_ADDR,
	WR_NETCFG_OP_ADD_ROUTE,
	WR_NETCFG_OP_ADD_RULE,
} WrNetcfgOpKind;

typedef struct {
	WrNetcfgOpKind kind;
	uint32_t mtu;	     /* SET_MTU */
	WrCidr addr;	     /* ADD_ADDR, DEL_ADDR */
	WrNetcfgRoute route; /* ADD_ROUTE, DEL_ROUTE */
	WrNetcfgRule rule;   /* ADD_RULE, DEL_RULE */
} WrNetcfgOp;

/* the route as the kernel will store it: table and metric defaults applied */
WrNetcfgRoute
wr_netcfg_route_for(const WrNetcfgConfig *config, const WrCidr *dst);

/*
 * desired: a validated configuration, or NULL for teardown.  owned: WrCidr, the addresses
 * this process added and has not removed.  Returns a GArray of WrNetcfgOp in the order above
 * (empty when nothing is to be done).
 */
GArray *
wr_netcfg_diff(const WrNetcfgConfig *desired, const WrNetcfgState *current, const GArray *owned);

/* "set mtu 1280", "link up", "add address 100.64.0.1/32", "del route 192.0.2.0/24 table 100",
 * "add rule ipv4 5270 lookup 52"; for logs and tests */
#define WR_NETCFG_OP_STRLEN (WR_NETCFG_ROUTE_STRLEN + 16)
void
wr_netcfg_op_format(const WrNetcfgOp *op, char out[WR_NETCFG_OP_STRLEN]);
