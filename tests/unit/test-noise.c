/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Noise_IKpsk2 handshake through its field API: both sides of a full handshake, every
 * way an initiation or a response must be refused, and a step-by-step recomputation of one
 * transcript from the whitepaper's formulas (§5.4.2 to §5.4.5) with an HMAC built here from
 * the plain hash, so that the keys do not only agree with each other but are the right ones.
 */

#define G_LOG_DOMAIN "WrNoiseTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-noise.h"
#include "wr-tai64n.h"

#define T0	  ((int64_t) 1000 * WR_USEC_PER_SEC)
#define REALTIME  ((int64_t) 1767225600 * WR_USEC_PER_SEC) /* 2026-01-01 */
#define FLOOD_GAP (WR_USEC_PER_SEC / INITIATIONS_PER_SECOND)

typedef struct {
	uint32_t sender_index;
	uint8_t ephemeral[WR_NOISE_PUBLIC_LEN];
	uint8_t encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN];
} Initiation;

typedef struct {
	uint32_t sender_index;
	uint8_t ephemeral[WR_NOISE_PUBLIC_LEN];
	uint8_t encrypted_nothing[WR_AUTHTAG_LEN];
} Response;

/* two identities and the handshake each keeps with the other */
typedef struct {
	WrNoiseStatic initiator;
	WrNoiseStatic responder;
	WrNoiseHandshake hs_i; /* the initiator's, towards the responder */
	WrNoiseHandshake hs_r; /* the responder's, towards the initiator */
	guint lookups;
	uint8_t looked_up[WR_KEY_LEN];
	bool lookup_fails;
} Pair;

static void
static_random(WrNoiseStatic *s)
{
	uint8_t private_key[WR_KEY_LEN];

	wr_random_bytes(private_key, sizeof(private_key));
	wr_noise_static_set_private(s, private_key);
	g_assert_true(s->has_identity);
	wr_memzero(private_key, sizeof(private_key));
}

static void
pair_init(Pair *p, const uint8_t *psk_i, const uint8_t *psk_r)
{
	memset(p, 0, sizeof(*p));
	static_random(&p->initiator);
	static_random(&p->responder);
	wr_noise_handshake_init(&p->hs_i, &p->initiator, p->responder.public_key, psk_i);
	wr_noise_handshake_init(&p->hs_r, &p->responder, p->initiator.public_key, psk_r);
	g_assert_cmpint(p->hs_i.state, ==, HANDSHAKE_ZEROED);
	g_assert_cmpint(p->hs_r.state, ==, HANDSHAKE_ZEROED);
	g_assert_cmpint(p->hs_r.last_initiation_consumption, ==, INT64_MIN);
}

static WrNoiseHandshake *
lookup_cb(const uint8_t remote_static[WR_KEY_LEN], void *user_data)
{
	Pair *p = user_data;

	p->lookups++;
	memcpy(p->looked_up, remote_static, WR_KEY_LEN);
	if (p->lookup_fails || memcmp(remote_static, p->initiator.public_key, WR_KEY_LEN) != 0)
		return NULL;
	return &p->hs_r;
}

static void
make_initiation(Pair *p, int64_t realtime, Initiation *out)
{
	uint8_t tai64n[WR_TIMESTAMP_LEN];

	wr_tai64n_from_realtime(tai64n, realtime);
	g_assert_true(wr_noise_create_initiation(&p->hs_i, &p->initiator, tai64n, out->ephemeral,
						 out->encrypted_static, out->encrypted_timestamp));
	g_assert_cmpint(p->hs_i.state, ==, HANDSHAKE_CREATED_INITIATION);
	out->sender_index = 0x11223344;
}

static WrNoiseHandshake *
consume_initiation(Pair *p, const Initiation *m, int64_t now)
{
	return wr_noise_consume_initiation(&p->responder, m->sender_index, m->ephemeral,
					   m->encrypted_static, m->encrypted_timestamp, lookup_cb,
					   p, now);
}

static void
make_response(Pair *p, Response *out)
{
	g_assert_true(wr_noise_create_response(&p->hs_r, &p->responder, out->ephemeral,
					       out->encrypted_nothing));
	g_assert_cmpint(p->hs_r.state, ==, HANDSHAKE_CREATED_RESPONSE);
	out->sender_index = 0x55667788;
}

static bool
consume_response(Pair *p, const Response *m)
{
	return wr_noise_consume_response(&p->hs_i, &p->initiator, m->sender_index, m->ephemeral,
					 m->encrypted_nothing);
}

