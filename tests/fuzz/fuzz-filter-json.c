/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the packet_filter reader (wr-filter): arbitrary bytes as the JSON text
 * of a map's packet_filter.  Besides the sanitizers it checks the contracts: exactly one of a
 * rule set and an error; a refusal is G_IO_ERROR_INVALID_DATA (or _NO_SPACE past a limit) with
 * a message that names the place; text that json-glib reads gives the same answer through the
 * JsonNode entry point; and an accepted rule set decides a fixed set of packets the same way
 * whichever way it was loaded, with allow-all only for the protocols a rule names.
 *
 * Input: the text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzFilterJson"

#include "config.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-filter.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the packets every accepted rule set is asked about, as parsed packets */
static void
probe_packets(GArray *out)
{
	static const struct {
		uint8_t family;
		uint8_t proto;
		uint8_t l4;
		uint16_t dport;
		uint8_t src_last;
		uint8_t dst_last;
	} probes[] = {
		{AF_INET, IPPROTO_TCP, WR_FILTER_L4_PORTS, 22, 2, 7},
		{AF_INET, IPPROTO_UDP, WR_FILTER_L4_PORTS, 53, 3, 7},
		{AF_INET, IPPROTO_ICMP, WR_FILTER_L4_ECHO_REQUEST, 0, 2, 7},
		{AF_INET, IPPROTO_GRE, WR_FILTER_L4_PORTLESS, 0, 4, 7},
		{AF_INET, IPPROTO_UDP, WR_FILTER_L4_FRAGMENT, 0, 4, 7},
		{AF_INET6, IPPROTO_TCP, WR_FILTER_L4_PORTS, 443, 2, 7},
		{AF_INET6, IPPROTO_ICMPV6, WR_FILTER_L4_ECHO_REQUEST, 0, 3, 7},
		{AF_INET6, IPPROTO_SCTP, WR_FILTER_L4_PORTS, 9999, 5, 7},
	};

	for (guint i = 0; i < G_N_ELEMENTS(probes); i++) {
		WrFilterPacket p;

		memset(&p, 0, sizeof(p));
		p.family = probes[i].family;
		p.proto = probes[i].proto;
		p.l4 = probes[i].l4;
		p.dport = probes[i].dport;
		p.sport = 40000;
		if (p.family == AF_INET) {
			p.src[0] = p.dst[0] = 100;
			p.src[1] = p.dst[1] = 64;
			p.src[3] = probes[i].src_last;
			p.dst[3] = probes[i].dst_last;
		} else {
			p.src[0] = p.dst[0] = 0xfd;
			p.src[1] = p.dst[1] = 0x7a;
			p.src[15] = probes[i].src_last;
			p.dst[15] = probes[i].dst_last;
		}
		g_array_append_val(out, p);
	}
}

static void
check_refusal(const GError *error)
{
	g_assert_nonnull(error);
	g_assert_true(error->domain == G_IO_ERROR);
	g_assert_true(error->code == G_IO_ERROR_INVALID_DATA || error->code == G_IO_ERROR_NO_SPACE);
	g_assert_true(g_str_has_prefix(error->message, "packet_filter: ") ||
		      g_str_has_prefix(error->message, "rule "));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) node_error = NULL;
	g_autoptr(WrFilterRuleset) rules = NULL;
	g_autoptr(WrFilterRuleset) from_node = NULL;
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GArray) probes = g_array_new(FALSE, FALSE, sizeof(WrFilterPacket));
	bool reached_node;

	rules = wr_filter_ruleset_new_from_data((const char *) data, size, &error);
	g_assert_true((rules == NULL) != (error == NULL));
	if (rules == NULL)
		check_refusal(error);

	/* text that got as far as the JsonNode checks gives the same answer through the JsonNode
	 * entry point (the others never reach json-glib: too big, NUL bytes, too deep) */
	reached_node = rules != NULL || g_str_has_prefix(error->message, "rule ") ||
		       g_str_has_prefix(error->message, "packet_filter: want ") ||
		       g_str_has_prefix(error->message, "packet_filter: more than 16384 rules");
	if (reached_node) {
		g_assert_true(json_parser_load_from_data(parser, (const char *) data, (gssize) size,
							 NULL));
		from_node =
			wr_filter_ruleset_new_from_json(json_parser_get_root(parser), &node_error);
		g_assert_true((from_node == NULL) == (rules == NULL));
		if (rules == NULL)
			g_assert_cmpstr(node_error->message, ==, error->message);
	}
	if (rules == NULL)
		return 0;

	g_assert_cmpuint(wr_filter_ruleset_n_rules(rules), <=, WR_FILTER_MAX_RULES);
	probe_packets(probes);
	for (guint i = 0; i < probes->len; i++) {
		const WrFilterPacket *p = &g_array_index(probes, WrFilterPacket, i);
		WrFilterReason reason = wr_filter_ruleset_match(rules, p);

		g_assert_true(reason == WR_FILTER_REASON_ALLOW_ALL ||
			      reason == WR_FILTER_REASON_RULE ||
			      reason == WR_FILTER_REASON_NO_RULE);
		if (wr_filter_ruleset_n_rules(rules) == 0)
			g_assert_true(reason == WR_FILTER_REASON_NO_RULE);
		/* a later fragment only ever passes a rule through allow-all */
		if (p->l4 == WR_FILTER_L4_FRAGMENT)
			g_assert_true(reason != WR_FILTER_REASON_RULE);
		if (from_node != NULL)
			g_assert_cmpint(wr_filter_ruleset_match(from_node, p), ==, reason);
	}
	return 0;
}
