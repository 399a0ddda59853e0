/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * engine/netcfg without the kernel: the diff (what the kernel has and what is wanted in,
 * operations out) as a table, the validation of a configuration, and its text form.  The
 * netlink half is tested against a real kernel by tests/system/netcfg-netns.sh; here it only
 * reads (which needs no privilege): a missing link, and the loopback link's state.
 */

#define G_LOG_DOMAIN "WrNetcfgTest"

#include "config.h"

#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-netcfg-config.h"
#include "wr-netcfg-diff.h"
#include "wr-netcfg.h"

typedef struct {
	const char *name;
	const char *desired; /* configuration text; NULL: teardown */
	uint32_t mtu;	     /* what the kernel has */
	bool up;
	const char *addrs;    /* space separated */
	const char *routes;   /* "DST TABLE METRIC ours|theirs", separated by ';' */
	const char *owned;    /* space separated */
	const char *expected; /* the operations, separated by "; " */
	const char *rules;    /* ours in the kernel: "ipv4 5270 lookup 52", separated by ';' */
} DiffCase;

#define PEERS                                                                         \
	"address 100.64.0.1/32\naddress fd7a:115c:a1e0::1/128\nroute 100.64.0.2/32\n" \
	"route fd7a:115c:a1e0::2/128\n"
#define PEERS_APPLIED "100.64.0.2/32 254 0 ours; fd7a:115c:a1e0::2/128 254 1024 ours"