static void
assert_session(WrKeypair *kp_i, WrKeypair *kp_r)
{
	g_assert_nonnull(kp_i);
	g_assert_nonnull(kp_r);
	g_assert_true(kp_i->i_am_the_initiator);
	g_assert_false(kp_r->i_am_the_initiator);
	g_assert_cmpmem(kp_i->sending_key, WR_SYMMETRIC_KEY_LEN, kp_r->receiving_key,
			WR_SYMMETRIC_KEY_LEN);
	g_assert_cmpmem(kp_i->receiving_key, WR_SYMMETRIC_KEY_LEN, kp_r->sending_key,
			WR_SYMMETRIC_KEY_LEN);
	/* the two directions never share a key */
	g_assert_false(memcmp(kp_i->sending_key, kp_i->receiving_key, WR_SYMMETRIC_KEY_LEN) == 0);
	g_assert_false(wr_is_zero(kp_i->sending_key, WR_SYMMETRIC_KEY_LEN));
	g_assert_true(kp_i->sending_valid && kp_i->receiving_valid);
	g_assert_true(kp_r->sending_valid && kp_r->receiving_valid);
	g_assert_cmpuint(kp_i->sending_counter, ==, 0);
	g_assert_cmpuint(kp_r->sending_counter, ==, 0);
	g_assert_cmpint(kp_i->refcount, ==, 1);
	g_assert_cmpint(kp_r->refcount, ==, 1);
}

/* one whole handshake; returns both keypairs */
static void
run_handshake(Pair *p, WrKeypair **out_kp_i, WrKeypair **out_kp_r)
{
	Initiation init;
	Response resp;

	p->hs_i.local_index = 0x11223344;
	make_initiation(p, REALTIME, &init);
	g_assert_true(consume_initiation(p, &init, T0) == &p->hs_r);
	g_assert_cmpint(p->hs_r.state, ==, HANDSHAKE_CONSUMED_INITIATION);
	g_assert_cmpuint(p->hs_r.remote_index, ==, 0x11223344);
	g_assert_cmpint(p->hs_r.last_initiation_consumption, ==, T0);
	g_assert_cmpmem(p->hs_r.remote_ephemeral, WR_KEY_LEN, init.ephemeral, WR_KEY_LEN);

	p->hs_r.local_index = 0x55667788;
	make_response(p, &resp);
	g_assert_true(consume_response(p, &resp));
	g_assert_cmpint(p->hs_i.state, ==, HANDSHAKE_CONSUMED_RESPONSE);
	g_assert_cmpuint(p->hs_i.remote_index, ==, 0x55667788);

	/* both ends hold the same transcript hash and chaining key */
	g_assert_cmpmem(p->hs_i.hash, WR_HASH_LEN, p->hs_r.hash, WR_HASH_LEN);
	g_assert_cmpmem(p->hs_i.chaining_key, WR_HASH_LEN, p->hs_r.chaining_key, WR_HASH_LEN);

	*out_kp_i = wr_noise_derive_keypair(&p->hs_i, T0 + 1);
	*out_kp_r = wr_noise_derive_keypair(&p->hs_r, T0 + 2);
	assert_session(*out_kp_i, *out_kp_r);
	g_assert_cmpint((*out_kp_i)->birthdate, ==, T0 + 1);
	g_assert_cmpint((*out_kp_r)->birthdate, ==, T0 + 2);
	g_assert_cmpuint((*out_kp_i)->local_index, ==, 0x11223344);
	g_assert_cmpuint((*out_kp_i)->remote_index, ==, 0x55667788);
	g_assert_cmpuint((*out_kp_r)->local_index, ==, 0x55667788);
	g_assert_cmpuint((*out_kp_r)->remote_index, ==, 0x11223344);

	/* the session state is gone from the handshakes, the identities stay */
	g_assert_cmpint(p->hs_i.state, ==, HANDSHAKE_ZEROED);
	g_assert_cmpint(p->hs_r.state, ==, HANDSHAKE_ZEROED);
	g_assert_true(wr_is_zero(p->hs_i.chaining_key, WR_HASH_LEN));
	g_assert_true(wr_is_zero(p->hs_i.ephemeral_private, WR_KEY_LEN));
	g_assert_true(wr_is_zero(p->hs_r.ephemeral_private, WR_KEY_LEN));
	g_assert_cmpmem(p->hs_i.remote_static, WR_KEY_LEN, p->responder.public_key, WR_KEY_LEN);
	g_assert_false(wr_is_zero(p->hs_r.latest_timestamp, WR_TIMESTAMP_LEN));
}

