/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Key text forms.  WireGuard's tools use base64 (44 chars) and, on the UAPI socket,
 * 64 lowercase hex chars.  Warren's own text forms are a prefix and 64 lowercase hex
 * chars: "mkey:", "nodekey:", "discokey:" for public keys, "privkey:" for private keys
 * on disk.  Every encoder and decoder here runs in constant time with respect to the
 * key bytes (branch-free arithmetic, as wireguard-tools' encoding.c does), because
 * private keys pass through them.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_KEY_BYTES	  32
#define WR_KEY_BASE64_LEN 44 /* without the terminating NUL */
#define WR_KEY_HEX_LEN	  64

typedef enum {
	WR_KEY_KIND_MACHINE, /* "mkey:" */
	WR_KEY_KIND_NODE,    /* "nodekey:" */
	WR_KEY_KIND_DISCO,   /* "discokey:" */
	WR_KEY_KIND_PRIVATE, /* "privkey:" */
} WrKeyKind;

/* out holds WR_KEY_BASE64_LEN + 1 bytes */
void
wr_key_to_base64(char out[WR_KEY_BASE64_LEN + 1], const uint8_t key[WR_KEY_BYTES]);

/* GHashTable functions for tables keyed by a pointer to a 32-byte public key.  The hash is the
 * key's first bytes: public keys are uniformly random, and the tables hold configured peers
 * only (from the WireGuard config or the network map), not keys an attacker picks freely. */
guint
wr_key_hash(gconstpointer key);
gboolean
wr_key_equal(gconstpointer a, gconstpointer b);
/* exactly 44 chars ending in '=', canonical (the last char's unused bits zero); false otherwise */
bool
wr_key_from_base64(uint8_t out[WR_KEY_BYTES], const char *base64);

/* out holds WR_KEY_HEX_LEN + 1 bytes, lowercase */
void
wr_key_to_hex(char out[WR_KEY_HEX_LEN + 1], const uint8_t key[WR_KEY_BYTES]);
/* exactly 64 hex chars (either case accepted); false otherwise, and out untouched */
bool
wr_key_from_hex(uint8_t out[WR_KEY_BYTES], const char *hex);
/* the same on a counted, not necessarily NUL-terminated string */
bool
wr_key_from_hex_len(uint8_t out[WR_KEY_BYTES], const char *hex, size_t len);

/* "nodekey:<hex>" and friends; returns the prefix for a kind */
const char *
wr_key_kind_prefix(WrKeyKind kind);
/* a newly allocated (g_malloc) string; free with g_free, or wipe first for private keys */
char *
wr_key_to_text(WrKeyKind kind, const uint8_t key[WR_KEY_BYTES]);
/* requires the exact prefix of kind and 64 lowercase hex chars */
bool
wr_key_from_text(uint8_t out[WR_KEY_BYTES], WrKeyKind kind, const char *text);

/* true for the all-zero key, constant time */
bool
wr_key_is_zero(const uint8_t key[WR_KEY_BYTES]);
