/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The netcheck core (docs/protocols/derp-disco-stun.md §5.5-§5.7) with injected time: the
 * report's rules (the MappingVariesByDestIP tri-state, global addresses and their counters,
 * latencies), the full and incremental probe plans with their exact delays, a run driven
 * through its phases (skip rules, "enough regions", the 3 s and 5 s limits, the HTTPS
 * fallback, ignored datagrams), and the home-region choice with its history, scores and
 * stickiness.
 */

#define G_LOG_DOMAIN "WrNetcheckTest"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-netcheck.h"
#include "wr-stun.h"

#define MS (G_USEC_PER_SEC / 1000)
/* an arbitrary monotonic start, far from 0 so that 0 never means "now" by accident */
#define T0 ((gint64) 1000 * G_USEC_PER_SEC)

static WrEndpoint
ep(const gchar *text)
{
	WrEndpoint e;

	memset(&e, 0, sizeof(e));
	g_assert_true(wr_endpoint_parse(&e, text));
	return e;
}

static void
assert_endpoint(const WrEndpoint *e, const gchar *expected)
{
	gchar buf[WR_ENDPOINT_STRLEN];

	if (expected == NULL) {
		g_assert_cmpint(e->sa.sa_family, ==, AF_UNSPEC);
		return;
	}
	wr_endpoint_format(e, buf);
	g_assert_cmpstr(buf, ==, expected);
}

static WrDerpMap *
map_from(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	WrDerpMap *map = wr_derp_map_new_from_data(json, strlen(json), &error);

	g_assert_no_error(error);
	return map;
}

/* regions 1..n, each with one node STUN-able over IPv4 at 192.0.2.<id>:3478, IPv6 none */
static WrDerpMap *
simple_map(guint n)
{
	g_autoptr(GString) s = g_string_new("{\"Regions\":{");

	for (guint i = 1; i <= n; i++)
		g_string_append_printf(s,
				       "%s\"%u\":{\"RegionID\":%u,\"Nodes\":[{\"Name\":\"%ua\","
				       "\"HostName\":\"r%u.example\",\"IPv4\":\"192.0.2.%u\","
				       "\"IPv6\":\"none\"}]}",
				       i > 1 ? "," : "", i, i, i, i, i);
	g_string_append(s, "}}");
	return map_from(s->str);
}

/* report: MappingVariesByDestIP and the global addresses */

typedef struct {
	const gchar *server;
	const gchar *mapped;
} Reply;

static void
test_mapping_tristate(void)
{
	static const struct {
		const gchar *name;
		Reply replies[4];
		WrNetcheckTristate expected;
		const gchar *global_v4;
	} cases[] = {
		{"no reply", {{NULL, NULL}}, WR_NETCHECK_UNSET, NULL},
		{"one reply",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}},
		 WR_NETCHECK_UNSET,
		 "203.0.113.5:4000"},
		{"two servers, same mapping",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}, {"192.0.2.2:3478", "203.0.113.5:4000"}},
		 WR_NETCHECK_FALSE,
		 "203.0.113.5:4000"},
		{"two servers, another port",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}, {"192.0.2.2:3478", "203.0.113.5:4001"}},
		 WR_NETCHECK_TRUE,
		 "203.0.113.5:4000"},
		{"two servers, another address",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}, {"192.0.2.2:3478", "203.0.113.6:4000"}},
		 WR_NETCHECK_TRUE,
		 "203.0.113.5:4000"},
		/* the same server twice says nothing about the destination */
		{"one server twice",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}, {"192.0.2.1:3478", "203.0.113.5:4001"}},
		 WR_NETCHECK_UNSET,
		 "203.0.113.5:4000"},
		/* false is not final, true is */
		{"same then different",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"},
		  {"192.0.2.2:3478", "203.0.113.5:4000"},
		  {"192.0.2.3:3478", "203.0.113.5:4002"}},
		 WR_NETCHECK_TRUE,
		 "203.0.113.5:4000"},
		{"different then same",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"},
		  {"192.0.2.2:3478", "203.0.113.5:4002"},
		  {"192.0.2.3:3478", "203.0.113.5:4000"}},
		 WR_NETCHECK_TRUE,
		 "203.0.113.5:4000"},
		/* another port of the same host is another server */
		{"same host, another port",
		 {{"192.0.2.1:3478", "203.0.113.5:4000"}, {"192.0.2.1:3479", "203.0.113.5:4000"}},
		 WR_NETCHECK_FALSE,
		 "203.0.113.5:4000"},
		/* IPv6 never decides it */
		{"IPv6 only",
		 {{"[2001:db8::1]:3478", "[2001:db8:1::5]:4000"},
		  {"[2001:db8::2]:3478", "[2001:db8:1::5]:4001"}},
		 WR_NETCHECK_UNSET,
		 NULL},
	};

	for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
		g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0, true);

		g_test_message("case: %s", cases[c].name);
		for (gsize i = 0; i < G_N_ELEMENTS(cases[c].replies); i++) {
			WrEndpoint server, mapped;

			if (cases[c].replies[i].server == NULL)
				break;
			server = ep(cases[c].replies[i].server);
			mapped = ep(cases[c].replies[i].mapped);
			g_assert_cmpint(
				wr_netcheck_report_add_stun(r, 1 + i, &server, &mapped, 10 * MS),
				==, 0);
		}
		g_assert_cmpint(r->mapping_varies_by_dest_ip, ==, cases[c].expected);
		assert_endpoint(&r->global_v4, cases[c].global_v4);
	}
}

static void
test_report_addresses_and_latency(void)
{
	g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0, false);
	WrEndpoint s1 = ep("192.0.2.1:3478");
	WrEndpoint s2 = ep("192.0.2.2:3478");
	WrEndpoint s6 = ep("[2001:db8::1]:3478");
	WrEndpoint m1 = ep("203.0.113.5:4000");
	WrEndpoint m2 = ep("203.0.113.5:4001");
	WrEndpoint m6 = ep("[2001:db8:1::5]:4000");
	const WrNetcheckLatency *lat;

	g_assert_false(r->udp);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s1, &m1, 30 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s1, &m1, 20 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s1, &m1, 25 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 3, &s2, &m2, 40 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s6, &m6, 15 * MS), ==, 0);
	g_assert_true(r->udp);
	g_assert_true(r->ipv4);
	g_assert_true(r->ipv6);
	assert_endpoint(&r->global_v4, "203.0.113.5:4000");
	assert_endpoint(&r->global_v6, "[2001:db8:1::5]:4000");
	g_assert_cmpuint(r->n_mapped_v4, ==, 2);
	assert_endpoint(&r->mapped_v4[0].addr, "203.0.113.5:4000");
	g_assert_cmpuint(r->mapped_v4[0].count, ==, 3);
	assert_endpoint(&r->mapped_v4[1].addr, "203.0.113.5:4001");
	g_assert_cmpuint(r->mapped_v4[1].count, ==, 1);
	g_assert_cmpuint(r->n_mapped_v6, ==, 1);
	g_assert_cmpint(r->mapping_varies_by_dest_ip, ==, WR_NETCHECK_TRUE);

	/* sorted by region, minimum per family and overall */
	g_assert_cmpuint(r->n_latencies, ==, 2);
	g_assert_cmpuint(r->latencies[0].region_id, ==, 3);
	lat = wr_netcheck_report_get_latency(r, 7);
	g_assert_nonnull(lat);
	g_assert_cmpint(lat->v4_latency_us, ==, 20 * MS);
	g_assert_cmpint(lat->v6_latency_us, ==, 15 * MS);
	g_assert_cmpint(lat->latency_us, ==, 15 * MS);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 3), ==, 40 * MS);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 4), ==, 0);
	g_assert_null(wr_netcheck_report_get_latency(r, 4));
	g_assert_cmpint(wr_netcheck_report_max_latency(r), ==, 40 * MS);

	/* refusals change nothing */
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s1, &m6, 1), ==, -EAFNOSUPPORT);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 0, &s1, &m1, 1), ==, -EINVAL);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 7, &s1, &m1, -1), ==, -EINVAL);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 7), ==, 15 * MS);
	g_assert_cmpuint(r->mapped_v4[0].count, ==, 3);

	/* a zero rtt still counts as measured */
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 9, &s1, &m1, 0), ==, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 9), ==, 1);
}

