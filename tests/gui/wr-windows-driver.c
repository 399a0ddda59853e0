/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-windows-driver: the tray's windows without the tray.  A GtkApplication with warren-tray's
 * id (io.github.warrenvpn.Tray, so its actions are exported at /io/github/warrenvpn/Tray on the
 * session bus like the app's) that connects to warrend and calls wr_tray_windows_install, and
 * nothing else: no indicator, no notifications.  For working on the windows against a lab node
 * (tests/gui/windows.sh needs the whole warren-tray, which registers with the panel):
 *
 *   WARREN_BUS_ADDRESS=unix:path=<node>/bus GSETTINGS_SCHEMA_DIR=<build>/data \
 *     wr-windows-driver &
 *   gdbus call --session --dest io.github.warrenvpn.Tray --object-path /io/github/warrenvpn/Tray \
 *     --method org.gtk.Actions.Activate devices '[]' '{}'
 *
 * Without WARREN_BUS_ADDRESS it uses the system bus, as warren-tray does.  Prints "ready" on
 * stdout once the actions are there.
 */

#define G_LOG_DOMAIN "WrWindowsDriver"

#include "config.h"

#include <stdio.h>

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"
#include "wr-i18n.h"
#include "wr-tray-windows.h"

static GDBusConnection *
engine_bus(GError **error)
{
	const gchar *address = g_getenv("WARREN_BUS_ADDRESS");

	if (address == NULL || address[0] == '\0')
		return g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, error);
	return g_dbus_connection_new_for_address_sync(
		address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, error);
}

static void
startup_cb(GApplication *app, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(WrDbusEngine1) engine = NULL;
	g_autoptr(GSettings) settings = NULL;

	/* the error names before the first call (wr-dbus-error.h) */
	(void) wr_dbus_error_quark();
	bus = engine_bus(&error);
	if (bus != NULL)
		engine = wr_dbus_engine1_proxy_new_sync(
			bus, G_DBUS_PROXY_FLAGS_NONE, "io.github.warrenvpn.Engine1",
			"/io/github/warrenvpn/Engine1", NULL, &error);
	if (engine == NULL) {
		g_printerr("wr-windows-driver: cannot reach warrend: %s\n", error->message);
		g_application_quit(app);
		return;
	}
	settings = g_settings_new("io.github.warrenvpn.Tray");
	wr_tray_windows_install(GTK_APPLICATION(app), engine, settings);
	/* no window at first, like the tray */
	g_application_hold(app);
	printf("ready\n");
	fflush(stdout);
}

static void
activate_cb(GApplication *app, gpointer user_data)
{
}

int
main(int argc, char **argv)
{
	g_autoptr(GtkApplication) app = NULL;

	wr_i18n_init();
	g_set_prgname("warren-tray");
	app = gtk_application_new("io.github.warrenvpn.Tray", G_APPLICATION_DEFAULT_FLAGS);
	g_signal_connect(app, "startup", G_CALLBACK(startup_cb), NULL);
	g_signal_connect(app, "activate", G_CALLBACK(activate_cb), NULL);
	return g_application_run(G_APPLICATION(app), argc, argv);
}
