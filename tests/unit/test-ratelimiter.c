/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrRatelimiterTest"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <sys/socket.h>

#include "wr-crypto.h"
#include "wr-messages.h"
#include "wr-ratelimiter.h"

/* an arbitrary start, so nothing depends on time zero */
#define T0    (1000 * WR_USEC_PER_SEC)
#define MS    WR_USEC_PER_MSEC
#define SEC   WR_USEC_PER_SEC
#define COST  (SEC / WR_RATELIMITER_PACKETS_PER_SECOND) /* 50 ms */
#define BURST WR_RATELIMITER_PACKETS_BURST

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrRatelimiter, wr_ratelimiter_free)

typedef struct {
	int family;
	uint8_t addr[16];
} Source;

static Source
source(const char *text)
{
	Source src = {0};

	if (inet_pton(AF_INET, text, src.addr) == 1)
		src.family = AF_INET;
	else if (inet_pton(AF_INET6, text, src.addr) == 1)
		src.family = AF_INET6;
	else
		g_error("bad address in test: %s", text);
	return src;
}

static bool
allow(WrRatelimiter *rl, const char *text, int64_t now)
{
	Source src = source(text);

	return wr_ratelimiter_allow(rl, src.family, src.addr, now);
}

/* how many in a row are allowed at one instant */
static guint
drain(WrRatelimiter *rl, const char *text, int64_t now)
{
	guint n = 0;

	while (allow(rl, text, now)) {
		n++;
		g_assert_cmpuint(n, <=, BURST);
	}
	return n;
}

static void
test_burst(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();

	for (guint i = 0; i < BURST; i++)
		g_assert_true(allow(rl, "192.0.2.1", T0));
	g_assert_false(allow(rl, "192.0.2.1", T0));
	g_assert_false(allow(rl, "192.0.2.1", T0));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
}

static void
test_refill(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();

	g_assert_cmpuint(drain(rl, "192.0.2.1", T0), ==, BURST);
	/* one packet's worth of credit takes exactly 50 ms */
	g_assert_false(allow(rl, "192.0.2.1", T0 + COST - 1));
	g_assert_true(allow(rl, "192.0.2.1", T0 + COST));
	g_assert_false(allow(rl, "192.0.2.1", T0 + COST));
	/* two packets' worth after 100 ms more */
	g_assert_cmpuint(drain(rl, "192.0.2.1", T0 + 3 * COST), ==, 2);
	/* a long idle refills the bucket, but only up to the burst */
	g_assert_cmpuint(drain(rl, "192.0.2.1", T0 + 3600 * SEC), ==, BURST);
	/* a clock that goes back earns nothing and breaks nothing */
	g_assert_false(allow(rl, "192.0.2.1", T0));
	g_assert_true(allow(rl, "192.0.2.1", T0 + 3600 * SEC + COST));
}

static void
test_sustained(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();
	guint allowed = 0;

	/* 100 packets per second for 10 s: the burst, then 20 per second */
	for (int64_t i = 0; i < 1000; i++)
		allowed += allow(rl, "2001:db8::1", T0 + i * 10 * MS);
	/* credit: a full bucket (250 ms) plus 9990 ms, at 50 ms a packet */
	g_assert_cmpuint(allowed, ==, (BURST * COST + 9990 * MS) / COST);
}

static void
test_independent(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();

	g_assert_cmpuint(drain(rl, "192.0.2.1", T0), ==, BURST);
	g_assert_cmpuint(drain(rl, "192.0.2.2", T0), ==, BURST);
	g_assert_cmpuint(drain(rl, "198.51.100.1", T0), ==, BURST);
	/* the v6 address with the same leading bytes is another source */
	g_assert_cmpuint(drain(rl, "c000:0201::", T0), ==, BURST);
	g_assert_cmpuint(drain(rl, "::ffff:192.0.2.1", T0), ==, BURST);
	g_assert_false(allow(rl, "192.0.2.1", T0));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 5);
}

