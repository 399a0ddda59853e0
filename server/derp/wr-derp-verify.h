/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What warren-derp reads to decide who may use the relay (--verify-clients, §2.9 of
 * docs/protocols/derp-disco-stun.md): an allow-list file of node keys, or the JSON answer of a
 * verifier URL.  Pure parsers, kept apart from the program so that they can be fuzzed.
 */

#pragma once

#include <glib.h>

/* an allow-list holds at most this many keys */
#define WR_DERP_ALLOWLIST_MAX_KEYS (1024 * 1024)
/* a verifier's answer is at most this long */
#define WR_DERP_VERIFY_MAX_ANSWER (64 * 1024)

/*
 * An allow-list: one "nodekey:<64 lowercase hex>" per line; blank lines and lines starting
 * with '#' are ignored, surrounding white space too.  Returns a set of 32-byte GBytes keys, or
 * NULL with G_IO_ERROR_INVALID_DATA naming @name, the line and what is wrong with it.
 */
GHashTable *
wr_derp_allowlist_parse(const char *name, const char *data, gsize len, GError **error);

/* whether @set (from wr_derp_allowlist_parse) holds @key */
gboolean
wr_derp_allowlist_contains(GHashTable *set, const guint8 key[32]);

/*
 * A verifier's answer: a JSON object with a boolean member "Allow" (other members ignored).
 * Returns TRUE with *allow set, or FALSE with G_IO_ERROR_INVALID_DATA saying what is wrong.
 */
gboolean
wr_derp_verify_parse_answer(const void *data, gsize len, gboolean *allow, GError **error);
