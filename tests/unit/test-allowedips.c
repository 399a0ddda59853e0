/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrAllowedIpsTest"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-allowedips-private.h"
#include "wr-allowedips.h"
#include "wr-crypto.h"

/* peers are small integers; 0 is "no peer" */
#define PEER(n) GINT_TO_POINTER(n)

/* "10.0.0.0/8", "2001:db8::1" (a bare address is a host route) */
static void
parse_prefix(const char *text, int *out_family, uint8_t out_addr[16], uint8_t *out_cidr)
{
	g_autofree char *copy = g_strdup(text);
	char *slash = strchr(copy, '/');
	unsigned long cidr = 0;

	if (slash != NULL) {
		*slash = '\0';
		cidr = strtoul(slash + 1, NULL, 10);
	}
	memset(out_addr, 0, 16);
	if (inet_pton(AF_INET, copy, out_addr) == 1) {
		*out_family = AF_INET;
		*out_cidr = (uint8_t) (slash != NULL ? cidr : 32);
	} else if (inet_pton(AF_INET6, copy, out_addr) == 1) {
		*out_family = AF_INET6;
		*out_cidr = (uint8_t) (slash != NULL ? cidr : 128);
	} else {
		g_error("bad prefix in test table: %s", text);
	}
}

static char *
format_prefix(int family, const uint8_t *addr, uint8_t cidr)
{
	char buf[INET6_ADDRSTRLEN];

	g_assert_nonnull(inet_ntop(family, addr, buf, sizeof(buf)));
	return g_strdup_printf("%s/%u", buf, cidr);
}

/* table-driven scripts */

typedef enum {
	OP_END,
	OP_INSERT,	/* text, peer, expect = return value */
	OP_REMOVE,	/* text, peer, expect = return value */
	OP_REMOVE_PEER, /* peer */
	OP_LOOKUP,	/* text = address, expect = peer */
	OP_COUNT,	/* expect = count */
	OP_NODES,	/* expect = trie nodes, glue included */
} OpKind;

typedef struct {
	OpKind op;
	const char *text;
	int peer;
	int expect;
} Op;

static const Op script_overlapping[] = {
	{OP_INSERT, "10.0.0.0/8", 1, 0},
	{OP_INSERT, "10.1.0.0/16", 2, 0},
	{OP_INSERT, "10.1.1.0/24", 3, 0},
	{OP_INSERT, "10.1.1.1/32", 4, 0},
	{OP_COUNT, NULL, 0, 4},
	{OP_LOOKUP, "10.1.1.1", 0, 4},
	{OP_LOOKUP, "10.1.1.2", 0, 3},
	{OP_LOOKUP, "10.1.1.0", 0, 3},
	{OP_LOOKUP, "10.1.1.255", 0, 3},
	{OP_LOOKUP, "10.1.2.1", 0, 2},
	{OP_LOOKUP, "10.1.255.255", 0, 2},
	{OP_LOOKUP, "10.2.0.0", 0, 1},
	{OP_LOOKUP, "10.255.255.255", 0, 1},
	{OP_LOOKUP, "11.0.0.0", 0, 0},
	{OP_LOOKUP, "9.255.255.255", 0, 0},
	{OP_LOOKUP, "0.0.0.0", 0, 0},
	{OP_LOOKUP, "::", 0, 0},
	{OP_LOOKUP, "::ffff:10.1.1.1", 0, 0},
	{OP_END},
};

/* the same prefixes inserted longest first, so every insert lands above existing nodes */
static const Op script_overlapping_reversed[] = {
	{OP_INSERT, "10.1.1.1/32", 4, 0},
	{OP_INSERT, "10.1.1.0/24", 3, 0},
	{OP_INSERT, "10.1.0.0/16", 2, 0},
	{OP_INSERT, "10.0.0.0/8", 1, 0},
	{OP_LOOKUP, "10.1.1.1", 0, 4},
	{OP_LOOKUP, "10.1.1.2", 0, 3},
	{OP_LOOKUP, "10.1.2.1", 0, 2},
	{OP_LOOKUP, "10.2.0.0", 0, 1},
	{OP_LOOKUP, "11.0.0.0", 0, 0},
	{OP_COUNT, NULL, 0, 4},
	{OP_END},
};