static void
test_report_counters_bounded(void)
{
	g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0, true);
	WrEndpoint s = ep("192.0.2.1:3478");

	for (guint i = 0; i < WR_NETCHECK_MAX_MAPPED + 5; i++) {
		g_autofree gchar *text = g_strdup_printf("203.0.113.5:%u", 4000 + i);
		WrEndpoint m = ep(text);

		g_assert_cmpint(wr_netcheck_report_add_stun(r, 1, &s, &m, MS), ==, 0);
	}
	g_assert_cmpuint(r->n_mapped_v4, ==, WR_NETCHECK_MAX_MAPPED);
}

static void
test_report_fallback(void)
{
	g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0, true);

	g_assert_cmpint(wr_netcheck_report_add_fallback(r, 5, AF_INET, 80 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_fallback(r, 5, AF_UNSPEC, 60 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_fallback(r, 6, AF_INET6, 90 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_fallback(r, 6, AF_UNIX, 90 * MS), ==, -EAFNOSUPPORT);
	g_assert_cmpint(wr_netcheck_report_add_fallback(r, 0, AF_INET, 90 * MS), ==, -EINVAL);
	/* no UDP, but both families were seen over TCP */
	g_assert_false(r->udp);
	g_assert_true(r->ipv4);
	g_assert_true(r->ipv6);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 5), ==, 60 * MS);
	g_assert_cmpint(wr_netcheck_report_get_latency(r, 5)->v4_latency_us, ==, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 6), ==, 90 * MS);
}

static void
test_report_json(void)
{
	g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0, true);
	g_autoptr(WrNetcheckReport) empty = wr_netcheck_report_new(T0, false);
	g_autoptr(WrNetcheckReport) copy = NULL;
	WrEndpoint s1 = ep("192.0.2.1:3478");
	WrEndpoint s2 = ep("192.0.2.2:3478");
	WrEndpoint m = ep("203.0.113.5:4000");
	g_autofree gchar *json = NULL;
	g_autofree gchar *json_copy = NULL;
	g_autofree gchar *json_empty = NULL;

	g_assert_cmpint(wr_netcheck_report_add_stun(r, 901, &s1, &m, 12345), ==, 0);
	g_assert_cmpint(wr_netcheck_report_add_stun(r, 902, &s2, &m, 23456), ==, 0);
	r->ipv4_can_send = true;
	r->os_has_ipv6 = true;
	r->preferred_derp = 901;
	json = wr_netcheck_report_to_json(r, false);
	g_assert_cmpstr(json, ==,
			"{\"Full\":true,\"UDP\":true,\"IPv4\":true,\"IPv6\":false,"
			"\"IPv4CanSend\":true,\"IPv6CanSend\":false,\"OSHasIPv6\":true,"
			"\"ICMPv4\":false,\"MappingVariesByDestIP\":false,"
			"\"GlobalV4\":\"203.0.113.5:4000\",\"GlobalV6\":\"\","
			"\"GlobalV4Counters\":{\"203.0.113.5:4000\":2},\"GlobalV6Counters\":{},"
			"\"RegionLatencyUs\":{\"901\":12345,\"902\":23456},"
			"\"RegionV4LatencyUs\":{\"901\":12345,\"902\":23456},"
			"\"RegionV6LatencyUs\":{},\"PreferredDERP\":901}");
	copy = wr_netcheck_report_copy(r);
	json_copy = wr_netcheck_report_to_json(copy, false);
	g_assert_cmpstr(json, ==, json_copy);
	json_empty = wr_netcheck_report_to_json(empty, false);
	g_assert_true(strstr(json_empty, "\"MappingVariesByDestIP\":null") != NULL);
}

/* the probe plan */

typedef struct {
	guint64 region;
	guint node;
	int family;
	guint try_index;
	gint64 delay_ms;
} P;

static void
assert_plan(const WrNetcheckPlan *plan, const P *expected, gsize n)
{
	for (guint i = 0; i < plan->n_probes; i++) {
		const WrNetcheckProbe *p = &plan->probes[i];

		g_test_message("probe %u: region %" G_GUINT64_FORMAT
			       " node %u %s try %u at %" G_GINT64_FORMAT " ms, set %u",
			       i, p->region_id, p->node_index, p->family == AF_INET ? "v4" : "v6",
			       p->try_index, p->delay_us / MS, p->set);
	}
	g_assert_cmpuint(plan->n_probes, ==, n);
	for (gsize i = 0; i < n; i++) {
		const WrNetcheckProbe *p = &plan->probes[i];

		g_assert_cmpuint(p->region_id, ==, expected[i].region);
		g_assert_cmpuint(p->node_index, ==, expected[i].node);
		g_assert_cmpint(p->family, ==, expected[i].family);
		g_assert_cmpuint(p->try_index, ==, expected[i].try_index);
		g_assert_cmpint(p->delay_us, ==, expected[i].delay_ms * MS);
		/* sets are per region and family, numbered in order */
		if (i > 0) {
			const WrNetcheckProbe *q = &plan->probes[i - 1];
			bool same = q->region_id == p->region_id && q->family == p->family;

			g_assert_cmpuint(p->set, ==, same ? q->set : q->set + 1);
		} else {
			g_assert_cmpuint(p->set, ==, 0);
		}
	}
	if (n > 0)
		g_assert_cmpuint(plan->n_sets, ==, plan->probes[n - 1].set + 1);
	else
		g_assert_cmpuint(plan->n_sets, ==, 0);
}

/* region 1: two nodes, both families; 2: NoMeasureNoHome; 3: Avoid, IPv4 only; 4: second node
 * has STUN off; 5: no nodes */
static const gchar plan_map_json[] =
	"{\"Regions\":{"
	"\"1\":{\"RegionID\":1,\"Nodes\":["
	"{\"Name\":\"1a\",\"HostName\":\"a\",\"IPv4\":\"192.0.2.1\",\"IPv6\":\"2001:db8::1\"},"
	"{\"Name\":\"1b\",\"HostName\":\"b\",\"IPv4\":\"192.0.2.2\",\"IPv6\":\"2001:db8::2\"}]},"
	"\"2\":{\"RegionID\":2,\"NoMeasureNoHome\":true,\"Nodes\":["
	"{\"Name\":\"2a\",\"HostName\":\"c\",\"IPv4\":\"192.0.2.3\"}]},"
	"\"3\":{\"RegionID\":3,\"Avoid\":true,\"Nodes\":["
	"{\"Name\":\"3a\",\"HostName\":\"d\",\"IPv4\":\"192.0.2.4\",\"IPv6\":\"none\"}]},"
	"\"4\":{\"RegionID\":4,\"Nodes\":["
	"{\"Name\":\"4a\",\"HostName\":\"e\",\"IPv4\":\"\",\"IPv6\":\"none\"},"
	"{\"Name\":\"4b\",\"HostName\":\"f\",\"IPv4\":\"192.0.2.6\",\"STUNPort\":-1}]},"
	"\"5\":{\"RegionID\":5,\"Nodes\":[]}"
	"}}";

