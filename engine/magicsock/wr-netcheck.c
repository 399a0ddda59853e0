/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrNetcheck"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-netcheck.h"

/* the report */

WrNetcheckReport *
wr_netcheck_report_new(gint64 start_us, bool full)
{
	WrNetcheckReport *report = g_new0(WrNetcheckReport, 1);

	report->start_us = start_us;
	report->full = full;
	return report;
}

WrNetcheckReport *
wr_netcheck_report_copy(const WrNetcheckReport *report)
{
	WrNetcheckReport *copy;

	g_return_val_if_fail(report != NULL, NULL);

	copy = g_new0(WrNetcheckReport, 1);
	*copy = *report;
	copy->latencies =
		g_memdup2(report->latencies, sizeof(*report->latencies) * report->n_latencies);
	return copy;
}

void
wr_netcheck_report_free(WrNetcheckReport *report)
{
	if (report == NULL)
		return;
	g_free(report->latencies);
	g_free(report);
}

/* the slot of region_id, inserted in order when create is set */
static WrNetcheckLatency *
latency_slot(WrNetcheckReport *report, guint64 region_id, bool create)
{
	guint lo = 0;
	guint hi = report->n_latencies;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (report->latencies[mid].region_id == region_id)
			return &report->latencies[mid];
		if (report->latencies[mid].region_id < region_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	report->latencies = g_renew(WrNetcheckLatency, report->latencies, report->n_latencies + 1);
	memmove(&report->latencies[lo + 1], &report->latencies[lo],
		sizeof(*report->latencies) * (report->n_latencies - lo));
	memset(&report->latencies[lo], 0, sizeof(*report->latencies));
	report->latencies[lo].region_id = region_id;
	report->n_latencies++;
	return &report->latencies[lo];
}

static void
keep_min(gint64 *slot, gint64 v)
{
	/* a reply within the clock's resolution still counts as measured */
	if (v <= 0)
		v = 1;
	if (*slot == 0 || v < *slot)
		*slot = v;
}

static void
count_mapped(WrNetcheckMapped *list, guint *n, const WrEndpoint *mapped)
{
	for (guint i = 0; i < *n; i++) {
		if (wr_endpoint_equal(&list[i].addr, mapped)) {
			list[i].count++;
			return;
		}
	}
	/* beyond the limit new addresses go uncounted; the first ones matter most */
	if (*n == WR_NETCHECK_MAX_MAPPED)
		return;
	list[*n].addr = *mapped;
	list[*n].count = 1;
	(*n)++;
}

int
wr_netcheck_report_add_stun(WrNetcheckReport *report, guint64 region_id, const WrEndpoint *server,
			    const WrEndpoint *mapped, gint64 rtt_us)
{
	WrNetcheckLatency *lat;
	int family;

	g_return_val_if_fail(report != NULL && server != NULL && mapped != NULL, -EINVAL);

	if (region_id == 0 || rtt_us < 0)
		return -EINVAL;
	family = server->sa.sa_family;
	if ((family != AF_INET && family != AF_INET6) || mapped->sa.sa_family != family)
		return -EAFNOSUPPORT;

	report->udp = true;
	lat = latency_slot(report, region_id, true);
	keep_min(&lat->latency_us, rtt_us);
	if (family == AF_INET6) {
		report->ipv6 = true;
		keep_min(&lat->v6_latency_us, rtt_us);
		if (report->global_v6.sa.sa_family == AF_UNSPEC)
			report->global_v6 = *mapped;
		count_mapped(report->mapped_v6, &report->n_mapped_v6, mapped);
		return 0;
	}

	report->ipv4 = true;
	keep_min(&lat->v4_latency_us, rtt_us);
	count_mapped(report->mapped_v4, &report->n_mapped_v4, mapped);
	if (report->global_v4.sa.sa_family == AF_UNSPEC) {
		report->global_v4 = *mapped;
		report->first_v4_server = *server;
		return 0;
	}
	/* the same server again says nothing about how the mapping depends on the destination */
	if (wr_endpoint_equal(&report->first_v4_server, server))
		return 0;
	if (!wr_endpoint_equal(&report->global_v4, mapped))
		report->mapping_varies_by_dest_ip = WR_NETCHECK_TRUE;
	else if (report->mapping_varies_by_dest_ip == WR_NETCHECK_UNSET)
		report->mapping_varies_by_dest_ip = WR_NETCHECK_FALSE;
	return 0;
}

int
wr_netcheck_report_add_fallback(WrNetcheckReport *report, guint64 region_id, int family,
				gint64 rtt_us)
{
	WrNetcheckLatency *lat;

	g_return_val_if_fail(report != NULL, -EINVAL);

	if (region_id == 0 || rtt_us < 0)
		return -EINVAL;
	if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
		return -EAFNOSUPPORT;
	lat = latency_slot(report, region_id, true);
	keep_min(&lat->latency_us, rtt_us);
	if (family == AF_INET)
		report->ipv4 = true;
	else if (family == AF_INET6)
		report->ipv6 = true;
	return 0;
}

const WrNetcheckLatency *
wr_netcheck_report_get_latency(const WrNetcheckReport *report, guint64 region_id)
{
	g_return_val_if_fail(report != NULL, NULL);
	return latency_slot((WrNetcheckReport *) report, region_id, false);
}

gint64
wr_netcheck_report_region_latency(const WrNetcheckReport *report, guint64 region_id)
{
	const WrNetcheckLatency *lat = wr_netcheck_report_get_latency(report, region_id);

	return lat != NULL ? lat->latency_us : 0;
}

gint64
wr_netcheck_report_max_latency(const WrNetcheckReport *report)
{
	gint64 max = 0;

	g_return_val_if_fail(report != NULL, 0);
	for (guint i = 0; i < report->n_latencies; i++)
		max = MAX(max, report->latencies[i].latency_us);
	return max;
}

static void
json_endpoint(JsonBuilder *b, const gchar *name, const WrEndpoint *ep)
{
	gchar buf[WR_ENDPOINT_STRLEN];

	json_builder_set_member_name(b, name);
	if (ep->sa.sa_family == AF_UNSPEC) {
		json_builder_add_string_value(b, "");
		return;
	}
	wr_endpoint_format(ep, buf);
	json_builder_add_string_value(b, buf);
}

static void
json_bool(JsonBuilder *b, const gchar *name, bool v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, v);
}

