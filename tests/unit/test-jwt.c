/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ID token verification (server/control/oidc) with real crypto: RSA-2048 and P-256 keys are
 * generated with GnuTLS at start, published in a JWKS, and sign tokens the way a provider
 * does.  Valid RS256 and ES256 tokens pass; tampering, foreign keys, "none", HS256 and key
 * confusion fail; an unknown kid is reported as such; then each claim rule, Google's included,
 * fails with its own code and a message that does not quote the token.
 */

#define G_LOG_DOMAIN "WrJwtTest"

#include "config.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "wr-b64url.h"
#include "wr-jwks.h"
#include "wr-jwt.h"
#include "wr-oidc-claims.h"

#define ISSUER	  "https://idp.example.com"
#define CLIENT_ID "warren-control"
#define NONCE	  "n-0S6_WzA2Mj"
#define NOW	  G_GINT64_CONSTANT(1800000000)
#define P256_LEN  32

typedef struct {
	gnutls_privkey_t rsa;
	gnutls_privkey_t ec;
	gnutls_privkey_t rsa_foreign;
	gnutls_privkey_t ec_foreign;
	WrJwks *jwks;
} Keys;

static gnutls_privkey_t
generate(gnutls_pk_algorithm_t pk, unsigned int bits)
{
	gnutls_privkey_t key = NULL;

	g_assert_cmpint(gnutls_privkey_init(&key), ==, 0);
	g_assert_cmpint(gnutls_privkey_generate2(key, pk, bits, 0, NULL, 0), ==, 0);
	return key;
}

/* @datum without leading zero bytes, left-padded with zeros to @width if not 0 */
static char *
b64_number(const gnutls_datum_t *datum, gsize width)
{
	gsize skip = 0;
	gsize len;
	g_autofree guint8 *buf = NULL;

	while (skip < datum->size && datum->data[skip] == 0)
		skip++;
	len = datum->size - skip;
	if (width == 0)
		return wr_b64url_encode(datum->data + skip, len);
	g_assert_cmpuint(len, <=, width);
	buf = g_malloc0(width);
	memcpy(buf + width - len, datum->data + skip, len);
	return wr_b64url_encode(buf, width);
}

/* the JWK of @key's public part, with @kid and, unless NULL, @alg */
static char *
jwk(gnutls_privkey_t key, const char *kid, const char *alg)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = {NULL, 0};
	gnutls_datum_t b = {NULL, 0};
	gnutls_ecc_curve_t curve;
	g_autofree char *a_text = NULL;
	g_autofree char *b_text = NULL;
	g_autofree char *alg_member = NULL;
	char *text;

	g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
	g_assert_cmpint(gnutls_pubkey_import_privkey(pub, key, 0, 0), ==, 0);
	alg_member = alg != NULL ? g_strdup_printf("\"alg\":\"%s\",", alg) : g_strdup("");
	if (gnutls_privkey_get_pk_algorithm(key, NULL) == GNUTLS_PK_RSA) {
		g_assert_cmpint(gnutls_pubkey_export_rsa_raw2(pub, &a, &b, 0), ==, 0);
		a_text = b64_number(&a, 0);
		b_text = b64_number(&b, 0);
		text = g_strdup_printf("{\"kty\":\"RSA\",\"use\":\"sig\",%s\"kid\":\"%s\","
				       "\"n\":\"%s\",\"e\":\"%s\"}",
				       alg_member, kid, a_text, b_text);
	} else {
		g_assert_cmpint(gnutls_pubkey_export_ecc_raw2(pub, &curve, &a, &b, 0), ==, 0);
		g_assert_cmpint(curve, ==, GNUTLS_ECC_CURVE_SECP256R1);
		a_text = b64_number(&a, P256_LEN);
		b_text = b64_number(&b, P256_LEN);
		text = g_strdup_printf("{\"kty\":\"EC\",\"crv\":\"P-256\",%s\"kid\":\"%s\","
				       "\"x\":\"%s\",\"y\":\"%s\"}",
				       alg_member, kid, a_text, b_text);
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	return text;
}

