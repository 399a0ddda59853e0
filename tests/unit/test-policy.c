/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The ACL policy (wr-policy): a table of policies and, for nodes of a small tailnet, the packet
 * filter (as its map JSON) and the visible peers each must get; a table of bad policies and the
 * exact message, with line:col, each is refused with; auto-approval and tag ownership.
 */

#define G_LOG_DOMAIN "WrPolicyTest"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-policy.h"

/* the tailnet every case compiles for */
enum {
	ALICE_LAPTOP,
	ALICE_PHONE,
	BOB_LAPTOP,
	SERVER, /* tag:server, registered by alice */
	ROUTER, /* tag:router, registered by bob, routes 192.168.1.0/24 */
	EXIT,	/* carol's, an exit node */
	N_NODES,
};

typedef struct {
	WrCidr addresses[2];
	WrCidr routes[2];
	WrPolicyNode nodes[N_NODES];
} Tailnet;

static const gchar *const server_tags[] = {"tag:server", NULL};
static const gchar *const router_tags[] = {"tag:router", NULL};

static void
cidr(WrCidr *out, const gchar *text)
{
	g_assert_true(wr_cidr_parse(out, text));
}

static void
tailnet_init(Tailnet *net, WrCidr addresses[N_NODES][2], WrCidr routes[N_NODES][2])
{
	static const struct {
		const gchar *user;
		const gchar *const *tags;
		guint n_routes;
		const gchar *routes[2];
		bool exit_node;
	} spec[N_NODES] = {
		{"alice@example.com", NULL, 0, {NULL}, false},
		{"Alice@Example.com", NULL, 0, {NULL}, false},
		{"bob@example.com", NULL, 0, {NULL}, false},
		{"alice@example.com", server_tags, 0, {NULL}, false},
		{"bob@example.com", router_tags, 1, {"192.168.1.0/24"}, false},
		{"carol@example.com", NULL, 2, {"0.0.0.0/0", "::/0"}, true},
	};

	memset(net, 0, sizeof(*net));
	for (guint i = 0; i < N_NODES; i++) {
		g_autofree gchar *v4 = g_strdup_printf("100.64.0.%u/32", i + 1);
		g_autofree gchar *v6 = g_strdup_printf("fd7a::%u/128", i + 1);
		WrPolicyNode *node = &net->nodes[i];

		cidr(&addresses[i][0], v4);
		cidr(&addresses[i][1], v6);
		for (guint r = 0; r < spec[i].n_routes; r++)
			cidr(&routes[i][r], spec[i].routes[r]);
		node->id = 100 + i;
		node->user = spec[i].user;
		node->tags = spec[i].tags;
		node->addresses = addresses[i];
		node->n_addresses = 2;
		node->routes = routes[i];
		node->n_routes = spec[i].n_routes;
		node->exit_node = spec[i].exit_node;
	}
}

#define ALLOW_ALL                                                                                  \
	"[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]}," \
	"{\"net\":\"::/0\",\"ports\":[0,65535]}],\"proto\":[\"tcp\",\"udp\",\"icmp\",\"ipv6-"      \
	"icmp\"]}]"
#define DEFAULT_PROTO "\"proto\":[\"tcp\",\"udp\",\"icmp\",\"ipv6-icmp\"]"

static const gchar policy_groups[] = "// eng may ssh and browse the servers\n"
				     "{\n"
				     "  \"groups\": {\"group:eng\": [\"alice@example.com\"]},\n"
				     "  \"tagOwners\": {\"tag:server\": [\"group:eng\"], "
				     "\"tag:router\": [\"bob@example.com\"]},\n"
				     "  \"acls\": [\n"
				     "    {\"action\": \"accept\", \"src\": [\"group:eng\"], "
				     "\"dst\": [\"tag:server:22,80-90\"]},\n"
				     "  ],\n"
				     "}\n";
static const gchar policy_self[] =
	"{\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:member\"],"
	"\"dst\":[\"autogroup:self:*\"]}]}";
static const gchar policy_routes[] =
	"{\"hosts\": {\"lan\": \"192.168.1.0/24\"}, /* bob reaches the LAN and carol's node */\n"
	" \"acls\":[{\"action\":\"accept\",\"src\":[\"bob@example.com\"],"
	"\"dst\":[\"lan:443\",\"100.64.0.6:*\"],\"proto\":\"tcp\"}]}";
static const gchar policy_star[] = "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],"
				   "\"dst\":[\"*:*\"]}]}";