static void
json_counters(JsonBuilder *b, const gchar *name, const WrNetcheckMapped *list, guint n)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	for (guint i = 0; i < n; i++) {
		gchar buf[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(&list[i].addr, buf);
		json_builder_set_member_name(b, buf);
		json_builder_add_int_value(b, list[i].count);
	}
	json_builder_end_object(b);
}

/* which: 0 overall, 4 IPv4, 6 IPv6 */
static void
json_latencies(JsonBuilder *b, const gchar *name, const WrNetcheckReport *report, int which)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	for (guint i = 0; i < report->n_latencies; i++) {
		const WrNetcheckLatency *lat = &report->latencies[i];
		gint64 v = which == 4	? lat->v4_latency_us
			   : which == 6 ? lat->v6_latency_us
					: lat->latency_us;
		gchar key[24];

		if (v == 0)
			continue;
		g_snprintf(key, sizeof(key), "%" G_GUINT64_FORMAT, lat->region_id);
		json_builder_set_member_name(b, key);
		json_builder_add_int_value(b, v);
	}
	json_builder_end_object(b);
}

gchar *
wr_netcheck_report_to_json(const WrNetcheckReport *report, bool pretty)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	g_return_val_if_fail(report != NULL, NULL);

	json_builder_begin_object(b);
	json_bool(b, "Full", report->full);
	json_bool(b, "UDP", report->udp);
	json_bool(b, "IPv4", report->ipv4);
	json_bool(b, "IPv6", report->ipv6);
	json_bool(b, "IPv4CanSend", report->ipv4_can_send);
	json_bool(b, "IPv6CanSend", report->ipv6_can_send);
	json_bool(b, "OSHasIPv6", report->os_has_ipv6);
	json_bool(b, "ICMPv4", report->icmpv4);
	json_builder_set_member_name(b, "MappingVariesByDestIP");
	if (report->mapping_varies_by_dest_ip == WR_NETCHECK_UNSET)
		json_builder_add_null_value(b);
	else
		json_builder_add_boolean_value(b, report->mapping_varies_by_dest_ip ==
							  WR_NETCHECK_TRUE);
	json_endpoint(b, "GlobalV4", &report->global_v4);
	json_endpoint(b, "GlobalV6", &report->global_v6);
	json_counters(b, "GlobalV4Counters", report->mapped_v4, report->n_mapped_v4);
	json_counters(b, "GlobalV6Counters", report->mapped_v6, report->n_mapped_v6);
	json_latencies(b, "RegionLatencyUs", report, 0);
	json_latencies(b, "RegionV4LatencyUs", report, 4);
	json_latencies(b, "RegionV6LatencyUs", report, 6);
	json_builder_set_member_name(b, "PreferredDERP");
	json_builder_add_int_value(b, (gint64) report->preferred_derp);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, pretty);
	return json_generator_to_data(gen, NULL);
}