/* siblings that diverge at various bits need glue nodes; then a route on the glue itself */
static const Op script_siblings[] = {
	{OP_INSERT, "192.168.1.0/24", 1, 0},
	{OP_NODES, NULL, 0, 1},
	{OP_INSERT, "192.168.2.0/24", 2, 0},
	{OP_NODES, NULL, 0, 3},
	{OP_INSERT, "192.168.3.128/25", 3, 0},
	{OP_INSERT, "192.169.0.0/16", 4, 0},
	{OP_INSERT, "64.0.0.0/2", 5, 0},
	{OP_NODES, NULL, 0, 9},
	{OP_LOOKUP, "192.168.1.9", 0, 1},
	{OP_LOOKUP, "192.168.2.9", 0, 2},
	{OP_LOOKUP, "192.168.3.200", 0, 3},
	{OP_LOOKUP, "192.168.3.100", 0, 0},
	{OP_LOOKUP, "192.168.0.1", 0, 0},
	{OP_LOOKUP, "192.169.44.1", 0, 4},
	{OP_LOOKUP, "127.0.0.1", 0, 5},
	{OP_LOOKUP, "128.0.0.1", 0, 0},
	{OP_COUNT, NULL, 0, 5},
	/* 192.168.0.0/22 is where 1 and 2 diverge: the glue becomes a route */
	{OP_INSERT, "192.168.0.0/22", 6, 0},
	{OP_NODES, NULL, 0, 9},
	{OP_INSERT, "192.168.0.0/15", 7, 0},
	{OP_NODES, NULL, 0, 9},
	{OP_LOOKUP, "192.168.0.1", 0, 6},
	{OP_LOOKUP, "192.168.3.100", 0, 6},
	{OP_LOOKUP, "192.168.4.1", 0, 7},
	{OP_LOOKUP, "192.169.44.1", 0, 4},
	{OP_LOOKUP, "192.168.1.9", 0, 1},
	{OP_COUNT, NULL, 0, 7},
	/* removing the leaves under a glue merges it away; the routes above still answer */
	{OP_REMOVE, "192.168.1.0/24", 1, 0},
	{OP_REMOVE, "192.168.0.0/22", 6, 0},
	{OP_LOOKUP, "192.168.1.9", 0, 7},
	{OP_LOOKUP, "192.168.2.9", 0, 2},
	{OP_LOOKUP, "192.168.3.200", 0, 3},
	{OP_REMOVE, "192.168.2.0/24", 2, 0},
	{OP_REMOVE, "192.168.3.128/25", 3, 0},
	{OP_LOOKUP, "192.168.3.200", 0, 7},
	{OP_COUNT, NULL, 0, 3},
	/* glue /0 over 64.0.0.0/2 and 192.168.0.0/15, which holds 192.169.0.0/16 */
	{OP_NODES, NULL, 0, 4},
	{OP_REMOVE_PEER, NULL, 4, 0},
	{OP_NODES, NULL, 0, 3},
	{OP_REMOVE_PEER, NULL, 7, 0},
	{OP_NODES, NULL, 0, 1},
	{OP_END},
};

static const Op script_default_v4[] = {
	{OP_INSERT, "0.0.0.0/0", 1, 0}, {OP_INSERT, "192.168.0.0/16", 2, 0},
	{OP_LOOKUP, "8.8.8.8", 0, 1},	{OP_LOOKUP, "255.255.255.255", 0, 1},
	{OP_LOOKUP, "0.0.0.0", 0, 1},	{OP_LOOKUP, "192.168.3.4", 0, 2},
	{OP_LOOKUP, "::1", 0, 0},	{OP_REMOVE, "0.0.0.0/0", 1, 0},
	{OP_LOOKUP, "8.8.8.8", 0, 0},	{OP_LOOKUP, "192.168.3.4", 0, 2},
	{OP_COUNT, NULL, 0, 1},		{OP_END},
};

static const Op script_v6[] = {
	{OP_INSERT, "::/0", 1, 0},
	{OP_INSERT, "2001:db8::/32", 2, 0},
	{OP_INSERT, "2001:db8:1::/48", 3, 0},
	{OP_INSERT, "2001:db8:1::1/128", 4, 0},
	{OP_INSERT, "fe80::/10", 5, 0},
	{OP_INSERT, "2001:db8:1:0:8000::/65", 6, 0},
	{OP_INSERT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 7, 0},
	{OP_LOOKUP, "2001:db8:1::1", 0, 4},
	{OP_LOOKUP, "2001:db8:1::2", 0, 3},
	{OP_LOOKUP, "2001:db8:1:0:8000::1", 0, 6},
	{OP_LOOKUP, "2001:db8:1:0:7fff::1", 0, 3},
	{OP_LOOKUP, "2001:db8:2::1", 0, 2},
	{OP_LOOKUP, "2001:db9::", 0, 1},
	{OP_LOOKUP, "febf:ffff::1", 0, 5},
	{OP_LOOKUP, "fec0::1", 0, 1},
	{OP_LOOKUP, "::", 0, 1},
	{OP_LOOKUP, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 7},
	{OP_LOOKUP, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 0, 1},
	{OP_LOOKUP, "1.2.3.4", 0, 0},
	{OP_COUNT, NULL, 0, 7},
	{OP_END},
};

