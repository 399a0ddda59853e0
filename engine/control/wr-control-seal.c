/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrControlSeal"

#include "config.h"

#include <string.h>

#include "wr-control-seal.h"
#include "wr-json-check.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_control_seal_error_quark(void)
{
	return g_quark_from_static_string("wr-control-seal-error-quark");
}

/*
 * The replay cache.  A nonce is remembered, keyed by (machine key, nonce), until the body that
 * carried it could no longer pass the ts check: until ts + WR_CONTROL_SEAL_TS_WINDOW.  Expiry
 * times of live entries therefore lie within 2 * window + 1 seconds of each other, so entries
 * sit in a timing wheel of one bucket per second, WHEEL_SIZE buckets, and a sweep frees whole
 * buckets as `now` passes them.  A hash table (SipHash with a per-cache random key, stored in the
 * entry since GHashTable's hash function has no user data) finds a nonce in O(1); a second one
 * counts the live nonces of each machine.
 */
#define WHEEL_SIZE 256
_Static_assert(WHEEL_SIZE > 2 * WR_CONTROL_SEAL_TS_WINDOW + 1, "the wheel must cover the window");

#define SIPHASH_KEY_LEN 16
#define VERB_MAX_LEN	32

typedef struct Entry Entry;
struct Entry {
	guint hash;
	uint8_t key[WR_CRYPTO_KEY_LEN + WR_BOX_NONCE_LEN]; /* machine public key || nonce */
	gint64 expiry;					   /* live while now <= expiry */
	Entry *next;					   /* in its wheel bucket */
};

typedef struct {
	guint hash;
	uint8_t mkey[WR_CRYPTO_KEY_LEN];
	guint count;
} MachineCount;

struct _WrControlSeal {
	uint8_t *server_private; /* wr_secure_alloc */
	uint8_t server_public[WR_CRYPTO_KEY_LEN];
	uint8_t hash_key[SIPHASH_KEY_LEN];
	GHashTable *entries;  /* Entry (as key and value), freed through the wheel */
	GHashTable *machines; /* MachineCount, owned */
	Entry *wheel[WHEEL_SIZE];
	gint64 horizon; /* every live entry has horizon <= expiry < horizon + WHEEL_SIZE */
	gboolean horizon_set;
	guint max_entries;
	guint max_per_machine;
};

guint
wr_control_seal_error_http_status(int code)
{
	switch ((WrControlSealError) code) {
	case WR_CONTROL_SEAL_ERROR_BAD_PATH:
	case WR_CONTROL_SEAL_ERROR_BAD_SEAL:
	case WR_CONTROL_SEAL_ERROR_BAD_JSON:
	case WR_CONTROL_SEAL_ERROR_MISSING_FIELD:
	case WR_CONTROL_SEAL_ERROR_BAD_FIELD:
	case WR_CONTROL_SEAL_ERROR_STALE:
	case WR_CONTROL_SEAL_ERROR_REPLAYED:
		return 400;
	case WR_CONTROL_SEAL_ERROR_TOO_LARGE:
		return 413;
	case WR_CONTROL_SEAL_ERROR_RATE_LIMITED:
		return 429;
	case WR_CONTROL_SEAL_ERROR_BUSY:
		return 503;
	}
	return 500;
}

guint
wr_control_seal_http_status_for(const GError *error)
{
	if (error == NULL || error->domain != WR_CONTROL_SEAL_ERROR)
		return 500;
	return wr_control_seal_error_http_status(error->code);
}

/* paths */

gboolean
wr_control_parse_mkey_segment(const char *segment, gsize len, uint8_t out_mkey[WR_CRYPTO_KEY_LEN],
			      GError **error)
{
	if (segment == NULL || !wr_key_from_hex_len(out_mkey, segment, len)) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH,
				    "machine key in the path is not 64 hex digits");
		return FALSE;
	}
	return TRUE;
}

