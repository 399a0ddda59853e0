/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The network map as warrend holds it (docs/protocols/control.md, "Map"): a MapResponse, full
 * or delta, parsed from JSON into typed structs, and the state that the responses of one map
 * stream build up.
 *
 *   wr_netmap_response_parse()  JSON text -> WrNetmapResponse.  Strict: every member control.md
 *                               names is type-checked and its value validated (keys, CIDRs,
 *                               ip:port endpoints, ranges), unknown members are ignored, null
 *                               counts as absent, and every size is bounded (the limits below).
 *                               An error names the place: "peers[3].node_key: not a node key".
 *   wr_netmap_apply()           a parsed response -> the WrNetmap state, reporting what changed
 *                               (WrNetmapChanges: peers added, removed, changed, online/offline
 *                               transitions, self, filter, DERP map, DNS).  A full response
 *                               replaces the state and is compared with the one it replaces, so
 *                               a reconnect reports only what changed while the client was away.
 *                               A delta whose patch names a peer the state does not hold is
 *                               refused and the state is left as it was: nothing half-applied.
 *
 * Pure: no I/O, no clock, no logging.  Not thread-safe; one WrNetmap per map stream owner.
 */

#pragma once

#include <glib.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "wr-addr.h"
#include "wr-crypto.h"
#include "wr-derp-map.h"

#define WR_NETMAP_ERROR (wr_netmap_error_quark())
GQuark
wr_netmap_error_quark(void);

typedef enum {
	WR_NETMAP_ERROR_INVALID,   /* not JSON, or a member of the wrong type or value */
	WR_NETMAP_ERROR_TOO_LARGE, /* over one of the limits below */
	WR_NETMAP_ERROR_UNKNOWN,   /* a delta names a peer the state does not hold */
	WR_NETMAP_ERROR_NO_STATE,  /* a delta before any full map */
} WrNetmapError;

/* limits: a map past them is refused whole */
#define WR_NETMAP_MAX_TEXT	    (32 * 1024 * 1024) /* bytes of one MapResponse */
#define WR_NETMAP_MAX_DEPTH	    32		       /* objects and arrays nested */
#define WR_NETMAP_MAX_MEMBERS	    4096  /* members of one object (json-glib is quadratic) */
#define WR_NETMAP_MAX_PEERS	    65536 /* peers, peers_changed, peers_removed, peers_patch */
#define WR_NETMAP_MAX_ADDRESSES	    4096  /* addresses, allowed_ips, primary_routes of a node */
#define WR_NETMAP_MAX_ENDPOINTS	    64
#define WR_NETMAP_MAX_TAGS	    64
#define WR_NETMAP_MAX_STRING	    1024 /* bytes of a name, tag, login, OS, ... */
#define WR_NETMAP_MAX_NAMESERVERS   16
#define WR_NETMAP_MAX_FILTER_RULES  65536
#define WR_NETMAP_MAX_USER_PROFILES 65536

typedef struct {
	gint64 id;
	char *name;	/* "" when absent, as every string here */
	char *dns_name; /* "laptop.tailnet.example" */
	gint64 user_id; /* 0 for a tagged node owned by no user */
	uint8_t node_key[WR_CRYPTO_KEY_LEN];
	gboolean has_disco_key; /* FALSE before the node first sent one */
	uint8_t disco_key[WR_CRYPTO_KEY_LEN];
	GArray *addresses;   /* WrCidr */
	GArray *allowed_ips; /* WrCidr: addresses and approved routes */
	GArray *endpoints;   /* WrEndpoint */
	gint derp_region;    /* home DERP region, 0 = none */
	gboolean online;
	gint64 last_seen;  /* unix seconds, 0 = never */
	gint64 key_expiry; /* unix seconds, 0 = none */
	gboolean exit_node_option;
	GArray *primary_routes; /* WrCidr */
	GStrv tags;		/* never NULL */
	char *os;		/* hostinfo.os */
	char *hostname;		/* hostinfo.hostname */
} WrNetmapNode;

WrNetmapNode *
wr_netmap_node_copy(const WrNetmapNode *node);
void
wr_netmap_node_free(WrNetmapNode *node);
/* every field equal */
gboolean
wr_netmap_node_equal(const WrNetmapNode *a, const WrNetmapNode *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetmapNode, wr_netmap_node_free)

/* what peers_patch may change; the has_* flags say which members were present */
typedef struct {
	gint64 id;
	gboolean has_endpoints, has_derp_region, has_online, has_last_seen, has_node_key,
		has_disco_key;
	GArray *endpoints; /* WrEndpoint, when has_endpoints */
	gint derp_region;
	gboolean online;
	gint64 last_seen;
	uint8_t node_key[WR_CRYPTO_KEY_LEN];
	uint8_t disco_key[WR_CRYPTO_KEY_LEN];
} WrNetmapPatch;

