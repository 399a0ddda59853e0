/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What a topology change costs warren-control under a policy, compiled the two ways in one
 * run on the same tailnet (docs/control-server.md "Policy"):
 *
 *  - filters: every node's packet filter (rendered as the map's JSON), once by compiling each
 *    node on its own against the whole tailnet (wr_policy_compile_filter: O(N × rules) per
 *    node, as warren-control did before), once with the rules' sources compiled once and
 *    shared (wr_policy_tailnet_new + _filter: O(N × rules) for all);
 *  - visible sets after one node changes: recomputed for every node (O(N² × rules)) against
 *    the changed node's own set and the symmetric update of wr-visible (O(N × rules)).
 *
 * Both ways must agree (every filter text and every visible set is compared) or the bench
 * fails.  The tailnet: WARREN_BENCH_NODES nodes (default 1000) of 100 users in 10 groups, a
 * fifth of them tagged, under a 50-rule policy of groups, tags, CIDRs and autogroup:self.
 * Last line: "ratio per-node/shared filters: X incremental visible: Y" (how many times faster
 * the shared compile and the incremental update are).
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr-policy.h"
#include "wr-visible.h"

#define N_USERS	 100
#define N_GROUPS 10
#define N_TAGS	 10
#define N_RULES	 50

static const gchar *tag_names[N_TAGS][2];

static gchar *
policy_text(void)
{
	GString *t = g_string_new("{\"groups\":{");

	for (guint g = 0; g < N_GROUPS; g++) {
		g_string_append_printf(t, "%s\"group:g%u\":[", g > 0 ? "," : "", g);
		for (guint u = g; u < N_USERS; u += N_GROUPS)
			g_string_append_printf(t, "%s\"user%u@example.com\"", u > g ? "," : "", u);
		g_string_append(t, "]");
	}
	g_string_append(t, "},\"tagOwners\":{");
	for (guint k = 0; k < N_TAGS; k++)
		g_string_append_printf(t, "%s\"tag:t%u\":[\"group:g%u\"]", k > 0 ? "," : "", k, k);
	g_string_append(t, "},\"acls\":[");
	for (guint r = 0; r < N_RULES; r++) {
		const char *sep = r > 0 ? "," : "";

		switch (r % 5) {
		case 0:
			g_string_append_printf(t,
					       "%s{\"action\":\"accept\",\"src\":[\"group:g%u\"],"
					       "\"dst\":[\"tag:t%u:22,443\"]}",
					       sep, r % N_GROUPS, (r / 5) % N_TAGS);
			break;
		case 1:
			g_string_append_printf(t,
					       "%s{\"action\":\"accept\",\"src\":[\"group:g%u\"],"
					       "\"dst\":[\"group:g%u:8000-8100\"]}",
					       sep, r % N_GROUPS, (r + 3) % N_GROUPS);
			break;
		case 2:
			g_string_append_printf(t,
					       "%s{\"action\":\"accept\",\"src\":[\"tag:t%u\"],"
					       "\"dst\":[\"tag:t%u:5432\"]}",
					       sep, r % N_TAGS, (r + 1) % N_TAGS);
			break;
		case 3:
			g_string_append_printf(
				t,
				"%s{\"action\":\"accept\",\"src\":[\"100.64.%u.0/24\"],"
				"\"dst\":[\"group:g%u:80\"]}",
				sep, r % 4, r % N_GROUPS);
			break;
		default:
			g_string_append_printf(
				t,
				"%s{\"action\":\"accept\",\"src\":[\"autogroup:member\"],"
				"\"dst\":[\"autogroup:self:*\"]}",
				sep);
			break;
		}
	}
	g_string_append(t, "]}");
	return g_string_free(t, FALSE);
}

typedef struct {
	WrPolicyNode *nodes;
	WrCidr (*addresses)[2];
	gchar **users;
	guint n;
} Net;

static void
net_init(Net *net, guint n)
{
	net->n = n;
	net->nodes = g_new0(WrPolicyNode, n);
	net->addresses = g_malloc0_n(n, sizeof(*net->addresses));
	net->users = g_new0(gchar *, n + 1);
	for (guint k = 0; k < N_TAGS; k++) {
		tag_names[k][0] = g_strdup_printf("tag:t%u", k);
		tag_names[k][1] = NULL;
	}
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *v4 =
			g_strdup_printf("100.64.%u.%u", (i + 1) / 256, (i + 1) % 256);
		g_autofree gchar *v6 = g_strdup_printf("fd7a::%x", i + 1);
		WrPolicyNode *p = &net->nodes[i];

		if (!wr_cidr_parse(&net->addresses[i][0], v4) ||
		    !wr_cidr_parse(&net->addresses[i][1], v6))
			g_error("address %u", i);
		net->users[i] = g_strdup_printf("user%u@example.com", i % N_USERS);
		p->id = i + 1;
		p->user = net->users[i];
		p->tags = i % 5 == 4 ? tag_names[(i / 5) % N_TAGS] : NULL;
		p->addresses = net->addresses[i];
		p->n_addresses = 2;
	}
}