static char *
to_json(JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonGenerator) generator = json_generator_new();

	json_node_set_object(node, object);
	json_generator_set_root(generator, node);
	return json_generator_to_data(generator, NULL);
}

static char *
b64_text(const char *text)
{
	return wr_b64url_encode((const guint8 *) text, strlen(text));
}

/* the JWS signature of @data by @key: RSA PKCS#1 v1.5, or ECDSA as r || s */
static char *
sign_raw(gnutls_privkey_t key, const char *data)
{
	gnutls_datum_t in = {(unsigned char *) data, (unsigned int) strlen(data)};
	gnutls_datum_t sig = {NULL, 0};
	gnutls_datum_t r = {NULL, 0};
	gnutls_datum_t s = {NULL, 0};
	guint8 rs[2 * P256_LEN] = {0};
	char *text;

	if (gnutls_privkey_get_pk_algorithm(key, NULL) == GNUTLS_PK_RSA) {
		g_assert_cmpint(
			gnutls_privkey_sign_data2(key, GNUTLS_SIGN_RSA_SHA256, 0, &in, &sig), ==,
			0);
		text = wr_b64url_encode(sig.data, sig.size);
	} else {
		gsize r_skip = 0;
		gsize s_skip = 0;

		g_assert_cmpint(
			gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA256, 0, &in, &sig), ==,
			0);
		g_assert_cmpint(gnutls_decode_rs_value(&sig, &r, &s), ==, 0);
		while (r_skip < r.size && r.data[r_skip] == 0)
			r_skip++;
		while (s_skip < s.size && s.data[s_skip] == 0)
			s_skip++;
		g_assert_cmpuint(r.size - r_skip, <=, P256_LEN);
		g_assert_cmpuint(s.size - s_skip, <=, P256_LEN);
		memcpy(rs + P256_LEN - (r.size - r_skip), r.data + r_skip, r.size - r_skip);
		memcpy(rs + 2 * P256_LEN - (s.size - s_skip), s.data + s_skip, s.size - s_skip);
		text = wr_b64url_encode(rs, sizeof(rs));
	}
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	return text;
}

/* a token with header {alg, kid (unless NULL), typ} and @claims, signed by @key (or not) */
static char *
make_token(gnutls_privkey_t key, const char *alg, const char *kid, JsonObject *claims)
{
	g_autoptr(JsonObject) header = json_object_new();
	g_autofree char *header_json = NULL;
	g_autofree char *claims_json = to_json(claims);
	g_autofree char *h = NULL;
	g_autofree char *p = NULL;
	g_autofree char *signed_part = NULL;
	g_autofree char *sig = NULL;

	json_object_set_string_member(header, "alg", alg);
	if (kid != NULL)
		json_object_set_string_member(header, "kid", kid);
	json_object_set_string_member(header, "typ", "JWT");
	header_json = to_json(header);
	h = b64_text(header_json);
	p = b64_text(claims_json);
	signed_part = g_strdup_printf("%s.%s", h, p);
	sig = key != NULL ? sign_raw(key, signed_part) : g_strdup("");
	return g_strdup_printf("%s.%s", signed_part, sig);
}

static JsonObject *
base_claims(void)
{
	JsonObject *claims = json_object_new();

	json_object_set_string_member(claims, "iss", ISSUER);
	json_object_set_string_member(claims, "aud", CLIENT_ID);
	json_object_set_string_member(claims, "sub", "110169484474386276334");
	json_object_set_int_member(claims, "iat", NOW - 10);
	json_object_set_int_member(claims, "exp", NOW + 3590);
	json_object_set_string_member(claims, "nonce", NONCE);
	json_object_set_string_member(claims, "email", "alice@example.com");
	json_object_set_boolean_member(claims, "email_verified", TRUE);
	json_object_set_string_member(claims, "name", "Alice Liddell");
	json_object_set_string_member(claims, "picture", "https://idp.example.com/alice.png");
	return claims;
}

