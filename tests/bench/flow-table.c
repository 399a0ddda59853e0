/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tests/bench/flow-table: what the flow logs' table (engine/flowlog/wr-flowtable) adds to the
 * data path per packet, on one core, against the packet filter alone (engine/filter), which
 * sits on the same path.  Packets of F distinct TCP flows (default 1024), IPv4, 1400 bytes,
 * in a shuffled order, each decided by an allow-all filter:
 *
 *  1. filter: wr_packet_filter_inbound() alone;
 *  2. filter + flows: the same, then wr_flow_table_record() as wr-wg-io does;
 *
 * and, as a check, the table's counts must equal the packets fed.  The last line is
 *     flows+filter/filter ratio: X
 * with X = ns per packet of (2) / ns per packet of (1) (1.0: free).  The ratio never fails
 * the bench.
 *
 * Usage: flow-table [--flows F] [--packets N] [--rounds K]
 */

#define G_LOG_DOMAIN "WrBenchFlowTable"

#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-bytes.h"
#include "wr-filter.h"
#include "wr-flowtable.h"

#define PKT_LEN 1400
#define RUN	16

static guint arg_flows = 1024;
static guint arg_packets = 8192;
static guint arg_rounds = 200;

static const char allow_all[] =
	"[{\"src\":[\"0.0.0.0/0\"],\"dst\":[{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]}],"
	"\"proto\":[\"tcp\"]}]";

static void
build(uint8_t *out, guint flow)
{
	memset(out, 0, PKT_LEN);
	out[0] = 0x45;
	wr_put_be16(out + 2, PKT_LEN);
	out[8] = 64;
	out[9] = IPPROTO_TCP;
	out[12] = 100;
	out[13] = 64;
	out[14] = (uint8_t) (flow >> 8);
	out[15] = (uint8_t) flow;
	out[16] = 100;
	out[17] = 64;
	out[19] = 7;
	wr_put_be16(out + 20, (uint16_t) (10000 + flow));
	wr_put_be16(out + 22, 443);
	out[32] = 5 << 4;
	out[33] = 0x10; /* ACK */
}

#define BATCH 128

static double
run(WrPacketFilter *filter, WrFlowTable *flows, uint8_t **pkts)
{
	gint64 t0 = g_get_monotonic_time(), now = t0;
	guint accepted = 0;

	for (guint r = 0; r < arg_rounds; r++) {
		for (guint b = 0; b < arg_packets; b += BATCH) {
			WrFlowCursor cursor = {0};

			for (guint i = b; i < MIN(b + BATCH, arg_packets); i++) {
				if (wr_packet_filter_inbound(filter, pkts[i], PKT_LEN, now, NULL) !=
				    WR_FILTER_ACCEPT)
					continue;
				accepted++;
				if (flows != NULL)
					(void) wr_flow_table_record_run(flows, &cursor, WR_FLOW_IN,
									pkts[i], PKT_LEN,
									WR_FLOW_PATH_DIRECT, now);
			}
			if (flows != NULL)
				wr_flow_table_flush_run(flows, &cursor);
		}
		now += 1000;
	}
	if (accepted != arg_rounds * arg_packets) {
		g_printerr("the filter dropped %u packets\n", arg_rounds * arg_packets - accepted);
		exit(1);
	}
	return (double) (g_get_monotonic_time() - t0) * 1000.0 /
	       ((double) arg_rounds * arg_packets);
}

int
main(int argc, char **argv)
{
	GOptionEntry entries[] = {
		{"flows", 0, 0, G_OPTION_ARG_INT, &arg_flows, "Distinct flows (default 1024)", "F"},
		{"packets", 0, 0, G_OPTION_ARG_INT, &arg_packets, "Packets a round (default 8192)",
		 "N"},
		{"rounds", 0, 0, G_OPTION_ARG_INT, &arg_rounds, "Rounds (default 200)", "K"},
		{NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- flow table cost per packet");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFilterRuleset) rules = NULL;
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(0, 1);
	g_autoptr(WrFlowTable) flows = wr_flow_table_new(0, 2);
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	WrFlowTableStats st;
	uint8_t **pkts;
	double base, with, in_runs, again;
	uint8_t **runs;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("flow-table: %s\n", error->message);
		return 2;
	}
	if (arg_flows < 1 || arg_flows > 65535 || arg_packets < 1 || arg_rounds < 1) {
		g_printerr("flow-table: --flows must be 1 to 65535, --packets and --rounds "
			   "positive\n");
		return 2;
	}
	rules = wr_filter_ruleset_new_from_data(allow_all, strlen(allow_all), &error);
	g_assert_no_error(error);
	wr_packet_filter_set_ruleset(filter, rules);
	if (arg_packets < arg_flows) {
		g_printerr("flow-table: --packets must be at least --flows\n");
		return 2;
	}
	/* every flow at least once: in runs of RUN, and shuffled */
	pkts = g_new(uint8_t *, arg_packets);
	runs = g_new(uint8_t *, arg_packets);
	for (guint i = 0; i < arg_packets; i++) {
		pkts[i] = g_malloc(PKT_LEN);
		build(pkts[i], i % arg_flows);
	}
	for (guint i = 0; i < arg_packets; i++)
		runs[i] = pkts[(i / RUN) % arg_flows];
	for (guint i = arg_packets - 1; i > 0; i--) {
		guint j = (guint) g_rand_int_range(rand, 0, (gint32) i + 1);
		uint8_t *t = pkts[i];

		pkts[i] = pkts[j];
		pkts[j] = t;
	}

	/* warm up, then measure each twice, the better time counts */
	(void) run(filter, flows, pkts);
	base = run(filter, NULL, pkts);
	in_runs = run(filter, flows, runs);
	with = run(filter, flows, pkts);
	again = run(filter, NULL, pkts);
	base = MIN(base, again); /* MIN() evaluates its arguments twice */
	again = run(filter, flows, runs);
	in_runs = MIN(in_runs, again);
	again = run(filter, flows, pkts);
	with = MIN(with, again);

	wr_flow_table_get_stats(flows, &st);
	if (st.packets != (guint64) 5 * arg_rounds * arg_packets) {
		g_printerr("flow-table: the table counted %" G_GUINT64_FORMAT
			   " packets, expected %" G_GUINT64_FORMAT "\n",
			   st.packets, (guint64) 5 * arg_rounds * arg_packets);
		return 1;
	}
	printf("packets: %u a round, %u rounds, %u flows of %u bytes\n", arg_packets, arg_rounds,
	       arg_flows, PKT_LEN);
	printf("filter alone: %.1f ns/packet\n", base);
	printf("filter + flow table, runs of %u: %.1f ns/packet (+%.1f ns)\n", RUN, in_runs,
	       in_runs - base);
	printf("filter + flow table, shuffled: %.1f ns/packet (+%.1f ns)\n", with, with - base);
	printf("flows in the table: %u (%" G_GUINT64_FORMAT " pushed out)\n", st.live, st.evicted);
	printf("flows+filter/filter ratio: %.2f\n", with / base);
	return 0;
}
