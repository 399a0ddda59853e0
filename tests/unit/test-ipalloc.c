/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tailnet address allocation (wr-ipalloc): lowest-free order, the addresses never handed out,
 * reserve and release with their refusals, exhaustion of small prefixes, stability across a
 * restart, the IPv6 twins, refused prefixes, and a randomized differential test against a
 * naive array.
 */

#define G_LOG_DOMAIN "WrIpallocTest"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "wr-ipalloc.h"

static WrIpalloc *
new_ok(const char *v4, const char *v6)
{
	g_autoptr(GError) error = NULL;
	WrIpalloc *a = wr_ipalloc_new(v4, v6, &error);

	g_assert_no_error(error);
	g_assert_nonnull(a);
	return a;
}

static void
alloc_text(WrIpalloc *a, char v4[WR_IPALLOC_STRLEN], char v6[WR_IPALLOC_STRLEN])
{
	g_autoptr(GError) error = NULL;
	WrIpallocPair pair;

	g_assert_true(wr_ipalloc_allocate(a, &pair, &error));
	g_assert_no_error(error);
	wr_ipalloc_format(&pair, v4, v6);
}

static void
assert_next(WrIpalloc *a, const char *v4, const char *v6)
{
	char got4[WR_IPALLOC_STRLEN];
	char got6[WR_IPALLOC_STRLEN];

	alloc_text(a, got4, got6);
	g_assert_cmpstr(got4, ==, v4);
	if (v6 != NULL)
		g_assert_cmpstr(got6, ==, v6);
}

static void
v4(const char *text, uint8_t out[4])
{
	g_assert_cmpint(inet_pton(AF_INET, text, out), ==, 1);
}

static void
test_defaults(void)
{
	g_autoptr(WrIpalloc) a = new_ok(NULL, NULL);

	g_assert_cmpuint(wr_ipalloc_n_used(a), ==, 0);
	/* 2^22 addresses less network, broadcast and 100.100.100.100 */
	g_assert_cmpuint(wr_ipalloc_n_free(a), ==, (1u << 22) - 3);
	assert_next(a, "100.64.0.1/32", "fd7a:115c:a1e0::6440:1/128");
	assert_next(a, "100.64.0.2/32", "fd7a:115c:a1e0::6440:2/128");
	g_assert_cmpuint(wr_ipalloc_n_used(a), ==, 2);
}

static void
test_order(void)
{
	g_autoptr(WrIpalloc) a = new_ok("10.1.0.0/16", NULL);
	g_autoptr(GError) error = NULL;
	uint8_t addr[4];

	for (guint i = 1; i <= 300; i++) {
		g_autofree char *expect = g_strdup_printf("10.1.%u.%u/32", i / 256, i % 256);

		assert_next(a, expect, NULL);
	}
	/* the lowest hole is filled first */
	v4("10.1.0.200", addr);
	g_assert_true(wr_ipalloc_release(a, addr, &error));
	v4("10.1.0.3", addr);
	g_assert_true(wr_ipalloc_release(a, addr, &error));
	g_assert_no_error(error);
	assert_next(a, "10.1.0.3/32", NULL);
	assert_next(a, "10.1.0.200/32", NULL);
	assert_next(a, "10.1.1.45/32", NULL);
}