/* the two families never see each other's routes, even v4-mapped addresses */
static const Op script_families[] = {
	{OP_INSERT, "0.0.0.0/0", 1, 0},
	{OP_INSERT, "::/0", 2, 0},
	{OP_INSERT, "10.0.0.1/32", 3, 0},
	{OP_INSERT, "::ffff:10.0.0.1/128", 4, 0},
	{OP_LOOKUP, "1.2.3.4", 0, 1},
	{OP_LOOKUP, "10.0.0.1", 0, 3},
	{OP_LOOKUP, "::ffff:10.0.0.1", 0, 4},
	{OP_LOOKUP, "::ffff:10.0.0.2", 0, 2},
	{OP_LOOKUP, "::", 0, 2},
	{OP_REMOVE, "::/0", 2, 0},
	{OP_LOOKUP, "1.2.3.4", 0, 1},
	{OP_LOOKUP, "::", 0, 0},
	{OP_REMOVE, "0.0.0.0/0", 2, -ENOENT},
	{OP_COUNT, NULL, 0, 3},
	{OP_END},
};

static const Op script_remove_middle[] = {
	{OP_INSERT, "10.0.0.0/8", 1, 0},
	{OP_INSERT, "10.1.0.0/16", 2, 0},
	{OP_INSERT, "10.1.1.0/24", 3, 0},
	{OP_INSERT, "10.1.1.1/32", 4, 0},
	{OP_NODES, NULL, 0, 4},
	{OP_REMOVE, "10.1.0.0/16", 2, 0},
	{OP_COUNT, NULL, 0, 3},
	{OP_NODES, NULL, 0, 3},
	{OP_LOOKUP, "10.1.2.1", 0, 1},
	{OP_LOOKUP, "10.1.1.2", 0, 3},
	{OP_LOOKUP, "10.1.1.1", 0, 4},
	{OP_LOOKUP, "10.2.0.0", 0, 1},
	{OP_REMOVE, "10.1.0.0/16", 2, -ENOENT},
	{OP_REMOVE, "10.1.1.0/24", 3, 0},
	{OP_LOOKUP, "10.1.1.2", 0, 1},
	{OP_LOOKUP, "10.1.1.1", 0, 4},
	{OP_REMOVE, "10.0.0.0/8", 1, 0},
	{OP_LOOKUP, "10.1.1.2", 0, 0},
	{OP_LOOKUP, "10.1.1.1", 0, 4},
	{OP_REMOVE, "10.1.1.1/32", 4, 0},
	{OP_LOOKUP, "10.1.1.1", 0, 0},
	{OP_COUNT, NULL, 0, 0},
	{OP_NODES, NULL, 0, 0},
	/* the emptied trie is usable again */
	{OP_INSERT, "10.1.1.1/32", 5, 0},
	{OP_LOOKUP, "10.1.1.1", 0, 5},
	{OP_COUNT, NULL, 0, 1},
	{OP_END},
};

static const Op script_move[] = {
	{OP_INSERT, "10.0.0.0/8", 1, 0},
	{OP_INSERT, "10.1.0.0/16", 1, 0},
	{OP_INSERT, "10.0.0.0/8", 2, 0},
	{OP_COUNT, NULL, 0, 2},
	{OP_LOOKUP, "10.2.0.0", 0, 2},
	{OP_LOOKUP, "10.1.0.0", 0, 1},
	/* the old owner no longer holds it */
	{OP_REMOVE, "10.0.0.0/8", 1, -ENOENT},
	{OP_REMOVE_PEER, NULL, 1, 0},
	{OP_LOOKUP, "10.2.0.0", 0, 2},
	{OP_LOOKUP, "10.1.0.0", 0, 2},
	{OP_COUNT, NULL, 0, 1},
	/* inserting it again for the owner changes nothing */
	{OP_INSERT, "10.0.0.0/8", 2, 0},
	{OP_COUNT, NULL, 0, 1},
	{OP_REMOVE, "10.0.0.0/8", 2, 0},
	{OP_COUNT, NULL, 0, 0},
	{OP_END},
};