static double
now_ms(void)
{
	return (double) g_get_monotonic_time() / 1000.0;
}

static gchar *
render(WrFilter *filter)
{
	g_autoptr(WrFilter) owned = filter;

	if (owned == NULL) {
		fprintf(stderr, "FAIL: a filter did not compile\n");
		exit(1);
	}
	return wr_filter_to_json(owned, NULL);
}

static GArray *
visible_ids(const WrPolicy *policy, const Net *net, guint i)
{
	g_autoptr(GArray) idx = wr_policy_visible_peers(policy, net->nodes, net->n, i);
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(gint64));

	for (guint k = 0; k < idx->len; k++) {
		gint64 id = (gint64) net->nodes[g_array_index(idx, guint, k)].id;

		g_array_append_val(ids, id);
	}
	return ids;
}

int
main(void)
{
	const char *env = g_getenv("WARREN_BENCH_NODES");
	guint n = env != NULL ? (guint) g_ascii_strtoull(env, NULL, 10) : 1000;
	g_autofree gchar *text = policy_text();
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = NULL;
	g_autoptr(WrVisible) visible = wr_visible_new();
	g_autoptr(WrPolicyTailnet) tailnet = NULL;
	g_autoptr(GPtrArray) per_node = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
	g_autoptr(GArray) changed = NULL;
	guint victim;
	double t0, filters_per_node, filters_shared, visible_full, visible_incr;
	gsize bytes = 0;
	Net net;

	if (n < 10 || n > 60000) {
		fprintf(stderr, "FAIL: WARREN_BENCH_NODES must be 10..60000\n");
		return 1;
	}
	policy = wr_policy_new_from_data(text, strlen(text), &error);
	if (policy == NULL) {
		fprintf(stderr, "FAIL: the bench policy: %s\n", error->message);
		return 1;
	}
	net_init(&net, n);
	printf("# policy-compile: %u nodes, %u users in %u groups, %u rules\n", n, N_USERS,
	       N_GROUPS, N_RULES);

	t0 = now_ms();
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(per_node,
				render(wr_policy_compile_filter(policy, net.nodes, n, i, NULL)));
	filters_per_node = now_ms() - t0;

	t0 = now_ms();
	tailnet = wr_policy_tailnet_new(policy, net.nodes, n);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *json = render(wr_policy_tailnet_filter(tailnet, i, NULL));

		if (strcmp(json, per_node->pdata[i]) != 0) {
			fprintf(stderr, "FAIL: node %u's filter differs between the two ways\n", i);
			return 1;
		}
		bytes += strlen(json);
	}
	filters_shared = now_ms() - t0;
	printf("# all %u filters (%.1f MB of JSON): each node on its own %.1f ms, shared sources "
	       "%.1f ms\n",
	       n, (double) bytes / 1e6, filters_per_node, filters_shared);

	/* the published state before the change, then one node changes its tags */
	for (guint i = 0; i < n; i++) {
		g_autoptr(GArray) ids = visible_ids(policy, &net, i);

		wr_visible_set(visible, (gint64) net.nodes[i].id, ids);
	}
	g_array_unref(wr_visible_commit(visible));
	victim = n / 2;
	net.nodes[victim].tags = tag_names[1];

	t0 = now_ms();
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(full, visible_ids(policy, &net, i));
	visible_full = now_ms() - t0;

	t0 = now_ms();
	{
		g_autoptr(GArray) ids = visible_ids(policy, &net, victim);

		wr_visible_set(visible, (gint64) net.nodes[victim].id, ids);
		changed = wr_visible_commit(visible);
	}
	visible_incr = now_ms() - t0;
	for (guint i = 0; i < n; i++) {
		GArray *want = full->pdata[i];
		GArray *got = wr_visible_lookup(visible, (gint64) net.nodes[i].id);

		if (got == NULL || got->len != want->len ||
		    (want->len > 0 &&
		     memcmp(got->data, want->data, want->len * sizeof(gint64)) != 0)) {
			fprintf(stderr,
				"FAIL: node %u's visible set differs between the two ways\n", i);
			return 1;
		}
	}
	printf("# visible sets after one node's tags changed: all recomputed %.1f ms, "
	       "incremental %.2f ms (%u sets replaced)\n",
	       visible_full, visible_incr, changed->len);
	printf("ratio per-node/shared filters: %.1f incremental visible: %.1f\n",
	       filters_per_node / MAX(filters_shared, 0.001),
	       visible_full / MAX(visible_incr, 0.001));
	for (guint i = 0; i < n; i++)
		g_free(net.users[i]);
	g_free(net.users);
	g_free(net.nodes);
	g_free(net.addresses);
	return 0;
}
