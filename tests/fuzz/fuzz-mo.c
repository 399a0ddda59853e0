/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the .mo reader of warren-control's sign-in pages
 * (server/control/app/wr-l10n): the bytes as a catalogue.  The files are installed ones, not
 * sent by strangers, but a reader of offsets and lengths must hold against any bytes.  Besides
 * the sanitizers it checks: a refusal is G_IO_ERROR_INVALID_DATA; an accepted catalogue
 * answers lookups with UTF-8 (the seeds' msgids are tried).
 */

#define G_LOG_DOMAIN "WrFuzzMo"

#include "config.h"

#include <stdint.h>

#include <gio/gio.h>

#include "wr-l10n.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const msgids[] = {"Signed in", "Sign-in failed", "", "Reason:", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(WrCatalog) cat = wr_catalog_new_from_data("zh_CN", data, size, &error);

	if (cat == NULL) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		return 0;
	}
	g_assert_no_error(error);
	for (guint i = 0; msgids[i] != NULL; i++) {
		const char *text = wr_catalog_gettext(cat, msgids[i]);

		g_assert_true(g_utf8_validate(text, -1, NULL));
	}
	return 0;
}