static void
test_handshake(void)
{
	static const uint8_t psk[WR_SYMMETRIC_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	const uint8_t *psks[] = {NULL, psk};

	for (guint i = 0; i < G_N_ELEMENTS(psks); i++) {
		Pair p;
		WrKeypair *kp_i, *kp_r;
		WrKeypair *kp_i2, *kp_r2;
		uint8_t msg[64] = "data from the initiator";
		uint8_t wire[sizeof(msg) + WR_AUTHTAG_LEN];
		uint8_t out[sizeof(msg)];

		g_test_message("psk %s", psks[i] != NULL ? "set" : "none");
		pair_init(&p, psks[i], psks[i]);
		run_handshake(&p, &kp_i, &kp_r);
		g_assert_cmpuint(p.lookups, ==, 1);
		g_assert_cmpmem(p.looked_up, WR_KEY_LEN, p.initiator.public_key, WR_KEY_LEN);

		/* the keys work as transport keys both ways */
		wr_aead_encrypt(wire, msg, sizeof(msg), NULL, 0, 7, kp_i->sending_key);
		g_assert_true(
			wr_aead_decrypt(out, wire, sizeof(wire), NULL, 0, 7, kp_r->receiving_key));
		g_assert_cmpmem(out, sizeof(out), msg, sizeof(msg));
		wr_aead_encrypt(wire, msg, sizeof(msg), NULL, 0, 8, kp_r->sending_key);
		g_assert_true(
			wr_aead_decrypt(out, wire, sizeof(wire), NULL, 0, 8, kp_i->receiving_key));

		/* a second handshake (one second later) gives fresh keys */
		{
			Initiation init;
			Response resp;

			make_initiation(&p, REALTIME + WR_USEC_PER_SEC, &init);
			g_assert_true(consume_initiation(&p, &init, T0 + WR_USEC_PER_SEC) ==
				      &p.hs_r);
			make_response(&p, &resp);
			g_assert_true(consume_response(&p, &resp));
			kp_i2 = wr_noise_derive_keypair(&p.hs_i, T0 + WR_USEC_PER_SEC);
			kp_r2 = wr_noise_derive_keypair(&p.hs_r, T0 + WR_USEC_PER_SEC);
			assert_session(kp_i2, kp_r2);
			g_assert_false(memcmp(kp_i->sending_key, kp_i2->sending_key,
					      WR_SYMMETRIC_KEY_LEN) == 0);
		}
		wr_keypair_unref(kp_i);
		wr_keypair_unref(kp_r);
		wr_keypair_unref(kp_i2);
		wr_keypair_unref(kp_r2);
	}
}

/* the same handshake with and without a PSK yields different keys */
static void
test_psk_changes_keys(void)
{
	static const uint8_t psk[WR_SYMMETRIC_KEY_LEN] = {0xaa};
	Pair p;
	WrKeypair *kp_i, *kp_r, *kp_i2, *kp_r2;

	pair_init(&p, NULL, NULL);
	run_handshake(&p, &kp_i, &kp_r);
	/* a fresh responder state so the same timestamp is not a replay */
	wr_noise_handshake_init(&p.hs_r, &p.responder, p.initiator.public_key, psk);
	wr_noise_handshake_set_preshared_key(&p.hs_i, psk);
	run_handshake(&p, &kp_i2, &kp_r2);
	g_assert_false(memcmp(kp_i->sending_key, kp_i2->sending_key, WR_SYMMETRIC_KEY_LEN) == 0);
	wr_keypair_unref(kp_i);
	wr_keypair_unref(kp_r);
	wr_keypair_unref(kp_i2);
	wr_keypair_unref(kp_r2);
}

/* different PSKs, or a PSK on one side only: the responder cannot tell, the initiator can */
static void
test_psk_mismatch(void)
{
	static const uint8_t psk_a[WR_SYMMETRIC_KEY_LEN] = {1};
	static const uint8_t psk_b[WR_SYMMETRIC_KEY_LEN] = {2};
	static const struct {
		const uint8_t *psk_i;
		const uint8_t *psk_r;
	} rows[] = {
		{psk_a, psk_b},
		{psk_a, NULL},
		{NULL, psk_b},
	};

	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		Pair p;
		Initiation init;
		Response resp;
		WrNoiseHandshake before;

		g_test_message("row %u", i);
		pair_init(&p, rows[i].psk_i, rows[i].psk_r);
		make_initiation(&p, REALTIME, &init);
		g_assert_true(consume_initiation(&p, &init, T0) == &p.hs_r);
		make_response(&p, &resp);
		before = p.hs_i;
		g_assert_false(consume_response(&p, &resp));
		g_assert_cmpmem(&p.hs_i, sizeof(p.hs_i), &before, sizeof(before));
		g_assert_null(wr_noise_derive_keypair(&p.hs_i, T0));
	}
}

/* timestamps: strictly newer only, and no more often than INITIATIONS_PER_SECOND */
static void
test_replay_and_flood(void)
{
	static const struct {
		int64_t realtime; /* of the initiation, relative to REALTIME */
		int64_t now;	  /* when the responder sees it, relative to T0 */
		bool accept;
	} rows[] = {
		/* 0 */ {0, 0, true},
		/* 1 */ {0, 10 * WR_USEC_PER_SEC, false}, /* the same message again: a replay */
		/* 2 */ {-WR_USEC_PER_SEC, 11 * WR_USEC_PER_SEC, false}, /* older */
		/* 3 */ {WR_USEC_PER_SEC, 12 * WR_USEC_PER_SEC, true},
		/* 4 */ {2 * WR_USEC_PER_SEC, 12 * WR_USEC_PER_SEC + FLOOD_GAP - 1, false}, /* flood
											     */
		/* 5 */ {2 * WR_USEC_PER_SEC, 12 * WR_USEC_PER_SEC + FLOOD_GAP, true},
		/* 6 */ {3 * WR_USEC_PER_SEC, 12 * WR_USEC_PER_SEC + FLOOD_GAP, false}, /* flood */
		/* 7 */ {2 * WR_USEC_PER_SEC, 20 * WR_USEC_PER_SEC, false}, /* equal: a replay */
		/* 8 */ {3 * WR_USEC_PER_SEC, 20 * WR_USEC_PER_SEC, true},
	};
	Pair p;
	Initiation first;

	pair_init(&p, NULL, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		Initiation init;
		WrNoiseHandshake before = p.hs_r;
		WrNoiseHandshake *hs;

		g_test_message("row %u", i);
		if (i == 1) {
			init = first;
		} else {
			make_initiation(&p, REALTIME + rows[i].realtime, &init);
			if (i == 0)
				first = init;
		}
		hs = consume_initiation(&p, &init, T0 + rows[i].now);
		if (rows[i].accept) {
			g_assert_true(hs == &p.hs_r);
			g_assert_cmpint(p.hs_r.last_initiation_consumption, ==, T0 + rows[i].now);
		} else {
			g_assert_null(hs);
			g_assert_cmpmem(&p.hs_r, sizeof(p.hs_r), &before, sizeof(before));
		}
	}
}

