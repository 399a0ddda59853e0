/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-dns-resolved: the calls MagicDNS makes to systemd-resolved, on a real private dbus-daemon
 * that stands in as the system bus.  systemd-resolved itself cannot run here: installing
 * Debian's package points the machine's /etc/resolv.conf at its stub, and it needs the real
 * system bus, its own user and /run/systemd (docs/magicdns.md, "Testing").  So the service on
 * that bus is a stand-in that exports the four methods with resolved's own signatures
 * (org.freedesktop.resolve1(5)); GDBus checks every call's arguments against them, which is
 * what this test is for: a call of the wrong shape fails here as it would against resolved.
 */

#define G_LOG_DOMAIN "WrDnsResolvedTest"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-dns-resolved.h"

/* as in resolved's org.freedesktop.resolve1.Manager (systemd 252), the methods we call */
static const char manager_xml[] =
	"<node><interface name='org.freedesktop.resolve1.Manager'>"
	"<method name='SetLinkDNS'><arg type='i' name='ifindex' direction='in'/>"
	"<arg type='a(iay)' name='addresses' direction='in'/></method>"
	"<method name='SetLinkDomains'><arg type='i' name='ifindex' direction='in'/>"
	"<arg type='a(sb)' name='domains' direction='in'/></method>"
	"<method name='SetLinkDefaultRoute'><arg type='i' name='ifindex' direction='in'/>"
	"<arg type='b' name='enable' direction='in'/></method>"
	"<method name='RevertLink'><arg type='i' name='ifindex' direction='in'/></method>"
	"</interface></node>";

typedef struct {
	GMutex lock;
	GPtrArray *calls; /* "Method (args as text)" */
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GDBusConnection *conn;
	guint reg;
	char *address;
	gboolean ready;
	GCond cond;
} StandIn;

static StandIn stand_in;

static void
method_cb(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
	  const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer user_data)
{
	g_autofree char *args = g_variant_print(params, FALSE);
	const char *domain = NULL;

	(void) conn;
	(void) sender;
	(void) path;
	(void) iface;
	(void) user_data;
	g_mutex_lock(&stand_in.lock);
	g_ptr_array_add(stand_in.calls, g_strdup_printf("%s %s", method, args));
	g_mutex_unlock(&stand_in.lock);
	if (strcmp(method, "SetLinkDomains") == 0) {
		g_autoptr(GVariantIter) it = NULL;
		gboolean route;

		g_variant_get(params, "(ia(sb))", NULL, &it);
		while (g_variant_iter_next(it, "(&sb)", &domain, &route)) {
			if (strcmp(domain, "refused.test") == 0) {
				g_dbus_method_invocation_return_dbus_error(
					inv, "org.freedesktop.DBus.Error.InvalidArgs",
					"Invalid search domain refused.test");
				return;
			}
		}
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

static gpointer
stand_in_thread(gpointer data)
{
	static const GDBusInterfaceVTable vtable = {.method_call = method_cb};
	g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(manager_xml, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = NULL;

	(void) data;
	g_main_context_push_thread_default(stand_in.context);
	stand_in.conn = g_dbus_connection_new_for_address_sync(
		stand_in.address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);
	stand_in.reg =
		g_dbus_connection_register_object(stand_in.conn, "/org/freedesktop/resolve1",
						  info->interfaces[0], &vtable, NULL, NULL, &error);
	g_assert_no_error(error);
	ret = g_dbus_connection_call_sync(stand_in.conn, "org.freedesktop.DBus",
					  "/org/freedesktop/DBus", "org.freedesktop.DBus",
					  "RequestName",
					  g_variant_new("(su)", "org.freedesktop.resolve1", 0u),
					  NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_mutex_lock(&stand_in.lock);
	stand_in.ready = TRUE;
	g_cond_signal(&stand_in.cond);
	g_mutex_unlock(&stand_in.lock);
	g_main_loop_run(stand_in.loop);
	g_dbus_connection_unregister_object(stand_in.conn, stand_in.reg);
	(void) g_dbus_connection_close_sync(stand_in.conn, NULL, NULL);
	g_clear_object(&stand_in.conn);
	g_main_context_pop_thread_default(stand_in.context);
	return NULL;
}

static void
stand_in_start(const char *address)
{
	stand_in.address = g_strdup(address);
	stand_in.calls = g_ptr_array_new_with_free_func(g_free);
	stand_in.context = g_main_context_new();
	stand_in.loop = g_main_loop_new(stand_in.context, FALSE);
	stand_in.thread = g_thread_new("resolved stand-in", stand_in_thread, NULL);
	g_mutex_lock(&stand_in.lock);
	while (!stand_in.ready)
		g_cond_wait(&stand_in.cond, &stand_in.lock);
	g_mutex_unlock(&stand_in.lock);
}

static void
stand_in_stop(void)
{
	g_main_loop_quit(stand_in.loop);
	g_thread_join(stand_in.thread);
	g_main_loop_unref(stand_in.loop);
	g_main_context_unref(stand_in.context);
	g_ptr_array_unref(stand_in.calls);
	g_free(stand_in.address);
}

/* the calls so far, one a line, and forgets them */
static char *
take_calls(void)
{
	GString *s = g_string_new(NULL);

	g_mutex_lock(&stand_in.lock);
	for (guint i = 0; i < stand_in.calls->len; i++)
		g_string_append_printf(s, "%s\n", (const char *) stand_in.calls->pdata[i]);
	g_ptr_array_set_size(stand_in.calls, 0);
	g_mutex_unlock(&stand_in.lock);
	return g_string_free(s, FALSE);
}

static void
done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;

	(void) source;
	if (!wr_dns_resolved_configure_finish(res, error) && *error == NULL)
		g_assert_not_reached();
	if (*error == NULL)
		*error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NONE, "ok");
}

/* configures ifindex for domain; NULL on success, else the error */
static GError *
configure(int ifindex, const char *domain)
{
	const char *routing[] = {"64.100.in-addr.arpa", "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa", NULL};
	WrEndpoint servers[2];
	GError *error = NULL;

	g_assert_true(wr_endpoint_parse(&servers[0], "100.100.100.100:53"));
	g_assert_true(wr_endpoint_parse(&servers[1], "[fd7a:115c:a1e0::53]:53"));
	wr_dns_resolved_configure_async(ifindex, domain, routing, servers, 2, FALSE, NULL, done_cb,
					&error);
	while (error == NULL)
		g_main_context_iteration(NULL, TRUE);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NONE))
		g_clear_error(&error);
	return error;
}

