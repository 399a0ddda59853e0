/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestKey"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-test-util.h"

#define ROUND_TRIPS 1000
/* the character before the '=' carries 4 data bits and 2 bits that must be zero */
#define BASE64_LAST_DIGIT (WR_KEY_BASE64_LEN - 2)

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
assert_untouched(const guint8 key[WR_KEY_BYTES])
{
	for (gsize i = 0; i < WR_KEY_BYTES; i++)
		g_assert_cmpuint(key[i], ==, 0xaa);
}

/* the value of a base64 digit, or -1 */
static gint
base64_value(guint c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(base64_alphabet, (int) c);
	return p != NULL ? (gint) (p - base64_alphabet) : -1;
}

/* base64.b64encode() from Python */
static void
test_key_base64_vectors(void)
{
	const struct {
		const char *hex;
		const char *base64;
	} vectors[] = {
		{"0000000000000000000000000000000000000000000000000000000000000000",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		 "//////////////////////////////////////////8="},
		{"1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c",
		 "EXbbQKUKb9Q5ngNozTKX/GHGK5D1Wr8kie5TuB2C50w="},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 key[WR_KEY_BYTES];
		guint8 out[WR_KEY_BYTES];
		char b64[WR_KEY_BASE64_LEN + 1];

		unhex(vectors[i].hex, key, sizeof(key));
		wr_key_to_base64(b64, key);
		g_assert_cmpstr(b64, ==, vectors[i].base64);
		g_assert_true(wr_key_from_base64(out, vectors[i].base64));
		g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
	}
}

/* random keys against GLib's own base64 */
static void
test_key_base64_round_trip(void)
{
	for (guint i = 0; i < ROUND_TRIPS; i++) {
		guint8 key[WR_KEY_BYTES];
		guint8 out[WR_KEY_BYTES];
		char b64[WR_KEY_BASE64_LEN + 1];
		g_autofree gchar *glib_b64 = NULL;

		wr_random_bytes(key, sizeof(key));
		wr_key_to_base64(b64, key);
		glib_b64 = g_base64_encode(key, sizeof(key));
		g_assert_cmpstr(b64, ==, glib_b64);
		g_assert_true(wr_key_from_base64(out, b64));
		g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
	}
}

static void
test_key_base64_reject(void)
{
	const char *bad[] = {
		"",
		"=",
		/* 43 chars: the '=' missing */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* 44 chars without the '=' */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* 45 chars */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A",
		/* 44 chars ending in "==", which is 31 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		/* 48 chars: a 33-byte key */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* non-canonical: the last digit's low two bits are not zero */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD=",
		"//////////////////////////////////////////9=",
		"//////////////////////////////////////////+=",
		"//////////////////////////////////////////==",
		/* the URL-safe alphabet, whitespace, padding in the middle */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-A=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_A=",
		"AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"AAAA=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		/* a UTF-8 letter */
		"\303\200AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		guint8 out[WR_KEY_BYTES];

		memset(out, 0xaa, sizeof(out));
		g_assert_false(wr_key_from_base64(out, bad[i]));
		assert_untouched(out);
	}
}

/*
 * every byte value at every position of a valid encoding: accepted exactly when it is a
 * base64 digit (canonical at the last digit) or the final '=', and then decoded as GLib does
 */
static void
test_key_base64_exhaustive(void)
{
	guint8 key[WR_KEY_BYTES];
	char b64[WR_KEY_BASE64_LEN + 1];

	wr_random_bytes(key, sizeof(key));
	wr_key_to_base64(b64, key);

	for (gsize pos = 0; pos < WR_KEY_BASE64_LEN; pos++) {
		for (guint c = 1; c < 256; c++) {
			char text[WR_KEY_BASE64_LEN + 1];
			guint8 out[WR_KEY_BYTES];
			gint v = base64_value(c);
			gboolean valid;

			memcpy(text, b64, sizeof(text));
			text[pos] = (char) c;
			if (pos == WR_KEY_BASE64_LEN - 1)
				valid = c == '=';
			else if (pos == BASE64_LAST_DIGIT)
				valid = v >= 0 && (v & 3) == 0;
			else
				valid = v >= 0;

			memset(out, 0xaa, sizeof(out));
			if (valid) {
				g_autofree guchar *glib_out = NULL;
				gsize glib_len = 0;

				g_assert_true(wr_key_from_base64(out, text));
				glib_out = g_base64_decode(text, &glib_len);
				g_assert_cmpmem(out, sizeof(out), glib_out, glib_len);
			} else {
				g_assert_false(wr_key_from_base64(out, text));
				assert_untouched(out);
			}
		}
	}
}

