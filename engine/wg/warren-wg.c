/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-wg: Warren's userspace WireGuard as a drop-in for wireguard-go.
 *
 *   warren-wg [-f] IFNAME
 *
 * creates the TUN interface IFNAME and serves the cross-platform UAPI on
 * /var/run/wireguard/IFNAME.sock, so the standard `wg` and `wg-quick` configure it.  Without
 * -f it detaches once the interface and socket are ready (what wg-quick expects, through
 * WG_QUICK_USERSPACE_IMPLEMENTATION=warren-wg).  It exits when the interface is deleted
 * (`ip link del`), on SIGINT or SIGTERM.
 *
 * Environment:
 *   WARREN_WG_TIMER_SCALE=N   divide every WireGuard timer by N (tests only: rekey in 10 s
 *                             with N=12); never set it in production
 *   WARREN_WG_NO_OFFLOAD=1    do not ask the kernel for TUN segmentation offloads
 *   LOG_LEVEL=debug|verbose|error|silent   as wireguard-go reads it
 */

#define G_LOG_DOMAIN "WarrenWg"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "wr-crypto.h"
#include "wr-device.h"
#include "wr-tun.h"
#include "wr-uapi-server.h"
#include "wr-wg-io.h"

#define MAX_TIMER_SCALE 1000

static gboolean arg_foreground;
static gboolean arg_version;

typedef struct {
	GMainLoop *loop;
	WrWgIo *io;
	int exit_code;
} App;

static void
uapi_get_cb(WrUapiDeviceInfo *info, gpointer user_data)
{
	App *app = user_data;

	wr_wg_io_get_info(app->io, info);
}

static int
uapi_set_cb(const WrUapiSet *set, gpointer user_data)
{
	App *app = user_data;

	return wr_wg_io_apply(app->io, set);
}

static void
tun_gone_cb(gpointer user_data)
{
	App *app = user_data;

	g_message("interface removed, shutting down");
	g_main_loop_quit(app->loop);
}

static gboolean
signal_cb(gpointer user_data)
{
	App *app = user_data;

	g_message("shutting down");
	g_main_loop_quit(app->loop);
	return G_SOURCE_REMOVE;
}

static unsigned int
timer_scale_from_env(GError **error)
{
	const char *value = g_getenv("WARREN_WG_TIMER_SCALE");
	guint64 scale;

	if (value == NULL || *value == '\0')
		return 1;
	if (!g_ascii_string_to_unsigned(value, 10, 1, MAX_TIMER_SCALE, &scale, error)) {
		g_prefix_error(error, "WARREN_WG_TIMER_SCALE: ");
		return 0;
	}
	return (unsigned int) scale;
}

static void
log_handler(const gchar *log_domain, GLogLevelFlags log_level, const gchar *message,
	    gpointer user_data)
{
	const char *level = g_getenv("LOG_LEVEL");
	GLogLevelFlags shown = G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
			       G_LOG_LEVEL_MESSAGE;
	const char *prefix = "INFO";

	if (g_strcmp0(level, "silent") == 0)
		return;
	if (g_strcmp0(level, "error") == 0)
		shown = G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING;
	else if (g_strcmp0(level, "verbose") == 0)
		shown |= G_LOG_LEVEL_INFO;
	else if (g_strcmp0(level, "debug") == 0)
		shown |= G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG;
	if ((log_level & shown) == 0)
		return;
	if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		prefix = "ERROR";
	else if (log_level & G_LOG_LEVEL_DEBUG)
		prefix = "DEBUG";
	fprintf(stderr, "%s: %s: %s: %s\n", prefix, g_get_prgname(), log_domain, message);
}

/* forks; the parent waits for the child to say it is ready and exits with its verdict */
static int
daemonize(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char status = 1;

		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	if (setsid() < 0)
		return -1;
	return fds[1];
}

