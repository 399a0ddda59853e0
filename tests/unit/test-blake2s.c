/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestBlake2s"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-blake2s.h"
#include "wr-crypto.h"
#include "wr-test-util.h"

/*
 * Expected values not taken from an RFC or from the BLAKE2 reference were computed with
 * Python's hashlib and hmac (an independent implementation), e.g.
 *   hashlib.blake2s(data, digest_size=outlen, key=key).hexdigest()
 *   hmac.new(key, data, hashlib.blake2s).hexdigest()
 * over the patterned buffers that pattern() below builds.
 */

#define KAT_KEY_LEN 32
#define KAT_MAX_IN  256

/* RFC 7693 Appendix B: BLAKE2s-256("abc") */
static void
test_blake2s_rfc7693(void)
{
	guint8 out[WR_BLAKE2S_HASH_SIZE];

	wr_blake2s(out, sizeof(out), "abc", 3, NULL, 0);
	assert_hex_eq(out, sizeof(out),
		      "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	wr_hash(out, "abc", 3);
	assert_hex_eq(out, sizeof(out),
		      "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

/*
 * tests/data/blake2s-kat.txt is testvectors/blake2s-kat.txt of github.com/BLAKE2/BLAKE2
 * (CC0, commit ed1974ea), every entry also checked against hashlib.blake2s: 256 keyed
 * hashes, key 00..1f, input 00..(n-1) for n = 0..255
 */
static void
test_blake2s_keyed_kat(void)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *contents = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GError) error = NULL;
	guint8 in[KAT_MAX_IN];
	guint8 key[KAT_KEY_LEN];
	guint8 expected[WR_BLAKE2S_HASH_SIZE];
	gsize in_len = 0;
	gsize key_len = 0;
	guint n = 0;

	path = g_test_build_filename(G_TEST_DIST, "data", "blake2s-kat.txt", NULL);
	(void) g_file_get_contents(path, &contents, NULL, &error);
	g_assert_no_error(error);

	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const char *line = lines[i];

		if (g_str_has_prefix(line, "in:\t")) {
			in_len = unhex(line + 4, in, sizeof(in));
		} else if (g_str_has_prefix(line, "key:\t")) {
			key_len = unhex(line + 5, key, sizeof(key));
		} else if (g_str_has_prefix(line, "hash:\t")) {
			guint8 want_in[KAT_MAX_IN];
			guint8 want_key[KAT_KEY_LEN];
			guint8 out[WR_BLAKE2S_HASH_SIZE];

			/* the file really is the reference KAT: input and key follow its form */
			pattern(want_in, n, 1, 0);
			pattern(want_key, sizeof(want_key), 1, 0);
			g_assert_cmpuint(in_len, ==, n);
			g_assert_cmpmem(in, in_len, want_in, n);
			g_assert_cmpmem(key, key_len, want_key, sizeof(want_key));

			g_assert_cmpuint(unhex(line + 6, expected, sizeof(expected)), ==,
					 sizeof(expected));
			wr_blake2s(out, sizeof(out), in, in_len, key, key_len);
			g_assert_cmpmem(out, sizeof(out), expected, sizeof(expected));
			n++;
		}
	}
	/* every length 0..255, so 0, 1, 63, 64, 65 and 255 among them */
	g_assert_cmpuint(n, ==, KAT_MAX_IN);
}

