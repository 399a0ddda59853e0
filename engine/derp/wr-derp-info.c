/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpInfo"

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-derp-info.h"
#include "wr-json-check.h"
#include "wr-key.h"

_Static_assert(DERP_NONCE_LEN == WR_BOX_NONCE_LEN, "the DERP box is a NaCl box");
_Static_assert(WR_KEY_LEN == WR_CRYPTO_KEY_LEN, "keys are X25519 keys");
_Static_assert(WR_DERP_INFO_MAX_JSON_LEN <= INT_MAX, "lengths fit the return value");

/*
 * Writing: a bounded appender over the caller's buffer that remembers overflow, so the
 * formatters are a straight sequence of appends and one check at the end.
 */
typedef struct {
	char *buf;
	size_t len;
	size_t off;
	bool overflow;
} Writer;

static void
put_bytes(Writer *w, const char *s, size_t n)
{
	if (w->overflow || w->len - w->off < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->off, s, n);
	w->off += n;
}

static void
put_str(Writer *w, const char *s)
{
	put_bytes(w, s, strlen(s));
}

/* a comma before every member but the first */
static void
put_key(Writer *w, const char *key, bool *first)
{
	if (!*first)
		put_str(w, ",");
	*first = false;
	put_str(w, "\"");
	put_str(w, key);
	put_str(w, "\":");
}

static void
put_int(Writer *w, int64_t v)
{
	char num[24];

	g_snprintf(num, sizeof(num), "%" PRId64, v);
	put_str(w, num);
}

/* a JSON string of valid UTF-8: quotes, backslashes and control characters escaped */
static void
put_json_string(Writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	put_str(w, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char) c};

			put_bytes(w, esc, sizeof(esc));
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};

			put_bytes(w, esc, sizeof(esc));
		} else {
			put_bytes(w, (const char *) &c, 1);
		}
	}
	put_str(w, "\"");
}

static int
writer_finish(const Writer *w)
{
	if (w->overflow) {
		wr_memzero(w->buf, w->len);
		return -EMSGSIZE;
	}
	return (int) w->off;
}

int
wr_derp_info_format_client_info(const WrDerpClientInfoBody *body, char *buf, size_t buf_len)
{
	Writer w = {.buf = buf, .len = buf_len};
	bool first = true;
	size_t app_len = strnlen(body->app_name, sizeof(body->app_name));

	if (app_len == sizeof(body->app_name))
		return -EMSGSIZE;
	if (!g_utf8_validate_len(body->app_name, app_len, NULL))
		return -EILSEQ;

	put_str(&w, "{");
	if (body->has_mesh_key) {
		char hex[WR_KEY_HEX_LEN + 1];

		wr_key_to_hex(hex, body->mesh_key);
		put_key(&w, "meshKey", &first);
		put_str(&w, "\"");
		put_bytes(&w, hex, WR_KEY_HEX_LEN);
		put_str(&w, "\"");
		wr_memzero(hex, sizeof(hex));
	}
	if (body->version != 0) {
		put_key(&w, "version", &first);
		put_int(&w, body->version);
	}
	put_key(&w, "CanAckPings", &first);
	put_str(&w, body->can_ack_pings ? "true" : "false");
	if (body->is_prober) {
		put_key(&w, "IsProber", &first);
		put_str(&w, "true");
	}
	if (app_len > 0) {
		put_key(&w, "AppName", &first);
		put_json_string(&w, body->app_name, app_len);
	}
	put_str(&w, "}");
	return writer_finish(&w);
}

int
wr_derp_info_format_server_info(const WrDerpServerInfoBody *body, char *buf, size_t buf_len)
{
	Writer w = {.buf = buf, .len = buf_len};
	bool first = true;

	put_str(&w, "{");
	if (body->version != 0) {
		put_key(&w, "version", &first);
		put_int(&w, body->version);
	}
	if (body->token_bucket_bytes_per_second != 0) {
		put_key(&w, "TokenBucketBytesPerSecond", &first);
		put_int(&w, body->token_bucket_bytes_per_second);
	}
	if (body->token_bucket_bytes_burst != 0) {
		put_key(&w, "TokenBucketBytesBurst", &first);
		put_int(&w, body->token_bucket_bytes_burst);
	}
	put_str(&w, "}");
	return writer_finish(&w);
}

/*
 * Reading.  json-glib's parser recurses once per nesting level and has no limit of its own, so
 * the nesting is measured first, outside strings, without validating anything else.
 */
static int
check_depth(const char *json, size_t len)
{
	if (!wr_json_check_depth(json, len, WR_DERP_INFO_MAX_JSON_DEPTH))
		return -EINVAL;
	return 0;
}

/* loads len bytes of JSON whose root must be an object */
static int
load_object(JsonParser *parser, const char *json, size_t len, JsonObject **out_object)
{
	g_autoptr(GError) error = NULL;
	JsonNode *root;
	int r;

	if (len > WR_DERP_INFO_MAX_JSON_LEN)
		return -EMSGSIZE;
	r = check_depth(json, len);
	if (r < 0)
		return r;
	if (!json_parser_load_from_data(parser, json, (gssize) len, &error))
		return -EINVAL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return -EINVAL;
	*out_object = json_node_get_object(root);
	return 0;
}