/* the plan */

void
wr_netcheck_plan_free(WrNetcheckPlan *plan)
{
	if (plan == NULL)
		return;
	g_free(plan->probes);
	g_free(plan);
}

static void
plan_add(GArray *probes, const WrDerpRegion *region, int family, guint tries, gint64 spacing_us,
	 gint64 extra_us, guint *n_sets)
{
	bool any = false;

	if (region->n_nodes == 0)
		return;
	for (guint i = 0; i < tries; i++) {
		guint node = i % region->n_nodes;
		WrNetcheckProbe p = {
			.region_id = region->region_id,
			.node_index = node,
			.family = family,
			.try_index = i,
			.set = *n_sets,
			.delay_us = (gint64) i * spacing_us + (i > 1 ? (gint64) i * extra_us : 0),
		};

		if (!wr_derp_node_can_stun(&region->nodes[node], family))
			continue;
		g_array_append_val(probes, p);
		any = true;
	}
	if (any)
		(*n_sets)++;
}

typedef struct {
	const WrDerpRegion *region;
	gint64 latency_us; /* 0: none */
} Ranked;

static gint
ranked_cmp(gconstpointer a, gconstpointer b)
{
	const Ranked *x = a;
	const Ranked *y = b;

	/* measured before unmeasured, then faster first, then by ID */
	if ((x->latency_us == 0) != (y->latency_us == 0))
		return x->latency_us == 0 ? 1 : -1;
	if (x->latency_us != y->latency_us)
		return x->latency_us < y->latency_us ? -1 : 1;
	return x->region->region_id < y->region->region_id ? -1 : 1;
}

static void
plan_full(const WrDerpMap *map, bool have_v4, bool have_v6, GArray *probes, guint *n_sets)
{
	for (guint r = 0; r < map->n_regions; r++) {
		const WrDerpRegion *region = &map->regions[r];

		if (region->no_measure_no_home)
			continue;
		if (have_v4)
			plan_add(probes, region, AF_INET, WR_NETCHECK_FULL_TRIES,
				 WR_NETCHECK_FULL_TRY_SPACING_US, 0, n_sets);
		if (have_v6)
			plan_add(probes, region, AF_INET6, WR_NETCHECK_FULL_TRIES,
				 WR_NETCHECK_FULL_TRY_SPACING_US, 0, n_sets);
	}
}

static void
plan_incremental(const WrDerpMap *map, const WrNetcheckReport *last, guint64 home, bool have_v4,
		 bool have_v6, GArray *probes, guint *n_sets)
{
	g_autofree Ranked *ranked = g_new0(Ranked, map->n_regions);
	guint n = 0;
	bool dual = have_v4 && have_v6 && last->ipv4 && last->ipv6;

	for (guint r = 0; r < map->n_regions; r++) {
		const WrDerpRegion *region = &map->regions[r];

		if (region->no_measure_no_home)
			continue;
		if (region->avoid && region->region_id != home)
			continue;
		ranked[n].region = region;
		ranked[n].latency_us = wr_netcheck_report_region_latency(last, region->region_id);
		n++;
	}
	if (n > 1)
		qsort(ranked, n, sizeof(*ranked), ranked_cmp);

	for (guint rank = 0; rank < n; rank++) {
		const WrDerpRegion *region = ranked[rank].region;
		bool is_home = region->region_id == home;
		bool fast = rank < WR_NETCHECK_INCREMENTAL_FAST_REGIONS;
		bool do4 = have_v4;
		bool do6 = have_v6;
		guint tries = WR_NETCHECK_INCREMENTAL_TRIES;
		gint64 spacing = WR_NETCHECK_INCREMENTAL_DEFAULT_SPACING_US;

		if (rank >= WR_NETCHECK_INCREMENTAL_REGIONS && !is_home)
			continue;
		if (fast)
			tries = WR_NETCHECK_INCREMENTAL_FAST_TRIES;
		if (is_home)
			tries = WR_NETCHECK_INCREMENTAL_HOME_TRIES;
		/* the slower regions alternate between the families on dual-stack hosts */
		if (!fast && !is_home && dual) {
			do4 = rank % 2 == 0;
			do6 = !do4;
		}
		if (ranked[rank].latency_us > 0)
			spacing = ranked[rank].latency_us * WR_NETCHECK_INCREMENTAL_SPACING_NUM /
				  WR_NETCHECK_INCREMENTAL_SPACING_DEN;
		if (do4)
			plan_add(probes, region, AF_INET, tries, spacing,
				 WR_NETCHECK_INCREMENTAL_EXTRA_US, n_sets);
		if (do6)
			plan_add(probes, region, AF_INET6, tries, spacing,
				 WR_NETCHECK_INCREMENTAL_EXTRA_US, n_sets);
	}
}