static gboolean
verb_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_' || c == '-';
}

gboolean
wr_control_parse_machine_path(const char *path, uint8_t out_mkey[WR_CRYPTO_KEY_LEN],
			      char **out_verb, GError **error)
{
	static const char prefix[] = "/machine/";
	uint8_t mkey[WR_CRYPTO_KEY_LEN];
	const char *seg;
	const char *slash;
	const char *verb;
	gsize verb_len;

	if (path == NULL || !g_str_has_prefix(path, prefix)) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH,
				    "path does not start with /machine/");
		return FALSE;
	}
	seg = path + strlen(prefix);
	slash = strchr(seg, '/');
	if (slash == NULL) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH,
				    "path has no verb after the machine key");
		return FALSE;
	}
	if (!wr_control_parse_mkey_segment(seg, (gsize) (slash - seg), mkey, error))
		return FALSE;
	verb = slash + 1;
	verb_len = strlen(verb);
	if (verb_len == 0 || verb_len > VERB_MAX_LEN) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH,
				    "path verb is empty or too long");
		return FALSE;
	}
	for (gsize i = 0; i < verb_len; i++) {
		if (!verb_char_ok(verb[i])) {
			g_set_error_literal(error, WR_CONTROL_SEAL_ERROR,
					    WR_CONTROL_SEAL_ERROR_BAD_PATH,
					    "path verb has a character other than a-z, _ and -");
			return FALSE;
		}
	}
	memcpy(out_mkey, mkey, sizeof(mkey));
	*out_verb = g_strndup(verb, verb_len);
	return TRUE;
}

/* boxes */

GBytes *
wr_control_seal_box(const void *json, gsize len, const uint8_t nonce[WR_BOX_NONCE_LEN],
		    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		    const uint8_t my_private[WR_CRYPTO_KEY_LEN], GError **error)
{
	guint8 *buf;

	if (len > G_MAXUINT32 - WR_CONTROL_SEAL_OVERHEAD) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_TOO_LARGE,
			    "body of %" G_GSIZE_FORMAT " bytes is too large to seal", len);
		return NULL;
	}
	buf = g_malloc(len + WR_CONTROL_SEAL_OVERHEAD);
	if (nonce != NULL)
		memcpy(buf, nonce, WR_BOX_NONCE_LEN);
	else
		wr_random_bytes(buf, WR_BOX_NONCE_LEN);
	if (!wr_box_seal(buf + WR_BOX_NONCE_LEN, json, len, buf, their_public, my_private)) {
		g_free(buf);
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL,
				    "cannot seal to a low-order public key");
		return NULL;
	}
	return g_bytes_new_take(buf, len + WR_CONTROL_SEAL_OVERHEAD);
}

guint8 *
wr_control_open_box(const void *sealed, gsize sealed_len, gsize max_len,
		    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		    const uint8_t my_private[WR_CRYPTO_KEY_LEN],
		    uint8_t out_nonce[WR_BOX_NONCE_LEN], gsize *out_len, GError **error)
{
	const guint8 *in = sealed;
	gsize plain_len;
	guint8 *plain;

	if (sealed_len > max_len) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_TOO_LARGE,
			    "sealed body of %" G_GSIZE_FORMAT
			    " bytes is over the limit of %" G_GSIZE_FORMAT " bytes",
			    sealed_len, max_len);
		return NULL;
	}
	if (sealed == NULL || sealed_len < WR_CONTROL_SEAL_OVERHEAD) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL,
			    "sealed body of %" G_GSIZE_FORMAT
			    " bytes is shorter than nonce and tag (%d bytes)",
			    sealed_len, WR_CONTROL_SEAL_OVERHEAD);
		return NULL;
	}
	plain_len = sealed_len - WR_CONTROL_SEAL_OVERHEAD;
	plain = g_malloc(plain_len + 1);
	if (!wr_box_open(plain, in + WR_BOX_NONCE_LEN, sealed_len - WR_BOX_NONCE_LEN, in,
			 their_public, my_private)) {
		g_free(plain); /* nothing was written: the tag is checked first */
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL,
				    "sealed body does not open with this machine key");
		return NULL;
	}
	plain[plain_len] = '\0';
	if (out_nonce != NULL)
		memcpy(out_nonce, in, WR_BOX_NONCE_LEN);
	*out_len = plain_len;
	return plain;
}