static const DiffCase diff_cases[] = {
	{"fresh-link", PEERS, 1500, false, "", "", "",
	 "set mtu 1280; link up; add address 100.64.0.1/32; add address fd7a:115c:a1e0::1/128; "
	 "add route 100.64.0.2/32; add route fd7a:115c:a1e0::2/128"},
	{"already-applied", PEERS, 1280, true, "100.64.0.1/32 fd7a:115c:a1e0::1/128 fe80::1/64",
	 PEERS_APPLIED, "100.64.0.1/32 fd7a:115c:a1e0::1/128", ""},
	/* a link-local address the kernel made is not ours and stays */
	{"mtu-only", "mtu 1420\n" PEERS, 1280, true, "100.64.0.1/32 fd7a:115c:a1e0::1/128",
	 PEERS_APPLIED, "100.64.0.1/32 fd7a:115c:a1e0::1/128", "set mtu 1420"},
	{"link-down", PEERS, 1280, false, "100.64.0.1/32 fd7a:115c:a1e0::1/128", PEERS_APPLIED,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128", "link up"},
	{"peer-added", PEERS "route 100.64.0.3/32\n", 1280, true,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128", PEERS_APPLIED,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128", "add route 100.64.0.3/32"},
	{"peer-removed", "address 100.64.0.1/32\naddress fd7a:115c:a1e0::1/128\n", 1280, true,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128", PEERS_APPLIED,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128",
	 "del route 100.64.0.2/32; del route fd7a:115c:a1e0::2/128"},
	/* the node's address changed: old removed before the new is added */
	{"address-changed",
	 "address 100.64.0.5/32\naddress fd7a:115c:a1e0::1/128\nroute 100.64.0.2/32\n"
	 "route fd7a:115c:a1e0::2/128\n",
	 1280, true, "100.64.0.1/32 fd7a:115c:a1e0::1/128", PEERS_APPLIED,
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128",
	 "del address 100.64.0.1/32; add address 100.64.0.5/32"},
	/* same address, other prefix length: a different address to the kernel */
	{"prefix-length-changed", "address 100.64.0.1/10\n", 1280, true, "100.64.0.1/32", "",
	 "100.64.0.1/32", "del address 100.64.0.1/32; add address 100.64.0.1/10"},
	/* addresses and routes that are not ours are never removed... */
	{"not-ours-kept", "address 100.64.0.1/32\n", 1280, true, "100.64.0.1/32 192.0.2.200/32",
	 "198.51.100.128/25 254 0 theirs; 100.64.0.9/32 254 0 theirs", "100.64.0.1/32", ""},
	/* ...and when one is exactly what is wanted, it counts as present */
	{"theirs-satisfies", "address 192.0.2.200/32\nroute 198.51.100.128/25\n", 1280, true,
	 "192.0.2.200/32", "198.51.100.128/25 254 0 theirs", "", ""},
	/* a route of theirs with another metric is another route: ours is added beside it */
	{"theirs-other-metric", "route 198.51.100.128/25\n", 1280, true, "",
	 "198.51.100.128/25 254 100 theirs", "", "add route 198.51.100.128/25"},
	/* IPv6 metric 0 is stored as 1024 by the kernel; 1024 is no change */
	{"ipv6-default-metric", "route 2001:db8:1::/48\n", 1280, true, "",
	 "2001:db8:1::/48 254 1024 ours", "", ""},
	{"ipv6-metric-zero-is-not-ours", "route 2001:db8:1::/48\n", 1280, true, "",
	 "2001:db8:1::/48 254 0 ours", "",
	 "del route 2001:db8:1::/48 metric 0; add route 2001:db8:1::/48"},
	{"table-changed", "table 100\nroute 100.64.0.2/32\nroute fd7a:115c:a1e0::2/128\n", 1280,
	 true, "", PEERS_APPLIED, "",
	 "del route 100.64.0.2/32; del route fd7a:115c:a1e0::2/128; "
	 "add route 100.64.0.2/32 table 100; add route fd7a:115c:a1e0::2/128 table 100"},
	{"metric-changed", "metric 10\nroute 100.64.0.2/32\n", 1280, true, "",
	 "100.64.0.2/32 254 0 ours", "",
	 "del route 100.64.0.2/32; add route 100.64.0.2/32 metric 10"},
	{"default-routes", "route 0.0.0.0/0\nroute ::/0\n", 1280, true, "", "", "",
	 "add route 0.0.0.0/0; add route ::/0"},
	{"duplicates-once",
	 "address 100.64.0.1/32\naddress 100.64.0.1/32\nroute 192.0.2.0/24\nroute 192.0.2.0/24\n",
	 1280, true, "", "", "", "add address 100.64.0.1/32; add route 192.0.2.0/24"},
	/* the kernel listing a route twice (it does not, but) still gives one removal */
	{"kernel-duplicate-once", "", 1280, true, "",
	 "192.0.2.0/24 254 0 ours; 192.0.2.0/24 254 0 ours", "", "del route 192.0.2.0/24"},
	{"teardown", NULL, 1280, true, "100.64.0.1/32 fd7a:115c:a1e0::1/128 192.0.2.200/32",
	 PEERS_APPLIED "; 198.51.100.128/25 254 0 theirs; 192.0.2.0/24 100 5 ours",
	 "100.64.0.1/32 fd7a:115c:a1e0::1/128",
	 "del route 100.64.0.2/32; del route fd7a:115c:a1e0::2/128; "
	 "del route 192.0.2.0/24 table 100 metric 5; del address 100.64.0.1/32; "
	 "del address fd7a:115c:a1e0::1/128"},
	/* teardown never touches MTU or link state, and owned-but-gone is nothing to do */
	{"teardown-nothing", NULL, 9000, false, "", "", "100.64.0.1/32", ""},
	/* rules go in after the routes of their table, with a mark's mask filled in */
	{"rules-added-last",
	 "table 52\nroute 0.0.0.0/0\nrule ipv4 5210 fwmark 0x80000 lookup main\n"
	 "rule ipv4 5270 lookup 52\nrule ipv6 5250 unreachable\n",
	 1280, true, "", "", "",
	 "add route 0.0.0.0/0 table 52; add rule ipv4 5210 fwmark 0x80000/0xffffffff lookup main; "
	 "add rule ipv4 5270 lookup 52; add rule ipv6 5250 unreachable"},
	{"rules-applied",
	 "table 52\nroute 0.0.0.0/0\nrule ipv4 5210 fwmark 0x80000/0xff0000 lookup main\n"
	 "rule ipv4 5270 lookup 52\n",
	 1280, true, "", "0.0.0.0/0 52 0 ours", "", "",
	 "ipv4 5270 lookup 52; ipv4 5210 fwmark 0x80000/0xff0000 lookup main"},
	/* ...and come out before them */
	{"rules-removed-first", "", 1280, true, "", "0.0.0.0/0 52 0 ours", "",
	 "del rule ipv4 5270 lookup 52; del route 0.0.0.0/0 table 52", "ipv4 5270 lookup 52"},
	{"rule-changed", "table 52\nrule ipv4 5271 lookup 52\n", 1280, true, "", "", "",
	 "del rule ipv4 5270 lookup 52; add rule ipv4 5271 lookup 52", "ipv4 5270 lookup 52"},
	/* suppress_prefixlength is part of a rule's identity */
	{"rule-suppress-added", "rule ipv4 5230 lookup main suppress_prefixlength 0\n", 1280, true,
	 "", "", "",
	 "del rule ipv4 5230 lookup main; add rule ipv4 5230 lookup main suppress_prefixlength 0",
	 "ipv4 5230 lookup main"},
	{"rule-suppress-kept", "rule ipv4 5230 lookup main suppress_prefixlength 0\n", 1280, true,
	 "", "", "", "", "ipv4 5230 lookup main suppress_prefixlength 0"},
	/* the kernel keeps identical rules side by side: each removal takes one */
	{"rule-twice-in-kernel", "", 1280, true, "", "", "",
	 "del rule ipv6 5250 unreachable; del rule ipv6 5250 unreachable",
	 "ipv6 5250 unreachable; ipv6 5250 unreachable"},
	{"rule-duplicates-once", "rule ipv4 5270 lookup 52\nrule ipv4 5270 lookup 52\n", 1280, true,
	 "", "", "", "add rule ipv4 5270 lookup 52"},
	{"teardown-rules", NULL, 1280, true, "", "0.0.0.0/0 52 0 ours", "",
	 "del rule ipv4 5270 lookup 52; del route 0.0.0.0/0 table 52", "ipv4 5270 lookup 52"},
};

static WrCidr
cidr(const char *text)
{
	WrCidr c;

	g_assert_true(wr_cidr_parse(&c, text));
	return c;
}

static GArray *
cidr_list(const char *text)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_auto(GStrv) words = g_strsplit(text, " ", -1);

	for (guint i = 0; words[i] != NULL; i++) {
		WrCidr c;

		if (words[i][0] == '\0')
			continue;
		c = cidr(words[i]);
		g_array_append_val(a, c);
	}
	return a;
}

