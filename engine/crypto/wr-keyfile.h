/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Secret keys on disk: one key per file, mode 0600, written atomically (a temporary file in the
 * same directory, fsync, rename), never readable by anyone but the owner.  Used for the
 * servers' private keys, the DERP mesh key, and warrend's machine and node keys.
 *
 *   private keys: "privkey:" and 64 lowercase hex digits, then a newline;
 *   the DERP mesh key (derp-disco-stun.md §1): 64 hex digits, no prefix.
 *
 * A file whose mode lets the group or others read it is refused, with a message that says
 * how to fix it; so is a file that holds anything but one key (a newline may follow).
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>

/* the largest key file read: a key, a newline and some slack */
#define WR_KEYFILE_MAX_SIZE 256

/* reads "privkey:<hex>" from path; out_key untouched on failure */
gboolean
wr_keyfile_load_private(const char *path, uint8_t out_key[32], GError **error);

/* as wr_keyfile_load_private, but a missing file is created with a new key (0600, atomically);
 * out_created (may be NULL) says which happened */
gboolean
wr_keyfile_load_or_create_private(const char *path, uint8_t out_key[32], gboolean *out_created,
				  GError **error);

/* writes "privkey:<hex>\n" to path, replacing it atomically, mode 0600 */
gboolean
wr_keyfile_save_private(const char *path, const uint8_t key[32], GError **error);

/* reads a bare 64-hex-digit key (the mesh key) */
gboolean
wr_keyfile_load_hex(const char *path, uint8_t out_key[32], GError **error);
