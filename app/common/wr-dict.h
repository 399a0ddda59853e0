/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Typed lookups in warrend's dictionaries (a{sv}: the peer, Self, flow, ping and netcheck
 * dictionaries of data/io.github.warrenvpn.Engine1.xml).  warrend always sends the keys the
 * contract names, but a client must not trust that: a missing key, a value of another type or
 * a NULL dictionary reads as the fallback ("" for strings, 0 or FALSE for the rest).
 * dict must be NULL or of type a{sv}.  wr_dict_str's result points into dict.
 */
const gchar *
wr_dict_str(GVariant *dict, const gchar *key);
gboolean
wr_dict_bool(GVariant *dict, const gchar *key, gboolean fallback);
gint64
wr_dict_i64(GVariant *dict, const gchar *key, gint64 fallback);
guint64
wr_dict_u64(GVariant *dict, const gchar *key);
guint32
wr_dict_u32(GVariant *dict, const gchar *key);

G_END_DECLS
