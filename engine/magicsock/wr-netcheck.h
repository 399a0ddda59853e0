/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netcheck, the pure core (docs/protocols/derp-disco-stun.md §5.5-§5.7): what the network
 * around us looks like, measured with STUN against the DERP map's regions.
 *
 *   WrNetcheckReport   the result (§5.5), built by feeding it events: "a STUN reply from
 *                      region R via server S saw mapped address M after rtt", "an HTTPS check of
 *                      region R took rtt".
 *   WrNetcheckPlan     which probes to send and when (§5.6): full or incremental.
 *   WrNetcheckRun      one report in progress: hands out the probes as their time comes (with
 *                      the skip rules), matches replies by transaction id, ends the STUN phase
 *                      (3 s, all probe sets done, or "enough regions"), asks for the HTTPS
 *                      fallback when no UDP came back, and ends the whole report (5 s).
 *   WrNetcheckHistory  what outlives a report: the reports of the last 5 min 5 s, the home
 *                      region and its stickiness (§5.7), when the next report must be full.
 *
 * No sockets, no clocks, no main context: events and `now` (gint64 µs, monotonic) go in,
 * decisions come out.  The runner that does the I/O is wr-netcheck-client.  Nothing here logs.
 * Functions returning int give 0 on success and a negative errno otherwise.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-derp-map.h"
#include "wr-stun.h"

/* §5.6 timing */
#define WR_NETCHECK_REPORT_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define WR_NETCHECK_STUN_TIMEOUT_US   (3 * G_USEC_PER_SEC)
#define WR_NETCHECK_FULL_INTERVAL_US  (5 * 60 * G_USEC_PER_SEC)
/* a full report: this many tries per region and family, this far apart */
#define WR_NETCHECK_FULL_TRIES		3
#define WR_NETCHECK_FULL_TRY_SPACING_US (100 * 1000)
/* an incremental report: the fastest regions of the last report, plus the home region */
#define WR_NETCHECK_INCREMENTAL_REGIONS	     3
#define WR_NETCHECK_INCREMENTAL_FAST_REGIONS 2
#define WR_NETCHECK_INCREMENTAL_TRIES	     1
#define WR_NETCHECK_INCREMENTAL_FAST_TRIES   2
#define WR_NETCHECK_INCREMENTAL_HOME_TRIES   4
/* try i waits i x (previous latency x 12/10, or this when there is none) + i x 50 ms for i > 1 */
#define WR_NETCHECK_INCREMENTAL_SPACING_NUM	   12
#define WR_NETCHECK_INCREMENTAL_SPACING_DEN	   10
#define WR_NETCHECK_INCREMENTAL_DEFAULT_SPACING_US (200 * 1000)
#define WR_NETCHECK_INCREMENTAL_EXTRA_US	   (50 * 1000)
/* once this many regions answered, the STUN phase ends after the largest latency seen (twice
 * that for a full report) */
#define WR_NETCHECK_ENOUGH_REGIONS 3

/* §5.7 home region */
#define WR_NETCHECK_HISTORY_US	(5 * 60 * G_USEC_PER_SEC + 5 * G_USEC_PER_SEC)
#define WR_NETCHECK_HISTORY_MAX 64
/* keep the old home when the winner is less than this much faster ... */
#define WR_NETCHECK_STICKY_ABS_US (10 * 1000)
/* ... or not faster than old x 2/3 */
#define WR_NETCHECK_STICKY_NUM 2
#define WR_NETCHECK_STICKY_DEN 3
/* the old home counts as reachable when a DERP frame came from it this recently */
#define WR_NETCHECK_HOME_HEARD_US (8 * G_USEC_PER_SEC)
/* with nothing measured, keep the old home when it sent a frame this recently (2 x KeepAlive) */
#define WR_NETCHECK_HOME_KEEP_US (120 * G_USEC_PER_SEC)

/* distinct mapped addresses counted per family */
#define WR_NETCHECK_MAX_MAPPED 16

typedef enum {
	WR_NETCHECK_UNSET = 0,
	WR_NETCHECK_FALSE,
	WR_NETCHECK_TRUE,
} WrNetcheckTristate;

typedef struct {
	guint64 region_id;
	/* µs; 0 means not measured.  latency_us is the best over every family and, without
	 * UDP, the HTTPS check */
	gint64 latency_us;
	gint64 v4_latency_us;
	gint64 v6_latency_us;
} WrNetcheckLatency;

typedef struct {
	WrEndpoint addr;
	guint count;
} WrNetcheckMapped;