WrNetcheckPlan *
wr_netcheck_plan_new(const WrDerpMap *map, const WrNetcheckReport *last, guint64 home, bool have_v4,
		     bool have_v6)
{
	g_autoptr(GArray) probes = g_array_new(FALSE, TRUE, sizeof(WrNetcheckProbe));
	WrNetcheckPlan *plan;

	g_return_val_if_fail(map != NULL, NULL);

	plan = g_new0(WrNetcheckPlan, 1);
	plan->full = last == NULL;
	if (plan->full)
		plan_full(map, have_v4, have_v6, probes, &plan->n_sets);
	else
		plan_incremental(map, last, home, have_v4, have_v6, probes, &plan->n_sets);
	plan->n_probes = probes->len;
	plan->probes = (WrNetcheckProbe *) (void *) g_array_free(g_steal_pointer(&probes), FALSE);
	return plan;
}

/* the run */

typedef enum {
	PROBE_PLANNED,
	PROBE_STARTED, /* handed out, not yet sent (the runner may be resolving a name) */
	PROBE_SENT,    /* waiting for its reply */
	PROBE_ANSWERED,
	PROBE_FAILED,  /* could not be sent */
	PROBE_SKIPPED, /* its set was cancelled or done before it was due */
} ProbeState;

typedef struct {
	ProbeState state;
	guint8 txid[WR_STUN_TXID_LEN];
	WrEndpoint server;
	gint64 sent_us;
} ProbeSlot;

typedef struct {
	bool cancelled; /* answered, or the skip rule fired */
} SetSlot;

struct _WrNetcheckRun {
	const WrDerpMap *map;
	WrNetcheckPlan *plan;
	ProbeSlot *probes;
	SetSlot *sets;
	WrNetcheckReport *report;
	WrNetcheckPhase phase;
	gint64 start_us;
	gint64 stun_end_us;  /* 3 s, or earlier once enough regions answered */
	bool enough_regions; /* the early end has been armed */
	WrNetcheckFallbackTarget *fallback;
	bool *fallback_done;
	guint n_fallback;
	guint ignored;
};

WrNetcheckRun *
wr_netcheck_run_new(const WrDerpMap *map, WrNetcheckPlan *plan, gint64 now)
{
	WrNetcheckRun *run;

	g_return_val_if_fail(map != NULL && plan != NULL, NULL);

	run = g_new0(WrNetcheckRun, 1);
	run->map = map;
	run->plan = plan;
	run->probes = g_new0(ProbeSlot, plan->n_probes);
	run->sets = g_new0(SetSlot, plan->n_sets);
	run->report = wr_netcheck_report_new(now, plan->full);
	run->phase = WR_NETCHECK_PHASE_STUN;
	run->start_us = now;
	run->stun_end_us = now + WR_NETCHECK_STUN_TIMEOUT_US;
	(void) wr_netcheck_run_tick(run, now);
	return run;
}

void
wr_netcheck_run_free(WrNetcheckRun *run)
{
	if (run == NULL)
		return;
	wr_netcheck_plan_free(run->plan);
	g_free(run->probes);
	g_free(run->sets);
	wr_netcheck_report_free(run->report);
	g_free(run->fallback);
	g_free(run->fallback_done);
	g_free(run);
}

WrNetcheckPhase
wr_netcheck_run_get_phase(const WrNetcheckRun *run)
{
	g_return_val_if_fail(run != NULL, WR_NETCHECK_PHASE_DONE);
	return run->phase;
}

const WrNetcheckPlan *
wr_netcheck_run_get_plan(const WrNetcheckRun *run)
{
	g_return_val_if_fail(run != NULL, NULL);
	return run->plan;
}

WrNetcheckReport *
wr_netcheck_run_get_report(WrNetcheckRun *run)
{
	g_return_val_if_fail(run != NULL, NULL);
	return run->report;
}

guint
wr_netcheck_run_get_ignored(const WrNetcheckRun *run)
{
	g_return_val_if_fail(run != NULL, 0);
	return run->ignored;
}

