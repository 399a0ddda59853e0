/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray icon: a StatusNotifierItem through libayatana-appindicator, which exports the
 * menu with libdbusmenu.  This is the only file that includes ayatana's header, so that
 * another implementation (or none) touches nothing else.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct _WrTrayIndicator WrTrayIndicator;

/* icon_theme_path: a directory with our icon theme (hicolor/…) when the icons are not
 * installed (tests run from the build tree), else NULL */
WrTrayIndicator *
wr_tray_indicator_new(GtkMenu *menu, const gchar *icon_theme_path);
void
wr_tray_indicator_free(WrTrayIndicator *self);

/* title: what a host shows on hover */
void
wr_tray_indicator_update(WrTrayIndicator *self, const gchar *icon_name, const gchar *description,
			 const gchar *title);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTrayIndicator, wr_tray_indicator_free)

G_END_DECLS
