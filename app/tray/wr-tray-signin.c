/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Browser sign-in from the tray (docs/tray-signin.md).  app.sign-in calls Login (async, with
 * interactive authorization: polkit may ask for a password), then follows warrend's
 * properties, never polling:
 *
 *   AuthURL set        opened in the user's browser (the XDG default handler for https through
 *                      GIO, else $BROWSER, else xdg-open), once per URL; the dialog waits
 *   State leaves       signed in: the dialog closes (the notifier says "Signed in as …")
 *   NeedsLogin
 *   Health gains       the sign-in failed after Login returned: the dialog shows why
 *   "sign-in failed"
 *
 * Login's own errors (NotAuthorized, Busy, …) and those read back from Health are shown as a
 * translated sentence chosen by the D-Bus error name, with the daemon's or control's English
 * message as detail.  Cancel only closes the dialog: warrend has no call to stop a sign-in, so
 * its Login keeps waiting for the browser until control gives up; a later "Sign in…" is then
 * answered Busy and reopens the same page.
 */

#define G_LOG_DOMAIN "WrTraySignin"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-tray-resources.h"
#include "wr-tray-signin.h"

#define HEALTH_FAILURE_PREFIX "sign-in failed ("

/* ---- the pure parts ---- */

gchar *
wr_tray_signin_error_text(const GError *error, gchar **out_detail)
{
	const GError *copy = error;
	const gchar *text = NULL;
	gboolean show_detail = TRUE;

	if (copy->domain == WR_DBUS_ERROR) {
		switch (copy->code) {
		case WR_DBUS_ERROR_NOT_AUTHORIZED:
			text = _("You are not allowed to sign this computer in to Warren.");
			break;
		case WR_DBUS_ERROR_CONTROL_ERROR:
			text = _("The Warren server did not accept the sign-in.");
			break;
		case WR_DBUS_ERROR_TIMEOUT:
			text = _("The Warren server did not answer in time. Check your "
				 "connection to the Internet and try again.");
			break;
		case WR_DBUS_ERROR_BUSY:
			text = _("A sign-in is already under way.");
			break;
		case WR_DBUS_ERROR_LIMIT_EXCEEDED:
			text = _("Too many requests at once. Wait a moment and try again.");
			break;
		case WR_DBUS_ERROR_INVALID_ARGUMENT:
		case WR_DBUS_ERROR_NOT_RUNNING:
		case WR_DBUS_ERROR_NEEDS_LOGIN:
		case WR_DBUS_ERROR_NO_SUCH_PEER:
		case WR_DBUS_ERROR_NOT_AN_EXIT_NODE:
		case WR_DBUS_ERROR_FAILED:
		default:
			text = _("The sign-in did not complete.");
			break;
		}
	} else if (g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
		   g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
		   g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
		   g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED)) {
		text = _("Warren’s background service is not running.");
	} else if (g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ||
		   g_error_matches(copy, G_DBUS_ERROR, G_DBUS_ERROR_AUTH_FAILED)) {
		text = _("You are not allowed to sign this computer in to Warren.");
	} else if (g_error_matches(copy, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		text = _("Warren’s background service did not answer in time.");
	} else {
		text = _("The sign-in did not complete.");
	}
	if (copy->message == NULL || copy->message[0] == '\0')
		show_detail = FALSE;
	if (out_detail != NULL)
		*out_detail = show_detail ? g_strdup(copy->message) : NULL;
	return g_strdup(text);
}

/* the code of a short error name ("ControlError"), FAILED for one not known */
static WrDbusError
code_of_name(const gchar *name, gsize len)
{
	for (gint code = 0; code < WR_DBUS_ERROR_LAST; code++) {
		const gchar *full = wr_dbus_error_name((WrDbusError) code);
		const gchar *shrt = full + strlen(WR_DBUS_ERROR_PREFIX);

		if (strlen(shrt) == len && strncmp(shrt, name, len) == 0)
			return (WrDbusError) code;
	}
	return WR_DBUS_ERROR_FAILED;
}