const WrNetcheckProbe *
wr_netcheck_run_get_probe(const WrNetcheckRun *run, guint index)
{
	g_return_val_if_fail(run != NULL && index < run->plan->n_probes, NULL);
	return &run->plan->probes[index];
}

/* a set is done when it was cancelled or none of its probes can still bring a reply */
static bool
set_done(const WrNetcheckRun *run, guint set)
{
	if (run->sets[set].cancelled)
		return true;
	for (guint i = 0; i < run->plan->n_probes; i++) {
		if (run->plan->probes[i].set != set)
			continue;
		if (run->probes[i].state == PROBE_PLANNED ||
		    run->probes[i].state == PROBE_STARTED || run->probes[i].state == PROBE_SENT)
			return false;
	}
	return true;
}

static void
cancel_set(WrNetcheckRun *run, guint set)
{
	run->sets[set].cancelled = true;
	for (guint i = 0; i < run->plan->n_probes; i++) {
		if (run->plan->probes[i].set == set && run->probes[i].state == PROBE_PLANNED)
			run->probes[i].state = PROBE_SKIPPED;
	}
}

static bool
all_sets_done(const WrNetcheckRun *run)
{
	for (guint s = 0; s < run->plan->n_sets; s++) {
		if (!set_done(run, s))
			return false;
	}
	return true;
}

/* every region with a non-STUN-only node, except NoMeasureNoHome and Avoid ones (§5.6) */
static void
plan_fallback(WrNetcheckRun *run)
{
	const WrDerpMap *map = run->map;

	run->fallback = g_new0(WrNetcheckFallbackTarget, map->n_regions);
	run->fallback_done = g_new0(bool, map->n_regions);
	for (guint r = 0; r < map->n_regions; r++) {
		const WrDerpRegion *region = &map->regions[r];

		if (region->no_measure_no_home || region->avoid)
			continue;
		for (guint n = 0; n < region->n_nodes; n++) {
			if (region->nodes[n].stun_only)
				continue;
			run->fallback[run->n_fallback].region_id = region->region_id;
			run->fallback[run->n_fallback].node_index = n;
			run->n_fallback++;
			break;
		}
	}
}

static bool
all_fallback_done(const WrNetcheckRun *run)
{
	for (guint i = 0; i < run->n_fallback; i++) {
		if (!run->fallback_done[i])
			return false;
	}
	return true;
}

WrNetcheckPhase
wr_netcheck_run_tick(WrNetcheckRun *run, gint64 now)
{
	g_return_val_if_fail(run != NULL, WR_NETCHECK_PHASE_DONE);

	if (run->phase == WR_NETCHECK_PHASE_STUN) {
		if (now < run->stun_end_us && !all_sets_done(run))
			return run->phase;
		/* what has not gone out by now never will */
		for (guint i = 0; i < run->plan->n_probes; i++) {
			if (run->probes[i].state == PROBE_PLANNED)
				run->probes[i].state = PROBE_SKIPPED;
		}
		if (run->report->udp) {
			run->phase = WR_NETCHECK_PHASE_DONE;
			return run->phase;
		}
		plan_fallback(run);
		run->phase = WR_NETCHECK_PHASE_FALLBACK;
	}
	if (run->phase == WR_NETCHECK_PHASE_FALLBACK) {
		if (now >= run->start_us + WR_NETCHECK_REPORT_TIMEOUT_US || all_fallback_done(run))
			run->phase = WR_NETCHECK_PHASE_DONE;
	}
	return run->phase;
}

gint64
wr_netcheck_run_get_deadline(const WrNetcheckRun *run)
{
	gint64 deadline;

	g_return_val_if_fail(run != NULL, G_MAXINT64);

	switch (run->phase) {
	case WR_NETCHECK_PHASE_STUN:
		deadline = run->stun_end_us;
		for (guint i = 0; i < run->plan->n_probes; i++) {
			if (run->probes[i].state == PROBE_PLANNED)
				deadline = MIN(deadline,
					       run->start_us + run->plan->probes[i].delay_us);
		}
		return deadline;
	case WR_NETCHECK_PHASE_FALLBACK:
		return run->start_us + WR_NETCHECK_REPORT_TIMEOUT_US;
	case WR_NETCHECK_PHASE_DONE:
	default:
		return G_MAXINT64;
	}
}

/* §5.6: a probe that would add nothing */
static bool
probe_would_help(const WrNetcheckRun *run, const WrNetcheckProbe *p)
{
	const WrNetcheckReport *report = run->report;

	if (wr_netcheck_report_region_latency(report, p->region_id) == 0)
		return true;
	if (p->family == AF_INET6)
		return !report->ipv6;
	return report->mapping_varies_by_dest_ip == WR_NETCHECK_UNSET;
}

