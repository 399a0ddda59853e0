/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The pure parts of the tray's sign-in (app/tray/wr-tray-signin.c): which sentence a failed
 * sign-in shows for each error of Login and for each D-Bus error name, what detail goes with it
 * (the daemon's or control's own words, without GDBus's prefix), and reading a failure back
 * from Health in the form warrend writes it ("sign-in failed (<Name>): <message>").
 * No display is needed.
 */

#define G_LOG_DOMAIN "WrTestTraySignin"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-tray-signin.h"

#define CONTROL_SAYS "control refused the registration: email domain example.net is not allowed"

static const char *const NOT_ALLOWED = "You are not allowed to sign this computer in to Warren.";
static const char *const REFUSED = "The Warren server did not accept the sign-in.";
static const char *const INCOMPLETE = "The sign-in did not complete.";
static const char *const NO_DAEMON = "Warren’s background service is not running.";

typedef struct {
	const char *dbus_name; /* the error as it comes off the bus */
	const char *message;
	const char *sentence_starts;
	const char *detail; /* NULL: none */
} RemoteCase;

static void
test_remote_errors(void)
{
	static const RemoteCase cases[] = {
		{WR_DBUS_ERROR_PREFIX "NotAuthorized", "polkit said no", NOT_ALLOWED,
		 "polkit said no"},
		{WR_DBUS_ERROR_PREFIX "ControlError", CONTROL_SAYS, REFUSED, CONTROL_SAYS},
		{WR_DBUS_ERROR_PREFIX "Timeout", "control server did not answer in time",
		 "The Warren server did not answer in time.",
		 "control server did not answer in time"},
		{WR_DBUS_ERROR_PREFIX "Busy", "a sign-in is already waiting: open AuthURL",
		 "A sign-in is already under way.", "a sign-in is already waiting: open AuthURL"},
		{WR_DBUS_ERROR_PREFIX "LimitExceeded", "too many", "Too many requests", "too many"},
		{WR_DBUS_ERROR_PREFIX "Failed",
		 "no control server is set: call SetControlURL first", INCOMPLETE,
		 "no control server is set: call SetControlURL first"},
		{WR_DBUS_ERROR_PREFIX "InvalidArgument", "x", INCOMPLETE, "x"},
		{"org.freedesktop.DBus.Error.ServiceUnknown", "no io.github.warrenvpn.Engine1",
		 NO_DAEMON, "no io.github.warrenvpn.Engine1"},
		{"org.freedesktop.DBus.Error.NoReply", "no reply", NO_DAEMON, "no reply"},
		{"org.freedesktop.DBus.Error.AccessDenied", "the bus refused", NOT_ALLOWED,
		 "the bus refused"},
		/* a name nobody registered: the default sentence, the message kept */
		{"org.example.Surprise", "something odd", INCOMPLETE, "something odd"},
		/* no message: no detail line */
		{WR_DBUS_ERROR_PREFIX "ControlError", "", REFUSED, NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const RemoteCase *c = &cases[i];
		g_autoptr(GError) error = g_dbus_error_new_for_dbus_error(c->dbus_name, c->message);
		g_autofree char *detail = NULL;
		g_autofree char *text = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, c->dbus_name);
		/* as the tray's Login callback does with an error off the bus */
		g_assert_true(g_dbus_error_is_remote_error(error));
		g_dbus_error_strip_remote_error(error);
		text = wr_tray_signin_error_text(error, &detail);
		g_assert_true(g_str_has_prefix(text, c->sentence_starts));
		g_assert_cmpstr(detail, ==, c->detail);
	}
}

/* a registered name arrives as its code, which is what the sentence is chosen by */
static void
test_codes(void)
{
	g_autoptr(GError) remote =
		g_dbus_error_new_for_dbus_error(WR_DBUS_ERROR_PREFIX "ControlError", CONTROL_SAYS);
	g_autoptr(GError) local =
		g_error_new_literal(WR_DBUS_ERROR, WR_DBUS_ERROR_CONTROL_ERROR, CONTROL_SAYS);
	g_autoptr(GError) gio = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
	g_autofree char *a = wr_tray_signin_error_text(remote, NULL);
	g_autofree char *b = wr_tray_signin_error_text(local, NULL);
	g_autofree char *c = NULL;
	g_autofree char *detail = NULL;

	g_assert_error(remote, WR_DBUS_ERROR, WR_DBUS_ERROR_CONTROL_ERROR);
	g_assert_cmpstr(a, ==, REFUSED);
	g_assert_cmpstr(b, ==, REFUSED);
	c = wr_tray_signin_error_text(gio, &detail);
	g_assert_cmpstr(c, ==, "Warren’s background service did not answer in time.");
	g_assert_cmpstr(detail, ==, "timed out");
	/* every code has a sentence of its own or the default, never an empty one */
	for (int code = 0; code < WR_DBUS_ERROR_LAST; code++) {
		g_autoptr(GError) e = g_error_new_literal(WR_DBUS_ERROR, code, "m");
		g_autofree char *t = wr_tray_signin_error_text(e, NULL);

		g_assert_cmpuint(strlen(t), >, 10);
	}
}

typedef struct {
	const char *health[4];
	gboolean found;
	int code;
	const char *message;
} HealthCase;

static void
test_find_failure(void)
{
	static const HealthCase cases[] = {
		{{NULL}, FALSE, 0, NULL},
		{{"no DERP region reachable", NULL}, FALSE, 0, NULL},
		{{"no DERP region reachable", "sign-in failed (ControlError): " CONTROL_SAYS, NULL},
		 TRUE,
		 WR_DBUS_ERROR_CONTROL_ERROR,
		 CONTROL_SAYS},
		{{"sign-in failed (Timeout): control server did not answer in time", NULL},
		 TRUE,
		 WR_DBUS_ERROR_TIMEOUT,
		 "control server did not answer in time"},
		{{"sign-in failed (Failed): HTTP 502: Bad Gateway", NULL},
		 TRUE,
		 WR_DBUS_ERROR_FAILED,
		 "HTTP 502: Bad Gateway"},
		/* a name this client does not know yet: still a failure, the default code */
		{{"sign-in failed (Fresh): newer daemon", NULL},
		 TRUE,
		 WR_DBUS_ERROR_FAILED,
		 "newer daemon"},
		/* a message with "): " in it is kept whole */
		{{"sign-in failed (ControlError): a (b): c", NULL},
		 TRUE,
		 WR_DBUS_ERROR_CONTROL_ERROR,
		 "a (b): c"},
		/* not the form: ignored */
		{{"sign-in failed: no parenthesis", "Sign-in failed (ControlError): case", NULL},
		 FALSE,
		 0,
		 NULL},
		{{"sign-in failed (ControlError) no colon", NULL}, FALSE, 0, NULL},
		/* a prefix of a name is not the name */
		{{"sign-in failed (Control): x", NULL}, TRUE, WR_DBUS_ERROR_FAILED, "x"},
		{{"sign-in failed (NotAuthorized): polkit", NULL},
		 TRUE,
		 WR_DBUS_ERROR_NOT_AUTHORIZED,
		 "polkit"},
	};

	g_assert_null(wr_tray_signin_find_failure(NULL));
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const HealthCase *c = &cases[i];
		g_autoptr(GError) e = wr_tray_signin_find_failure(c->health);

		g_test_message("case %" G_GSIZE_FORMAT, i);
		if (!c->found) {
			g_assert_null(e);
			continue;
		}
		g_assert_error(e, WR_DBUS_ERROR, c->code);
		g_assert_cmpstr(e->message, ==, c->message);
	}
}