static const Op script_wrong_peer[] = {
	{OP_INSERT, "10.0.0.0/8", 1, 0},
	{OP_INSERT, "2001:db8::/32", 1, 0},
	{OP_REMOVE, "10.0.0.0/8", 2, -ENOENT},
	{OP_REMOVE, "10.0.0.0/9", 1, -ENOENT},
	{OP_REMOVE, "10.0.0.0/7", 1, -ENOENT},
	{OP_REMOVE, "11.0.0.0/8", 1, -ENOENT},
	{OP_REMOVE, "2001:db8::/33", 1, -ENOENT},
	{OP_REMOVE, "2001:db8::/32", 2, -ENOENT},
	{OP_REMOVE, "0.0.0.0/0", 1, -ENOENT},
	{OP_LOOKUP, "10.9.9.9", 0, 1},
	{OP_LOOKUP, "2001:db8::9", 0, 1},
	{OP_COUNT, NULL, 0, 2},
	{OP_END},
};

static const Op script_bad_cidr[] = {
	{OP_INSERT, "10.0.0.0/33", 1, -EINVAL},
	{OP_INSERT, "10.0.0.0/255", 1, -EINVAL},
	{OP_INSERT, "2001:db8::/129", 1, -EINVAL},
	{OP_INSERT, "10.0.0.0/32", 1, 0},
	{OP_INSERT, "2001:db8::/128", 1, 0},
	{OP_REMOVE, "10.0.0.0/33", 1, -ENOENT},
	{OP_COUNT, NULL, 0, 2},
	{OP_END},
};

static const Op script_host_bits[] = {
	{OP_INSERT, "10.1.1.77/24", 1, 0},
	{OP_INSERT, "2001:db8::dead:beef/64", 2, 0},
	{OP_INSERT, "255.255.255.255/0", 3, 0},
	{OP_LOOKUP, "10.1.1.200", 0, 1},
	{OP_LOOKUP, "10.1.1.0", 0, 1},
	{OP_LOOKUP, "10.1.2.77", 0, 3},
	{OP_LOOKUP, "2001:db8::1", 0, 2},
	{OP_LOOKUP, "2001:db8:0:1::dead:beef", 0, 0},
	/* the stored prefix is the masked one, and any spelling of it names it */
	{OP_INSERT, "10.1.1.0/24", 4, 0},
	{OP_COUNT, NULL, 0, 3},
	{OP_REMOVE, "10.1.1.9/24", 4, 0},
	{OP_REMOVE, "0.0.0.0/0", 3, 0},
	{OP_REMOVE, "2001:db8::/64", 2, 0},
	{OP_COUNT, NULL, 0, 0},
	{OP_END},
};

/* clang-format off */
static const Op script_remove_by_peer[] = {
	{OP_INSERT, "0.0.0.0/0", 1, 0},
	{OP_INSERT, "10.0.0.0/8", 2, 0},
	{OP_INSERT, "10.1.0.0/16", 1, 0},
	{OP_INSERT, "10.1.1.0/24", 2, 0},
	{OP_INSERT, "10.1.1.1/32", 1, 0},
	{OP_INSERT, "::/0", 2, 0},
	{OP_INSERT, "fd00::/8", 1, 0},
	{OP_NODES, NULL, 0, 7},
	{OP_REMOVE_PEER, NULL, 1, 0},
	{OP_COUNT, NULL, 0, 3},
	{OP_NODES, NULL, 0, 3},
	{OP_LOOKUP, "1.1.1.1", 0, 0},
	{OP_LOOKUP, "10.1.2.1", 0, 2},
	{OP_LOOKUP, "10.1.1.1", 0, 2},
	{OP_LOOKUP, "fd00::1", 0, 2},
	{OP_REMOVE_PEER, NULL, 3, 0},
	{OP_COUNT, NULL, 0, 3},
	{OP_REMOVE_PEER, NULL, 2, 0},
	{OP_COUNT, NULL, 0, 0},
	{OP_NODES, NULL, 0, 0},
	{OP_LOOKUP, "10.1.1.1", 0, 0},
	{OP_LOOKUP, "fd00::1", 0, 0},
	{OP_END},
};
/* clang-format on */

typedef struct {
	const char *name;
	const Op *ops;
} Script;

static const Script scripts[] = {
	{"overlapping", script_overlapping},
	{"overlapping-reversed", script_overlapping_reversed},
	{"siblings", script_siblings},
	{"default-v4", script_default_v4},
	{"v6", script_v6},
	{"families", script_families},
	{"remove-middle", script_remove_middle},
	{"move", script_move},
	{"wrong-peer", script_wrong_peer},
	{"bad-cidr", script_bad_cidr},
	{"host-bits", script_host_bits},
	{"remove-by-peer", script_remove_by_peer},
};