static const gchar policy_icmp[] = "{\"acls\":[{\"action\":\"accept\",\"src\":[\"100.64.0.0/10\"],"
				   "\"dst\":[\"bob@example.com:*\"],\"proto\":\"icmp\"}]}";
static const gchar policy_v6[] =
	"{\"tagOwners\":{\"tag:server\":[]},\"acls\":[{\"action\":\"accept\","
	"\"src\":[\"tag:server\"],\"dst\":[\"[fd7a::1]:22\",\"fd7a::2:23\"]}]}";

static const gchar policy_internet[] =
	"{\"acls\":[{\"action\":\"accept\",\"src\":[\"alice@example.com\"],"
	"\"dst\":[\"autogroup:internet:*\"]}]}";

static void
test_compile(void)
{
	static const struct {
		const gchar *policy; /* NULL: no policy at all */
		guint node;
		const gchar *filter;
		const gchar *visible;
	} cases[] = {
		/* no policy, an empty one, one without acls: allow all */
		{NULL, ALICE_LAPTOP, ALLOW_ALL, "1,2,3,4,5"},
		{"", EXIT, ALLOW_ALL, "0,1,2,3,4"},
		{"// nothing yet\n", SERVER, ALLOW_ALL, "0,1,2,4,5"},
		{"{\"groups\":{}}", BOB_LAPTOP, ALLOW_ALL, "0,1,3,4,5"},
		/* empty acls: nothing */
		{"{\"acls\":[]}", ALICE_LAPTOP, "[]", ""},
		/* a group to a tag; the rule lives on the tagged server only */
		{policy_groups, SERVER,
		 "[{\"src\":[\"100.64.0.1/32\",\"100.64.0.2/32\",\"fd7a::1/128\",\"fd7a::2/128\"],"
		 "\"dst\":[{\"net\":\"100.64.0.4/32\",\"ports\":[22,22]},"
		 "{\"net\":\"100.64.0.4/32\",\"ports\":[80,90]},"
		 "{\"net\":\"fd7a::4/128\",\"ports\":[22,22]},"
		 "{\"net\":\"fd7a::4/128\",\"ports\":[80,90]}]," DEFAULT_PROTO "}]",
		 "0,1"},
		{policy_groups, ALICE_LAPTOP, "[]", "3"},
		{policy_groups, BOB_LAPTOP, "[]", ""},
		/* autogroup:self: each user's untagged nodes reach each other */
		{policy_self, ALICE_LAPTOP,
		 "[{\"src\":[\"100.64.0.1/32\",\"100.64.0.2/32\",\"fd7a::1/128\",\"fd7a::2/128\"],"
		 "\"dst\":[{\"net\":\"100.64.0.1/32\",\"ports\":[0,65535]},"
		 "{\"net\":\"fd7a::1/128\",\"ports\":[0,65535]}]," DEFAULT_PROTO "}]",
		 "1"},
		{policy_self, BOB_LAPTOP,
		 "[{\"src\":[\"100.64.0.3/32\",\"fd7a::3/128\"],"
		 "\"dst\":[{\"net\":\"100.64.0.3/32\",\"ports\":[0,65535]},"
		 "{\"net\":\"fd7a::3/128\",\"ports\":[0,65535]}]," DEFAULT_PROTO "}]",
		 ""},
		{policy_self, SERVER, "[]", ""},
		/* a host CIDR through the subnet router, not the exit node (whose default routes
		 * only "*" and autogroup:internet reach); the router's own user (bob) does not make
		 * the tagged router a source */
		{policy_routes, ROUTER,
		 "[{\"src\":[\"100.64.0.3/32\",\"fd7a::3/128\"],"
		 "\"dst\":[{\"net\":\"192.168.1.0/24\",\"ports\":[443,443]}],\"proto\":[\"tcp\"]}]",
		 "2"},
		{policy_routes, EXIT,
		 "[{\"src\":[\"100.64.0.3/32\",\"fd7a::3/128\"],"
		 "\"dst\":[{\"net\":\"100.64.0.6/32\",\"ports\":[0,65535]}],\"proto\":[\"tcp\"]}]",
		 "2"},
		{policy_routes, BOB_LAPTOP, "[]", "4,5"},
		{policy_routes, ALICE_PHONE, "[]", ""},
		/* "*" to "*:*": the node's addresses and its routes */
		{policy_star, EXIT,
		 "[{\"src\":[\"0.0.0.0/0\",\"::/0\"],"
		 "\"dst\":[{\"net\":\"100.64.0.6/32\",\"ports\":[0,65535]},"
		 "{\"net\":\"fd7a::6/128\",\"ports\":[0,65535]},"
		 "{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]},"
		 "{\"net\":\"::/0\",\"ports\":[0,65535]}]," DEFAULT_PROTO "}]",
		 "0,1,2,3,4"},
		/* a CIDR source, a user destination, one protocol */
		{policy_icmp, BOB_LAPTOP,
		 "[{\"src\":[\"100.64.0.0/10\"],"
		 "\"dst\":[{\"net\":\"100.64.0.3/32\",\"ports\":[0,65535]},"
		 "{\"net\":\"fd7a::3/128\",\"ports\":[0,65535]}],\"proto\":[\"icmp\"]}]",
		 "0,1,3,4,5"},
		{policy_icmp, ALICE_LAPTOP, "[]", "2"},
		/* IPv6 destinations, bracketed and bare */
		{policy_v6, ALICE_LAPTOP,
		 "[{\"src\":[\"100.64.0.4/32\",\"fd7a::4/128\"],"
		 "\"dst\":[{\"net\":\"fd7a::1/128\",\"ports\":[22,22]}]," DEFAULT_PROTO "}]",
		 "3"},
		{policy_v6, ALICE_PHONE,
		 "[{\"src\":[\"100.64.0.4/32\",\"fd7a::4/128\"],"
		 "\"dst\":[{\"net\":\"fd7a::2/128\",\"ports\":[23,23]}]," DEFAULT_PROTO "}]",
		 "3"},
		{policy_v6, SERVER, "[]", "0,1"},
		/* the internet through the exit node */
		{policy_internet, EXIT,
		 "[{\"src\":[\"100.64.0.1/32\",\"100.64.0.2/32\",\"fd7a::1/128\",\"fd7a::2/128\"],"
		 "\"dst\":[{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]},"
		 "{\"net\":\"::/0\",\"ports\":[0,65535]}]," DEFAULT_PROTO "}]",
		 "0,1"},
		{policy_internet, ALICE_LAPTOP, "[]", "5"},
		{policy_internet, ROUTER, "[]", ""},
	};
	WrCidr addresses[N_NODES][2];
	WrCidr routes[N_NODES][2];
	Tailnet net;

	tailnet_init(&net, addresses, routes);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrPolicy) policy = NULL;
		g_autoptr(WrFilter) filter = NULL;
		g_autoptr(GArray) peers = NULL;
		g_autoptr(GString) visible = g_string_new(NULL);
		g_autofree gchar *json = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": node %u", i, cases[i].node);
		if (cases[i].policy != NULL) {
			policy = wr_policy_new_from_data(cases[i].policy, strlen(cases[i].policy),
							 &error);
			g_assert_no_error(error);
			g_assert_nonnull(policy);
		}
		filter =
			wr_policy_compile_filter(policy, net.nodes, N_NODES, cases[i].node, &error);
		g_assert_no_error(error);
		g_assert_nonnull(filter);
		json = wr_filter_to_json(filter, NULL);
		g_assert_cmpstr(json, ==, cases[i].filter);
		/* the direct writer says what json-glib would */
		{
			g_autoptr(JsonNode) node = wr_filter_to_json_node(filter);
			g_autofree gchar *generated = json_to_string(node, FALSE);

			g_assert_cmpstr(json, ==, generated);
		}

		peers = wr_policy_visible_peers(policy, net.nodes, N_NODES, cases[i].node);
		for (guint p = 0; p < peers->len; p++)
			g_string_append_printf(visible, "%s%u", p > 0 ? "," : "",
					       g_array_index(peers, guint, p));
		g_assert_cmpstr(visible->str, ==, cases[i].visible);
	}
}

