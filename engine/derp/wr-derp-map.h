/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DERP map (docs/protocols/derp-disco-stun.md §6): the regions, their nodes and the home
 * parameters, as the control server sends them and as netcheck, the DERP client and warrend
 * read them.  Parsed from JSON into plain structs, validated field by field, and written back
 * to the same JSON (a parse of the output gives an equal map).
 *
 * Parsing follows Go's encoding/json, which Tailscale's own maps are written by and read with:
 * member names match exactly first and case-insensitively otherwise, unknown members are
 * ignored, `null` leaves a field at its zero value, numbers for integer fields must be JSON
 * integers.  Everything else that is wrong is refused with G_IO_ERROR_INVALID_DATA and a
 * message that names the place, e.g. `Regions."900".Nodes[0].DERPPort: 70000 is not a port`.
 * Every size is bounded by the limits below.
 *
 * The map is immutable once parsed: share it by copy (wr_derp_map_copy) or by a borrowed
 * pointer that outlives its users.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"

/* limits on what a map may hold */
#define WR_DERP_MAP_MAX_JSON_SIZE (1024 * 1024)
/* objects and arrays nested deeper than this are refused before json-glib sees them */
#define WR_DERP_MAP_MAX_DEPTH		 16
#define WR_DERP_MAP_MAX_REGIONS		 512
#define WR_DERP_MAP_MAX_NODES_PER_REGION 32
/* in bytes, for every string of the map; a DNS name is at most 253 */
#define WR_DERP_MAP_MAX_STRING 255
/* region IDs are positive and must survive a trip through a JSON double (§6) */
#define WR_DERP_REGION_ID_MAX ((UINT64_C(1) << 53) - 1)
/* 900-999 are reserved for self-hosted regions */
#define WR_DERP_REGION_ID_SELF_HOSTED_MIN 900
#define WR_DERP_REGION_ID_SELF_HOSTED_MAX 999

/* the defaults a zero port stands for, and the value that turns STUN off */
#define WR_DERP_DEFAULT_STUN_PORT  3478
#define WR_DERP_DEFAULT_DERP_PORT  443
#define WR_DERP_STUN_PORT_DISABLED (-1)
/* IPv4/IPv6 fields: "" means "resolve HostName", this (or any non-IP) turns the family off */
#define WR_DERP_ADDR_NONE "none"
/* CertName prefix that pins the leaf certificate by its SHA-256 */
#define WR_DERP_CERT_SHA256_RAW "sha256-raw:"

typedef struct {
	gchar *name;
	guint64 region_id;
	gchar *host_name;
	gchar *cert_name; /* "" when absent */
	/* as given: "" (use DNS), an IP literal, or anything else (family disabled) */
	gchar *ipv4;
	gchar *ipv6;
	/* as given: 0 (3478), a port, or negative (no STUN) */
	gint stun_port;
	bool stun_only;
	/* as given: 0 (443) or a port */
	gint derp_port;
	bool can_port80;
	bool insecure_for_tests;
	gchar *stun_test_ip; /* "" when absent, else an IP literal */
} WrDerpNode;

typedef struct {
	guint64 region_id;
	gchar *region_code;
	gchar *region_name;
	double latitude;
	double longitude;
	bool avoid;
	bool no_measure_no_home;
	WrDerpNode *nodes; /* in priority order */
	guint n_nodes;
} WrDerpRegion;

typedef struct {
	guint64 region_id;
	double score;
} WrDerpRegionScore;

typedef struct {
	/* sorted by region_id, unique */
	WrDerpRegion *regions;
	guint n_regions;
	/* HomeParams: absent or null leaves the previous map's in force (has_home_params false);
	 * an empty RegionScore resets every score to 1.0 */
	bool has_home_params;
	WrDerpRegionScore *scores; /* sorted by region_id, unique; as given, even when <= 0 */
	guint n_scores;
	bool omit_default_regions;
} WrDerpMap;

/* how a node is reached over one family */
typedef enum {
	WR_DERP_ADDR_DISABLED, /* "none", a non-IP string, or a literal of the other family */
	WR_DERP_ADDR_DNS,      /* "": resolve host_name */
	WR_DERP_ADDR_LITERAL,  /* an IP literal of the family */
} WrDerpAddrKind;

/* parses and validates a whole map; data need not be NUL-terminated */
WrDerpMap *
wr_derp_map_new_from_data(const gchar *data, gsize len, GError **error);
/* the same from a file of at most WR_DERP_MAP_MAX_JSON_SIZE bytes; errors are prefixed with the
 * path */
WrDerpMap *
wr_derp_map_new_from_file(const gchar *path, GError **error);
/* the JSON form, compact or indented; parsing it gives an equal map */
gchar *
wr_derp_map_to_json(const WrDerpMap *map, bool pretty, gsize *out_len);
WrDerpMap *
wr_derp_map_copy(const WrDerpMap *map);
void
wr_derp_map_free(WrDerpMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDerpMap, wr_derp_map_free)
/* field-by-field equality (doubles compared exactly) */
bool
wr_derp_map_equal(const WrDerpMap *a, const WrDerpMap *b);

/* NULL when the map has no such region */
const WrDerpRegion *
wr_derp_map_get_region(const WrDerpMap *map, guint64 region_id);
/* NULL when no region has a node of that name */
const WrDerpNode *
wr_derp_map_find_node(const WrDerpMap *map, const gchar *name);
/* HomeParams.RegionScore[region_id] when it is > 0, else 1.0 */
double
wr_derp_map_region_score(const WrDerpMap *map, guint64 region_id);

/* 3478 for 0, the port as given, or 0 when the node has STUN turned off */
guint16
wr_derp_node_stun_port(const WrDerpNode *node);
/* 443 for 0, else the port */
guint16
wr_derp_node_derp_port(const WrDerpNode *node);
/* how the node is reached over family (AF_INET or AF_INET6); for WR_DERP_ADDR_LITERAL the
 * address is written to out_addr with port 0 (out_addr may be NULL) */
WrDerpAddrKind
wr_derp_node_addr(const WrDerpNode *node, int family, WrEndpoint *out_addr);
/* where STUN goes over family: STUNTestIP when set (if it is of that family), else the IPv4 or
 * IPv6 literal, with the STUN port.  WR_DERP_ADDR_DNS means host_name must be resolved first
 * (the port is still written to out_target); WR_DERP_ADDR_DISABLED covers STUN turned off too.
 * out_target may be NULL. */
WrDerpAddrKind
wr_derp_node_stun_target(const WrDerpNode *node, int family, WrEndpoint *out_target);
/* whether a STUN probe over family can go to this node at all (directly or after DNS) */
bool
wr_derp_node_can_stun(const WrDerpNode *node, int family);