GError *
wr_tray_signin_find_failure(const gchar *const *health)
{
	for (gsize i = 0; health != NULL && health[i] != NULL; i++) {
		const gchar *name = health[i];
		const gchar *end;

		if (!g_str_has_prefix(name, HEALTH_FAILURE_PREFIX))
			continue;
		name += strlen(HEALTH_FAILURE_PREFIX);
		end = strstr(name, "): ");
		if (end == NULL)
			continue;
		return g_error_new_literal(WR_DBUS_ERROR, code_of_name(name, (gsize) (end - name)),
					   end + 3);
	}
	return NULL;
}

/* ---- the dialog ---- */

#define WR_TYPE_TRAY_SIGNIN_DIALOG (wr_tray_signin_dialog_get_type())
G_DECLARE_FINAL_TYPE(WrTraySigninDialog, wr_tray_signin_dialog, WR, TRAY_SIGNIN_DIALOG, GtkWindow)

typedef struct _WrTraySignin WrTraySignin;

struct _WrTraySigninDialog {
	GtkWindow parent_instance;

	GtkWidget *spinner;
	GtkWidget *error_icon;
	GtkWidget *heading;
	GtkWidget *message;
	GtkWidget *detail;
	GtkWidget *open_button;
	GtkWidget *copy_button;
	GtkWidget *cancel_button;

	WrTraySignin *signin; /* weak: cleared when the signin goes first */
};

G_DEFINE_FINAL_TYPE(WrTraySigninDialog, wr_tray_signin_dialog, GTK_TYPE_WINDOW)

/* the state behind app.sign-in, one per application */
struct _WrTraySignin {
	GtkApplication *app;	    /* weak: it owns this */
	WrDbusEngine1 *engine;	    /* ref */
	GCancellable *cancel;	    /* every call; cancelled when the app goes */
	WrTraySigninDialog *dialog; /* NULL while none is shown */
	gchar *opened_url;	    /* the AuthURL last opened in the browser */
	gboolean waiting;	    /* a sign-in started here is under way */
	gboolean login_returned;    /* its Login call has answered */
	gboolean had_url;	    /* AuthURL was set during it */
	gboolean seen_clear;	    /* since it began, Health had no sign-in failure */
	guint idle_id;		    /* the pending evaluate() */
	gulong notify_ids[4];
};

static void
signin_stop_waiting(WrTraySignin *self);
static void
open_in_browser(WrTraySignin *self, const gchar *url);

static void
open_clicked_cb(GtkButton *button, WrTraySigninDialog *dialog)
{
	if (dialog->signin != NULL && dialog->signin->opened_url != NULL)
		open_in_browser(dialog->signin, dialog->signin->opened_url);
}

static void
copy_clicked_cb(GtkButton *button, WrTraySigninDialog *dialog)
{
	GtkClipboard *clipboard;

	if (dialog->signin == NULL || dialog->signin->opened_url == NULL)
		return;
	clipboard = gtk_widget_get_clipboard(GTK_WIDGET(dialog), GDK_SELECTION_CLIPBOARD);
	gtk_clipboard_set_text(clipboard, dialog->signin->opened_url, -1);
	g_debug("the sign-in link is on the clipboard");
}

static void
cancel_clicked_cb(GtkButton *button, WrTraySigninDialog *dialog)
{
	/* the dialog goes; warrend's Login keeps waiting (it has no call to stop it) */
	if (dialog->signin != NULL)
		signin_stop_waiting(dialog->signin);
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

static gboolean
key_press_cb(GtkWidget *widget, GdkEventKey *event, WrTraySigninDialog *dialog)
{
	if (event->keyval != GDK_KEY_Escape)
		return GDK_EVENT_PROPAGATE;
	cancel_clicked_cb(NULL, dialog);
	return GDK_EVENT_STOP;
}

static void
wr_tray_signin_dialog_class_init(WrTraySigninDialogClass *klass)
{
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	/* a static library drops an object nothing refers to: this keeps the resource (and the
	 * constructor that registers it) in every program that shows the dialog */
	(void) wr_tray_get_resource();
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/io/github/warrenvpn/Tray/ui/wr-signin.ui");
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, spinner);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, error_icon);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, heading);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, message);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, detail);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, open_button);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, copy_button);
	gtk_widget_class_bind_template_child(widget_class, WrTraySigninDialog, cancel_button);
	gtk_widget_class_bind_template_callback(widget_class, open_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, copy_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, cancel_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, key_press_cb);
}

