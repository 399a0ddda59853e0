/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-keyrot: when to rotate (schedule, before expiry, never), which expiry warning applies at
 * each side of each threshold and when it changes, and the retry backoff's bounds.
 */

#define G_LOG_DOMAIN "WrTestKeyrot"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-keyrot.h"

#define HOUR 3600
#define DAY  (24 * HOUR)
#define T0   1796428800 /* 2026-12-05 00:00:00 UTC */

static void
test_keyrot_due(void)
{
	static const struct {
		const char *what;
		gint64 key_time, expiry, interval, due;
	} cases[] = {
		{"no expiry: the interval", T0, 0, 7 * DAY, T0 + 7 * DAY},
		{"180-day key: the interval comes first", T0, T0 + 180 * DAY, 7 * DAY,
		 T0 + 7 * DAY},
		{"expiry in 5 days: a day before it", T0, T0 + 5 * DAY, 7 * DAY, T0 + 4 * DAY},
		{"expiry in 2 days: a quarter of its life is half a day", T0, T0 + 2 * DAY, 7 * DAY,
		 T0 + 2 * DAY - DAY / 2},
		{"two-minute key: 30 s before it", T0, T0 + 120, 7 * DAY, T0 + 90},
		{"short interval, long key", T0, T0 + 180 * DAY, 20, T0 + 20},
		{"already expired: now (in the past)", T0, T0 - 10, 7 * DAY, T0 - 10},
		{"interval 0: never", T0, T0 + 120, 0, WR_KEYROT_NEVER},
		{"interval 0, no expiry: never", T0, 0, 0, WR_KEYROT_NEVER},
		{"no overflow", G_MAXINT64 - 5, 0, 7 * DAY, WR_KEYROT_NEVER},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint64 got = wr_keyrot_due(cases[i].key_time, cases[i].expiry, cases[i].interval);

		g_test_message("%s", cases[i].what);
		g_assert_cmpint(got, ==, cases[i].due);
	}
}

static void
test_keyrot_warning(void)
{
	static const struct {
		gint64 now;
		WrKeyrotWarning warning;
		gint64 next;
	} cases[] = {
		{T0 - 8 * DAY, WR_KEYROT_WARN_NONE, T0 - 7 * DAY},
		{T0 - 7 * DAY - 1, WR_KEYROT_WARN_NONE, T0 - 7 * DAY},
		{T0 - 7 * DAY, WR_KEYROT_WARN_WEEK, T0 - DAY},
		{T0 - DAY - 1, WR_KEYROT_WARN_WEEK, T0 - DAY},
		{T0 - DAY, WR_KEYROT_WARN_DAY, T0 - HOUR},
		{T0 - HOUR - 1, WR_KEYROT_WARN_DAY, T0 - HOUR},
		{T0 - HOUR, WR_KEYROT_WARN_HOUR, T0},
		{T0 - 1, WR_KEYROT_WARN_HOUR, T0},
		{T0, WR_KEYROT_WARN_EXPIRED, WR_KEYROT_NEVER},
		{T0 + 100 * DAY, WR_KEYROT_WARN_EXPIRED, WR_KEYROT_NEVER},
	};
	gint64 next = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		WrKeyrotWarning w = wr_keyrot_warning(cases[i].now, T0, &next);

		g_test_message("now = expiry %+" G_GINT64_FORMAT " s", cases[i].now - (gint64) T0);
		g_assert_cmpint(w, ==, cases[i].warning);
		g_assert_cmpint(next, ==, cases[i].next);
	}
	/* a key that never expires is never warned about */
	g_assert_cmpint(wr_keyrot_warning(T0, 0, &next), ==, WR_KEYROT_WARN_NONE);
	g_assert_cmpint(next, ==, WR_KEYROT_NEVER);
	g_assert_cmpint(wr_keyrot_warning(T0, T0 + HOUR, NULL), ==, WR_KEYROT_WARN_HOUR);
}

static void
test_keyrot_warning_text(void)
{
	g_autofree char *none = wr_keyrot_warning_text(WR_KEYROT_WARN_NONE, T0);
	g_autofree char *week = wr_keyrot_warning_text(WR_KEYROT_WARN_WEEK, T0);
	g_autofree char *hour = wr_keyrot_warning_text(WR_KEYROT_WARN_HOUR, T0);
	g_autofree char *expired = wr_keyrot_warning_text(WR_KEYROT_WARN_EXPIRED, T0);

	g_assert_null(none);
	g_assert_nonnull(strstr(week, "less than 7 days"));
	g_assert_nonnull(strstr(week, "2026-12-05 00:00 UTC"));
	g_assert_nonnull(strstr(hour, "less than 1 hour"));
	g_assert_nonnull(strstr(expired, "expired"));
	g_assert_nonnull(strstr(expired, "sign in again"));
}

static void
test_keyrot_retry(void)
{
	guint prev_max = 0;

	for (guint f = 1; f <= 20; f++) {
		guint lo = wr_keyrot_retry_ms(f, 0);
		guint hi = wr_keyrot_retry_ms(f, G_MAXUINT32);
		guint mid = wr_keyrot_retry_ms(f, 12345);

		g_assert_cmpuint(lo, <=, mid);
		g_assert_cmpuint(mid, <=, hi);
		g_assert_cmpuint(hi, <=, WR_KEYROT_RETRY_MAX_MS);
		g_assert_cmpuint(lo, >=, WR_KEYROT_RETRY_MIN_MS / 2);
		g_assert_cmpuint(hi, >=, prev_max / 2); /* grows until the cap */
		prev_max = MAX(prev_max, hi);
	}
	/* the first retry: 5 to 10 s; the tenth and later: capped at an hour */
	g_assert_cmpuint(wr_keyrot_retry_ms(1, 0), ==, 5000);
	g_assert_cmpuint(wr_keyrot_retry_ms(2, 0), ==, 10000);
	g_assert_cmpuint(wr_keyrot_retry_ms(20, 0), ==, WR_KEYROT_RETRY_MAX_MS / 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/keyrot/due", test_keyrot_due);
	g_test_add_func("/warren/keyrot/warning", test_keyrot_warning);
	g_test_add_func("/warren/keyrot/warning-text", test_keyrot_warning_text);
	g_test_add_func("/warren/keyrot/retry", test_keyrot_retry);
	return g_test_run();
}