static void
test_refused(void)
{
	static const struct {
		const gchar *policy;
		const gchar *message;
	} cases[] = {
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"group:nope\"],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].src[0]: unknown group \"group:nope\""},
		{"{\n"
		 "  // hosts\n"
		 "  \"hosts\": {\"web\": \"10.0.0.1\"},\n"
		 "  \"acls\": [\n"
		 "    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"web:80\"]},\n"
		 "    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"db:5432\"]},\n"
		 "  ],\n"
		 "}\n",
		 "6:48: acls[1].dst[0]: unknown host \"db\""},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"10.0.0.0/33\"],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].src[0]: \"10.0.0.0/33\" is not a host, IP or CIDR"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:70000\"]}]}",
		 "1:48: acls[0].dst[0]: bad port \"70000\""},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:22,90-80\"]}]}",
		 "1:48: acls[0].dst[0]: port range \"90-80\" ends before it starts"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:022\"]}]}",
		 "1:48: acls[0].dst[0]: bad port \"022\""},
		{"{\"acls\":[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}",
		 "1:20: acls[0].action: action \"deny\" is not supported (only \"accept\")"},
		{"{\"acls\":[{\"action\":\"accept\",\"srcs\":[\"*\"],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].srcs: unknown field \"srcs\""},
		{"{\"groups\":{\"group:a\":\"alice@example.com\"}}",
		 "1:22: groups.\"group:a\": want an array, not a string"},
		{"{\"acls\":{}}", "1:9: acls: want an array, not an object"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"]}]}",
		 "1:10: acls[0]: missing \"dst\""},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"tag:x\"],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].src[0]: tag \"tag:x\" is not in tagOwners"},
		{"{\"groups\":{\"group:a\":[\"group:b\"]}}",
		 "1:23: groups.\"group:a\"[0]: \"group:b\" is not a user (groups hold user emails "
		 "only)"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:self\"],\"dst\":[\"*:*\"]}"
		 "]}",
		 "1:36: acls[0].src[0]: autogroup:self is only allowed in dst"},
		{"{\"autoApprovers\":{\"routes\":{\"10.0.0.0/8x\":[\"a@b\"]}}}",
		 "1:43: autoApprovers.routes.\"10.0.0.0/8x\": \"10.0.0.0/8x\" is not a CIDR"},
		{"{\n  /* open", "2:3: unterminated comment"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:22\"],\"proto\":"
		 "\"icmp\"}]}",
		 "1:48: acls[0].dst[0]: ports must be \"*\" for a protocol without ports"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"tag\"]}]}",
		 "1:48: acls[0].dst[0]: \"tag\" is not selector:ports"},
		{"[]", "1:1: policy: want an object, not an array"},
		{"{\"hosts\":{\"db\":\"10.0.0.300\"}}",
		 "1:16: hosts.db: \"10.0.0.300\" is not an IP or CIDR"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"],\"proto\":"
		 "\"foo\"}]}",
		 "1:63: acls[0].proto: unknown protocol \"foo\""},
		{"{\"tagOwners\":{\"tag:a\":[\"group:x\"]}}",
		 "1:24: tagOwners.\"tag:a\"[0]: unknown group \"group:x\""},
		{"{\"tagOwners\":{\"tag:a\":[\"*\"]}}",
		 "1:24: tagOwners.\"tag:a\"[0]: \"*\" cannot own anything"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"\"],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].src[0]: empty string"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[1],\"dst\":[\"*:*\"]}]}",
		 "1:36: acls[0].src[0]: want a string, not an integer"},
		{"{\"acls\":[{\"action\":\"accept\",\"src\":[\"autogroup:internet\"],\"dst\":[\"*:*"
		 "\"]}]}",
		 "1:36: acls[0].src[0]: autogroup:internet is only allowed in dst"},
		{"{\"autoApprovers\":{\"exitnode\":[]}}",
		 "1:30: autoApprovers.exitnode: unknown field \"exitnode\""},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrPolicy) policy = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].policy);
		policy = wr_policy_new_from_data(cases[i].policy, strlen(cases[i].policy), &error);
		g_assert_null(policy);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}
}

