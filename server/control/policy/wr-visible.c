/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "wr-visible.h"

#include <string.h>

/* a pending change to a set the batch did not set itself */
enum {
	OP_ADD = 1,
	OP_REMOVE = 2,
};

struct _WrVisible {
	GHashTable *sets;   /* gint64 * -> GArray * (published) */
	GHashTable *direct; /* gint64 * -> GArray * or NULL (gone): set in this batch */
	GHashTable *ops;    /* gint64 * -> GHashTable (gint64 * peer -> OP_*): the others */
	gboolean reset;	    /* this batch sets every node: no propagation */
};

static void
array_unref0(gpointer array)
{
	if (array != NULL)
		g_array_unref(array);
}

static GHashTable *
id_table_new(GDestroyNotify value_free)
{
	return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, value_free);
}

WrVisible *
wr_visible_new(void)
{
	WrVisible *v = g_new0(WrVisible, 1);

	v->sets = id_table_new(array_unref0);
	v->direct = id_table_new(array_unref0);
	v->ops = id_table_new((GDestroyNotify) g_hash_table_unref);
	return v;
}

void
wr_visible_free(WrVisible *v)
{
	if (v == NULL)
		return;
	g_hash_table_unref(v->sets);
	g_hash_table_unref(v->direct);
	g_hash_table_unref(v->ops);
	g_free(v);
}

GArray *
wr_visible_lookup(WrVisible *v, gint64 id)
{
	return g_hash_table_lookup(v->sets, &id);
}

static void
op_record(WrVisible *v, gint64 target, gint64 peer, gint op)
{
	GHashTable *ops = g_hash_table_lookup(v->ops, &target);

	if (ops == NULL) {
		ops = id_table_new(NULL);
		g_hash_table_insert(v->ops, g_memdup2(&target, sizeof(target)), ops);
	}
	g_hash_table_insert(ops, g_memdup2(&peer, sizeof(peer)), GINT_TO_POINTER(op));
}

/* the set id had last: set earlier in this batch, else published */
static GArray *
current(WrVisible *v, gint64 id)
{
	gpointer value;

	if (g_hash_table_lookup_extended(v->direct, &id, NULL, &value))
		return value;
	return g_hash_table_lookup(v->sets, &id);
}

void
wr_visible_set(WrVisible *v, gint64 id, GArray *peers)
{
	GArray *old = current(v, id);
	guint i = 0, k = 0;
	guint n_old = old != NULL ? old->len : 0, n_new = peers != NULL ? peers->len : 0;

	/* the two sorted lists side by side: who gains id, who loses it */
	while (!v->reset && (i < n_old || k < n_new)) {
		gint64 a = i < n_old ? g_array_index(old, gint64, i) : G_MAXINT64;
		gint64 b = k < n_new ? g_array_index(peers, gint64, k) : G_MAXINT64;

		if (i < n_old && (k >= n_new || a < b)) {
			op_record(v, a, id, OP_REMOVE);
			i++;
		} else if (k < n_new && (i >= n_old || b < a)) {
			op_record(v, b, id, OP_ADD);
			k++;
		} else {
			i++;
			k++;
		}
	}
	g_hash_table_insert(v->direct, g_memdup2(&id, sizeof(id)),
			    peers != NULL ? g_array_ref(peers) : NULL);
}

void
wr_visible_reset(WrVisible *v)
{
	g_hash_table_remove_all(v->sets);
	g_hash_table_remove_all(v->direct);
	g_hash_table_remove_all(v->ops);
	v->reset = TRUE;
}

static gint
cmp_i64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

	return x < y ? -1 : x > y;
}

static gboolean
arrays_equal(const GArray *a, const GArray *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* (an empty GArray may have no data at all) */
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, (gsize) a->len * sizeof(gint64)) == 0);
}

/* old with the adds merged in and the removes left out */
static GArray *
apply_ops(const GArray *old, GHashTable *ops)
{
	g_autoptr(GArray) adds = g_array_new(FALSE, FALSE, sizeof(gint64));
	GArray *out =
		g_array_sized_new(FALSE, FALSE, sizeof(gint64), old->len + g_hash_table_size(ops));
	GHashTableIter iter;
	gpointer key, value;
	guint i = 0, k = 0;

	g_hash_table_iter_init(&iter, ops);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		if (GPOINTER_TO_INT(value) == OP_ADD)
			g_array_append_val(adds, *(gint64 *) key);
	}
	g_array_sort(adds, cmp_i64);
	while (i < old->len || k < adds->len) {
		gint64 a = i < old->len ? g_array_index(old, gint64, i) : G_MAXINT64;
		gint64 b = k < adds->len ? g_array_index(adds, gint64, k) : G_MAXINT64;
		gint64 next = MIN(a, b);

		if (i < old->len && a == next)
			i++;
		if (k < adds->len && b == next)
			k++;
		if (GPOINTER_TO_INT(g_hash_table_lookup(ops, &next)) != OP_REMOVE)
			g_array_append_val(out, next);
	}
	return out;
}

static void
publish(WrVisible *v, gint64 id, GArray *set, GArray *changed)
{
	GArray *old = g_hash_table_lookup(v->sets, &id);

	if (set == NULL) {
		if (g_hash_table_remove(v->sets, &id))
			g_array_append_val(changed, id);
		return;
	}
	if (old != NULL && arrays_equal(old, set))
		return;
	g_hash_table_insert(v->sets, g_memdup2(&id, sizeof(id)), g_array_ref(set));
	g_array_append_val(changed, id);
}

GArray *
wr_visible_commit(WrVisible *v)
{
	GArray *changed = g_array_new(FALSE, FALSE, sizeof(gint64));
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, v->ops);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		gint64 id = *(gint64 *) key;
		GArray *old;
		g_autoptr(GArray) set = NULL;

		/* a node set in this batch has its own set, consistent with these by symmetry;
		 * a node never set is not tracked */
		if (g_hash_table_contains(v->direct, &id))
			continue;
		old = g_hash_table_lookup(v->sets, &id);
		if (old == NULL)
			continue;
		set = apply_ops(old, value);
		publish(v, id, set, changed);
	}
	g_hash_table_iter_init(&iter, v->direct);
	while (g_hash_table_iter_next(&iter, &key, &value))
		publish(v, *(gint64 *) key, value, changed);
	g_hash_table_remove_all(v->direct);
	g_hash_table_remove_all(v->ops);
	v->reset = FALSE;
	g_array_sort(changed, cmp_i64);
	return changed;
}
