/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for warrend's preferences file (wr-prefs): arbitrary bytes as prefs.conf.
 * Besides the sanitizers it checks the contracts: a refusal comes with WR_PREFS_ERROR and a
 * message "fuzz.conf:LINE: " whose line is within the input (0 only for the size); accepted
 * preferences pass every wr_prefs_check_* and survive a round trip through wr_prefs_to_data
 * unchanged, so that what warrend saves it can always read back.
 *
 * Input: the file text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzPrefs"

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wr-prefs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz.conf"

static guint
count_lines(const uint8_t *data, size_t size)
{
	guint n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) prefs = NULL;
	g_autoptr(WrPrefs) back = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;
	guint line = 0;

	prefs = wr_prefs_parse((const char *) data, size, ORIGIN, &error);
	if (prefs == NULL) {
		g_assert(error != NULL);
		g_assert(error->domain == WR_PREFS_ERROR);
		g_assert(sscanf(error->message, ORIGIN ":%u: ", &line) == 1);
		g_assert(line <= count_lines(data, size));
		g_assert(line > 0 || error->code == WR_PREFS_ERROR_TOO_LARGE);
		return 0;
	}
	g_assert(error == NULL);
	g_assert(size <= WR_PREFS_MAX_SIZE);
	g_assert(prefs->control_url != NULL && prefs->exit_node != NULL);
	g_assert(prefs->hostname != NULL && prefs->advertise_routes != NULL);
	g_assert(wr_prefs_check_control_url(prefs->control_url, NULL, NULL));
	g_assert(wr_prefs_check_exit_node(prefs->exit_node, NULL));
	g_assert(wr_prefs_check_hostname(prefs->hostname, NULL));
	g_assert(g_strv_length(prefs->advertise_routes) <= WR_PREFS_MAX_ROUTES);
	for (char **r = prefs->advertise_routes; *r != NULL; r++)
		g_assert(wr_prefs_check_route(*r, NULL, NULL));

	text = wr_prefs_to_data(prefs, &len);
	back = wr_prefs_parse(text, len, ORIGIN, &error);
	if (back == NULL)
		g_error("accepted preferences do not read back: %s", error->message);
	g_assert(wr_prefs_equal(back, prefs));
	return 0;
}