static void
test_v6_prefix(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();

	/* one /64 is one source, whatever the interface identifier */
	g_assert_true(allow(rl, "2001:db8:1:2::1", T0));
	g_assert_true(allow(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", T0));
	g_assert_true(allow(rl, "2001:db8:1:2:1234::5", T0));
	g_assert_true(allow(rl, "2001:db8:1:2::1", T0));
	g_assert_true(allow(rl, "2001:db8:1:2::9", T0));
	g_assert_false(allow(rl, "2001:db8:1:2::77", T0));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
	/* the neighbouring /64s are not */
	g_assert_cmpuint(drain(rl, "2001:db8:1:3::1", T0), ==, BURST);
	g_assert_cmpuint(drain(rl, "2001:db8:1:1::1", T0), ==, BURST);
	g_assert_cmpuint(drain(rl, "2001:db8:1:2:0:0:0:1", T0), ==, 0);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 3);
}

static void
test_bound(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();
	uint8_t addr[4] = {10, 0, 0, 0};
	const uint8_t newcomer[4] = {192, 0, 2, 1};

	for (guint i = 0; i < WR_RATELIMITER_MAX_ENTRIES; i++) {
		addr[2] = (uint8_t) (i >> 8);
		addr[3] = (uint8_t) i;
		g_assert_true(wr_ratelimiter_allow(rl, AF_INET, addr, T0));
	}
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, WR_RATELIMITER_MAX_ENTRIES);

	/* full: a new source is refused and not tracked, a known one still has its bucket */
	g_assert_false(wr_ratelimiter_allow(rl, AF_INET, newcomer, T0 + 10 * MS));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, WR_RATELIMITER_MAX_ENTRIES);
	g_assert_true(wr_ratelimiter_allow(rl, AF_INET, addr, T0 + 10 * MS));

	/* nothing is idle long enough yet */
	wr_ratelimiter_gc(rl, T0 + SEC);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, WR_RATELIMITER_MAX_ENTRIES);
	g_assert_false(wr_ratelimiter_allow(rl, AF_INET, newcomer, T0 + SEC));

	/* all but the one touched at T0 + 10 ms are collected */
	wr_ratelimiter_gc(rl, T0 + SEC + 1);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
	g_assert_true(wr_ratelimiter_allow(rl, AF_INET, newcomer, T0 + SEC + 1));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 2);
}

static void
test_gc(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();

	g_assert_true(allow(rl, "192.0.2.1", T0));
	g_assert_true(allow(rl, "192.0.2.2", T0));
	g_assert_true(allow(rl, "2001:db8::1", T0));
	/* a refused packet also counts as activity */
	g_assert_cmpuint(drain(rl, "192.0.2.2", T0 + 600 * MS), ==, BURST);
	g_assert_false(allow(rl, "192.0.2.2", T0 + 600 * MS));
	/* the same /64 as 2001:db8::1: refreshes that entry */
	g_assert_true(allow(rl, "2001:db8::2", T0 + 900 * MS));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 3);

	/* idle for exactly a second is kept; more is dropped */
	wr_ratelimiter_gc(rl, T0 + SEC);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 3);
	wr_ratelimiter_gc(rl, T0 + SEC + 1);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 2);
	wr_ratelimiter_gc(rl, T0 + 1700 * MS);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
	wr_ratelimiter_gc(rl, T0 + 2 * SEC);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 0);

	/* a collected source starts again with a full burst */
	g_assert_cmpuint(drain(rl, "192.0.2.1", T0 + 2 * SEC), ==, BURST);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
}

static void
test_bad_family(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new();
	const uint8_t addr[16] = {0};

	g_assert_false(wr_ratelimiter_allow(rl, AF_UNSPEC, addr, T0));
	g_assert_false(wr_ratelimiter_allow(rl, AF_UNIX, addr, T0));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 0);
	wr_ratelimiter_free(NULL);
}

/* two instances have independent tables (and keys) */
static void
test_instances(void)
{
	g_autoptr(WrRatelimiter) a = wr_ratelimiter_new();
	g_autoptr(WrRatelimiter) b = wr_ratelimiter_new();

	g_assert_cmpuint(drain(a, "192.0.2.1", T0), ==, BURST);
	g_assert_cmpuint(drain(b, "192.0.2.1", T0), ==, BURST);
	g_assert_cmpuint(wr_ratelimiter_size(a), ==, 1);
	g_assert_cmpuint(wr_ratelimiter_size(b), ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/ratelimiter/burst", test_burst);
	g_test_add_func("/warren/ratelimiter/refill", test_refill);
	g_test_add_func("/warren/ratelimiter/sustained", test_sustained);
	g_test_add_func("/warren/ratelimiter/independent", test_independent);
	g_test_add_func("/warren/ratelimiter/v6-prefix", test_v6_prefix);
	g_test_add_func("/warren/ratelimiter/bound", test_bound);
	g_test_add_func("/warren/ratelimiter/gc", test_gc);
	g_test_add_func("/warren/ratelimiter/bad-family", test_bad_family);
	g_test_add_func("/warren/ratelimiter/instances", test_instances);
	return g_test_run();
}
