/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the text form of a netcfg configuration (wr_netcfg_config_parse) and
 * the diff it feeds.  Besides the sanitizers it checks the contracts: a failure is
 * G_IO_ERROR_INVALID_DATA with a UTF-8 message; a parsed configuration validates, survives a
 * round trip through its own text form, and its diff against a bare link adds each distinct
 * address, route and rule once and removes nothing.
 *
 * Input: the configuration text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzNetcfgConfig"

#include "config.h"

#include <glib.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-netcfg-config.h"
#include "wr-netcfg-diff.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
to_text(const WrNetcfgConfig *c)
{
	GString *s = g_string_new("");

	g_string_append_printf(s, "mtu %u\ntable %u\nmetric %u\n", wr_netcfg_config_get_mtu(c),
			       wr_netcfg_config_get_table(c), c->metric);
	for (guint i = 0; i < c->addrs->len; i++) {
		char text[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(c->addrs, WrCidr, i), text);
		g_string_append_printf(s, "address %s\n", text);
	}
	for (guint i = 0; i < c->routes->len; i++) {
		char text[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(c->routes, WrCidr, i), text);
		g_string_append_printf(s, "route %s\n", text);
	}
	for (guint i = 0; i < c->rules->len; i++) {
		char text[WR_NETCFG_RULE_STRLEN];

		wr_netcfg_rule_format(&g_array_index(c->rules, WrNetcfgRule, i), text);
		g_string_append_printf(s, "rule %s\n", text);
	}
	return g_string_free(s, FALSE);
}

static void
check_diff(const WrNetcfgConfig *config)
{
	g_autoptr(WrNetcfgState) bare = wr_netcfg_state_new();
	g_autoptr(GArray) ops = NULL;
	g_autoptr(GArray) teardown = NULL;

	bare->mtu = wr_netcfg_config_get_mtu(config);
	bare->up = true;
	ops = wr_netcfg_diff(config, bare, NULL);
	g_assert_cmpuint(ops->len, <=,
			 config->addrs->len + config->routes->len + config->rules->len);
	for (guint i = 0; i < ops->len; i++) {
		const WrNetcfgOp *op = &g_array_index(ops, WrNetcfgOp, i);
		char text[WR_NETCFG_OP_STRLEN];

		g_assert_true(op->kind == WR_NETCFG_OP_ADD_ADDR ||
			      op->kind == WR_NETCFG_OP_ADD_ROUTE ||
			      op->kind == WR_NETCFG_OP_ADD_RULE);
		wr_netcfg_op_format(op, text);
		/* no operation twice */
		for (guint j = 0; j < i; j++) {
			const WrNetcfgOp *prev = &g_array_index(ops, WrNetcfgOp, j);

			if (prev->kind != op->kind)
				continue;
			if (op->kind == WR_NETCFG_OP_ADD_ADDR)
				g_assert_false(wr_netcfg_cidr_equal(&prev->addr, &op->addr));
			else if (op->kind == WR_NETCFG_OP_ADD_ROUTE)
				g_assert_false(wr_netcfg_route_equal(&prev->route, &op->route));
			else
				g_assert_false(wr_netcfg_rule_equal(&prev->rule, &op->rule));
		}
	}
	teardown = wr_netcfg_diff(NULL, bare, NULL);
	g_assert_cmpuint(teardown->len, ==, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error2 = NULL;
	g_autoptr(WrNetcfgConfig) config = NULL;
	g_autoptr(WrNetcfgConfig) again = NULL;
	g_autofree char *text = NULL;
	g_autofree char *text2 = NULL;

	config = wr_netcfg_config_parse((const char *) data, size, &error);
	if (config == NULL) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_true(g_utf8_validate(error->message, -1, NULL));
		g_assert_cmpuint(strlen(error->message), >, 0);
		return 0;
	}
	g_assert_no_error(error);
	g_assert_true(wr_netcfg_config_validate(config, NULL));

	text = to_text(config);
	again = wr_netcfg_config_parse(text, strlen(text), &error2);
	g_assert_no_error(error2);
	text2 = to_text(again);
	g_assert_cmpstr(text, ==, text2);
	g_assert_cmpuint(again->addrs->len, ==, config->addrs->len);
	g_assert_cmpuint(again->routes->len, ==, config->routes->len);
	for (guint i = 0; i < config->addrs->len; i++)
		g_assert_true(wr_netcfg_cidr_equal(&g_array_index(config->addrs, WrCidr, i),
						   &g_array_index(again->addrs, WrCidr, i)));
	for (guint i = 0; i < config->routes->len; i++)
		g_assert_true(wr_netcfg_cidr_equal(&g_array_index(config->routes, WrCidr, i),
						   &g_array_index(again->routes, WrCidr, i)));
	g_assert_cmpuint(again->rules->len, ==, config->rules->len);
	for (guint i = 0; i < config->rules->len; i++) {
		WrNetcfgRule a =
			wr_netcfg_rule_for(config, &g_array_index(config->rules, WrNetcfgRule, i));
		WrNetcfgRule b =
			wr_netcfg_rule_for(again, &g_array_index(again->rules, WrNetcfgRule, i));

		g_assert_true(wr_netcfg_rule_equal(&a, &b));
	}
	check_diff(config);
	return 0;
}
