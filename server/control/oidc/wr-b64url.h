/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Strict base64url without padding (RFC 7515 §2, RFC 4648 §5), as JWS and JWK use it.  GLib's
 * g_base64_* is neither url-safe nor strict, hence this.
 */

#pragma once

#include <glib.h>

/*
 * Decodes @len characters of @text.  Refuses (FALSE, outputs untouched) anything outside
 * [A-Za-z0-9_-], '=' padding, a length of 1 mod 4, non-zero unused bits in the last character
 * (so that each byte string has exactly one spelling) and results longer than @max_out bytes.
 */
gboolean
wr_b64url_decode(const char *text, gsize len, gsize max_out, guint8 **out_data, gsize *out_len);

/* the unpadded base64url spelling of @data */
char *
wr_b64url_encode(const guint8 *data, gsize len);
