/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The incremental visible sets (server/control/policy/wr-visible) against a full
 * recomputation: random tailnets under real policies, changed a few nodes at a time (joins,
 * departures, new tags, new owners, hidden and shown again), the way warren-control changes
 * them.  After every batch every node's set must equal what wr_policy_visible_peers() says for
 * the whole tailnet, and commit must name exactly the sets that changed.
 */

#include <string.h>

#include "wr-policy.h"
#include "wr-visible.h"

#define MAX_NODES 48

static const gchar *const users[] = {"alice@example.com", "bob@example.com", "carol@example.com",
				     "dave@example.com"};
static const gchar *const tag_web[] = {"tag:web", NULL};
static const gchar *const tag_db[] = {"tag:db", NULL};
static const gchar *const tag_both[] = {"tag:web", "tag:db", NULL};
static const gchar *const *const tag_sets[] = {NULL, NULL, tag_web, tag_db, tag_both};

static const gchar *const policies[] = {
	/* users see their own devices, everyone reaches the web servers, web reaches db */
	"{\"groups\":{\"group:eng\":[\"alice@example.com\",\"bob@example.com\"]},"
	" \"tagOwners\":{\"tag:web\":[\"group:eng\"],\"tag:db\":[\"alice@example.com\"]},"
	" \"acls\":["
	"  {\"action\":\"accept\",\"src\":[\"autogroup:member\"],\"dst\":[\"autogroup:self:*\"]},"
	"  {\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"tag:web:80,443\"]},"
	"  {\"action\":\"accept\",\"src\":[\"tag:web\"],\"dst\":[\"tag:db:5432\"]},"
	"  {\"action\":\"accept\",\"src\":[\"group:eng\"],\"dst\":[\"group:eng:22\"]}]}",
	/* addresses named literally: a node's place in the address space decides */
	"{\"tagOwners\":{\"tag:web\":[],\"tag:db\":[]},"
	" \"acls\":["
	"  {\"action\":\"accept\",\"src\":[\"100.64.0.0/28\"],\"dst\":[\"100.64.0.16/28:*\"]},"
	"  {\"action\":\"accept\",\"src\":[\"carol@example.com\"],\"dst\":[\"tag:db:*\"]}]}",
	/* nothing: nobody sees anybody */
	"{\"acls\":[]}",
};

typedef struct {
	gboolean present, hidden;
	guint user, tags;
	WrCidr addresses[2];
} Slot;

typedef struct {
	Slot slots[MAX_NODES];
	WrPolicyNode pnodes[MAX_NODES];
	gint64 ids[MAX_NODES]; /* index in pnodes -> slot id */
	guint n;
} Net;

/* the shown nodes as the compiler takes them, in id order (the slot number is the id) */
static void
net_build(Net *net)
{
	net->n = 0;
	for (guint i = 0; i < MAX_NODES; i++) {
		Slot *s = &net->slots[i];
		WrPolicyNode *p = &net->pnodes[net->n];

		if (!s->present || s->hidden)
			continue;
		memset(p, 0, sizeof(*p));
		p->id = i;
		p->user = users[s->user];
		p->tags = tag_sets[s->tags];
		p->addresses = s->addresses;
		p->n_addresses = 2;
		net->ids[net->n++] = i;
	}
}

static gint
net_index(const Net *net, gint64 id)
{
	for (guint i = 0; i < net->n; i++) {
		if (net->ids[i] == id)
			return (gint) i;
	}
	return -1;
}

static void
array_unref0(gpointer array)
{
	if (array != NULL)
		g_array_unref(array);
}

static GArray *
visible_of(const WrPolicy *policy, const Net *net, guint index)
{
	g_autoptr(GArray) idx = wr_policy_visible_peers(policy, net->pnodes, net->n, index);
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(gint64));

	for (guint k = 0; k < idx->len; k++)
		g_array_append_val(ids, net->ids[g_array_index(idx, guint, k)]);
	return ids;
}

