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

/* how many in a row are allowed at one instant, with a limiter of another burst */
static guint
drain_up_to(WrRatelimiter *rl, const char *text, int64_t now, guint limit)
{
	guint n = 0;

	while (allow(rl, text, now)) {
		n++;
		g_assert_cmpuint(n, <=, limit);
	}
	return n;
}

static int64_t
retry_after(WrRatelimiter *rl, const char *text, int64_t now)
{
	Source src = source(text);

	return wr_ratelimiter_retry_after(rl, src.family, src.addr, now);
}

static void
test_full_bounds(void)
{
	g_autoptr(WrRatelimiter) ok = NULL;

	g_assert_null(wr_ratelimiter_new_full(0, 1, 1));
	g_assert_null(wr_ratelimiter_new_full(1, 0, 1));
	g_assert_null(wr_ratelimiter_new_full(1, 1, 0));
	g_assert_null(wr_ratelimiter_new_full(WR_RATELIMITER_PER_MINUTE_MAX + 1, 1, 1));
	g_assert_null(wr_ratelimiter_new_full(1, WR_RATELIMITER_BURST_MAX + 1, 1));
	g_assert_null(wr_ratelimiter_new_full(1, 1, WR_RATELIMITER_ENTRIES_MAX_MAX + 1));
	ok = wr_ratelimiter_new_full(WR_RATELIMITER_PER_MINUTE_MAX, WR_RATELIMITER_BURST_MAX,
				     WR_RATELIMITER_ENTRIES_MAX_MAX);
	g_assert_nonnull(ok);
	g_clear_pointer(&ok, wr_ratelimiter_free);
	/* the slowest rate with the largest burst: the credit fits, the burst is all there */
	ok = wr_ratelimiter_new_full(1, WR_RATELIMITER_BURST_MAX, 1);
	g_assert_nonnull(ok);
	g_assert_cmpuint(drain_up_to(ok, "192.0.2.1", T0, WR_RATELIMITER_BURST_MAX), ==,
			 WR_RATELIMITER_BURST_MAX);
	g_assert_cmpint(retry_after(ok, "192.0.2.1", T0), ==, 60 * SEC);
}

/* warren-control's register limiter: 60 a minute with a burst of 20 */
static void
test_per_minute(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new_full(60, 20, 100);
	guint allowed = 0;

	g_assert_nonnull(rl);
	g_assert_cmpuint(drain_up_to(rl, "192.0.2.1", T0, 20), ==, 20);
	/* one a second from then on */
	g_assert_false(allow(rl, "192.0.2.1", T0 + SEC - 1));
	g_assert_true(allow(rl, "192.0.2.1", T0 + SEC));
	g_assert_false(allow(rl, "192.0.2.1", T0 + SEC));
	g_assert_cmpuint(drain_up_to(rl, "192.0.2.1", T0 + 4 * SEC, 20), ==, 3);
	/* ten a second for two minutes: the 20 it still had earned back, then 60 a minute */
	for (int64_t i = 1; i <= 1200; i++)
		allowed += allow(rl, "198.51.100.7", T0 + i * 100 * MS);
	g_assert_cmpuint(allowed, ==, 20 + (1200 * 100 * MS - 100 * MS) / SEC);
	/* a rate that does not divide a minute: 7 a minute, cost floor(60 s / 7) */
	g_clear_pointer(&rl, wr_ratelimiter_free);
	rl = wr_ratelimiter_new_full(7, 1, 10);
	g_assert_nonnull(rl);
	g_assert_true(allow(rl, "192.0.2.1", T0));
	g_assert_false(allow(rl, "192.0.2.1", T0 + 60 * SEC / 7 - 1));
	g_assert_true(allow(rl, "192.0.2.1", T0 + 60 * SEC / 7));
}

