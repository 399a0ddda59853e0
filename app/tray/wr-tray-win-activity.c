/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Activity window (ui/wr-activity.ui): warrend's flow log (GetFlows since 0: the
 * connections this machine carried through the tunnel), read when the window opens and on
 * Refresh, newest first.  When warrend keeps no flow log (the error Failed: flow logs off or the
 * ring unreadable) or refuses, an empty state says why instead of an empty list.
 */

#define G_LOG_DOMAIN "WrTrayActivity"

#include "config.h"

#include <glib/gi18n.h>

#include "wr-dbus-error.h"
#include "wr-dict.h"
#include "wr-tray-format.h"
#include "wr-tray-win.h"

/* the columns of the list store in ui/wr-activity.ui */
enum {
	COL_TIME,
	COL_PROTO,
	COL_LOCAL,
	COL_REMOTE,
	COL_PEER,
	COL_PATH,
	COL_IN,
	COL_OUT,
	COL_END_REASON,
	COL_END_US,
	COL_RX_BYTES,
	COL_TX_BYTES,
};

struct _WrTrayActivity {
	GtkWindow parent_instance;

	WrDbusEngine1 *engine;
	GCancellable *cancellable; /* of the GetFlows under way, NULL when none */

	GtkListStore *store;
	GtkTreeModelSort *sorted;
	GtkStack *stack;
	GtkLabel *summary_label;
	GtkLabel *empty_title;
	GtkLabel *empty_detail;
	GtkWidget *refresh_button;
};

G_DEFINE_FINAL_TYPE(WrTrayActivity, wr_tray_activity, GTK_TYPE_WINDOW)

static void
add_flow(WrTrayActivity *self, GVariant *flow)
{
	gint64 end_us = 0;
	guint64 rx = 0, tx = 0;
	const gchar *peer = wr_dict_str(flow, "peer");
	g_autofree gchar *time = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *in = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *reason = NULL;
	GtkTreeIter iter;

	(void) g_variant_lookup(flow, "end", "x", &end_us);
	(void) g_variant_lookup(flow, "rx-bytes", "t", &rx);
	(void) g_variant_lookup(flow, "tx-bytes", "t", &tx);
	time = wr_tray_format_time_us(end_us);
	path = wr_tray_format_path(wr_dict_str(flow, "path"));
	in = wr_tray_format_bytes(rx);
	out = wr_tray_format_bytes(tx);
	reason = wr_tray_format_end_reason(wr_dict_str(flow, "end-reason"));
	gtk_list_store_insert_with_values(
		self->store, &iter, -1, COL_TIME, time, COL_PROTO, wr_dict_str(flow, "proto"),
		COL_LOCAL, wr_dict_str(flow, "local"), COL_REMOTE, wr_dict_str(flow, "remote"),
		COL_PEER, peer[0] != '\0' ? peer : "—", COL_PATH, path, COL_IN, in, COL_OUT, out,
		COL_END_REASON, reason, COL_END_US, end_us, COL_RX_BYTES, rx, COL_TX_BYTES, tx, -1);
}

static void
show_empty(WrTrayActivity *self, const gchar *title, const gchar *detail)
{
	gtk_label_set_text(self->empty_title, title);
	gtk_label_set_text(self->empty_detail, detail);
	gtk_stack_set_visible_child_name(self->stack, "empty");
}

static void
get_flows_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	g_autoptr(GVariant) flows = NULL;
	g_autofree gchar *summary = NULL;
	WrTrayActivity *self;
	gsize n;

	if (ret == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = WR_TRAY_ACTIVITY(user_data);
	g_clear_object(&self->cancellable);
	gtk_widget_set_sensitive(self->refresh_button, TRUE);
	gtk_list_store_clear(self->store);
	if (ret == NULL) {
		g_autofree gchar *text = NULL;
		g_debug("GetFlows: %s", error->message);
		gtk_label_set_text(self->summary_label, "");
		if (g_error_matches(error, WR_DBUS_ERROR, WR_DBUS_ERROR_FAILED)) {
			/* TRANSLATORS: the Activity window when warrend keeps no flow log */
			show_empty(
				self, _("No activity log"),
				_("This computer does not keep a log of its connections through "
				  "Warren: flow logs are turned off, or the log could not be read. "
				  "An administrator can turn them on with warrend’s "
				  "--flow-log-size option."));
			return;
		}
		text = wr_tray_win_error_text(error);
		show_empty(self, _("The activity log cannot be shown"), text);
		return;
	}
	flows = g_variant_get_child_value(ret, 0);
	n = g_variant_n_children(flows);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) flow = g_variant_get_child_value(flows, i);
		add_flow(self, flow);
	}
	if (n == 0) {
		show_empty(self, _("No connections yet"),
			   _("Connections appear here when they end."));
		return;
	}
	summary = g_strdup_printf(ngettext("%u connection this computer made through Warren.",
					   "%u connections this computer made through Warren.",
					   (gulong) n),
				  (guint) n);
	gtk_label_set_text(self->summary_label, summary);
	gtk_stack_set_visible_child_name(self->stack, "flows");
}

static void
refresh(WrTrayActivity *self)
{
	if (self->cancellable != NULL)
		return;
	self->cancellable = g_cancellable_new();
	gtk_widget_set_sensitive(self->refresh_button, FALSE);
	gtk_label_set_text(self->summary_label, _("Reading the activity log…"));
	wr_tray_win_call(self->engine, "GetFlows", g_variant_new("(x)", (gint64) 0),
			 self->cancellable, get_flows_done_cb, self);
}

static void
refresh_clicked_cb(WrTrayActivity *self)
{
	refresh(self);
}

static void
close_clicked_cb(WrTrayActivity *self)
{
	gtk_window_close(GTK_WINDOW(self));
}

static void
wr_tray_activity_dispose(GObject *object)
{
	WrTrayActivity *self = WR_TRAY_ACTIVITY(object);

	if (self->cancellable != NULL)
		g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(wr_tray_activity_parent_class)->dispose(object);
}

static void
wr_tray_activity_class_init(WrTrayActivityClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->dispose = wr_tray_activity_dispose;
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/io/github/warrenvpn/Tray/ui/wr-activity.ui");
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, store);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, sorted);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, stack);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, summary_label);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, empty_title);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, empty_detail);
	gtk_widget_class_bind_template_child(widget_class, WrTrayActivity, refresh_button);
	gtk_widget_class_bind_template_callback(widget_class, refresh_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, close_clicked_cb);
}

static void
wr_tray_activity_init(WrTrayActivity *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_tree_sortable_set_sort_column_id(GTK_TREE_SORTABLE(self->sorted), COL_END_US,
					     GTK_SORT_DESCENDING);
	wr_tray_win_setup(GTK_WINDOW(self));
}

GtkWidget *
wr_tray_activity_new(GtkApplication *app, WrDbusEngine1 *engine)
{
	WrTrayActivity *self = g_object_new(WR_TRAY_TYPE_ACTIVITY, "application", app, NULL);

	self->engine = g_object_ref(engine);
	gtk_widget_grab_default(self->refresh_button);
	refresh(self);
	return GTK_WIDGET(self);
}
