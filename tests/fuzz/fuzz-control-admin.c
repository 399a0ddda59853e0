/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the admin API's request bodies (wr-control-admin-request).  Besides the
 * sanitizers it checks the contracts: a refusal is G_IO_ERROR_INVALID_DATA with a message; an
 * accepted name is a fixed point (checking it again gives it back), accepted tags and routes
 * are fixed points too, and an accepted auth key request has its tags, an expiry after now
 * (or none), and a user or a tag.
 *
 * Input: one byte choosing the body (0 rename, 1 tags, 2 routes, 3 auth key), then the body.
 */

#define G_LOG_DOMAIN "WrFuzzControlAdmin"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-control-admin-request.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 65536
#define NOW	       ((gint64) 1800000000)

static void
check_refusal(const GError *error)
{
	if (error == NULL || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ||
	    error->message[0] == '\0')
		g_error("a refusal without INVALID_DATA and a message");
}

/* the list checked again is itself */
static void
check_fixed_point(char **list, GStrv (*check)(const char *const *, GError **))
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) again = check((const char *const *) list, &error);

	if (again == NULL || !g_strv_equal((const char *const *) again, (const char *const *) list))
		g_error("an accepted list is not accepted as it is");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	const char *body = (const char *) data + 1;
	gsize len = size - 1;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		g_autofree char *name = wr_control_admin_rename_parse(body, len, &error);
		g_autofree char *again = NULL;

		if (name == NULL) {
			check_refusal(error);
			break;
		}
		again = wr_control_admin_node_name(name, NULL);
		if (g_strcmp0(again, name) != 0 || strlen(name) > WR_CONTROL_ADMIN_NAME_MAX)
			g_error("an accepted name is not a DNS label");
		break;
	}
	case 1: {
		g_auto(GStrv) tags = wr_control_admin_tags_parse(body, len, &error);

		if (tags == NULL) {
			check_refusal(error);
			break;
		}
		if (g_strv_length(tags) > WR_CONTROL_ADMIN_MAX_TAGS)
			g_error("too many tags accepted");
		check_fixed_point(tags, wr_control_admin_tags);
		break;
	}
	case 2: {
		g_auto(GStrv) routes = wr_control_admin_routes_parse(body, len, &error);

		if (routes == NULL) {
			check_refusal(error);
			break;
		}
		check_fixed_point(routes, wr_control_admin_routes);
		break;
	}
	default: {
		g_autoptr(WrControlAdminAuthkey) k =
			wr_control_admin_authkey_parse(body, len, NOW, &error);

		if (k == NULL) {
			check_refusal(error);
			break;
		}
		if (k->tags == NULL || (k->expiry != 0 && k->expiry <= NOW) ||
		    (k->user_id == 0 && k->user_login == NULL && k->tags[0] == NULL) ||
		    (k->user_id != 0 && k->user_login != NULL))
			g_error("an accepted auth key request breaks its contract");
		check_fixed_point(k->tags, wr_control_admin_tags);
		break;
	}
	}
	return 0;
}