static void
test_auto_approvers(void)
{
	static const gchar text[] =
		"{\"groups\":{\"group:net\":[\"bob@example.com\"]},"
		"\"tagOwners\":{\"tag:router\":[\"group:net\"],\"tag:server\":[\"tag:router\"]},"
		"\"autoApprovers\":{\"routes\":{\"192.168.0.0/16\":[\"tag:router\"],"
		"\"10.0.0.0/8\":[\"group:net\"]},\"exitNode\":[\"carol@example.com\"]}}";
	static const struct {
		guint node;
		const gchar *route;
		bool approved;
	} routes[] = {
		{ROUTER, "192.168.1.0/24", true},
		{ROUTER, "192.168.0.0/16", true},
		{ROUTER, "192.0.0.0/8", false},
		{ROUTER, "10.1.0.0/16", false}, /* tagged: bob's group does not count */
		{BOB_LAPTOP, "10.1.0.0/16", true},
		{BOB_LAPTOP, "192.168.1.0/24", false},
		{ALICE_LAPTOP, "10.1.0.0/16", false},
		{EXIT, "0.0.0.0/0", false}, /* exit routes go through exitNode */
		{ROUTER, "fd00::/8", false},
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = wr_policy_new_from_data(text, strlen(text), &error);
	WrCidr addresses[N_NODES][2];
	WrCidr route_cidrs[N_NODES][2];
	Tailnet net;

	g_assert_no_error(error);
	g_assert_nonnull(policy);
	g_assert_true(wr_policy_allows_all(policy));
	tailnet_init(&net, addresses, route_cidrs);
	for (gsize i = 0; i < G_N_ELEMENTS(routes); i++) {
		WrCidr route;

		g_test_message("route case %" G_GSIZE_FORMAT, i);
		cidr(&route, routes[i].route);
		g_assert_cmpint(
			wr_policy_route_auto_approved(policy, &net.nodes[routes[i].node], &route),
			==, routes[i].approved);
		g_assert_false(
			wr_policy_route_auto_approved(NULL, &net.nodes[routes[i].node], &route));
	}
	g_assert_true(wr_policy_exit_node_auto_approved(policy, &net.nodes[EXIT]));
	g_assert_false(wr_policy_exit_node_auto_approved(policy, &net.nodes[BOB_LAPTOP]));
	g_assert_false(wr_policy_exit_node_auto_approved(NULL, &net.nodes[EXIT]));

	g_assert_true(wr_policy_may_apply_tag(policy, &net.nodes[BOB_LAPTOP], "tag:router"));
	g_assert_false(wr_policy_may_apply_tag(policy, &net.nodes[ALICE_LAPTOP], "tag:router"));
	g_assert_false(wr_policy_may_apply_tag(policy, &net.nodes[ROUTER], "tag:router"));
	g_assert_true(wr_policy_may_apply_tag(policy, &net.nodes[ROUTER], "tag:server"));
	g_assert_false(wr_policy_may_apply_tag(policy, &net.nodes[BOB_LAPTOP], "tag:server"));
	g_assert_false(wr_policy_may_apply_tag(policy, &net.nodes[BOB_LAPTOP], "tag:nope"));
}

static void
test_limits(void)
{
	g_autoptr(GString) text = g_string_new("{\"acls\":[");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = NULL;

	for (guint i = 0; i <= WR_POLICY_MAX_ACLS; i++)
		g_string_append_printf(text,
				       "%s{\"action\":\"accept\",\"src\":[\"*\"],"
				       "\"dst\":[\"*:*\"]}",
				       i > 0 ? "," : "");
	g_string_append(text, "]}");
	policy = wr_policy_new_from_data(text->str, text->len, &error);
	g_assert_null(policy);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_cmpstr(error->message, ==, "1:9: acls: 4097 entries, more than the 4096 allowed");
}

static void
test_empty(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) none = wr_policy_new_from_data(NULL, 0, &error);
	g_autoptr(WrPolicy) deny = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(none);
	g_assert_true(wr_policy_allows_all(none));
	g_assert_true(wr_policy_allows_all(NULL));
	deny = wr_policy_new_from_data("{\"acls\":[]}", 11, &error);
	g_assert_no_error(error);
	g_assert_false(wr_policy_allows_all(deny));
}

