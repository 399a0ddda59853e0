/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for wr-netmap: a MapResponse parsed and applied as the first (full) map, then
 * a second one parsed and applied to that state as a delta.  Besides the sanitizers it checks the
 * contracts: a refused apply leaves the state as it was, a full map applied twice reports no
 * change the second time, every reported id is one the state holds (added, changed) or no
 * longer holds (removed), and the state's saved form (wr_netmap_to_json) reads back equal.
 *
 * Input: the first response, a NUL byte, the second (without a NUL, only the first is tried).
 */

#define G_LOG_DOMAIN "WrFuzzNetmap"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-netmap.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GPtrArray *
snapshot(WrNetmap *nm)
{
	g_autoptr(GPtrArray) peers = wr_netmap_get_peers(nm);
	GPtrArray *copy = g_ptr_array_new_with_free_func((GDestroyNotify) wr_netmap_node_free);

	for (guint i = 0; i < peers->len; i++)
		g_ptr_array_add(copy, wr_netmap_node_copy(g_ptr_array_index(peers, i)));
	return copy;
}

static void
assert_same(WrNetmap *nm, GPtrArray *before)
{
	g_autoptr(GPtrArray) peers = wr_netmap_get_peers(nm);

	g_assert_cmpuint(peers->len, ==, before->len);
	for (guint i = 0; i < peers->len; i++)
		g_assert_true(wr_netmap_node_equal(g_ptr_array_index(peers, i),
						   g_ptr_array_index(before, i)));
}

static void
check_changes(WrNetmap *nm, const WrNetmapChanges *c)
{
	for (guint i = 0; i < c->added->len; i++)
		g_assert_nonnull(wr_netmap_lookup_peer(nm, g_array_index(c->added, gint64, i)));
	for (guint i = 0; i < c->changed->len; i++)
		g_assert_nonnull(wr_netmap_lookup_peer(nm, g_array_index(c->changed, gint64, i)));
	for (guint i = 0; i < c->removed->len; i++)
		g_assert_null(wr_netmap_lookup_peer(
			nm, ((WrNetmapNode *) g_ptr_array_index(c->removed, i))->id));
	g_assert_cmpuint(c->online->len + c->offline->len, <=, c->changed->len);
}

static void
apply_one(WrNetmap *nm, const char *text, gsize len, gboolean again)
{
	g_autoptr(WrNetmapResponse) r = wr_netmap_response_parse(text, len, NULL);
	g_autoptr(GPtrArray) before = NULL;
	g_autoptr(WrNetmapChanges) c = NULL;
	g_autoptr(GError) error = NULL;

	if (r == NULL)
		return;
	before = snapshot(nm);
	c = wr_netmap_apply(nm, r, &error);
	if (c == NULL) {
		g_assert_nonnull(error);
		assert_same(nm, before);
		return;
	}
	check_changes(nm, c);
	/* the state's saved form reads back into an equal state */
	{
		g_autoptr(GBytes) json = wr_netmap_to_json(nm);
		g_autoptr(WrNetmapResponse) back = NULL;
		g_autoptr(WrNetmap) restored = wr_netmap_new();
		g_autoptr(WrNetmapChanges) rc = NULL;
		g_autoptr(GError) local = NULL;
		gsize json_len = 0;
		const char *json_text = g_bytes_get_data(json, &json_len);

		back = wr_netmap_response_parse(json_text, json_len, &local);
		g_assert_no_error(local);
		rc = wr_netmap_apply(restored, back, &local);
		g_assert_no_error(local);
		g_assert_true(wr_netmap_equal(nm, restored));
	}
	if (again && r->full) {
		g_autoptr(WrNetmapChanges) c2 = wr_netmap_apply(nm, r, NULL);

		g_assert_nonnull(c2);
		g_assert_true(wr_netmap_changes_empty(c2));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	gsize first = nul != NULL ? (gsize) (nul - data) : size;
	g_autoptr(WrNetmap) nm = wr_netmap_new();

	apply_one(nm, (const char *) data, first, TRUE);
	if (nul != NULL)
		apply_one(nm, (const char *) nul + 1, size - first - 1, FALSE);
	return 0;
}
