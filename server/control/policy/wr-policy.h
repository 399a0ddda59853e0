/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's ACL policy (docs/protocols/control.md "ACL policy", docs/control-policy.md):
 * the HuJSON document in the format Tailscale and Headscale users write, parsed and checked in
 * full, then compiled per node into its packet filter and the set of peers it sees.
 *
 * Pure: no I/O, no clocks, no logging.  Every refusal is G_IO_ERROR_INVALID_DATA with a message
 * `line:col: path: what`, e.g. `7:14: acls[2].dst[0]: unknown host "db"`, where line:col is the
 * offending value in the original text.  A NULL policy (none set), an empty text and a policy
 * without an "acls" member allow everything; `"acls": []` allows nothing.
 *
 * Users are matched by login name (the email), ASCII case-insensitively.  A tagged node belongs
 * to its tags, not to its user: user, group, autogroup:member and autogroup:self selectors match
 * untagged nodes only.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "wr-addr.h"

/* limits on what a policy may hold */
#define WR_POLICY_MAX_SIZE	  (1024 * 1024)
#define WR_POLICY_MAX_STRING	  256 /* bytes, for every name, selector and member */
#define WR_POLICY_MAX_GROUPS	  1024
#define WR_POLICY_MAX_HOSTS	  4096
#define WR_POLICY_MAX_TAGS	  1024
#define WR_POLICY_MAX_ACLS	  4096
#define WR_POLICY_MAX_LIST	  1024 /* members of a group, owners, src or dst of a rule */
#define WR_POLICY_MAX_AUTO_ROUTES 1024
#define WR_POLICY_MAX_PORT_RANGES 64 /* in one "selector:ports" */
/* the compiler: nodes it accepts, and src plus dst entries of one node's filter */
#define WR_POLICY_MAX_NODES	     65536
#define WR_POLICY_MAX_FILTER_ENTRIES (1024 * 1024)

/* the IP protocols a rule may name (bit flags) */
typedef enum {
	WR_PROTO_TCP = 1 << 0,
	WR_PROTO_UDP = 1 << 1,
	WR_PROTO_ICMP = 1 << 2,
	WR_PROTO_ICMPV6 = 1 << 3,
	WR_PROTO_SCTP = 1 << 4,
	WR_PROTO_IGMP = 1 << 5,
	WR_PROTO_ESP = 1 << 6,
	WR_PROTO_AH = 1 << 7,
	WR_PROTO_GRE = 1 << 8,
} WrProto;
/* a rule without "proto", and the allow-all filter */
#define WR_PROTO_DEFAULT (WR_PROTO_TCP | WR_PROTO_UDP | WR_PROTO_ICMP | WR_PROTO_ICMPV6)

typedef struct _WrPolicy WrPolicy;

/* a node as the compiler sees it; everything is borrowed */
typedef struct {
	guint64 id;
	const gchar *user;	  /* login name (email); NULL or "" for none */
	const gchar *const *tags; /* NULL-terminated "tag:…", or NULL */
	const WrCidr *addresses;  /* its own: IPv4 /32 and IPv6 /128 */
	guint n_addresses;
	const WrCidr *routes; /* approved subnet routes; 0.0.0.0/0 and ::/0 when an exit node */
	guint n_routes;
	bool exit_node;
} WrPolicyNode;

typedef struct {
	WrCidr net;
	guint16 first;
	guint16 last;
} WrFilterDst;

/* control.md FilterRule, from the receiving node's point of view */
typedef struct {
	gchar **src; /* CIDR texts, deduplicated, NULL-terminated */
	guint n_src;
	WrFilterDst *dst;
	guint n_dst;
	guint protos; /* WrProto flags */
} WrFilterRule;

typedef struct {
	WrFilterRule *rules;
	guint n_rules;
} WrFilter;

/* parses and checks a whole policy; data need not be NUL-terminated */
WrPolicy *
wr_policy_new_from_data(const gchar *data, gsize len, GError **error);
void
wr_policy_free(WrPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPolicy, wr_policy_free)
/* whether the policy allows everything (no "acls" member) */
bool
wr_policy_allows_all(const WrPolicy *policy);

/*
 * A tailnet compiled against a policy: each rule's sources, computed once in
 * O(nodes × rules) and shared by every node's filter, so that compiling all N filters costs
 * O(N × rules) plus their size rather than O(N² × rules).  Sources are aggregated into the
 * fewest prefixes that cover exactly the same addresses (neighbouring node addresses merge),
 * IPv4 first, ascending.  Borrows policy and nodes, which must outlive it unchanged.
 */
typedef struct _WrPolicyTailnet WrPolicyTailnet;

WrPolicyTailnet *
wr_policy_tailnet_new(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes);
void
wr_policy_tailnet_free(WrPolicyTailnet *tailnet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPolicyTailnet, wr_policy_tailnet_free)
/* the packet filter of the node at index self.  Fails (G_IO_ERROR_NO_SPACE) only past
 * WR_POLICY_MAX_NODES or WR_POLICY_MAX_FILTER_ENTRIES. */
WrFilter *
wr_policy_tailnet_filter(const WrPolicyTailnet *tailnet, guint self, GError **error);

/* node's packet filter (policy may be NULL: allow all); nodes is the whole tailnet, self an
 * index into it: wr_policy_tailnet_new() and _filter() for one node */
WrFilter *
wr_policy_compile_filter(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes,
			 guint self, GError **error);
/* the indexes of the nodes self may reach or be reached by, ascending, self excluded */
GArray *
wr_policy_visible_peers(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes,
			guint self);

/* whether autoApprovers.routes approves route (not an exit route) for node; no policy: false */
bool
wr_policy_route_auto_approved(const WrPolicy *policy, const WrPolicyNode *node,
			      const WrCidr *route);
/* whether autoApprovers.exitNode approves node as an exit node; no policy: false */
bool
wr_policy_exit_node_auto_approved(const WrPolicy *policy, const WrPolicyNode *node);
/* whether tagOwners lets node (a user's node, or a tagged node) apply tag */
bool
wr_policy_may_apply_tag(const WrPolicy *policy, const WrPolicyNode *node, const gchar *tag);

void
wr_filter_free(WrFilter *filter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrFilter, wr_filter_free)
/* the name a protocol flag has in FilterRule.proto */
const gchar *
wr_proto_name(WrProto proto);
/* the "packet_filter" array of a MapResponse */
JsonNode *
wr_filter_to_json_node(const WrFilter *filter);
gchar *
wr_filter_to_json(const WrFilter *filter, gsize *out_len);