static void
test_unknown_static(void)
{
	Pair p;
	Initiation init;
	WrNoiseHandshake before;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &init);
	before = p.hs_r;
	p.lookup_fails = true;
	g_assert_null(consume_initiation(&p, &init, T0));
	/* the static key did decrypt, so lookup was asked about the initiator */
	g_assert_cmpuint(p.lookups, ==, 1);
	g_assert_cmpmem(p.looked_up, WR_KEY_LEN, p.initiator.public_key, WR_KEY_LEN);
	g_assert_cmpmem(&p.hs_r, sizeof(p.hs_r), &before, sizeof(before));

	/* an initiation meant for someone else does not even decrypt */
	{
		WrNoiseStatic other;

		static_random(&other);
		p.lookup_fails = false;
		p.lookups = 0;
		g_assert_null(wr_noise_consume_initiation(
			&other, init.sender_index, init.ephemeral, init.encrypted_static,
			init.encrypted_timestamp, lookup_cb, &p, T0));
		g_assert_cmpuint(p.lookups, ==, 0);
	}
}

/* a bit flipped anywhere in an initiation: refused, and nothing changes */
static void
test_tampered_initiation(void)
{
	static const struct {
		const char *field;
		size_t offset;
		size_t len;
	} fields[] = {
		{"unencrypted_ephemeral", G_STRUCT_OFFSET(Initiation, ephemeral),
		 WR_NOISE_PUBLIC_LEN},
		{"encrypted_static", G_STRUCT_OFFSET(Initiation, encrypted_static),
		 WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN},
		{"encrypted_timestamp", G_STRUCT_OFFSET(Initiation, encrypted_timestamp),
		 WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN},
	};
	Pair p;
	Initiation good;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &good);
	for (guint f = 0; f < G_N_ELEMENTS(fields); f++) {
		for (size_t byte = 0; byte < fields[f].len; byte++) {
			for (guint bit = 0; bit < 8; bit += 7) {
				Initiation bad = good;
				WrNoiseHandshake before = p.hs_r;

				((uint8_t *) &bad)[fields[f].offset + byte] ^= (uint8_t) (1 << bit);
				if (consume_initiation(&p, &bad, T0) != NULL)
					g_error("%s byte %zu bit %u accepted", fields[f].field,
						byte, bit);
				g_assert_cmpmem(&p.hs_r, sizeof(p.hs_r), &before, sizeof(before));
			}
		}
	}
	/* and the untouched message still works afterwards */
	g_assert_true(consume_initiation(&p, &good, T0) == &p.hs_r);
}

/* likewise for a response */
static void
test_tampered_response(void)
{
	static const struct {
		const char *field;
		size_t offset;
		size_t len;
	} fields[] = {
		{"unencrypted_ephemeral", G_STRUCT_OFFSET(Response, ephemeral),
		 WR_NOISE_PUBLIC_LEN},
		{"encrypted_nothing", G_STRUCT_OFFSET(Response, encrypted_nothing), WR_AUTHTAG_LEN},
	};
	Pair p;
	Initiation init;
	Response good;
	WrKeypair *kp_i, *kp_r;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &init);
	g_assert_nonnull(consume_initiation(&p, &init, T0));
	make_response(&p, &good);
	for (guint f = 0; f < G_N_ELEMENTS(fields); f++) {
		for (size_t byte = 0; byte < fields[f].len; byte++) {
			for (guint bit = 0; bit < 8; bit += 7) {
				Response bad = good;
				WrNoiseHandshake before = p.hs_i;

				((uint8_t *) &bad)[fields[f].offset + byte] ^= (uint8_t) (1 << bit);
				if (consume_response(&p, &bad))
					g_error("%s byte %zu bit %u accepted", fields[f].field,
						byte, bit);
				g_assert_cmpmem(&p.hs_i, sizeof(p.hs_i), &before, sizeof(before));
			}
		}
	}
	g_assert_true(consume_response(&p, &good));
	kp_i = wr_noise_derive_keypair(&p.hs_i, T0);
	kp_r = wr_noise_derive_keypair(&p.hs_r, T0);
	assert_session(kp_i, kp_r);
	wr_keypair_unref(kp_i);
	wr_keypair_unref(kp_r);
}

