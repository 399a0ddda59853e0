/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Devices window (ui/wr-devices.ui): the peers of GetPeers in a list (name, user,
 * addresses, OS, path, last seen, bytes received and sent), filtered by the search entry, with
 * Copy Address and Ping (Ping, count 3, one line per reply: path and latency).
 *
 * Live without polling: each PeerEvent updates its row, and GetPeers is read again when the
 * engine's State or Self changes or warrend comes back.  The byte counters have no signal, so
 * while the window is shown (mapped) GetPeers is read every REFRESH_S seconds for them; the
 * timer stops when it is hidden.  Rows are merged by peer id, so the selection stays.
 */

#define G_LOG_DOMAIN "WrTrayDevices"

#include "config.h"

#include <glib/gi18n.h>

#include "wr-dict.h"
#include "wr-tray-format.h"
#include "wr-tray-win.h"

#define REFRESH_S  5
#define PING_COUNT 3

/* the columns of the list store in ui/wr-devices.ui */
enum {
	COL_ID,
	COL_NAME,
	COL_USER,
	COL_ADDRESSES, /* joined with ", " */
	COL_OS,
	COL_PATH,
	COL_LAST_SEEN,
	COL_RX,
	COL_TX,
	COL_ONLINE,
	COL_FIRST_ADDRESS,
	COL_RX_BYTES,
	COL_TX_BYTES,
	COL_LAST_SEEN_S,
};

struct _WrTrayDevices {
	GtkWindow parent_instance;

	WrDbusEngine1 *engine;
	GCancellable *cancellable;
	GCancellable *ping_cancellable;
	guint refresh_id;
	gboolean loading;
	gchar *ping_peer; /* the name shown while a ping runs */

	GtkListStore *store;
	GtkTreeModelFilter *filter;
	GtkTreeModelSort *sorted;
	GtkTreeView *tree;
	GtkSearchEntry *search_entry;
	GtkLabel *count_label;
	GtkLabel *ping_label;
	GtkWidget *copy_button;
	GtkWidget *ping_button;
};

G_DEFINE_FINAL_TYPE(WrTrayDevices, wr_tray_devices, GTK_TYPE_WINDOW)

/* the list store's row of the peer with id, FALSE when there is none */
static gboolean
find_row(WrTrayDevices *self, const gchar *id, GtkTreeIter *out_iter)
{
	GtkTreeModel *model = GTK_TREE_MODEL(self->store);
	GtkTreeIter iter;

	if (!gtk_tree_model_get_iter_first(model, &iter))
		return FALSE;
	do {
		g_autofree gchar *row_id = NULL;
		gtk_tree_model_get(model, &iter, COL_ID, &row_id, -1);
		if (g_strcmp0(row_id, id) == 0) {
			*out_iter = iter;
			return TRUE;
		}
	} while (gtk_tree_model_iter_next(model, &iter));
	return FALSE;
}

static void
update_count(WrTrayDevices *self)
{
	gint total = gtk_tree_model_iter_n_children(GTK_TREE_MODEL(self->store), NULL);
	gint shown = gtk_tree_model_iter_n_children(GTK_TREE_MODEL(self->filter), NULL);
	g_autofree gchar *text = NULL;

	if (shown == total)
		text = g_strdup_printf(ngettext("%d device", "%d devices", total), total);
	else
		/* TRANSLATORS: devices that match the search, of all */
		text = g_strdup_printf(ngettext("%d of %d device", "%d of %d devices", total),
				       shown, total);
	gtk_label_set_text(self->count_label, text);
}

