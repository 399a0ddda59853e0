/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-tray: Warren's desktop app, a tray icon with a menu and a few windows, talking to
 * warrend over D-Bus only (docs/tray.md).
 */

#include "config.h"

#include "wr-i18n.h"
#include "wr-tray-app.h"

int
main(int argc, char **argv)
{
	wr_i18n_init();
	return wr_tray_app_run(argc, argv);
}