typedef struct {
	gint64 start_us; /* when the run began */
	bool full;
	bool udp;
	bool ipv4;
	bool ipv6;
	bool ipv4_can_send;
	bool ipv6_can_send;
	bool os_has_ipv6;
	bool icmpv4; /* never set: the ICMP fallback is not implemented */
	/* IPv4 only: whether a second server saw another ip:port than the first one */
	WrNetcheckTristate mapping_varies_by_dest_ip;
	/* the first mapped address of each family (AF_UNSPEC when none), and how often each
	 * distinct address was seen */
	WrEndpoint global_v4;
	WrEndpoint global_v6;
	WrNetcheckMapped mapped_v4[WR_NETCHECK_MAX_MAPPED];
	guint n_mapped_v4;
	WrNetcheckMapped mapped_v6[WR_NETCHECK_MAX_MAPPED];
	guint n_mapped_v6;
	/* sorted by region_id; only regions with some latency */
	WrNetcheckLatency *latencies;
	guint n_latencies;
	guint64 preferred_derp; /* 0 when none */
	/* the STUN server the first IPv4 mapping came from */
	WrEndpoint first_v4_server;
} WrNetcheckReport;

WrNetcheckReport *
wr_netcheck_report_new(gint64 start_us, bool full);
WrNetcheckReport *
wr_netcheck_report_copy(const WrNetcheckReport *report);
void
wr_netcheck_report_free(WrNetcheckReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcheckReport, wr_netcheck_report_free)

/* a STUN reply (§5.5): the request went to server (AF_INET or AF_INET6) of region_id and the
 * reply says the server saw us as mapped, rtt_us after the request left.  -EAFNOSUPPORT when
 * mapped is not of the server's family, -EINVAL for region 0 or a negative rtt. */
int
wr_netcheck_report_add_stun(WrNetcheckReport *report, guint64 region_id, const WrEndpoint *server,
			    const WrEndpoint *mapped, gint64 rtt_us);
/* an HTTPS (or ICMP) check of region_id took rtt_us over family (AF_INET, AF_INET6, or
 * AF_UNSPEC when unknown); it sets the region's overall latency only, and IPv4/IPv6 */
int
wr_netcheck_report_add_fallback(WrNetcheckReport *report, guint64 region_id, int family,
				gint64 rtt_us);
/* NULL when the region has no latency */
const WrNetcheckLatency *
wr_netcheck_report_get_latency(const WrNetcheckReport *report, guint64 region_id);
/* the region's overall latency, 0 when none */
gint64
wr_netcheck_report_region_latency(const WrNetcheckReport *report, guint64 region_id);
/* the largest overall latency, 0 when none */
gint64
wr_netcheck_report_max_latency(const WrNetcheckReport *report);
/* the report for scripts and logs: the names of Tailscale's netcheck.Report where they exist,
 * latencies in µs under names that say so, MappingVariesByDestIP null while unset */
gchar *
wr_netcheck_report_to_json(const WrNetcheckReport *report, bool pretty);

/* the probe plan */

typedef struct {
	guint64 region_id;
	guint node_index; /* into the region's Nodes */
	int family;	  /* AF_INET or AF_INET6 */
	guint try_index;
	guint set;	 /* probe sets are per region and family; the first reply cancels one */
	gint64 delay_us; /* from the start of the run */
} WrNetcheckProbe;

typedef struct {
	bool full;
	WrNetcheckProbe *probes; /* by set, then by try */
	guint n_probes;
	guint n_sets;
} WrNetcheckPlan;

/* a full plan when last is NULL, else an incremental one from last's latencies around home
 * (0 for none).  Only families the host has (have_v4, have_v6) and nodes that can take STUN
 * over that family are probed; NoMeasureNoHome regions never, Avoid regions only in a full plan
 * or when they are home. */
WrNetcheckPlan *
wr_netcheck_plan_new(const WrDerpMap *map, const WrNetcheckReport *last, guint64 home, bool have_v4,
		     bool have_v6);
void
wr_netcheck_plan_free(WrNetcheckPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcheckPlan, wr_netcheck_plan_free)

/* one report in progress */

typedef enum {
	WR_NETCHECK_PHASE_STUN,
	WR_NETCHECK_PHASE_FALLBACK,
	WR_NETCHECK_PHASE_DONE,
} WrNetcheckPhase;

typedef struct {
	guint64 region_id;
	guint node_index; /* the region's first node that is not STUNOnly */
} WrNetcheckFallbackTarget;

typedef struct _WrNetcheckRun WrNetcheckRun;

/* map is borrowed and must outlive the run; the plan is taken */
WrNetcheckRun *
wr_netcheck_run_new(const WrDerpMap *map, WrNetcheckPlan *plan, gint64 now);
void
wr_netcheck_run_free(WrNetcheckRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcheckRun, wr_netcheck_run_free)

