/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An OpenID provider's signing keys (server/control/oidc/wr-jwks) and the strict base64url
 * under them: keys generated with GnuTLS are read back; keys of other types or uses are
 * skipped; each malformed document (bad base64url, short RSA modulus, wrong curve, missing
 * members, too many keys, repeated kids) is refused with a message naming the key and the fault.
 */

#define G_LOG_DOMAIN "WrJwksTest"

#include "config.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "wr-b64url.h"
#include "wr-jwks.h"

#define P256_LEN 32

typedef struct {
	char *n; /* of a 2048-bit RSA key */
	char *e;
	char *x; /* of a P-256 key */
	char *y;
} Material;

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
	buf = g_malloc0(width);
	memcpy(buf + width - len, datum->data + skip, len);
	return wr_b64url_encode(buf, width);
}

static void
material_init(Material *m)
{
	gnutls_privkey_t rsa = NULL;
	gnutls_privkey_t ec = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = {NULL, 0};
	gnutls_datum_t b = {NULL, 0};
	gnutls_ecc_curve_t curve;

	g_assert_cmpint(gnutls_privkey_init(&rsa), ==, 0);
	g_assert_cmpint(gnutls_privkey_generate2(rsa, GNUTLS_PK_RSA, 2048, 0, NULL, 0), ==, 0);
	g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
	g_assert_cmpint(gnutls_pubkey_import_privkey(pub, rsa, 0, 0), ==, 0);
	g_assert_cmpint(gnutls_pubkey_export_rsa_raw2(pub, &a, &b, 0), ==, 0);
	m->n = b64_number(&a, 0);
	m->e = b64_number(&b, 0);
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(rsa);

	g_assert_cmpint(gnutls_privkey_init(&ec), ==, 0);
	g_assert_cmpint(gnutls_privkey_generate2(ec, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						 0, NULL, 0),
			==, 0);
	g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
	g_assert_cmpint(gnutls_pubkey_import_privkey(pub, ec, 0, 0), ==, 0);
	g_assert_cmpint(gnutls_pubkey_export_ecc_raw2(pub, &curve, &a, &b, 0), ==, 0);
	m->x = b64_number(&a, P256_LEN);
	m->y = b64_number(&b, P256_LEN);
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(ec);
}

static void
material_clear(Material *m)
{
	g_free(m->n);
	g_free(m->e);
	g_free(m->x);
	g_free(m->y);
}

static WrJwks *
parse(const char *doc, GError **error)
{
	return wr_jwks_parse(doc, strlen(doc), error);
}

/* @doc is refused with a message holding each of the NULL-terminated @words */
static void
expect_refused(const char *doc, ...)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwks) jwks = parse(doc, &error);
	va_list ap;
	const char *word;

	g_assert_null(jwks);
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
	g_test_message("%s", error->message);
	va_start(ap, doc);
	while ((word = va_arg(ap, const char *)) != NULL) {
		if (strstr(error->message, word) == NULL)
			g_error("\"%s\" not in \"%s\"", word, error->message);
	}
	va_end(ap);
}