static WrOidcIdentity *
verify(const WrOidcConfig *config, const Keys *keys, const char *token, GError **error)
{
	return wr_oidc_verify_id_token(config, keys->jwks, token, strlen(token), NONCE, NOW, error);
}

/* @token is refused with @code, a message, and no piece of the token in it */
static void
expect_refused(const WrOidcConfig *config, const Keys *keys, const char *token, WrOidcError code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcIdentity) identity = verify(config, keys, token, &error);
	g_auto(GStrv) parts = g_strsplit(token, ".", -1);

	g_assert_null(identity);
	g_assert_error(error, WR_OIDC_ERROR, (gint) code);
	g_test_message("%s: %s", wr_oidc_error_to_string(error->code), error->message);
	g_assert_cmpuint(strlen(error->message), >, 10);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (strlen(parts[i]) >= 8)
			g_assert_null(strstr(error->message, parts[i]));
	}
}

static void
expect_claims_refused(const WrOidcConfig *config, const Keys *keys, JsonObject *claims,
		      WrOidcError code)
{
	g_autofree char *token = make_token(keys->rsa, "RS256", "rsa-1", claims);

	expect_refused(config, keys, token, code);
}

static WrOidcIdentity *
expect_claims_accepted(const WrOidcConfig *config, const Keys *keys, JsonObject *claims)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *token = make_token(keys->ec, "ES256", "ec-1", claims);
	WrOidcIdentity *identity = verify(config, keys, token, &error);

	g_assert_no_error(error);
	g_assert_nonnull(identity);
	return identity;
}

static void
test_valid(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *rs = make_token(keys->rsa, "RS256", "rsa-1", claims);
	g_autofree char *es = make_token(keys->ec, "ES256", "ec-1", claims);
	g_autoptr(WrOidcIdentity) a = NULL;
	g_autoptr(WrOidcIdentity) b = NULL;
	g_autoptr(GError) error = NULL;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	a = verify(&config, keys, rs, &error);
	g_assert_no_error(error);
	g_assert_nonnull(a);
	g_assert_cmpstr(a->iss, ==, ISSUER);
	g_assert_cmpstr(a->sub, ==, "110169484474386276334");
	g_assert_cmpstr(a->email, ==, "alice@example.com");
	g_assert_cmpstr(a->name, ==, "Alice Liddell");
	g_assert_cmpstr(a->picture, ==, "https://idp.example.com/alice.png");
	g_assert_null(a->hd);
	b = verify(&config, keys, es, &error);
	g_assert_no_error(error);
	g_assert_nonnull(b);
	g_assert_cmpstr(b->sub, ==, a->sub);
}

static void
test_parse(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *token = make_token(keys->ec, "ES256", "ec-1", claims);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwt) jwt = wr_jwt_parse(token, strlen(token), &error);

	g_assert_no_error(error);
	g_assert_cmpstr(wr_jwt_get_alg(jwt), ==, "ES256");
	g_assert_cmpstr(wr_jwt_get_kid(jwt), ==, "ec-1");
	g_assert_cmpstr(json_object_get_string_member(wr_jwt_get_claims(jwt), "nonce"), ==, NONCE);
	g_assert_true(wr_jwt_verify(jwt, keys->jwks, WR_JWS_ALG_ES256, &error));
	g_assert_no_error(error);
}

