/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <string.h>

#include "wr-b64url.h"
#include "wr-jwks.h"
#include "wr-oidc-json.h"

/* P-256 coordinates are exactly this long (RFC 7518 §6.2.1.2) */
#define P256_COORD_LEN 32
/* an RSA public exponent is at most this long */
#define RSA_MAX_EXPONENT_LEN 8
/* kids are shown in messages up to this many characters */
#define KID_SHOWN 64

struct _WrJwks {
	GPtrArray *keys; /* of WrJwk */
};

static void
jwk_free(WrJwk *key)
{
	if (key == NULL)
		return;
	g_free(key->kid);
	g_free(key->alg);
	if (key->pubkey != NULL)
		gnutls_pubkey_deinit(key->pubkey);
	g_free(key);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrJwk, jwk_free)

void
wr_jwks_free(WrJwks *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->keys);
	g_free(self);
}

guint
wr_jwks_get_n_keys(const WrJwks *self)
{
	return self->keys->len;
}

const WrJwk *
wr_jwks_get_key(const WrJwks *self, guint index)
{
	g_return_val_if_fail(index < self->keys->len, NULL);
	return g_ptr_array_index(self->keys, index);
}

/* "key 3 (kid "abc")" for messages */
static char *
describe_key(guint index, const char *kid)
{
	g_autofree char *shown = NULL;

	if (kid == NULL)
		return g_strdup_printf("key %u", index + 1);
	shown = g_utf8_substring(kid, 0, MIN(g_utf8_strlen(kid, -1), KID_SHOWN));
	return g_strdup_printf("key %u (kid \"%s\")", index + 1, shown);
}

/* decodes base64url member @name of @object, of 1 to @max bytes */
static gboolean
get_b64(JsonObject *object, const char *name, gsize max, const char *key_desc, guint8 **out_data,
	gsize *out_len, GError **error)
{
	const char *text = wr_oidc_json_get_string(object, name);
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	if (text == NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has no \"%s\" string",
			    key_desc, name);
		return FALSE;
	}
	if (!wr_b64url_decode(text, strlen(text), max, &data, &len) || len == 0) {
		g_set_error(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			"the provider's signing keys are malformed: %s has a \"%s\" that is not "
			"base64url of 1 to %" G_GSIZE_FORMAT " bytes",
			key_desc, name, max);
		return FALSE;
	}
	*out_data = g_steal_pointer(&data);
	*out_len = len;
	return TRUE;
}

static gboolean
import_rsa(WrJwk *key, JsonObject *object, const char *key_desc, GError **error)
{
	g_autofree guint8 *n_data = NULL;
	g_autofree guint8 *e_data = NULL;
	gsize n_len = 0;
	gsize e_len = 0;
	gsize skip = 0;
	gnutls_datum_t n;
	gnutls_datum_t e;
	int r;

	if (!get_b64(object, "n", WR_JWK_RSA_MAX_BITS / 8 + 1, key_desc, &n_data, &n_len, error))
		return FALSE;
	if (!get_b64(object, "e", RSA_MAX_EXPONENT_LEN, key_desc, &e_data, &e_len, error))
		return FALSE;
	/* JWK forbids leading zero bytes, but some publishers write one: tolerate it */
	while (skip < n_len && n_data[skip] == 0)
		skip++;
	key->bits = skip < n_len
			    ? (guint) (n_len - skip - 1) * 8 + (guint) g_bit_storage(n_data[skip])
			    : 0;
	if (key->bits < WR_JWK_RSA_MIN_BITS || key->bits > WR_JWK_RSA_MAX_BITS) {
		g_set_error(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			"the provider's signing keys are malformed: %s is an RSA key of %u bits; "
			"%d to %d are accepted",
			key_desc, key->bits, WR_JWK_RSA_MIN_BITS, WR_JWK_RSA_MAX_BITS);
		return FALSE;
	}
	/* an RSA modulus and public exponent are odd, and the exponent at least 3 */
	if ((n_data[n_len - 1] & 1) == 0 || (e_data[e_len - 1] & 1) == 0 ||
	    (e_len == 1 && e_data[0] < 3)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s is not a valid RSA key",
			    key_desc);
		return FALSE;
	}
	n.data = n_data + skip;
	n.size = (unsigned int) (n_len - skip);
	e.data = e_data;
	e.size = (unsigned int) e_len;
	r = gnutls_pubkey_init(&key->pubkey);
	if (r >= 0)
		r = gnutls_pubkey_import_rsa_raw(key->pubkey, &n, &e);
	if (r < 0) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s is not a valid RSA key "
			    "(%s)",
			    key_desc, gnutls_strerror(r));
		return FALSE;
	}
	key->kind = WR_JWK_KIND_RSA;
	return TRUE;
}