static void
test_full_burst(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new_full(30, 10, 100);

	g_assert_nonnull(rl);
	g_assert_cmpuint(drain_up_to(rl, "2001:db8:5::1", T0, 10), ==, 10);
	/* the /64 rule holds for any rate */
	g_assert_false(allow(rl, "2001:db8:5::2", T0));
	g_assert_cmpuint(drain_up_to(rl, "2001:db8:6::1", T0, 10), ==, 10);
	/* a long idle refills up to the burst and not beyond */
	g_assert_cmpuint(drain_up_to(rl, "2001:db8:5::1", T0 + 3600 * SEC, 10), ==, 10);
	/* half the refill time gives half the burst */
	g_assert_cmpuint(drain_up_to(rl, "2001:db8:5::1", T0 + 3610 * SEC, 10), ==, 5);
}

static void
test_retry_after(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new_full(60, 3, 2);
	Source full = source("203.0.113.9");

	g_assert_nonnull(rl);
	/* a new source, or one with credit, need not wait; asking takes nothing */
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0), ==, 0);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 0);
	g_assert_true(allow(rl, "192.0.2.1", T0));
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0), ==, 0);
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0), ==, 0);
	g_assert_cmpuint(drain_up_to(rl, "192.0.2.1", T0, 3), ==, 2);
	/* empty: a whole token's time, less what has accrued since */
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0), ==, SEC);
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0 + 300 * MS), ==, 700 * MS);
	g_assert_false(allow(rl, "192.0.2.1", T0 + 300 * MS));
	/* and exactly then it is allowed */
	g_assert_false(allow(rl, "192.0.2.1", T0 + SEC - 1));
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0 + SEC), ==, 0);
	g_assert_true(allow(rl, "192.0.2.1", T0 + SEC));
	/* a clock that stepped back waits out the step too */
	g_assert_cmpint(retry_after(rl, "192.0.2.1", T0), ==, 2 * SEC);
	/* a full table: a new source waits until collection could free a slot */
	g_assert_true(allow(rl, "192.0.2.2", T0 + SEC));
	g_assert_false(wr_ratelimiter_allow(rl, full.family, full.addr, T0 + SEC));
	g_assert_cmpint(wr_ratelimiter_retry_after(rl, full.family, full.addr, T0 + SEC), ==,
			3 * SEC);
	g_assert_cmpint(wr_ratelimiter_retry_after(rl, AF_UNIX, full.addr, T0), >, 0);
}

/* a small table: the bound is the caller's; a slow bucket is only collected once full */
static void
test_full_table(void)
{
	g_autoptr(WrRatelimiter) rl = wr_ratelimiter_new_full(6, 2, 3);

	g_assert_nonnull(rl);
	g_assert_true(allow(rl, "192.0.2.1", T0));
	g_assert_true(allow(rl, "192.0.2.2", T0));
	g_assert_true(allow(rl, "2001:db8::1", T0));
	g_assert_false(allow(rl, "192.0.2.4", T0));
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 3);
	/* 6 a minute with a burst of 2: the bucket is full again 20 s later, not sooner */
	wr_ratelimiter_gc(rl, T0 + 20 * SEC);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 3);
	g_assert_false(allow(rl, "192.0.2.4", T0 + 20 * SEC));
	g_assert_true(allow(rl, "192.0.2.1", T0 + 20 * SEC));
	wr_ratelimiter_gc(rl, T0 + 20 * SEC + 1);
	g_assert_cmpuint(wr_ratelimiter_size(rl), ==, 1);
	g_assert_true(allow(rl, "192.0.2.4", T0 + 20 * SEC + 1));
	/* the kept one still has its spent credit: one left, not two */
	g_assert_true(allow(rl, "192.0.2.1", T0 + 20 * SEC + 1));
	g_assert_false(allow(rl, "192.0.2.1", T0 + 20 * SEC + 1));
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
	g_test_add_func("/warren/ratelimiter/full-bounds", test_full_bounds);
	g_test_add_func("/warren/ratelimiter/per-minute", test_per_minute);
	g_test_add_func("/warren/ratelimiter/full-burst", test_full_burst);
	g_test_add_func("/warren/ratelimiter/retry-after", test_retry_after);
	g_test_add_func("/warren/ratelimiter/full-table", test_full_table);
	return g_test_run();
}