static void
test_no_resolved(void)
{
	g_autoptr(GError) error = configure(7, "tailnet.test");
	g_autoptr(GError) revert = NULL;

	/* nobody owns the name: the first call fails, and says which */
	g_assert_error(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN);
	g_assert_true(g_str_has_prefix(error->message, "SetLinkDNS: "));
	g_assert_false(wr_dns_resolved_revert(7, &revert));
	g_assert_nonnull(revert);
}

static void
test_configure_and_revert(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) refused = NULL;
	g_autofree char *calls = NULL;
	g_autofree char *after = NULL;

	stand_in_start(g_getenv("DBUS_SYSTEM_BUS_ADDRESS"));
	g_assert_null((error = configure(7, "tailnet.test")));
	calls = take_calls();
	g_assert_cmpstr(
		calls, ==,
		"SetLinkDNS (7, [(2, [0x64, 0x64, 0x64, 0x64]), (10, [0xfd, 0x7a, "
		"0x11, 0x5c, 0xa1, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, "
		"0x00, 0x53])])\n"
		"SetLinkDomains (7, [('tailnet.test', false), ('64.100.in-addr.arpa', true), "
		"('0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa', true)])\n"
		"SetLinkDefaultRoute (7, false)\n");
	g_assert_true(wr_dns_resolved_revert(7, &error));
	g_assert_no_error(error);
	g_free(calls);
	calls = take_calls();
	g_assert_cmpstr(calls, ==, "RevertLink (7,)\n");

	/* resolved refuses a call: the error names it, and the later calls are not made */
	refused = configure(9, "refused.test");
	g_assert_error(refused, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
	g_assert_cmpstr(refused->message, ==, "SetLinkDomains: Invalid search domain refused.test");
	after = take_calls();
	g_assert_true(g_str_has_prefix(after, "SetLinkDNS (9,"));
	g_assert_nonnull(strstr(after, "SetLinkDomains (9, [('refused.test', false), "));
	g_assert_null(strstr(after, "SetLinkDefaultRoute"));
	stand_in_stop();
}

int
main(int argc, char **argv)
{
	g_autoptr(GTestDBus) bus = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(bus);
	/* the private bus is the "system" bus of this process */
	g_setenv("DBUS_SYSTEM_BUS_ADDRESS", g_test_dbus_get_bus_address(bus), TRUE);

	/* in this order: the stand-in joins the bus in the second */
	g_test_add_func("/warren/dns-resolved/no-resolved", test_no_resolved);
	g_test_add_func("/warren/dns-resolved/configure-and-revert", test_configure_and_revert);
	ret = g_test_run();
	g_test_dbus_down(bus);
	return ret;
}