/* whether text (an IPv4 CIDR) covers 100.64.0.<host> */
static gboolean
covers(const gchar *text, guint host)
{
	WrCidr net, addr;
	g_autofree gchar *a = g_strdup_printf("100.64.0.%u", host);
	guint32 n, h, mask;

	g_assert_true(wr_cidr_parse(&net, text));
	g_assert_true(wr_cidr_parse(&addr, a));
	if (net.family != AF_INET)
		return FALSE;
	memcpy(&n, net.addr, 4);
	memcpy(&h, addr.addr, 4);
	mask = net.cidr == 0 ? 0 : g_htonl(~0u << (32 - net.cidr));
	return (n & mask) == (h & mask);
}

/* sources are merged into the fewest prefixes that cover exactly the same addresses */
static void
test_aggregate(void)
{
	static const struct {
		const gchar *src;
		const gchar *want;
	} fixed[] = {
		{"\"100.64.0.1\",\"100.64.0.0\"", "\"100.64.0.0/31\""},
		{"\"100.64.0.1\",\"100.64.0.2\"", "\"100.64.0.1/32\",\"100.64.0.2/32\""},
		{"\"100.64.0.4/31\",\"100.64.0.6/31\",\"100.64.0.0/30\"", "\"100.64.0.0/29\""},
		{"\"100.64.0.0/24\",\"100.64.0.7\",\"fd7a::1\",\"fd7a::/127\"",
		 "\"100.64.0.0/24\",\"fd7a::/127\""},
		{"\"fd7a::3\",\"100.64.0.255\",\"fd7a::2\"", "\"100.64.0.255/32\",\"fd7a::2/127\""},
		{"\"*\",\"100.64.0.1\"", "\"0.0.0.0/0\",\"::/0\""},
	};
	WrCidr addresses[N_NODES][2];
	WrCidr routes[N_NODES][2];
	Tailnet net;
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);

	tailnet_init(&net, addresses, routes);
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++) {
		g_autofree gchar *text = g_strdup_printf(
			"{\"acls\":[{\"action\":\"accept\",\"src\":[%s],\"dst\":[\"*:22\"]}]}",
			fixed[i].src);
		g_autoptr(GError) error = NULL;
		g_autoptr(WrPolicy) policy = wr_policy_new_from_data(text, strlen(text), &error);
		g_autoptr(WrFilter) filter = NULL;
		g_autofree gchar *json = NULL;
		g_autofree gchar *want = NULL;

		g_assert_no_error(error);
		filter = wr_policy_compile_filter(policy, net.nodes, N_NODES, ALICE_LAPTOP, &error);
		g_assert_no_error(error);
		json = wr_filter_to_json(filter, NULL);
		want = g_strdup_printf("[{\"src\":[%s],", fixed[i].want);
		g_assert_true(g_str_has_prefix(json, want));
	}
	/* random sets of addresses and prefixes in 100.64.0.0/24: exactly the same hosts are
	 * covered, and the result cannot be shortened (no prefix inside or next to another) */
	for (guint round = 0; round < 200; round++) {
		g_autoptr(GString) text =
			g_string_new("{\"acls\":[{\"action\":\"accept\",\"src\":[");
		gboolean in[256] = {FALSE};
		guint n = (guint) g_rand_int_range(rand, 1, 40);
		g_autoptr(GError) error = NULL;
		g_autoptr(WrPolicy) policy = NULL;
		g_autoptr(WrFilter) filter = NULL;
		const WrFilterRule *rule;

		for (guint k = 0; k < n; k++) {
			guint bits = (guint) g_rand_int_range(rand, 27, 33);
			guint size = 1u << (32 - bits);
			guint base = (guint) g_rand_int_range(rand, 0, 256) & ~(size - 1);

			g_string_append_printf(text, "%s\"100.64.0.%u/%u\"", k > 0 ? "," : "", base,
					       bits);
			for (guint h = base; h < base + size; h++)
				in[h] = TRUE;
		}
		g_string_append(text, "],\"dst\":[\"*:22\"]}]}");
		policy = wr_policy_new_from_data(text->str, text->len, &error);
		g_assert_no_error(error);
		filter = wr_policy_compile_filter(policy, net.nodes, N_NODES, ALICE_LAPTOP, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(filter->n_rules, ==, 1);
		rule = &filter->rules[0];
		for (guint h = 0; h < 256; h++) {
			gboolean covered = FALSE;

			for (guint s = 0; s < rule->n_src; s++)
				covered = covered || covers(rule->src[s], h);
			g_assert_cmpint(covered, ==, in[h]);
		}
		for (guint s = 1; s < rule->n_src; s++) {
			WrCidr a, b, parent;

			g_assert_true(wr_cidr_parse(&a, rule->src[s - 1]));
			g_assert_true(wr_cidr_parse(&b, rule->src[s]));
			g_assert_cmpint(memcmp(a.addr, b.addr, 4), <, 0);
			/* disjoint: b starts after a ends */
			g_assert_false(covers(rule->src[s - 1], b.addr[3]));
			/* not two halves of one prefix */
			parent = a;
			parent.cidr--;
			wr_cidr_mask(&parent);
			if (a.cidr == b.cidr && memcmp(parent.addr, a.addr, 4) == 0) {
				gchar ptext[WR_CIDR_STRLEN];

				wr_cidr_format(&parent, ptext);
				g_assert_false(covers(ptext, b.addr[3]));
			}
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/policy/compile", test_compile);
	g_test_add_func("/warren/policy/refused", test_refused);
	g_test_add_func("/warren/policy/auto-approvers", test_auto_approvers);
	g_test_add_func("/warren/policy/limits", test_limits);
	g_test_add_func("/warren/policy/empty", test_empty);
	g_test_add_func("/warren/policy/aggregate", test_aggregate);

	return g_test_run();
}