static void
test_key_hex(void)
{
	const char *lower = "1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c";
	const char *upper = "1176DB40A50A6FD4399E0368CD3297FC61C62B90F55ABF2489EE53B81D82E74C";
	const char *mixed = "1176dB40a50A6fd4399E0368cD3297fC61c62B90f55aBF2489eE53b81D82e74C";
	guint8 key[WR_KEY_BYTES];
	guint8 out[WR_KEY_BYTES];
	char hex[WR_KEY_HEX_LEN + 1];
	char buf[WR_KEY_HEX_LEN + 8];

	unhex(lower, key, sizeof(key));
	wr_key_to_hex(hex, key);
	g_assert_cmpstr(hex, ==, lower);
	g_assert_true(wr_key_from_hex(out, lower));
	g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
	memset(out, 0, sizeof(out));
	g_assert_true(wr_key_from_hex(out, upper));
	g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
	memset(out, 0, sizeof(out));
	g_assert_true(wr_key_from_hex(out, mixed));
	g_assert_cmpmem(out, sizeof(out), key, sizeof(key));

	/* a counted string needs no terminator */
	memcpy(buf, upper, WR_KEY_HEX_LEN);
	memcpy(buf + WR_KEY_HEX_LEN, "zz\nzzzz", 8);
	memset(out, 0, sizeof(out));
	g_assert_true(wr_key_from_hex_len(out, buf, WR_KEY_HEX_LEN));
	g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
	memset(out, 0xaa, sizeof(out));
	g_assert_false(wr_key_from_hex_len(out, buf, WR_KEY_HEX_LEN - 1));
	g_assert_false(wr_key_from_hex_len(out, buf, WR_KEY_HEX_LEN + 1));
	g_assert_false(wr_key_from_hex_len(out, buf, 0));
	assert_untouched(out);

	/* wrong lengths */
	g_assert_false(wr_key_from_hex(out, ""));
	g_assert_false(wr_key_from_hex(out, "00"));
	g_assert_false(wr_key_from_hex(
		out, "1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74"));
	g_assert_false(wr_key_from_hex(
		out, "1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c0"));
	g_assert_false(wr_key_from_hex(
		out, "1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c00"));
	assert_untouched(out);

	/* random round trips against printf */
	for (guint i = 0; i < ROUND_TRIPS; i++) {
		GString *want = g_string_new(NULL);

		wr_random_bytes(key, sizeof(key));
		for (gsize j = 0; j < sizeof(key); j++)
			g_string_append_printf(want, "%02x", key[j]);
		wr_key_to_hex(hex, key);
		g_assert_cmpstr(hex, ==, want->str);
		g_assert_true(wr_key_from_hex(out, hex));
		g_assert_cmpmem(out, sizeof(out), key, sizeof(key));
		g_string_free(want, TRUE);
	}
}

/* every byte value at every position: accepted exactly for 0-9 a-f A-F */
static void
test_key_hex_exhaustive(void)
{
	guint8 key[WR_KEY_BYTES];
	char hex[WR_KEY_HEX_LEN + 1];

	wr_random_bytes(key, sizeof(key));
	wr_key_to_hex(hex, key);
	for (gsize pos = 0; pos < WR_KEY_HEX_LEN; pos++) {
		for (guint c = 1; c < 256; c++) {
			char text[WR_KEY_HEX_LEN + 1];
			guint8 out[WR_KEY_BYTES];
			gint v = g_ascii_xdigit_value((gchar) c);

			memcpy(text, hex, sizeof(text));
			text[pos] = (char) c;
			memset(out, 0xaa, sizeof(out));
			if (v >= 0) {
				guint8 want[WR_KEY_BYTES];

				memcpy(want, key, sizeof(want));
				if (pos % 2 == 0)
					want[pos / 2] = (guint8) ((v << 4) | (key[pos / 2] & 0xf));
				else
					want[pos / 2] = (guint8) ((key[pos / 2] & 0xf0) | v);
				g_assert_true(wr_key_from_hex(out, text));
				g_assert_cmpmem(out, sizeof(out), want, sizeof(want));
			} else {
				g_assert_false(wr_key_from_hex(out, text));
				assert_untouched(out);
			}
		}
	}
}