static void
test_bad_format(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *token = make_token(keys->rsa, "RS256", "rsa-1", claims);
	g_auto(GStrv) parts = g_strsplit(token, ".", -1);
	g_autofree char *long_token = g_strnfill(WR_JWT_MAX_LEN + 1, 'a');
	g_autofree char *padded = g_strdup_printf("%s.%s=.%s", parts[0], parts[1], parts[2]);
	g_autofree char *plus = g_strdup_printf("%s.%s.%s", parts[0], parts[1], parts[2]);
	g_autofree char *four = g_strdup_printf("%s.%s.%s.", parts[0], parts[1], parts[2]);
	g_autofree char *not_json_b64 = b64_text("{\"alg\":\"RS256\"");
	g_autofree char *not_json = g_strdup_printf("%s.%s.%s", not_json_b64, parts[1], parts[2]);
	g_autofree char *array_b64 = b64_text("[1,2]");
	g_autofree char *array = g_strdup_printf("%s.%s.%s", parts[0], array_b64, parts[2]);
	g_autofree char *no_alg_b64 = b64_text("{\"kid\":\"rsa-1\"}");
	g_autofree char *no_alg = g_strdup_printf("%s.%s.%s", no_alg_b64, parts[1], parts[2]);
	g_autofree char *crit_b64 =
		b64_text("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"x\"]}");
	g_autofree char *crit = g_strdup_printf("%s.%s.%s", crit_b64, parts[1], parts[2]);
	const char *const bad[] = {"", "a", "a.b", ".", "..", "a..", "...", "a.b.c"};
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		expect_refused(&config, keys, bad[i], WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, long_token, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, padded, WR_OIDC_ERROR_BAD_FORMAT);
	/* '-' and '_' are base64url; their base64 twins are not */
	for (char *p = plus; *p != '\0'; p++) {
		if (*p == '-')
			*p = '+';
		else if (*p == '_')
			*p = '/';
	}
	if (strcmp(plus, token) != 0)
		expect_refused(&config, keys, plus, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, four, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, not_json, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, array, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, no_alg, WR_OIDC_ERROR_BAD_FORMAT);
	expect_refused(&config, keys, crit, WR_OIDC_ERROR_BAD_FORMAT);
}

/* the token with its signature's byte @index flipped, and cut to @keep bytes unless 0 */
static char *
flip_signature(const char *token, gsize index, gsize keep)
{
	g_auto(GStrv) parts = g_strsplit(token, ".", -1);
	g_autofree guint8 *sig = NULL;
	g_autofree char *sig_text = NULL;
	gsize len = 0;

	g_assert_true(wr_b64url_decode(parts[2], strlen(parts[2]), 4096, &sig, &len));
	g_assert_cmpuint(index, <, len);
	sig[index] ^= 0x01;
	sig_text = wr_b64url_encode(sig, keep != 0 ? keep : len);
	return g_strdup_printf("%s.%s.%s", parts[0], parts[1], sig_text);
}

static void
test_tampered(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(JsonObject) evil = base_claims();
	const char *algs[] = {"RS256", "ES256"};
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	json_object_set_string_member(evil, "sub", "1");
	for (guint i = 0; i < G_N_ELEMENTS(algs); i++) {
		gboolean rsa = i == 0;
		gnutls_privkey_t key = rsa ? keys->rsa : keys->ec;
		const char *kid = rsa ? "rsa-1" : "ec-1";
		g_autofree char *token = make_token(key, algs[i], kid, claims);
		g_autofree char *other = make_token(key, algs[i], kid, evil);
		g_auto(GStrv) parts = g_strsplit(token, ".", -1);
		g_auto(GStrv) other_parts = g_strsplit(other, ".", -1);
		g_autofree char *swapped =
			g_strdup_printf("%s.%s.%s", parts[0], other_parts[1], parts[2]);
		g_autofree char *first = flip_signature(token, 0, 0);
		g_autofree char *last = flip_signature(token, rsa ? 255 : 63, 0);
		g_autofree char *mid = flip_signature(token, rsa ? 128 : 40, 0);
		/* flip a byte and cut it off: only shortened */
		g_autofree char *truncated = flip_signature(token, rsa ? 255 : 63, rsa ? 255 : 63);

		expect_refused(&config, keys, swapped, WR_OIDC_ERROR_BAD_SIGNATURE);
		expect_refused(&config, keys, first, WR_OIDC_ERROR_BAD_SIGNATURE);
		expect_refused(&config, keys, last, WR_OIDC_ERROR_BAD_SIGNATURE);
		expect_refused(&config, keys, mid, WR_OIDC_ERROR_BAD_SIGNATURE);
		expect_refused(&config, keys, truncated, WR_OIDC_ERROR_BAD_SIGNATURE);
	}
}