static void
test_plan_full(void)
{
	g_autoptr(WrDerpMap) map = map_from(plan_map_json);
	g_autoptr(WrNetcheckPlan) dual = wr_netcheck_plan_new(map, NULL, 0, true, true);
	g_autoptr(WrNetcheckPlan) v4 = wr_netcheck_plan_new(map, NULL, 1, true, false);
	g_autoptr(WrNetcheckPlan) none = wr_netcheck_plan_new(map, NULL, 0, false, false);
	/* 3 tries per family 100 ms apart over Nodes[i mod n]; region 2 never; region 3 (Avoid)
	 * is measured; region 4's second node cannot take STUN, so its try 1 is dropped */
	static const P expected_dual[] = {
		{1, 0, AF_INET, 0, 0},	{1, 1, AF_INET, 1, 100},  {1, 0, AF_INET, 2, 200},
		{1, 0, AF_INET6, 0, 0}, {1, 1, AF_INET6, 1, 100}, {1, 0, AF_INET6, 2, 200},
		{3, 0, AF_INET, 0, 0},	{3, 0, AF_INET, 1, 100},  {3, 0, AF_INET, 2, 200},
		{4, 0, AF_INET, 0, 0},	{4, 0, AF_INET, 2, 200},
	};
	static const P expected_v4[] = {
		{1, 0, AF_INET, 0, 0}, {1, 1, AF_INET, 1, 100}, {1, 0, AF_INET, 2, 200},
		{3, 0, AF_INET, 0, 0}, {3, 0, AF_INET, 1, 100}, {3, 0, AF_INET, 2, 200},
		{4, 0, AF_INET, 0, 0}, {4, 0, AF_INET, 2, 200},
	};

	g_assert_true(dual->full);
	assert_plan(dual, expected_dual, G_N_ELEMENTS(expected_dual));
	assert_plan(v4, expected_v4, G_N_ELEMENTS(expected_v4));
	assert_plan(none, NULL, 0);
}

/* regions 1..6 with one IPv4+IPv6 node each; 6 is Avoid */
static WrDerpMap *
incremental_map(void)
{
	g_autoptr(GString) s = g_string_new("{\"Regions\":{");

	for (guint i = 1; i <= 6; i++)
		g_string_append_printf(s,
				       "%s\"%u\":{\"RegionID\":%u,%s\"Nodes\":[{\"Name\":\"%ua\","
				       "\"HostName\":\"r%u\",\"IPv4\":\"192.0.2.%u\","
				       "\"IPv6\":\"2001:db8::%u\"},{\"Name\":\"%ub\","
				       "\"HostName\":\"s%u\",\"IPv4\":\"192.0.2.%u\","
				       "\"IPv6\":\"2001:db8::%u\"}]}",
				       i > 1 ? "," : "", i, i, i == 6 ? "\"Avoid\":true," : "", i,
				       i, i, i, i, i, i + 100, i + 100);
	g_string_append(s, "}}");
	return map_from(s->str);
}

static WrNetcheckReport *
report_with(const guint64 *regions, const gint64 *latency_ms, gsize n, bool v6)
{
	WrNetcheckReport *r = wr_netcheck_report_new(T0, true);
	WrEndpoint s4 = ep("192.0.2.200:3478");
	WrEndpoint m4 = ep("203.0.113.5:4000");
	WrEndpoint s6 = ep("[2001:db8::200]:3478");
	WrEndpoint m6 = ep("[2001:db8:1::5]:4000");

	for (gsize i = 0; i < n; i++) {
		g_assert_cmpint(
			wr_netcheck_report_add_stun(r, regions[i], &s4, &m4, latency_ms[i] * MS),
			==, 0);
		if (v6)
			g_assert_cmpint(wr_netcheck_report_add_stun(r, regions[i], &s6, &m6,
								    latency_ms[i] * MS),
					==, 0);
	}
	return r;
}

static void
test_plan_incremental(void)
{
	g_autoptr(WrDerpMap) map = incremental_map();
	/* last time: 5 fastest (10 ms), then 2 (20), 3 (30), 1 (50); 4 and 6 unmeasured */
	static const guint64 regions[] = {1, 2, 3, 5};
	static const gint64 lat[] = {50, 20, 30, 10};
	g_autoptr(WrNetcheckReport) last4 = report_with(regions, lat, 4, false);
	g_autoptr(WrNetcheckReport) last46 = report_with(regions, lat, 4, true);
	g_autoptr(WrNetcheckPlan) p = NULL;
	g_autoptr(WrNetcheckPlan) p_home = NULL;
	g_autoptr(WrNetcheckPlan) p_dual = NULL;
	g_autoptr(WrNetcheckPlan) p_avoid = NULL;
	g_autoptr(WrNetcheckPlan) p_unmeasured = NULL;
	/* the 3 fastest: 5 and 2 get 2 tries, 3 gets 1; home (5) gets 4.  Try i waits
	 * i x 1.2 x latency (+ i x 50 ms from try 2), nodes alternate */
	static const P expected_home5[] = {
		{5, 0, AF_INET, 0, 0},
		{5, 1, AF_INET, 1, 12},
		{5, 0, AF_INET, 2, 2 * 12 + 2 * 50},
		{5, 1, AF_INET, 3, 3 * 12 + 3 * 50},
		{2, 0, AF_INET, 0, 0},
		{2, 1, AF_INET, 1, 24},
		{3, 0, AF_INET, 0, 0},
	};
	/* a slow home (1) still gets its 4 tries, beyond the three fastest */
	static const P expected_home1[] = {
		{5, 0, AF_INET, 0, 0},
		{5, 1, AF_INET, 1, 12},
		{2, 0, AF_INET, 0, 0},
		{2, 1, AF_INET, 1, 24},
		{3, 0, AF_INET, 0, 0},
		{1, 0, AF_INET, 0, 0},
		{1, 1, AF_INET, 1, 60},
		{1, 0, AF_INET, 2, 2 * 60 + 2 * 50},
		{1, 1, AF_INET, 3, 3 * 60 + 3 * 50},
	};
	/* dual stack: the two fastest both families; the third (rank 2) IPv4 only */
	static const P expected_dual[] = {
		{5, 0, AF_INET, 0, 0},	 {5, 1, AF_INET, 1, 12},  {5, 0, AF_INET6, 0, 0},
		{5, 1, AF_INET6, 1, 12}, {2, 0, AF_INET, 0, 0},	  {2, 1, AF_INET, 1, 24},
		{2, 0, AF_INET6, 0, 0},	 {2, 1, AF_INET6, 1, 24}, {3, 0, AF_INET, 0, 0},
	};
	/* an Avoid home is still probed */
	static const P expected_avoid_home[] = {
		{5, 0, AF_INET, 0, 0},
		{5, 1, AF_INET, 1, 12},
		{2, 0, AF_INET, 0, 0},
		{2, 1, AF_INET, 1, 24},
		{3, 0, AF_INET, 0, 0},
		{6, 0, AF_INET, 0, 0},
		{6, 1, AF_INET, 1, 200},
		{6, 0, AF_INET, 2, 2 * 200 + 2 * 50},
		{6, 1, AF_INET, 3, 3 * 200 + 3 * 50},
	};

	p = wr_netcheck_plan_new(map, last4, 5, true, false);
	g_assert_false(p->full);
	assert_plan(p, expected_home5, G_N_ELEMENTS(expected_home5));
	p_home = wr_netcheck_plan_new(map, last4, 1, true, false);
	assert_plan(p_home, expected_home1, G_N_ELEMENTS(expected_home1));
	p_dual = wr_netcheck_plan_new(map, last46, 0, true, true);
	assert_plan(p_dual, expected_dual, G_N_ELEMENTS(expected_dual));
	p_avoid = wr_netcheck_plan_new(map, last4, 6, true, false);
	assert_plan(p_avoid, expected_avoid_home, G_N_ELEMENTS(expected_avoid_home));

	/* with one region measured, unmeasured ones fill up by ID with the default spacing;
	 * 6 is Avoid and not home, so it is left out */
	{
		static const guint64 one[] = {4};
		static const gint64 one_lat[] = {5};
		g_autoptr(WrNetcheckReport) last = report_with(one, one_lat, 1, false);
		static const P expected[] = {
			{4, 0, AF_INET, 0, 0},	 {4, 1, AF_INET, 1, 6}, {1, 0, AF_INET, 0, 0},
			{1, 1, AF_INET, 1, 200}, {2, 0, AF_INET, 0, 0},
		};

		p_unmeasured = wr_netcheck_plan_new(map, last, 0, true, false);
		assert_plan(p_unmeasured, expected, G_N_ELEMENTS(expected));
	}
}

