/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Typed lookups in warrend's a{sv} dictionaries, shared by the CLI and the tray.
 */

#include "config.h"

#include "wr-dict.h"

const gchar *
wr_dict_str(GVariant *dict, const gchar *key)
{
	const gchar *value = NULL;

	if (dict == NULL || !g_variant_lookup(dict, key, "&s", &value))
		return "";
	return value;
}

gboolean
wr_dict_bool(GVariant *dict, const gchar *key, gboolean fallback)
{
	gboolean value;

	if (dict == NULL || !g_variant_lookup(dict, key, "b", &value))
		return fallback;
	return value;
}

gint64
wr_dict_i64(GVariant *dict, const gchar *key, gint64 fallback)
{
	gint64 value;

	if (dict == NULL || !g_variant_lookup(dict, key, "x", &value))
		return fallback;
	return value;
}

guint64
wr_dict_u64(GVariant *dict, const gchar *key)
{
	guint64 value;

	if (dict == NULL || !g_variant_lookup(dict, key, "t", &value))
		return 0;
	return value;
}

guint32
wr_dict_u32(GVariant *dict, const gchar *key)
{
	guint32 value;

	if (dict == NULL || !g_variant_lookup(dict, key, "u", &value))
		return 0;
	return value;
}