/* JSON */

/* nesting depth and member count, outside strings; json-glib checks everything else */
static gboolean
check_json_shape(const char *json, gsize len, GError **error)
{
	const WrJsonCheckLimits limits = {
		.max_depth = WR_CONTROL_SEAL_MAX_JSON_DEPTH,
		.max_members = WR_CONTROL_SEAL_MAX_JSON_MEMBERS,
	};

	switch (wr_json_check(json, len, &limits, NULL)) {
	case WR_JSON_CHECK_OK:
		break;
	case WR_JSON_CHECK_TOO_MANY_MEMBERS:
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_JSON,
			    "JSON has more than %d object members",
			    WR_CONTROL_SEAL_MAX_JSON_MEMBERS);
		return FALSE;
	case WR_JSON_CHECK_COMMENT:
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_JSON,
				    "JSON has a '/' outside strings (a comment?)");
		return FALSE;
	default:
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_JSON,
			    "JSON nested deeper than %d levels", WR_CONTROL_SEAL_MAX_JSON_DEPTH);
		return FALSE;
	}
	return TRUE;
}

JsonObject *
wr_control_parse_object(const char *json, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (len > G_MAXSSIZE) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_TOO_LARGE,
				    "JSON too large");
		return NULL;
	}
	if (!check_json_shape(json, len, error))
		return NULL;
	if (!json_parser_load_from_data(parser, json, (gssize) len, &local)) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_JSON,
			    "body is not valid JSON: %s", local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_JSON,
				    "body is not a JSON object");
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

/* fields */

/* the member, or NULL when absent or null; MISSING_FIELD when required */
static gboolean
lookup(JsonObject *obj, const char *name, gboolean required, JsonNode **out, GError **error)
{
	JsonNode *node = obj != NULL ? json_object_get_member(obj, name) : NULL;

	if (node != NULL && JSON_NODE_HOLDS_NULL(node))
		node = NULL;
	if (node == NULL && required) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_MISSING_FIELD,
			    "missing required field %s", name);
		return FALSE;
	}
	*out = node;
	return TRUE;
}

static gboolean
bad_type(const char *name, const char *what, GError **error)
{
	g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD,
		    "field %s must be %s", name, what);
	return FALSE;
}