/* a response from someone who is not the responder we wrote to */
static void
test_response_from_other(void)
{
	Pair p;
	Initiation init;
	Response resp;
	WrNoiseStatic mallory;
	WrNoiseHandshake before;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &init);
	static_random(&mallory);
	/* mallory can read nothing of the initiation, so she answers with her own state */
	wr_noise_handshake_init(&p.hs_r, &mallory, p.initiator.public_key, NULL);
	memcpy(p.hs_r.remote_ephemeral, init.ephemeral, WR_KEY_LEN);
	p.hs_r.state = HANDSHAKE_CONSUMED_INITIATION;
	make_response(&p, &resp);
	before = p.hs_i;
	g_assert_false(consume_response(&p, &resp));
	g_assert_cmpmem(&p.hs_i, sizeof(p.hs_i), &before, sizeof(before));
}

/* X25519 points of small order give an all-zero shared secret and must be refused */
static const uint8_t low_order[][WR_KEY_LEN] = {
	/* 0 */
	{0},
	/* 1 */
	{1},
	/* the two points of order 8 */
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	/* p - 1, p, p + 1 */
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

static void
test_low_order(void)
{
	Pair p;
	Initiation good;
	Response good_resp;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &good);
	for (guint i = 0; i < G_N_ELEMENTS(low_order); i++) {
		Initiation bad = good;
		WrNoiseHandshake before = p.hs_r;

		g_test_message("point %u", i);
		memcpy(bad.ephemeral, low_order[i], WR_KEY_LEN);
		g_assert_null(consume_initiation(&p, &bad, T0));
		g_assert_cmpuint(p.lookups, ==, 0);
		g_assert_cmpmem(&p.hs_r, sizeof(p.hs_r), &before, sizeof(before));
	}

	g_assert_nonnull(consume_initiation(&p, &good, T0));
	make_response(&p, &good_resp);
	for (guint i = 0; i < G_N_ELEMENTS(low_order); i++) {
		Response bad = good_resp;
		WrNoiseHandshake before = p.hs_i;

		g_test_message("point %u in a response", i);
		memcpy(bad.ephemeral, low_order[i], WR_KEY_LEN);
		g_assert_false(consume_response(&p, &bad));
		g_assert_cmpmem(&p.hs_i, sizeof(p.hs_i), &before, sizeof(before));
	}

	/* a peer whose static key is of low order: DH(s, S) fails, no initiation is made */
	for (guint i = 0; i < G_N_ELEMENTS(low_order); i++) {
		WrNoiseHandshake hs;
		Initiation init;
		uint8_t tai64n[WR_TIMESTAMP_LEN] = {0};

		wr_noise_handshake_init(&hs, &p.initiator, low_order[i], NULL);
		g_assert_true(wr_is_zero(hs.precomputed_static_static, WR_KEY_LEN));
		g_assert_false(wr_noise_create_initiation(&hs, &p.initiator, tai64n, init.ephemeral,
							  init.encrypted_static,
							  init.encrypted_timestamp));
		g_assert_cmpint(hs.state, ==, HANDSHAKE_ZEROED);
	}
}

/* steps run out of order, or without an identity, do nothing */
static void
test_wrong_state(void)
{
	Pair p;
	Initiation init;
	Response resp;
	WrNoiseStatic none;
	uint8_t tai64n[WR_TIMESTAMP_LEN] = {0};

	pair_init(&p, NULL, NULL);
	memset(&resp, 0, sizeof(resp));
	g_assert_null(wr_noise_derive_keypair(&p.hs_i, T0));
	g_assert_false(wr_noise_create_response(&p.hs_r, &p.responder, resp.ephemeral,
						resp.encrypted_nothing));
	g_assert_false(consume_response(&p, &resp));
	g_assert_cmpint(p.hs_i.state, ==, HANDSHAKE_ZEROED);
	g_assert_cmpint(p.hs_r.state, ==, HANDSHAKE_ZEROED);

	make_initiation(&p, REALTIME, &init);
	g_assert_null(wr_noise_derive_keypair(&p.hs_i, T0));
	g_assert_cmpint(p.hs_i.state, ==, HANDSHAKE_CREATED_INITIATION);

	g_assert_nonnull(consume_initiation(&p, &init, T0));
	g_assert_null(wr_noise_derive_keypair(&p.hs_r, T0));
	g_assert_cmpint(p.hs_r.state, ==, HANDSHAKE_CONSUMED_INITIATION);
	make_response(&p, &resp);
	/* a response is made once per initiation */
	g_assert_false(wr_noise_create_response(&p.hs_r, &p.responder, resp.ephemeral,
						resp.encrypted_nothing));
	g_assert_true(consume_response(&p, &resp));
	/* and consumed once */
	g_assert_false(consume_response(&p, &resp));

	/* no identity: nothing is created or consumed */
	wr_noise_static_clear(&none);
	g_assert_false(none.has_identity);
	g_assert_false(wr_noise_create_initiation(&p.hs_i, &none, tai64n, init.ephemeral,
						  init.encrypted_static, init.encrypted_timestamp));
	g_assert_null(wr_noise_consume_initiation(&none, 1, init.ephemeral, init.encrypted_static,
						  init.encrypted_timestamp, lookup_cb, &p, T0));
	{
		static const uint8_t zero[WR_KEY_LEN] = {0};

		wr_noise_static_set_private(&none, zero);
		g_assert_false(none.has_identity);
	}
}

