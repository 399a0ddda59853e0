/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The desired network configuration of warrend's TUN link: its addresses, the routes through
 * it, its MTU, the routing table those routes go to, and (from issue 7 on) the policy rules
 * that steer marked traffic into that table.  A plain value with GArrays inside; no I/O.
 *
 * wr_netcfg_config_validate() is the one gate: wr-netcfg.c refuses to touch the kernel with a
 * configuration that does not pass it, so that a bad configuration changes nothing.
 *
 * The text form (wr_netcfg_config_parse) is for tools and tests, one directive per line:
 *
 *   # comment
 *   mtu 1280
 *   table 254
 *   metric 0
 *   address 100.64.0.1/32
 *   address fd7a:115c:a1e0::1/128
 *   route 100.64.0.2/32
 *   route 2001:db8:1::/48
 *   rule ipv4 5210 fwmark 0x80000/0xff0000 lookup main
 *   rule ipv6 5250 unreachable
 *   rule ipv4 5230 lookup main suppress_prefixlength 0
 *   rule ipv4 5270 lookup 52
 *
 * Numbers are decimal; marks may also be 0x hexadecimal; a lookup table may be "main".  Words are
 * separated by spaces or tabs; every error names its line.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"

/* the route protocol (rtm_protocol) that marks a route as Warren's; 87 is ASCII 'W', above
 * RTPROT_STATIC (so the kernel never interprets it) and unused in the kernel's and
 * iproute2's lists of protocol numbers */
#define WR_NETCFG_RTPROT 87
/* the kernel's main table, RT_TABLE_MAIN */
#define WR_NETCFG_TABLE_MAIN 254
/* RT_TABLE_LOCAL: the kernel's own, never ours */
#define WR_NETCFG_TABLE_LOCAL 255
/* Tailscale's choice for its TUN, and the IPv6 minimum (RFC 8200 §5): room for WireGuard's 80
 * bytes of overhead inside any 1360-byte path */
#define WR_NETCFG_MTU_DEFAULT 1280
/* IPv4's minimum datagram every host must take (RFC 791) */
#define WR_NETCFG_MTU_MIN      576
#define WR_NETCFG_MTU_IPV6_MIN 1280
#define WR_NETCFG_MTU_MAX      65535
/* the metric the kernel gives an IPv6 route added with metric 0 (IP6_RT_PRIO_USER) */
#define WR_NETCFG_IPV6_DEFAULT_METRIC 1024

/* limits on what a caller may ask for (STYLE.md §11) */
#define WR_NETCFG_MAX_ADDRS  16
#define WR_NETCFG_MAX_ROUTES 65536
#define WR_NETCFG_MAX_RULES  16
/* a line of the text form */
#define WR_NETCFG_MAX_LINE 256

/* a route through the link: the destination prefix, the table and the metric */
typedef struct {
	WrCidr dst;
	uint32_t table;
	uint32_t metric;
} WrNetcfgRoute;

/* what a policy rule does with the packets it matches (the kernel's FR_ACT_* values) */
typedef enum {
	WR_NETCFG_RULE_LOOKUP = 1,	/* FR_ACT_TO_TBL: look the route up in table */
	WR_NETCFG_RULE_UNREACHABLE = 7, /* FR_ACT_UNREACHABLE: fail with ENETUNREACH */
} WrNetcfgRuleAction;

/*
 * A policy rule, marked like our routes with WR_NETCFG_RTPROT: "from all [fwmark M/MASK]
 * lookup TABLE" or "... unreachable" at a priority.  That is the vocabulary of issue 7 (exit
 * nodes), in Tailscale's shape: rules that let marked traffic (warrend's own) bypass the
 * tunnel's table, then one that sends everything else to it.  suppress_prefixlength ("lookup
 * main suppress_prefixlength 0": the main table's routes except its default, which keeps the
 * LAN out of an exit node's tunnel) is beyond libnl 3.7's rule object, so wr-netcfg.c adds
 * that attribute to the message itself and reads it back with a dump of its own.  "not" is
 * not offered.
 */