bool
wr_netcheck_run_next_probe(WrNetcheckRun *run, gint64 now, guint *out_index)
{
	g_return_val_if_fail(run != NULL && out_index != NULL, false);

	(void) wr_netcheck_run_tick(run, now);
	if (run->phase != WR_NETCHECK_PHASE_STUN)
		return false;
	for (guint i = 0; i < run->plan->n_probes; i++) {
		const WrNetcheckProbe *p = &run->plan->probes[i];

		if (run->probes[i].state != PROBE_PLANNED || run->start_us + p->delay_us > now)
			continue;
		if (!probe_would_help(run, p)) {
			cancel_set(run, p->set);
			continue;
		}
		run->probes[i].state = PROBE_STARTED;
		*out_index = i;
		return true;
	}
	(void) wr_netcheck_run_tick(run, now);
	return false;
}

bool
wr_netcheck_send_counts_as_sent(int send_rc)
{
	/* a firewall rule that rejects the send, or a full queue, loses the packet like the
	 * network would */
	return send_rc == 0 || send_rc == -EPERM || send_rc == -EAGAIN || send_rc == -ENOBUFS ||
	       send_rc == -EWOULDBLOCK;
}

void
wr_netcheck_run_probe_sent(WrNetcheckRun *run, guint index, const guint8 txid[WR_STUN_TXID_LEN],
			   const WrEndpoint *server, int send_rc, gint64 now)
{
	ProbeSlot *slot;

	g_return_if_fail(run != NULL && index < run->plan->n_probes);
	g_return_if_fail(txid != NULL && server != NULL);

	slot = &run->probes[index];
	if (slot->state != PROBE_STARTED)
		return;
	if (!wr_netcheck_send_counts_as_sent(send_rc)) {
		slot->state = PROBE_FAILED;
		(void) wr_netcheck_run_tick(run, now);
		return;
	}
	if (run->plan->probes[index].family == AF_INET)
		run->report->ipv4_can_send = true;
	else
		run->report->ipv6_can_send = true;
	slot->state = PROBE_SENT;
	memcpy(slot->txid, txid, WR_STUN_TXID_LEN);
	slot->server = *server;
	slot->sent_us = now;
	(void) wr_netcheck_run_tick(run, now);
}

void
wr_netcheck_run_probe_failed(WrNetcheckRun *run, guint index, gint64 now)
{
	g_return_if_fail(run != NULL && index < run->plan->n_probes);

	if (run->probes[index].state == PROBE_STARTED)
		run->probes[index].state = PROBE_FAILED;
	(void) wr_netcheck_run_tick(run, now);
}

static int
feed(WrNetcheckRun *run, const guint8 *pkt, gsize len, gint64 now)
{
	guint8 txid[WR_STUN_TXID_LEN];
	WrEndpoint mapped;
	ProbeSlot *slot = NULL;
	const WrNetcheckProbe *p;
	guint index = 0;
	int rc;

	if (!wr_stun_is_stun(pkt, len))
		return -EINVAL;
	rc = wr_stun_parse_response(pkt, len, txid, &mapped);
	if (rc < 0)
		return rc;
	for (guint i = 0; i < run->plan->n_probes; i++) {
		ProbeSlot *s = &run->probes[i];

		if ((s->state == PROBE_SENT || s->state == PROBE_ANSWERED) &&
		    memcmp(s->txid, txid, WR_STUN_TXID_LEN) == 0) {
			slot = s;
			index = i;
			break;
		}
	}
	if (slot == NULL)
		return -ENOENT;
	if (slot->state == PROBE_ANSWERED)
		return -EALREADY;
	if (run->phase != WR_NETCHECK_PHASE_STUN)
		return -ESTALE;
	p = &run->plan->probes[index];
	rc = wr_netcheck_report_add_stun(run->report, p->region_id, &slot->server, &mapped,
					 now - slot->sent_us);
	if (rc < 0)
		return rc;
	slot->state = PROBE_ANSWERED;
	cancel_set(run, p->set);

	/* enough regions: the rest may take as long as the slowest so far (twice for a full
	 * report) */
	if (!run->enough_regions && run->report->n_latencies >= WR_NETCHECK_ENOUGH_REGIONS) {
		gint64 wait = wr_netcheck_report_max_latency(run->report);

		if (run->plan->full)
			wait *= 2;
		run->enough_regions = true;
		run->stun_end_us = MIN(run->stun_end_us, now + wait);
	}
	return 0;
}

