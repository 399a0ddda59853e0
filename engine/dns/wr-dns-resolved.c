/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * systemd-resolved over D-Bus (wr-dns-resolved.h).  The calls of one configuration are made one
 * after the other from a GTask, each with the previous one's success.
 */
#define G_LOG_DOMAIN "WrDnsResolved"

#include "config.h"

#include <sys/socket.h>

#include "wr-dns-resolved.h"

#define RESOLVED_NAME	   "org.freedesktop.resolve1"
#define RESOLVED_PATH	   "/org/freedesktop/resolve1"
#define RESOLVED_INTERFACE "org.freedesktop.resolve1.Manager"

#define N_CALLS 3

typedef struct {
	GDBusConnection *bus;
	const char *methods[N_CALLS];
	GVariant *params[N_CALLS]; /* sunk */
	guint next;
} Configure;

static void
configure_free(gpointer data)
{
	Configure *c = data;

	g_clear_object(&c->bus);
	for (guint i = 0; i < N_CALLS; i++)
		g_clear_pointer(&c->params[i], g_variant_unref);
	g_free(c);
}

static void
next_call(GTask *task);

static void
call_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Configure *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret =
		g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);

	if (ret == NULL) {
		g_dbus_error_strip_remote_error(error);
		g_task_return_new_error(task, error->domain, error->code, "%s: %s",
					c->methods[c->next - 1], error->message);
		return;
	}
	next_call(g_steal_pointer(&task));
}

static void
next_call(GTask *task)
{
	Configure *c = g_task_get_task_data(task);
	guint i = c->next;

	if (i >= N_CALLS) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	c->next++;
	g_dbus_connection_call(c->bus, RESOLVED_NAME, RESOLVED_PATH, RESOLVED_INTERFACE,
			       c->methods[i], c->params[i], NULL, G_DBUS_CALL_FLAGS_NONE,
			       WR_DNS_RESOLVED_TIMEOUT_MS, g_task_get_cancellable(task),
			       call_done_cb, task);
}

static void
bus_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	Configure *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;

	(void) source;
	c->bus = g_bus_get_finish(res, &error);
	if (c->bus == NULL) {
		g_task_return_new_error(task, error->domain, error->code, "no system bus: %s",
					error->message);
		g_object_unref(task);
		return;
	}
	next_call(task);
}

void
wr_dns_resolved_configure_async(int ifindex, const char *domain, const char *const *routing,
				const WrEndpoint *servers, guint n_servers, gboolean default_route,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	Configure *c = g_new0(Configure, 1);
	GVariantBuilder dns, domains;

	g_task_set_source_tag(task, wr_dns_resolved_configure_async);
	g_task_set_task_data(task, c, configure_free);

	g_variant_builder_init(&dns, G_VARIANT_TYPE("a(iay)"));
	for (guint i = 0; i < n_servers; i++) {
		const WrEndpoint *ep = &servers[i];
		const void *addr = ep->sa.sa_family == AF_INET ? (const void *) &ep->in4.sin_addr
							       : (const void *) &ep->in6.sin6_addr;
		gsize len = ep->sa.sa_family == AF_INET ? 4 : 16;

		g_variant_builder_add(&dns, "(i@ay)", ep->sa.sa_family,
				      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, addr, len, 1));
	}
	g_variant_builder_init(&domains, G_VARIANT_TYPE("a(sb)"));
	g_variant_builder_add(&domains, "(sb)", domain, FALSE);
	for (guint i = 0; routing != NULL && routing[i] != NULL; i++)
		g_variant_builder_add(&domains, "(sb)", routing[i], TRUE);

	c->methods[0] = "SetLinkDNS";
	c->params[0] = g_variant_ref_sink(g_variant_new("(ia(iay))", ifindex, &dns));
	c->methods[1] = "SetLinkDomains";
	c->params[1] = g_variant_ref_sink(g_variant_new("(ia(sb))", ifindex, &domains));
	c->methods[2] = "SetLinkDefaultRoute";
	c->params[2] = g_variant_ref_sink(g_variant_new("(ib)", ifindex, default_route));
	g_bus_get(G_BUS_TYPE_SYSTEM, cancellable, bus_cb, task);
}

gboolean
wr_dns_resolved_configure_finish(GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

gboolean
wr_dns_resolved_revert(int ifindex, GError **error)
{
	g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, error);
	g_autoptr(GVariant) ret = NULL;

	if (bus == NULL)
		return FALSE;
	ret = g_dbus_connection_call_sync(bus, RESOLVED_NAME, RESOLVED_PATH, RESOLVED_INTERFACE,
					  "RevertLink", g_variant_new("(i)", ifindex), NULL,
					  G_DBUS_CALL_FLAGS_NONE, WR_DNS_RESOLVED_TIMEOUT_MS, NULL,
					  error);
	return ret != NULL;
}