static WrNetcfgState *
state_new(const DiffCase *tc)
{
	WrNetcfgState *s = wr_netcfg_state_new();
	g_autoptr(GArray) addrs = cidr_list(tc->addrs);
	g_auto(GStrv) routes = g_strsplit(tc->routes, ";", -1);
	g_auto(GStrv) rules = g_strsplit(tc->rules != NULL ? tc->rules : "", ";", -1);

	s->mtu = tc->mtu;
	s->up = tc->up;
	g_array_append_vals(s->addrs, addrs->data, addrs->len);
	for (guint i = 0; routes[i] != NULL; i++) {
		g_autofree char *line = g_strstrip(g_strdup(routes[i]));
		g_auto(GStrv) f = NULL;
		WrNetcfgKernelRoute k;

		if (line[0] == '\0')
			continue;
		f = g_strsplit(line, " ", -1);
		g_assert_cmpuint(g_strv_length(f), ==, 4);
		memset(&k, 0, sizeof(k));
		k.route.dst = cidr(f[0]);
		k.route.table = (uint32_t) g_ascii_strtoull(f[1], NULL, 10);
		k.route.metric = (uint32_t) g_ascii_strtoull(f[2], NULL, 10);
		k.ours = g_str_equal(f[3], "ours");
		g_array_append_val(s->routes, k);
	}
	for (guint i = 0; rules[i] != NULL; i++) {
		g_autofree char *line = g_strdup_printf("rule %s", rules[i]);
		g_autoptr(GError) error = NULL;
		g_autoptr(WrNetcfgConfig) c = NULL;

		if (g_strstrip(rules[i])[0] == '\0')
			continue;
		c = wr_netcfg_config_parse(line, strlen(line), &error);
		g_assert_no_error(error);
		g_array_append_vals(s->rules, c->rules->data, c->rules->len);
	}
	return s;
}

