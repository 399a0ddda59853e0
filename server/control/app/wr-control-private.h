/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's state, shared by its files: wr-control.c (the tailnet, the machine API,
 * sign-in), wr-control-map.c (node snapshots, the change log, map streams) and
 * wr-control-admin.c (the admin socket).  Everything runs on the main thread; see
 * docs/control-server.md for the design.
 */
#pragma once

#include <libsoup/soup.h>

#include "wr-control-config.h"
#include "wr-control-seal.h"
#include "wr-control.h"
#include "wr-ipalloc.h"
#include "wr-map-delta.h"
#include "wr-policy.h"
#include "wr-ratelimiter.h"
#include "wr-store.h"
#include "wr-visible.h"

/* map streams: a keep-alive after this much silence (control.md), in seconds */
#define WR_CONTROL_KEEPALIVE 60
/* a register follow-up is held this long before the client is told to ask again */
#define WR_CONTROL_FOLLOWUP_HOLD 60
/* changes remembered for streams that have not caught up; one further behind is closed and
 * comes back for a full map */
#define WR_CONTROL_LOG_SIZE (1u << 16)
/* a stream with this much unwritten is not given more until it drains */
#define WR_CONTROL_STREAM_HIGH_WATER (256 * 1024)
/* changes are gathered this long before streams are written, so that a burst costs one frame */
#define WR_CONTROL_BATCH_MS 20
/* pending interactive logins at most */
#define WR_CONTROL_MAX_LOGINS 65536

typedef struct _CtlNode CtlNode;
typedef struct _CtlStream CtlStream;

/*
 * What peers see of a node at one moment, immutable once made and shared by reference: the
 * node, its JSON text (what peers_changed and full maps carry), and, computed once for every
 * stream, the delta from the snapshot it replaced.
 */
typedef struct {
	gint ref;
	guint64 version;
	WrMapNode *node;
	char *json;
	guint64 base_version; /* the snapshot the delta below is from, 0 = none */
	gboolean base_patch;  /* the delta is a peers_patch entry (else peers_changed) */
	char *base_delta;     /* its JSON, NULL when nothing peers see changed */
} CtlSnap;

struct _CtlNode {
	WrStoreNode *rec;
	CtlSnap *snap;	 /* NULL while peers must not see it (expired, logged out) */
	gboolean online; /* has a map stream */
	int derp_region; /* from the last map request */
	gboolean ephemeral;
	guint ephemeral_timer;
	WrControl *ephemeral_ctl;
	CtlStream *stream; /* its live map stream, if any */
	GArray *visible;   /* with a policy: ids of the peers it sees, sorted; NULL = all */
	char *filter;	   /* with a policy: its packet_filter JSON; NULL = the allow-all one */
	guint64 filter_version;
};

/* an interactive sign-in started by a register call (control.md "Register") */
typedef struct {
	char *token;
	uint8_t machine[WR_CRYPTO_KEY_LEN];
	char *node_key;
	char *hostinfo; /* JSON */
	gint64 expiry;	/* requested, 0 = default */
	gint64 created;
	gboolean done;
	char *error;	/* when done: NULL = authorized, else why not */
	GList *waiters; /* of SoupServerMessage, paused follow-ups */
} CtlLogin;

/* one entry of the change log: node id changed; old is what peers saw before (NULL: nothing) */
typedef struct {
	gint64 id;
	CtlSnap *old;
} CtlChange;

struct _WrControl {
	WrControlConfig *config;
	WrStore *store;
	WrControlSeal *seal;
	WrIpalloc *ipalloc;
	WrPolicy *policy; /* NULL = allow all */
	gint64 policy_version;
	struct _WrOidcRp *rp;
	struct _WrL10n *l10n; /* the sign-in pages' languages (wr-l10n.h) */
	WrRatelimiter *register_limit;
	WrRatelimiter *auth_limit;
	SoupServer *http;
	SoupServer *metrics_http;
	SoupServer *admin_http;

	GHashTable *nodes;	/* gint64 id -> CtlNode */
	GHashTable *by_machine; /* machine key text -> CtlNode (borrowed) */
	GHashTable *users;	/* gint64 id -> WrStoreUser */
	GHashTable *logins;	/* token -> CtlLogin */
	GHashTable *streams;	/* CtlStream set */
	GHashTable *used_names; /* node name -> CtlNode (borrowed) */
	guint64 snap_version;

	/* what every map shares */
	char *derp_map; /* JSON */
	char *dns;	/* JSON */
	char *allow_all_filter;
	guint64 derp_version, dns_version, global_filter_version;

	/* the change log: a ring of WR_CONTROL_LOG_SIZE */
	CtlChange *log;
	guint64 log_head; /* the next sequence number */
	guint64 log_tail; /* the oldest still held */