static void
tell_parent(int fd, char status)
{
	int devnull;

	if (fd < 0)
		return;
	(void) !write(fd, &status, 1);
	close(fd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		(void) dup2(devnull, STDIN_FILENO);
		(void) dup2(devnull, STDOUT_FILENO);
		(void) dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
}

int
main(int argc, char *argv[])
{
	const GOptionEntry entries[] = {
		{"foreground", 'f', 0, G_OPTION_ARG_NONE, &arg_foreground, "Stay in the foreground",
		 NULL},
		{"version", 0, 0, G_OPTION_ARG_NONE, &arg_version, "Show the version", NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDevice) device = NULL;
	g_autoptr(WrTun) tun = NULL;
	g_autoptr(WrUapiServer) uapi = NULL;
	App app = {0};
	WrTimings timings;
	unsigned int scale;
	int ready_fd = -1;
	bool offload;

	g_set_prgname("warren-wg");
	context = g_option_context_new("IFNAME");
	g_option_context_set_summary(context,
				     "Userspace WireGuard, configured with wg(8) over the UAPI "
				     "socket, like wireguard-go.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		fprintf(stderr, "warren-wg: %s\n", error->message);
		return 2;
	}
	if (arg_version) {
		printf("warren-wg %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '\0' || strlen(argv[1]) >= 16 ||
	    strchr(argv[1], '/') != NULL) {
		fprintf(stderr, "Usage: warren-wg [-f/--foreground] IFNAME\n"
				"IFNAME is an interface name of at most 15 characters.\n");
		return 2;
	}
	g_log_set_default_handler(log_handler, NULL);

	if (!wr_crypto_init()) {
		fprintf(stderr, "warren-wg: cannot initialise libsodium\n");
		return 1;
	}
	scale = timer_scale_from_env(&error);
	if (scale == 0) {
		fprintf(stderr, "warren-wg: %s\n", error->message);
		return 2;
	}

	if (!arg_foreground) {
		ready_fd = daemonize();
		if (ready_fd < 0) {
			fprintf(stderr, "warren-wg: cannot detach: %s\n", g_strerror(errno));
			return 1;
		}
	}

	offload = g_strcmp0(g_getenv("WARREN_WG_NO_OFFLOAD"), "1") != 0;
	tun = wr_tun_linux_open(argv[1], offload, &error);
	if (tun == NULL) {
		g_warning("cannot create TUN device %s: %s", argv[1], error->message);
		return 1;
	}
	if (scale != 1)
		g_warning("WARREN_WG_TIMER_SCALE=%u: WireGuard timers are %u times shorter than "
			  "the protocol's; for tests only",
			  scale, scale);
	wr_timings_init(&timings, scale);
	device = wr_device_new(&timings);

	app.loop = g_main_loop_new(NULL, FALSE);
	app.io = wr_wg_io_new(device, tun, NULL, tun_gone_cb, &app, &error);
	if (app.io == NULL) {
		g_warning("cannot start the data plane: %s", error->message);
		g_main_loop_unref(app.loop);
		return 1;
	}
	uapi = wr_uapi_server_new(NULL, wr_tun_get_name(tun), uapi_get_cb, uapi_set_cb, &app,
				  &error);
	if (uapi == NULL) {
		g_warning("cannot serve the UAPI: %s", error->message);
		wr_wg_io_free(app.io);
		g_main_loop_unref(app.loop);
		return 1;
	}
	g_unix_signal_add(SIGINT, signal_cb, &app);
	g_unix_signal_add(SIGTERM, signal_cb, &app);
	g_message("interface %s is up (offload %s); UAPI on %s", wr_tun_get_name(tun),
		  wr_tun_has_offload(tun) ? "on" : "off", wr_uapi_server_get_path(uapi));
	tell_parent(ready_fd, 0);

	g_main_loop_run(app.loop);

	{
		g_autofree char *stats = wr_wg_io_describe_stats(app.io);

		g_message("%s", stats);
	}
	g_clear_pointer(&uapi, wr_uapi_server_free);
	wr_wg_io_free(app.io);
	g_main_loop_unref(app.loop);
	return app.exit_code;
}