static char *
ops_text(GArray *ops)
{
	g_autoptr(GString) s = g_string_new("");

	for (guint i = 0; i < ops->len; i++) {
		char text[WR_NETCFG_OP_STRLEN];

		wr_netcfg_op_format(&g_array_index(ops, WrNetcfgOp, i), text);
		g_string_append_printf(s, "%s%s", i > 0 ? "; " : "", text);
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_diff(gconstpointer data)
{
	const DiffCase *tc = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcfgConfig) desired = NULL;
	g_autoptr(WrNetcfgState) current = state_new(tc);
	g_autoptr(GArray) owned = cidr_list(tc->owned);
	g_autoptr(GArray) ops = NULL;
	g_autofree char *got = NULL;

	if (tc->desired != NULL) {
		desired = wr_netcfg_config_parse(tc->desired, strlen(tc->desired), &error);
		g_assert_no_error(error);
	}
	ops = wr_netcfg_diff(desired, current, owned);
	got = ops_text(ops);
	g_assert_cmpstr(got, ==, tc->expected);
}

/* applying the operations of a diff to the state it came from gives a state whose diff is
 * empty: the property that makes apply idempotent, checked over every table case */
static void
apply_to_state(WrNetcfgState *s, GArray *owned, GArray *ops)
{
	for (guint i = 0; i < ops->len; i++) {
		const WrNetcfgOp *op = &g_array_index(ops, WrNetcfgOp, i);
		WrNetcfgKernelRoute k;

		switch (op->kind) {
		case WR_NETCFG_OP_SET_MTU:
			s->mtu = op->mtu;
			break;
		case WR_NETCFG_OP_LINK_UP:
			s->up = true;
			break;
		case WR_NETCFG_OP_ADD_ADDR:
			g_array_append_val(s->addrs, op->addr);
			g_array_append_val(owned, op->addr);
			break;
		case WR_NETCFG_OP_DEL_ADDR:
			for (guint j = s->addrs->len; j > 0; j--) {
				if (wr_netcfg_cidr_equal(&g_array_index(s->addrs, WrCidr, j - 1),
							 &op->addr))
					g_array_remove_index(s->addrs, j - 1);
			}
			break;
		case WR_NETCFG_OP_ADD_ROUTE:
			k.route = op->route;
			k.ours = true;
			g_array_append_val(s->routes, k);
			break;
		case WR_NETCFG_OP_DEL_ROUTE:
			for (guint j = s->routes->len; j > 0; j--) {
				WrNetcfgKernelRoute *r =
					&g_array_index(s->routes, WrNetcfgKernelRoute, j - 1);

				if (r->ours && wr_netcfg_route_equal(&r->route, &op->route))
					g_array_remove_index(s->routes, j - 1);
			}
			break;
		case WR_NETCFG_OP_ADD_RULE:
			g_array_append_val(s->rules, op->rule);
			break;
		case WR_NETCFG_OP_DEL_RULE:
			/* one removal takes one rule, as in the kernel */
			for (guint j = 0; j < s->rules->len; j++) {
				if (wr_netcfg_rule_equal(&g_array_index(s->rules, WrNetcfgRule, j),
							 &op->rule)) {
					g_array_remove_index(s->rules, j);
					break;
				}
			}
			break;
		}
	}
}

static void
test_diff_converges(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(diff_cases); i++) {
		const DiffCase *tc = &diff_cases[i];
		g_autoptr(WrNetcfgConfig) desired = NULL;
		g_autoptr(WrNetcfgState) current = state_new(tc);
		g_autoptr(GArray) owned = cidr_list(tc->owned);
		g_autoptr(GArray) ops = NULL;
		g_autoptr(GArray) again = NULL;
		g_autofree char *text = NULL;

		if (tc->desired != NULL)
			desired = wr_netcfg_config_parse(tc->desired, strlen(tc->desired), NULL);
		ops = wr_netcfg_diff(desired, current, owned);
		apply_to_state(current, owned, ops);
		again = wr_netcfg_diff(desired, current, owned);
		text = ops_text(again);
		g_test_message("%s: second diff '%s'", tc->name, text);
		g_assert_cmpstr(text, ==, "");
	}
}