/* set the row of the peer dictionary peer (a{sv}), adding it when new */
static void
set_peer(WrTrayDevices *self, GVariant *peer)
{
	const gchar *id = wr_dict_str(peer, "id");
	g_autofree const gchar **addresses = NULL;
	g_autofree gchar *joined = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *last_seen = NULL;
	g_autofree gchar *rx = NULL;
	g_autofree gchar *tx = NULL;
	gboolean online = FALSE;
	gint64 last_seen_s = 0;
	guint64 rx_bytes = 0, tx_bytes = 0;
	GtkTreeIter iter;

	if (id[0] == '\0')
		return;
	if (!g_variant_lookup(peer, "addresses", "^a&s", &addresses))
		addresses = g_new0(const gchar *, 1);
	(void) g_variant_lookup(peer, "online", "b", &online);
	(void) g_variant_lookup(peer, "last-seen", "x", &last_seen_s);
	(void) g_variant_lookup(peer, "rx-bytes", "t", &rx_bytes);
	(void) g_variant_lookup(peer, "tx-bytes", "t", &tx_bytes);
	joined = g_strjoinv(", ", (gchar **) addresses);
	path = wr_tray_format_path(wr_dict_str(peer, "path"));
	last_seen =
		wr_tray_format_last_seen(last_seen_s, online, g_get_real_time() / G_USEC_PER_SEC);
	rx = wr_tray_format_bytes(rx_bytes);
	tx = wr_tray_format_bytes(tx_bytes);
	if (!find_row(self, id, &iter))
		gtk_list_store_append(self->store, &iter);
	gtk_list_store_set(self->store, &iter, COL_ID, id, COL_NAME, wr_dict_str(peer, "name"),
			   COL_USER, wr_dict_str(peer, "user"), COL_ADDRESSES, joined, COL_OS,
			   wr_dict_str(peer, "os"), COL_PATH, path, COL_LAST_SEEN, last_seen,
			   COL_RX, rx, COL_TX, tx, COL_ONLINE, online, COL_FIRST_ADDRESS,
			   addresses[0] != NULL ? addresses[0] : "", COL_RX_BYTES, rx_bytes,
			   COL_TX_BYTES, tx_bytes, COL_LAST_SEEN_S,
			   online ? G_MAXINT64 : last_seen_s, -1);
}

static void
remove_peer(WrTrayDevices *self, const gchar *id)
{
	GtkTreeIter iter;

	if (find_row(self, id, &iter))
		gtk_list_store_remove(self->store, &iter);
}

/* the whole list from GetPeers' answer: rows of peers that are gone are removed */
static void
apply_peers(WrTrayDevices *self, GVariant *peers)
{
	g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GtkTreeModel *model = GTK_TREE_MODEL(self->store);
	GVariantIter it;
	GVariant *peer;
	GtkTreeIter iter;
	gboolean more;

	g_variant_iter_init(&it, peers);
	while ((peer = g_variant_iter_next_value(&it)) != NULL) {
		const gchar *id = NULL;
		if (g_variant_lookup(peer, "id", "&s", &id))
			g_hash_table_add(ids, g_strdup(id));
		set_peer(self, peer);
		g_variant_unref(peer);
	}
	more = gtk_tree_model_get_iter_first(model, &iter);
	while (more) {
		g_autofree gchar *row_id = NULL;
		gtk_tree_model_get(model, &iter, COL_ID, &row_id, -1);
		if (!g_hash_table_contains(ids, row_id))
			more = gtk_list_store_remove(self->store, &iter);
		else
			more = gtk_tree_model_iter_next(model, &iter);
	}
	update_count(self);
}

static void
get_peers_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) peers = NULL;
	WrTrayDevices *self;

	if (!wr_dbus_engine1_call_get_peers_finish(WR_DBUS_ENGINE1(source), &peers, res, &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = WR_TRAY_DEVICES(user_data);
	self->loading = FALSE;
	if (peers == NULL) {
		g_autofree gchar *text = wr_tray_win_error_text(error);
		g_debug("GetPeers: %s", error->message);
		gtk_label_set_text(self->count_label, text);
		return;
	}
	apply_peers(self, peers);
}

static void
load(WrTrayDevices *self)
{
	/* one at a time: a slow warrend must not pile calls up */
	if (self->loading)
		return;
	if (g_dbus_proxy_get_name_owner(G_DBUS_PROXY(self->engine)) == NULL) {
		gtk_list_store_clear(self->store);
		gtk_label_set_text(self->count_label,
				   _("Warren's service (warrend) is not running."));
		return;
	}
	self->loading = TRUE;
	wr_dbus_engine1_call_get_peers(self->engine, self->cancellable, get_peers_done_cb, self);
}

static void
peer_event_cb(WrDbusEngine1 *engine, const gchar *kind, GVariant *peer, gpointer user_data)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(user_data);

	if (!g_variant_is_of_type(peer, G_VARIANT_TYPE_VARDICT))
		return;
	if (g_strcmp0(kind, "removed") == 0)
		remove_peer(self, wr_dict_str(peer, "id"));
	else
		set_peer(self, peer);
	update_count(self);
}