static void
test_foreign_key(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *rs = make_token(keys->rsa_foreign, "RS256", "rsa-1", claims);
	g_autofree char *es = make_token(keys->ec_foreign, "ES256", "ec-1", claims);
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	expect_refused(&config, keys, rs, WR_OIDC_ERROR_BAD_SIGNATURE);
	expect_refused(&config, keys, es, WR_OIDC_ERROR_BAD_SIGNATURE);
}

static void
test_alg_refused(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *none = make_token(NULL, "none", "rsa-1", claims);
	g_autofree char *none_nokid = make_token(NULL, "none", NULL, claims);
	g_autofree char *hs = make_token(keys->rsa, "HS256", "rsa-1", claims);
	g_autofree char *rs384 = make_token(keys->rsa, "RS384", "rsa-1", claims);
	g_autofree char *es = make_token(keys->ec, "ES256", "ec-1", claims);
	g_autofree char *weird = make_token(keys->rsa, "R\nS256<script>", "rsa-1", claims);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwt) jwt = wr_jwt_parse(hs, strlen(hs), &error);
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	expect_refused(&config, keys, none, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, none_nokid, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, hs, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, rs384, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, weird, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	/* no mask lets HS256 through */
	g_assert_no_error(error);
	g_assert_false(wr_jwt_verify(jwt, keys->jwks, G_MAXUINT, &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	/* pinned to RS256, an ES256 token is refused */
	config.algs = WR_JWS_ALG_RS256;
	expect_refused(&config, keys, es, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
}

static void
test_key_confusion(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	/* RS256 naming the EC key, ES256 naming the RSA key */
	g_autofree char *rs_ec = make_token(keys->rsa, "RS256", "ec-1", claims);
	g_autofree char *es_rsa = make_token(keys->ec, "ES256", "rsa-1", claims);
	/* a key published for PS256 only */
	g_autofree char *rs_ps = make_token(keys->rsa, "RS256", "rsa-ps", claims);
	/* a key published for RS256 explicitly is fine */
	g_autofree char *rs_rs = make_token(keys->rsa, "RS256", "rsa-rs", claims);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcIdentity) identity = NULL;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	expect_refused(&config, keys, rs_ec, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, es_rsa, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	expect_refused(&config, keys, rs_ps, WR_OIDC_ERROR_ALG_NOT_ALLOWED);
	identity = verify(&config, keys, rs_rs, &error);
	g_assert_no_error(error);
	g_assert_nonnull(identity);
}

static void
test_unknown_kid(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *token = make_token(keys->rsa, "RS256", "rotated-away", claims);
	g_autofree char *nokid = make_token(keys->rsa, "RS256", NULL, claims);
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	expect_refused(&config, keys, token, WR_OIDC_ERROR_UNKNOWN_KID);
	/* several keys published: a token must say which */
	expect_refused(&config, keys, nokid, WR_OIDC_ERROR_UNKNOWN_KID);
}

static void
test_times(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = NULL;
	g_autoptr(WrOidcIdentity) identity = NULL;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	/* expired beyond the skew */
	claims = base_claims();
	json_object_set_int_member(claims, "exp", NOW - 61);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EXPIRED);
	json_object_set_int_member(claims, "exp", NOW - 60);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EXPIRED);
	/* within it */
	json_object_set_int_member(claims, "exp", NOW - 59);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* without skew */
	config.skew = 0;
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EXPIRED);
	config.skew = WR_OIDC_DEFAULT_SKEW;
	/* fractional seconds are read */
	json_object_set_double_member(claims, "exp", (double) NOW + 0.5);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* issued in the future */
	g_clear_pointer(&claims, json_object_unref);
	claims = base_claims();
	json_object_set_int_member(claims, "iat", NOW + 61);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NOT_YET_VALID);
	json_object_set_int_member(claims, "iat", NOW + 60);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* not before */
	json_object_set_int_member(claims, "nbf", NOW + 600);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NOT_YET_VALID);
	json_object_set_string_member(claims, "nbf", "soon");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NOT_YET_VALID);
	json_object_set_int_member(claims, "nbf", NOW - 600);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* missing or malformed */
	json_object_remove_member(claims, "exp");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
	json_object_set_string_member(claims, "exp", "1800003600");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
	json_object_set_int_member(claims, "exp", NOW + 10);
	json_object_remove_member(claims, "iat");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
}

