/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestCrypto"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-test-util.h"

/*
 * Vectors come from RFC 7748, RFC 8439 and draft-irtf-cfrg-xchacha-03.  The others were
 * computed with an independent implementation through Python: OpenSSL's ChaCha20-Poly1305
 * and X25519 (python3-cryptography) and hashlib/hmac for BLAKE2s, e.g.
 *   ChaCha20Poly1305(key).encrypt(b"\0" * 4 + counter.to_bytes(8, "little"), pt, ad)
 *   H = lambda k, d: hmac.new(k, d, hashlib.blake2s).digest()
 */

#define LADIES_LEN 114

/* RFC 7748 §5.2 (both single-step vectors) and §6.1 (the Diffie-Hellman example) */
static void
test_crypto_x25519_rfc7748(void)
{
	const struct {
		const char *scalar;
		const char *point;
		const char *out;
	} vectors[] = {
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		 "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		 "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		 "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		 "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	};
	guint8 alice[WR_CRYPTO_KEY_LEN];
	guint8 bob[WR_CRYPTO_KEY_LEN];
	guint8 alice_pub[WR_CRYPTO_KEY_LEN];
	guint8 bob_pub[WR_CRYPTO_KEY_LEN];
	guint8 shared[WR_CRYPTO_KEY_LEN];

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 scalar[WR_CRYPTO_KEY_LEN];
		guint8 point[WR_CRYPTO_KEY_LEN];
		guint8 out[WR_CRYPTO_KEY_LEN];

		unhex(vectors[i].scalar, scalar, sizeof(scalar));
		unhex(vectors[i].point, point, sizeof(point));
		g_assert_true(wr_x25519(out, scalar, point));
		assert_hex_eq(out, sizeof(out), vectors[i].out);
	}

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", alice,
	      sizeof(alice));
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", bob, sizeof(bob));
	g_assert_true(wr_x25519_public(alice_pub, alice));
	assert_hex_eq(alice_pub, sizeof(alice_pub),
		      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	g_assert_true(wr_x25519_public(bob_pub, bob));
	assert_hex_eq(bob_pub, sizeof(bob_pub),
		      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	g_assert_true(wr_x25519(shared, alice, bob_pub));
	assert_hex_eq(shared, sizeof(shared),
		      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	g_assert_true(wr_x25519(shared, bob, alice_pub));
	assert_hex_eq(shared, sizeof(shared),
		      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

/* points of small order give an all-zero shared secret: a failure, with a zeroed output */
static void
test_crypto_x25519_low_order(void)
{
	const char *points[] = {
		/* 0 and 1 */
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		/* points of order 8 */
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		/* p - 1, p and p + 1 */
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	guint8 scalar[WR_CRYPTO_KEY_LEN];

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", scalar,
	      sizeof(scalar));
	for (gsize i = 0; i < G_N_ELEMENTS(points); i++) {
		guint8 point[WR_CRYPTO_KEY_LEN];
		guint8 out[WR_CRYPTO_KEY_LEN];

		unhex(points[i], point, sizeof(point));
		memset(out, 0xaa, sizeof(out));
		g_assert_false(wr_x25519(out, scalar, point));
		g_assert_true(wr_is_zero(out, sizeof(out)));
	}
}

static void
test_crypto_x25519_generate(void)
{
	guint8 a_priv[WR_CRYPTO_KEY_LEN];
	guint8 a_pub[WR_CRYPTO_KEY_LEN];
	guint8 b_priv[WR_CRYPTO_KEY_LEN];
	guint8 b_pub[WR_CRYPTO_KEY_LEN];
	guint8 pub[WR_CRYPTO_KEY_LEN];
	guint8 ab[WR_CRYPTO_KEY_LEN];
	guint8 ba[WR_CRYPTO_KEY_LEN];
	guint8 zero[WR_CRYPTO_KEY_LEN] = {0};

	wr_x25519_generate(a_priv, a_pub);
	wr_x25519_generate(b_priv, b_pub);
	g_assert_false(wr_memeq(a_priv, b_priv, sizeof(a_priv)));

	/* generated keys are clamped */
	g_assert_cmpuint(a_priv[0] & 7, ==, 0);
	g_assert_cmpuint(a_priv[31] & 0xc0, ==, 0x40);

	g_assert_true(wr_x25519_public(pub, a_priv));
	g_assert_cmpmem(pub, sizeof(pub), a_pub, sizeof(a_pub));
	g_assert_true(wr_x25519(ab, a_priv, b_pub));
	g_assert_true(wr_x25519(ba, b_priv, a_pub));
	g_assert_cmpmem(ab, sizeof(ab), ba, sizeof(ba));

	/* an all-zero private key has no public key, and the output is left alone */
	memset(pub, 0xaa, sizeof(pub));
	g_assert_false(wr_x25519_public(pub, zero));
	for (gsize i = 0; i < sizeof(pub); i++)
		g_assert_cmpuint(pub[i], ==, 0xaa);
}

static void
test_crypto_x25519_clamp(void)
{
	guint8 key[WR_CRYPTO_KEY_LEN];

	memset(key, 0xff, sizeof(key));
	wr_x25519_clamp(key);
	assert_hex_eq(key, sizeof(key),
		      "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	memset(key, 0, sizeof(key));
	wr_x25519_clamp(key);
	assert_hex_eq(key, sizeof(key),
		      "0000000000000000000000000000000000000000000000000000000000000040");
}

/*
 * RFC 8439 Appendix A.5: its nonce 00000000 0102030405060708 is already of WireGuard's
 * form, 4 zero bytes then the little-endian counter 0x0807060504030201
 */
#define A5_KEY "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"
#define A5_AD  "f33388860000000000004e91"
#define A5_CIPHERTEXT                                                                              \
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e" \
	"3"                                                                                        \
	"82d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd6" \
	"0f"                                                                                       \
	"982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b8" \
	"04"                                                                                       \
	"d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072" \
	"b0"                                                                                       \
	"4b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1" \
	"04"                                                                                       \
	"9e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b"
#define A5_TAG "eead9d67890cbb22392336fea1851f38"
#define A5_PLAINTEXT                                                                              \
	"Internet-Drafts are draft documents valid for a maximum of six months and may be "       \
	"updated, replaced, or obsoleted by other documents at any time. It is inappropriate to " \
	"use Internet-Drafts as reference material or to cite them other than as "                \
	"/\xe2\x80\x9cwork in progress./\xe2\x80\x9d"
#define A5_NONCE G_GUINT64_CONSTANT(0x0807060504030201)

static void
test_crypto_aead_rfc8439(void)
{
	guint8 key[WR_CRYPTO_KEY_LEN];
	guint8 ad[12];
	guint8 sealed[265 + WR_CRYPTO_TAG_LEN];
	guint8 out[265 + WR_CRYPTO_TAG_LEN];
	gsize ct_len;

	unhex(A5_KEY, key, sizeof(key));
	unhex(A5_AD, ad, sizeof(ad));
	ct_len = unhex(A5_CIPHERTEXT, sealed, sizeof(sealed));
	g_assert_cmpuint(ct_len, ==, strlen(A5_PLAINTEXT));
	unhex(A5_TAG, sealed + ct_len, WR_CRYPTO_TAG_LEN);

	g_assert_true(wr_aead_decrypt(out, sealed, sizeof(sealed), ad, sizeof(ad), A5_NONCE, key));
	g_assert_cmpmem(out, ct_len, A5_PLAINTEXT, ct_len);

	wr_aead_encrypt(out, (const guint8 *) A5_PLAINTEXT, ct_len, ad, sizeof(ad), A5_NONCE, key);
	g_assert_cmpmem(out, sizeof(out), sealed, sizeof(sealed));
}

/*
 * RFC 8439 §2.8.2's key, AD and plaintext; its nonce (07000000 4041424344454647) cannot be
 * expressed in WireGuard's form, so the expected outputs are OpenSSL's for WireGuard nonces
 */
#define LADIES_KEY "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
#define LADIES_AD  "50515253c0c1c2c3c4c5c6c7"
#define LADIES_PLAINTEXT                                                                       \
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the " \
	"future, sunscreen would be it."

static void
test_crypto_aead_wg_nonce(void)
{
	const struct {
		guint64 counter;
		const char *sealed;
	} vectors[] = {
		{0,
		 "663d7ec45b29ceaaa35505b8c1b3d94613a50fd7e315a748d35a378670746af867ab3404fe7b7655b"
		 "904162b408190f3f8c781815bb8724e4ac22ea6351d38468cd370aa8ffb19e96edc915893cc6e18"
		 "61c2af01ab0fb02df97ea145499bb87d44ec7d738272327290570a03658b27b116665c21ea189f9"
		 "450ff121509fd8142befc"},
		{1,
		 "af7010641b0c07870c61fa51ef1af2867c2249b03f466826b4fc74ef71d8eebc3d7d03d408fbc5a69"
		 "c28a1f237a6be6387273db104002a892278305905a3c55845adcffe878ddbe19d2115ab93a373ac"
		 "405212f8baf098ce405cb46395c59b5213cd6afa4dea5ed377ecb2bfa4cfdce9716109473dbdcf1"
		 "54e6e253e747918368410"},
		{G_MAXUINT64, "7a8504618e7027256037184537917cc08b5a923b84f8ca5c4185d75a168be5ad1442"
			      "62ac63df922667"
			      "cd9c14e25e9431d4519ca850b5ec79019536352c8aaaa9d4d40423ca0c9f340014c3"
			      "ce2504bb48453e"
			      "7af3b80ccd408d988c1430638529d00ba0b54147da56703f7f710c18d9df54f4a064"
			      "3760c61c5b39f7"
			      "bef40c3b11ad7b"},
	};
	guint8 key[WR_CRYPTO_KEY_LEN];
	guint8 ad[12];
	guint8 tag[WR_CRYPTO_TAG_LEN];

	g_assert_cmpuint(strlen(LADIES_PLAINTEXT), ==, LADIES_LEN);
	unhex(LADIES_KEY, key, sizeof(key));
	unhex(LADIES_AD, ad, sizeof(ad));

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 sealed[LADIES_LEN + WR_CRYPTO_TAG_LEN];
		guint8 opened[LADIES_LEN];

		wr_aead_encrypt(sealed, (const guint8 *) LADIES_PLAINTEXT, LADIES_LEN, ad,
				sizeof(ad), vectors[i].counter, key);
		assert_hex_eq(sealed, sizeof(sealed), vectors[i].sealed);
		g_assert_true(wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad),
					      vectors[i].counter, key));
		g_assert_cmpmem(opened, sizeof(opened), LADIES_PLAINTEXT, LADIES_LEN);
	}

	/* a keepalive: no plaintext, no AD, only the tag */
	wr_aead_encrypt(tag, NULL, 0, NULL, 0, 5, key);
	assert_hex_eq(tag, sizeof(tag), "087f5df1cd4921a6ba7ccd772bcf8e9a");
	g_assert_true(wr_aead_decrypt(NULL, tag, sizeof(tag), NULL, 0, 5, key));
	g_assert_false(wr_aead_decrypt(NULL, tag, sizeof(tag), NULL, 0, 6, key));
}

static void
test_crypto_aead_tamper(void)
{
	guint8 key[WR_CRYPTO_KEY_LEN];
	guint8 other_key[WR_CRYPTO_KEY_LEN];
	guint8 ad[12];
	guint8 sealed[LADIES_LEN + WR_CRYPTO_TAG_LEN];
	guint8 opened[LADIES_LEN];
	const guint64 counter = 42;

	unhex(LADIES_KEY, key, sizeof(key));
	memcpy(other_key, key, sizeof(key));
	other_key[0] ^= 1;
	unhex(LADIES_AD, ad, sizeof(ad));
	wr_aead_encrypt(sealed, (const guint8 *) LADIES_PLAINTEXT, LADIES_LEN, ad, sizeof(ad),
			counter, key);
	g_assert_true(
		wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));

	/* any flipped bit of ciphertext or tag */
	for (gsize i = 0; i < sizeof(sealed); i++) {
		for (guint bit = 0; bit < 8; bit++) {
			sealed[i] ^= (guint8) (1U << bit);
			g_assert_false(wr_aead_decrypt(opened, sealed, sizeof(sealed), ad,
						       sizeof(ad), counter, key));
			sealed[i] ^= (guint8) (1U << bit);
		}
	}
	/* the AD, the counter, the key */
	ad[3] ^= 0x80;
	g_assert_false(
		wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));
	ad[3] ^= 0x80;
	g_assert_false(
		wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), counter + 1, key));
	g_assert_false(wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad),
				       counter | (G_GUINT64_CONSTANT(1) << 63), key));
	g_assert_false(wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), counter,
				       other_key));
	/* a truncated message, and inputs shorter than a tag */
	g_assert_false(
		wr_aead_decrypt(opened, sealed, sizeof(sealed) - 1, ad, sizeof(ad), counter, key));
	g_assert_false(wr_aead_decrypt(opened, sealed, WR_CRYPTO_TAG_LEN - 1, ad, sizeof(ad),
				       counter, key));
	g_assert_false(wr_aead_decrypt(opened, sealed, 0, ad, sizeof(ad), counter, key));
	/* and it still opens once restored */
	g_assert_true(
		wr_aead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));
	g_assert_cmpmem(opened, sizeof(opened), LADIES_PLAINTEXT, LADIES_LEN);
}

