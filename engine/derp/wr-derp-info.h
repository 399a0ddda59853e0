/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The sealed JSON bodies of the DERP ClientInfo and ServerInfo frames
 * (docs/protocols/derp-disco-stun.md §2.8, §7.2, §7.3, §7.7).
 *
 * ClientInfo carries the client's node public key in clear, then a NaCl box sealed with the
 * client's node private key to the server's public key; ServerInfo carries only the box, sealed
 * with the server's private key to the client's key.  The box is nonce(24) || tag(16) ||
 * ciphertext, with a fresh random nonce for every box.
 *
 * Output JSON uses the exact keys of the spec (`version`, `meshKey`, `CanAckPings`, `IsProber`,
 * `AppName`; `version`, `TokenBucketBytesPerSecond`, `TokenBucketBytesBurst`) and leaves out the
 * fields Go leaves out (zero version, false IsProber, empty AppName, zero token bucket fields).
 * Parsing matches keys case-insensitively, as Go's decoder does, ignores unknown keys, treats
 * `null` as absent and lets a later duplicate key win.
 *
 * Pure: no I/O, no logging.  Everything returns 0 (or a length) on success and a negative errno:
 *   -EBADMSG   the box does not open (wrong key, tampered, shorter than its tag),
 *   -EINVAL    JSON that is malformed, not an object, nested deeper than
 *              WR_DERP_INFO_MAX_JSON_DEPTH, or has a field of the wrong type or out of range
 *              (a meshKey that is not 64 hex digits, a non-integer version ...); also a
 *              private key that is all zeros, or a peer public key of low order when sealing,
 *   -EMSGSIZE  a field over its limit (AppName), a body over WR_DERP_INFO_MAX_JSON_LEN, or an
 *              output buffer too small,
 *   -EILSEQ    an AppName to send that is not UTF-8.
 * Output parameters are written only on success.  Decrypted plaintext and the text form of the
 * mesh key are wiped before they are freed; json-glib's scanner may keep a transient copy of
 * the mesh key text that it frees without wiping.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-derp-frame.h"

/* the largest JSON body either side accepts.  Go allows up to the frame limits (256 KiB and
 * 1 MiB); real bodies are under 300 bytes, and a small bound keeps json-glib's member handling
 * (quadratic in duplicate keys) cheap for a server facing anyone */
#define WR_DERP_INFO_MAX_JSON_LEN 16384
/* the deepest nesting accepted (unknown members may hold objects); json-glib recurses */
#define WR_DERP_INFO_MAX_JSON_DEPTH 16
/* AppName, including the terminating NUL */
#define WR_DERP_INFO_APP_NAME_SIZE 64
/* the largest JSON this module writes: every field at its maximum, AppName fully escaped */
#define WR_DERP_INFO_MAX_OUT_LEN 640

typedef struct {
	int version;	      /* "version"; 0 when absent */
	bool has_mesh_key;    /* "meshKey" present and valid (64 hex) */
	uint8_t mesh_key[32]; /* wipe after use */
	bool can_ack_pings;   /* "CanAckPings" */
	bool is_prober;	      /* "IsProber" */
	/* "AppName", "" when absent; longer than 63 bytes is an error (-EMSGSIZE), not a
	 * truncation */
	char app_name[WR_DERP_INFO_APP_NAME_SIZE];
} WrDerpClientInfoBody;

typedef struct {
	int version;				/* "version" */
	uint32_t token_bucket_bytes_per_second; /* 0 = none */
	uint32_t token_bucket_bytes_burst;
} WrDerpServerInfoBody;

/*
 * Seals body (client private -> server public) and appends one whole ClientInfo frame to out;
 * out is unchanged on failure.  The client's public key is derived from client_private.
 */
int
wr_derp_info_append_client_info(GByteArray *out, const WrDerpClientInfoBody *body,
				const uint8_t client_private[32], const uint8_t server_public[32]);
/*
 * Opens a parsed ClientInfo (wr_derp_parse_client_info) with the server private key and parses
 * its JSON; -EBADMSG when the box does not open, -EINVAL for JSON that is not an object or has a
 * field of the wrong type, -EMSGSIZE for an oversized field; out untouched on failure.
 */
int
wr_derp_info_open_client_info(const WrDerpClientInfo *info, const uint8_t server_private[32],
			      WrDerpClientInfoBody *out);
/* seals body (server private -> client public) and appends one whole ServerInfo frame */
int
wr_derp_info_append_server_info(GByteArray *out, const WrDerpServerInfoBody *body,
				const uint8_t server_private[32], const uint8_t client_public[32]);
/* opens a parsed ServerInfo box (wr_derp_parse_server_info); errors as for ClientInfo, and
 * -EINVAL for a negative token bucket field or one above UINT32_MAX */
int
wr_derp_info_open_server_info(const WrDerpBox *box, const uint8_t client_private[32],
			      const uint8_t server_public[32], WrDerpServerInfoBody *out);

/*
 * The JSON layer alone, without the boxes (for tests, fuzzing and logging-free debugging).
 * The formatters write the JSON text (not NUL-terminated) into buf and return its length, or
 * -EMSGSIZE when buf_len is too small (WR_DERP_INFO_MAX_OUT_LEN always suffices); buf holds the
 * mesh key in hex afterwards, so wipe it.  The parsers take len bytes of JSON text.
 */
int
wr_derp_info_format_client_info(const WrDerpClientInfoBody *body, char *buf, size_t buf_len);
int
wr_derp_info_parse_client_info(const char *json, size_t len, WrDerpClientInfoBody *out);
int
wr_derp_info_format_server_info(const WrDerpServerInfoBody *body, char *buf, size_t buf_len);
int
wr_derp_info_parse_server_info(const char *json, size_t len, WrDerpServerInfoBody *out);
