/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-netcfg-probe: drives engine/netcfg on a real TUN for tests/system/netcfg-netns.sh.
 *
 *   wr-netcfg-probe --name IFNAME
 *
 * Creates the TUN IFNAME with engine/tun (it lives as long as the probe), prints
 * "ready IFNAME", then reads commands from stdin, one a line, and answers each with one line:
 *
 *   apply FILE   wr_netcfg_apply() with the configuration in FILE (wr-netcfg-config.h's text
 *                form)           -> "ok N" (N operations performed) or "error: MESSAGE"
 *   teardown     wr_netcfg_teardown()                     -> "ok N" or "error: MESSAGE"
 *   quit         exits 0 (so does the end of stdin); the TUN goes with the process
 */

#define G_LOG_DOMAIN "WrNetcfgProbe"

#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr-netcfg.h"
#include "wr-tun.h"

#define MAX_COMMAND 4096

static gchar *arg_name;

static const GOptionEntry entries[] = {
	{"name", 'n', 0, G_OPTION_ARG_STRING, &arg_name, "The TUN interface to create", "IFNAME"},
	{NULL},
};

static void
answer(gboolean ok, guint changes, const GError *error)
{
	if (ok)
		printf("ok %u\n", changes);
	else
		printf("error: %s\n", error->message);
	fflush(stdout);
}

static gboolean
apply_file(WrNetcfg *netcfg, const char *path, guint *out_changes, GError **error)
{
	g_autofree gchar *text = NULL;
	gsize len;
	g_autoptr(WrNetcfgConfig) config = NULL;

	if (!g_file_get_contents(path, &text, &len, error))
		return FALSE;
	config = wr_netcfg_config_parse(text, len, error);
	if (config == NULL) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	return wr_netcfg_apply(netcfg, config, out_changes, error);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- drive engine/netcfg on a TUN");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;
	g_autoptr(WrNetcfg) netcfg = NULL;
	char line[MAX_COMMAND];

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || arg_name == NULL) {
		fprintf(stderr, "wr-netcfg-probe: %s\n",
			error != NULL ? error->message : "--name is required");
		return 1;
	}
	tun = wr_tun_linux_open(arg_name, false, &error);
	if (tun == NULL) {
		fprintf(stderr, "wr-netcfg-probe: %s\n", error->message);
		return 1;
	}
	netcfg = wr_netcfg_new(wr_tun_get_name(tun), &error);
	if (netcfg == NULL) {
		fprintf(stderr, "wr-netcfg-probe: %s\n", error->message);
		return 1;
	}
	printf("ready %s\n", wr_tun_get_name(tun));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin) != NULL) {
		guint changes = 0;
		gboolean ok;

		g_strchomp(line);
		g_clear_error(&error);
		if (g_str_has_prefix(line, "apply ")) {
			ok = apply_file(netcfg, line + strlen("apply "), &changes, &error);
		} else if (g_str_equal(line, "teardown")) {
			ok = wr_netcfg_teardown(netcfg, &changes, &error);
		} else if (g_str_equal(line, "quit")) {
			break;
		} else {
			printf("error: unknown command '%s'\n", line);
			fflush(stdout);
			continue;
		}
		answer(ok, changes, error);
	}
	g_free(arg_name);
	return 0;
}