/* the data path encrypts and decrypts in the packet buffer itself */
static void
test_crypto_aead_in_place(void)
{
	const gsize lengths[] = {0, 1, 15, 16, 17, 63, 64, 65, 1420};
	guint8 key[WR_CRYPTO_KEY_LEN];

	pattern(key, sizeof(key), 3, 1);
	for (gsize i = 0; i < G_N_ELEMENTS(lengths); i++) {
		gsize len = lengths[i];
		g_autofree guint8 *plain = g_malloc(len + 1);
		g_autofree guint8 *sealed = g_malloc(len + WR_CRYPTO_TAG_LEN);
		g_autofree guint8 *buf = g_malloc(len + WR_CRYPTO_TAG_LEN);

		pattern(plain, len, 11, 2);
		wr_aead_encrypt(sealed, plain, len, NULL, 0, i, key);

		memcpy(buf, plain, len);
		wr_aead_encrypt(buf, buf, len, NULL, 0, i, key);
		g_assert_cmpmem(buf, len + WR_CRYPTO_TAG_LEN, sealed, len + WR_CRYPTO_TAG_LEN);

		g_assert_true(wr_aead_decrypt(buf, buf, len + WR_CRYPTO_TAG_LEN, NULL, 0, i, key));
		g_assert_cmpmem(buf, len, plain, len);
	}
}