static bool
node_is_null(JsonNode *node)
{
	return JSON_NODE_HOLDS_NULL(node);
}

static bool
node_is(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

/* an integer in [min, max]; null leaves *out alone.  Like Go's int, 2.0 and 1e2 are not ints */
static int
get_int(JsonNode *node, int64_t min, int64_t max, int64_t *out)
{
	int64_t v;

	if (node_is_null(node))
		return 0;
	if (!node_is(node, G_TYPE_INT64))
		return -EINVAL;
	v = json_node_get_int(node);
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
get_bool(JsonNode *node, bool *out)
{
	if (node_is_null(node))
		return 0;
	if (!node_is(node, G_TYPE_BOOLEAN))
		return -EINVAL;
	*out = json_node_get_boolean(node);
	return 0;
}

/* the node's own copy of the text is wiped in place before the parser frees it */
static int
get_mesh_key(JsonNode *node, bool *out_has, uint8_t out_key[WR_KEY_LEN])
{
	char *text;
	size_t len;
	bool ok;

	if (node_is_null(node))
		return 0;
	if (!node_is(node, G_TYPE_STRING))
		return -EINVAL;
	text = (char *) json_node_get_string(node);
	len = strlen(text);
	if (len == 0) {
		/* what Go's omitempty would have left out */
		*out_has = false;
		return 0;
	}
	ok = wr_key_from_hex_len(out_key, text, len);
	wr_memzero(text, len);
	if (!ok)
		return -EINVAL;
	*out_has = true;
	return 0;
}

static int
get_app_name(JsonNode *node, char out[WR_DERP_INFO_APP_NAME_SIZE])
{
	const char *text;
	size_t len;

	if (node_is_null(node))
		return 0;
	if (!node_is(node, G_TYPE_STRING))
		return -EINVAL;
	text = json_node_get_string(node);
	len = strlen(text);
	if (len >= WR_DERP_INFO_APP_NAME_SIZE)
		return -EMSGSIZE;
	/* json-glib lets a malformed \u escape through as bytes that are not UTF-8 (found by
	 * fuzz-derp-info): what we could not write back out is refused here */
	if (!g_utf8_validate_len(text, len, NULL))
		return -EINVAL;
	memcpy(out, text, len + 1);
	return 0;
}

/* Go matches a JSON key to a field name case-insensitively */
static bool
key_is(const char *name, const char *field)
{
	return g_ascii_strcasecmp(name, field) == 0;
}

static int
parse_client_info_object(JsonObject *object, WrDerpClientInfoBody *body)
{
	JsonObjectIter iter;
	const char *name;
	JsonNode *node;
	int r = 0;

	/* after an error the walk goes on for one reason: to wipe every mesh key's text */
	json_object_iter_init_ordered(&iter, object);
	while (json_object_iter_next_ordered(&iter, &name, &node)) {
		int rf = 0;

		if (key_is(name, "meshKey")) {
			rf = get_mesh_key(node, &body->has_mesh_key, body->mesh_key);
		} else if (r < 0) {
			continue;
		} else if (key_is(name, "version")) {
			int64_t v = body->version;

			rf = get_int(node, INT_MIN, INT_MAX, &v);
			body->version = (int) v;
		} else if (key_is(name, "CanAckPings")) {
			rf = get_bool(node, &body->can_ack_pings);
		} else if (key_is(name, "IsProber")) {
			rf = get_bool(node, &body->is_prober);
		} else if (key_is(name, "AppName")) {
			rf = get_app_name(node, body->app_name);
		}
		/* unknown members are ignored, as Go does */
		if (r == 0)
			r = rf;
	}
	return r;
}

int
wr_derp_info_parse_client_info(const char *json, size_t len, WrDerpClientInfoBody *out)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	WrDerpClientInfoBody body;
	JsonObject *object = NULL;
	int r;

	memset(&body, 0, sizeof(body));
	r = load_object(parser, json, len, &object);
	if (r < 0)
		return r;
	r = parse_client_info_object(object, &body);
	if (r == 0)
		*out = body;
	wr_memzero(&body, sizeof(body));
	return r;
}

int
wr_derp_info_parse_server_info(const char *json, size_t len, WrDerpServerInfoBody *out)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	WrDerpServerInfoBody body = {0};
	JsonObject *object = NULL;
	JsonObjectIter iter;
	const char *name;
	JsonNode *node;
	int r;

	r = load_object(parser, json, len, &object);
	if (r < 0)
		return r;
	json_object_iter_init_ordered(&iter, object);
	while (json_object_iter_next_ordered(&iter, &name, &node)) {
		int64_t v;

		if (key_is(name, "version")) {
			v = body.version;
			r = get_int(node, INT_MIN, INT_MAX, &v);
			body.version = (int) v;
		} else if (key_is(name, "TokenBucketBytesPerSecond")) {
			v = body.token_bucket_bytes_per_second;
			r = get_int(node, 0, UINT32_MAX, &v);
			body.token_bucket_bytes_per_second = (uint32_t) v;
		} else if (key_is(name, "TokenBucketBytesBurst")) {
			v = body.token_bucket_bytes_burst;
			r = get_int(node, 0, UINT32_MAX, &v);
			body.token_bucket_bytes_burst = (uint32_t) v;
		}
		if (r < 0)
			return r;
	}
	*out = body;
	return 0;
}

