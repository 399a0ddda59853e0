/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the SetPrefs dictionary of warrend's D-Bus API (wr_prefs_apply_dict):
 * arbitrary bytes as a serialized a{sv}, as a caller could send them (GDBus hands warrend the
 * same untrusted GVariant).  Besides the sanitizers it checks the contracts: a refusal is a
 * WR_PREFS_ERROR and leaves the base untouched; accepted preferences pass every
 * wr_prefs_check_* and survive a round trip through the prefs file unchanged, so that what
 * SetPrefs saves warrend can always read back.
 *
 * Input: GVariant serialized data of type a{sv} (not necessarily in normal form).
 */

#define G_LOG_DOMAIN "WrFuzzPrefsDict"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-prefs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(WrPrefs) base = wr_prefs_new();
	g_autoptr(WrPrefs) before = NULL;
	g_autoptr(WrPrefs) prefs = NULL;
	g_autoptr(WrPrefs) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) dict = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;
	gpointer copy;

	g_free(base->hostname);
	base->hostname = g_strdup("base");
	before = wr_prefs_copy(base);
	copy = g_memdup2(data, size);
	/* the copy is the variant's now: freed by it, with itself as the notify's argument */
	dict = g_variant_ref_sink(
		g_variant_new_from_data(G_VARIANT_TYPE_VARDICT, copy, size, FALSE, g_free, copy));
	prefs = wr_prefs_apply_dict(base, dict, &error);
	g_assert(wr_prefs_equal(base, before));
	if (prefs == NULL) {
		g_assert(error != NULL && error->domain == WR_PREFS_ERROR);
		return 0;
	}
	g_assert(error == NULL);
	g_assert(wr_prefs_check_hostname(prefs->hostname, NULL));
	g_assert(g_strv_length(prefs->advertise_routes) <= WR_PREFS_MAX_ROUTES);
	for (char **r = prefs->advertise_routes; *r != NULL; r++)
		g_assert(wr_prefs_check_route(*r, NULL, NULL));

	text = wr_prefs_to_data(prefs, &len);
	back = wr_prefs_parse(text, len, "fuzz.conf", &error);
	if (back == NULL)
		g_error("accepted preferences do not read back: %s", error->message);
	g_assert(wr_prefs_equal(back, prefs));
	return 0;
}
