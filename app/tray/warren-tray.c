/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-tray: Warren's desktop app, a tray icon with a menu and a few windows, talking to
 * warrend over D-Bus only (docs/tray.md).
 */

#include "config.h"

#include <glib.h>

#include "wr-i18n.h"
#include "wr-tray-app.h"

int
main(int argc, char **argv)
{
	wr_i18n_init();
	/* a tray icon and a few plain windows draw nothing with OpenGL, but GDK's X11 backend
	 * opens GLX at start to choose a visual, which loads the GL driver: Mesa's llvmpipe alone
	 * maps LLVM, over 40 MB of the tray's RSS.  The user may still ask for GL (GDK_GL). */
	g_setenv("GDK_GL", "disable", FALSE);
	return wr_tray_app_run(argc, argv);
}