static void
test_script(gconstpointer data)
{
	const Script *script = data;
	WrAllowedIps *table = wr_allowedips_new();

	for (guint i = 0; script->ops[i].op != OP_END; i++) {
		const Op *op = &script->ops[i];
		uint8_t addr[16];
		uint8_t cidr = 0;
		int family = AF_UNSPEC;

		if (op->text != NULL)
			parse_prefix(op->text, &family, addr, &cidr);
		g_test_message("step %u: op %d %s peer %d", i, op->op, op->text ? op->text : "",
			       op->peer);
		switch (op->op) {
		case OP_INSERT:
			g_assert_cmpint(
				wr_allowedips_insert(table, family, addr, cidr, PEER(op->peer)), ==,
				op->expect);
			break;
		case OP_REMOVE:
			g_assert_cmpint(
				wr_allowedips_remove(table, family, addr, cidr, PEER(op->peer)), ==,
				op->expect);
			break;
		case OP_REMOVE_PEER:
			wr_allowedips_remove_by_peer(table, PEER(op->peer));
			break;
		case OP_LOOKUP:
			g_assert_cmpint(GPOINTER_TO_INT(wr_allowedips_lookup(table, family, addr)),
					==, op->expect);
			break;
		case OP_COUNT:
			g_assert_cmpuint(wr_allowedips_count(table), ==, (guint) op->expect);
			break;
		case OP_NODES:
			g_assert_cmpint(wr_allowedips_check(table), ==, op->expect);
			break;
		case OP_END:
		default:
			g_assert_not_reached();
		}
		g_assert_cmpint(wr_allowedips_check(table), >=, 0);
	}
	wr_allowedips_free(table);
}

static void
test_bad_args(void)
{
	WrAllowedIps *table = wr_allowedips_new();
	uint8_t addr[16] = {10, 0, 0, 1};

	g_assert_cmpint(wr_allowedips_insert(table, AF_UNIX, addr, 8, PEER(1)), ==, -EINVAL);
	g_assert_cmpint(wr_allowedips_insert(table, AF_UNSPEC, addr, 0, PEER(1)), ==, -EINVAL);
	/* NULL is what lookup returns for no route, so it cannot be a peer */
	g_assert_cmpint(wr_allowedips_insert(table, AF_INET, addr, 8, NULL), ==, -EINVAL);
	g_assert_cmpint(wr_allowedips_remove(table, AF_UNIX, addr, 8, PEER(1)), ==, -ENOENT);
	g_assert_null(wr_allowedips_lookup(table, AF_UNIX, addr));
	g_assert_cmpuint(wr_allowedips_count(table), ==, 0);
	wr_allowedips_remove_by_peer(table, NULL);
	wr_allowedips_free(table);
	wr_allowedips_free(NULL);
}

static void
collect_cb(int family, const uint8_t *addr, uint8_t cidr, void *user_data)
{
	GPtrArray *out = user_data;

	g_ptr_array_add(out, format_prefix(family, addr, cidr));
}

static void
test_foreach_order(void)
{
	/* inserted shuffled and interleaved with another peer's routes */
	const char *inserts[] = {
		"2001:db8::/32",   "10.1.0.0/16",   "fd00::1",	   "10.0.0.0/8",
		"192.168.0.0/24",  "::/0",	    "10.0.0.0/16", "0.0.0.0/0",
		"10.1.1.1/32",	   "2001:db8::/48", "fd00::/8",	   "172.16.0.0/12",
		"255.255.255.255", "1.2.3.0/24",
	};
	const char *expected[] = {
		"0.0.0.0/0",	      "1.2.3.0/24",  "10.0.0.0/8",    "10.0.0.0/16",
		"10.1.0.0/16",	      "10.1.1.1/32", "172.16.0.0/12", "192.168.0.0/24",
		"255.255.255.255/32", "::/0",	     "2001:db8::/32", "2001:db8::/48",
		"fd00::/8",	      "fd00::1/128",
	};
	const char *others[] = {"10.0.0.0/24", "10.2.0.0/16", "2001:db8:1::/48", "::1"};
	WrAllowedIps *table = wr_allowedips_new();
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);

	G_STATIC_ASSERT(G_N_ELEMENTS(inserts) == G_N_ELEMENTS(expected));
	for (guint i = 0; i < G_N_ELEMENTS(inserts); i++) {
		uint8_t addr[16];
		uint8_t cidr;
		int family;

		parse_prefix(inserts[i], &family, addr, &cidr);
		g_assert_cmpint(wr_allowedips_insert(table, family, addr, cidr, PEER(1)), ==, 0);
		if (i < G_N_ELEMENTS(others)) {
			parse_prefix(others[i], &family, addr, &cidr);
			g_assert_cmpint(wr_allowedips_insert(table, family, addr, cidr, PEER(2)),
					==, 0);
		}
	}

	wr_allowedips_foreach_by_peer(table, PEER(1), collect_cb, got);
	g_assert_cmpuint(got->len, ==, G_N_ELEMENTS(expected));
	for (guint i = 0; i < got->len; i++)
		g_assert_cmpstr(g_ptr_array_index(got, i), ==, expected[i]);

	g_ptr_array_set_size(got, 0);
	wr_allowedips_foreach_by_peer(table, PEER(3), collect_cb, got);
	g_assert_cmpuint(got->len, ==, 0);

	g_assert_cmpuint(wr_allowedips_count(table), ==,
			 G_N_ELEMENTS(inserts) + G_N_ELEMENTS(others));
	wr_allowedips_free(table);
}