static void
properties_changed_cb(GDBusProxy *proxy, GVariant *changed, GStrv invalidated, gpointer user_data)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(user_data);
	/* a new network map, or signed in or out: the whole list may have changed */
	g_autoptr(GVariant) state = g_variant_lookup_value(changed, "State", NULL);
	g_autoptr(GVariant) self_dict = g_variant_lookup_value(changed, "Self", NULL);

	if (state != NULL || self_dict != NULL)
		load(self);
}

static void
name_owner_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	load(WR_TRAY_DEVICES(user_data));
}

static gboolean
refresh_cb(gpointer user_data)
{
	load(WR_TRAY_DEVICES(user_data));
	return G_SOURCE_CONTINUE;
}

static void
wr_tray_devices_map(GtkWidget *widget)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(widget);

	GTK_WIDGET_CLASS(wr_tray_devices_parent_class)->map(widget);
	if (self->refresh_id == 0)
		self->refresh_id = g_timeout_add_seconds(REFRESH_S, refresh_cb, self);
}

static void
wr_tray_devices_unmap(GtkWidget *widget)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(widget);

	g_clear_handle_id(&self->refresh_id, g_source_remove);
	GTK_WIDGET_CLASS(wr_tray_devices_parent_class)->unmap(widget);
}

static gboolean
visible_func(GtkTreeModel *model, GtkTreeIter *iter, gpointer user_data)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(user_data);
	g_autofree gchar *name = NULL;
	g_autofree gchar *user = NULL;
	g_autofree gchar *addresses = NULL;
	g_auto(GStrv) split = NULL;

	gtk_tree_model_get(model, iter, COL_NAME, &name, COL_USER, &user, COL_ADDRESSES, &addresses,
			   -1);
	split = g_strsplit(addresses != NULL ? addresses : "", ", ", -1);
	return wr_tray_peer_matches(gtk_entry_get_text(GTK_ENTRY(self->search_entry)), name, user,
				    (const gchar *const *) split);
}

static void
search_changed_cb(WrTrayDevices *self)
{
	gtk_tree_model_filter_refilter(self->filter);
	update_count(self);
}

/* the selected row's id, name and first address; FALSE when none is selected */
static gboolean
selected(WrTrayDevices *self, gchar **out_id, gchar **out_name, gchar **out_address)
{
	GtkTreeSelection *selection = gtk_tree_view_get_selection(self->tree);
	GtkTreeModel *model;
	GtkTreeIter iter;

	if (!gtk_tree_selection_get_selected(selection, &model, &iter))
		return FALSE;
	gtk_tree_model_get(model, &iter, COL_ID, out_id, COL_NAME, out_name, COL_FIRST_ADDRESS,
			   out_address, -1);
	return TRUE;
}

static void
selection_changed_cb(GtkTreeSelection *selection, gpointer user_data)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(user_data);
	gboolean any = gtk_tree_selection_get_selected(selection, NULL, NULL);

	gtk_widget_set_sensitive(self->copy_button, any);
	gtk_widget_set_sensitive(self->ping_button, any && self->ping_cancellable == NULL);
}

static void
copy_clicked_cb(WrTrayDevices *self)
{
	g_autofree gchar *id = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *address = NULL;

	if (!selected(self, &id, &name, &address) || address[0] == '\0')
		return;
	gtk_clipboard_set_text(gtk_widget_get_clipboard(GTK_WIDGET(self), GDK_SELECTION_CLIPBOARD),
			       address, -1);
}

static void
ping_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	g_autoptr(GString) text = g_string_new(NULL);
	WrTrayDevices *self;

	if (ret == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = WR_TRAY_DEVICES(user_data);
	g_clear_object(&self->ping_cancellable);
	selection_changed_cb(gtk_tree_view_get_selection(self->tree), self);
	/* TRANSLATORS: %s is a device's name; the ping's replies follow, one a line */
	g_string_printf(text, _("Ping %s:"), self->ping_peer);
	if (ret == NULL) {
		g_autofree gchar *msg = wr_tray_win_error_text(error);
		g_debug("Ping: %s", error->message);
		g_string_append_printf(text, " %s", msg);
	} else {
		g_autoptr(GVariant) replies = g_variant_get_child_value(ret, 0);
		GVariantIter it;
		GVariant *reply;

		g_variant_iter_init(&it, replies);
		while ((reply = g_variant_iter_next_value(&it)) != NULL) {
			g_autofree gchar *line = wr_tray_format_ping_reply(reply);
			g_string_append_printf(text, "\n%s", line);
			g_variant_unref(reply);
		}
	}
	gtk_label_set_text(self->ping_label, text->str);
}

