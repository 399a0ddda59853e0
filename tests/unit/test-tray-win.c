/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the tray's windows say about a failed call to warrend (wr_tray_win_error_text in
 * app/tray/wr-tray-windows.c), for errors as GDBus delivers them: a remote error name turned
 * into WR_DBUS_ERROR by the registration of wr-dbus-error, with the remote prefix on the
 * message.  No display is needed.
 */

#include "config.h"

#include <locale.h>

#include "wr-dbus-error.h"
#include "wr-tray-win.h"

/* an error as a proxy call returns it for the D-Bus error NAME with MESSAGE */
static GError *
remote(const gchar *name, const gchar *message)
{
	return g_dbus_error_new_for_dbus_error(name, message);
}

static void
test_error_text(void)
{
	const struct {
		const gchar *name;
		const gchar *message;
		const gchar *want;
	} cases[] = {
		/* the windows' own: warrend's detail shown */
		{WR_DBUS_ERROR_PREFIX "InvalidArgument", "url: must be an http:// or https:// URL",
		 "That is not valid: url: must be an http:// or https:// URL"},
		{WR_DBUS_ERROR_PREFIX "Failed", "flow logs are off",
		 "Warren could not do this: flow logs are off"},
		/* the tray's words (wr-tray-call.c) */
		{WR_DBUS_ERROR_PREFIX "NotAuthorized", "polkit said no",
		 "You are not allowed to do this on this computer."},
		{WR_DBUS_ERROR_PREFIX "NoSuchPeer", "n9",
		 "That device is no longer in the network."},
		{WR_DBUS_ERROR_PREFIX "ControlError", "node key expired",
		 "The control server refused: node key expired"},
		{"org.freedesktop.DBus.Error.ServiceUnknown", "no such name",
		 "Warren's service (warrend) is not running."},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = remote(cases[i].name, cases[i].message);
		g_autofree gchar *text = wr_tray_win_error_text(error);

		g_assert_cmpstr(text, ==, cases[i].want);
		/* the error itself is left as it was (a copy is stripped) */
		g_assert_true(g_dbus_error_is_remote_error(error));
	}
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);
	/* the names, before the first error (wr-dbus-error.h) */
	(void) wr_dbus_error_quark();
	g_test_add_func("/warren/tray-win/error-text", test_error_text);
	return g_test_run();
}
