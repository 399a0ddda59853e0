/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for warren-control's configuration (wr-control-config): arbitrary bytes as a
 * configuration file.  Besides the sanitizers it checks the contracts: a refusal comes with
 * WR_CONTROL_CONFIG_ERROR and a message "fuzz.conf:LINE: " whose line is within the input
 * (0 only for a file-wide problem); an accepted file has every required value and every list
 * non-NULL, and an enabled [oidc] a client id and secret.
 *
 * Input: the configuration text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzControlConfig"

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wr-control-config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN		 "fuzz.conf"
#define CONFIG_INPUT_MAX 65536

static guint
count_lines(const uint8_t *data, size_t size)
{
	guint n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConfig) c = NULL;

	if (size > CONFIG_INPUT_MAX)
		return 0;
	c = wr_control_config_load_data((const char *) data, size, ORIGIN, &error);
	if (c == NULL) {
		guint line = 0;

		g_assert(error != NULL);
		g_assert(error->domain == WR_CONTROL_CONFIG_ERROR);
		g_assert(g_str_has_prefix(error->message, ORIGIN ":"));
		if (error->code != WR_CONTROL_CONFIG_ERROR_SYNTAX ||
		    sscanf(error->message, ORIGIN ":%u: ", &line) == 1) {
			g_assert(sscanf(error->message, ORIGIN ":%u: ", &line) == 1);
			g_assert(line <= count_lines(data, size));
		}
		return 0;
	}
	g_assert(error == NULL);
	g_assert(c->listen != NULL && c->server_url != NULL && c->dns_domain != NULL);
	g_assert(c->derp_map_file != NULL && c->state_dir != NULL && c->database != NULL);
	g_assert(c->private_key_file != NULL && c->admin_socket != NULL);
	g_assert(c->ipv4_prefix != NULL && c->ipv6_prefix != NULL);
	g_assert(c->oidc_scopes != NULL && c->oidc_allowed_domains != NULL);
	g_assert(c->oidc_allowed_emails != NULL && c->oidc_allowed_groups != NULL);
	g_assert(c->nameservers != NULL);
	g_assert(c->oidc_algs != 0);
	g_assert(c->register_per_minute > 0 && c->register_burst > 0);
	g_assert(c->auth_per_minute > 0 && c->auth_burst > 0 && c->max_streams > 0);
	if (c->oidc_enabled) {
		g_assert(c->oidc_issuer != NULL && c->oidc_client_id != NULL);
		g_assert(c->oidc_client_secret != NULL && c->oidc_client_secret[0] != '\0');
	}
	return 0;
}
