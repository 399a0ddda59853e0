/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tests/bench/packet-filter: what the packet filter (wr-filter) costs per inbound packet, on one
 * core.
 *
 *  1. allow-all: the filter of a tailnet without a policy (the fast path);
 *  2. rules: a policy-sized filter, R rules of S single-address sources and 4 destinations each
 *     (what wr_policy_compile_filter gives a node for group-to-tag rules), with packets from
 *     random tailnet addresses to random ports, most of which no rule allows;
 *  3. the same packets decided by a plain linear scan of the same rules (every source prefix
 *     compared in turn), the baseline;
 *  4. replies: inbound packets that are the replies of tracked flows, no rule allowing them.
 *
 * Both rule paths must agree on every packet, or the bench fails.  The last line is
 *     filter/linear-scan ratio: X
 * with X = linear scan ns per packet / filter ns per packet (above 1: the filter is faster).
 * The ratio never fails the bench.
 *
 * Usage: packet-filter [--rules R] [--sources S] [--packets N] [--rounds K]
 */

#define G_LOG_DOMAIN "WrBenchFilter"

#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-bytes.h"
#include "wr-filter.h"

#define N_DST 4

typedef struct {
	uint32_t src[256]; /* host order /32s */
	guint n_src;
	uint32_t dst[N_DST];
	uint16_t first[N_DST];
	uint16_t last[N_DST];
} BenchRule;

static guint arg_rules = 200;
static guint arg_sources = 32;
static guint arg_packets = 4096;
static guint arg_rounds = 200;

/* an IPv4 TCP SYN */
static void
build_tcp(uint8_t out[40], uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	memset(out, 0, 40);
	out[0] = 0x45;
	wr_put_be16(out + 2, 40);
	out[8] = 64;
	out[9] = IPPROTO_TCP;
	wr_put_be32(out + 12, src);
	wr_put_be32(out + 16, dst);
	wr_put_be16(out + 20, sport);
	wr_put_be16(out + 22, dport);
	out[32] = 5 << 4;
	out[33] = WR_FILTER_TCP_SYN;
}

static uint32_t
tailnet_addr(GRand *rand)
{
	/* 100.64.0.0/16 */
	return 0x64400000u | (uint32_t) g_rand_int_range(rand, 1, 65535);
}

static bool
linear_allows(const BenchRule *rules, guint n, const uint8_t *pkt)
{
	uint32_t src = ((uint32_t) pkt[12] << 24) | ((uint32_t) pkt[13] << 16) |
		       ((uint32_t) pkt[14] << 8) | pkt[15];
	uint32_t dst = ((uint32_t) pkt[16] << 24) | ((uint32_t) pkt[17] << 16) |
		       ((uint32_t) pkt[18] << 8) | pkt[19];
	uint16_t dport = (uint16_t) ((pkt[22] << 8) | pkt[23]);

	for (guint r = 0; r < n; r++) {
		bool src_ok = false;

		for (guint s = 0; s < rules[r].n_src && !src_ok; s++)
			src_ok = rules[r].src[s] == src;
		if (!src_ok)
			continue;
		for (guint d = 0; d < N_DST; d++) {
			if (rules[r].dst[d] == dst && dport >= rules[r].first[d] &&
			    dport <= rules[r].last[d])
				return true;
		}
	}
	return false;
}