static void
test_issuer_audience(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(WrOidcIdentity) identity = NULL;
	JsonArray *aud;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	json_object_set_string_member(claims, "iss", "https://idp.example.com/");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_set_string_member(claims, "iss", "https://evil.example");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_set_int_member(claims, "iss", 1);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_remove_member(claims, "iss");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_set_string_member(claims, "iss", ISSUER);

	json_object_set_string_member(claims, "aud", "someone-else");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	json_object_remove_member(claims, "aud");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	/* an array with only us */
	aud = json_array_new();
	json_array_add_string_element(aud, CLIENT_ID);
	json_object_set_array_member(claims, "aud", aud);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* several audiences need azp, and it must be us */
	json_array_add_string_element(aud, "someone-else");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	json_object_set_string_member(claims, "azp", "someone-else");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	json_object_set_int_member(claims, "azp", 7);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	json_object_set_string_member(claims, "azp", CLIENT_ID);
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* an array without us */
	aud = json_array_new();
	json_array_add_string_element(aud, "a");
	json_array_add_int_element(aud, 1);
	json_object_set_array_member(claims, "aud", aud);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
	/* one audience, azp of someone else */
	json_object_set_string_member(claims, "aud", CLIENT_ID);
	json_object_set_string_member(claims, "azp", "someone-else");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_AUDIENCE);
}

static void
test_nonce_sub(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autofree char *long_sub = g_strnfill(256, '1');
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	json_object_set_string_member(claims, "nonce", NONCE "x");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NONCE_MISMATCH);
	json_object_set_string_member(claims, "nonce", "n-0S6_WzA2Mk");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NONCE_MISMATCH);
	json_object_set_string_member(claims, "nonce", "");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NONCE_MISMATCH);
	json_object_remove_member(claims, "nonce");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_NONCE_MISMATCH);
	json_object_set_string_member(claims, "nonce", NONCE);

	json_object_set_string_member(claims, "sub", "");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
	json_object_set_string_member(claims, "sub", long_sub);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
	json_object_remove_member(claims, "sub");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_BAD_FORMAT);
}

static void
test_email_verified(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(WrOidcIdentity) identity = NULL;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	json_object_set_boolean_member(claims, "email_verified", FALSE);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	json_object_set_string_member(claims, "email_verified", "false");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	json_object_set_int_member(claims, "email_verified", 1);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	json_object_remove_member(claims, "email_verified");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	/* the string some providers send */
	json_object_set_string_member(claims, "email_verified", "true");
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* no email at all */
	json_object_remove_member(claims, "email");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	/* unless the deployment does not need one */
	config.require_verified_email = FALSE;
	identity = expect_claims_accepted(&config, keys, claims);
	g_assert_null(identity->email);
}