/* a new local key redoes DH(s, S) and drops a half-made handshake */
static void
test_set_local(void)
{
	Pair p;
	Initiation init;
	uint8_t expect[WR_KEY_LEN];
	WrKeypair *kp_i, *kp_r;

	pair_init(&p, NULL, NULL);
	make_initiation(&p, REALTIME, &init);
	static_random(&p.initiator);
	wr_noise_handshake_set_local(&p.hs_i, &p.initiator);
	g_assert_cmpint(p.hs_i.state, ==, HANDSHAKE_ZEROED);
	g_assert_true(wr_is_zero(p.hs_i.ephemeral_private, WR_KEY_LEN));
	g_assert_true(wr_x25519(expect, p.initiator.private_key, p.responder.public_key));
	g_assert_cmpmem(p.hs_i.precomputed_static_static, WR_KEY_LEN, expect, WR_KEY_LEN);

	/* once the responder knows the new key the handshake works again */
	wr_noise_handshake_init(&p.hs_r, &p.responder, p.initiator.public_key, NULL);
	run_handshake(&p, &kp_i, &kp_r);
	wr_keypair_unref(kp_i);
	wr_keypair_unref(kp_r);
}

static void
test_keypair_refcount(void)
{
	Pair p;
	WrKeypair *kp_i, *kp_r;

	pair_init(&p, NULL, NULL);
	run_handshake(&p, &kp_i, &kp_r);
	g_assert_true(wr_keypair_ref(kp_i) == kp_i);
	g_assert_cmpint(kp_i->refcount, ==, 2);
	g_assert_true(wr_keypair_ref(kp_i) == kp_i);
	g_assert_cmpint(kp_i->refcount, ==, 3);
	wr_keypair_unref(kp_i);
	wr_keypair_unref(kp_i);
	g_assert_cmpint(kp_i->refcount, ==, 1);
	/* still usable */
	g_assert_true(kp_i->sending_valid);
	wr_keypair_unref(kp_i); /* frees; ASan would catch a use after this */
	wr_keypair_unref(kp_r);
	wr_keypair_unref(NULL);
}

/* ---- the whitepaper, recomputed ---- */

#define BLAKE2S_BLOCK 64

/* HMAC (RFC 2104) over BLAKE2s-256, built from the unkeyed hash alone */
static void
hmac(uint8_t out[WR_HASH_LEN], const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len)
{
	uint8_t k[BLAKE2S_BLOCK] = {0};
	uint8_t inner[WR_HASH_LEN];
	g_autofree uint8_t *buf = g_malloc(BLAKE2S_BLOCK + MAX(in_len, WR_HASH_LEN));

	g_assert_cmpuint(key_len, <=, BLAKE2S_BLOCK);
	memcpy(k, key, key_len);
	for (guint i = 0; i < BLAKE2S_BLOCK; i++)
		buf[i] = k[i] ^ 0x36;
	if (in_len > 0)
		memcpy(buf + BLAKE2S_BLOCK, in, in_len);
	wr_hash(inner, buf, BLAKE2S_BLOCK + in_len);
	for (guint i = 0; i < BLAKE2S_BLOCK; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + BLAKE2S_BLOCK, inner, WR_HASH_LEN);
	wr_hash(out, buf, BLAKE2S_BLOCK + WR_HASH_LEN);
}

/* KDFn(key, input): τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τ(i-1) || i) */
static void
kdf(guint n, uint8_t out[][WR_HASH_LEN], const uint8_t key[WR_HASH_LEN], const uint8_t *input,
    size_t input_len)
{
	uint8_t t0[WR_HASH_LEN];
	uint8_t buf[WR_HASH_LEN + 1];

	hmac(t0, key, WR_HASH_LEN, input, input_len);
	buf[0] = 1;
	hmac(out[0], t0, WR_HASH_LEN, buf, 1);
	for (guint i = 1; i < n; i++) {
		memcpy(buf, out[i - 1], WR_HASH_LEN);
		buf[WR_HASH_LEN] = (uint8_t) (i + 1);
		hmac(out[i], t0, WR_HASH_LEN, buf, sizeof(buf));
	}
}