typedef struct {
	gint64 id;
	char *login_name;
	char *display_name;
} WrNetmapUser;

typedef struct {
	gboolean magic_dns;
	char *domain;
	GStrv nameservers; /* IP addresses as text, never NULL */
} WrNetmapDns;

/* one MapResponse as received; a member absent from the JSON is NULL / FALSE here */
typedef struct {
	gboolean full;		 /* it had "peers": the whole map */
	WrNetmapNode *self;	 /* "node" (required in a full map) */
	GPtrArray *peers;	 /* WrNetmapNode: "peers" (full) or "peers_changed" (delta) */
	GArray *peers_removed;	 /* gint64 ids */
	GArray *peers_patch;	 /* WrNetmapPatch */
	WrDerpMap *derp_map;	 /* parsed with wr-derp-map */
	JsonNode *packet_filter; /* an array of FilterRule objects, for engine/filter */
	WrNetmapDns *dns;
	GPtrArray *user_profiles; /* WrNetmapUser */
	gboolean has_collect_flows;
	gboolean collect_flows;
	gint64 control_time; /* 0 when absent */
	gboolean keep_alive;
} WrNetmapResponse;

WrNetmapResponse *
wr_netmap_response_parse(const char *json, gsize len, GError **error);
void
wr_netmap_response_free(WrNetmapResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetmapResponse, wr_netmap_response_free)

/* what one apply changed; every array is empty (never NULL) when nothing of its kind did */
typedef struct {
	GArray *added;	    /* gint64 ids of new peers */
	GPtrArray *removed; /* WrNetmapNode: the last state of peers that went away */
	GArray *changed;    /* gint64 ids of peers still there that differ in any way */
	GArray *online;	    /* gint64 ids that went from offline to online (not new ones) */
	GArray *offline;    /* gint64 ids that went from online to offline */
	gboolean self_changed;
	gboolean filter_changed;
	gboolean derp_map_changed;
	gboolean dns_changed;
} WrNetmapChanges;

void
wr_netmap_changes_free(WrNetmapChanges *changes);
/* no change at all */
gboolean
wr_netmap_changes_empty(const WrNetmapChanges *changes);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetmapChanges, wr_netmap_changes_free)

/* the state: what the responses of a stream applied so far add up to */
typedef struct _WrNetmap WrNetmap;

WrNetmap *
wr_netmap_new(void);
void
wr_netmap_free(WrNetmap *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNetmap, wr_netmap_free)

/*
 * Applies resp (a full map, or a delta: removals, then peers_changed, then patches, then the
 * filter, DERP map, DNS and profiles).  Returns what changed (a new WrNetmapChanges), or NULL with
 * WR_NETMAP_ERROR_NO_STATE (a delta before any full map) or _UNKNOWN (a patch or removal for a
 * peer not held); on failure nothing changed.
 */
WrNetmapChanges *
wr_netmap_apply(WrNetmap *self, const WrNetmapResponse *resp, GError **error);

/* TRUE once a full map was applied */
gboolean
wr_netmap_has_state(const WrNetmap *self);
/* self node, NULL before the first full map */
const WrNetmapNode *
wr_netmap_get_self(const WrNetmap *self);
guint
wr_netmap_get_n_peers(const WrNetmap *self);
const WrNetmapNode *
wr_netmap_lookup_peer(const WrNetmap *self, gint64 id);
/* the peers, sorted by id (a new array of borrowed pointers) */
GPtrArray *
wr_netmap_get_peers(const WrNetmap *self);
/* NULL until received */
const WrDerpMap *
wr_netmap_get_derp_map(const WrNetmap *self);
JsonNode *
wr_netmap_get_packet_filter(const WrNetmap *self);
const WrNetmapDns *
wr_netmap_get_dns(const WrNetmap *self);
const WrNetmapUser *
wr_netmap_lookup_user(const WrNetmap *self, gint64 id);
gboolean
wr_netmap_get_collect_flows(const WrNetmap *self);
/* the last control_time seen, 0 if none */
gint64
wr_netmap_get_control_time(const WrNetmap *self);

/*
 * The state as one full MapResponse (compact JSON text, peers and profiles sorted by id), which
 * wr_netmap_response_parse() and wr_netmap_apply() read back into an equal state: what warrend
 * saves as netmap.json and restores at start-up before control answers.  NULL before the first
 * full map.
 */
GBytes *
wr_netmap_to_json(const WrNetmap *self);
/* the same self, peers, filter, DERP map, DNS, profiles, collect_flows and control_time */
gboolean
wr_netmap_equal(const WrNetmap *a, const WrNetmap *b);