int
wr_netcheck_run_feed(WrNetcheckRun *run, const guint8 *pkt, gsize len, gint64 now)
{
	int rc;

	g_return_val_if_fail(run != NULL && (pkt != NULL || len == 0), -EINVAL);

	(void) wr_netcheck_run_tick(run, now);
	rc = feed(run, pkt, len, now);
	if (rc < 0)
		run->ignored++;
	(void) wr_netcheck_run_tick(run, now);
	return rc;
}

const WrNetcheckFallbackTarget *
wr_netcheck_run_get_fallback_targets(const WrNetcheckRun *run, guint *out_n)
{
	g_return_val_if_fail(run != NULL && out_n != NULL, NULL);

	*out_n = run->n_fallback;
	return run->fallback;
}

void
wr_netcheck_run_fallback_done(WrNetcheckRun *run, guint index, int family, gint64 rtt_us,
			      gint64 now)
{
	g_return_if_fail(run != NULL && index < run->n_fallback);

	if (run->phase == WR_NETCHECK_PHASE_FALLBACK && !run->fallback_done[index]) {
		run->fallback_done[index] = true;
		if (rtt_us >= 0)
			(void) wr_netcheck_report_add_fallback(
				run->report, run->fallback[index].region_id, family, rtt_us);
	}
	(void) wr_netcheck_run_tick(run, now);
}

/* the history and the home region */

typedef struct {
	guint64 region_id;
	gint64 at_us;
} Heard;

struct _WrNetcheckHistory {
	/* oldest first, each stamped with when it was added (the copy's start_us stays) */
	WrNetcheckReport *reports[WR_NETCHECK_HISTORY_MAX];
	gint64 added_us[WR_NETCHECK_HISTORY_MAX];
	guint n_reports;
	gint64 last_full_us;
	bool have_full;
	guint64 home;
	guint64 forced;
	/* the last DERP frame per region, for as many regions as a map may hold */
	Heard heard[WR_DERP_MAP_MAX_REGIONS];
	guint n_heard;
};

WrNetcheckHistory *
wr_netcheck_history_new(void)
{
	return g_new0(WrNetcheckHistory, 1);
}

void
wr_netcheck_history_free(WrNetcheckHistory *history)
{
	if (history == NULL)
		return;
	for (guint i = 0; i < history->n_reports; i++)
		wr_netcheck_report_free(history->reports[i]);
	g_free(history);
}

const WrNetcheckReport *
wr_netcheck_history_get_last(const WrNetcheckHistory *history)
{
	g_return_val_if_fail(history != NULL, NULL);
	return history->n_reports > 0 ? history->reports[history->n_reports - 1] : NULL;
}

guint64
wr_netcheck_history_get_home(const WrNetcheckHistory *history)
{
	g_return_val_if_fail(history != NULL, 0);
	return history->home;
}

bool
wr_netcheck_history_want_full(const WrNetcheckHistory *history, gint64 now)
{
	const WrNetcheckReport *last = wr_netcheck_history_get_last(history);

	if (last == NULL || last->n_latencies == 0 || !history->have_full)
		return true;
	return now - history->last_full_us >= WR_NETCHECK_FULL_INTERVAL_US;
}

void
wr_netcheck_history_note_derp_frame(WrNetcheckHistory *history, guint64 region_id, gint64 now)
{
	guint oldest = 0;

	g_return_if_fail(history != NULL);

	for (guint i = 0; i < history->n_heard; i++) {
		if (history->heard[i].region_id == region_id) {
			history->heard[i].at_us = now;
			return;
		}
		if (history->heard[i].at_us < history->heard[oldest].at_us)
			oldest = i;
	}
	if (history->n_heard == G_N_ELEMENTS(history->heard)) {
		history->heard[oldest].region_id = region_id;
		history->heard[oldest].at_us = now;
		return;
	}
	history->heard[history->n_heard].region_id = region_id;
	history->heard[history->n_heard].at_us = now;
	history->n_heard++;
}

void
wr_netcheck_history_set_forced_home(WrNetcheckHistory *history, guint64 region_id)
{
	g_return_if_fail(history != NULL);
	history->forced = region_id;
}

/* when the last DERP frame came from region_id, 0 for never */
static gint64
heard_at(const WrNetcheckHistory *history, guint64 region_id)
{
	for (guint i = 0; i < history->n_heard; i++) {
		if (history->heard[i].region_id == region_id)
			return history->heard[i].at_us;
	}
	return 0;
}