/* what the dialog shows for a failure read from Health: control's words are the detail */
static void
test_health_to_dialog(void)
{
	const char *health[] = {"sign-in failed (ControlError): " CONTROL_SAYS, NULL};
	g_autoptr(GError) e = wr_tray_signin_find_failure(health);
	g_autofree char *detail = NULL;
	g_autofree char *text = NULL;

	g_assert_nonnull(e);
	text = wr_tray_signin_error_text(e, &detail);
	g_assert_cmpstr(text, ==, REFUSED);
	g_assert_cmpstr(detail, ==, CONTROL_SAYS);
}

/* a message from Health is shown as it is, even one that looks like GDBus's remote prefix
 * (found by fuzz-tray-signin: it was cut as if it had come off the bus) */
static void
test_health_message_kept(void)
{
	const char *health[] = {"sign-in failed (Timeout): GDBus.Error:\fx: HTTP 503: Bad Gateway",
				NULL};
	g_autoptr(GError) e = wr_tray_signin_find_failure(health);
	g_autofree char *detail = NULL;
	g_autofree char *text = NULL;

	g_assert_error(e, WR_DBUS_ERROR, WR_DBUS_ERROR_TIMEOUT);
	text = wr_tray_signin_error_text(e, &detail);
	g_assert_cmpstr(detail, ==, "GDBus.Error:\fx: HTTP 503: Bad Gateway");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* the names are registered by the first use of the domain, as the tray does */
	(void) WR_DBUS_ERROR;
	g_test_add_func("/warren/tray-signin/remote-errors", test_remote_errors);
	g_test_add_func("/warren/tray-signin/codes", test_codes);
	g_test_add_func("/warren/tray-signin/find-failure", test_find_failure);
	g_test_add_func("/warren/tray-signin/health-to-dialog", test_health_to_dialog);
	g_test_add_func("/warren/tray-signin/health-message-kept", test_health_message_kept);
	return g_test_run();
}