static void
test_google(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(WrOidcIdentity) identity = NULL;
	const char *const domains[] = {"example.com", "example.org", NULL};
	WrOidcConfig config;

	wr_oidc_config_init_google(&config, CLIENT_ID);
	json_object_set_string_member(claims, "azp", CLIENT_ID);
	/* both spellings of the issuer */
	json_object_set_string_member(claims, "iss", "https://accounts.google.com");
	identity = expect_claims_accepted(&config, keys, claims);
	g_assert_cmpstr(identity->iss, ==, "https://accounts.google.com");
	g_clear_pointer(&identity, wr_oidc_identity_free);
	json_object_set_string_member(claims, "iss", "accounts.google.com");
	identity = expect_claims_accepted(&config, keys, claims);
	g_assert_cmpstr(identity->iss, ==, "accounts.google.com");
	g_clear_pointer(&identity, wr_oidc_identity_free);
	json_object_set_string_member(claims, "iss", "http://accounts.google.com");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_set_string_member(claims, "iss", ISSUER);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	json_object_set_string_member(claims, "iss", "accounts.google.com");
	/* the generic preset does not take the bare spelling */
	{
		WrOidcConfig generic;

		wr_oidc_config_init(&generic, WR_OIDC_GOOGLE_ISSUER, CLIENT_ID);
		expect_claims_refused(&generic, keys, claims, WR_OIDC_ERROR_WRONG_ISSUER);
	}
	/* email_verified false */
	json_object_set_boolean_member(claims, "email_verified", FALSE);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
	json_object_set_boolean_member(claims, "email_verified", TRUE);

	/* hosted domains: the hd claim decides, not the email's domain */
	config.allowed_hosted_domains = domains;
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "hd", "evil.example");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "hd", "example.com.evil.example");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_int_member(claims, "hd", 1);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "hd", "Example.ORG");
	json_object_set_string_member(claims, "email", "alice@gmail.com");
	identity = expect_claims_accepted(&config, keys, claims);
	g_assert_cmpstr(identity->hd, ==, "Example.ORG");
	g_assert_cmpstr(identity->email, ==, "alice@gmail.com");
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* name and picture may be absent */
	json_object_remove_member(claims, "name");
	json_object_remove_member(claims, "picture");
	identity = expect_claims_accepted(&config, keys, claims);
	g_assert_null(identity->name);
	g_assert_null(identity->picture);
}

static void
test_allow_lists(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(WrOidcIdentity) identity = NULL;
	const char *const emails[] = {"bob@example.net", "Alice@Example.com", NULL};
	const char *const other_emails[] = {"bob@example.net", NULL};
	const char *const domains[] = {"example.org", NULL};
	const char *const empty[] = {NULL};
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	config.allowed_emails = empty;
	config.allowed_email_domains = empty;
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	config.allowed_emails = emails;
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	config.allowed_emails = other_emails;
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_ALLOWED);
	/* email domains, for providers without hd */
	config.allowed_emails = NULL;
	config.allowed_email_domains = domains;
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "email", "alice@sub.example.org");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "email", "alice@example.org@");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED);
	json_object_set_string_member(claims, "email", "alice@EXAMPLE.org");
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	/* either list admits */
	config.allowed_emails = other_emails;
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	json_object_set_string_member(claims, "email", "carol@example.net");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_ALLOWED);
	/* an allow-list needs a verified email even when the deployment would not */
	config.require_verified_email = FALSE;
	json_object_set_string_member(claims, "email", "bob@example.net");
	json_object_set_boolean_member(claims, "email_verified", FALSE);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED);
}

static void
test_groups(gconstpointer data)
{
	const Keys *keys = data;
	g_autoptr(JsonObject) claims = base_claims();
	g_autoptr(WrOidcIdentity) identity = NULL;
	const char *const groups[] = {"vpn-users", "admins", NULL};
	const char *const empty[] = {NULL};
	JsonArray *array;
	WrOidcConfig config;

	wr_oidc_config_init(&config, ISSUER, CLIENT_ID);
	/* no list, or an empty one: no groups needed */
	config.allowed_groups = empty;
	identity = expect_claims_accepted(&config, keys, claims);
	g_clear_pointer(&identity, wr_oidc_identity_free);
	config.allowed_groups = groups;
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_GROUP_NOT_ALLOWED);
	/* a string is not the array the claim must be */
	json_object_set_string_member(claims, "groups", "admins");
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_GROUP_NOT_ALLOWED);
	array = json_array_new();
	json_array_add_string_element(array, "staff");
	json_array_add_int_element(array, 7);
	json_array_add_string_element(array, "Admins");
	json_object_set_array_member(claims, "groups", array);
	expect_claims_refused(&config, keys, claims, WR_OIDC_ERROR_GROUP_NOT_ALLOWED);
	json_array_add_string_element(array, "admins");
	identity = expect_claims_accepted(&config, keys, claims);
}