static void
test_route_format(void)
{
	WrNetcfgRoute r = {.dst = cidr("192.0.2.0/24"), .table = 254, .metric = 0};
	char text[WR_NETCFG_ROUTE_STRLEN];

	wr_netcfg_route_format(&r, "wr0", text);
	g_assert_cmpstr(text, ==, "192.0.2.0/24 dev wr0");
	r.table = 100;
	r.metric = 7;
	wr_netcfg_route_format(&r, NULL, text);
	g_assert_cmpstr(text, ==, "192.0.2.0/24 table 100 metric 7");
	r.dst = cidr("2001:db8::/32");
	r.table = 254;
	r.metric = 1024;
	wr_netcfg_route_format(&r, "wr0", text);
	g_assert_cmpstr(text, ==, "2001:db8::/32 dev wr0");
}

typedef struct {
	const char *text;
	GIOErrorEnum code; /* 0: parses */
	const char *message;
} ParseCase;

static const ParseCase parse_cases[] = {
	{"", 0, NULL},
	{"# only a comment\n\n   \n", 0, NULL},
	{"mtu 1420\ntable 100\nmetric 5\naddress 100.64.0.1/32 # the node\nroute ::/0\n", 0, NULL},
	{"address\t100.64.0.1\r\n", 0, NULL},
	{"route 192.0.2.1/24\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: route 192.0.2.1/24: host bits are set (192.0.2.0/24?)"},
	{"mtu 1280\nroute 2001:db8::1/32\n", G_IO_ERROR_INVALID_DATA,
	 "line 2: route 2001:db8::1/32: host bits are set (2001:db8::/32?)"},
	{"address 0.0.0.0/32\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: address 0.0.0.0/32: the unspecified address"},
	{"route 192.0.2.0/33\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: route '192.0.2.0/33': not an address/prefix-length"},
	{"route wr0\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: route 'wr0': not an address/prefix-length"},
	{"mtu\n", G_IO_ERROR_INVALID_DATA, "line 1: 'mtu' takes exactly one value, got 0"},
	{"mtu 1280 1420\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: 'mtu' takes exactly one value, got 2"},
	{"mtu -1\n", G_IO_ERROR_INVALID_DATA, "line 1: mtu '-1': not a number up to 65535"},
	{"mtu 65536\n", G_IO_ERROR_INVALID_DATA, "line 1: mtu '65536': not a number up to 65535"},
	{"table 0\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: table '0': not a table number 1..4294967295"},
	{"\n\ngateway 192.0.2.1\n", G_IO_ERROR_INVALID_DATA,
	 "line 3: unknown directive 'gateway' (mtu, table, metric, address, route, rule)"},
	{"mtu 100\n", G_IO_ERROR_INVALID_DATA, "mtu 100: out of range 576..65535"},
	{"mtu 1000\nroute 100.64.0.2/32\n", 0, NULL},
	{"mtu 1000\naddress fd7a:115c:a1e0::1/128\n", G_IO_ERROR_INVALID_DATA,
	 "mtu 1000: IPv6 needs at least 1280"},
	{"table 255\n", G_IO_ERROR_INVALID_DATA, "table 255: the kernel's local table"},
	{"rule ipv4 5210 fwmark 0x80000/0xff0000 lookup main\nrule ipv6 5250 unreachable\n"
	 "rule ipv4 5270 fwmark 7 lookup 52\n",
	 0, NULL},
	{"rule ipv4 5230 lookup main suppress_prefixlength 0\n"
	 "rule ipv6 5230 lookup main suppress_prefixlength 128\n",
	 0, NULL},
	{"rule ipv4 5230 lookup main suppress_prefixlength 33\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule ipv4 5230 lookup main suppress_prefixlength 33: suppress_prefixlength is "
	 "longer than an address"},
	{"rule ipv6 5230 lookup main suppress_prefixlength 129\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: suppress_prefixlength '129' is not a number 0..128"},
	{"rule ipv4 5230 lookup main suppress_prefixlength\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected 'lookup TABLE [suppress_prefixlength N]' or 'unreachable' at "
	 "the end"},
	{"rule ipv4 5230 unreachable suppress_prefixlength 0\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected 'lookup TABLE [suppress_prefixlength N]' or 'unreachable' at "
	 "the end"},
	{"rule ipv5 5270 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: family 'ipv5' is neither ipv4 nor ipv6"},
	{"rule ipv4 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: priority 'lookup' is not a number"},
	{"rule ipv4 0 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule ipv4 0 lookup 52: priority 0 belongs to the local table's rule"},
	{"rule ipv4 5\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected ipv4|ipv6 PRIORITY [fwmark MARK[/MASK]] lookup TABLE|unreachable"},
	{"rule ipv4 5 lookup\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected 'lookup TABLE [suppress_prefixlength N]' or 'unreachable' at "
	 "the end"},
	{"rule ipv4 5 lookup 52 extra\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected 'lookup TABLE [suppress_prefixlength N]' or 'unreachable' at "
	 "the end"},
	{"rule ipv4 5 blackhole\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: expected 'lookup TABLE [suppress_prefixlength N]' or 'unreachable' at "
	 "the end"},
	{"rule ipv4 5 fwmark\n", G_IO_ERROR_INVALID_DATA, "line 1: rule: fwmark without a value"},
	{"rule ipv4 5 fwmark 0x123456789 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: fwmark '0x123456789' is not MARK or MARK/MASK"},
	{"rule ipv4 5 fwmark 1/2/3 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: fwmark '1/2/3' is not MARK or MARK/MASK"},
	{"rule ipv4 5 fwmark 0xg lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: fwmark '0xg' is not MARK or MARK/MASK"},
	{"rule ipv4 5 fwmark 0x3/0x1 lookup 52\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule ipv4 5 fwmark 0x3/0x1 lookup 52: the mark has bits outside the mask"},
	{"rule ipv4 5 lookup 0\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule: table '0' is not main or a number 1..4294967295"},
	{"rule ipv4 5 lookup 255\n", G_IO_ERROR_INVALID_DATA,
	 "line 1: rule ipv4 5 lookup 255: the kernel's local table"},
};

