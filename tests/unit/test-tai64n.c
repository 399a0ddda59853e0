/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestTai64n"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-tai64n.h"

/* the granule timestamps are rounded down to, in ns */
#define GRANULE_NSEC (G_GINT64_CONSTANT(1) << 24)

static void
assert_tai64n_hex(const guint8 stamp[WR_TAI64N_LEN], const char *expected_hex)
{
	char hex[2 * WR_TAI64N_LEN + 1];

	for (gsize i = 0; i < WR_TAI64N_LEN; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", stamp[i]);
	g_assert_cmpstr(hex, ==, expected_hex);
}

/* expected values from Python: (s + 2**62) as 8 big-endian bytes, ns & ~(2**24 - 1) as 4 */
static void
test_tai64n_vectors(void)
{
	const struct {
		gint64 realtime_usec;
		const char *hex;
	} vectors[] = {
		/* the epoch is the TAI64 label 2^62 */
		{0, "400000000000000000000000"},
		/* 1.999999 s: 999999000 ns rounds down to 59 * 2^24 = 0x3b000000 */
		{1999999, "40000000000000013b000000"},
		/* either side of the first granule boundary, 16777216 ns */
		{16777, "400000000000000000000000"},
		{16778, "400000000000000001000000"},
		{33554, "400000000000000001000000"},
		{33555, "400000000000000002000000"},
		/* 2023-11-14T22:13:20.123456Z */
		{G_GINT64_CONSTANT(1700000000123456), "400000006553f10007000000"},
		/* before 1970 the seconds are floored, the nanoseconds stay positive */
		{-1, "3fffffffffffffff3b000000"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 stamp[WR_TAI64N_LEN];

		wr_tai64n_from_realtime(stamp, vectors[i].realtime_usec);
		assert_tai64n_hex(stamp, vectors[i].hex);
	}
}

static void
test_tai64n_after(void)
{
	guint8 a[WR_TAI64N_LEN];
	guint8 b[WR_TAI64N_LEN];

	wr_tai64n_from_realtime(a, 0);
	wr_tai64n_from_realtime(b, 0);
	g_assert_false(wr_tai64n_after(a, b));
	g_assert_false(wr_tai64n_after(b, a));

	/* a later second wins even with fewer nanoseconds */
	wr_tai64n_from_realtime(a, G_USEC_PER_SEC);
	wr_tai64n_from_realtime(b, G_USEC_PER_SEC - 1);
	g_assert_true(wr_tai64n_after(a, b));
	g_assert_false(wr_tai64n_after(b, a));

	/* the nanoseconds decide within a second */
	wr_tai64n_from_realtime(a, 5 * G_USEC_PER_SEC + 500000);
	wr_tai64n_from_realtime(b, 5 * G_USEC_PER_SEC + 100000);
	g_assert_true(wr_tai64n_after(a, b));
	g_assert_false(wr_tai64n_after(b, a));

	/* times within one granule give equal stamps, so neither is after the other */
	wr_tai64n_from_realtime(a, 5 * G_USEC_PER_SEC + 1);
	wr_tai64n_from_realtime(b, 5 * G_USEC_PER_SEC + 16000);
	g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
	g_assert_false(wr_tai64n_after(a, b));
	g_assert_false(wr_tai64n_after(b, a));

	/* the byte order is big endian: a high byte outweighs every lower one */
	memset(a, 0, sizeof(a));
	memset(b, 0xff, sizeof(b));
	a[0] = 1;
	b[0] = 0;
	g_assert_true(wr_tai64n_after(a, b));
	g_assert_false(wr_tai64n_after(b, a));
}

/* which granule a time falls in: its second and the granule within that second */
static gint64
granule_of(gint64 realtime_usec)
{
	gint64 per_second = G_USEC_PER_SEC * 1000 / GRANULE_NSEC + 1;

	return (realtime_usec / G_USEC_PER_SEC) * per_second +
	       (realtime_usec % G_USEC_PER_SEC) * 1000 / GRANULE_NSEC;
}

/*
 * a clock stepping through a few seconds: stamps never go backwards, and a stamp is after
 * its predecessor exactly when the time crossed into a new granule
 */
static void
test_tai64n_monotonic(void)
{
	const gint64 start = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC - 3 * G_USEC_PER_SEC;
	const gint64 steps[] = {7, 997, 16777, 16778, 250000, 999999};

	for (gsize s = 0; s < G_N_ELEMENTS(steps); s++) {
		guint8 prev[WR_TAI64N_LEN];
		gint64 prev_t = start;
		guint crossings = 0;

		wr_tai64n_from_realtime(prev, start);
		for (gint64 t = start + steps[s]; t < start + 6 * G_USEC_PER_SEC; t += steps[s]) {
			guint8 stamp[WR_TAI64N_LEN];

			wr_tai64n_from_realtime(stamp, t);
			g_assert_false(wr_tai64n_after(prev, stamp));
			if (granule_of(t) != granule_of(prev_t)) {
				g_assert_true(wr_tai64n_after(stamp, prev));
				crossings++;
			} else {
				g_assert_cmpmem(stamp, sizeof(stamp), prev, sizeof(prev));
			}
			memcpy(prev, stamp, sizeof(prev));
			prev_t = t;
		}
		/* 6 s hold 6 * 60 granules (59 full ones and a short last one per second) */
		g_assert_cmpuint(crossings, >=, MIN(6 * G_USEC_PER_SEC / steps[s], 6 * 60) - 1);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/tai64n/vectors", test_tai64n_vectors);
	g_test_add_func("/warren/tai64n/after", test_tai64n_after);
	g_test_add_func("/warren/tai64n/monotonic", test_tai64n_monotonic);
	return g_test_run();
}