static void
test_error_names(void)
{
	g_assert_cmpstr(wr_oidc_error_to_string(WR_OIDC_ERROR_BAD_FORMAT), ==, "bad-format");
	g_assert_cmpstr(wr_oidc_error_to_string(WR_OIDC_ERROR_UNKNOWN_KID), ==, "unknown-kid");
	g_assert_cmpstr(wr_oidc_error_to_string(WR_OIDC_ERROR_EMAIL_NOT_ALLOWED), ==,
			"email-not-allowed");
	g_assert_cmpstr(wr_oidc_error_to_string(WR_OIDC_ERROR_GROUP_NOT_ALLOWED), ==,
			"group-not-allowed");
	g_assert_cmpstr(wr_oidc_error_to_string(WR_OIDC_ERROR_BAD_REQUEST), ==, "bad-request");
	g_assert_cmpstr(wr_oidc_error_to_string(-1), ==, "unknown");
	g_assert_cmpstr(wr_oidc_error_to_string(99), ==, "unknown");
}

int
main(int argc, char *argv[])
{
	Keys keys = {NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *k1 = NULL;
	g_autofree char *k2 = NULL;
	g_autofree char *k3 = NULL;
	g_autofree char *k4 = NULL;
	g_autofree char *doc = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(gnutls_global_init(), ==, 0);
	keys.rsa = generate(GNUTLS_PK_RSA, 2048);
	keys.ec = generate(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	keys.rsa_foreign = generate(GNUTLS_PK_RSA, 2048);
	keys.ec_foreign =
		generate(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	k1 = jwk(keys.rsa, "rsa-1", NULL);
	k2 = jwk(keys.ec, "ec-1", "ES256");
	k3 = jwk(keys.rsa, "rsa-ps", "PS256");
	k4 = jwk(keys.rsa, "rsa-rs", "RS256");
	doc = g_strdup_printf("{\"keys\":[%s,%s,%s,%s]}", k1, k2, k3, k4);
	keys.jwks = wr_jwks_parse(doc, strlen(doc), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(wr_jwks_get_n_keys(keys.jwks), ==, 4);

	g_test_add_data_func("/warren/jwt/valid", &keys, test_valid);
	g_test_add_data_func("/warren/jwt/parse", &keys, test_parse);
	g_test_add_data_func("/warren/jwt/bad-format", &keys, test_bad_format);
	g_test_add_data_func("/warren/jwt/tampered", &keys, test_tampered);
	g_test_add_data_func("/warren/jwt/foreign-key", &keys, test_foreign_key);
	g_test_add_data_func("/warren/jwt/alg-refused", &keys, test_alg_refused);
	g_test_add_data_func("/warren/jwt/key-confusion", &keys, test_key_confusion);
	g_test_add_data_func("/warren/jwt/unknown-kid", &keys, test_unknown_kid);
	g_test_add_data_func("/warren/jwt/claims/times", &keys, test_times);
	g_test_add_data_func("/warren/jwt/claims/issuer-audience", &keys, test_issuer_audience);
	g_test_add_data_func("/warren/jwt/claims/nonce-sub", &keys, test_nonce_sub);
	g_test_add_data_func("/warren/jwt/claims/email-verified", &keys, test_email_verified);
	g_test_add_data_func("/warren/jwt/claims/google", &keys, test_google);
	g_test_add_data_func("/warren/jwt/claims/allow-lists", &keys, test_allow_lists);
	g_test_add_data_func("/warren/jwt/claims/groups", &keys, test_groups);
	g_test_add_func("/warren/jwt/error-names", test_error_names);
	ret = g_test_run();

	wr_jwks_free(keys.jwks);
	gnutls_privkey_deinit(keys.rsa);
	gnutls_privkey_deinit(keys.ec);
	gnutls_privkey_deinit(keys.rsa_foreign);
	gnutls_privkey_deinit(keys.ec_foreign);
	gnutls_global_deinit();
	return ret;
}
