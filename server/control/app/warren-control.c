/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control: the coordination server.  `warren-control serve --config FILE` runs it; the
 * other subcommands talk to a running one over its admin socket (docs/control-server.md,
 * docs/control-admin.md; wr-control-cli.c).
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <systemd/sd-daemon.h>

#include "wr-control-cli.h"
#include "wr-control.h"
#include "wr-crypto.h"

static gboolean
quit_cb(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

/* one file descriptor per map stream: take what the hard limit allows */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			g_warning("cannot raise the open file limit: %s", g_strerror(errno));
	}
}

static int
serve(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		 N_("The configuration file"), N_("FILE")},
		{"version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"),
		 NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(_("— run the coordination server"));
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConfig) config = NULL;
	g_autoptr(WrControl) control = NULL;
	g_autoptr(GMainLoop) loop = NULL;

	g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("warren-control serve: %s\n", error->message);
		return 2;
	}
	if (version) {
		g_print("warren-control %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (config_path == NULL) {
		g_printerr(_("warren-control serve: --config FILE is required\n"));
		return 2;
	}
	config = wr_control_config_load_file(config_path, &error);
	if (config == NULL) {
		g_printerr("warren-control: %s\n", error->message);
		return 1;
	}
	raise_nofile();
	control = wr_control_new(g_steal_pointer(&config), &error);
	if (control == NULL || !wr_control_start(control, &error)) {
		g_printerr("warren-control: %s\n", error->message);
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, quit_cb, loop);
	g_unix_signal_add(SIGINT, quit_cb, loop);
	g_message("warren-control %s serving", PACKAGE_VERSION);
	sd_notify(0, "READY=1");
	g_main_loop_run(loop);
	sd_notify(0, "STOPPING=1");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *localedir = g_getenv("WARREN_LOCALEDIR");

	setlocale(LC_ALL, "");
	/* as the CLI does (wr_i18n_localedir): the tests run from the build tree */
	bindtextdomain(GETTEXT_PACKAGE,
		       localedir != NULL && localedir[0] != '\0' ? localedir : LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	if (!wr_crypto_init()) {
		g_printerr("warren-control: the crypto library failed to start\n");
		return 1;
	}
	if (argc >= 2 && g_strcmp0(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	if (argc >= 2 && g_strcmp0(argv[1], "--version") == 0) {
		g_print("warren-control %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* the admin subcommands, over the admin socket */
	return wr_control_cli_run(argc, argv);
}
