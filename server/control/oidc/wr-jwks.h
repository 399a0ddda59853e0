/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An OpenID provider's signing keys: a JWKS document (RFC 7517) read into GnuTLS public keys.
 * Only what ID tokens are verified with is kept: RSA keys of 2048 bits or more and EC P-256
 * keys.  Keys of other types (kty) and keys not for signatures (use other than "sig") are
 * skipped; a key of a type we read that is malformed refuses the whole document, with a message
 * naming the key.  Pure: no network, no clock.
 */

#pragma once

#include <glib.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "wr-oidc-error.h"

/* a JWKS document is at most this long */
#define WR_JWKS_MAX_DOCUMENT (256 * 1024)
/* and lists at most this many keys, of any type */
#define WR_JWKS_MAX_KEYS 64
/* RSA moduli are from this many bits */
#define WR_JWK_RSA_MIN_BITS 2048
/* to this many */
#define WR_JWK_RSA_MAX_BITS 8192
/* a kid is at most this long */
#define WR_JWK_MAX_KID 256

typedef enum {
	WR_JWK_KIND_RSA,
	WR_JWK_KIND_EC_P256,
} WrJwkKind;

typedef struct {
	char *kid; /* NULL when the key has none */
	char *alg; /* the JWK's "alg", NULL when not given */
	WrJwkKind kind;
	guint bits; /* modulus or curve size */
	gnutls_pubkey_t pubkey;
} WrJwk;

typedef struct _WrJwks WrJwks;

/*
 * Reads a JWKS document.  Returns the key set (possibly empty), or NULL with
 * WR_OIDC_ERROR_BAD_FORMAT saying what is wrong and with which key.
 */
WrJwks *
wr_jwks_parse(const void *data, gsize len, GError **error);

void
wr_jwks_free(WrJwks *self);

guint
wr_jwks_get_n_keys(const WrJwks *self);

/* the @index th usable key, in document order */
const WrJwk *
wr_jwks_get_key(const WrJwks *self, guint index);

/*
 * The key named @kid.  With @kid NULL (a token header without one), the only key if there is
 * exactly one.  Otherwise NULL with WR_OIDC_ERROR_UNKNOWN_KID: the provider may have rotated
 * its keys, so the caller should fetch the JWKS again (once, rate-limited) and retry.
 */
const WrJwk *
wr_jwks_lookup(const WrJwks *self, const char *kid, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrJwks, wr_jwks_free)