typedef struct {
	WrAllowedIps *table;
	void *peer;
	guint calls;
} RemovingCtx;

/* the callback may change the trie: here it removes each route it is told about */
static void
remove_cb(int family, const uint8_t *addr, uint8_t cidr, void *user_data)
{
	RemovingCtx *ctx = user_data;

	g_assert_cmpint(wr_allowedips_remove(ctx->table, family, addr, cidr, ctx->peer), ==, 0);
	ctx->calls++;
}

static void
test_foreach_remove(void)
{
	const char *inserts[] = {"10.0.0.0/8", "10.1.0.0/16", "10.1.1.1/32", "::/0", "fd00::/8"};
	RemovingCtx ctx = {.table = wr_allowedips_new(), .peer = PEER(1)};

	for (guint i = 0; i < G_N_ELEMENTS(inserts); i++) {
		uint8_t addr[16];
		uint8_t cidr;
		int family;

		parse_prefix(inserts[i], &family, addr, &cidr);
		g_assert_cmpint(wr_allowedips_insert(ctx.table, family, addr, cidr, ctx.peer), ==,
				0);
	}
	wr_allowedips_foreach_by_peer(ctx.table, ctx.peer, remove_cb, &ctx);
	g_assert_cmpuint(ctx.calls, ==, G_N_ELEMENTS(inserts));
	g_assert_cmpuint(wr_allowedips_count(ctx.table), ==, 0);
	wr_allowedips_free(ctx.table);
}

/* a deliberately naive reference: a flat list, longest match by scanning */

typedef struct {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	int peer;
} RefRoute;

static void
mask_addr(uint8_t addr[16], int family, uint8_t cidr)
{
	guint len = family == AF_INET ? 4 : 16;

	for (guint i = 0; i < len; i++) {
		guint bits = cidr > i * 8 ? MIN(8U, cidr - i * 8) : 0;

		addr[i] &= (uint8_t) (0xff00U >> bits);
	}
	for (guint i = len; i < 16; i++)
		addr[i] = 0;
}

static bool
ref_contains(const RefRoute *route, int family, const uint8_t *addr)
{
	uint8_t masked[16] = {0};

	if (route->family != family)
		return false;
	memcpy(masked, addr, family == AF_INET ? 4 : 16);
	mask_addr(masked, family, route->cidr);
	return memcmp(masked, route->addr, 16) == 0;
}

static gint
ref_find(GArray *ref, int family, const uint8_t *addr, uint8_t cidr)
{
	for (guint i = 0; i < ref->len; i++) {
		const RefRoute *route = &g_array_index(ref, RefRoute, i);

		if (route->family == family && route->cidr == cidr &&
		    memcmp(route->addr, addr, 16) == 0)
			return (gint) i;
	}
	return -1;
}

static int
ref_lookup(GArray *ref, int family, const uint8_t *addr)
{
	int best_peer = 0;
	int best_cidr = -1;

	for (guint i = 0; i < ref->len; i++) {
		const RefRoute *route = &g_array_index(ref, RefRoute, i);

		if (route->cidr > best_cidr && ref_contains(route, family, addr)) {
			best_cidr = route->cidr;
			best_peer = route->peer;
		}
	}
	return best_peer;
}

static gint
ref_route_cmp(gconstpointer a, gconstpointer b)
{
	const RefRoute *ra = a;
	const RefRoute *rb = b;
	int r;

	if (ra->family != rb->family)
		return ra->family == AF_INET ? -1 : 1;
	r = memcmp(ra->addr, rb->addr, 16);
	if (r != 0)
		return r;
	return (int) ra->cidr - (int) rb->cidr;
}