static void
test_exclusions(void)
{
	g_autoptr(WrIpalloc) a = new_ok("100.100.100.0/24", NULL);
	g_autoptr(WrIpalloc) low = new_ok("0.0.0.0/24", NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GError) error = NULL;
	WrIpallocPair pair;
	uint8_t addr[4];
	guint n = 0;

	g_assert_cmpuint(wr_ipalloc_n_free(a), ==, 253);
	while (wr_ipalloc_allocate(a, &pair, NULL)) {
		char t4[WR_IPALLOC_STRLEN];
		char t6[WR_IPALLOC_STRLEN];

		wr_ipalloc_format(&pair, t4, t6);
		g_assert_cmpstr(t4, !=, "100.100.100.0/32");
		g_assert_cmpstr(t4, !=, "100.100.100.255/32");
		g_assert_cmpstr(t4, !=, "100.100.100.100/32");
		g_assert_cmpstr(t6, !=, "fd7a:115c:a1e0::6464:6464/128");
		g_assert_true(g_hash_table_add(seen, g_strdup(t4)));
		n++;
	}
	g_assert_cmpuint(n, ==, 253);
	g_assert_cmpuint(wr_ipalloc_n_free(a), ==, 0);

	/* excluded addresses are neither reserved nor released, and are not "used" */
	v4("100.100.100.100", addr);
	g_assert_false(wr_ipalloc_is_allocatable(a, addr));
	g_assert_false(wr_ipalloc_is_used(a, addr));
	g_assert_false(wr_ipalloc_reserve(a, addr, &error));
	g_assert_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXCLUDED);
	g_assert_cmpstr(error->message, ==,
			"100.100.100.100 is reserved (network, broadcast or MagicDNS address)");
	g_clear_error(&error);
	g_assert_false(wr_ipalloc_release(a, addr, &error));
	g_assert_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXCLUDED);
	g_clear_error(&error);
	g_assert_false(wr_ipalloc_reserve_text(a, "fd7a:115c:a1e0::6464:6464", &error));
	g_assert_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXCLUDED);
	g_clear_error(&error);

	/* the address whose twin would be <prefix>::53 is never handed out either */
	n = 0;
	while (wr_ipalloc_allocate(low, &pair, NULL)) {
		g_assert_false(pair.v4[3] == 0x53 || pair.v4[3] == 0 || pair.v4[3] == 255);
		n++;
	}
	g_assert_cmpuint(n, ==, 253);
}

