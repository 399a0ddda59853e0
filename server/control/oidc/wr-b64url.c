/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include "wr-b64url.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* the 6-bit value of @c, or -1 */
static int
value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

gboolean
wr_b64url_decode(const char *text, gsize len, gsize max_out, guint8 **out_data, gsize *out_len)
{
	gsize n = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	g_autofree guint8 *data = NULL;
	guint32 acc = 0;
	guint bits = 0;
	gsize o = 0;

	if (len % 4 == 1 || n > max_out)
		return FALSE;
	data = g_malloc(n + 1);
	for (gsize i = 0; i < len; i++) {
		int v = value(text[i]);

		if (v < 0)
			return FALSE;
		acc = (acc << 6) | (guint32) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			data[o++] = (guint8) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* the left-over bits must be zero: one spelling per byte string */
	if (acc != 0)
		return FALSE;
	g_assert(o == n);
	*out_data = g_steal_pointer(&data);
	*out_len = n;
	return TRUE;
}

char *
wr_b64url_encode(const guint8 *data, gsize len)
{
	GString *s = g_string_sized_new(len / 3 * 4 + 4);
	gsize i;

	for (i = 0; i + 3 <= len; i += 3) {
		guint32 v = (guint32) data[i] << 16 | (guint32) data[i + 1] << 8 | data[i + 2];

		g_string_append_c(s, alphabet[(v >> 18) & 63]);
		g_string_append_c(s, alphabet[(v >> 12) & 63]);
		g_string_append_c(s, alphabet[(v >> 6) & 63]);
		g_string_append_c(s, alphabet[v & 63]);
	}
	if (len - i == 1) {
		guint32 v = (guint32) data[i] << 16;

		g_string_append_c(s, alphabet[(v >> 18) & 63]);
		g_string_append_c(s, alphabet[(v >> 12) & 63]);
	} else if (len - i == 2) {
		guint32 v = (guint32) data[i] << 16 | (guint32) data[i + 1] << 8;

		g_string_append_c(s, alphabet[(v >> 18) & 63]);
		g_string_append_c(s, alphabet[(v >> 12) & 63]);
		g_string_append_c(s, alphabet[(v >> 6) & 63]);
	}
	return g_string_free(s, FALSE);
}