/* dual stack: the two fastest get both families, the third (rank 2, not home) only IPv4 as
 * the alternation starts there, the home region beyond the three fastest both */
static void
test_plan_incremental_alternation(void)
{
	g_autoptr(WrDerpMap) map = incremental_map();
	static const guint64 regions[] = {1, 2, 3, 4, 5};
	static const gint64 lat[] = {10, 20, 30, 40, 50};
	g_autoptr(WrNetcheckReport) last = report_with(regions, lat, 5, true);
	g_autoptr(WrNetcheckPlan) p = wr_netcheck_plan_new(map, last, 5, true, true);
	static const P expected[] = {
		{1, 0, AF_INET, 0, 0},
		{1, 1, AF_INET, 1, 12},
		{1, 0, AF_INET6, 0, 0},
		{1, 1, AF_INET6, 1, 12},
		{2, 0, AF_INET, 0, 0},
		{2, 1, AF_INET, 1, 24},
		{2, 0, AF_INET6, 0, 0},
		{2, 1, AF_INET6, 1, 24},
		{3, 0, AF_INET, 0, 0},
		{5, 0, AF_INET, 0, 0},
		{5, 1, AF_INET, 1, 60},
		{5, 0, AF_INET, 2, 2 * 60 + 2 * 50},
		{5, 1, AF_INET, 3, 3 * 60 + 3 * 50},
		{5, 0, AF_INET6, 0, 0},
		{5, 1, AF_INET6, 1, 60},
		{5, 0, AF_INET6, 2, 2 * 60 + 2 * 50},
		{5, 1, AF_INET6, 3, 3 * 60 + 3 * 50},
	};

	assert_plan(p, expected, G_N_ELEMENTS(expected));
}

/* the run */

/* a transaction id that names its probe */
static void
txid_for(guint index, guint8 txid[WR_STUN_TXID_LEN])
{
	memset(txid, 0x5A, WR_STUN_TXID_LEN);
	txid[0] = (guint8) index;
	txid[1] = (guint8) (index >> 8);
}

static WrEndpoint
server_of(const WrDerpMap *map, const WrNetcheckProbe *p)
{
	const WrDerpRegion *region = wr_derp_map_get_region(map, p->region_id);
	WrEndpoint target;

	g_assert_cmpint(wr_derp_node_stun_target(&region->nodes[p->node_index], p->family, &target),
			==, WR_DERP_ADDR_LITERAL);
	return target;
}

/* hands out every due probe and "sends" it with send_rc; returns how many */
static guint
send_due(WrNetcheckRun *run, const WrDerpMap *map, gint64 now, int send_rc, guint *out_indices,
	 guint max)
{
	guint n = 0;
	guint index;

	while (wr_netcheck_run_next_probe(run, now, &index)) {
		guint8 txid[WR_STUN_TXID_LEN];
		WrEndpoint server = server_of(map, wr_netcheck_run_get_probe(run, index));

		txid_for(index, txid);
		wr_netcheck_run_probe_sent(run, index, txid, &server, send_rc, now);
		if (out_indices != NULL && n < max)
			out_indices[n] = index;
		n++;
	}
	return n;
}

static int
reply(WrNetcheckRun *run, guint index, const gchar *mapped, gint64 now)
{
	guint8 txid[WR_STUN_TXID_LEN];
	guint8 pkt[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint m = ep(mapped);
	int n;

	txid_for(index, txid);
	n = wr_stun_build_response(pkt, sizeof(pkt), txid, &m, false);
	g_assert_cmpint(n, >, 0);
	return wr_netcheck_run_feed(run, pkt, (gsize) n, now);
}

/* a full run over two regions: tries go out at 0, 100 and 200 ms; the first reply of a set
 * cancels the rest; once every set is done the report ends at once */
static void
test_run_full_two_regions(void)
{
	g_autoptr(WrDerpMap) map = simple_map(2);
	g_autoptr(WrNetcheckRun) run =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, true), T0);
	const WrNetcheckReport *r = wr_netcheck_run_get_report(run);
	guint sent[8];

	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_STUN);
	g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, T0);
	g_assert_cmpuint(send_due(run, map, T0, 0, sent, 8), ==, 2);
	g_assert_true(r->ipv4_can_send);
	g_assert_false(r->ipv6_can_send);
	/* nothing more until 100 ms */
	g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, T0 + 100 * MS);
	g_assert_cmpuint(send_due(run, map, T0 + 99 * MS, 0, NULL, 0), ==, 0);

	/* region 1 answers its first try at 30 ms: its set is done */
	g_assert_cmpint(reply(run, sent[0], "203.0.113.9:1000", T0 + 30 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 1), ==, 30 * MS);
	g_assert_cmpuint(send_due(run, map, T0 + 100 * MS, 0, sent, 8), ==, 1);
	g_assert_cmpuint(wr_netcheck_run_get_probe(run, sent[0])->region_id, ==, 2);
	g_assert_cmpuint(wr_netcheck_run_get_probe(run, sent[0])->try_index, ==, 1);
	g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, T0 + 200 * MS);

	/* region 2's second try answers at 150 ms: 50 ms measured from that try */
	g_assert_cmpint(reply(run, sent[0], "203.0.113.9:1000", T0 + 150 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r, 2), ==, 50 * MS);
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_DONE);
	g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, G_MAXINT64);
	g_assert_true(r->udp);
	g_assert_cmpint(r->mapping_varies_by_dest_ip, ==, WR_NETCHECK_FALSE);
	assert_endpoint(&r->global_v4, "203.0.113.9:1000");
	g_assert_cmpuint(wr_netcheck_run_get_ignored(run), ==, 0);
	/* nothing is handed out after the end */
	g_assert_cmpuint(send_due(run, map, T0 + 300 * MS, 0, NULL, 0), ==, 0);
}

/* once three regions answered, the STUN phase ends after the largest latency seen (twice for a
 * full report, once for an incremental one), even though a fourth region is silent */
static void
test_run_enough_regions(void)
{
	g_autoptr(WrDerpMap) map = simple_map(4);

	for (int full = 0; full <= 1; full++) {
		static const guint64 regions[] = {1, 2, 3, 4};
		static const gint64 lat[] = {10, 10, 10, 10};
		g_autoptr(WrNetcheckReport) last = report_with(regions, lat, 4, false);
		/* incremental: 1 and 2 are the fastest, 3 third, 4 home */
		WrNetcheckPlan *plan =
			wr_netcheck_plan_new(map, full ? NULL : last, full ? 0 : 4, true, false);
		g_autoptr(WrNetcheckRun) run = wr_netcheck_run_new(map, plan, T0);
		guint sent[8];
		gint64 end;

		g_assert_cmpuint(send_due(run, map, T0, 0, sent, 8), ==, 4);
		g_assert_cmpint(reply(run, sent[0], "203.0.113.9:1000", T0 + 20 * MS), ==, 0);
		g_assert_cmpint(reply(run, sent[1], "203.0.113.9:1000", T0 + 40 * MS), ==, 0);
		g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, T0 + (full ? 100 : 12) * MS);
		g_assert_cmpint(reply(run, sent[2], "203.0.113.9:1000", T0 + 30 * MS), ==, 0);
		/* the largest latency is 40 ms */
		end = T0 + 30 * MS + (full ? 80 : 40) * MS;
		g_assert_cmpint(wr_netcheck_run_get_deadline(run), <=, end);
		/* region 4's later tries still go out before the end */
		while (wr_netcheck_run_get_deadline(run) < end) {
			gint64 t = wr_netcheck_run_get_deadline(run);

			(void) send_due(run, map, t, 0, NULL, 0);
			g_assert_cmpint(wr_netcheck_run_tick(run, t), ==, WR_NETCHECK_PHASE_STUN);
		}
		g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, end);
		g_assert_cmpint(wr_netcheck_run_tick(run, end - 1), ==, WR_NETCHECK_PHASE_STUN);
		g_assert_cmpint(wr_netcheck_run_tick(run, end), ==, WR_NETCHECK_PHASE_DONE);
		g_assert_cmpuint(wr_netcheck_run_get_report(run)->n_latencies, ==, 3);
	}
}