static void
slot_init(Slot *s, guint id, GRand *rand)
{
	g_autofree gchar *v4 = g_strdup_printf("100.64.0.%u", id);
	g_autofree gchar *v6 = g_strdup_printf("fd7a::%u", id);

	s->present = TRUE;
	s->hidden = FALSE;
	s->user = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(users));
	s->tags = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(tag_sets));
	g_assert_true(wr_cidr_parse(&s->addresses[0], v4));
	g_assert_true(wr_cidr_parse(&s->addresses[1], v6));
}

/* every node's published set against the whole-tailnet answer; sets of gone and hidden
 * nodes as warren-control keeps them (gone: none, hidden: empty) */
static void
check_all(WrVisible *v, const WrPolicy *policy, Net *net)
{
	net_build(net);
	for (guint i = 0; i < MAX_NODES; i++) {
		GArray *got = wr_visible_lookup(v, i);
		gint index = net_index(net, i);

		if (!net->slots[i].present) {
			g_assert_null(got);
			continue;
		}
		g_assert_nonnull(got);
		if (index < 0) {
			g_assert_cmpuint(got->len, ==, 0);
		} else {
			g_autoptr(GArray) want = visible_of(policy, net, (guint) index);

			g_assert_cmpmem(got->data, got->len * sizeof(gint64), want->data,
					want->len * sizeof(gint64));
		}
	}
}

/* one node's set as warren-control gives it after a change */
static void
set_node(WrVisible *v, const WrPolicy *policy, Net *net, guint id)
{
	gint index;

	net_build(net);
	if (!net->slots[id].present) {
		wr_visible_set(v, id, NULL);
		return;
	}
	index = net_index(net, id);
	if (index < 0) {
		g_autoptr(GArray) none = g_array_new(FALSE, FALSE, sizeof(gint64));

		wr_visible_set(v, id, none);
	} else {
		g_autoptr(GArray) set = visible_of(policy, net, (guint) index);

		wr_visible_set(v, id, set);
	}
}

static void
full(WrVisible *v, const WrPolicy *policy, Net *net)
{
	g_autoptr(GArray) changed = NULL;

	wr_visible_reset(v);
	for (guint i = 0; i < MAX_NODES; i++) {
		if (net->slots[i].present)
			set_node(v, policy, net, i);
	}
	changed = wr_visible_commit(v);
}

static void
run_policy(const gchar *text, guint32 seed)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = wr_policy_new_from_data(text, strlen(text), &error);
	g_autoptr(WrVisible) v = wr_visible_new();
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	Net net = {0};

	g_assert_no_error(error);
	for (guint i = 1; i < MAX_NODES; i += 2)
		slot_init(&net.slots[i], i, rand);
	full(v, policy, &net);
	check_all(v, policy, &net);

	for (guint round = 0; round < 300; round++) {
		guint batch = (guint) g_rand_int_range(rand, 1, 6);
		g_autoptr(GHashTable) touched = g_hash_table_new(NULL, NULL);
		g_autoptr(GArray) changed = NULL;
		g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func(array_unref0);

		for (guint i = 0; i < MAX_NODES; i++) {
			GArray *set = wr_visible_lookup(v, i);

			g_ptr_array_add(before, set != NULL ? g_array_ref(set) : NULL);
		}
		for (guint b = 0; b < batch; b++) {
			guint id = (guint) g_rand_int_range(rand, 1, MAX_NODES);
			Slot *s = &net.slots[id];

			switch (g_rand_int_range(rand, 0, 5)) {
			case 0: /* joins, or leaves */
				if (s->present)
					s->present = FALSE;
				else
					slot_init(s, id, rand);
				break;
			case 1: /* new tags */
				s->tags = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(tag_sets));
				break;
			case 2: /* another owner */
				s->user = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(users));
				break;
			case 3: /* hidden (expired) or shown again */
				s->hidden = !s->hidden;
				break;
			default: /* a change peers see but the policy does not (endpoints) */
				break;
			}
			/* warren-control sets a node once per change, at the end of the batch */
			g_hash_table_add(touched, GUINT_TO_POINTER(id));
		}
		{
			GHashTableIter iter;
			gpointer key;

			g_hash_table_iter_init(&iter, touched);
			while (g_hash_table_iter_next(&iter, &key, NULL))
				set_node(v, policy, &net, GPOINTER_TO_UINT(key));
		}
		changed = wr_visible_commit(v);
		check_all(v, policy, &net);
		/* commit names exactly the sets that were replaced */
		for (guint i = 0; i < MAX_NODES; i++) {
			GArray *old = before->pdata[i];
			GArray *now = wr_visible_lookup(v, i);
			gboolean listed = FALSE;
			gboolean differs;

			for (guint k = 0; k < changed->len; k++)
				listed = listed || g_array_index(changed, gint64, k) == i;
			differs = (old == NULL) != (now == NULL) ||
				  (old != NULL &&
				   (old->len != now->len ||
				    (old->len > 0 && memcmp(old->data, now->data,
							    old->len * sizeof(gint64)) != 0)));
			g_assert_cmpint(listed, ==, differs);
			/* published arrays are never changed in place */
			if (!differs && old != NULL)
				g_assert_true(old == now);
		}
	}
}