static void
test_b64url(void)
{
	static const struct {
		const char *text;
		const char *bytes; /* NULL: refused */
		gsize len;
	} cases[] = {
		{"", "", 0},	    {"Zg", "f", 1},	   {"Zm8", "fo", 2},
		{"Zm9v", "foo", 3}, {"Zm9vYg", "foob", 4}, {"-_-_", "\xfb\xff\xbf", 3},
		{"Zg==", NULL, 0},  {"Zm8=", NULL, 0},	   {"Z", NULL, 0},
		{"Zh", NULL, 0},  /* unused bits set */
		{"Zm9", NULL, 0}, /* unused bits set */
		{"+/+/", NULL, 0},  {"Zm 9v", NULL, 0},	   {"Zm9v\n", NULL, 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree guint8 *data = NULL;
		gsize len = 99;
		gboolean ok =
			wr_b64url_decode(cases[i].text, strlen(cases[i].text), 1024, &data, &len);

		g_assert_cmpint(ok, ==, cases[i].bytes != NULL);
		if (!ok) {
			g_assert_null(data);
			g_assert_cmpuint(len, ==, 99);
			continue;
		}
		g_assert_cmpmem(data, len, cases[i].bytes, cases[i].len);
		{
			g_autofree char *again = wr_b64url_encode(data, len);

			g_assert_cmpstr(again, ==, cases[i].text);
		}
	}
	/* the limit */
	{
		g_autofree guint8 *data = NULL;
		gsize len = 0;

		g_assert_false(wr_b64url_decode("Zm9vYg", 6, 3, &data, &len));
		g_assert_true(wr_b64url_decode("Zm9vYg", 6, 4, &data, &len));
		g_assert_cmpuint(len, ==, 4);
	}
}

static void
test_good(gconstpointer data)
{
	const Material *m = data;
	g_autofree char *doc = g_strdup_printf(
		"{\"keys\":["
		"{\"kty\":\"RSA\",\"kid\":\"r\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\","
		"\"e\":\"%s\",\"x5t\":\"ignored\"},"
		"{\"kty\":\"EC\",\"kid\":\"e\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
		"{\"kty\":\"oct\",\"kid\":\"o\",\"k\":\"c2VjcmV0\"},"
		"{\"kty\":\"OKP\",\"kid\":\"d\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"},"
		"{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}"
		"],\"other\":1}",
		m->n, m->e, m->x, m->y, m->n, m->e);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwks) jwks = parse(doc, &error);
	const WrJwk *key;

	g_assert_no_error(error);
	g_assert_cmpuint(wr_jwks_get_n_keys(jwks), ==, 2);
	key = wr_jwks_lookup(jwks, "r", &error);
	g_assert_no_error(error);
	g_assert_cmpint(key->kind, ==, WR_JWK_KIND_RSA);
	g_assert_cmpuint(key->bits, ==, 2048);
	g_assert_cmpstr(key->alg, ==, "RS256");
	g_assert_cmpint(gnutls_pubkey_get_pk_algorithm(key->pubkey, NULL), ==, GNUTLS_PK_RSA);
	key = wr_jwks_lookup(jwks, "e", &error);
	g_assert_no_error(error);
	g_assert_cmpint(key->kind, ==, WR_JWK_KIND_EC_P256);
	g_assert_null(key->alg);
	g_assert_true(key == wr_jwks_get_key(jwks, 1));
	/* skipped keys are unknown */
	g_assert_null(wr_jwks_lookup(jwks, "o", &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
	g_clear_error(&error);
	g_assert_null(wr_jwks_lookup(jwks, "enc", &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
	g_clear_error(&error);
	/* a token without kid needs a single key */
	g_assert_null(wr_jwks_lookup(jwks, NULL, &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
}

static void
test_single_and_empty(gconstpointer data)
{
	const Material *m = data;
	g_autofree char *doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", m->x,
		m->y);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwks) jwks = parse(doc, &error);
	g_autoptr(WrJwks) empty = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(wr_jwks_lookup(jwks, NULL, &error));
	g_assert_no_error(error);
	g_assert_null(wr_jwks_lookup(jwks, "x", &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
	g_clear_error(&error);
	empty = parse("{\"keys\":[]}", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(wr_jwks_get_n_keys(empty), ==, 0);
	g_assert_null(wr_jwks_lookup(empty, NULL, &error));
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
}

static void
test_malformed(gconstpointer data)
{
	const Material *m = data;
	/* a 1024-bit odd number */
	g_autofree guint8 *short_n_bytes = g_malloc(128);
	g_autofree char *short_n = NULL;
	g_autofree char *bad_n = g_strdup(m->n);
	g_autofree char *x_short = NULL;
	g_autofree char *doc = NULL;
	g_autoptr(GString) many = g_string_new("{\"keys\":[");

	memset(short_n_bytes, 0xc5, 128);
	short_n = wr_b64url_encode(short_n_bytes, 128);
	bad_n[10] = '+';
	x_short = g_strndup(m->x, 40);

	expect_refused("", "JSON", NULL);
	expect_refused("{", "not JSON", NULL);
	expect_refused("[]", "not a JSON object", NULL);
	expect_refused("{}", "no \"keys\" array", NULL);
	expect_refused("{\"keys\":{}}", "no \"keys\" array", NULL);
	expect_refused("{\"keys\":[1]}", "key 1 is not an object", NULL);
	expect_refused("{\"keys\":[{\"kid\":\"a\"}]}", "key 1 (kid \"a\")", "kty", NULL);
	expect_refused("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"e\":\"AQAB\"}]}", "kid \"a\"",
		       "no \"n\"", NULL);
	doc = g_strdup_printf("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\"}]}", m->n);
	expect_refused(doc, "no \"e\"", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", bad_n);
	expect_refused(doc, "\"n\" that is not base64url", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
		short_n);
	expect_refused(doc, "RSA key of 1024 bits", "2048", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQA\"}]}", m->n);
	expect_refused(doc, "not a valid RSA key", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQAB=\"}]}", m->n);
	expect_refused(doc, "\"e\" that is not base64url", NULL);
	g_free(doc);
	doc = g_strdup_printf("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\","
			      "\"x\":\"%s\",\"y\":\"%s\"}]}",
			      m->x, m->y);
	expect_refused(doc, "kid \"p384\"", "not on curve P-256", NULL);
	g_free(doc);
	doc = g_strdup_printf("{\"keys\":[{\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}]}", m->x,
			      m->y);
	expect_refused(doc, "key 1 is an EC key", "P-256", NULL);
	g_free(doc);
	doc = g_strdup_printf("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}]}", m->x);
	expect_refused(doc, "no \"y\"", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
		x_short, m->y);
	expect_refused(doc, "not 32 bytes", NULL);
	g_free(doc);
	doc = g_strdup_printf(
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":7}]}", m->x);
	expect_refused(doc, "no \"y\" string", NULL);
	g_free(doc);
	doc = g_strdup_printf("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\","
			      "\"x\":\"%s\",\"y\":\"%s\"},{\"kty\":\"EC\",\"crv\":\"P-256\","
			      "\"kid\":\"k\",\"x\":\"%s\",\"y\":\"%s\"}]}",
			      m->x, m->y, m->x, m->y);
	expect_refused(doc, "key 2 (kid \"k\")", "repeats", NULL);
	expect_refused("{\"keys\":[{\"kty\":\"RSA\",\"kid\":5}]}", "\"kid\"", NULL);
	expect_refused("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"\"}]}", "\"kid\"", NULL);
	expect_refused("{\"keys\":[{\"kty\":\"RSA\",\"use\":1}]}", "\"use\"", NULL);
	expect_refused("{\"keys\":[{\"kty\":\"RSA\",\"alg\":[]}]}", "\"alg\"", NULL);
	for (guint i = 0; i <= WR_JWKS_MAX_KEYS; i++)
		g_string_append_printf(many, "%s{\"kty\":\"oct\"}", i > 0 ? "," : "");
	g_string_append(many, "]}");
	expect_refused(many->str, "more than 64", NULL);
	expect_refused(
		"{\"keys\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		"]]]]]]]]]]]}",
		"nests", NULL);
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(WrJwks) jwks = wr_jwks_parse("{\"keys\":[]}\0", 12, &error);

		g_assert_null(jwks);
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
	}
}

int
main(int argc, char *argv[])
{
	Material m = {NULL};
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(gnutls_global_init(), ==, 0);
	material_init(&m);
	g_test_add_func("/warren/jwks/b64url", test_b64url);
	g_test_add_data_func("/warren/jwks/good", &m, test_good);
	g_test_add_data_func("/warren/jwks/single-and-empty", &m, test_single_and_empty);
	g_test_add_data_func("/warren/jwks/malformed", &m, test_malformed);
	ret = g_test_run();
	material_clear(&m);
	gnutls_global_deinit();
	return ret;
}