WrNetcheckPhase
wr_netcheck_run_get_phase(const WrNetcheckRun *run);
const WrNetcheckPlan *
wr_netcheck_run_get_plan(const WrNetcheckRun *run);
/* the report so far; the caller may set os_has_ipv6 */
WrNetcheckReport *
wr_netcheck_run_get_report(WrNetcheckRun *run);
/* when to call wr_netcheck_run_tick next; G_MAXINT64 once done */
gint64
wr_netcheck_run_get_deadline(const WrNetcheckRun *run);
/* moves the phases on at now; every other call below does this too */
WrNetcheckPhase
wr_netcheck_run_tick(WrNetcheckRun *run, gint64 now);

/* the next probe whose time has come, in the STUN phase.  A probe that would add nothing
 * (§5.6: its region has a latency and, for IPv6, some IPv6 result exists, or, for IPv4,
 * MappingVariesByDestIP is decided) is skipped and cancels its set.  A probe handed out counts
 * as started and must be ended with probe_sent or probe_failed. */
bool
wr_netcheck_run_next_probe(WrNetcheckRun *run, gint64 now, guint *out_index);
const WrNetcheckProbe *
wr_netcheck_run_get_probe(const WrNetcheckRun *run, guint index);
/* the probe's Binding request with transaction id txid went to server; send_rc is 0 or the
 * negative errno of the send.  A send that succeeded or failed as a lost packet would (EPERM
 * from a firewall, EAGAIN, ENOBUFS) sets IPv4CanSend/IPv6CanSend and waits for the reply;
 * any other failure ends the probe. */
void
wr_netcheck_run_probe_sent(WrNetcheckRun *run, guint index, const guint8 txid[WR_STUN_TXID_LEN],
			   const WrEndpoint *server, int send_rc, gint64 now);
/* the probe could not be sent at all (no address: DNS failed, no socket of that family) */
void
wr_netcheck_run_probe_failed(WrNetcheckRun *run, guint index, gint64 now);
/* whether a send error counts as a lost packet (§5.5 IPv4CanSend) */
bool
wr_netcheck_send_counts_as_sent(int send_rc);

/* a STUN datagram for us, from the socket owner's demux.  0 when it answered a probe in flight
 * (the report has it); otherwise it is ignored and counted: the codec's -EINVAL/-EBADMSG/
 * -ENOMSG, -ENOENT for a transaction id we did not send, -EALREADY for a second answer,
 * -ESTALE after the STUN phase, -EAFNOSUPPORT for a mapped address of the wrong family. */
int
wr_netcheck_run_feed(WrNetcheckRun *run, const guint8 *pkt, gsize len, gint64 now);
guint
wr_netcheck_run_get_ignored(const WrNetcheckRun *run);

/* in the fallback phase: the regions to check over HTTPS */
const WrNetcheckFallbackTarget *
wr_netcheck_run_get_fallback_targets(const WrNetcheckRun *run, guint *out_n);
/* the check of target index finished: rtt_us >= 0 on success (family as for add_fallback), or
 * negative for a failure */
void
wr_netcheck_run_fallback_done(WrNetcheckRun *run, guint index, int family, gint64 rtt_us,
			      gint64 now);

/* across reports */

typedef struct _WrNetcheckHistory WrNetcheckHistory;

WrNetcheckHistory *
wr_netcheck_history_new(void);
void
wr_netcheck_history_free(WrNetcheckHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetcheckHistory, wr_netcheck_history_free)

/* the next report must be full: there is no previous report, the previous one measured
 * nothing, or the last full one started WR_NETCHECK_FULL_INTERVAL_US ago */
bool
wr_netcheck_history_want_full(const WrNetcheckHistory *history, gint64 now);
/* the last report added, NULL before the first */
const WrNetcheckReport *
wr_netcheck_history_get_last(const WrNetcheckHistory *history);
/* the home region the last report chose, 0 for none */
guint64
wr_netcheck_history_get_home(const WrNetcheckHistory *history);
/* a DERP frame came from region_id at now (the DERP client calls this) */
void
wr_netcheck_history_note_derp_frame(WrNetcheckHistory *history, guint64 region_id, gint64 now);
/* a forced home region (debug or control), 0 to clear */
void
wr_netcheck_history_set_forced_home(WrNetcheckHistory *history, guint64 region_id);
/* a finished report joins the history and gets its PreferredDERP (§5.7): the region of this
 * report with the lowest best latency of the kept history, scaled by HomeParams.RegionScore;
 * the old home is kept while it is reachable and the winner is not clearly better; with
 * nothing measured, the old home is kept while it has sent a DERP frame within 120 s.
 * NoMeasureNoHome and Avoid regions, and regions not in map, are never home. */
void
wr_netcheck_history_add(WrNetcheckHistory *history, const WrDerpMap *map, WrNetcheckReport *report,
			gint64 now);