/* no reply at all: the STUN phase lasts 3 s, then an HTTPS check per eligible region, and the
 * whole report ends at 5 s whatever the checks do */
static void
test_run_no_udp_fallback(void)
{
	g_autoptr(WrDerpMap) map = map_from(
		"{\"Regions\":{"
		"\"1\":{\"RegionID\":1,\"Nodes\":[{\"Name\":\"1s\",\"HostName\":\"s\","
		"\"IPv4\":\"192.0.2.1\",\"STUNOnly\":true},{\"Name\":\"1a\",\"HostName\":\"a\","
		"\"IPv4\":\"192.0.2.2\"}]},"
		"\"2\":{\"RegionID\":2,\"Nodes\":[{\"Name\":\"2s\",\"HostName\":\"t\","
		"\"IPv4\":\"192.0.2.3\",\"STUNOnly\":true}]},"
		"\"3\":{\"RegionID\":3,\"Avoid\":true,\"Nodes\":[{\"Name\":\"3a\","
		"\"HostName\":\"u\",\"IPv4\":\"192.0.2.4\"}]},"
		"\"4\":{\"RegionID\":4,\"Nodes\":[{\"Name\":\"4a\",\"HostName\":\"v\","
		"\"IPv4\":\"192.0.2.5\"}]}}}");

	for (int finish = 0; finish <= 1; finish++) {
		g_autoptr(WrNetcheckRun) run = wr_netcheck_run_new(
			map, wr_netcheck_plan_new(map, NULL, 0, true, false), T0);
		const WrNetcheckFallbackTarget *targets;
		guint n = 99;
		gint64 t = T0;

		/* every try goes out, nothing answers */
		while (wr_netcheck_run_get_phase(run) == WR_NETCHECK_PHASE_STUN) {
			t = wr_netcheck_run_get_deadline(run);
			(void) send_due(run, map, t, 0, NULL, 0);
			(void) wr_netcheck_run_tick(run, t);
		}
		g_assert_cmpint(t, ==, T0 + WR_NETCHECK_STUN_TIMEOUT_US);
		g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_FALLBACK);
		/* region 1 through its first non-STUN-only node; 2 has none, 3 is Avoid */
		targets = wr_netcheck_run_get_fallback_targets(run, &n);
		g_assert_cmpuint(n, ==, 2);
		g_assert_cmpuint(targets[0].region_id, ==, 1);
		g_assert_cmpuint(targets[0].node_index, ==, 1);
		g_assert_cmpuint(targets[1].region_id, ==, 4);
		g_assert_cmpuint(targets[1].node_index, ==, 0);
		g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==,
				T0 + WR_NETCHECK_REPORT_TIMEOUT_US);

		wr_netcheck_run_fallback_done(run, 0, AF_INET, 70 * MS, t + 100 * MS);
		g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_FALLBACK);
		if (finish) {
			/* a failed check also completes its target */
			wr_netcheck_run_fallback_done(run, 1, AF_UNSPEC, -1, t + 200 * MS);
			g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_DONE);
		} else {
			g_assert_cmpint(
				wr_netcheck_run_tick(run, T0 + WR_NETCHECK_REPORT_TIMEOUT_US - 1),
				==, WR_NETCHECK_PHASE_FALLBACK);
			g_assert_cmpint(
				wr_netcheck_run_tick(run, T0 + WR_NETCHECK_REPORT_TIMEOUT_US), ==,
				WR_NETCHECK_PHASE_DONE);
			/* too late to count */
			wr_netcheck_run_fallback_done(run, 1, AF_INET, 10 * MS,
						      T0 + WR_NETCHECK_REPORT_TIMEOUT_US + 1);
		}
		{
			const WrNetcheckReport *r = wr_netcheck_run_get_report(run);

			g_assert_false(r->udp);
			g_assert_true(r->ipv4_can_send);
			g_assert_true(r->ipv4);
			g_assert_cmpint(wr_netcheck_report_region_latency(r, 1), ==, 70 * MS);
			g_assert_cmpint(wr_netcheck_report_region_latency(r, 4), ==, 0);
		}
	}
}

/* sends that fail outright end their probes: with nothing left to wait for, the STUN phase ends
 * after the last try instead of at 3 s.  A firewall's EPERM counts as sent. */
static void
test_run_send_errors(void)
{
	g_autoptr(WrDerpMap) map = simple_map(1);
	g_autoptr(WrNetcheckRun) run =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, false), T0);
	g_autoptr(WrNetcheckRun) run_eperm =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, false), T0);
	guint index;

	g_assert_cmpuint(send_due(run, map, T0, -ENETUNREACH, NULL, 0), ==, 1);
	g_assert_cmpuint(send_due(run, map, T0 + 100 * MS, -ENETUNREACH, NULL, 0), ==, 1);
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_STUN);
	/* the last try cannot be sent at all (no address) */
	g_assert_true(wr_netcheck_run_next_probe(run, T0 + 200 * MS, &index));
	wr_netcheck_run_probe_failed(run, index, T0 + 200 * MS);
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_FALLBACK);
	g_assert_false(wr_netcheck_run_get_report(run)->ipv4_can_send);

	g_assert_cmpuint(send_due(run_eperm, map, T0, -EPERM, NULL, 0), ==, 1);
	g_assert_true(wr_netcheck_run_get_report(run_eperm)->ipv4_can_send);

	g_assert_true(wr_netcheck_send_counts_as_sent(0));
	g_assert_true(wr_netcheck_send_counts_as_sent(-EAGAIN));
	g_assert_true(wr_netcheck_send_counts_as_sent(-ENOBUFS));
	g_assert_false(wr_netcheck_send_counts_as_sent(-ENETUNREACH));
	g_assert_false(wr_netcheck_send_counts_as_sent(-EHOSTUNREACH));
	g_assert_false(wr_netcheck_send_counts_as_sent(-EADDRNOTAVAIL));
}

/* §5.6's skip rule: when a probe comes due and its region already has a latency, an IPv4 probe
 * is skipped once MappingVariesByDestIP is decided and an IPv6 probe once any IPv6 result
 * exists; the skip cancels the set */
