/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Who sees whom, kept up to date one changed node at a time.  With a policy, node a sees
 * node b exactly when b sees a (a may reach b or be reached by it), and whether they do depends
 * only on the two nodes and the policy.  So when one node changes (joins, leaves, changes tags,
 * routes or owner) only its own pairs can change: its new set, computed in O(N × rules) by the
 * caller, says which other sets gain or lose it.  A batch of changes costs the changed nodes'
 * sets plus one copy of every other set that changed, not a recompilation of the tailnet.
 *
 * Sets are sorted GArrays of gint64 node ids, never changed once published: a change replaces
 * the array, so a holder of a reference (a map stream remembering what it sent) can tell a
 * change by the pointer.  Pure: no I/O, no clocks.
 */

#pragma once

#include <glib.h>

typedef struct _WrVisible WrVisible;

WrVisible *
wr_visible_new(void);
void
wr_visible_free(WrVisible *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrVisible, wr_visible_free)

/* the ids id sees, ascending, without id; NULL for an id never set (or gone).  Borrowed: take a
 * reference to keep it past the next commit. */
GArray *
wr_visible_lookup(WrVisible *v, gint64 id);

/* id sees exactly peers from the next commit on (ascending, without id; a reference is taken),
 * or is gone (peers NULL); every other node's set gains or loses id to match.  A node set
 * twice in one batch keeps the last. */
void
wr_visible_set(WrVisible *v, gint64 id, GArray *peers);

/* forgets every set: the next batch sets every node afresh (a new policy), and costs no
 * propagation */
void
wr_visible_reset(WrVisible *v);

/* publishes the batch; returns the ids whose set was replaced or removed (gint64, ascending) */
GArray *
wr_visible_commit(WrVisible *v);