static void
test_reserve_release(void)
{
	g_autoptr(WrIpalloc) a = new_ok(NULL, NULL);
	g_autoptr(GError) error = NULL;
	uint8_t addr[4];
	struct {
		const char *text;
		gboolean reserve;
		int code;
		const char *message;
	} cases[] = {
		{"100.64.0.1", TRUE, -1, NULL},
		{"100.64.0.1/32", TRUE, WR_IPALLOC_ERROR_IN_USE, "100.64.0.1 is already in use"},
		{"fd7a:115c:a1e0::6440:1", TRUE, WR_IPALLOC_ERROR_IN_USE,
		 "100.64.0.1 is already in use"},
		{"fd7a:115c:a1e0::6440:3/128", TRUE, -1, NULL},
		{"100.64.0.9", FALSE, WR_IPALLOC_ERROR_NOT_IN_USE, "100.64.0.9 is not in use"},
		{"100.128.0.1", TRUE, WR_IPALLOC_ERROR_OUTSIDE,
		 "100.128.0.1 is outside the tailnet prefix"},
		{"10.0.0.1", FALSE, WR_IPALLOC_ERROR_OUTSIDE,
		 "10.0.0.1 is outside the tailnet prefix"},
		{"100.64.0.0", TRUE, WR_IPALLOC_ERROR_EXCLUDED, NULL},
		{"100.127.255.255", TRUE, WR_IPALLOC_ERROR_EXCLUDED, NULL},
		{"fd7a:115c:a1e1::6440:1", TRUE, WR_IPALLOC_ERROR_OUTSIDE,
		 "fd7a:115c:a1e1::6440:1 is outside the tailnet IPv6 prefix"},
		{"fd7a:115c:a1e0:1::6440:1", TRUE, WR_IPALLOC_ERROR_OUTSIDE, NULL},
		{"fd7a:115c:a1e0::a00:1", TRUE, WR_IPALLOC_ERROR_OUTSIDE,
		 "10.0.0.1 is outside the tailnet prefix"},
		{"100.64.0.0/10", TRUE, WR_IPALLOC_ERROR_BAD_ADDRESS,
		 "100.64.0.0/10 is not a host address"},
		{"junk", TRUE, WR_IPALLOC_ERROR_BAD_ADDRESS, "junk is not a host address"},
		{"", FALSE, WR_IPALLOC_ERROR_BAD_ADDRESS, NULL},
		{NULL, FALSE, WR_IPALLOC_ERROR_BAD_ADDRESS, NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean ok = cases[i].reserve ? wr_ipalloc_reserve_text(a, cases[i].text, &error)
					       : wr_ipalloc_release_text(a, cases[i].text, &error);

		if (cases[i].code < 0) {
			g_assert_no_error(error);
			g_assert_true(ok);
			continue;
		}
		g_assert_false(ok);
		g_assert_error(error, WR_IPALLOC_ERROR, cases[i].code);
		if (cases[i].message != NULL)
			g_assert_cmpstr(error->message, ==, cases[i].message);
		g_clear_error(&error);
	}
	g_assert_cmpuint(wr_ipalloc_n_used(a), ==, 2);
	v4("100.64.0.3", addr);
	g_assert_true(wr_ipalloc_is_used(a, addr));
	/* reserved addresses are skipped */
	assert_next(a, "100.64.0.2/32", NULL);
	assert_next(a, "100.64.0.4/32", NULL);
	g_assert_true(wr_ipalloc_release_text(a, "100.64.0.3/32", &error));
	g_assert_false(wr_ipalloc_is_used(a, addr));
	g_assert_true(wr_ipalloc_release(a, addr, NULL) == FALSE);
	g_assert_true(wr_ipalloc_reserve(a, addr, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(wr_ipalloc_n_used(a), ==, 4);
}

static void
test_exhaustion(void)
{
	g_autoptr(WrIpalloc) a = new_ok("192.168.7.4/30", NULL);
	g_autoptr(GError) error = NULL;
	WrIpallocPair pair;
	uint8_t addr[4];

	g_assert_cmpuint(wr_ipalloc_n_free(a), ==, 2);
	assert_next(a, "192.168.7.5/32", NULL);
	assert_next(a, "192.168.7.6/32", NULL);
	memset(&pair, 0xee, sizeof(pair));
	g_assert_false(wr_ipalloc_allocate(a, &pair, &error));
	g_assert_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXHAUSTED);
	g_assert_cmpstr(error->message, ==,
			"no free address left in the tailnet prefix (2 in use)");
	g_clear_error(&error);
	g_assert_cmpuint(pair.v4[0], ==, 0xee);
	v4("192.168.7.5", addr);
	g_assert_true(wr_ipalloc_release(a, addr, &error));
	assert_next(a, "192.168.7.5/32", NULL);
	g_assert_false(wr_ipalloc_allocate(a, &pair, NULL));

	/* a prefix spanning a whole bitmap word and then some: /25 has 128 addresses */
	{
		g_autoptr(WrIpalloc) b = new_ok("10.9.8.128/25", NULL);
		guint n = 0;

		while (wr_ipalloc_allocate(b, &pair, NULL))
			n++;
		g_assert_cmpuint(n, ==, 126);
		v4("10.9.8.191", addr);
		g_assert_true(wr_ipalloc_release(b, addr, NULL));
		g_assert_true(wr_ipalloc_allocate(b, &pair, NULL));
		g_assert_cmpmem(pair.v4, 4, addr, 4);
	}
}

static void
test_stability(void)
{
	g_autoptr(WrIpalloc) first = new_ok("100.64.0.0/16", "fd00:aa:bb::/48");
	g_autoptr(WrIpalloc) restarted = new_ok("100.64.0.0/16", "fd00:aa:bb::/48");
	g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GRand) rand = g_rand_new_with_seed(5);
	char t4[WR_IPALLOC_STRLEN];
	char t6[WR_IPALLOC_STRLEN];
	char r4[WR_IPALLOC_STRLEN];
	char r6[WR_IPALLOC_STRLEN];

	/* what the store would keep: some v4, some v6 text, with holes */
	for (guint i = 0; i < 1000; i++) {
		alloc_text(first, t4, t6);
		if (i % 7 == 3)
			g_assert_true(wr_ipalloc_release_text(first, t4, NULL));
		else
			g_ptr_array_add(stored, g_strdup(i % 2 ? t4 : t6));
	}
	/* reserved in any order at start-up, the next allocations agree */
	for (guint i = stored->len; i > 1; i--) {
		guint j = (guint) g_rand_int_range(rand, 0, (gint32) i);
		gpointer tmp = stored->pdata[i - 1];

		stored->pdata[i - 1] = stored->pdata[j];
		stored->pdata[j] = tmp;
	}
	for (guint i = 0; i < stored->len; i++) {
		g_autoptr(GError) error = NULL;

		g_assert_true(wr_ipalloc_reserve_text(restarted, stored->pdata[i], &error));
		g_assert_no_error(error);
	}
	g_assert_cmpuint(wr_ipalloc_n_used(restarted), ==, wr_ipalloc_n_used(first));
	for (guint i = 0; i < 300; i++) {
		alloc_text(first, t4, t6);
		alloc_text(restarted, r4, r6);
		g_assert_cmpstr(t4, ==, r4);
		g_assert_cmpstr(t6, ==, r6);
	}
}

static void
test_twin(void)
{
	g_autoptr(WrIpalloc) a = new_ok("10.64.0.0/12", "fd12:3456:789a:1::/64");
	g_autoptr(WrIpalloc) b = new_ok(NULL, "fc00::/96");
	uint8_t addr[4];
	uint8_t six[16];
	char text[INET6_ADDRSTRLEN];

	assert_next(a, "10.64.0.1/32", "fd12:3456:789a:1::a40:1/128");
	v4("10.79.255.254", addr);
	wr_ipalloc_twin(a, addr, six);
	g_assert_nonnull(inet_ntop(AF_INET6, six, text, sizeof(text)));
	g_assert_cmpstr(text, ==, "fd12:3456:789a:1::a4f:fffe");
	assert_next(b, "100.64.0.1/32", "fc00::6440:1/128");
}

static void
test_bad_prefixes(void)
{
	struct {
		const char *v4;
		const char *v6;
		const char *message;
	} cases[] = {
		{"100.64.0.0/31", NULL, "IPv4 prefix 100.64.0.0/31 must be /8 to /30"},
		{"100.64.0.0/32", NULL, NULL},
		{"100.64.0.1", NULL, NULL},
		{"0.0.0.0/0", NULL, NULL},
		{"100.0.0.0/7", NULL, "IPv4 prefix 100.0.0.0/7 must be /8 to /30"},
		{"100.64.0.1/10", NULL, "IPv4 prefix 100.64.0.1/10 has host bits set"},
		{"fd7a::/48", NULL, "IPv4 prefix fd7a::/48 is not an IPv4 CIDR prefix"},
		{"junk", NULL, NULL},
		{"", NULL, NULL},
		{NULL, "100.64.0.0/10", "IPv6 prefix 100.64.0.0/10 is not an IPv6 CIDR prefix"},
		{NULL, "2001:db8::/48",
		 "IPv6 prefix 2001:db8::/48 is not a unique local (fc00::/7) prefix"},
		{NULL, "fd7a:115c::/40", "IPv6 prefix fd7a:115c::/40 must be /48 to /96"},
		{NULL, "fd7a:115c:a1e0::/97", NULL},
		{NULL, "fd7a:115c:a1e0::1/48",
		 "IPv6 prefix fd7a:115c:a1e0::1/48 has host bits set"},
		{NULL, "fd7a:115c:a1e0::", NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		WrIpalloc *a = wr_ipalloc_new(cases[i].v4, cases[i].v6, &error);

		g_assert_null(a);
		g_assert_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX);
		if (cases[i].message != NULL)
			g_assert_cmpstr(error->message, ==, cases[i].message);
	}
	/* the edges that are fine */
	wr_ipalloc_free(new_ok("10.0.0.0/8", "fdff:ffff:ffff::/48"));
	wr_ipalloc_free(new_ok("10.0.0.0/30", "fc00::/96"));
	wr_ipalloc_free(NULL);
}

/* random operations against a plain array of flags */
static void
test_differential(void)
{
	g_autoptr(WrIpalloc) a = new_ok("10.20.0.0/20", NULL);
	g_autoptr(GRand) rand = g_rand_new_with_seed(20261204);
	guint n = 4096;
	g_autofree gboolean *used = g_new0(gboolean, n);
	guint n_used = 0;

	for (guint op = 0; op < 40000; op++) {
		guint i = (guint) g_rand_int_range(rand, 0, (gint32) n);
		uint32_t addr = 0x0a140000u + i;
		uint8_t bytes[4] = {(uint8_t) (addr >> 24), (uint8_t) (addr >> 16),
				    (uint8_t) (addr >> 8), (uint8_t) addr};
		gboolean excluded = i == 0 || i == n - 1;
		WrIpallocPair pair;

		switch (g_rand_int_range(rand, 0, 3)) {
		case 0: {
			guint lowest = 1;

			while (lowest < n - 1 && used[lowest])
				lowest++;
			if (lowest == n - 1) {
				g_assert_false(wr_ipalloc_allocate(a, &pair, NULL));
				break;
			}
			g_assert_true(wr_ipalloc_allocate(a, &pair, NULL));
			g_assert_cmpuint((guint) pair.v4[2] * 256 + pair.v4[3], ==, lowest);
			used[lowest] = TRUE;
			n_used++;
			break;
		}
		case 1:
			g_assert_cmpint(wr_ipalloc_reserve(a, bytes, NULL), ==,
					!excluded && !used[i]);
			if (!excluded && !used[i]) {
				used[i] = TRUE;
				n_used++;
			}
			break;
		default:
			g_assert_cmpint(wr_ipalloc_release(a, bytes, NULL), ==,
					!excluded && used[i]);
			if (!excluded && used[i]) {
				used[i] = FALSE;
				n_used--;
			}
			break;
		}
		g_assert_cmpint(wr_ipalloc_is_used(a, bytes), ==, !excluded && used[i]);
		g_assert_cmpuint(wr_ipalloc_n_used(a), ==, n_used);
		g_assert_cmpuint(wr_ipalloc_n_free(a), ==, n - 2 - n_used);
	}
}

/* 100k nodes in the default prefix, in order, quickly */
static void
test_many(void)
{
	g_autoptr(WrIpalloc) a = new_ok(NULL, NULL);
	WrIpallocPair pair;
	uint32_t prev = 0;

	for (guint i = 0; i < 100000; i++) {
		uint32_t cur;

		g_assert_true(wr_ipalloc_allocate(a, &pair, NULL));
		cur = ((uint32_t) pair.v4[0] << 24) | ((uint32_t) pair.v4[1] << 16) |
		      ((uint32_t) pair.v4[2] << 8) | pair.v4[3];
		g_assert_cmpuint(cur, >, prev);
		prev = cur;
	}
	g_assert_cmpuint(prev, ==, 0x64400000u + 100000);
	g_assert_cmpuint(wr_ipalloc_n_used(a), ==, 100000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/ipalloc/defaults", test_defaults);
	g_test_add_func("/warren/ipalloc/order", test_order);
	g_test_add_func("/warren/ipalloc/exclusions", test_exclusions);
	g_test_add_func("/warren/ipalloc/reserve-release", test_reserve_release);
	g_test_add_func("/warren/ipalloc/exhaustion", test_exhaustion);
	g_test_add_func("/warren/ipalloc/stability", test_stability);
	g_test_add_func("/warren/ipalloc/twin", test_twin);
	g_test_add_func("/warren/ipalloc/bad-prefixes", test_bad_prefixes);
	g_test_add_func("/warren/ipalloc/differential", test_differential);
	g_test_add_func("/warren/ipalloc/many", test_many);
	return g_test_run();
}
