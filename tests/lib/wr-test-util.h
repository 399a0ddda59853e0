/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Small helpers shared by the unit tests: hex vectors, patterned buffers, big-endian fields
 * an RFC 1071 checksum written the slow, obvious way so it is independent of the engine, and
 * the text of an element in a served HTML page.
 */

#pragma once

#include <glib.h>
#include <stdint.h>
#include <string.h>

/* decodes a hex vector into out; asserts it is well formed and fits */
static inline gsize
unhex(const char *hex, guint8 *out, gsize out_size)
{
	gsize len = strlen(hex);

	g_assert_cmpuint(len % 2, ==, 0);
	g_assert_cmpuint(len / 2, <=, out_size);
	for (gsize i = 0; i < len / 2; i++) {
		gint hi = g_ascii_xdigit_value(hex[2 * i]);
		gint lo = g_ascii_xdigit_value(hex[2 * i + 1]);

		g_assert_cmpint(hi, >=, 0);
		g_assert_cmpint(lo, >=, 0);
		out[i] = (guint8) ((hi << 4) | lo);
	}
	return len / 2;
}

static inline void
assert_hex_eq(const guint8 *got, gsize got_len, const char *expected_hex)
{
	g_autofree gchar *got_hex = g_malloc(2 * got_len + 1);

	got_hex[0] = '\0';
	for (gsize i = 0; i < got_len; i++)
		g_snprintf(got_hex + 2 * i, 3, "%02x", got[i]);
	g_assert_cmpstr(got_hex, ==, expected_hex);
}

/* byte i is (i * mul + add) mod 256: the same buffers the Python side of a vector builds */
static inline void
pattern(guint8 *buf, gsize len, guint mul, guint add)
{
	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8) ((i * mul + add) & 0xff);
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* the Internet checksum's sum (RFC 1071 §4.1), 16 bits at a time */
static inline uint64_t
ref_sum(const uint8_t *p, size_t len, uint64_t acc)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint64_t) ((p[i] << 8) | p[i + 1]);
	if (i < len)
		acc += (uint64_t) p[i] << 8;
	return acc;
}

static inline uint16_t
ref_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t) acc;
}

/* the text of the HTML element with id="@id" in @html (up to the next tag), or NULL when there
 * is none: enough for the pages warren-control serves to people, which the tests read */
static inline char *
html_text_of_id(const char *html, const char *id)
{
	g_autofree char *attr = g_strdup_printf(" id=\"%s\"", id);
	const char *start = strstr(html, attr);
	const char *end;

	if (start == NULL || (start = strchr(start, '>')) == NULL)
		return NULL;
	start++;
	end = strchr(start, '<');
	return end != NULL ? g_strndup(start, (gsize) (end - start)) : NULL;
}
