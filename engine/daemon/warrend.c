/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend: the Warren engine (docs/warrend.md).  Runs in the foreground, logs to stderr
 * through g_log, loads the state directory, serves io.github.warrenvpn.Engine1 (wr-daemon) on
 * the system bus, or on a private bus for tests (--bus ADDRESS, --session: polkit is not asked
 * there), and stops cleanly on SIGTERM or SIGINT.
 *
 *   warrend [--state-dir DIR] [--bus ADDRESS | --session] [--control-url URL]
 *
 * Exit status: 0 after a signal, 1 when the state, the bus or the name cannot be had, 2 for bad
 * usage.
 */
#define G_LOG_DOMAIN "warrend"

#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "wr-crypto.h"
#include "wr-daemon.h"
#include "wr-flowlog.h"
#include "wr-state.h"

#define BUS_NAME	  "io.github.warrenvpn.Engine1"
#define DEFAULT_STATE_DIR "/var/lib/warren"
/* Tailscale's port: firewall rules written for it fit */
#define WR_DEFAULT_PORT 41641

typedef struct {
	GMainLoop *loop;
	int status;
} Ctx;

static gboolean
signal_cb(gpointer user_data)
{
	Ctx *ctx = user_data;

	g_message("signal received, stopping");
	g_main_loop_quit(ctx->loop);
	return G_SOURCE_CONTINUE;
}

static void
name_acquired_cb(GDBusConnection *bus, const char *name, gpointer user_data)
{
	g_message("ready: %s on %s", name, g_dbus_connection_get_unique_name(bus));
#ifdef HAVE_LIBSYSTEMD
	(void) sd_notify(0, "READY=1");
#endif
}

static void
name_lost_cb(GDBusConnection *bus, const char *name, gpointer user_data)
{
	Ctx *ctx = user_data;

	/* bus is NULL when the connection is gone */
	if (bus == NULL || g_dbus_connection_is_closed(bus))
		g_message("the bus went away: stopping");
	else
		g_critical("the bus name %s cannot be owned (another warrend, or the bus policy)",
			   name);
	ctx->status = 1;
	g_main_loop_quit(ctx->loop);
}

static void
bus_closed_cb(GDBusConnection *bus, gboolean remote, GError *error, gpointer user_data)
{
	Ctx *ctx = user_data;

	g_warning("the bus connection closed%s%s", error != NULL ? ": " : "",
		  error != NULL ? error->message : "");
	ctx->status = 1;
	g_main_loop_quit(ctx->loop);
}

