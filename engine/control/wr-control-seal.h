/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The sealed bodies of warren-control's /machine/ paths (docs/protocols/control.md, "Keys and
 * sealing"): nonce(24) || crypto_box_easy(json, nonce, server_pub, machine_priv) on the way in,
 * the same with the keys swapped and a fresh random nonce on the way out.  It lives in the engine
 * because warrend's client (wr-control-conn) seals and opens the same bodies.
 *
 * Pure: no I/O, no clock, no logging.  The caller passes `now` in unix seconds (wall clock, as
 * the bodies' "ts" is).  Opening checks, in this order, and stops at the first failure:
 *   1. the sealed body is at most WR_CONTROL_SEAL_MAX_BODY bytes             (TOO_LARGE, 413)
 *   2. it is at least nonce + tag long and the box opens                     (BAD_SEAL, 400)
 *   3. the plaintext is a JSON object within the nesting and member limits   (BAD_JSON, 400)
 *   4. "ts" is present and an integer                       (MISSING_FIELD / BAD_FIELD, 400)
 *   5. "ts" is within WR_CONTROL_SEAL_TS_WINDOW seconds of now                  (STALE, 400)
 *   6. the nonce was not seen from this machine while it could still be valid (REPLAYED, 400)
 *   7. the replay cache has room for it (RATE_LIMITED 429 per machine, BUSY 503 overall)
 * Only a body that passes all of them is recorded in the replay cache; a refused body changes
 * nothing.  See docs/control-seal.md for the replay cache's design.
 */

#pragma once

#include <glib.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-key.h"

/* the largest sealed body accepted (HTTP 413 past it) */
#define WR_CONTROL_SEAL_MAX_BODY (1024 * 1024)
/* the bytes sealing adds: the nonce in clear and the Poly1305 tag */
#define WR_CONTROL_SEAL_OVERHEAD (WR_BOX_NONCE_LEN + WR_BOX_TAG_LEN)
/* how far "ts" may be from the server's clock, either way, in seconds */
#define WR_CONTROL_SEAL_TS_WINDOW 120
/* json-glib recurses once per nesting level and keeps duplicate members in a list that it
 * searches linearly, so both are bounded before it sees the text */
#define WR_CONTROL_SEAL_MAX_JSON_DEPTH	 32
#define WR_CONTROL_SEAL_MAX_JSON_MEMBERS 8192
/* replay cache defaults: nonces remembered in all, and per machine key */
#define WR_CONTROL_REPLAY_DEFAULT_MAX		  (256 * 1024)
#define WR_CONTROL_REPLAY_DEFAULT_MAX_PER_MACHINE 1024

#define WR_CONTROL_SEAL_ERROR (wr_control_seal_error_quark())
GQuark
wr_control_seal_error_quark(void);

typedef enum {
	WR_CONTROL_SEAL_ERROR_BAD_PATH,	     /* not /machine/<64 hex>/<verb>: 400 */
	WR_CONTROL_SEAL_ERROR_BAD_SEAL,	     /* too short, or the box does not open: 400 */
	WR_CONTROL_SEAL_ERROR_BAD_JSON,	     /* not JSON, not an object, too deep: 400 */
	WR_CONTROL_SEAL_ERROR_MISSING_FIELD, /* a required field absent or null: 400 */
	WR_CONTROL_SEAL_ERROR_BAD_FIELD,     /* a field of the wrong type or value: 400 */
	WR_CONTROL_SEAL_ERROR_STALE,	     /* "ts" too far from the server clock: 400 */
	WR_CONTROL_SEAL_ERROR_REPLAYED,	     /* the nonce was seen in the window: 400 */
	WR_CONTROL_SEAL_ERROR_TOO_LARGE,     /* the body is over the limit: 413 */
	WR_CONTROL_SEAL_ERROR_RATE_LIMITED,  /* this machine has too many live nonces: 429 */
	WR_CONTROL_SEAL_ERROR_BUSY,	     /* the replay cache is full: 503 */
} WrControlSealError;

/* the HTTP status for a WR_CONTROL_SEAL_ERROR code (500 for an unknown code) */
guint
wr_control_seal_error_http_status(int code);
/* the same for any error: 500 unless it is in WR_CONTROL_SEAL_ERROR */
guint
wr_control_seal_http_status_for(const GError *error);

/*
 * "/machine/<mkey-hex>/<verb>": the machine public key (64 hex digits, either case) and the verb
 * (one segment of [a-z_-], newly allocated).  out_* untouched on failure (BAD_PATH).
 */
gboolean
wr_control_parse_machine_path(const char *path, uint8_t out_mkey[WR_CRYPTO_KEY_LEN],
			      char **out_verb, GError **error);
/* one path segment of exactly 64 hex digits; BAD_PATH otherwise */
gboolean
wr_control_parse_mkey_segment(const char *segment, gsize len, uint8_t out_mkey[WR_CRYPTO_KEY_LEN],
			      GError **error);

/*
 * Low level, both sides: seals len bytes of JSON as nonce || box into a new GBytes of
 * len + WR_CONTROL_SEAL_OVERHEAD bytes; NULL (BAD_SEAL) for a low-order public key, TOO_LARGE
 * when the result would not fit a stream frame's u32 length (responses may exceed
 * WR_CONTROL_SEAL_MAX_BODY: a full map is large).  A NULL nonce means a fresh random one.
 */
GBytes *
wr_control_seal_box(const void *json, gsize len, const uint8_t nonce[WR_BOX_NONCE_LEN],
		    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		    const uint8_t my_private[WR_CRYPTO_KEY_LEN], GError **error);
/*
 * Opens nonce || box (checks 1 and 2 only, with max_len as the size limit) into a new
 * NUL-terminated buffer that the caller wipes with wr_memzero before freeing; *out_len is its
 * length without the NUL.  out_nonce, when not NULL, receives the nonce.  A client opens the
 * server's answers this way.
 */
guint8 *
wr_control_open_box(const void *sealed, gsize sealed_len, gsize max_len,
		    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		    const uint8_t my_private[WR_CRYPTO_KEY_LEN],
		    uint8_t out_nonce[WR_BOX_NONCE_LEN], gsize *out_len, GError **error);
/* parses JSON text as an object within the depth and member limits (check 3); a new reference */
JsonObject *
wr_control_parse_object(const char *json, gsize len, GError **error);

/*
 * The server side: its key pair and a replay cache.  Not thread-safe; one per server, used from
 * one thread (or under the caller's lock).
 */
typedef struct _WrControlSeal WrControlSeal;

/*
 * server_private is copied into guarded memory; max_entries and max_per_machine bound the replay
 * cache (0 means the defaults above); max_per_machine is clamped to max_entries.  NULL for an
 * all-zero private key.
 */
WrControlSeal *
wr_control_seal_new(const uint8_t server_private[WR_CRYPTO_KEY_LEN], guint max_entries,
		    guint max_per_machine);
void
wr_control_seal_free(WrControlSeal *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlSeal, wr_control_seal_free)

void
wr_control_seal_get_public(const WrControlSeal *self, uint8_t out_public[WR_CRYPTO_KEY_LEN]);
/* "mkey:<hex>", what GET /key?v=1 answers as server_key; g_free */
char *
wr_control_seal_public_text(const WrControlSeal *self);

/*
 * Opens a request body sealed by machine_public and runs every check above.  Returns the JSON
 * object (a new reference; "ts" is in it) or NULL with a WR_CONTROL_SEAL_ERROR.  The plaintext
 * is wiped; json-glib's copies of its strings are not.
 */
JsonObject *
wr_control_seal_open_request(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			     const void *body, gsize len, gint64 now, GError **error);
/* seals a response JSON text to machine_public with a fresh random nonce */
GBytes *
wr_control_seal_response(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			 const char *json, gsize len, GError **error);
/*
 * the box key shared with one machine (crypto_box_beforenm), for a map stream that seals many
 * frames to it: wr_box_seal_afternm with a fresh random nonce per frame.  FALSE for a low-order
 * machine key.  Wipe it with wr_memzero when the stream ends.
 */
gboolean
wr_control_seal_shared_key(const WrControlSeal *self,
			   const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			   uint8_t out_shared[WR_CRYPTO_KEY_LEN]);

/* the same for a JSON node, serialised compactly */
GBytes *
wr_control_seal_response_node(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			      JsonNode *node, GError **error);

/* nonces remembered now (after sweeping those expired by `now`), in all and for one machine */
guint
wr_control_seal_replay_size(WrControlSeal *self, gint64 now);
guint
wr_control_seal_replay_size_for(WrControlSeal *self,
				const uint8_t machine_public[WR_CRYPTO_KEY_LEN], gint64 now);

/*
 * Typed fields of an opened request, for register and map.  Each returns TRUE and sets *out when
 * the field is present with the right type; TRUE with *out untouched when it is absent or null
 * and not required (so initialise defaults first); FALSE with MISSING_FIELD ("missing required
 * field node_key") or BAD_FIELD ("field version must be an integer") otherwise, *out untouched.
 * Strings point into obj; integers must be JSON integers (no fraction or exponent).
 */
gboolean
wr_control_field_string(JsonObject *obj, const char *name, gboolean required, const char **out,
			GError **error);
gboolean
wr_control_field_int(JsonObject *obj, const char *name, gboolean required, gint64 *out,
		     GError **error);
/* an integer within [min, max] */
gboolean
wr_control_field_int_range(JsonObject *obj, const char *name, gboolean required, gint64 min,
			   gint64 max, gint64 *out, GError **error);
gboolean
wr_control_field_bool(JsonObject *obj, const char *name, gboolean required, gboolean *out,
		      GError **error);
gboolean
wr_control_field_object(JsonObject *obj, const char *name, gboolean required, JsonObject **out,
			GError **error);
gboolean
wr_control_field_array(JsonObject *obj, const char *name, gboolean required, JsonArray **out,
		       GError **error);
/*
 * a key in its text form ("nodekey:<hex>" for WR_KEY_KIND_NODE ...); when not required, "" counts
 * as absent (control.md's `"old_node_key": ""`)
 */
gboolean
wr_control_field_key(JsonObject *obj, const char *name, WrKeyKind kind, gboolean required,
		     uint8_t out[WR_CRYPTO_KEY_LEN], GError **error);
