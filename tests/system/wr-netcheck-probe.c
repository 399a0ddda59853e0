/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-netcheck-probe: one netcheck report against a DERP map, printed as JSON, for the system
 * tests (tests/system/netcheck-natlab.sh) and for looking at a network by hand.
 *
 *   wr-netcheck-probe --derp-map FILE [--full] [--runs N] [--pretty]
 *
 * It binds its own UDP sockets (0.0.0.0:0 and [::]:0), runs N reports one after the other
 * (the first is full; --full makes every one full) and prints the last one: the fields of
 * wr_netcheck_report_to_json() plus "LocalV4"/"LocalV6", the sockets' own addresses, so that a
 * script can tell a preserved port from a rewritten one.  Exit status 0 on a report (whatever
 * it says), 1 on an error, with the reason on stderr.
 */

#define G_LOG_DOMAIN "WrNetcheckProbe"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-derp-map.h"
#include "wr-netcheck-client.h"

#define MAX_RUNS 100

static gchar *arg_derp_map;
static gboolean arg_full;
static gboolean arg_pretty;
static gint arg_runs = 1;

static const GOptionEntry entries[] = {
	{"derp-map", 'm', 0, G_OPTION_ARG_FILENAME, &arg_derp_map, "The DERP map (JSON)", "FILE"},
	{"full", 'f', 0, G_OPTION_ARG_NONE, &arg_full, "Make every report a full one", NULL},
	{"runs", 'n', 0, G_OPTION_ARG_INT, &arg_runs, "Run N reports, print the last", "N"},
	{"pretty", 'p', 0, G_OPTION_ARG_NONE, &arg_pretty, "Indent the JSON", NULL},
	{NULL},
};

static void
ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	*out = g_object_ref(res);
}

static void
add_local(JsonObject *obj, WrNetcheckClient *client, const gchar *name, int family)
{
	WrEndpoint ep;
	gchar buf[WR_ENDPOINT_STRLEN] = "";

	if (wr_netcheck_client_get_local_address(client, family, &ep))
		wr_endpoint_format(&ep, buf);
	json_object_set_string_member(obj, name, buf);
}

static gchar *
report_json(const WrNetcheckReport *report, WrNetcheckClient *client, GError **error)
{
	g_autofree gchar *json = wr_netcheck_report_to_json(report, false);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	JsonNode *root;

	if (!json_parser_load_from_data(parser, json, -1, error))
		return NULL;
	root = json_parser_get_root(parser);
	add_local(json_node_get_object(root), client, "LocalV4", AF_INET);
	add_local(json_node_get_object(root), client, "LocalV6", AF_INET6);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, arg_pretty);
	return json_generator_to_data(gen, NULL);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- run a netcheck report");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrNetcheckClient) client = NULL;
	g_autoptr(WrNetcheckReport) report = NULL;
	g_autofree gchar *out = NULL;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("wr-netcheck-probe: %s\n", error->message);
		return EXIT_FAILURE;
	}
	if (arg_derp_map == NULL || argc != 1 || arg_runs < 1 || arg_runs > MAX_RUNS) {
		g_printerr("usage: wr-netcheck-probe --derp-map FILE [--full] [--runs 1..%d] "
			   "[--pretty]\n",
			   MAX_RUNS);
		return EXIT_FAILURE;
	}
	if (!wr_crypto_init()) {
		g_printerr("wr-netcheck-probe: cannot initialise libsodium\n");
		return EXIT_FAILURE;
	}
	map = wr_derp_map_new_from_file(arg_derp_map, &error);
	if (map == NULL) {
		g_printerr("wr-netcheck-probe: %s\n", error->message);
		return EXIT_FAILURE;
	}
	client = wr_netcheck_client_new_with_sockets(&error);
	if (client == NULL) {
		g_printerr("wr-netcheck-probe: %s\n", error->message);
		return EXIT_FAILURE;
	}
	for (gint i = 0; i < arg_runs; i++) {
		g_autoptr(GAsyncResult) res = NULL;

		g_clear_pointer(&report, wr_netcheck_report_free);
		wr_netcheck_client_get_report_async(
			client, map, arg_full ? WR_NETCHECK_FLAG_FULL : WR_NETCHECK_FLAG_NONE, NULL,
			ready_cb, &res);
		while (res == NULL)
			g_main_context_iteration(NULL, TRUE);
		report = wr_netcheck_client_get_report_finish(client, res, &error);
		if (report == NULL) {
			g_printerr("wr-netcheck-probe: %s\n", error->message);
			return EXIT_FAILURE;
		}
	}
	out = report_json(report, client, &error);
	if (out == NULL) {
		g_printerr("wr-netcheck-probe: %s\n", error->message);
		return EXIT_FAILURE;
	}
	g_print("%s\n", out);
	return EXIT_SUCCESS;
}