/* draft-irtf-cfrg-xchacha-03 Appendix A.3.1 */
static void
test_crypto_xaead(void)
{
	const char *expected = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731"
			       "c7f1b0b4aa6440bf3a8"
			       "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b98"
			       "2c1bb9e3f3fac2bc369"
			       "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
			       "c0875924c1c7987947deafd8780acf49";
	guint8 key[WR_CRYPTO_KEY_LEN];
	guint8 nonce[WR_CRYPTO_XNONCE_LEN];
	guint8 ad[12];
	guint8 sealed[LADIES_LEN + WR_CRYPTO_TAG_LEN];
	guint8 buf[LADIES_LEN + WR_CRYPTO_TAG_LEN];
	guint8 opened[LADIES_LEN];

	unhex(LADIES_KEY, key, sizeof(key));
	unhex("404142434445464748494a4b4c4d4e4f5051525354555657", nonce, sizeof(nonce));
	unhex(LADIES_AD, ad, sizeof(ad));

	wr_xaead_encrypt(sealed, (const guint8 *) LADIES_PLAINTEXT, LADIES_LEN, ad, sizeof(ad),
			 nonce, key);
	assert_hex_eq(sealed, sizeof(sealed), expected);
	g_assert_true(wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key));
	g_assert_cmpmem(opened, sizeof(opened), LADIES_PLAINTEXT, LADIES_LEN);

	/* in place */
	memcpy(buf, LADIES_PLAINTEXT, LADIES_LEN);
	wr_xaead_encrypt(buf, buf, LADIES_LEN, ad, sizeof(ad), nonce, key);
	g_assert_cmpmem(buf, sizeof(buf), sealed, sizeof(sealed));
	g_assert_true(wr_xaead_decrypt(buf, buf, sizeof(buf), ad, sizeof(ad), nonce, key));
	g_assert_cmpmem(buf, LADIES_LEN, LADIES_PLAINTEXT, LADIES_LEN);

	/* tampering */
	sealed[sizeof(sealed) - 1] ^= 1;
	g_assert_false(
		wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key));
	sealed[sizeof(sealed) - 1] ^= 1;
	sealed[0] ^= 1;
	g_assert_false(
		wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key));
	sealed[0] ^= 1;
	nonce[23] ^= 1;
	g_assert_false(
		wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key));
	nonce[23] ^= 1;
	g_assert_false(
		wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad) - 1, nonce, key));
	g_assert_false(wr_xaead_decrypt(opened, sealed, WR_CRYPTO_TAG_LEN - 1, ad, sizeof(ad),
					nonce, key));
	g_assert_true(wr_xaead_decrypt(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key));
}

