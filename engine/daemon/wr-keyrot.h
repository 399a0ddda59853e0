/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-keyrot: the schedule of warrend's node-key rotation and of its key-expiry warnings
 * (docs/key-rotation.md).  Pure: every function takes the times it needs, in Unix seconds on
 * one clock (warrend converts the control server's key expiry to its own clock first), and
 * returns a decision; no clock, no I/O.
 *
 *   wr_keyrot_due       when the current node key should be rotated: `interval` after it was
 *                       made, or earlier when its expiry comes first: once less than a quarter
 *                       of its lifetime, or less than a day, remains (whichever is sooner)
 *   wr_keyrot_warning   which expiry warning applies now (7 days, 1 day, 1 hour, expired) and
 *                       when that answer changes next
 *   wr_keyrot_retry_ms  the delay before retrying a failed rotation (exponential, jittered)
 */
#pragma once

#include <glib.h>

/* the default rotation interval: 7 days (control.md, "Key rotation") */
#define WR_KEYROT_DEFAULT_INTERVAL (7 * 24 * 3600)
/* rotate before expiry once this little remains at most (or a quarter of the lifetime) */
#define WR_KEYROT_EXPIRY_MARGIN (24 * 3600)
/* retries after a failure: 10 s, doubling, at most an hour */
#define WR_KEYROT_RETRY_MIN_MS (10 * 1000)
#define WR_KEYROT_RETRY_MAX_MS (3600 * 1000)
/* a failure shows in Health once this many in a row failed: one lost request is no news */
#define WR_KEYROT_HEALTH_FAILURES 3

#define WR_KEYROT_NEVER G_MAXINT64

/*
 * key_time: when the node key was made; expiry: when it expires (0: never); interval: the
 * rotation interval in seconds, 0 for no automatic rotation at all (then WR_KEYROT_NEVER).
 * The result may lie in the past: rotate now.
 */
gint64
wr_keyrot_due(gint64 key_time, gint64 expiry, gint64 interval);

typedef enum {
	WR_KEYROT_WARN_NONE,	/* more than 7 days remain, or the key never expires */
	WR_KEYROT_WARN_WEEK,	/* 7 days or less */
	WR_KEYROT_WARN_DAY,	/* 1 day or less */
	WR_KEYROT_WARN_HOUR,	/* 1 hour or less */
	WR_KEYROT_WARN_EXPIRED, /* expired: stop sending, sign in again */
} WrKeyrotWarning;

/*
 * The warning for a key expiring at expiry (0: never) at now; out_next (may be NULL) gets the
 * time the answer changes next (WR_KEYROT_NEVER when it will not).
 */
WrKeyrotWarning
wr_keyrot_warning(gint64 now, gint64 expiry, gint64 *out_next);

/* the Health sentence of a warning (NULL for NONE); g_free */
char *
wr_keyrot_warning_text(WrKeyrotWarning warning, gint64 expiry);

/* the delay before retry number failures (1 for the first), "equal jitter" from random */
guint
wr_keyrot_retry_ms(guint failures, guint32 random);
