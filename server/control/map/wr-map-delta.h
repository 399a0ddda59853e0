/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Map deltas (docs/protocols/control.md, "Map"): after the first full MapResponse, each frame
 * of a map stream carries only what changed since the last frame.  A WrMapView is what one stream
 * last sent: its peers by id and the packet filter, DERP map and DNS configuration as JSON text.
 * wr_map_delta_compute() turns two views into the delta object:
 *
 *   peers_changed  whole nodes: peers that appeared, and peers with a difference outside the
 *                  patchable fields
 *   peers_removed  ids of peers that vanished, ascending
 *   peers_patch    {id, <only the fields that differ>} for peers whose differences are all among
 *                  endpoints, derp_region, online, last_seen, node_key, disco_key
 *   packet_filter, derp_map, dns   the parsed JSON, only when its text changed
 *
 * Every list is sorted by id, so the output is deterministic.  The work is proportional to the
 * sizes of the two views (one hash lookup per peer).  wr_map_view_apply() is the client's side:
 * applying compute(old, new) to a copy of old gives a view equal to new.
 *
 * Pure: no I/O, no logging.
 */

#pragma once

#include <glib.h>

#include <json-glib/json-glib.h>

#define WR_MAP_DELTA_ERROR (wr_map_delta_error_quark())
GQuark
wr_map_delta_error_quark(void);

typedef enum {
	WR_MAP_DELTA_ERROR_INVALID, /* a node or delta of the wrong JSON shape */
	WR_MAP_DELTA_ERROR_UNKNOWN, /* a patch for a peer the view does not hold */
} WrMapDeltaError;

/*
 * What a peer sees of a node (control.md's Node).  Strings and string arrays are owned; NULL is
 * equivalent to "" (strings), an empty array (arrays) and {} (hostinfo) for equality and JSON.
 * hostinfo is an owned JsonNode (an object) or NULL.
 */
typedef struct {
	gint64 id;
	char *name;
	char *dns_name;
	gint64 user_id;	 /* 0 for a tagged node owned by no user */
	char *node_key;	 /* "nodekey:<hex>" */
	char *disco_key; /* "discokey:<hex>" */
	GStrv addresses;
	GStrv allowed_ips;
	GStrv endpoints; /* "ip:port" */
	gint derp_region;
	JsonNode *hostinfo;
	gboolean online;
	gint64 last_seen;
	gint64 key_expiry;
	gboolean exit_node_option;
	GStrv primary_routes;
	GStrv tags;
} WrMapNode;

/* a node with this id and every other field empty ("" strings, empty arrays, zeros) */
WrMapNode *
wr_map_node_new(gint64 id);
WrMapNode *
wr_map_node_copy(const WrMapNode *node);
void
wr_map_node_free(WrMapNode *node);
gboolean
wr_map_node_equal(const WrMapNode *a, const WrMapNode *b);
/* control.md's Node object; every member present */
JsonNode *
wr_map_node_to_json(const WrMapNode *node);
/* the inverse; "id" is required, missing members stay empty, mistyped ones are refused */
WrMapNode *
wr_map_node_from_json(JsonNode *json, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrMapNode, wr_map_node_free)

typedef struct {
	GHashTable *peers;   /* gint64 id (pointing into the node) -> owned WrMapNode */
	char *packet_filter; /* JSON text, or NULL before any was sent */
	char *derp_map;
	char *dns;
} WrMapView;

WrMapView *
wr_map_view_new(void);
WrMapView *
wr_map_view_copy(const WrMapView *view);
void
wr_map_view_free(WrMapView *view);
/* takes node, replacing any peer with its id */
void
wr_map_view_put(WrMapView *view, WrMapNode *node);
gboolean
wr_map_view_remove(WrMapView *view, gint64 id);
const WrMapNode *
wr_map_view_lookup(const WrMapView *view, gint64 id);
/* the same peers and the same filter, DERP map and DNS compared as parsed JSON */
gboolean
wr_map_view_equal(const WrMapView *a, const WrMapView *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrMapView, wr_map_view_free)

/*
 * The delta from old to new: TRUE and a new JSON object in *out, or FALSE and *out = NULL when
 * nothing changed.  A filter, DERP map or DNS text that becomes NULL is not sent (the protocol
 * has no way to withdraw one); text that is not valid JSON is sent as a JSON string.
 */
gboolean
wr_map_delta_compute(const WrMapView *old, const WrMapView *new, JsonNode **out);

/*
 * Applies a delta object (as computed above, or received) to view: removals, then changed
 * nodes, then patches, then packet_filter, derp_map and dns; "keep_alive" and unknown members
 * are ignored.  On error the view may be partly updated (the client drops the stream).
 */
gboolean
wr_map_view_apply(WrMapView *view, JsonNode *delta, GError **error);
