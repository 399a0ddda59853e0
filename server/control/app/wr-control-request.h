/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The bodies of register and map calls (control.md "Register", "Map"), read and checked in
 * full before the server acts on any of them: a refused request changes nothing.  Pure, so
 * that the unit tests and fuzz-control-request reach every branch.  Refusals are
 * WR_CONTROL_SEAL_ERROR (MISSING_FIELD / BAD_FIELD, HTTP 400) naming the field.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "wr-crypto.h"

/* endpoints, advertised routes and request_tags a node may send, at most */
#define WR_CONTROL_MAX_ENDPOINTS    64
#define WR_CONTROL_MAX_ROUTES	    256
#define WR_CONTROL_MAX_REQUEST_TAGS 64
/* a tag is "tag:" and a name, at most this long in all */
#define WR_CONTROL_MAX_TAG_LEN 128
/* "expiry" at most (the year 2100) */
#define WR_CONTROL_MAX_EXPIRY 4102444800

/* what the server reads of hostinfo; strings borrowed from the JSON */
typedef struct {
	const char *hostname; /* NULL when absent */
	GStrv routes;	      /* routable_ips as normalised CIDRs, deduplicated; never NULL */
	gboolean exit_node;   /* routes offer 0.0.0.0/0 or ::/0 */
	GStrv request_tags;   /* "tag:…", deduplicated; never NULL */
} WrHostinfo;

typedef struct {
	uint8_t node_key[WR_CRYPTO_KEY_LEN];
	uint8_t old_node_key[WR_CRYPTO_KEY_LEN];
	gboolean has_old;     /* old_node_key given, not "" */
	const char *auth_key; /* "" when absent */
	const char *followup; /* "" when absent */
	gboolean logout;
	gint64 expiry;	      /* 0 = the server's default */
	JsonObject *hostinfo; /* borrowed; NULL when absent */
	WrHostinfo hi;
} WrRegisterRequest;

typedef struct {
	uint8_t node_key[WR_CRYPTO_KEY_LEN];
	uint8_t disco_key[WR_CRYPTO_KEY_LEN];
	gboolean has_disco;
	GStrv endpoints;      /* "ip:port" normalised, deduplicated; NULL when absent */
	JsonObject *hostinfo; /* borrowed; NULL when absent (then hi is empty) */
	WrHostinfo hi;
	gboolean stream;
	gboolean omit_peers;
	gint64 derp_region; /* -1 when absent */
} WrMapRequest;

/* flow records in one flows request at most (docs/flow-logs.md) */
#define WR_CONTROL_MAX_FLOWS 1000

/* one flow record of a flows request, as GetFlows has it; strings borrowed from the JSON */
typedef struct {
	gint64 start_us;
	gint64 end_us;
	const char *proto;
	const char *local; /* "ip:port", "[ipv6]:port" */
	const char *remote;
	gboolean outbound;
	gint64 peer_id;
	const char *peer; /* "" when absent */
	const char *path; /* "direct", "derp" or "" */
	const char *end_reason;
	gint64 tx_packets, tx_bytes, rx_packets, rx_bytes;
} WrFlowIn;

typedef struct {
	uint8_t node_key[WR_CRYPTO_KEY_LEN];
	GArray *flows; /* WrFlowIn; never NULL after a successful parse */
} WrFlowsRequest;

/* hostinfo may be NULL (all empty); out is cleared first */
gboolean
wr_control_hostinfo_parse(JsonObject *hostinfo, WrHostinfo *out, GError **error);
void
wr_control_hostinfo_clear(WrHostinfo *hi);

gboolean
wr_register_request_parse(JsonObject *req, WrRegisterRequest *out, GError **error);
void
wr_register_request_clear(WrRegisterRequest *r);

gboolean
wr_map_request_parse(JsonObject *req, WrMapRequest *out, GError **error);
void
wr_map_request_clear(WrMapRequest *r);

/*
 * POST /machine/<mkey>/flows: {"version":1,"node_key":"nodekey:…","flows":[{record}…]}, at
 * most WR_CONTROL_MAX_FLOWS records, each with every field GetFlows gives (peer and path may
 * be "") and checked: times 0 <= start <= end, counts >= 0, addresses ip:port, protocol,
 * path and end reason from their lists.  A refusal names the record and field.
 */
gboolean
wr_flows_request_parse(JsonObject *req, WrFlowsRequest *out, GError **error);
void
wr_flows_request_clear(WrFlowsRequest *r);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WrRegisterRequest, wr_register_request_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WrFlowsRequest, wr_flows_request_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WrMapRequest, wr_map_request_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WrHostinfo, wr_control_hostinfo_clear)