static void
ping_clicked_cb(WrTrayDevices *self)
{
	g_autofree gchar *id = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *address = NULL;
	g_autofree gchar *text = NULL;

	if (self->ping_cancellable != NULL || !selected(self, &id, &name, &address))
		return;
	g_free(self->ping_peer);
	self->ping_peer = g_strdup(name);
	/* TRANSLATORS: %s is a device's name */
	text = g_strdup_printf(_("Pinging %s…"), name);
	gtk_label_set_text(self->ping_label, text);
	gtk_widget_set_visible(GTK_WIDGET(self->ping_label), TRUE);
	self->ping_cancellable = g_cancellable_new();
	gtk_widget_set_sensitive(self->ping_button, FALSE);
	/* by id: names can repeat across users */
	wr_tray_win_call(self->engine, "Ping", g_variant_new("(su)", id, (guint32) PING_COUNT),
			 self->ping_cancellable, ping_done_cb, self);
}

static void
row_activated_cb(WrTrayDevices *self)
{
	ping_clicked_cb(self);
}

static void
close_clicked_cb(WrTrayDevices *self)
{
	gtk_window_close(GTK_WINDOW(self));
}

static void
wr_tray_devices_dispose(GObject *object)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	if (self->ping_cancellable != NULL)
		g_cancellable_cancel(self->ping_cancellable);
	g_clear_object(&self->ping_cancellable);
	g_clear_handle_id(&self->refresh_id, g_source_remove);
	if (self->engine != NULL)
		g_signal_handlers_disconnect_by_data(self->engine, self);
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(wr_tray_devices_parent_class)->dispose(object);
}

static void
wr_tray_devices_finalize(GObject *object)
{
	WrTrayDevices *self = WR_TRAY_DEVICES(object);

	g_free(self->ping_peer);
	G_OBJECT_CLASS(wr_tray_devices_parent_class)->finalize(object);
}

static void
wr_tray_devices_class_init(WrTrayDevicesClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->dispose = wr_tray_devices_dispose;
	object_class->finalize = wr_tray_devices_finalize;
	widget_class->map = wr_tray_devices_map;
	widget_class->unmap = wr_tray_devices_unmap;
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/io/github/warrenvpn/Tray/ui/wr-devices.ui");
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, store);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, filter);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, sorted);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, tree);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, search_entry);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, count_label);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, ping_label);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, copy_button);
	gtk_widget_class_bind_template_child(widget_class, WrTrayDevices, ping_button);
	gtk_widget_class_bind_template_callback(widget_class, search_changed_cb);
	gtk_widget_class_bind_template_callback(widget_class, row_activated_cb);
	gtk_widget_class_bind_template_callback(widget_class, copy_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, ping_clicked_cb);
	gtk_widget_class_bind_template_callback(widget_class, close_clicked_cb);
}

static void
wr_tray_devices_init(WrTrayDevices *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->cancellable = g_cancellable_new();
	gtk_tree_model_filter_set_visible_func(self->filter, visible_func, self, NULL);
	gtk_tree_sortable_set_sort_column_id(GTK_TREE_SORTABLE(self->sorted), COL_NAME,
					     GTK_SORT_ASCENDING);
	g_signal_connect(gtk_tree_view_get_selection(self->tree), "changed",
			 G_CALLBACK(selection_changed_cb), self);
	wr_tray_win_setup(GTK_WINDOW(self));
}

GtkWidget *
wr_tray_devices_new(GtkApplication *app, WrDbusEngine1 *engine)
{
	WrTrayDevices *self = g_object_new(WR_TRAY_TYPE_DEVICES, "application", app, NULL);

	self->engine = g_object_ref(engine);
	g_signal_connect(engine, "peer-event", G_CALLBACK(peer_event_cb), self);
	g_signal_connect(engine, "g-properties-changed", G_CALLBACK(properties_changed_cb), self);
	g_signal_connect(engine, "notify::g-name-owner", G_CALLBACK(name_owner_cb), self);
	gtk_widget_grab_default(self->ping_button);
	load(self);
	return GTK_WIDGET(self);
}