static void
check_foreach(WrAllowedIps *table, GArray *ref, int peer)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) want = g_array_new(FALSE, FALSE, sizeof(RefRoute));

	for (guint i = 0; i < ref->len; i++) {
		if (g_array_index(ref, RefRoute, i).peer == peer)
			g_array_append_val(want, g_array_index(ref, RefRoute, i));
	}
	g_array_sort(want, ref_route_cmp);
	wr_allowedips_foreach_by_peer(table, PEER(peer), collect_cb, got);
	g_assert_cmpuint(got->len, ==, want->len);
	for (guint i = 0; i < want->len; i++) {
		const RefRoute *route = &g_array_index(want, RefRoute, i);
		g_autofree char *text = format_prefix(route->family, route->addr, route->cidr);

		g_assert_cmpstr(g_ptr_array_index(got, i), ==, text);
	}
}

/* glue only where two routes diverge: at most 2n - 1 nodes for n routes, none for none */
static void
check_shape(const WrAllowedIps *table)
{
	long nodes = wr_allowedips_check(table);
	long routes = (long) wr_allowedips_count(table);

	g_assert_cmpint(nodes, >=, routes);
	g_assert_cmpint(nodes, <=, MAX(2 * routes - 1, 0));
}

#define RANDOM_POOL  6
#define RANDOM_PEERS 8

typedef struct {
	GRand *rand;
	uint8_t pool[2][RANDOM_POOL][16];
} RandomGen;

/* an address near one of a few bases, so that prefixes nest and collide often */
static int
random_addr(RandomGen *gen, uint8_t out[16])
{
	int family = g_rand_boolean(gen->rand) ? AF_INET : AF_INET6;
	guint fi = family == AF_INET ? 0 : 1;
	guint bits = family == AF_INET ? 32 : 128;
	guint flips = (guint) g_rand_int_range(gen->rand, 0, 4);

	memcpy(out, gen->pool[fi][g_rand_int_range(gen->rand, 0, RANDOM_POOL)], 16);
	for (guint i = 0; i < flips; i++) {
		guint bit = (guint) g_rand_int_range(gen->rand, 0, (gint32) bits);

		out[bit / 8] ^= (uint8_t) (0x80U >> (bit % 8));
	}
	return family;
}

static uint8_t
random_cidr(RandomGen *gen, int family)
{
	guint bits = family == AF_INET ? 32 : 128;

	/* favour host routes and short prefixes, the edges of the bit arithmetic */
	switch (g_rand_int_range(gen->rand, 0, 8)) {
	case 0:
		return (uint8_t) bits;
	case 1:
		return (uint8_t) g_rand_int_range(gen->rand, 0, 3);
	case 2:
		return family == AF_INET ? 32 : (uint8_t) g_rand_int_range(gen->rand, 60, 69);
	default:
		return (uint8_t) g_rand_int_range(gen->rand, 0, (gint32) bits + 1);
	}
}