static void
test_run_skip_rule(void)
{
	g_autoptr(WrDerpMap) map =
		map_from("{\"Regions\":{"
			 "\"1\":{\"RegionID\":1,\"Nodes\":[{\"Name\":\"1a\",\"HostName\":\"a\","
			 "\"IPv4\":\"192.0.2.1\",\"IPv6\":\"2001:db8::1\"}]},"
			 "\"2\":{\"RegionID\":2,\"Nodes\":[{\"Name\":\"2a\",\"HostName\":\"b\","
			 "\"IPv4\":\"192.0.2.2\",\"IPv6\":\"2001:db8::2\"}]}}}");
	g_autoptr(WrNetcheckRun) run =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, true), T0);
	const WrNetcheckPlan *plan = wr_netcheck_run_get_plan(run);
	guint sent[8];
	guint n;
	guint index;

	/* 4 sets (1/v4, 1/v6, 2/v4, 2/v6) of 3 tries */
	g_assert_cmpuint(plan->n_sets, ==, 4);
	n = send_due(run, map, T0, 0, sent, 8);
	g_assert_cmpuint(n, ==, 4);
	/* region 1 answers over IPv6 only, region 2 over IPv4 only */
	g_assert_cmpint(reply(run, sent[1], "[2001:db8:1::9]:1000", T0 + 10 * MS), ==, 0);
	g_assert_cmpint(reply(run, sent[2], "203.0.113.9:1000", T0 + 10 * MS), ==, 0);
	/* at 100 ms: 1/v4 is due and helps (mapping not decided), 2/v6 is skipped (region 2 has
	 * a latency and an IPv6 result exists) */
	g_assert_true(wr_netcheck_run_next_probe(run, T0 + 100 * MS, &index));
	g_assert_cmpuint(wr_netcheck_run_get_probe(run, index)->region_id, ==, 1);
	g_assert_cmpint(wr_netcheck_run_get_probe(run, index)->family, ==, AF_INET);
	{
		guint8 txid[WR_STUN_TXID_LEN];
		WrEndpoint server = server_of(map, wr_netcheck_run_get_probe(run, index));

		txid_for(index, txid);
		wr_netcheck_run_probe_sent(run, index, txid, &server, 0, T0 + 100 * MS);
	}
	g_assert_false(wr_netcheck_run_next_probe(run, T0 + 100 * MS, &index));
	/* its answer decides the mapping (another server, same ip:port) */
	g_assert_cmpint(reply(run, index, "203.0.113.9:1000", T0 + 110 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_run_get_report(run)->mapping_varies_by_dest_ip, ==,
			WR_NETCHECK_FALSE);
	/* every set is answered or cancelled: the first tries of 1/v4 and 2/v6 are still out,
	 * but nothing waits for them */
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_DONE);
	g_assert_cmpuint(send_due(run, map, T0 + 200 * MS, 0, NULL, 0), ==, 0);
}

/* the IPv4 half of the skip rule: region 1 answered over IPv6 only, regions 2 and 3 over IPv4
 * with the same mapping, which decides MappingVariesByDestIP; then region 1's next IPv4 try
 * adds nothing, and neither do the IPv6 tries of 2 and 3 */
static void
test_run_skip_rule_v4(void)
{
	g_autoptr(GString) json = g_string_new("{\"Regions\":{");
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrNetcheckRun) run = NULL;
	guint sent[8];
	guint index;

	for (guint i = 1; i <= 3; i++)
		g_string_append_printf(json,
				       "%s\"%u\":{\"RegionID\":%u,\"Nodes\":[{\"Name\":\"%ua\","
				       "\"HostName\":\"h\",\"IPv4\":\"192.0.2.%u\","
				       "\"IPv6\":\"2001:db8::%u\"}]}",
				       i > 1 ? "," : "", i, i, i, i, i);
	g_string_append(json, "}}");
	map = map_from(json->str);
	run = wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, true), T0);
	/* sets: 1/v4 1/v6 2/v4 2/v6 3/v4 3/v6 */
	g_assert_cmpuint(send_due(run, map, T0, 0, sent, 8), ==, 6);
	/* slow enough that "enough regions" ends the phase only at 60 + 2 x 60 ms */
	g_assert_cmpint(reply(run, sent[1], "[2001:db8:1::9]:1000", T0 + 60 * MS), ==, 0);
	g_assert_cmpint(reply(run, sent[2], "203.0.113.9:1000", T0 + 60 * MS), ==, 0);
	g_assert_cmpint(reply(run, sent[4], "203.0.113.9:1000", T0 + 60 * MS), ==, 0);
	g_assert_cmpint(wr_netcheck_run_get_report(run)->mapping_varies_by_dest_ip, ==,
			WR_NETCHECK_FALSE);
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_STUN);
	g_assert_cmpint(wr_netcheck_run_get_deadline(run), ==, T0 + 100 * MS);
	g_assert_false(wr_netcheck_run_next_probe(run, T0 + 100 * MS, &index));
	/* the skips cancelled every remaining set */
	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_DONE);
}

/* what is not an answer to a probe in flight is ignored and counted */
static void
test_run_ignored(void)
{
	g_autoptr(WrDerpMap) map = simple_map(2);
	g_autoptr(WrNetcheckRun) run =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, true, false), T0);
	guint sent[4];
	guint8 garbage[] = {0x00, 0x01, 0x02};
	guint8 request[WR_STUN_REQUEST_LEN];
	guint8 txid[WR_STUN_TXID_LEN];
	guint8 pkt[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint m6 = ep("[2001:db8:1::9]:1000");
	int n;

	g_assert_cmpuint(send_due(run, map, T0, 0, sent, 4), ==, 2);
	g_assert_cmpint(wr_netcheck_run_feed(run, garbage, sizeof(garbage), T0 + MS), ==, -EINVAL);
	/* a Binding request arriving on the socket is not an answer */
	txid_for(sent[0], txid);
	wr_stun_build_request(request, txid);
	g_assert_cmpint(wr_netcheck_run_feed(run, request, sizeof(request), T0 + MS), ==, -EINVAL);
	/* an unknown transaction id (a probe not sent yet has none) */
	g_assert_cmpint(reply(run, 200, "203.0.113.9:1000", T0 + MS), ==, -ENOENT);
	g_assert_cmpint(reply(run, sent[0] + 1, "203.0.113.9:1000", T0 + MS), ==, -ENOENT);
	/* a truncated answer */
	n = wr_stun_build_response(pkt, sizeof(pkt), txid, &m6, false);
	g_assert_cmpint(wr_netcheck_run_feed(run, pkt, (gsize) n - 4, T0 + MS), ==, -EBADMSG);
	/* an IPv6 mapped address for an IPv4 probe */
	g_assert_cmpint(wr_netcheck_run_feed(run, pkt, (gsize) n, T0 + MS), ==, -EAFNOSUPPORT);
	g_assert_cmpuint(wr_netcheck_run_get_ignored(run), ==, 6);
	g_assert_false(wr_netcheck_run_get_report(run)->udp);
	/* the real answer, then the same again */
	g_assert_cmpint(reply(run, sent[0], "203.0.113.9:1000", T0 + 2 * MS), ==, 0);
	g_assert_cmpint(reply(run, sent[0], "203.0.113.9:1000", T0 + 3 * MS), ==, -EALREADY);
	g_assert_cmpuint(wr_netcheck_run_get_ignored(run), ==, 7);
	/* after the STUN phase, answers are too late */
	g_assert_cmpint(wr_netcheck_run_tick(run, T0 + WR_NETCHECK_STUN_TIMEOUT_US), ==,
			WR_NETCHECK_PHASE_DONE);
	g_assert_cmpint(reply(run, sent[1], "203.0.113.9:1000", T0 + WR_NETCHECK_STUN_TIMEOUT_US),
			==, -ESTALE);
	g_assert_cmpuint(wr_netcheck_run_get_ignored(run), ==, 8);
	g_assert_cmpuint(wr_netcheck_run_get_report(run)->n_latencies, ==, 1);
}

/* an empty plan (no usable family) goes straight to the fallback */
static void
test_run_empty_plan(void)
{
	g_autoptr(WrDerpMap) map = simple_map(2);
	g_autoptr(WrNetcheckRun) run =
		wr_netcheck_run_new(map, wr_netcheck_plan_new(map, NULL, 0, false, false), T0);
	guint n = 0;

	g_assert_cmpint(wr_netcheck_run_get_phase(run), ==, WR_NETCHECK_PHASE_FALLBACK);
	(void) wr_netcheck_run_get_fallback_targets(run, &n);
	g_assert_cmpuint(n, ==, 2);
}

/* the home region (§5.7) */