/* HASH(a || b) */
static void
hash2(uint8_t out[WR_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len)
{
	g_autofree uint8_t *buf = g_malloc(a_len + b_len);

	memcpy(buf, a, a_len);
	memcpy(buf + a_len, b, b_len);
	wr_hash(out, buf, a_len + b_len);
}

static void
dh(uint8_t out[WR_KEY_LEN], const uint8_t *private_key, const uint8_t *public_key)
{
	g_assert_true(wr_x25519(out, private_key, public_key));
}

static void
test_whitepaper(void)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t psk[WR_SYMMETRIC_KEY_LEN];
	uint8_t tai64n[WR_TIMESTAMP_LEN];
	uint8_t e_i_private[WR_KEY_LEN];
	uint8_t C[WR_HASH_LEN], H[WR_HASH_LEN], k[WR_HASH_LEN], shared[WR_KEY_LEN];
	uint8_t out3[3][WR_HASH_LEN];
	uint8_t expect[WR_KEY_LEN + WR_AUTHTAG_LEN];
	uint8_t ref_kdf[2][WR_HASH_LEN];
	Pair p;
	Initiation init;
	Response resp;
	WrKeypair *kp_i, *kp_r;

	wr_random_bytes(psk, sizeof(psk));
	pair_init(&p, psk, psk);
	wr_tai64n_from_realtime(tai64n, REALTIME);
	g_assert_true(wr_noise_create_initiation(&p.hs_i, &p.initiator, tai64n, init.ephemeral,
						 init.encrypted_static, init.encrypted_timestamp));
	init.sender_index = 1;
	/* the one secret of the transcript the test cannot recompute from the static keys */
	memcpy(e_i_private, p.hs_i.ephemeral_private, WR_KEY_LEN);
	{
		uint8_t e_pub[WR_KEY_LEN];

		g_assert_true(wr_x25519_public(e_pub, e_i_private));
		g_assert_cmpmem(e_pub, WR_KEY_LEN, init.ephemeral, WR_KEY_LEN);
	}

	/* Ci = HASH(CONSTRUCTION); Hi = HASH(Ci || IDENTIFIER); Hi = HASH(Hi || Sr_pub) */
	wr_hash(C, construction, strlen(construction));
	hash2(H, C, WR_HASH_LEN, identifier, strlen(identifier));
	hash2(H, H, WR_HASH_LEN, p.responder.public_key, WR_KEY_LEN);
	/* Ci = KDF1(Ci, Ei_pub); Hi = HASH(Hi || Ei_pub) */
	kdf(1, out3, C, init.ephemeral, WR_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	hash2(H, H, WR_HASH_LEN, init.ephemeral, WR_KEY_LEN);
	/* (Ci, k) = KDF2(Ci, DH(Ei_priv, Sr_pub)) */
	dh(shared, e_i_private, p.responder.public_key);
	kdf(2, out3, C, shared, WR_KEY_LEN);
	/* the library's KDF agrees with this one */
	wr_kdf(ref_kdf[0], ref_kdf[1], NULL, shared, WR_HASH_LEN, WR_HASH_LEN, 0, WR_KEY_LEN, C);
	g_assert_cmpmem(ref_kdf, sizeof(ref_kdf), out3, 2 * WR_HASH_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	memcpy(k, out3[1], WR_HASH_LEN);
	/* msg.static = AEAD(k, 0, Si_pub, Hi); Hi = HASH(Hi || msg.static) */
	wr_aead_encrypt(expect, p.initiator.public_key, WR_KEY_LEN, H, WR_HASH_LEN, 0, k);
	g_assert_cmpmem(init.encrypted_static, sizeof(init.encrypted_static), expect,
			WR_KEY_LEN + WR_AUTHTAG_LEN);
	hash2(H, H, WR_HASH_LEN, init.encrypted_static, sizeof(init.encrypted_static));
	/* (Ci, k) = KDF2(Ci, DH(Si_priv, Sr_pub)) */
	dh(shared, p.initiator.private_key, p.responder.public_key);
	kdf(2, out3, C, shared, WR_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	memcpy(k, out3[1], WR_HASH_LEN);
	/* msg.timestamp = AEAD(k, 0, TAI64N, Hi); Hi = HASH(Hi || msg.timestamp) */
	wr_aead_encrypt(expect, tai64n, WR_TIMESTAMP_LEN, H, WR_HASH_LEN, 0, k);
	g_assert_cmpmem(init.encrypted_timestamp, sizeof(init.encrypted_timestamp), expect,
			WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN);
	hash2(H, H, WR_HASH_LEN, init.encrypted_timestamp, sizeof(init.encrypted_timestamp));
	g_assert_cmpmem(p.hs_i.hash, WR_HASH_LEN, H, WR_HASH_LEN);
	g_assert_cmpmem(p.hs_i.chaining_key, WR_HASH_LEN, C, WR_HASH_LEN);

	/* the responder reaches the same state */
	g_assert_true(consume_initiation(&p, &init, T0) == &p.hs_r);
	g_assert_cmpmem(p.hs_r.hash, WR_HASH_LEN, H, WR_HASH_LEN);
	g_assert_cmpmem(p.hs_r.chaining_key, WR_HASH_LEN, C, WR_HASH_LEN);
	g_assert_cmpmem(p.hs_r.latest_timestamp, WR_TIMESTAMP_LEN, tai64n, WR_TIMESTAMP_LEN);

	make_response(&p, &resp);
	/* Cr = KDF1(Cr, Er_pub); Hr = HASH(Hr || Er_pub) */
	kdf(1, out3, C, resp.ephemeral, WR_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	hash2(H, H, WR_HASH_LEN, resp.ephemeral, WR_KEY_LEN);
	/* Cr = KDF1(Cr, DH(Er_priv, Ei_pub)), from the initiator's end: DH(Ei_priv, Er_pub) */
	dh(shared, e_i_private, resp.ephemeral);
	kdf(1, out3, C, shared, WR_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	/* Cr = KDF1(Cr, DH(Er_priv, Si_pub)), that is DH(Si_priv, Er_pub) */
	dh(shared, p.initiator.private_key, resp.ephemeral);
	kdf(1, out3, C, shared, WR_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	/* (Cr, τ, k) = KDF3(Cr, Q); Hr = HASH(Hr || τ) */
	kdf(3, out3, C, psk, WR_SYMMETRIC_KEY_LEN);
	memcpy(C, out3[0], WR_HASH_LEN);
	hash2(H, H, WR_HASH_LEN, out3[1], WR_HASH_LEN);
	memcpy(k, out3[2], WR_HASH_LEN);
	/* msg.empty = AEAD(k, 0, ε, Hr); Hr = HASH(Hr || msg.empty) */
	wr_aead_encrypt(expect, NULL, 0, H, WR_HASH_LEN, 0, k);
	g_assert_cmpmem(resp.encrypted_nothing, WR_AUTHTAG_LEN, expect, WR_AUTHTAG_LEN);
	hash2(H, H, WR_HASH_LEN, resp.encrypted_nothing, WR_AUTHTAG_LEN);
	g_assert_cmpmem(p.hs_r.hash, WR_HASH_LEN, H, WR_HASH_LEN);
	g_assert_cmpmem(p.hs_r.chaining_key, WR_HASH_LEN, C, WR_HASH_LEN);

	g_assert_true(consume_response(&p, &resp));
	g_assert_cmpmem(p.hs_i.hash, WR_HASH_LEN, H, WR_HASH_LEN);

	/* (Ti_send = Tr_recv, Ti_recv = Tr_send) = KDF2(Ci = Cr, ε) */
	kdf(2, out3, C, NULL, 0);
	kp_i = wr_noise_derive_keypair(&p.hs_i, T0);
	kp_r = wr_noise_derive_keypair(&p.hs_r, T0);
	assert_session(kp_i, kp_r);
	g_assert_cmpmem(kp_i->sending_key, WR_SYMMETRIC_KEY_LEN, out3[0], WR_HASH_LEN);
	g_assert_cmpmem(kp_i->receiving_key, WR_SYMMETRIC_KEY_LEN, out3[1], WR_HASH_LEN);
	g_assert_cmpmem(kp_r->receiving_key, WR_SYMMETRIC_KEY_LEN, out3[0], WR_HASH_LEN);
	g_assert_cmpmem(kp_r->sending_key, WR_SYMMETRIC_KEY_LEN, out3[1], WR_HASH_LEN);
	wr_keypair_unref(kp_i);
	wr_keypair_unref(kp_r);
	wr_memzero(e_i_private, sizeof(e_i_private));
}

/* the whitepaper's constants, spelled out here independently of wr-messages.h */
static void
test_constants(void)
{
	g_assert_cmpstr(WR_NOISE_CONSTRUCTION, ==, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
	g_assert_cmpstr(WR_NOISE_IDENTIFIER, ==, "WireGuard v1 zx2c4 Jason@zx2c4.com");
	g_assert_cmpint(FLOOD_GAP, ==, 20000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/noise/handshake", test_handshake);
	g_test_add_func("/warren/noise/psk-changes-keys", test_psk_changes_keys);
	g_test_add_func("/warren/noise/psk-mismatch", test_psk_mismatch);
	g_test_add_func("/warren/noise/replay-and-flood", test_replay_and_flood);
	g_test_add_func("/warren/noise/unknown-static", test_unknown_static);
	g_test_add_func("/warren/noise/tampered-initiation", test_tampered_initiation);
	g_test_add_func("/warren/noise/tampered-response", test_tampered_response);
	g_test_add_func("/warren/noise/response-from-other", test_response_from_other);
	g_test_add_func("/warren/noise/low-order", test_low_order);
	g_test_add_func("/warren/noise/wrong-state", test_wrong_state);
	g_test_add_func("/warren/noise/set-local", test_set_local);
	g_test_add_func("/warren/noise/keypair-refcount", test_keypair_refcount);
	g_test_add_func("/warren/noise/whitepaper", test_whitepaper);
	g_test_add_func("/warren/noise/constants", test_constants);
	return g_test_run();
}