static void
test_random(void)
{
	for (guint p = 0; p < G_N_ELEMENTS(policies); p++) {
		for (guint32 seed = 1; seed <= 4; seed++) {
			g_test_message("policy %u seed %u", p, seed);
			run_policy(policies[p], seed);
		}
	}
}

/* the batch semantics spelled out on a small case */
static void
test_batch(void)
{
	g_autoptr(WrVisible) v = wr_visible_new();
	g_autoptr(GArray) none = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) one = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) two = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) changed = NULL;
	gint64 id1 = 1, id2 = 2;
	GArray *published;

	g_array_append_val(one, id1);
	g_array_append_val(two, id2);
	/* 1 and 2 see each other */
	wr_visible_set(v, 1, two);
	wr_visible_set(v, 2, one);
	changed = wr_visible_commit(v);
	g_assert_cmpuint(changed->len, ==, 2);
	g_assert_true(wr_visible_lookup(v, 1) == two);
	g_clear_pointer(&changed, g_array_unref);

	/* 3 joins and sees 1: 1 gains 3 in a new array, 2 is untouched */
	{
		g_autoptr(GArray) three_sees = g_array_new(FALSE, FALSE, sizeof(gint64));

		g_array_append_val(three_sees, id1);
		wr_visible_set(v, 3, three_sees);
	}
	published = wr_visible_lookup(v, 1);
	changed = wr_visible_commit(v);
	g_assert_cmpuint(changed->len, ==, 2); /* 1 and 3 */
	g_assert_cmpint(g_array_index(changed, gint64, 0), ==, 1);
	g_assert_cmpint(g_array_index(changed, gint64, 1), ==, 3);
	g_assert_true(wr_visible_lookup(v, 1) != published);
	g_assert_cmpuint(published->len, ==, 1); /* the old array kept its contents */
	g_assert_cmpuint(wr_visible_lookup(v, 1)->len, ==, 2);
	g_assert_true(wr_visible_lookup(v, 2) == one);
	g_clear_pointer(&changed, g_array_unref);

	/* 1 leaves: 2 and 3 lose it, 1 is gone */
	wr_visible_set(v, 1, NULL);
	changed = wr_visible_commit(v);
	g_assert_cmpuint(changed->len, ==, 3);
	g_assert_null(wr_visible_lookup(v, 1));
	g_assert_cmpuint(wr_visible_lookup(v, 2)->len, ==, 0);
	g_assert_cmpuint(wr_visible_lookup(v, 3)->len, ==, 0);
	g_clear_pointer(&changed, g_array_unref);

	/* an empty batch changes nothing */
	changed = wr_visible_commit(v);
	g_assert_cmpuint(changed->len, ==, 0);
	(void) none;
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/visible/batch", test_batch);
	g_test_add_func("/warren/visible/random", test_random);

	return g_test_run();
}