/* regions 1..5; 4 is NoMeasureNoHome, 5 Avoid; region 3 scores 0.5, region 2 scores 0 (ignored) */
static const gchar home_map_json[] =
	"{\"HomeParams\":{\"RegionScore\":{\"3\":0.5,\"2\":0}},\"Regions\":{"
	"\"1\":{\"RegionID\":1,\"Nodes\":[]},\"2\":{\"RegionID\":2,\"Nodes\":[]},"
	"\"3\":{\"RegionID\":3,\"Nodes\":[]},"
	"\"4\":{\"RegionID\":4,\"NoMeasureNoHome\":true,\"Nodes\":[]},"
	"\"5\":{\"RegionID\":5,\"Avoid\":true,\"Nodes\":[]}}}";

typedef struct {
	gint64 at_s;	   /* when the report is added, s after T0 */
	gint64 lat_ms[6];  /* latency per region 1..5 (index 1..5), 0 for none */
	gint64 heard_s[6]; /* a DERP frame from region i at this time (s after T0), -1 none */
	guint64 expected;
} Step;

static void
run_home_steps(const gchar *name, const Step *steps, gsize n, guint64 forced)
{
	g_autoptr(WrDerpMap) map = map_from(home_map_json);
	g_autoptr(WrNetcheckHistory) h = wr_netcheck_history_new();

	g_test_message("scenario: %s", name);
	wr_netcheck_history_set_forced_home(h, forced);
	for (gsize s = 0; s < n; s++) {
		gint64 now = T0 + steps[s].at_s * G_USEC_PER_SEC;
		/* the run started 1 s before it was added */
		g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(now - G_USEC_PER_SEC, true);

		for (guint64 id = 1; id <= 5; id++) {
			if (steps[s].lat_ms[id] > 0)
				g_assert_cmpint(wr_netcheck_report_add_fallback(
							r, id, AF_INET, steps[s].lat_ms[id] * MS),
						==, 0);
			if (steps[s].heard_s[id] > 0)
				wr_netcheck_history_note_derp_frame(
					h, id, T0 + steps[s].heard_s[id] * G_USEC_PER_SEC);
		}
		wr_netcheck_history_add(h, map, r, now);
		g_test_message("step %" G_GSIZE_FORMAT ": home %" G_GUINT64_FORMAT, s,
			       r->preferred_derp);
		g_assert_cmpuint(r->preferred_derp, ==, steps[s].expected);
		g_assert_cmpuint(wr_netcheck_history_get_home(h), ==, steps[s].expected);
		g_assert_cmpuint(wr_netcheck_history_get_last(h)->preferred_derp, ==,
				 steps[s].expected);
	}
}

#define NONE                           \
	{                              \
		-1, -1, -1, -1, -1, -1 \
	}

static void
test_home_choice(void)
{
	/* the fastest; NoMeasureNoHome (4) and Avoid (5) never, however fast */
	static const Step fastest[] = {
		{10, {0, 30, 20, 0, 1, 1}, NONE, 2},
	};
	/* RegionScore scales: 3 at 30 ms x 0.5 = 15 beats 2 at 20 ms; a score of 0 is ignored */
	static const Step scores[] = {
		{10, {0, 0, 20, 30, 0, 0}, NONE, 3},
	};
	/* stickiness, absolute: 20 ms old, 11 ms new: less than 10 ms better (though
	 * 11 < 20 x 2/3) */
	static const Step sticky_abs[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{40, {0, 20, 11, 0, 0, 0}, NONE, 1},
	};
	/* stickiness, relative: 40 ms old, 27 ms new: 13 ms better but 27 > 40 x 2/3 */
	static const Step sticky_rel[] = {
		{10, {0, 40, 0, 0, 0, 0}, NONE, 1},
		{40, {0, 40, 27, 0, 0, 0}, NONE, 1},
	};
	/* clearly better: 40 ms old, 26 ms new: 14 ms better and 26 < 26.67 */
	static const Step switch_clear[] = {
		{10, {0, 40, 0, 0, 0, 0}, NONE, 1},
		{40, {0, 40, 26, 0, 0, 0}, NONE, 2},
	};
	/* the old home did not answer and sent no frame: no stickiness */
	static const Step old_gone[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{40, {0, 0, 25, 0, 0, 0}, NONE, 2},
	};
	/* the old home did not answer this time but a DERP frame came within 8 s: it stays */
	static const Step old_heard[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{40, {0, 0, 25, 0, 0, 0}, {-1, 33, -1, -1, -1, -1}, 1},
	};
	/* ... also when the frame is older than 8 s but came after the run started */
	static const Step old_heard_in_run[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{50, {0, 0, 25, 0, 0, 0}, {-1, 49, -1, -1, -1, -1}, 1},
	};
	/* ... but not a frame 9 s before, before the run */
	static const Step old_heard_stale[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{50, {0, 0, 25, 0, 0, 0}, {-1, 41, -1, -1, -1, -1}, 2},
	};
	/* the history: region 1 measured 10 ms two minutes ago keeps its best; after 5 min 5 s
	 * it is forgotten and the stickiness rule alone keeps or drops it */
	static const Step history[] = {
		{0, {0, 10, 0, 0, 0, 0}, NONE, 1},
		{120, {0, 50, 30, 0, 0, 0}, NONE, 1},
		{306, {0, 50, 30, 0, 0, 0}, NONE, 2},
	};
	/* the history's best of 2 (12 ms) wins over 1's 15 ms now, 2 answering slower */
	static const Step history_best[] = {
		{0, {0, 0, 12, 0, 0, 0}, NONE, 2},
		{30, {0, 15, 40, 0, 0, 0}, NONE, 2},
	};
	/* nothing measured: the old home stays while it sent a frame within 120 s */
	static const Step keep_quiet[] = {
		{10, {0, 20, 0, 0, 0, 0}, NONE, 1},
		{60, {0, 0, 0, 0, 0, 0}, {-1, 20, -1, -1, -1, -1}, 1},
		{140, {0, 0, 0, 0, 0, 0}, NONE, 1},
		{141, {0, 0, 0, 0, 0, 0}, NONE, 0},
	};
	/* an Avoid region is never home, even alone */
	static const Step avoid_old[] = {
		{10, {0, 0, 0, 0, 0, 30}, NONE, 0},
		{20, {0, 35, 0, 0, 0, 30}, NONE, 1},
	};
	/* a forced region wins when it answered or was heard */
	static const Step forced[] = {
		{10, {0, 10, 50, 0, 0, 0}, NONE, 2},
		{20, {0, 10, 0, 0, 0, 0}, NONE, 1},
		{30, {0, 10, 0, 0, 0, 0}, {-1, -1, 29, -1, -1, -1}, 2},
	};

	run_home_steps("fastest", fastest, G_N_ELEMENTS(fastest), 0);
	run_home_steps("scores", scores, G_N_ELEMENTS(scores), 0);
	run_home_steps("sticky absolute", sticky_abs, G_N_ELEMENTS(sticky_abs), 0);
	run_home_steps("sticky relative", sticky_rel, G_N_ELEMENTS(sticky_rel), 0);
	run_home_steps("clear switch", switch_clear, G_N_ELEMENTS(switch_clear), 0);
	run_home_steps("old home gone", old_gone, G_N_ELEMENTS(old_gone), 0);
	run_home_steps("old home heard", old_heard, G_N_ELEMENTS(old_heard), 0);
	run_home_steps("old home heard in run", old_heard_in_run, G_N_ELEMENTS(old_heard_in_run),
		       0);
	run_home_steps("old home heard stale", old_heard_stale, G_N_ELEMENTS(old_heard_stale), 0);
	run_home_steps("history", history, G_N_ELEMENTS(history), 0);
	run_home_steps("history best", history_best, G_N_ELEMENTS(history_best), 0);
	run_home_steps("keep quiet home", keep_quiet, G_N_ELEMENTS(keep_quiet), 0);
	run_home_steps("avoid old home", avoid_old, G_N_ELEMENTS(avoid_old), 0);
	run_home_steps("forced", forced, G_N_ELEMENTS(forced), 2);
}

/* stickiness uses the old home's scaled latency of this report against the winner's scaled
 * historical best */
