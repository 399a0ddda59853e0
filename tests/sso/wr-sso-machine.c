/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-sso-machine URL: a machine signing in interactively, as warrend will (control.md
 * "Register"): it registers with no auth key, prints AUTH_URL {"url":…} for run.mjs to open in
 * the browser, then follows up (each call held up to 60 s by the server) until the server says
 * authorized or gives an error, and prints "RESULT {json}" with what it learnt, then checks
 * that a map request is accepted exactly when it was authorized.  Exit 0 when it got an answer.
 */
#include "config.h"

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "wr-control-client.h"
#include "wr-crypto.h"

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlClient) client = NULL;
	g_autoptr(JsonObject) first = NULL;
	g_autoptr(JsonObject) last = NULL;
	g_autoptr(JsonObject) map = NULL;
	g_autoptr(JsonBuilder) out = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	const char *auth_url;
	gint64 deadline = g_get_monotonic_time() + 150 * G_USEC_PER_SEC;

	if (argc != 2) {
		g_printerr("usage: wr-sso-machine SERVER-URL\n");
		return 2;
	}
	if (!wr_crypto_init())
		return 1;
	client = wr_control_client_new(argv[1], &error);
	if (client == NULL || !wr_control_client_fetch_key(client, &error)) {
		g_printerr("wr-sso-machine: %s\n", error->message);
		return 1;
	}
	wr_control_client_set_timeout(client, 90000);
	{
		g_autoptr(JsonObject) req =
			wr_control_client_register_request(client, NULL, "laptop");

		first = wr_control_client_call(client, "register", req, &error);
	}
	if (first == NULL) {
		g_printerr("wr-sso-machine: register: %s\n", error->message);
		return 1;
	}
	auth_url = json_object_get_string_member_with_default(first, "auth_url", "");
	if (json_object_get_boolean_member_with_default(first, "machine_authorized", FALSE) ||
	    auth_url[0] == '\0') {
		g_printerr("wr-sso-machine: expected an auth_url, got none\n");
		return 1;
	}
	printf("AUTH_URL {\"url\":\"%s\"}\n", auth_url);
	fflush(stdout);
	/* follow up until the browser finished: each call is held by the server */
	while (g_get_monotonic_time() < deadline) {
		g_autoptr(JsonObject) req =
			wr_control_client_register_request(client, NULL, "laptop");

		json_object_set_string_member(req, "followup", auth_url);
		g_clear_pointer(&last, json_object_unref);
		last = wr_control_client_call(client, "register", req, &error);
		if (last == NULL) {
			g_printerr("wr-sso-machine: follow-up: %s\n", error->message);
			return 1;
		}
		if (json_object_get_boolean_member_with_default(last, "machine_authorized",
								FALSE) ||
		    json_object_get_string_member_with_default(last, "error", "")[0] != '\0')
			break;
	}
	if (last == NULL)
		return 1;
	{
		g_autoptr(JsonObject) req =
			wr_control_client_map_request(client, NULL, FALSE, NULL);

		map = wr_control_client_call(client, "map", req, NULL);
	}
	json_builder_begin_object(out);
	json_builder_set_member_name(out, "authorized");
	json_builder_add_boolean_value(out, json_object_get_boolean_member_with_default(
						    last, "machine_authorized", FALSE));
	json_builder_set_member_name(out, "error");
	json_builder_add_string_value(
		out, json_object_get_string_member_with_default(last, "error", ""));
	json_builder_set_member_name(out, "login_name");
	json_builder_add_string_value(
		out,
		json_object_has_member(last, "user")
			? json_object_get_string_member_with_default(
				  json_object_get_object_member(last, "user"), "login_name", "")
			: "");
	json_builder_set_member_name(out, "map_accepted");
	json_builder_add_boolean_value(out, map != NULL);
	json_builder_set_member_name(out, "address");
	json_builder_add_string_value(
		out, map != NULL ? json_array_get_string_element(
					   json_object_get_array_member(
						   json_object_get_object_member(map, "node"),
						   "addresses"),
					   0)
				 : "");
	json_builder_end_object(out);
	root = json_builder_get_root(out);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	printf("RESULT %s\n", text);
	return 0;
}