static gboolean
holds_type(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

gboolean
wr_control_field_string(JsonObject *obj, const char *name, gboolean required, const char **out,
			GError **error)
{
	JsonNode *node;

	if (!lookup(obj, name, required, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (!holds_type(node, G_TYPE_STRING))
		return bad_type(name, "a string", error);
	*out = json_node_get_string(node);
	return TRUE;
}

gboolean
wr_control_field_int(JsonObject *obj, const char *name, gboolean required, gint64 *out,
		     GError **error)
{
	return wr_control_field_int_range(obj, name, required, G_MININT64, G_MAXINT64, out, error);
}

gboolean
wr_control_field_int_range(JsonObject *obj, const char *name, gboolean required, gint64 min,
			   gint64 max, gint64 *out, GError **error)
{
	JsonNode *node;
	gint64 v;

	if (!lookup(obj, name, required, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (!holds_type(node, G_TYPE_INT64))
		return bad_type(name, "an integer", error);
	v = json_node_get_int(node);
	if (v < min || v > max) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD,
			    "field %s is %" G_GINT64_FORMAT ", outside [%" G_GINT64_FORMAT
			    ", %" G_GINT64_FORMAT "]",
			    name, v, min, max);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

gboolean
wr_control_field_bool(JsonObject *obj, const char *name, gboolean required, gboolean *out,
		      GError **error)
{
	JsonNode *node;

	if (!lookup(obj, name, required, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (!holds_type(node, G_TYPE_BOOLEAN))
		return bad_type(name, "true or false", error);
	*out = json_node_get_boolean(node);
	return TRUE;
}

gboolean
wr_control_field_object(JsonObject *obj, const char *name, gboolean required, JsonObject **out,
			GError **error)
{
	JsonNode *node;

	if (!lookup(obj, name, required, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return bad_type(name, "an object", error);
	*out = json_node_get_object(node);
	return TRUE;
}

gboolean
wr_control_field_array(JsonObject *obj, const char *name, gboolean required, JsonArray **out,
		       GError **error)
{
	JsonNode *node;

	if (!lookup(obj, name, required, &node, error))
		return FALSE;
	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return bad_type(name, "an array", error);
	*out = json_node_get_array(node);
	return TRUE;
}

gboolean
wr_control_field_key(JsonObject *obj, const char *name, WrKeyKind kind, gboolean required,
		     uint8_t out[WR_CRYPTO_KEY_LEN], GError **error)
{
	const char *text = NULL;
	uint8_t key[WR_CRYPTO_KEY_LEN];

	if (!wr_control_field_string(obj, name, required, &text, error))
		return FALSE;
	if (text == NULL || (!required && text[0] == '\0'))
		return TRUE;
	if (!wr_key_from_text(key, kind, text)) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD,
			    "field %s must be %s followed by 64 lowercase hex digits", name,
			    wr_key_kind_prefix(kind));
		return FALSE;
	}
	memcpy(out, key, sizeof(key));
	return TRUE;
}

/* the server side */

static guint
entry_hash(gconstpointer p)
{
	return ((const Entry *) p)->hash;
}

static gboolean
entry_equal(gconstpointer a, gconstpointer b)
{
	return wr_memeq(((const Entry *) a)->key, ((const Entry *) b)->key,
			sizeof(((Entry *) a)->key));
}

static guint
machine_hash(gconstpointer p)
{
	return ((const MachineCount *) p)->hash;
}

static gboolean
machine_equal(gconstpointer a, gconstpointer b)
{
	return wr_memeq(((const MachineCount *) a)->mkey, ((const MachineCount *) b)->mkey,
			WR_CRYPTO_KEY_LEN);
}

WrControlSeal *
wr_control_seal_new(const uint8_t server_private[WR_CRYPTO_KEY_LEN], guint max_entries,
		    guint max_per_machine)
{
	WrControlSeal *self;

	if (wr_is_zero(server_private, WR_CRYPTO_KEY_LEN))
		return NULL;
	self = g_new0(WrControlSeal, 1);
	self->server_private = wr_secure_alloc(WR_CRYPTO_KEY_LEN);
	memcpy(self->server_private, server_private, WR_CRYPTO_KEY_LEN);
	if (!wr_x25519_public(self->server_public, self->server_private)) {
		wr_control_seal_free(self);
		return NULL;
	}
	wr_random_bytes(self->hash_key, sizeof(self->hash_key));
	self->entries = g_hash_table_new(entry_hash, entry_equal);
	self->machines = g_hash_table_new_full(machine_hash, machine_equal, g_free, NULL);
	self->max_entries = max_entries != 0 ? max_entries : WR_CONTROL_REPLAY_DEFAULT_MAX;
	self->max_per_machine =
		max_per_machine != 0 ? max_per_machine : WR_CONTROL_REPLAY_DEFAULT_MAX_PER_MACHINE;
	self->max_per_machine = MIN(self->max_per_machine, self->max_entries);
	return self;
}

static void
free_bucket(WrControlSeal *self, guint slot)
{
	Entry *e = self->wheel[slot];

	self->wheel[slot] = NULL;
	while (e != NULL) {
		Entry *next = e->next;
		MachineCount probe;
		MachineCount *mc;

		(void) g_hash_table_remove(self->entries, e);
		probe.hash = (guint) wr_siphash(self->hash_key, e->key, WR_CRYPTO_KEY_LEN);
		memcpy(probe.mkey, e->key, WR_CRYPTO_KEY_LEN);
		mc = g_hash_table_lookup(self->machines, &probe);
		if (mc != NULL && --mc->count == 0)
			(void) g_hash_table_remove(self->machines, mc);
		g_free(e);
		e = next;
	}
}

void
wr_control_seal_free(WrControlSeal *self)
{
	if (self == NULL)
		return;
	if (self->entries != NULL) {
		for (guint i = 0; i < WHEEL_SIZE; i++)
			free_bucket(self, i);
		g_hash_table_unref(self->entries);
	}
	if (self->machines != NULL)
		g_hash_table_unref(self->machines);
	wr_secure_free(self->server_private);
	wr_memzero(self->hash_key, sizeof(self->hash_key));
	g_free(self);
}

void
wr_control_seal_get_public(const WrControlSeal *self, uint8_t out_public[WR_CRYPTO_KEY_LEN])
{
	memcpy(out_public, self->server_public, WR_CRYPTO_KEY_LEN);
}

char *
wr_control_seal_public_text(const WrControlSeal *self)
{
	return wr_key_to_text(WR_KEY_KIND_MACHINE, self->server_public);
}

/* forgets every nonce that expired before now; the wheel never turns backwards */
static void
sweep(WrControlSeal *self, gint64 now)
{
	if (!self->horizon_set) {
		self->horizon = now;
		self->horizon_set = TRUE;
		return;
	}
	if (now <= self->horizon)
		return;
	if ((guint64) now - (guint64) self->horizon >= WHEEL_SIZE) {
		for (guint i = 0; i < WHEEL_SIZE; i++)
			free_bucket(self, i);
	} else {
		for (gint64 t = self->horizon; t < now; t++)
			free_bucket(self, (guint) ((guint64) t % WHEEL_SIZE));
	}
	self->horizon = now;
}

static guint
machine_count(WrControlSeal *self, const uint8_t mkey[WR_CRYPTO_KEY_LEN])
{
	MachineCount probe;
	MachineCount *mc;

	probe.hash = (guint) wr_siphash(self->hash_key, mkey, WR_CRYPTO_KEY_LEN);
	memcpy(probe.mkey, mkey, WR_CRYPTO_KEY_LEN);
	mc = g_hash_table_lookup(self->machines, &probe);
	return mc != NULL ? mc->count : 0;
}

/* checks 6 and 7, then records the nonce until expiry */
static gboolean
replay_check_insert(WrControlSeal *self, const uint8_t mkey[WR_CRYPTO_KEY_LEN],
		    const uint8_t nonce[WR_BOX_NONCE_LEN], gint64 expiry, GError **error)
{
	Entry probe;
	Entry *e;
	MachineCount mprobe;
	MachineCount *mc;

	memcpy(probe.key, mkey, WR_CRYPTO_KEY_LEN);
	memcpy(probe.key + WR_CRYPTO_KEY_LEN, nonce, WR_BOX_NONCE_LEN);
	probe.hash = (guint) wr_siphash(self->hash_key, probe.key, sizeof(probe.key));
	if (g_hash_table_contains(self->entries, &probe)) {
		g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_REPLAYED,
				    "nonce replayed");
		return FALSE;
	}
	mprobe.hash = (guint) wr_siphash(self->hash_key, mkey, WR_CRYPTO_KEY_LEN);
	memcpy(mprobe.mkey, mkey, WR_CRYPTO_KEY_LEN);
	mc = g_hash_table_lookup(self->machines, &mprobe);
	if (mc != NULL && mc->count >= self->max_per_machine) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_RATE_LIMITED,
			    "too many requests from this machine key (%u in %d s), try again later",
			    mc->count, 2 * WR_CONTROL_SEAL_TS_WINDOW);
		return FALSE;
	}
	if (g_hash_table_size(self->entries) >= self->max_entries) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BUSY,
			    "replay cache full (%u nonces), try again later", self->max_entries);
		return FALSE;
	}
	if (mc == NULL) {
		mc = g_new(MachineCount, 1);
		*mc = mprobe;
		mc->count = 0;
		g_hash_table_add(self->machines, mc);
	}
	mc->count++;
	e = g_new(Entry, 1);
	*e = probe;
	/* a clock that stepped back keeps the entry at least until the wheel's present */
	e->expiry = MAX(expiry, self->horizon);
	e->next = self->wheel[(guint64) e->expiry % WHEEL_SIZE];
	self->wheel[(guint64) e->expiry % WHEEL_SIZE] = e;
	g_hash_table_add(self->entries, e);
	return TRUE;
}

/* |a - b| without overflow */
static guint64
distance(gint64 a, gint64 b)
{
	return a >= b ? (guint64) a - (guint64) b : (guint64) b - (guint64) a;
}

JsonObject *
wr_control_seal_open_request(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			     const void *body, gsize len, gint64 now, GError **error)
{
	uint8_t nonce[WR_BOX_NONCE_LEN];
	g_autoptr(JsonObject) obj = NULL;
	guint8 *plain;
	gsize plain_len = 0;
	gint64 ts = 0;
	guint64 away;

	plain = wr_control_open_box(body, len, WR_CONTROL_SEAL_MAX_BODY, machine_public,
				    self->server_private, nonce, &plain_len, error);
	if (plain == NULL)
		return NULL;
	obj = wr_control_parse_object((const char *) plain, plain_len, error);
	wr_memzero(plain, plain_len);
	g_free(plain);
	if (obj == NULL)
		return NULL;
	if (!wr_control_field_int(obj, "ts", TRUE, &ts, error))
		return NULL;
	away = distance(ts, now);
	if (away > WR_CONTROL_SEAL_TS_WINDOW) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_STALE,
			    "ts is %" G_GUINT64_FORMAT
			    " s %s the server clock (at most %d s allowed)",
			    away, ts < now ? "behind" : "ahead of", WR_CONTROL_SEAL_TS_WINDOW);
		return NULL;
	}
	sweep(self, now);
	if (!replay_check_insert(self, machine_public, nonce, ts + WR_CONTROL_SEAL_TS_WINDOW,
				 error))
		return NULL;
	return g_steal_pointer(&obj);
}

GBytes *
wr_control_seal_response(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			 const char *json, gsize len, GError **error)
{
	return wr_control_seal_box(json, len, NULL, machine_public, self->server_private, error);
}

GBytes *
wr_control_seal_response_node(WrControlSeal *self, const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			      JsonNode *node, GError **error)
{
	gsize len = 0;
	g_autofree char *text = json_to_string(node, FALSE);
	GBytes *out;

	len = strlen(text);
	out = wr_control_seal_response(self, machine_public, text, len, error);
	wr_memzero(text, len);
	return out;
}

guint
wr_control_seal_replay_size(WrControlSeal *self, gint64 now)
{
	sweep(self, now);
	return g_hash_table_size(self->entries);
}

guint
wr_control_seal_replay_size_for(WrControlSeal *self,
				const uint8_t machine_public[WR_CRYPTO_KEY_LEN], gint64 now)
{
	sweep(self, now);
	return machine_count(self, machine_public);
}

gboolean
wr_control_seal_shared_key(const WrControlSeal *self,
			   const uint8_t machine_public[WR_CRYPTO_KEY_LEN],
			   uint8_t out_shared[WR_CRYPTO_KEY_LEN])
{
	return wr_box_beforenm(out_shared, machine_public, self->server_private);
}
