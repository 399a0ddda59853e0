/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-signin-driver: the sign-in part of warren-tray alone (wr_tray_signin_install on a
 * GtkApplication with the same id, io.github.warrenvpn.Tray), talking to warrend on
 * $WARREN_BUS_ADDRESS.  For developing and debugging the sign-in dialog without the rest of the
 * tray: activate app.sign-in through org.gtk.Actions on the session bus.
 */

#define G_LOG_DOMAIN "WrSigninDriver"

#include "config.h"

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"
#include "wr-i18n.h"
#include "wr-tray-signin.h"

static void
activate_cb(GApplication *app, gpointer user_data)
{
	WrDbusEngine1 *engine = user_data;
	static gboolean done;

	if (done)
		return;
	done = TRUE;
	wr_tray_signin_install(GTK_APPLICATION(app), engine);
	g_application_hold(app);
}

int
main(int argc, char **argv)
{
	const gchar *address = g_getenv("WARREN_BUS_ADDRESS");
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(WrDbusEngine1) engine = NULL;
	g_autoptr(GtkApplication) app = NULL;

	wr_i18n_init();
	if (address == NULL) {
		g_printerr("wr-signin-driver: set WARREN_BUS_ADDRESS\n");
		return 2;
	}
	(void) WR_DBUS_ERROR;
	bus = g_dbus_connection_new_for_address_sync(
		address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	if (bus == NULL) {
		g_printerr("wr-signin-driver: %s\n", error->message);
		return 1;
	}
	engine = wr_dbus_engine1_proxy_new_sync(bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
						"io.github.warrenvpn.Engine1",
						"/io/github/warrenvpn/Engine1", NULL, &error);
	if (engine == NULL) {
		g_printerr("wr-signin-driver: %s\n", error->message);
		return 1;
	}
	g_set_prgname("warren-tray");
	app = gtk_application_new("io.github.warrenvpn.Tray", G_APPLICATION_DEFAULT_FLAGS);
	g_signal_connect(app, "activate", G_CALLBACK(activate_cb), engine);
	return g_application_run(G_APPLICATION(app), argc, argv);
}