typedef struct {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t action; /* WrNetcfgRuleAction */
	uint32_t priority;
	uint32_t fwmark; /* fwmark 0 with fwmask 0: no mark condition */
	uint32_t fwmask; /* 0 with a non-zero fwmark: every bit (the kernel's default) */
	uint32_t table;	 /* LOOKUP: 0 is the configuration's table; UNREACHABLE: ignored */
	bool suppress;	 /* LOOKUP only: ignore the table's routes with a prefix length ≤ */
	uint8_t suppress_prefixlength; /* this (0: only the default route), when suppress */
} WrNetcfgRule;

typedef struct {
	uint32_t mtu;	 /* 0: WR_NETCFG_MTU_DEFAULT */
	uint32_t table;	 /* 0: WR_NETCFG_TABLE_MAIN */
	uint32_t metric; /* of every route; 0 is the kernel's default (1024 for IPv6) */
	GArray *addrs;	 /* WrCidr: address and prefix length, e.g. 100.64.0.1/32 */
	GArray *routes;	 /* WrCidr: destinations (peers' addresses, accepted subnet routes) */
	GArray *rules;	 /* WrNetcfgRule */
} WrNetcfgConfig;

WrNetcfgConfig *
wr_netcfg_config_new(void);
WrNetcfgConfig *
wr_netcfg_config_copy(const WrNetcfgConfig *self);
/* accepts NULL */
void
wr_netcfg_config_free(WrNetcfgConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcfgConfig, wr_netcfg_config_free)

void
wr_netcfg_config_add_address(WrNetcfgConfig *self, const WrCidr *addr);
void
wr_netcfg_config_add_route(WrNetcfgConfig *self, const WrCidr *dst);
void
wr_netcfg_config_add_rule(WrNetcfgConfig *self, const WrNetcfgRule *rule);

/* the effective MTU and table (defaults applied) */
uint32_t
wr_netcfg_config_get_mtu(const WrNetcfgConfig *self);
uint32_t
wr_netcfg_config_get_table(const WrNetcfgConfig *self);

/*
 * Checks everything the kernel would refuse or silently change, so that an applied
 * configuration reads back exactly: families, prefix lengths, host bits of routes, MTU range
 * (and ≥ 1280 when there is any IPv6), table (not 0, not local), rules (family, action,
 * priority not 0, no mark bits outside the mask), limits.  The error
 * (G_IO_ERROR_INVALID_ARGUMENT) names the offending item, e.g.
 * "route 192.0.2.1/24: host bits are set (192.0.2.0/24?)".
 */
gboolean
wr_netcfg_config_validate(const WrNetcfgConfig *self, GError **error);

/*
 * Parses the text form above (len bytes, need not be NUL-terminated; embedded NULs are an
 * error) and validates the result.  NULL and G_IO_ERROR_INVALID_DATA ("line 3: …") on error.
 */
WrNetcfgConfig *
wr_netcfg_config_parse(const char *text, size_t len, GError **error);

/* "192.0.2.0/24 dev wr0 table 100 metric 5" for messages, as ip-route(8) would name it: dev
 * only when given, table only when not main, metric only when not the family's default */
#define WR_NETCFG_ROUTE_STRLEN 128
void
wr_netcfg_route_format(const WrNetcfgRoute *route, const char *dev,
		       char out[WR_NETCFG_ROUTE_STRLEN]);
bool
wr_netcfg_route_equal(const WrNetcfgRoute *a, const WrNetcfgRoute *b);
/* the rule as the kernel will store it: the table resolved (none for unreachable), the mask
 * of a mark filled in */
WrNetcfgRule
wr_netcfg_rule_for(const WrNetcfgConfig *config, const WrNetcfgRule *rule);
/* "ipv4 5210 fwmark 0x80000/0xff0000 lookup main": the text form's words after "rule" */
#define WR_NETCFG_RULE_STRLEN 128
void
wr_netcfg_rule_format(const WrNetcfgRule *rule, char out[WR_NETCFG_RULE_STRLEN]);
bool
wr_netcfg_rule_equal(const WrNetcfgRule *a, const WrNetcfgRule *b);
bool
wr_netcfg_cidr_equal(const WrCidr *a, const WrCidr *b);