/* outputs shorter than 32 bytes and keys shorter than 32 bytes change the parameter block */
static void
test_blake2s_lengths(void)
{
	const struct {
		gsize in_len;
		gsize out_len;
		gsize key_len;
		const char *hex;
	} vectors[] = {
		{0, 32, 0, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"},
		{1, 32, 0, "4a65c7f455e91fffa9d44672962567f030babb13183aa95d0e8f0a9cac3d3c37"},
		{64, 32, 0, "7c5734e1bdfe80a6d028b3204635d6ade499b0702c20f41b9739f0230ab8b8b3"},
		{65, 32, 0, "83c631f8d41064a25e65e84a1d99c957f24997392368c62fce4811b0bec4e72a"},
		{200, 32, 0, "81a7d81e0049db9695f1b9e72bd188097ec3f0c5eca73b89808cfe1fec1e895a"},
		{3, 16, 0, "733513a1f74915eb29ab914d049e69e5"},
		{100, 16, 32, "96c0805d26588da600d60c5d62d7837b"},
		{64, 1, 0, "c5"},
		{64, 20, 1, "f71a7e3b33facf42608b05cda4d80b9185c2ba9e"},
		{129, 31, 16, "fa7dfb339344412a8ff4df83143f4e99e72d54c597657b8d881b7f9e7e857e"},
		{0, 16, 32, "99e8b26f21ad249a22849abf7c73666e"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 in[200];
		guint8 key[WR_BLAKE2S_KEY_SIZE];
		guint8 out[WR_BLAKE2S_HASH_SIZE + 1];

		pattern(in, vectors[i].in_len, 13, 5);
		pattern(key, vectors[i].key_len, 7, 3);
		/* a sentinel after the output: exactly out_len bytes are written */
		memset(out, 0xaa, sizeof(out));
		wr_blake2s(out, vectors[i].out_len, in, vectors[i].in_len,
			   vectors[i].key_len > 0 ? key : NULL, vectors[i].key_len);
		assert_hex_eq(out, vectors[i].out_len, vectors[i].hex);
		g_assert_cmpuint(out[vectors[i].out_len], ==, 0xaa);
	}
}

/* feeding the input in chunks of any size, including empty ones, gives the one-shot hash */
static void
test_blake2s_streaming(void)
{
	const gsize chunk_sizes[] = {1, 2, 3, 7, 13, 31, 32, 33, 63, 64, 65, 127, 128, 129, 500};
	const gsize total_lens[] = {0, 1, 63, 64, 65, 128, 129, 255, 256, 1000};
	guint8 in[1000];
	guint8 key[WR_BLAKE2S_KEY_SIZE];

	pattern(in, sizeof(in), 31, 7);
	pattern(key, sizeof(key), 1, 0);

	for (gsize t = 0; t < G_N_ELEMENTS(total_lens); t++) {
		gsize total = total_lens[t];
		guint8 one_shot[WR_BLAKE2S_HASH_SIZE];
		guint8 one_shot_keyed[WR_BLAKE2S_HASH_SIZE];

		wr_blake2s(one_shot, sizeof(one_shot), in, total, NULL, 0);
		wr_blake2s(one_shot_keyed, sizeof(one_shot_keyed), in, total, key, sizeof(key));

		for (gsize c = 0; c < G_N_ELEMENTS(chunk_sizes); c++) {
			WrBlake2s state;
			WrBlake2s state_keyed;
			guint8 out[WR_BLAKE2S_HASH_SIZE];
			guint8 out_keyed[WR_BLAKE2S_HASH_SIZE];

			wr_blake2s_init(&state, sizeof(out));
			wr_blake2s_init_key(&state_keyed, sizeof(out_keyed), key, sizeof(key));
			for (gsize off = 0; off < total;) {
				gsize n = MIN(chunk_sizes[c], total - off);

				wr_blake2s_update(&state, in + off, n);
				wr_blake2s_update(&state, in + off + n, 0);
				wr_blake2s_update(&state_keyed, in + off, n);
				off += n;
			}
			wr_blake2s_final(&state, out);
			wr_blake2s_final(&state_keyed, out_keyed);
			g_assert_cmpmem(out, sizeof(out), one_shot, sizeof(one_shot));
			g_assert_cmpmem(out_keyed, sizeof(out_keyed), one_shot_keyed,
					sizeof(one_shot_keyed));
			/* final wipes the state */
			g_assert_true(wr_is_zero(&state, sizeof(state)));
		}
	}
}

/* RFC 2104 over BLAKE2s, against Python's hmac.new(key, data, hashlib.blake2s) */
static void
test_blake2s_hmac(void)
{
	const struct {
		gsize key_len;
		gsize in_len;
		const char *hex;
	} vectors[] = {
		{0, 0, "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd"},
		{1, 3, "fe65011f8a045410a47ffcc3223d4bda48a4b8e3fd9af4dd851eb7a6683f087e"},
		{32, 0, "d7d7954044a8d688f702921f75f8ca1065e4979fcbe930f6e23c8df67614a3ae"},
		{32, 32, "9f62cee83914e2efc177b2ff3c9f545b29d9699d943dd2ba761285f8d6621150"},
		{32, 33, "1f4fc1f85f6deb06d452751af2b2beb33f0d5c6622e6ef3d2532e9f436b2e6bb"},
		{63, 64, "3ee62b5e09e89cea52dc4ead9aa170332b804bacf1b2b784fd13022a17b389d1"},
		{64, 65, "bce29760cb289f203076dfa89e50a07c2f3d1bc9f73b6e0dd504ad4feb27b306"},
		/* keys longer than the 64-byte block are hashed first */
		{65, 1, "161c0935f5dde7e2327bf74dda18646aeeed5ba9962a6accaa59bf931878158e"},
		{100, 200, "93c254d7ae64609a14e5c89ad430ee0a2f57df9fc339f44143a6014737857493"},
		{200, 64, "cc9f32dc9183e38b2e7b2b32f22798de4e2eba3bb9b360a36aae98b7ffe21889"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 key[200];
		guint8 in[200];
		guint8 out[WR_BLAKE2S_HASH_SIZE];
		guint8 buf[200];

		pattern(key, vectors[i].key_len, 7, 3);
		pattern(in, vectors[i].in_len, 13, 5);
		wr_blake2s_hmac(out, in, vectors[i].in_len, vectors[i].key_len > 0 ? key : NULL,
				vectors[i].key_len);
		assert_hex_eq(out, sizeof(out), vectors[i].hex);

		/* the output may overwrite the input, as the KDF's chaining does */
		if (vectors[i].in_len >= sizeof(out)) {
			memcpy(buf, in, vectors[i].in_len);
			wr_blake2s_hmac(buf, buf, vectors[i].in_len, key, vectors[i].key_len);
			assert_hex_eq(buf, sizeof(out), vectors[i].hex);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/blake2s/rfc7693", test_blake2s_rfc7693);
	g_test_add_func("/warren/blake2s/keyed-kat", test_blake2s_keyed_kat);
	g_test_add_func("/warren/blake2s/lengths", test_blake2s_lengths);
	g_test_add_func("/warren/blake2s/streaming", test_blake2s_streaming);
	g_test_add_func("/warren/blake2s/hmac", test_blake2s_hmac);
	return g_test_run();
}