static gboolean
import_ec(WrJwk *key, JsonObject *object, const char *key_desc, GError **error)
{
	const char *crv = wr_oidc_json_get_string(object, "crv");
	g_autofree guint8 *x_data = NULL;
	g_autofree guint8 *y_data = NULL;
	gsize x_len = 0;
	gsize y_len = 0;
	gnutls_datum_t x;
	gnutls_datum_t y;
	int r;

	if (crv == NULL || strcmp(crv, "P-256") != 0) {
		g_set_error(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			"the provider's signing keys are malformed: %s is an EC key that is not "
			"on curve P-256",
			key_desc);
		return FALSE;
	}
	if (!get_b64(object, "x", P256_COORD_LEN, key_desc, &x_data, &x_len, error) ||
	    !get_b64(object, "y", P256_COORD_LEN, key_desc, &y_data, &y_len, error))
		return FALSE;
	if (x_len != P256_COORD_LEN || y_len != P256_COORD_LEN) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has P-256 coordinates "
			    "that are not %d bytes long",
			    key_desc, P256_COORD_LEN);
		return FALSE;
	}
	x.data = x_data;
	x.size = P256_COORD_LEN;
	y.data = y_data;
	y.size = P256_COORD_LEN;
	r = gnutls_pubkey_init(&key->pubkey);
	if (r >= 0)
		r = gnutls_pubkey_import_ecc_raw(key->pubkey, GNUTLS_ECC_CURVE_SECP256R1, &x, &y);
	if (r < 0) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s is not a valid P-256 "
			    "key (%s)",
			    key_desc, gnutls_strerror(r));
		return FALSE;
	}
	key->kind = WR_JWK_KIND_EC_P256;
	key->bits = 256;
	return TRUE;
}

/*
 * Reads one member of "keys".  Returns TRUE with *out_key set to the key, or to NULL for a key
 * that is skipped (unknown type, not for signatures); FALSE on a malformed key.
 */
static gboolean
parse_key(JsonNode *node, guint index, WrJwk **out_key, GError **error)
{
	g_autoptr(WrJwk) key = g_new0(WrJwk, 1);
	g_autofree char *key_desc = NULL;
	JsonObject *object;
	const char *kty;
	const char *use;
	const char *kid;
	const char *alg;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: key %u is not an object",
			    index + 1);
		return FALSE;
	}
	object = json_node_get_object(node);
	kid = wr_oidc_json_get_string(object, "kid");
	key_desc = describe_key(index, kid);
	if (json_object_has_member(object, "kid") &&
	    (kid == NULL || kid[0] == '\0' || strlen(kid) > WR_JWK_MAX_KID)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has a \"kid\" that is "
			    "not a string of 1 to %d bytes",
			    key_desc, WR_JWK_MAX_KID);
		return FALSE;
	}
	kty = wr_oidc_json_get_string(object, "kty");
	if (kty == NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has no \"kty\" string",
			    key_desc);
		return FALSE;
	}
	use = wr_oidc_json_get_string(object, "use");
	if (json_object_has_member(object, "use") && use == NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has a \"use\" that is "
			    "not a string",
			    key_desc);
		return FALSE;
	}
	alg = wr_oidc_json_get_string(object, "alg");
	if (json_object_has_member(object, "alg") && alg == NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are malformed: %s has an \"alg\" that is "
			    "not a string",
			    key_desc);
		return FALSE;
	}
	if ((use != NULL && strcmp(use, "sig") != 0) ||
	    (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)) {
		*out_key = NULL;
		return TRUE;
	}
	if (strcmp(kty, "RSA") == 0) {
		if (!import_rsa(key, object, key_desc, error))
			return FALSE;
	} else {
		if (!import_ec(key, object, key_desc, error))
			return FALSE;
	}
	key->kid = g_strdup(kid);
	key->alg = g_strdup(alg);
	*out_key = g_steal_pointer(&key);
	return TRUE;
}

WrJwks *
wr_jwks_parse(const void *data, gsize len, GError **error)
{
	g_autoptr(JsonObject) root = NULL;
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify) jwk_free);
	JsonNode *member;
	JsonArray *array;
	WrJwks *self;

	if (len > WR_JWKS_MAX_DOCUMENT) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's signing keys are more than %d bytes long",
			    WR_JWKS_MAX_DOCUMENT);
		return NULL;
	}
	root = wr_oidc_json_parse_object(data, len, "the provider's key set (JWKS)", TRUE, error);
	if (root == NULL)
		return NULL;
	member = json_object_get_member(root, "keys");
	if (member == NULL || !JSON_NODE_HOLDS_ARRAY(member)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the provider's key set (JWKS) has no \"keys\" array");
		return NULL;
	}
	array = json_node_get_array(member);
	if (json_array_get_length(array) > WR_JWKS_MAX_KEYS) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider publishes more than %d signing keys", WR_JWKS_MAX_KEYS);
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(array); i++) {
		WrJwk *key = NULL;

		if (!parse_key(json_array_get_element(array, i), i, &key, error))
			return NULL;
		if (key == NULL)
			continue;
		for (guint j = 0; key->kid != NULL && j < keys->len; j++) {
			WrJwk *other = g_ptr_array_index(keys, j);

			if (g_strcmp0(other->kid, key->kid) == 0) {
				g_autofree char *key_desc = describe_key(i, key->kid);

				g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
					    "the provider's signing keys are malformed: %s repeats "
					    "the kid of an earlier key",
					    key_desc);
				jwk_free(key);
				return NULL;
			}
		}
		g_ptr_array_add(keys, key);
	}
	self = g_new0(WrJwks, 1);
	self->keys = g_steal_pointer(&keys);
	return self;
}

const WrJwk *
wr_jwks_lookup(const WrJwks *self, const char *kid, GError **error)
{
	if (kid == NULL) {
		if (self->keys->len == 1)
			return g_ptr_array_index(self->keys, 0);
		g_set_error_literal(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID,
			"the sign-in token does not say which of the provider's signing "
			"keys it was signed with");
		return NULL;
	}
	for (guint i = 0; i < self->keys->len; i++) {
		const WrJwk *key = g_ptr_array_index(self->keys, i);

		if (g_strcmp0(key->kid, kid) == 0)
			return key;
	}
	g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID,
			    "the sign-in token was signed with a key the provider does not (or no "
			    "longer) publish");
	return NULL;
}