static void
test_home_sticky_scaled(void)
{
	/* 3 (score 0.5) at 50 ms is home (25 scaled); then 1 at 18 ms: 25 - 18 = 7 < 10: stay */
	static const Step stay[] = {
		{10, {0, 0, 0, 50, 0, 0}, NONE, 3},
		{20, {0, 18, 0, 50, 0, 0}, NONE, 3},
	};
	/* 1 at 14 ms: 25 - 14 = 11 and 14 < 16.67: switch */
	static const Step go[] = {
		{10, {0, 0, 0, 50, 0, 0}, NONE, 3},
		{20, {0, 14, 0, 50, 0, 0}, NONE, 1},
	};

	run_home_steps("scaled stay", stay, G_N_ELEMENTS(stay), 0);
	run_home_steps("scaled go", go, G_N_ELEMENTS(go), 0);
}

/* the old home counts as reachable when a DERP frame came after the run started, however long
 * ago that is; and regions missing from the map are never home */
static void
test_home_heard_since_run_start(void)
{
	g_autoptr(WrDerpMap) map = map_from(home_map_json);

	for (int since_start = 0; since_start <= 1; since_start++) {
		g_autoptr(WrNetcheckHistory) h = wr_netcheck_history_new();
		g_autoptr(WrNetcheckReport) first = wr_netcheck_report_new(T0, true);
		/* a report added 20 s after its run started (a stalled caller) */
		g_autoptr(WrNetcheckReport) second =
			wr_netcheck_report_new(T0 + 100 * G_USEC_PER_SEC, false);
		gint64 now = T0 + 120 * G_USEC_PER_SEC;

		g_assert_cmpint(wr_netcheck_report_add_fallback(first, 1, AF_INET, 20 * MS), ==, 0);
		g_assert_cmpint(wr_netcheck_report_add_fallback(first, 9, AF_INET, 1 * MS), ==, 0);
		wr_netcheck_history_add(h, map, first, T0 + G_USEC_PER_SEC);
		g_assert_cmpuint(first->preferred_derp, ==, 1);

		/* 10 s before now: too old for the 8 s rule, but after the run started or not */
		wr_netcheck_history_note_derp_frame(
			h, 1, now - 10 * G_USEC_PER_SEC - (since_start ? 0 : 20 * G_USEC_PER_SEC));
		g_assert_cmpint(wr_netcheck_report_add_fallback(second, 2, AF_INET, 5 * MS), ==, 0);
		wr_netcheck_history_add(h, map, second, now);
		g_assert_cmpuint(second->preferred_derp, ==, since_start ? 1 : 2);
	}
}

static void
test_want_full(void)
{
	g_autoptr(WrDerpMap) map = simple_map(2);
	g_autoptr(WrNetcheckHistory) h = wr_netcheck_history_new();
	g_autoptr(WrNetcheckReport) full = wr_netcheck_report_new(T0, true);
	g_autoptr(WrNetcheckReport) inc = wr_netcheck_report_new(T0 + 60 * G_USEC_PER_SEC, false);
	g_autoptr(WrNetcheckReport) empty =
		wr_netcheck_report_new(T0 + 120 * G_USEC_PER_SEC, false);
	g_autoptr(WrNetcheckReport) full2 = wr_netcheck_report_new(T0 + 130 * G_USEC_PER_SEC, true);

	g_assert_true(wr_netcheck_history_want_full(h, T0));
	g_assert_null(wr_netcheck_history_get_last(h));
	g_assert_cmpint(wr_netcheck_report_add_fallback(full, 1, AF_INET, 10 * MS), ==, 0);
	wr_netcheck_history_add(h, map, full, T0 + G_USEC_PER_SEC);
	g_assert_false(wr_netcheck_history_want_full(h, T0 + G_USEC_PER_SEC));
	g_assert_cmpint(wr_netcheck_report_add_fallback(inc, 1, AF_INET, 10 * MS), ==, 0);
	wr_netcheck_history_add(h, map, inc, T0 + 61 * G_USEC_PER_SEC);
	g_assert_false(wr_netcheck_history_want_full(h, T0 + WR_NETCHECK_FULL_INTERVAL_US - 1));
	g_assert_true(wr_netcheck_history_want_full(h, T0 + WR_NETCHECK_FULL_INTERVAL_US));
	/* a report that measured nothing calls for a full one */
	wr_netcheck_history_add(h, map, empty, T0 + 121 * G_USEC_PER_SEC);
	g_assert_true(wr_netcheck_history_want_full(h, T0 + 121 * G_USEC_PER_SEC));
	g_assert_cmpint(wr_netcheck_report_add_fallback(full2, 2, AF_INET, 10 * MS), ==, 0);
	wr_netcheck_history_add(h, map, full2, T0 + 131 * G_USEC_PER_SEC);
	g_assert_false(wr_netcheck_history_want_full(h, T0 + 131 * G_USEC_PER_SEC));
	g_assert_true(wr_netcheck_history_want_full(h, T0 + 130 * G_USEC_PER_SEC +
							       WR_NETCHECK_FULL_INTERVAL_US));
}

/* the history stays bounded however often reports come */
static void
test_history_bounded(void)
{
	g_autoptr(WrDerpMap) map = simple_map(1);
	g_autoptr(WrNetcheckHistory) h = wr_netcheck_history_new();

	for (guint i = 0; i < 3 * WR_NETCHECK_HISTORY_MAX; i++) {
		g_autoptr(WrNetcheckReport) r = wr_netcheck_report_new(T0 + i, false);

		g_assert_cmpint(wr_netcheck_report_add_fallback(r, 1, AF_INET, (i + 1) * MS), ==,
				0);
		wr_netcheck_history_add(h, map, r, T0 + i);
		g_assert_cmpuint(r->preferred_derp, ==, 1);
	}
	for (guint i = 0; i < 2 * WR_DERP_MAP_MAX_REGIONS; i++)
		wr_netcheck_history_note_derp_frame(h, i + 1, T0 + i);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/netcheck/report/mapping-tristate", test_mapping_tristate);
	g_test_add_func("/warren/netcheck/report/addresses-and-latency",
			test_report_addresses_and_latency);
	g_test_add_func("/warren/netcheck/report/counters-bounded", test_report_counters_bounded);
	g_test_add_func("/warren/netcheck/report/fallback", test_report_fallback);
	g_test_add_func("/warren/netcheck/report/json", test_report_json);
	g_test_add_func("/warren/netcheck/plan/full", test_plan_full);
	g_test_add_func("/warren/netcheck/plan/incremental", test_plan_incremental);
	g_test_add_func("/warren/netcheck/plan/incremental-alternation",
			test_plan_incremental_alternation);
	g_test_add_func("/warren/netcheck/run/full-two-regions", test_run_full_two_regions);
	g_test_add_func("/warren/netcheck/run/enough-regions", test_run_enough_regions);
	g_test_add_func("/warren/netcheck/run/no-udp-fallback", test_run_no_udp_fallback);
	g_test_add_func("/warren/netcheck/run/send-errors", test_run_send_errors);
	g_test_add_func("/warren/netcheck/run/skip-rule", test_run_skip_rule);
	g_test_add_func("/warren/netcheck/run/skip-rule-v4", test_run_skip_rule_v4);
	g_test_add_func("/warren/netcheck/run/ignored", test_run_ignored);
	g_test_add_func("/warren/netcheck/run/empty-plan", test_run_empty_plan);
	g_test_add_func("/warren/netcheck/home/choice", test_home_choice);
	g_test_add_func("/warren/netcheck/home/sticky-scaled", test_home_sticky_scaled);
	g_test_add_func("/warren/netcheck/home/heard-since-run-start",
			test_home_heard_since_run_start);
	g_test_add_func("/warren/netcheck/history/want-full", test_want_full);
	g_test_add_func("/warren/netcheck/history/bounded", test_history_bounded);

	return g_test_run();
}