/* wr_hash is RFC 7693's BLAKE2s-256; wr_mac is keyed BLAKE2s-128, checked with hashlib */
static void
test_crypto_hash_mac(void)
{
	guint8 hash[32];
	guint8 mac[16 + 1];
	guint8 key[32];
	guint8 in[100];

	wr_hash(hash, "abc", 3);
	assert_hex_eq(hash, sizeof(hash),
		      "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");

	pattern(key, sizeof(key), 7, 3);
	pattern(in, sizeof(in), 13, 5);
	memset(mac, 0xaa, sizeof(mac));
	wr_mac(mac, in, sizeof(in), key, sizeof(key));
	assert_hex_eq(mac, 16, "96c0805d26588da600d60c5d62d7837b");
	g_assert_cmpuint(mac[16], ==, 0xaa);
	wr_mac(mac, NULL, 0, key, sizeof(key));
	assert_hex_eq(mac, 16, "99e8b26f21ad249a22849abf7c73666e");
}

/* chaining key pattern(32, 7, 3), data pattern(n, 13, 5); τ1, τ2, τ3 from Python's hmac */
static void
test_crypto_kdf(void)
{
	const struct {
		gsize data_len;
		const char *t1;
		const char *t2;
		const char *t3;
	} vectors[] = {
		{0, "496aeaedeeeefe03e531b662dc0e24abea1e823ec82139d3be872d9ae91bf23e",
		 "a7838d2a32fa536866ef113833f0c8c5a8577cc474374474f67b9e338f13b19b",
		 "790e04448fb9bf21ec0e4f88b17130be59d8fa2c739ff4a83ff34c1fee3e275b"},
		{32, "acc1a9de57c8d684b8f601b9671db313693ee0140fcb4f6046c1f63fbadd746f",
		 "d2ab64043234a1a5c674836676d8b9fe902fe448a98a8e6c2df66b57f037d1b9",
		 "06354fb43a464c2a09c266d2f05a5eb4213fe90a5e72da540fbe74a51e3dcc8f"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		gsize n = vectors[i].data_len;
		guint8 ck[32];
		guint8 data[32];
		guint8 t1[33];
		guint8 t2[33];
		guint8 t3[33];
		guint8 want[32];

		pattern(ck, sizeof(ck), 7, 3);
		pattern(data, n, 13, 5);

		/* one output */
		memset(t1, 0xaa, sizeof(t1));
		wr_kdf(t1, NULL, NULL, data, 32, 0, 0, n, ck);
		assert_hex_eq(t1, 32, vectors[i].t1);
		g_assert_cmpuint(t1[32], ==, 0xaa);

		/* two */
		memset(t1, 0xaa, sizeof(t1));
		memset(t2, 0xaa, sizeof(t2));
		wr_kdf(t1, t2, NULL, data, 32, 32, 0, n, ck);
		assert_hex_eq(t1, 32, vectors[i].t1);
		assert_hex_eq(t2, 32, vectors[i].t2);
		g_assert_cmpuint(t2[32], ==, 0xaa);

		/* three */
		memset(t3, 0xaa, sizeof(t3));
		wr_kdf(t1, t2, t3, data, 32, 32, 32, n, ck);
		assert_hex_eq(t1, 32, vectors[i].t1);
		assert_hex_eq(t2, 32, vectors[i].t2);
		assert_hex_eq(t3, 32, vectors[i].t3);
		g_assert_cmpuint(t3[32], ==, 0xaa);

		/* shorter outputs are prefixes, and nothing is written past them */
		memset(t1, 0xaa, sizeof(t1));
		memset(t2, 0xaa, sizeof(t2));
		memset(t3, 0xaa, sizeof(t3));
		wr_kdf(t1, t2, t3, data, 16, 1, 0, n, ck);
		unhex(vectors[i].t1, want, sizeof(want));
		g_assert_cmpmem(t1, 16, want, 16);
		g_assert_cmpuint(t1[16], ==, 0xaa);
		unhex(vectors[i].t2, want, sizeof(want));
		g_assert_cmpuint(t2[0], ==, want[0]);
		g_assert_cmpuint(t2[1], ==, 0xaa);
		g_assert_cmpuint(t3[0], ==, 0xaa);

		/* the handshake writes the new chaining key over the old one */
		wr_kdf(ck, t2, NULL, data, 32, 32, 0, n, ck);
		assert_hex_eq(ck, 32, vectors[i].t1);
		assert_hex_eq(t2, 32, vectors[i].t2);
	}
}

static void
test_crypto_memeq(void)
{
	guint8 a[64];
	guint8 b[64];
	guint8 zero[64] = {0};

	pattern(a, sizeof(a), 5, 9);
	memcpy(b, a, sizeof(b));
	g_assert_true(wr_memeq(a, b, sizeof(a)));
	g_assert_true(wr_memeq(a, b, 0));
	for (gsize i = 0; i < sizeof(b); i++) {
		b[i] ^= 0x01;
		g_assert_false(wr_memeq(a, b, sizeof(a)));
		b[i] ^= 0x81;
		g_assert_false(wr_memeq(a, b, sizeof(a)));
		b[i] ^= 0x80;
	}
	g_assert_true(wr_memeq(a, b, sizeof(a)));

	g_assert_true(wr_is_zero(zero, sizeof(zero)));
	g_assert_true(wr_is_zero(zero, 0));
	for (gsize i = 0; i < sizeof(zero); i++) {
		zero[i] = 0x80;
		g_assert_false(wr_is_zero(zero, sizeof(zero)));
		zero[i] = 0;
	}

	wr_memzero(a, sizeof(a));
	g_assert_true(wr_is_zero(a, sizeof(a)));
}

static void
test_crypto_random(void)
{
	guint8 a[64] = {0};
	guint8 b[64] = {0};
	guint seen[7] = {0};

	/* a false failure here has probability 2^-512 */
	wr_random_bytes(a, sizeof(a));
	wr_random_bytes(b, sizeof(b));
	g_assert_false(wr_is_zero(a, sizeof(a)));
	g_assert_false(wr_memeq(a, b, sizeof(a)));

	for (guint i = 0; i < 10000; i++) {
		guint32 v = wr_random_uniform(G_N_ELEMENTS(seen));

		g_assert_cmpuint(v, <, G_N_ELEMENTS(seen));
		seen[v]++;
	}
	/* each value is missed with probability (6/7)^10000 */
	for (guint i = 0; i < G_N_ELEMENTS(seen); i++)
		g_assert_cmpuint(seen[i], >, 0);
	for (guint i = 0; i < 100; i++)
		g_assert_cmpuint(wr_random_uniform(1), ==, 0);
	for (guint i = 0; i < 1000; i++)
		g_assert_cmpuint(wr_random_uniform(G_MAXUINT32), <, G_MAXUINT32);
	(void) wr_random_u32();
}

static void
test_crypto_secure_alloc(void)
{
	guint8 *p = wr_secure_alloc(WR_CRYPTO_KEY_LEN);

	g_assert_nonnull(p);
	memset(p, 0x5a, WR_CRYPTO_KEY_LEN);
	g_assert_cmpuint(p[WR_CRYPTO_KEY_LEN - 1], ==, 0x5a);
	wr_secure_free(p);
	wr_secure_free(NULL);
}

/* the SipHash paper's reference vectors: key 00..0f, input 00..(n-1) */
static void
test_crypto_siphash(void)
{
	const struct {
		gsize len;
		guint64 expected;
	} vectors[] = {
		{0, G_GUINT64_CONSTANT(0x726fdb47dd0e0e31)},
		{15, G_GUINT64_CONSTANT(0xa129ca6149be45e5)},
		{63, G_GUINT64_CONSTANT(0x958a324ceb064572)},
	};
	guint8 key[16];
	guint8 in[63];

	pattern(key, sizeof(key), 1, 0);
	pattern(in, sizeof(in), 1, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++)
		g_assert_cmphex(wr_siphash(key, in, vectors[i].len), ==, vectors[i].expected);
}

/*
 * the box example of "Cryptography in NaCl" (Bernstein), also libsodium's test/default/box.c:
 * Alice's secret key and Bob's public key are RFC 7748's, the 131-byte message is sealed with
 * the nonce below; the classic layout's 16 zero bytes are gone in the easy form, which is the
 * tag (f3ff…05d9) followed by the ciphertext
 */
#define NACL_ALICE_SK "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define NACL_ALICE_PK "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define NACL_BOB_SK   "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define NACL_BOB_PK   "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define NACL_NONCE    "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37"
#define NACL_SHARED   "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"
#define NACL_MSG                                                                                   \
	"be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d4" \
	"5e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a" \
	"024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705"
#define NACL_BOX                                                                                   \
	"f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c5" \
	"31a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8a" \
	"b932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622" \
	"a43d14a6599b1f654cb45a74e355a5"
#define NACL_MSG_LEN 131

static void
test_crypto_box_nacl_vector(void)
{
	guint8 alice_sk[WR_CRYPTO_KEY_LEN];
	guint8 alice_pk[WR_CRYPTO_KEY_LEN];
	guint8 bob_sk[WR_CRYPTO_KEY_LEN];
	guint8 bob_pk[WR_CRYPTO_KEY_LEN];
	guint8 nonce[WR_BOX_NONCE_LEN];
	guint8 msg[NACL_MSG_LEN];
	guint8 box[NACL_MSG_LEN + WR_BOX_TAG_LEN];
	guint8 out[NACL_MSG_LEN];
	guint8 shared_a[WR_CRYPTO_KEY_LEN];
	guint8 shared_b[WR_CRYPTO_KEY_LEN];

	unhex(NACL_ALICE_SK, alice_sk, sizeof(alice_sk));
	unhex(NACL_ALICE_PK, alice_pk, sizeof(alice_pk));
	unhex(NACL_BOB_SK, bob_sk, sizeof(bob_sk));
	unhex(NACL_BOB_PK, bob_pk, sizeof(bob_pk));
	unhex(NACL_NONCE, nonce, sizeof(nonce));
	g_assert_cmpuint(unhex(NACL_MSG, msg, sizeof(msg)), ==, NACL_MSG_LEN);

	/* one-shot, Alice to Bob */
	g_assert_true(wr_box_seal(box, msg, sizeof(msg), nonce, bob_pk, alice_sk));
	assert_hex_eq(box, sizeof(box), NACL_BOX);
	memset(out, 0, sizeof(out));
	g_assert_true(wr_box_open(out, box, sizeof(box), nonce, alice_pk, bob_sk));
	assert_hex_eq(out, sizeof(out), NACL_MSG);

	/* the precomputed key is the paper's and is the same from both sides */
	g_assert_true(wr_box_beforenm(shared_a, bob_pk, alice_sk));
	assert_hex_eq(shared_a, sizeof(shared_a), NACL_SHARED);
	g_assert_true(wr_box_beforenm(shared_b, alice_pk, bob_sk));
	assert_hex_eq(shared_b, sizeof(shared_b), NACL_SHARED);
	memset(box, 0, sizeof(box));
	wr_box_seal_afternm(box, msg, sizeof(msg), nonce, shared_a);
	assert_hex_eq(box, sizeof(box), NACL_BOX);
	memset(out, 0, sizeof(out));
	g_assert_true(wr_box_open_afternm(out, box, sizeof(box), nonce, shared_b));
	assert_hex_eq(out, sizeof(out), NACL_MSG);
}

/* fresh pairs both ways, every length around the Salsa20 block, and the empty message */
static void
test_crypto_box_roundtrip(void)
{
	guint8 a_sk[WR_CRYPTO_KEY_LEN];
	guint8 a_pk[WR_CRYPTO_KEY_LEN];
	guint8 b_sk[WR_CRYPTO_KEY_LEN];
	guint8 b_pk[WR_CRYPTO_KEY_LEN];
	guint8 nonce[WR_BOX_NONCE_LEN];
	guint8 msg[130];
	guint8 box[sizeof(msg) + WR_BOX_TAG_LEN];
	guint8 out[sizeof(msg)];
	guint8 shared[WR_CRYPTO_KEY_LEN];

	wr_x25519_generate(a_sk, a_pk);
	wr_x25519_generate(b_sk, b_pk);
	g_assert_true(wr_box_beforenm(shared, b_pk, a_sk));
	pattern(nonce, sizeof(nonce), 7, 3);
	pattern(msg, sizeof(msg), 11, 5);
	for (gsize len = 0; len <= sizeof(msg); len++) {
		g_assert_true(wr_box_seal(box, msg, len, nonce, b_pk, a_sk));
		memset(out, 0xaa, sizeof(out));
		g_assert_true(wr_box_open(out, box, len + WR_BOX_TAG_LEN, nonce, a_pk, b_sk));
		g_assert_cmpmem(out, len, msg, len);
		/* the unused rest of dst is not written */
		for (gsize i = len; i < sizeof(out); i++)
			g_assert_cmphex(out[i], ==, 0xaa);
		/* the other direction, with the precomputed key */
		wr_box_seal_afternm(box, msg, len, nonce, shared);
		g_assert_true(wr_box_open(out, box, len + WR_BOX_TAG_LEN, nonce, b_pk, a_sk));
		g_assert_cmpmem(out, len, msg, len);
	}
}

/* any flipped bit, a wrong nonce, a wrong key, a short box: false with dst untouched */
static void
test_crypto_box_reject(void)
{
	guint8 a_sk[WR_CRYPTO_KEY_LEN];
	guint8 a_pk[WR_CRYPTO_KEY_LEN];
	guint8 b_sk[WR_CRYPTO_KEY_LEN];
	guint8 b_pk[WR_CRYPTO_KEY_LEN];
	guint8 c_sk[WR_CRYPTO_KEY_LEN];
	guint8 c_pk[WR_CRYPTO_KEY_LEN];
	guint8 shared[WR_CRYPTO_KEY_LEN];
	guint8 nonce[WR_BOX_NONCE_LEN];
	guint8 msg[40];
	guint8 box[sizeof(msg) + WR_BOX_TAG_LEN];
	guint8 out[sizeof(msg)];
	guint8 untouched[sizeof(msg)];

	wr_x25519_generate(a_sk, a_pk);
	wr_x25519_generate(b_sk, b_pk);
	wr_x25519_generate(c_sk, c_pk);
	pattern(nonce, sizeof(nonce), 3, 1);
	pattern(msg, sizeof(msg), 5, 9);
	memset(untouched, 0x5c, sizeof(untouched));
	g_assert_true(wr_box_seal(box, msg, sizeof(msg), nonce, b_pk, a_sk));
	g_assert_true(wr_box_beforenm(shared, a_pk, b_sk));

	for (gsize i = 0; i < sizeof(box) * 8; i++) {
		box[i / 8] ^= (guint8) (1u << (i % 8));
		memcpy(out, untouched, sizeof(out));
		g_assert_false(wr_box_open(out, box, sizeof(box), nonce, a_pk, b_sk));
		g_assert_false(wr_box_open_afternm(out, box, sizeof(box), nonce, shared));
		g_assert_cmpmem(out, sizeof(out), untouched, sizeof(untouched));
		box[i / 8] ^= (guint8) (1u << (i % 8));
	}
	nonce[23] ^= 1;
	g_assert_false(wr_box_open(out, box, sizeof(box), nonce, a_pk, b_sk));
	nonce[23] ^= 1;
	/* a third party, or the right receiver believing the wrong sender */
	g_assert_false(wr_box_open(out, box, sizeof(box), nonce, a_pk, c_sk));
	g_assert_false(wr_box_open(out, box, sizeof(box), nonce, c_pk, b_sk));
	/* truncated, including shorter than the tag */
	for (gsize len = 0; len < sizeof(box); len++) {
		g_assert_false(wr_box_open(out, box, len, nonce, a_pk, b_sk));
		g_assert_false(wr_box_open_afternm(out, box, len, nonce, shared));
	}
	g_assert_cmpmem(out, sizeof(out), untouched, sizeof(untouched));
	/* and the untouched box still opens */
	g_assert_true(wr_box_open(out, box, sizeof(box), nonce, a_pk, b_sk));
	g_assert_cmpmem(out, sizeof(out), msg, sizeof(msg));
}

/* a low-order public key gives no shared key: seal and open refuse it */
static void
test_crypto_box_low_order(void)
{
	guint8 sk[WR_CRYPTO_KEY_LEN];
	guint8 pk[WR_CRYPTO_KEY_LEN];
	guint8 zero_pk[WR_CRYPTO_KEY_LEN] = {0};
	guint8 shared[WR_CRYPTO_KEY_LEN];
	guint8 nonce[WR_BOX_NONCE_LEN] = {0};
	guint8 msg[4] = {1, 2, 3, 4};
	guint8 box[sizeof(msg) + WR_BOX_TAG_LEN];
	guint8 out[sizeof(msg)];

	wr_x25519_generate(sk, pk);
	memset(shared, 0x77, sizeof(shared));
	g_assert_false(wr_box_beforenm(shared, zero_pk, sk));
	g_assert_true(wr_is_zero(shared, sizeof(shared)));
	memset(box, 0x33, sizeof(box));
	g_assert_false(wr_box_seal(box, msg, sizeof(msg), nonce, zero_pk, sk));
	for (gsize i = 0; i < sizeof(box); i++)
		g_assert_cmphex(box[i], ==, 0x33);
	g_assert_false(wr_box_open(out, box, sizeof(box), nonce, zero_pk, sk));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/crypto/x25519-rfc7748", test_crypto_x25519_rfc7748);
	g_test_add_func("/warren/crypto/x25519-low-order", test_crypto_x25519_low_order);
	g_test_add_func("/warren/crypto/x25519-generate", test_crypto_x25519_generate);
	g_test_add_func("/warren/crypto/x25519-clamp", test_crypto_x25519_clamp);
	g_test_add_func("/warren/crypto/aead-rfc8439", test_crypto_aead_rfc8439);
	g_test_add_func("/warren/crypto/aead-wg-nonce", test_crypto_aead_wg_nonce);
	g_test_add_func("/warren/crypto/aead-tamper", test_crypto_aead_tamper);
	g_test_add_func("/warren/crypto/aead-in-place", test_crypto_aead_in_place);
	g_test_add_func("/warren/crypto/xaead", test_crypto_xaead);
	g_test_add_func("/warren/crypto/hash-mac", test_crypto_hash_mac);
	g_test_add_func("/warren/crypto/kdf", test_crypto_kdf);
	g_test_add_func("/warren/crypto/memeq", test_crypto_memeq);
	g_test_add_func("/warren/crypto/random", test_crypto_random);
	g_test_add_func("/warren/crypto/secure-alloc", test_crypto_secure_alloc);
	g_test_add_func("/warren/crypto/siphash", test_crypto_siphash);
	g_test_add_func("/warren/crypto/box-nacl-vector", test_crypto_box_nacl_vector);
	g_test_add_func("/warren/crypto/box-roundtrip", test_crypto_box_roundtrip);
	g_test_add_func("/warren/crypto/box-reject", test_crypto_box_reject);
	g_test_add_func("/warren/crypto/box-low-order", test_crypto_box_low_order);
	return g_test_run();
}