/* heard from since the run started, or within the last 8 s */
static bool
heard_recently(const WrNetcheckHistory *history, guint64 region_id, gint64 run_start_us, gint64 now)
{
	gint64 at = heard_at(history, region_id);

	return at != 0 && (at >= run_start_us || now - at <= WR_NETCHECK_HOME_HEARD_US);
}

static bool
can_be_home(const WrDerpMap *map, guint64 region_id)
{
	const WrDerpRegion *region = wr_derp_map_get_region(map, region_id);

	return region != NULL && !region->no_measure_no_home && !region->avoid;
}

static void
history_prune(WrNetcheckHistory *history, gint64 now)
{
	guint keep = 0;

	for (guint i = 0; i < history->n_reports; i++) {
		if (now - history->added_us[i] > WR_NETCHECK_HISTORY_US) {
			wr_netcheck_report_free(history->reports[i]);
			continue;
		}
		history->reports[keep] = history->reports[i];
		history->added_us[keep] = history->added_us[i];
		keep++;
	}
	history->n_reports = keep;
}

/* the best latency of region_id over the kept history, 0 when none */
static gint64
history_best(const WrNetcheckHistory *history, guint64 region_id)
{
	gint64 best = 0;

	for (guint i = 0; i < history->n_reports; i++) {
		gint64 v = wr_netcheck_report_region_latency(history->reports[i], region_id);

		if (v > 0 && (best == 0 || v < best))
			best = v;
	}
	return best;
}

static guint64
choose_home(const WrNetcheckHistory *history, const WrDerpMap *map, const WrNetcheckReport *report,
	    gint64 now)
{
	guint64 prev = history->home;
	guint64 pick = 0;
	double pick_scaled = 0;

	/* 1, 2: the current report's regions, by the scaled best of the history */
	for (guint i = 0; i < report->n_latencies; i++) {
		guint64 id = report->latencies[i].region_id;
		double scaled;

		if (!can_be_home(map, id))
			continue;
		scaled = (double) history_best(history, id) * wr_derp_map_region_score(map, id);
		if (pick == 0 || scaled < pick_scaled) {
			pick = id;
			pick_scaled = scaled;
		}
	}

	/* 3: stickiness while the old home is reachable */
	if (pick != 0 && prev != 0 && pick != prev && can_be_home(map, prev)) {
		gint64 cur = wr_netcheck_report_region_latency(report, prev);

		if (cur > 0 || heard_recently(history, prev, report->start_us, now)) {
			double old = (double) cur * wr_derp_map_region_score(map, prev);

			if (old - pick_scaled < WR_NETCHECK_STICKY_ABS_US ||
			    pick_scaled > old * WR_NETCHECK_STICKY_NUM / WR_NETCHECK_STICKY_DEN)
				pick = prev;
		}
	}
	if (history->forced != 0 && wr_derp_map_get_region(map, history->forced) != NULL &&
	    (wr_netcheck_report_region_latency(report, history->forced) > 0 ||
	     heard_recently(history, history->forced, report->start_us, now)))
		pick = history->forced;

	/* 4: nothing measured, but the old home still talks to us */
	if (pick == 0 && prev != 0 && can_be_home(map, prev)) {
		gint64 at = heard_at(history, prev);

		if (at != 0 && now - at <= WR_NETCHECK_HOME_KEEP_US)
			pick = prev;
	}
	return pick;
}

void
wr_netcheck_history_add(WrNetcheckHistory *history, const WrDerpMap *map, WrNetcheckReport *report,
			gint64 now)
{
	g_return_if_fail(history != NULL && map != NULL && report != NULL);

	history_prune(history, now);
	if (history->n_reports == WR_NETCHECK_HISTORY_MAX) {
		wr_netcheck_report_free(history->reports[0]);
		memmove(&history->reports[0], &history->reports[1],
			sizeof(history->reports[0]) * (WR_NETCHECK_HISTORY_MAX - 1));
		memmove(&history->added_us[0], &history->added_us[1],
			sizeof(history->added_us[0]) * (WR_NETCHECK_HISTORY_MAX - 1));
		history->n_reports--;
	}
	history->reports[history->n_reports] = wr_netcheck_report_copy(report);
	history->added_us[history->n_reports] = now;
	history->n_reports++;

	report->preferred_derp = choose_home(history, map, report, now);
	history->reports[history->n_reports - 1]->preferred_derp = report->preferred_derp;
	history->home = report->preferred_derp;
	if (report->full) {
		history->last_full_us = report->start_us;
		history->have_full = true;
	}
}
