/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The About dialog (ui/wr-about.ui): program name, version (PACKAGE_VERSION), licence
 * GPL-2.0-or-later, website and the app's icon.
 */

#define G_LOG_DOMAIN "WrTrayAbout"

#include "config.h"

#include "wr-tray-win.h"

#define APP_ICON      "io.github.warrenvpn.Tray"
#define FALLBACK_ICON "network-vpn-symbolic"

static void
response_cb(GtkDialog *dialog, gint response, gpointer user_data)
{
	/* Close, Escape (GTK_RESPONSE_DELETE_EVENT) or the window manager */
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

GtkWidget *
wr_tray_about_new(GtkApplication *app)
{
	g_autoptr(GtkBuilder) builder =
		gtk_builder_new_from_resource("/io/github/warrenvpn/Tray/ui/wr-about.ui");
	GtkWidget *about = GTK_WIDGET(gtk_builder_get_object(builder, "about"));

	gtk_about_dialog_set_version(GTK_ABOUT_DIALOG(about), PACKAGE_VERSION);
	/* run from the build tree, or before the icons are installed: a stock icon, not a
	 * broken-image one */
	if (!gtk_icon_theme_has_icon(gtk_icon_theme_get_default(), APP_ICON))
		gtk_about_dialog_set_logo_icon_name(GTK_ABOUT_DIALOG(about), FALLBACK_ICON);
	gtk_window_set_application(GTK_WINDOW(about), app);
	g_signal_connect(about, "response", G_CALLBACK(response_cb), NULL);
	return about;
}