/*
 * Boxes.  The JSON is at most WR_DERP_INFO_MAX_OUT_LEN bytes on the way out and at most
 * WR_DERP_INFO_MAX_JSON_LEN on the way in; bigger boxes are refused before any crypto.
 */

/* seals json to their_public and returns nonce and sealed (json_len + tag) */
static int
seal(uint8_t nonce[DERP_NONCE_LEN], uint8_t *sealed, const char *json, size_t json_len,
     const uint8_t my_private[WR_KEY_LEN], const uint8_t their_public[WR_KEY_LEN])
{
	wr_random_bytes(nonce, DERP_NONCE_LEN);
	if (!wr_box_seal(sealed, (const uint8_t *) json, json_len, nonce, their_public, my_private))
		return -EINVAL;
	return 0;
}

/* opens box into a new buffer (len bytes, plus a NUL); free it with wipe_free */
static int
open_box(const WrDerpBox *box, const uint8_t my_private[WR_KEY_LEN],
	 const uint8_t their_public[WR_KEY_LEN], char **out_plain, size_t *out_len)
{
	size_t len;
	char *plain;

	if (box->sealed_len < WR_BOX_TAG_LEN)
		return -EBADMSG;
	len = box->sealed_len - WR_BOX_TAG_LEN;
	if (len > WR_DERP_INFO_MAX_JSON_LEN)
		return -EMSGSIZE;
	plain = g_malloc(len + 1);
	if (!wr_box_open((uint8_t *) plain, box->sealed, box->sealed_len, box->nonce, their_public,
			 my_private)) {
		g_free(plain);
		return -EBADMSG;
	}
	plain[len] = '\0';
	*out_plain = plain;
	*out_len = len;
	return 0;
}

static void
wipe_free(char *p, size_t len)
{
	wr_memzero(p, len);
	g_free(p);
}

int
wr_derp_info_append_client_info(GByteArray *out, const WrDerpClientInfoBody *body,
				const uint8_t client_private[32], const uint8_t server_public[32])
{
	char json[WR_DERP_INFO_MAX_OUT_LEN];
	uint8_t sealed[WR_DERP_INFO_MAX_OUT_LEN + WR_BOX_TAG_LEN];
	uint8_t nonce[DERP_NONCE_LEN];
	uint8_t client_public[WR_KEY_LEN];
	int len;
	int r;

	if (!wr_x25519_public(client_public, client_private))
		return -EINVAL;
	len = wr_derp_info_format_client_info(body, json, sizeof(json));
	if (len < 0)
		return len;
	r = seal(nonce, sealed, json, (size_t) len, client_private, server_public);
	wr_memzero(json, sizeof(json));
	if (r < 0)
		return r;
	return wr_derp_append_client_info(out, client_public, nonce, sealed,
					  (size_t) len + WR_BOX_TAG_LEN);
}

int
wr_derp_info_open_client_info(const WrDerpClientInfo *info, const uint8_t server_private[32],
			      WrDerpClientInfoBody *out)
{
	char *plain = NULL;
	size_t len = 0;
	int r;

	r = open_box(&info->box, server_private, info->key, &plain, &len);
	if (r < 0)
		return r;
	r = wr_derp_info_parse_client_info(plain, len, out);
	wipe_free(plain, len);
	return r;
}

int
wr_derp_info_append_server_info(GByteArray *out, const WrDerpServerInfoBody *body,
				const uint8_t server_private[32], const uint8_t client_public[32])
{
	char json[WR_DERP_INFO_MAX_OUT_LEN];
	uint8_t sealed[WR_DERP_INFO_MAX_OUT_LEN + WR_BOX_TAG_LEN];
	uint8_t nonce[DERP_NONCE_LEN];
	int len;
	int r;

	if (wr_is_zero(server_private, WR_KEY_LEN))
		return -EINVAL;
	len = wr_derp_info_format_server_info(body, json, sizeof(json));
	if (len < 0)
		return len;
	r = seal(nonce, sealed, json, (size_t) len, server_private, client_public);
	if (r < 0)
		return r;
	return wr_derp_append_server_info(out, nonce, sealed, (size_t) len + WR_BOX_TAG_LEN);
}

int
wr_derp_info_open_server_info(const WrDerpBox *box, const uint8_t client_private[32],
			      const uint8_t server_public[32], WrDerpServerInfoBody *out)
{
	char *plain = NULL;
	size_t len = 0;
	int r;

	r = open_box(box, client_private, server_public, &plain, &len);
	if (r < 0)
		return r;
	r = wr_derp_info_parse_server_info(plain, len, out);
	wipe_free(plain, len);
	return r;
}