	/* with a policy: who sees whom, kept incrementally; the nodes (ids) whose tags, routes,
	 * owner or presence changed since the last pass, or all of them (a new policy) */
	WrVisible *visible_sets;
	GHashTable *topology_changed; /* gint64 * set */
	gboolean topology_full;
	gboolean topology_dirty; /* visible sets and filters to recompute */
	guint flush_source;
	gint64 flush_cost; /* µs the last pass over the streams took */
	guint tick_source;
	gint64 ephemeral_grace;
	guint keepalive_interval;

	/* counters for /metrics */
	guint64 n_register, n_register_refused, n_map, n_frames, n_frame_bytes, n_seal_errors,
		n_rate_limited, n_logins_ok, n_logins_failed, n_stream_overflows;
};

/* wr-control-map.c */
CtlSnap *
ctl_snap_ref(CtlSnap *snap);
void
ctl_snap_unref(CtlSnap *snap);
/* makes the node's snapshot anew from its record and state and logs the change for streams */
void
ctl_node_changed(WrControl *self, CtlNode *node);
/* logs a node leaving peers' maps (deleted); the caller frees it after */
void
ctl_node_removed(WrControl *self, CtlNode *node);
/* the policy changed (or policy mode began): every visible set and filter to recompute */
void
ctl_topology_changed(WrControl *self);
/* a node's tags, routes, owner or presence changed: its pairs and the filters to recompute */
void
ctl_node_topology_changed(WrControl *self, gint64 id);
/* the DERP map, DNS or the allow-all filter changed */
void
ctl_globals_changed(WrControl *self);
/* schedules writing to streams */
void
ctl_schedule_flush(WrControl *self);
/* POST /machine/<mkey>/map with stream true: takes over msg's connection */
void
ctl_stream_start(WrControl *self, CtlNode *node, SoupServerMessage *msg,
		 const uint8_t machine[WR_CRYPTO_KEY_LEN]);
void
ctl_stream_close(CtlStream *stream, const char *why);
/* the streams now, as a new array (closing one changes the set) */
GPtrArray *
ctl_streams_list(WrControl *self);
/* the full MapResponse for a node (stream false, and a stream's first frame) */
GString *
ctl_full_map(WrControl *self, CtlNode *node);
/* sends keep-alives due; called from the tick */
void
ctl_streams_tick(WrControl *self, gint64 now_us);
void
ctl_map_init(WrControl *self);
void
ctl_map_shutdown(WrControl *self);

/* a node's JSON as peers see it now (its snapshot's, or made afresh while hidden); g_free */
char *
ctl_node_json(WrControl *self, CtlNode *node);
/* the policy was set or cleared */
void
ctl_map_policy_mode_changed(WrControl *self);

/* wr-control.c */
/* an ephemeral node's stream ended: it goes after the grace period unless it comes back */
void
ctl_node_went_offline(WrControl *self, CtlNode *node);
CtlNode *
ctl_node_lookup(WrControl *self, gint64 id);
WrStoreUser *
ctl_user_lookup(WrControl *self, gint64 id);
/* the JSON of user_profiles entries */
void
ctl_user_profile_json(WrStoreUser *user, GString *out);
void
ctl_audit(WrControl *self, const char *actor, const char *action, const char *target,
	  const char *detail_json);
/* deletes a node: store, addresses, peers' maps, its stream */
gboolean
ctl_node_delete(WrControl *self, CtlNode *node, const char *actor, GError **error);
/* expires a node's key now; it leaves peers' maps */
gboolean
ctl_node_expire(WrControl *self, CtlNode *node, const char *actor, GError **error);
/* routes approved from what is advertised (auto-approvers) and apply */
void
ctl_node_auto_approve(WrControl *self, CtlNode *node);
/* sets a new policy (text already checked) and recompiles */
gboolean
ctl_set_policy(WrControl *self, const char *text, gsize len, const char *actor, GError **error);

/* TRUE if the request's source may go on; otherwise it is answered 429 with Retry-After */
gboolean
ctl_rate_limit(WrControl *self, WrRatelimiter *limiter, SoupServerMessage *msg);
/* the identity provider vouched for someone: authorize the login's machine */
gboolean
ctl_login_complete(WrControl *self, const char *token, const char *iss, const char *sub,
		   const char *email, const char *name, const char *picture, GError **error);
/* a sign-in that had started failed: its follow-ups learn why */
void
ctl_login_failed(WrControl *self, const char *token, const char *why);

/* wr-control-web.c: browser sign-in, /a/<token> and /oidc/callback */
gboolean
ctl_web_init(WrControl *self, GError **error);
void
ctl_web_add_handlers(WrControl *self, SoupServer *server);
void
ctl_web_free(WrControl *self);

/* wr-control-admin.c: the admin socket */
gboolean
ctl_admin_start(WrControl *self, GError **error);
void
ctl_admin_stop(WrControl *self);