static void
wr_tray_signin_dialog_init(WrTraySigninDialog *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
}

static void
dialog_destroy_cb(GtkWidget *widget, WrTraySignin *self)
{
	if (self->dialog == WR_TRAY_SIGNIN_DIALOG(widget))
		self->dialog = NULL;
}

/* the dialog, made when first needed */
static WrTraySigninDialog *
ensure_dialog(WrTraySignin *self)
{
	if (self->dialog != NULL)
		return self->dialog;
	self->dialog = g_object_new(WR_TYPE_TRAY_SIGNIN_DIALOG, "application", self->app, NULL);
	self->dialog->signin = self;
	g_signal_connect(self->dialog, "destroy", G_CALLBACK(dialog_destroy_cb), self);
	return self->dialog;
}

/* waiting for the browser: the link, once known, as detail */
static void
show_waiting(WrTraySignin *self)
{
	WrTraySigninDialog *d = ensure_dialog(self);
	gboolean have_url = self->opened_url != NULL;

	gtk_window_set_title(GTK_WINDOW(d), _("Sign in to Warren"));
	gtk_widget_show(d->spinner);
	gtk_spinner_start(GTK_SPINNER(d->spinner));
	gtk_widget_hide(d->error_icon);
	gtk_label_set_text(GTK_LABEL(d->heading), _("Waiting for you to sign in in your browser…"));
	gtk_label_set_text(GTK_LABEL(d->message),
			   have_url ? _("A sign-in page has opened in your web browser. When you "
					"have signed in there, Warren connects.")
				    : _("Asking the Warren server for a sign-in page…"));
	gtk_label_set_text(GTK_LABEL(d->detail), have_url ? self->opened_url : "");
	gtk_widget_set_visible(d->detail, have_url);
	gtk_widget_show(d->open_button);
	gtk_widget_show(d->copy_button);
	gtk_widget_set_sensitive(d->open_button, have_url);
	gtk_widget_set_sensitive(d->copy_button, have_url);
	gtk_button_set_label(GTK_BUTTON(d->cancel_button), _("_Cancel"));
	gtk_window_present(GTK_WINDOW(d));
}

/* a failure: a sentence, and the daemon's or control's own words as detail */
static void
show_error(WrTraySignin *self, const GError *error)
{
	WrTraySigninDialog *d = ensure_dialog(self);
	g_autofree gchar *detail = NULL;
	g_autofree gchar *text = wr_tray_signin_error_text(error, &detail);

	/* for the log and the tests: the text is the daemon's English, no secret in it */
	g_message("sign-in failed: %s", error->message);
	signin_stop_waiting(self);
	gtk_window_set_title(GTK_WINDOW(d), _("Sign-in Failed"));
	gtk_spinner_stop(GTK_SPINNER(d->spinner));
	gtk_widget_hide(d->spinner);
	gtk_widget_show(d->error_icon);
	gtk_label_set_text(GTK_LABEL(d->heading), _("Could not sign in"));
	gtk_label_set_text(GTK_LABEL(d->message), text);
	gtk_label_set_text(GTK_LABEL(d->detail), detail != NULL ? detail : "");
	gtk_widget_set_visible(d->detail, detail != NULL);
	gtk_widget_hide(d->open_button);
	gtk_widget_hide(d->copy_button);
	gtk_button_set_label(GTK_BUTTON(d->cancel_button), _("_Close"));
	gtk_window_present(GTK_WINDOW(d));
}

/* ---- the browser ---- */

/* $BROWSER (a colon-separated list of commands, %s for the URL or it is appended), then
 * xdg-open: for desktops where GIO knows no handler for https */