static char *
rules_json(const BenchRule *rules, guint n)
{
	GString *s = g_string_new("[");

	for (guint r = 0; r < n; r++) {
		g_string_append(s, r == 0 ? "{\"src\":[" : ",{\"src\":[");
		for (guint i = 0; i < rules[r].n_src; i++) {
			uint32_t a = rules[r].src[i];

			g_string_append_printf(s, "%s\"%u.%u.%u.%u/32\"", i == 0 ? "" : ",",
					       a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
					       a & 0xff);
		}
		g_string_append(s, "],\"dst\":[");
		for (guint d = 0; d < N_DST; d++) {
			uint32_t a = rules[r].dst[d];

			g_string_append_printf(
				s, "%s{\"net\":\"%u.%u.%u.%u/32\",\"ports\":[%u,%u]}",
				d == 0 ? "" : ",", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
				a & 0xff, rules[r].first[d], rules[r].last[d]);
		}
		g_string_append(s, "],\"proto\":[\"tcp\",\"udp\"]}");
	}
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

/* ns per packet of K rounds over the packets through the filter */
static double
time_filter(WrPacketFilter *filter, const uint8_t (*pkts)[40], guint n, guint *out_accepted)
{
	gint64 start = g_get_monotonic_time();
	guint accepted = 0;

	for (guint k = 0; k < arg_rounds; k++) {
		for (guint i = 0; i < n; i++) {
			WrFilterReason reason;

			if (wr_packet_filter_inbound(filter, pkts[i], 40, start, &reason) ==
			    WR_FILTER_ACCEPT)
				accepted++;
		}
	}
	*out_accepted = accepted / arg_rounds;
	return (double) (g_get_monotonic_time() - start) * 1000.0 / ((double) n * arg_rounds);
}

int
main(int argc, char **argv)
{
	const GOptionEntry entries[] = {
		{"rules", 0, 0, G_OPTION_ARG_INT, &arg_rules, "rules in the filter", "R"},
		{"sources", 0, 0, G_OPTION_ARG_INT, &arg_sources, "sources per rule (<= 256)", "S"},
		{"packets", 0, 0, G_OPTION_ARG_INT, &arg_packets, "distinct packets", "N"},
		{"rounds", 0, 0, G_OPTION_ARG_INT, &arg_rounds, "times over the packets", "K"},
		{NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- packet filter bench");
	g_autoptr(GError) error = NULL;
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	g_autofree BenchRule *rules = NULL;
	g_autofree uint8_t(*pkts)[40] = NULL;
	g_autofree uint8_t(*replies)[40] = NULL;
	g_autofree char *json = NULL;
	g_autoptr(WrFilterRuleset) ruleset = NULL;
	g_autoptr(WrFilterRuleset) allow_all = NULL;
	g_autoptr(WrPacketFilter) filter = NULL;
	const char allow_all_text[] =
		"[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[{\"net\":\"0.0.0.0/0\","
		"\"ports\":[0,65535]},{\"net\":\"::/0\",\"ports\":[0,65535]}],"
		"\"proto\":[\"tcp\",\"udp\",\"icmp\",\"ipv6-icmp\"]}]";
	uint32_t self = 0x64400007; /* 100.64.0.7 */
	double ns_all;
	double ns_rules;
	double ns_linear;
	double ns_replies;
	guint accepted;
	guint linear_accepted = 0;
	gint64 start;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	if (arg_rules == 0 || arg_sources == 0 || arg_sources > 256 || arg_packets == 0 ||
	    arg_rounds == 0) {
		g_printerr("bad arguments\n");
		return 2;
	}

	/* rules: random sources, destinations this node and 3 others, a few port ranges */
	rules = g_new0(BenchRule, arg_rules);
	for (guint r = 0; r < arg_rules; r++) {
		rules[r].n_src = arg_sources;
		for (guint s = 0; s < arg_sources; s++)
			rules[r].src[s] = tailnet_addr(rand);
		for (guint d = 0; d < N_DST; d++) {
			rules[r].dst[d] = d == 0 ? self : tailnet_addr(rand);
			rules[r].first[d] = (uint16_t) g_rand_int_range(rand, 1, 1024);
			rules[r].last[d] = (uint16_t) (rules[r].first[d] + 10);
		}
	}
	json = rules_json(rules, arg_rules);
	ruleset = wr_filter_ruleset_new_from_data(json, strlen(json), &error);
	if (ruleset == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	allow_all = wr_filter_ruleset_new_from_data(allow_all_text, strlen(allow_all_text), &error);
	g_assert_no_error(error);

	/* packets: a quarter from a rule's own source to one of its ports, the rest random */
	pkts = g_malloc0_n(arg_packets, sizeof(*pkts));
	replies = g_malloc0_n(arg_packets, sizeof(*replies));
	for (guint i = 0; i < arg_packets; i++) {
		uint16_t sport = (uint16_t) (10000 + i % 50000);

		if (i % 4 == 0) {
			const BenchRule *rule =
				&rules[g_rand_int_range(rand, 0, (gint32) arg_rules)];

			build_tcp(pkts[i],
				  rule->src[g_rand_int_range(rand, 0, (gint32) rule->n_src)], self,
				  sport, rule->first[0]);
		} else {
			build_tcp(pkts[i], tailnet_addr(rand), self, sport,
				  (uint16_t) g_rand_int_range(rand, 1, 1024));
		}
		/* the reply to a connection we opened to a peer's port 2000+ */
		build_tcp(replies[i], tailnet_addr(rand), self, (uint16_t) (2000 + i % 1000),
			  (uint16_t) (30000 + i % 30000));
	}

	filter = wr_packet_filter_new(WR_FILTER_MAX_MAX_FLOWS, 7);

	wr_packet_filter_set_ruleset(filter, allow_all);
	ns_all = time_filter(filter, (const uint8_t(*)[40]) pkts, arg_packets, &accepted);
	g_print("allow-all: %.1f ns/packet (%u of %u accepted)\n", ns_all, accepted, arg_packets);

	wr_packet_filter_set_ruleset(filter, ruleset);
	ns_rules = time_filter(filter, (const uint8_t(*)[40]) pkts, arg_packets, &accepted);

	start = g_get_monotonic_time();
	for (guint k = 0; k < arg_rounds; k++) {
		guint n = 0;

		for (guint i = 0; i < arg_packets; i++)
			n += linear_allows(rules, arg_rules, pkts[i]) ? 1 : 0;
		linear_accepted = n;
	}
	ns_linear = (double) (g_get_monotonic_time() - start) * 1000.0 /
		    ((double) arg_packets * arg_rounds);
	g_print("rules (%u rules x %u sources): %.1f ns/packet (%u of %u accepted)\n", arg_rules,
		arg_sources, ns_rules, accepted, arg_packets);
	g_print("linear scan: %.1f ns/packet (%u accepted)\n", ns_linear, linear_accepted);
	if (accepted != linear_accepted) {
		g_print("FAIL: the filter accepted %u packets, the linear scan %u\n", accepted,
			linear_accepted);
		return 1;
	}

	/* replies of tracked flows, under an empty rule set */
	for (guint i = 0; i < arg_packets; i++) {
		uint8_t out[40];
		uint32_t peer = ((uint32_t) replies[i][12] << 24) |
				((uint32_t) replies[i][13] << 16) |
				((uint32_t) replies[i][14] << 8) | replies[i][15];

		build_tcp(out, self, peer, (uint16_t) ((replies[i][22] << 8) | replies[i][23]),
			  (uint16_t) ((replies[i][20] << 8) | replies[i][21]));
		(void) wr_packet_filter_outbound(filter, out, sizeof(out), g_get_monotonic_time());
	}
	{
		g_autoptr(WrFilterRuleset) empty = wr_filter_ruleset_new_from_data("[]", 2, &error);

		wr_packet_filter_set_ruleset(filter, empty);
	}
	ns_replies = time_filter(filter, (const uint8_t(*)[40]) replies, arg_packets, &accepted);
	g_print("tracked replies: %.1f ns/packet (%u of %u accepted)\n", ns_replies, accepted,
		arg_packets);
	if (accepted != arg_packets) {
		g_print("FAIL: %u of %u replies accepted\n", accepted, arg_packets);
		return 1;
	}

	g_print("filter/linear-scan ratio: %.2f\n", ns_linear / ns_rules);
	return 0;
}