static void
test_parse(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		const ParseCase *tc = &parse_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(WrNetcfgConfig) config = NULL;

		g_test_message("case %zu: %s", i, tc->text);
		config = wr_netcfg_config_parse(tc->text, strlen(tc->text), &error);
		if (tc->code == 0) {
			g_assert_no_error(error);
			g_assert_nonnull(config);
			continue;
		}
		g_assert_null(config);
		g_assert_error(error, G_IO_ERROR, (gint) tc->code);
		g_assert_cmpstr(error->message, ==, tc->message);
	}
}

static void
test_parse_values(void)
{
	const char text[] = "mtu 1420\ntable 100\nmetric 5\naddress 100.64.0.1/32\n"
			    "route 192.0.2.0/24\nroute 2001:db8::/32";
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcfgConfig) config = wr_netcfg_config_parse(text, strlen(text), &error);
	g_autoptr(WrNetcfgConfig) copy = NULL;
	char buf[WR_CIDR_STRLEN];
	WrNetcfgRoute r;

	g_assert_no_error(error);
	g_assert_cmpuint(wr_netcfg_config_get_mtu(config), ==, 1420);
	g_assert_cmpuint(wr_netcfg_config_get_table(config), ==, 100);
	g_assert_cmpuint(config->metric, ==, 5);
	g_assert_cmpuint(config->addrs->len, ==, 1);
	g_assert_cmpuint(config->routes->len, ==, 2);
	wr_cidr_format(&g_array_index(config->routes, WrCidr, 1), buf);
	g_assert_cmpstr(buf, ==, "2001:db8::/32");
	r = wr_netcfg_route_for(config, &g_array_index(config->routes, WrCidr, 1));
	g_assert_cmpuint(r.table, ==, 100);
	g_assert_cmpuint(r.metric, ==, 5);

	/* defaults */
	g_clear_pointer(&config, wr_netcfg_config_free);
	config = wr_netcfg_config_parse("route 2001:db8::/32", 19, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(wr_netcfg_config_get_mtu(config), ==, WR_NETCFG_MTU_DEFAULT);
	g_assert_cmpuint(wr_netcfg_config_get_table(config), ==, WR_NETCFG_TABLE_MAIN);
	r = wr_netcfg_route_for(config, &g_array_index(config->routes, WrCidr, 0));
	g_assert_cmpuint(r.metric, ==, WR_NETCFG_IPV6_DEFAULT_METRIC);

	copy = wr_netcfg_config_copy(config);
	g_assert_cmpuint(copy->routes->len, ==, 1);
	g_assert_true(wr_netcfg_cidr_equal(&g_array_index(copy->routes, WrCidr, 0),
					   &g_array_index(config->routes, WrCidr, 0)));
}

