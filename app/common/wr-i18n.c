/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * gettext set-up shared by the programs that show text to people (warren, warren-tray).
 */

#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "wr-i18n.h"

const gchar *
wr_i18n_localedir(void)
{
	const gchar *dir = g_getenv("WARREN_LOCALEDIR");

	return dir != NULL && dir[0] != '\0' ? dir : LOCALEDIR;
}

void
wr_i18n_init(void)
{
	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, wr_i18n_localedir());
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
}
