/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The browser's Accept-Language header (RFC 9110 §12.5.4), read so that warren-control's
 * sign-in pages speak the language the person asked for: language ranges (RFC 4647 §2.1) with
 * optional q-values, best first.  Pure and lenient like the browsers it serves: an element
 * that does not parse is skipped, not the whole header, and anything unusable means "no
 * preference" (the pages are then English).  docs/control-l10n.md.
 */

#pragma once

#include <glib.h>

/* a longer header is ignored as a whole; browsers send well under 100 bytes */
#define WR_ACCEPT_LANGUAGE_MAX_LEN 1024
/* only this many ranges are read; the rest of the header is ignored */
#define WR_ACCEPT_LANGUAGE_MAX_RANGES 32

/*
 * The ranges of @header (may be NULL) that the person accepts (q > 0), lower-cased, in order
 * of preference: by q-value, highest first, and in header order for equal q.  "*" is kept.
 * An empty vector when there is nothing usable; never NULL.
 */
GStrv
wr_accept_language_parse(const char *header);

/*
 * The tag of @available (language tags as gettext names catalogues: "de", "zh_CN"; the
 * source language "en" among them if it is to win over later ranges) that @header prefers,
 * or NULL when it accepts none of them.  Matching is RFC 4647 lookup: a range falls back
 * by removing subtags from the end ("de-AT" finds "de"), and a bare language finds a
 * regional catalogue ("zh" finds "zh_CN").  Chinese goes by script: a Simplified range
 * ("zh", "zh-Hans", "zh-SG", "zh-CN") finds only zh_CN, zh_Hans, zh_SG or zh, a Traditional
 * one ("zh-Hant", "zh-TW", "zh-HK", "zh-MO") only zh_Hant, zh_TW or zh_HK.  "*" matches nothing: it
 * leaves the choice to the server's default.
 */
const char *
wr_accept_language_pick(const char *header, const char *const *available);