static void
test_parse_bytes(void)
{
	const char nul[] = "mtu 1280\0route 192.0.2.0/24";
	const char bad_utf8[] = "route \xff\n";
	g_autofree char *long_line = g_strnfill(WR_NETCFG_MAX_LINE + 1, ' ');
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcfgConfig) config = NULL;

	g_assert_null(wr_netcfg_config_parse(nul, sizeof(nul) - 1, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_cmpstr(error->message, ==, "configuration text contains a NUL byte");
	g_clear_error(&error);
	g_assert_null(wr_netcfg_config_parse(bad_utf8, strlen(bad_utf8), &error));
	g_assert_cmpstr(error->message, ==, "line 1: not valid UTF-8");
	g_clear_error(&error);
	g_assert_null(wr_netcfg_config_parse(long_line, strlen(long_line), &error));
	g_assert_cmpstr(error->message, ==, "line 1: longer than 256 bytes");
	g_clear_error(&error);
	/* the text need not end in a newline, and is not read past len */
	config = wr_netcfg_config_parse("mtu 1280xyz", 8, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(config->mtu, ==, 1280);
}

static void
test_limits(void)
{
	g_autoptr(WrNetcfgConfig) config = wr_netcfg_config_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) text = g_string_new("");
	WrNetcfgRule rule = {.family = AF_INET,
			     .action = WR_NETCFG_RULE_LOOKUP,
			     .priority = 5270,
			     .fwmark = 0x80000,
			     .table = 52};
	WrNetcfgRule normal;
	WrCidr c = cidr("100.64.0.1/32");
	WrCidr bad = {.family = AF_UNIX, .cidr = 8};

	for (guint i = 0; i <= WR_NETCFG_MAX_ADDRS; i++)
		wr_netcfg_config_add_address(config, &c);
	g_assert_false(wr_netcfg_config_validate(config, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, "17 addresses: at most 16 are allowed");
	g_clear_error(&error);
	g_array_set_size(config->addrs, 1);
	g_assert_true(wr_netcfg_config_validate(config, &error));
	g_assert_no_error(error);

	/* rules: a mark gets the full mask, a lookup of table 0 the configuration's table */
	wr_netcfg_config_add_rule(config, &rule);
	g_assert_true(wr_netcfg_config_validate(config, &error));
	g_assert_no_error(error);
	normal = wr_netcfg_rule_for(config, &rule);
	g_assert_cmphex(normal.fwmask, ==, 0xffffffff);
	rule.table = 0;
	config->table = 100;
	normal = wr_netcfg_rule_for(config, &rule);
	g_assert_cmpuint(normal.table, ==, 100);
	rule.action = 3;
	wr_netcfg_config_add_rule(config, &rule);
	g_assert_false(wr_netcfg_config_validate(config, &error));
	g_assert_cmpstr(
		error->message, ==,
		"rule ipv4 5270 fwmark 0x80000/0x0 action 3: neither lookup nor unreachable");
	g_clear_error(&error);
	g_array_set_size(config->rules, WR_NETCFG_MAX_RULES + 1);
	g_assert_false(wr_netcfg_config_validate(config, &error));
	g_assert_cmpstr(error->message, ==, "17 rules: at most 16 are allowed");
	g_clear_error(&error);
	g_array_set_size(config->rules, 0);

	wr_netcfg_config_add_route(config, &bad);
	g_assert_false(wr_netcfg_config_validate(config, &error));
	g_assert_cmpstr(error->message, ==,
			"route: not an IPv4 or IPv6 prefix (family 1, length 8)");
	g_clear_error(&error);

	/* the text form stops at the limit and names the line */
	for (guint i = 0; i <= WR_NETCFG_MAX_ADDRS; i++)
		g_string_append_printf(text, "address 100.64.0.%u/32\n", i + 1);
	g_assert_null(wr_netcfg_config_parse(text->str, text->len, &error));
	g_assert_cmpstr(error->message, ==, "line 17: more than 16 addresses");
}

static void
test_edge_no_link(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcfg) netcfg = wr_netcfg_new("wrnosuch0", &error);

	g_assert_null(netcfg);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_assert_true(g_str_has_prefix(error->message, "link wrnosuch0: "));
	g_clear_error(&error);
	g_assert_null(wr_netcfg_new("a-name-longer-than-ifnamsiz", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* index 0 is never a link (and libnl would abort on it) */
	g_assert_null(wr_netcfg_new_for_index(0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* the largest index is not a link either */
	g_assert_null(wr_netcfg_new_for_index(G_MAXINT, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* the loopback link of whatever namespace the test runs in: read, never changed */
static void
test_edge_read_lo(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcfg) netcfg = wr_netcfg_new("lo", &error);
	g_autoptr(WrNetcfg) by_index = NULL;
	g_autoptr(WrNetcfgState) state = NULL;
	g_autoptr(WrNetcfgConfig) bad = wr_netcfg_config_new();
	WrCidr host_bits = cidr("127.0.0.1/8");
	guint changes = 99;

	g_assert_no_error(error);
	by_index = wr_netcfg_new_for_index(wr_netcfg_get_ifindex(netcfg), &error);
	g_assert_no_error(error);
	g_assert_cmpint(wr_netcfg_get_ifindex(by_index), ==, wr_netcfg_get_ifindex(netcfg));
	state = wr_netcfg_read_state(netcfg, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(state->mtu, >=, WR_NETCFG_MTU_MIN);
	/* whatever is there, none of it is ours */
	for (guint i = 0; i < state->routes->len; i++)
		g_assert_false(g_array_index(state->routes, WrNetcfgKernelRoute, i).ours);
	if (state->up) {
		WrCidr lo4 = cidr("127.0.0.1/8");
		bool found = false;

		for (guint i = 0; i < state->addrs->len; i++)
			found |=
				wr_netcfg_cidr_equal(&g_array_index(state->addrs, WrCidr, i), &lo4);
		g_assert_true(found);
	}
	/* an invalid configuration fails before anything is read or changed */
	wr_netcfg_config_add_route(bad, &host_bits);
	g_assert_false(wr_netcfg_apply(netcfg, bad, &changes, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, "route 127.0.0.1/8: host bits are set (127.0.0.0/8?)");
	g_assert_cmpuint(changes, ==, 99);
	/* nothing of ours on lo: teardown has nothing to do and needs no privilege */
	g_clear_error(&error);
	g_assert_true(wr_netcfg_teardown(netcfg, &changes, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(changes, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(diff_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/warren/netcfg/diff/%s", diff_cases[i].name);

		g_test_add_data_func(path, &diff_cases[i], test_diff);
	}
	g_test_add_func("/warren/netcfg/diff-converges", test_diff_converges);
	g_test_add_func("/warren/netcfg/route-format", test_route_format);
	g_test_add_func("/warren/netcfg/parse", test_parse);
	g_test_add_func("/warren/netcfg/parse-values", test_parse_values);
	g_test_add_func("/warren/netcfg/parse-bytes", test_parse_bytes);
	g_test_add_func("/warren/netcfg/limits", test_limits);
	g_test_add_func("/warren/netcfg/edge/no-link", test_edge_no_link);
	g_test_add_func("/warren/netcfg/edge/read-lo", test_edge_read_lo);
	return g_test_run();
}
