/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The rotation schedule and the expiry warnings: see wr-keyrot.h.
 */
#include "config.h"

#include "wr-keyrot.h"

#define HOUR (3600)
#define DAY  (24 * HOUR)
#define WEEK (7 * DAY)

gint64
wr_keyrot_due(gint64 key_time, gint64 expiry, gint64 interval)
{
	gint64 due, lifetime, margin;

	if (interval <= 0)
		return WR_KEYROT_NEVER;
	due = key_time > G_MAXINT64 - interval ? WR_KEYROT_NEVER : key_time + interval;
	if (expiry == 0)
		return due;
	/* a key granted for 180 days is renewed a day early; one granted for two minutes (a
	 * test, or a strict server) at a quarter of its life, so that a retry still fits */
	lifetime = MAX(expiry - key_time, 0);
	margin = MIN(lifetime / 4, WR_KEYROT_EXPIRY_MARGIN);
	return MIN(due, expiry - margin);
}

WrKeyrotWarning
wr_keyrot_warning(gint64 now, gint64 expiry, gint64 *out_next)
{
	/* the thresholds, from the farthest; a warning applies from expiry - threshold on */
	static const struct {
		gint64 before;
		WrKeyrotWarning warning;
	} levels[] = {
		{WEEK, WR_KEYROT_WARN_WEEK},
		{DAY, WR_KEYROT_WARN_DAY},
		{HOUR, WR_KEYROT_WARN_HOUR},
		{0, WR_KEYROT_WARN_EXPIRED},
	};
	WrKeyrotWarning warning = WR_KEYROT_WARN_NONE;
	gint64 next = WR_KEYROT_NEVER;

	if (expiry != 0) {
		for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
			if (now >= expiry - levels[i].before) {
				warning = levels[i].warning;
				continue;
			}
			next = expiry - levels[i].before;
			break;
		}
	}
	if (out_next != NULL)
		*out_next = next;
	return warning;
}

char *
wr_keyrot_warning_text(WrKeyrotWarning warning, gint64 expiry)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(expiry);
	g_autofree char *at =
		when != NULL ? g_date_time_format(when, "%Y-%m-%d %H:%M UTC") : g_strdup("?");
	const char *within;

	switch (warning) {
	case WR_KEYROT_WARN_NONE:
		return NULL;
	case WR_KEYROT_WARN_EXPIRED:
		return g_strdup_printf("the node key expired at %s: the tunnel is down until you "
				       "sign in again",
				       at);
	case WR_KEYROT_WARN_WEEK:
		within = "7 days";
		break;
	case WR_KEYROT_WARN_DAY:
		within = "1 day";
		break;
	case WR_KEYROT_WARN_HOUR:
	default:
		within = "1 hour";
		break;
	}
	return g_strdup_printf("the node key expires in less than %s (at %s): sign in again "
			       "before then, or the tunnel goes down",
			       within, at);
}

guint
wr_keyrot_retry_ms(guint failures, guint32 random)
{
	guint64 base = WR_KEYROT_RETRY_MIN_MS;

	for (guint i = 1; i < failures && base < WR_KEYROT_RETRY_MAX_MS; i++)
		base *= 2;
	base = MIN(base, WR_KEYROT_RETRY_MAX_MS);
	/* equal jitter: [base/2, base], so that nodes that failed together spread out */
	return (guint) (base / 2 + (guint64) random % (base / 2 + 1));
}