static gboolean
spawn_fallback(const gchar *url, GError **error)
{
	const gchar *browser = g_getenv("BROWSER");
	g_autoptr(GError) last = NULL;

	if (browser != NULL && browser[0] != '\0') {
		g_auto(GStrv) cmds = g_strsplit(browser, ":", -1);

		for (gsize i = 0; cmds[i] != NULL; i++) {
			g_auto(GStrv) argv = NULL;
			g_autoptr(GPtrArray) args = g_ptr_array_new();
			gboolean substituted = FALSE;

			if (cmds[i][0] == '\0' || !g_shell_parse_argv(cmds[i], NULL, &argv, NULL))
				continue;
			for (gsize j = 0; argv[j] != NULL; j++) {
				if (strcmp(argv[j], "%s") == 0) {
					g_ptr_array_add(args, (gpointer) url);
					substituted = TRUE;
				} else {
					g_ptr_array_add(args, argv[j]);
				}
			}
			if (!substituted)
				g_ptr_array_add(args, (gpointer) url);
			g_ptr_array_add(args, NULL);
			g_clear_error(&last);
			if (g_spawn_async(NULL, (gchar **) args->pdata, NULL, G_SPAWN_SEARCH_PATH,
					  NULL, NULL, NULL, &last))
				return TRUE;
		}
	}
	{
		const gchar *argv[] = {"xdg-open", url, NULL};

		g_clear_error(&last);
		if (g_spawn_async(NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				  NULL, &last))
			return TRUE;
	}
	g_propagate_error(error, g_steal_pointer(&last));
	return FALSE;
}

static void
launch_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autofree gchar *url = user_data;
	g_autoptr(GError) error = NULL;

	if (!g_app_info_launch_default_for_uri_finish(res, &error) &&
	    !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_autoptr(GError) fallback = NULL;

		g_debug("no default browser through GIO (%s), trying $BROWSER and xdg-open",
			error->message);
		if (!spawn_fallback(url, &fallback)) {
			/* the dialog still has the link: Copy Link works without a browser */
			g_warning("cannot open a web browser: %s; %s, ignoring", error->message,
				  fallback->message);
		}
	}
}

static void
open_in_browser(WrTraySignin *self, const gchar *url)
{
	g_autoptr(GAppLaunchContext) ctx = NULL;
	GdkDisplay *display = gdk_display_get_default();

	if (display != NULL)
		ctx = G_APP_LAUNCH_CONTEXT(gdk_display_get_app_launch_context(display));
	g_debug("opening the sign-in page in the browser");
	g_app_info_launch_default_for_uri_async(url, ctx, self->cancel, launch_cb, g_strdup(url));
}

/* ---- following warrend ---- */

static void
signin_stop_waiting(WrTraySignin *self)
{
	self->waiting = FALSE;
	g_clear_handle_id(&self->idle_id, g_source_remove);
}

/* where the sign-in under way stands now, from warrend's properties */
static gboolean
evaluate_cb(gpointer user_data)
{
	WrTraySignin *self = user_data;
	const gchar *state = wr_dbus_engine1_get_state(self->engine);
	const gchar *url = wr_dbus_engine1_get_auth_url(self->engine);
	g_autoptr(GError) failure = NULL;
	g_autofree gchar *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(self->engine));

	self->idle_id = 0;
	if (!self->waiting)
		return G_SOURCE_REMOVE;
	if (owner == NULL) {
		g_autoptr(GError) gone = g_error_new_literal(
			G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER, "warrend left the bus");

		show_error(self, gone);
		return G_SOURCE_REMOVE;
	}
	/* an old failure counts only once Health was seen without one: warrend clears it on the
	 * bus before it answers Login */
	failure = wr_tray_signin_find_failure(wr_dbus_engine1_get_health(self->engine));
	if (failure == NULL)
		self->seen_clear = TRUE;
	if (!self->login_returned)
		return G_SOURCE_REMOVE;
	if (state != NULL && state[0] != '\0' && strcmp(state, "NeedsLogin") != 0) {
		/* signed in: the notifier tells the user */
		g_message("signed in, state %s", state);
		signin_stop_waiting(self);
		if (self->dialog != NULL)
			gtk_widget_destroy(GTK_WIDGET(self->dialog));
		return G_SOURCE_REMOVE;
	}
	if (failure != NULL && self->seen_clear) {
		show_error(self, failure);
		return G_SOURCE_REMOVE;
	}
	if (url != NULL && url[0] != '\0') {
		self->had_url = TRUE;
		if (g_strcmp0(url, self->opened_url) != 0) {
			g_free(self->opened_url);
			self->opened_url = g_strdup(url);
			open_in_browser(self, url);
			show_waiting(self);
		}
	} else if (self->had_url && failure == NULL) {
		/* the wait ended with neither success nor a reason: signed out meanwhile, another
		 * control server, or warrend stopping it */
		g_autoptr(GError) stopped = g_error_new_literal(
			WR_DBUS_ERROR, WR_DBUS_ERROR_FAILED, "the sign-in was stopped by Warren");

		show_error(self, stopped);
	}
	return G_SOURCE_REMOVE;
}

