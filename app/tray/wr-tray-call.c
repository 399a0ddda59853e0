/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Calls to warrend from the tray, and their errors in words (wr-tray-call.h).
 */

#include "config.h"

#define G_LOG_DOMAIN "WrTray"

#include <glib/gi18n.h>

#include "wr-dbus-error.h"
#include "wr-tray-call.h"

typedef struct {
	gchar *method;
	gchar *title;
	WrTrayCallDone done;
	gpointer user_data;
} Call;

gchar *
wr_tray_error_text(const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);

	g_dbus_error_strip_remote_error(copy);
	if (copy->domain == WR_DBUS_ERROR) {
		switch ((WrDbusError) copy->code) {
		case WR_DBUS_ERROR_NOT_AUTHORIZED:
			return g_strdup(_("You are not allowed to do this on this computer."));
		case WR_DBUS_ERROR_NOT_RUNNING:
			return g_strdup(_("Warren is not connected. Connect first."));
		case WR_DBUS_ERROR_NEEDS_LOGIN:
			return g_strdup(_("This device is not signed in. Sign in first."));
		case WR_DBUS_ERROR_NO_SUCH_PEER:
			return g_strdup(_("That device is no longer in the network."));
		case WR_DBUS_ERROR_NOT_AN_EXIT_NODE:
			return g_strdup(_("That device does not offer itself as an exit node."));
		case WR_DBUS_ERROR_BUSY:
			return g_strdup(_("Warren is already doing this. Try again in a moment."));
		case WR_DBUS_ERROR_TIMEOUT:
			return g_strdup(_("The control server did not answer. Check the network "
					  "connection and try again."));
		case WR_DBUS_ERROR_CONTROL_ERROR:
			return g_strdup_printf(_("The control server refused: %s"), copy->message);
		case WR_DBUS_ERROR_LIMIT_EXCEEDED:
			return g_strdup(_("Too many requests. Try again in a moment."));
		case WR_DBUS_ERROR_INVALID_ARGUMENT:
		case WR_DBUS_ERROR_FAILED:
			break;
		}
	}
	if (g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
	    g_error_matches(copy, G_IO_ERROR, G_IO_ERROR_CLOSED))
		return g_strdup(_("Warren's service (warrend) is not running."));
	if (g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ||
	    g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_AUTH_FAILED))
		return g_strdup(_("You are not allowed to do this on this computer."));
	return g_strdup_printf(_("Something went wrong: %s"), copy->message);
}

static void
dialog_response_cb(GtkDialog *dialog, gint response, gpointer user_data)
{
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

void
wr_tray_show_error(GtkWindow *parent, const gchar *title, const gchar *text)
{
	GtkWidget *dialog;

	dialog = gtk_message_dialog_new(parent, GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_ERROR,
					GTK_BUTTONS_CLOSE, "%s", title);
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", text);
	gtk_window_set_title(GTK_WINDOW(dialog), title);
	g_signal_connect(dialog, "response", G_CALLBACK(dialog_response_cb), NULL);
	gtk_widget_show(dialog);
}

static void
call_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Call *call = user_data;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
	if (reply == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		goto out;
	if (reply == NULL) {
		g_autofree gchar *text = wr_tray_error_text(error);

		/* the daemon's message is detail for the log; the user gets the words */
		g_message("%s failed: %s", call->method, error->message);
		wr_tray_show_error(NULL, call->title, text);
	}
	if (call->done != NULL)
		call->done(error, call->user_data);
out:
	g_free(call->method);
	g_free(call->title);
	g_free(call);
}

void
wr_tray_call(WrDbusEngine1 *engine, const gchar *method, GVariant *params, const gchar *title,
	     GCancellable *cancellable, WrTrayCallDone done, gpointer user_data)
{
	Call *call = g_new0(Call, 1);

	call->method = g_strdup(method);
	call->title = g_strdup(title);
	call->done = done;
	call->user_data = user_data;
	g_debug("calling %s", method);
	g_dbus_proxy_call(G_DBUS_PROXY(engine), method, params,
			  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, -1, cancellable,
			  call_cb, call);
}