static void
random_round(guint32 seed, guint steps)
{
	RandomGen gen = {.rand = g_rand_new_with_seed(seed)};
	g_autoptr(GArray) ref = g_array_new(FALSE, FALSE, sizeof(RefRoute));
	WrAllowedIps *table = wr_allowedips_new();
	guint lookups = 0;
	guint max_count = 0;

	for (guint f = 0; f < 2; f++) {
		for (guint p = 0; p < RANDOM_POOL; p++) {
			for (guint b = 0; b < 16; b++)
				gen.pool[f][p][b] = (uint8_t) g_rand_int_range(gen.rand, 0, 256);
		}
	}

	for (guint step = 0; step < steps; step++) {
		guint dice = (guint) g_rand_int_range(gen.rand, 0, 100);
		uint8_t addr[16] = {0};
		int family = random_addr(&gen, addr);

		if (dice < 40) {
			uint8_t cidr = random_cidr(&gen, family);
			int peer = g_rand_int_range(gen.rand, 1, RANDOM_PEERS + 1);
			gint idx;

			g_assert_cmpint(wr_allowedips_insert(table, family, addr, cidr, PEER(peer)),
					==, 0);
			mask_addr(addr, family, cidr);
			idx = ref_find(ref, family, addr, cidr);
			if (idx >= 0) {
				g_array_index(ref, RefRoute, idx).peer = peer;
			} else {
				RefRoute route = {.family = family, .cidr = cidr, .peer = peer};

				memcpy(route.addr, addr, 16);
				g_array_append_val(ref, route);
			}
		} else if (dice < 60 && ref->len > 0) {
			/* an existing prefix, with the right peer most of the time */
			guint idx = (guint) g_rand_int_range(gen.rand, 0, (gint32) ref->len);
			RefRoute route = g_array_index(ref, RefRoute, idx);
			int peer = g_rand_int_range(gen.rand, 0, 4) == 0
					   ? g_rand_int_range(gen.rand, 1, RANDOM_PEERS + 1)
					   : route.peer;

			g_assert_cmpint(wr_allowedips_remove(table, route.family, route.addr,
							     route.cidr, PEER(peer)),
					==, peer == route.peer ? 0 : -ENOENT);
			if (peer == route.peer)
				g_array_remove_index_fast(ref, idx);
		} else if (dice < 65) {
			/* a random prefix, mostly absent */
			uint8_t cidr = random_cidr(&gen, family);
			int peer = g_rand_int_range(gen.rand, 1, RANDOM_PEERS + 1);
			uint8_t masked[16];
			gint idx;
			int expect;

			memcpy(masked, addr, 16);
			mask_addr(masked, family, cidr);
			idx = ref_find(ref, family, masked, cidr);
			expect = idx >= 0 && g_array_index(ref, RefRoute, idx).peer == peer
					 ? 0
					 : -ENOENT;
			g_assert_cmpint(wr_allowedips_remove(table, family, addr, cidr, PEER(peer)),
					==, expect);
			if (expect == 0)
				g_array_remove_index_fast(ref, (guint) idx);
		} else if (dice < 67) {
			int peer = g_rand_int_range(gen.rand, 1, RANDOM_PEERS + 1);

			wr_allowedips_remove_by_peer(table, PEER(peer));
			for (guint i = ref->len; i > 0; i--) {
				if (g_array_index(ref, RefRoute, i - 1).peer == peer)
					g_array_remove_index_fast(ref, i - 1);
			}
		} else if (dice < 69) {
			check_foreach(table, ref, g_rand_int_range(gen.rand, 1, RANDOM_PEERS + 1));
		} else {
			g_assert_cmpint(GPOINTER_TO_INT(wr_allowedips_lookup(table, family, addr)),
					==, ref_lookup(ref, family, addr));
			lookups++;
		}
		g_assert_cmpuint(wr_allowedips_count(table), ==, ref->len);
		check_shape(table);
		max_count = MAX(max_count, ref->len);
	}

	/* every stored prefix's first and last address, and the ones just outside */
	for (guint i = 0; i < ref->len; i++) {
		const RefRoute *route = &g_array_index(ref, RefRoute, i);
		guint bits = route->family == AF_INET ? 32 : 128;
		uint8_t addr[16];

		for (guint edge = 0; edge < 4; edge++) {
			memcpy(addr, route->addr, 16);
			if (edge & 1) {
				for (guint b = route->cidr; b < bits; b++)
					addr[b / 8] |= (uint8_t) (0x80U >> (b % 8));
			}
			if ((edge & 2) && route->cidr > 0) {
				guint b = route->cidr - 1U;

				addr[b / 8] ^= (uint8_t) (0x80U >> (b % 8));
			}
			g_assert_cmpint(
				GPOINTER_TO_INT(wr_allowedips_lookup(table, route->family, addr)),
				==, ref_lookup(ref, route->family, addr));
			lookups++;
		}
	}
	for (int peer = 1; peer <= RANDOM_PEERS; peer++)
		check_foreach(table, ref, peer);
	g_test_message("seed %u: %u steps, %u lookups, up to %u prefixes", seed, steps, lookups,
		       max_count);

	/* freeing a populated trie must release every node (ASan's leak checker watches) */
	if (g_rand_boolean(gen.rand)) {
		for (int peer = 1; peer <= RANDOM_PEERS; peer++)
			wr_allowedips_remove_by_peer(table, PEER(peer));
		g_assert_cmpuint(wr_allowedips_count(table), ==, 0);
		g_assert_cmpint(wr_allowedips_check(table), ==, 0);
	}
	wr_allowedips_free(table);
	g_rand_free(gen.rand);
}

static void
test_random(void)
{
	/* g_test_rand_int is seeded per test; rerun a failure with --seed */
	for (guint round = 0; round < 8; round++)
		random_round(g_test_rand_int(), g_test_slow() ? 200000 : 8000);
}

static void
test_random_fixed(void)
{
	random_round(0x5eed1234U, 20000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	for (guint i = 0; i < G_N_ELEMENTS(scripts); i++) {
		g_autofree char *path = g_strdup_printf("/warren/allowedips/%s", scripts[i].name);

		g_test_add_data_func(path, &scripts[i], test_script);
	}
	g_test_add_func("/warren/allowedips/bad-args", test_bad_args);
	g_test_add_func("/warren/allowedips/foreach-order", test_foreach_order);
	g_test_add_func("/warren/allowedips/foreach-remove", test_foreach_remove);
	g_test_add_func("/warren/allowedips/random", test_random);
	g_test_add_func("/warren/allowedips/random-fixed", test_random_fixed);
	return g_test_run();
}