static void
schedule_evaluate(WrTraySignin *self)
{
	if (self->waiting && self->idle_id == 0)
		self->idle_id = g_idle_add(evaluate_cb, self);
}

static void
engine_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	schedule_evaluate(user_data);
}

static void
login_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WrTraySignin *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);

	if (ret == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* the app is going: self is gone */
	self->login_returned = TRUE;
	if (ret == NULL && !g_error_matches(error, WR_DBUS_ERROR, WR_DBUS_ERROR_BUSY)) {
		/* the D-Bus name prefix is no detail for a person (only here: a message read from
		 * Health may start with anything) */
		if (g_dbus_error_is_remote_error(error))
			g_dbus_error_strip_remote_error(error);
		show_error(self, error);
		return;
	}
	/* Busy: a sign-in already waits (from here or the CLI): its AuthURL is the one */
	schedule_evaluate(self);
}

static void
sign_in_activate_cb(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	WrTraySignin *self = user_data;

	if (self->waiting) {
		/* a second click while waiting: the dialog again, no second Login */
		if (self->dialog != NULL)
			gtk_window_present(GTK_WINDOW(self->dialog));
		return;
	}
	self->waiting = TRUE;
	self->login_returned = FALSE;
	self->had_url = FALSE;
	self->seen_clear =
		wr_tray_signin_find_failure(wr_dbus_engine1_get_health(self->engine)) == NULL;
	g_clear_pointer(&self->opened_url, g_free);
	show_waiting(self);
	g_message("signing in");
	g_dbus_proxy_call(G_DBUS_PROXY(self->engine), "Login", NULL,
			  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, -1, self->cancel,
			  login_cb, self);
}

static void
signin_free(gpointer data)
{
	WrTraySignin *self = data;

	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_handle_id(&self->idle_id, g_source_remove);
	for (gsize i = 0; i < G_N_ELEMENTS(self->notify_ids); i++)
		g_clear_signal_handler(&self->notify_ids[i], self->engine);
	if (self->dialog != NULL) {
		g_signal_handlers_disconnect_by_data(self->dialog, self);
		self->dialog->signin = NULL;
		gtk_widget_destroy(GTK_WIDGET(self->dialog));
	}
	g_clear_object(&self->engine);
	g_free(self->opened_url);
	g_free(self);
}

void
wr_tray_signin_install(GtkApplication *app, WrDbusEngine1 *engine)
{
	static const gchar *const props[] = {"notify::state", "notify::auth-url", "notify::health",
					     "notify::g-name-owner"};
	WrTraySignin *self = g_new0(WrTraySignin, 1);
	g_autoptr(GSimpleAction) action = g_simple_action_new("sign-in", NULL);

	G_STATIC_ASSERT(G_N_ELEMENTS(props) == G_N_ELEMENTS(((WrTraySignin *) NULL)->notify_ids));
	g_return_if_fail(GTK_IS_APPLICATION(app));
	g_return_if_fail(WR_DBUS_IS_ENGINE1(engine));

	/* the names of the error domain before the first call, so that errors arrive as codes */
	(void) WR_DBUS_ERROR;
	self->app = app;
	self->engine = g_object_ref(engine);
	self->cancel = g_cancellable_new();
	for (gsize i = 0; i < G_N_ELEMENTS(props); i++)
		self->notify_ids[i] =
			g_signal_connect(engine, props[i], G_CALLBACK(engine_notify_cb), self);
	g_signal_connect(action, "activate", G_CALLBACK(sign_in_activate_cb), self);
	g_action_map_add_action(G_ACTION_MAP(app), G_ACTION(action));
	/* lives as long as the application */
	g_object_set_data_full(G_OBJECT(app), "wr-tray-signin", self, signin_free);
}
