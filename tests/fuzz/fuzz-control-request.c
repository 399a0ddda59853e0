/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the register, map and flows request bodies (wr-control-request):
 * arbitrary bytes as the opened JSON of a sealed body, read by the three parsers.  Besides the
 * sanitizers it checks the contracts: a refusal is WR_CONTROL_SEAL_ERROR MISSING_FIELD or BAD_FIELD
 * (both HTTP 400) and leaves the output cleared; an accepted body's lists are bounded, normalised
 * (every route parses back as itself, every endpoint too) and free of duplicates; accepted
 * flow records are within their bounds (times in order, counts not negative, addresses that
 * parse).
 *
 * Input: JSON text.
 */

#define G_LOG_DOMAIN "WrFuzzControlRequest"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-addr.h"
#include "wr-control-request.h"
#include "wr-control-seal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_refusal(const GError *error)
{
	if (!g_error_matches(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_MISSING_FIELD) &&
	    !g_error_matches(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD))
		g_error("refusal outside MISSING_FIELD/BAD_FIELD: %s", error->message);
	if (wr_control_seal_error_http_status(error->code) != 400)
		g_error("refusal not a 400: %s", error->message);
}

static void
check_unique(char **v, guint max, const char *what)
{
	guint n = v != NULL ? g_strv_length(v) : 0;

	if (n > max)
		g_error("%s: %u entries over %u", what, n, max);
	for (guint i = 0; i < n; i++)
		for (guint j = i + 1; j < n; j++)
			if (strcmp(v[i], v[j]) == 0)
				g_error("%s: %s twice", what, v[i]);
}

static void
check_hostinfo(const WrHostinfo *hi)
{
	gboolean exit_node = FALSE;

	if (hi->routes == NULL || hi->request_tags == NULL)
		g_error("hostinfo lists not set");
	check_unique(hi->routes, WR_CONTROL_MAX_ROUTES, "routes");
	check_unique(hi->request_tags, WR_CONTROL_MAX_REQUEST_TAGS, "request_tags");
	for (char **r = hi->routes; *r != NULL; r++) {
		WrCidr c;
		char back[WR_CIDR_STRLEN];

		if (!wr_cidr_parse(&c, *r))
			g_error("route %s does not parse back", *r);
		wr_cidr_format(&c, back);
		if (strcmp(back, *r) != 0)
			g_error("route %s not normalised (%s)", *r, back);
		exit_node |= c.cidr == 0;
	}
	if (exit_node != hi->exit_node)
		g_error("exit_node does not match the routes");
	for (char **t = hi->request_tags; *t != NULL; t++)
		if (!g_str_has_prefix(*t, "tag:") || strlen(*t) > WR_CONTROL_MAX_TAG_LEN)
			g_error("tag %s let through", *t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(GError) error = NULL;
	WrRegisterRequest reg;
	WrMapRequest map;
	WrFlowsRequest flows;
	static const WrMapRequest empty_map = {0};

	if (size > 65536)
		return 0;
	obj = wr_control_parse_object((const char *) data, size, NULL);
	if (obj == NULL)
		return 0;
	if (wr_register_request_parse(obj, &reg, &error)) {
		check_hostinfo(&reg.hi);
		if (reg.auth_key == NULL || reg.followup == NULL)
			g_error("register strings not set");
		if (reg.expiry < 0 || reg.expiry > WR_CONTROL_MAX_EXPIRY)
			g_error("expiry %" G_GINT64_FORMAT " let through", reg.expiry);
		wr_register_request_clear(&reg);
	} else {
		check_refusal(error);
	}
	g_clear_error(&error);
	if (wr_map_request_parse(obj, &map, &error)) {
		check_hostinfo(&map.hi);
		check_unique(map.endpoints, WR_CONTROL_MAX_ENDPOINTS, "endpoints");
		for (char **e = map.endpoints; e != NULL && *e != NULL; e++) {
			WrEndpoint ep;
			char back[WR_ENDPOINT_STRLEN];

			if (!wr_endpoint_parse(&ep, *e))
				g_error("endpoint %s does not parse back", *e);
			wr_endpoint_format(&ep, back);
			if (strcmp(back, *e) != 0)
				g_error("endpoint %s not normalised (%s)", *e, back);
		}
		if (map.derp_region < -1 || map.derp_region > 65535)
			g_error("derp_region let through");
		wr_map_request_clear(&map);
	} else {
		check_refusal(error);
		if (memcmp(&map, &empty_map, sizeof(map)) != 0)
			g_error("a refused map request left state behind");
	}
	g_clear_error(&error);
	if (wr_flows_request_parse(obj, &flows, &error)) {
		if (flows.flows == NULL || flows.flows->len > WR_CONTROL_MAX_FLOWS)
			g_error("flows unbounded");
		for (guint i = 0; i < flows.flows->len; i++) {
			const WrFlowIn *f = &g_array_index(flows.flows, WrFlowIn, i);
			WrEndpoint ep;

			if (f->start_us < 0 || f->end_us < f->start_us || f->tx_packets < 0 ||
			    f->tx_bytes < 0 || f->rx_packets < 0 || f->rx_bytes < 0 ||
			    f->peer_id < 0)
				g_error("flows[%u]: a number out of range let through", i);
			if (!wr_endpoint_parse(&ep, f->local) || !wr_endpoint_parse(&ep, f->remote))
				g_error("flows[%u]: an address let through", i);
			if (*f->proto == '\0' || f->end_reason == NULL || f->path == NULL ||
			    f->peer == NULL)
				g_error("flows[%u]: a field missing", i);
		}
		wr_flows_request_clear(&flows);
	} else {
		WrFlowsRequest empty_flows = {0};

		check_refusal(error);
		if (memcmp(&flows, &empty_flows, sizeof(flows)) != 0)
			g_error("a refused flows request left state behind");
	}
	return 0;
}