static void
test_key_text(void)
{
	const struct {
		WrKeyKind kind;
		const char *prefix;
	} kinds[] = {
		{WR_KEY_KIND_MACHINE, "mkey:"},
		{WR_KEY_KIND_NODE, "nodekey:"},
		{WR_KEY_KIND_DISCO, "discokey:"},
		{WR_KEY_KIND_PRIVATE, "privkey:"},
	};
	const char *hex = "1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c";
	guint8 key[WR_KEY_BYTES];

	unhex(hex, key, sizeof(key));
	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		g_autofree gchar *text = wr_key_to_text(kinds[i].kind, key);
		g_autofree gchar *want = g_strconcat(kinds[i].prefix, hex, NULL);
		g_autofree gchar *upper = g_ascii_strup(want, -1);
		g_autofree gchar *upper_hex =
			g_strconcat(kinds[i].prefix, "1176DB40", hex + 8, NULL);
		g_autofree gchar *short_text = g_strndup(want, strlen(want) - 1);
		g_autofree gchar *long_text = g_strconcat(want, "0", NULL);
		g_autofree gchar *spaced = g_strconcat(kinds[i].prefix, " ", hex, NULL);
		g_autofree gchar *no_colon = g_strdup(want);
		guint8 out[WR_KEY_BYTES];

		g_assert_cmpstr(wr_key_kind_prefix(kinds[i].kind), ==, kinds[i].prefix);
		g_assert_cmpstr(text, ==, want);
		g_assert_true(wr_key_from_text(out, kinds[i].kind, text));
		g_assert_cmpmem(out, sizeof(out), key, sizeof(key));

		memset(out, 0xaa, sizeof(out));
		no_colon[strlen(kinds[i].prefix) - 1] = '-';
		g_assert_false(wr_key_from_text(out, kinds[i].kind, no_colon));
		/* every other kind's prefix is wrong */
		for (gsize j = 0; j < G_N_ELEMENTS(kinds); j++) {
			if (j != i)
				g_assert_false(wr_key_from_text(out, kinds[j].kind, text));
		}
		/* no prefix, an uppercase prefix or uppercase hex, wrong lengths, base64 */
		g_assert_false(wr_key_from_text(out, kinds[i].kind, hex));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, upper));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, upper_hex));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, short_text));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, long_text));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, spaced));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, kinds[i].prefix));
		g_assert_false(wr_key_from_text(out, kinds[i].kind, ""));
		assert_untouched(out);
	}
	{
		guint8 out[WR_KEY_BYTES];

		memset(out, 0xaa, sizeof(out));
		g_assert_false(
			wr_key_from_text(out, WR_KEY_KIND_NODE,
					 "nodekey:EXbbQKUKb9Q5ngNozTKX/GHGK5D1Wr8kie5TuB2C50w="));
		/* "mkey:" is not a prefix of "nodekey:" and the like, nor the reverse */
		g_assert_false(wr_key_from_text(
			out, WR_KEY_KIND_MACHINE,
			"xmkey:1176db40a50a6fd4399e0368cd3297fc61c62b90f55abf2489ee53b81d82e74c"));
		assert_untouched(out);
	}
}

static void
test_key_is_zero(void)
{
	guint8 key[WR_KEY_BYTES] = {0};

	g_assert_true(wr_key_is_zero(key));
	for (gsize i = 0; i < sizeof(key); i++) {
		key[i] = 1;
		g_assert_false(wr_key_is_zero(key));
		key[i] = 0;
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/key/base64-vectors", test_key_base64_vectors);
	g_test_add_func("/warren/key/base64-round-trip", test_key_base64_round_trip);
	g_test_add_func("/warren/key/base64-reject", test_key_base64_reject);
	g_test_add_func("/warren/key/base64-exhaustive", test_key_base64_exhaustive);
	g_test_add_func("/warren/key/hex", test_key_hex);
	g_test_add_func("/warren/key/hex-exhaustive", test_key_hex_exhaustive);
	g_test_add_func("/warren/key/text", test_key_text);
	g_test_add_func("/warren/key/is-zero", test_key_is_zero);
	return g_test_run();
}