int
main(int argc, char **argv)
{
	g_autofree char *state_dir = NULL;
	g_autofree char *bus_address = NULL;
	g_autofree char *control_url = NULL;
	g_autofree char *tun_name = NULL;
	g_autofree char *ca_file = NULL;
	g_autofree char *resolv_conf = NULL;
	gint port = WR_DEFAULT_PORT;
	gint64 key_rotation_interval = -1; /* -1: not given */
	g_autofree char *flow_log_size = NULL;
	gboolean no_data_plane = FALSE;
	gboolean session = FALSE;
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		 "The state directory (default " DEFAULT_STATE_DIR ")", "DIR"},
		{"bus", 0, 0, G_OPTION_ARG_STRING, &bus_address,
		 "Serve on the bus at this address (tests; polkit is not asked)", "ADDRESS"},
		{"session", 0, 0, G_OPTION_ARG_NONE, &session,
		 "Serve on the session bus (tests; polkit is not asked)", NULL},
		{"control-url", 0, 0, G_OPTION_ARG_STRING, &control_url,
		 "The control server to use when none is set yet", "URL"},
		{"tun", 0, 0, G_OPTION_ARG_STRING, &tun_name,
		 "The tunnel interface's name (default warren0)", "NAME"},
		{"port", 0, 0, G_OPTION_ARG_INT, &port,
		 "The UDP port for WireGuard and path discovery (default 41641; 0 picks one)", "N"},
		{"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
		 "Trust the CA certificates in this PEM file for the control server", "FILE"},
		{"flow-log-size", 0, 0, G_OPTION_ARG_STRING, &flow_log_size,
		 "The flow log's size on disk (default 4M; 64K to 1G; 0: no flow log)", "SIZE"},
		{"resolv-conf", 0, 0, G_OPTION_ARG_FILENAME, &resolv_conf,
		 "MagicDNS forwards to the name servers of this file (default /etc/resolv.conf)",
		 "FILE"},
		{"no-data-plane", 0, 0, G_OPTION_ARG_NONE, &no_data_plane,
		 "No tunnel: the control plane and D-Bus API only (tests)", NULL},
		{"key-rotation-interval", 0, 0, G_OPTION_ARG_INT64, &key_rotation_interval,
		 "Rotate the node key every SECONDS (default 604800, 7 days; 0 never)", "SECONDS"},
		{"version", 0, 0, G_OPTION_ARG_NONE, &version, "Show the version", NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- the Warren engine");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(WrDaemon) daemon = NULL;
	WrDaemonOptions options = {0};
	Ctx ctx = {0};
	guint owner, sigterm, sigint;
	gulong closed;

	/* everything to stderr (GLib sends messages and debug to stdout by default): the journal
	 * or the test's log file takes it from there */
	g_log_writer_default_set_use_stderr(TRUE);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		g_printerr("warrend: %s\n", error->message);
		return 2;
	}
	if (argc > 1) {
		g_printerr("warrend: unexpected argument %s\n", argv[1]);
		return 2;
	}
	if (version) {
		g_print("warrend %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (key_rotation_interval < -1) {
		g_printerr("warrend: --key-rotation-interval: must not be negative\n");
		return 2;
	}
	if (port < 0 || port > 65535) {
		g_printerr("warrend: --port: %d is not a UDP port (0 to 65535)\n", port);
		return 2;
	}
	if (tun_name != NULL &&
	    (*tun_name == '\0' || strlen(tun_name) >= 16 || strpbrk(tun_name, "/ \t\n:") != NULL)) {
		g_printerr("warrend: --tun: \"%s\" is not an interface name (1 to 15 characters, "
			   "no '/', ':' or spaces)\n",
			   tun_name);
		return 2;
	}
	if (flow_log_size != NULL) {
		guint64 size = 0;

		if (!wr_flow_log_parse_size(flow_log_size, &size, &error)) {
			g_printerr("warrend: --flow-log-size: %s\n", error->message);
			return 2;
		}
		options.flow_log_size = size;
		options.no_flow_log = size == 0;
	}
	if (session && bus_address != NULL) {
		g_printerr("warrend: --bus and --session exclude each other\n");
		return 2;
	}
	if (!wr_crypto_init()) {
		g_printerr("warrend: the crypto library cannot be initialized\n");
		return 1;
	}

	state = wr_state_new(state_dir != NULL ? state_dir : DEFAULT_STATE_DIR, &error);
	if (state == NULL || !wr_state_load(state, &error)) {
		g_printerr("warrend: %s\n", error->message);
		return 1;
	}

	if (bus_address != NULL)
		bus = g_dbus_connection_new_for_address_sync(
			bus_address,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
				G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
			NULL, NULL, &error);
	else
		bus = g_bus_get_sync(session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL,
				     &error);
	if (bus == NULL) {
		g_printerr("warrend: cannot connect to the bus: %s\n", error->message);
		return 1;
	}
	g_dbus_connection_set_exit_on_close(bus, FALSE);

	options.data_plane = !no_data_plane;
	options.tun_name = tun_name;
	options.port = (guint16) port;
	options.ca_file = ca_file;
	options.resolv_conf = resolv_conf;
	/* the option's 0 is "never"; the daemon's 0 is "the default" */
	options.key_rotation_interval = key_rotation_interval == 0    ? -1
					: key_rotation_interval == -1 ? 0
								      : key_rotation_interval;
	daemon = wr_daemon_new(state, bus, bus_address == NULL && !session, control_url, &options,
			       &error);
	if (daemon == NULL) {
		g_printerr("warrend: %s\n", error->message);
		return 1;
	}
	state = NULL; /* the daemon's now */

	ctx.loop = g_main_loop_new(NULL, FALSE);
	sigterm = g_unix_signal_add(SIGTERM, signal_cb, &ctx);
	sigint = g_unix_signal_add(SIGINT, signal_cb, &ctx);
	closed = g_signal_connect(bus, "closed", G_CALLBACK(bus_closed_cb), &ctx);
	owner = g_bus_own_name_on_connection(bus, BUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
					     name_acquired_cb, name_lost_cb, &ctx, NULL);
	g_main_loop_run(ctx.loop);

#ifdef HAVE_LIBSYSTEMD
	(void) sd_notify(0, "STOPPING=1");
#endif
	g_bus_unown_name(owner);
	g_signal_handler_disconnect(bus, closed);
	g_source_remove(sigterm);
	g_source_remove(sigint);
	g_clear_pointer(&daemon, wr_daemon_free);
	(void) g_dbus_connection_flush_sync(bus, NULL, NULL);
	g_main_loop_unref(ctx.loop);
	g_message("stopped");
	return ctx.status;
}
