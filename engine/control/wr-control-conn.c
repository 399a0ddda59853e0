/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's asynchronous control client (see wr-control-conn.h, docs/engine-control.md).
 */

#define G_LOG_DOMAIN "WrControlConn"

#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "wr-control-conn.h"
#include "wr-control-seal.h"
#include "wr-key.h"
#include "wr-sockmark.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_control_conn_error_quark(void)
{
	return g_quark_from_static_string("wr-control-conn-error-quark");
}

GQuark
wr_control_conn_http_error_quark(void)
{
	return g_quark_from_static_string("wr-control-conn-http-error-quark");
}

/* the most of a non-200 answer's text kept for the error message */
#define ERROR_TEXT_MAX 1024
/* the most of a one-shot sealed answer (a full map with omit_peers false is big) */
#define ANSWER_MAX WR_CONTROL_CONN_MAX_FRAME
/* how much a stream read asks for at once */
#define READ_CHUNK (64 * 1024)

const char *
wr_control_state_to_string(WrControlState state)
{
	switch (state) {
	case WR_CONTROL_STATE_STOPPED:
		return "stopped";
	case WR_CONTROL_STATE_CONNECTING:
		return "connecting";
	case WR_CONTROL_STATE_CONNECTED:
		return "connected";
	case WR_CONTROL_STATE_OFFLINE:
		return "offline";
	case WR_CONTROL_STATE_NEEDS_AUTH:
		return "needs-auth";
	}
	return "unknown";
}

void
wr_control_timing_defaults(WrControlTiming *out)
{
	out->backoff_min_ms = 1000;
	out->backoff_max_ms = 60000;
	out->watchdog_ms = 120000;
	out->healthy_ms = 30000;
	out->request_timeout_ms = 30000;
	out->followup_timeout_ms = 75000;
}

guint
wr_control_backoff_ms(const WrControlTiming *timing, guint failures, guint32 random)
{
	guint64 base = MAX(timing->backoff_min_ms, 1);
	guint64 half;

	for (guint i = 1; i < failures && base < timing->backoff_max_ms; i++)
		base *= 2;
	base = MIN(base, MAX(timing->backoff_max_ms, 1));
	/* equal jitter: half fixed, half random, so that clients that lost the same server do
	 * not come back in step, and no retry is sooner than half the base */
	half = base / 2;
	return (guint) (base - half + (guint64) random % (half + 1));
}

/* ---- frames ---- */

struct _WrControlFrames {
	GByteArray *buf;
	gsize max_frame;
	gboolean failed;
};

WrControlFrames *
wr_control_frames_new(gsize max_frame)
{
	WrControlFrames *self = g_new0(WrControlFrames, 1);

	self->buf = g_byte_array_new();
	self->max_frame = max_frame;
	return self;
}

void
wr_control_frames_free(WrControlFrames *self)
{
	if (self == NULL)
		return;
	g_byte_array_unref(self->buf);
	g_free(self);
}

static guint32
frame_len(const guint8 *p)
{
	return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

gboolean
wr_control_frames_feed(WrControlFrames *self, const void *data, gsize len, GError **error)
{
	if (self->failed) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "the map stream already failed");
		return FALSE;
	}
	g_byte_array_append(self->buf, data, (guint) len);
	/* check the length of the frame at the head as soon as it is known */
	if (self->buf->len >= 4) {
		guint32 n = frame_len(self->buf->data);

		if (n == 0 || n > self->max_frame) {
			self->failed = TRUE;
			g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "a map stream frame of %u bytes (at least 1, at most "
				    "%" G_GSIZE_FORMAT ")",
				    n, self->max_frame);
			return FALSE;
		}
	}
	return TRUE;
}

GBytes *
wr_control_frames_pop(WrControlFrames *self)
{
	GBytes *frame;
	guint32 n;

	if (self->failed || self->buf->len < 4)
		return NULL;
	n = frame_len(self->buf->data);
	if (self->buf->len - 4 < n)
		return NULL;
	frame = g_bytes_new(self->buf->data + 4, n);
	g_byte_array_remove_range(self->buf, 0, n + 4);
	/* the next frame's length is checked by the next feed, or here */
	if (self->buf->len >= 4) {
		guint32 next = frame_len(self->buf->data);

		if (next == 0 || next > self->max_frame)
			self->failed = TRUE;
	}
	return frame;
}

gsize
wr_control_frames_pending(const WrControlFrames *self)
{
	return self->buf->len;
}

/* ---- the connection ---- */

struct _WrControlConn {
	GObject parent_instance;

	char *server_url;	  /* without a trailing '/' */
	uint8_t *machine_private; /* wr_secure_alloc */
	uint8_t machine_public[WR_CRYPTO_KEY_LEN];
	uint8_t node_public[WR_CRYPTO_KEY_LEN];
	uint8_t disco_public[WR_CRYPTO_KEY_LEN];
	gboolean have_server_key;
	uint8_t server_public[WR_CRYPTO_KEY_LEN];
	uint8_t *shared; /* wr_secure_alloc: box key with the server */
	WrControlTiming timing;
	JsonObject *hostinfo;
	JsonArray *endpoints; /* [{"addr","type"}] */
	gint home_region;     /* -1: not known yet (not sent) */
	/* One update (endpoints, home region) at a time: two in flight may reach the server in
	 * either order, and an older one arriving last would leave peers with stale endpoints
	 * (seen: a node's STUN address lost behind its home-region update, so that no peer
	 * could ping it).  A change during an update is sent when that one is done. */
	gboolean update_in_flight;
	gboolean update_pending;

	SoupSession *session;
	WrNetmap *netmap;
	WrControlState state;
	char *last_error;
	gboolean busy; /* a register, logout or rotation is under way */

	/* the map stream loop */
	gboolean running;
	GCancellable *run_cancellable;	  /* this run; cancelled by stop */
	GCancellable *stream_cancellable; /* this attempt; cancelled by watchdog, rotation */
	SoupMessage *stream_msg;
	GInputStream *stream;
	WrControlFrames *frames;
	gboolean got_full;
	gint64 stream_started; /* monotonic µs */
	guint watchdog_id;
	guint healthy_id; /* resets the backoff once the stream has been up healthy_ms */
	guint retry_id;
	guint retry_delay_ms;
	guint failures;
	guint streams;
};

G_DEFINE_FINAL_TYPE(WrControlConn, wr_control_conn, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, N_PROPS };
static GParamSpec *props[N_PROPS];

enum { SIGNAL_NETMAP_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
connect_attempt(WrControlConn *self);
static void
restart_stream(WrControlConn *self);
static void
send_update(WrControlConn *self);

static void
set_state(WrControlConn *self, WrControlState state)
{
	if (self->state == state)
		return;
	g_debug("control: %s -> %s", wr_control_state_to_string(self->state),
		wr_control_state_to_string(state));
	self->state = state;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
}

static void
set_last_error(WrControlConn *self, const char *message)
{
	g_free(self->last_error);
	self->last_error = g_strdup(message);
}

static void
wr_control_conn_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	WrControlConn *self = WR_CONTROL_CONN(object);

	switch (prop_id) {
	case PROP_STATE:
		g_value_set_int(value, self->state);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
stream_teardown(WrControlConn *self)
{
	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	g_clear_handle_id(&self->healthy_id, g_source_remove);
	if (self->stream_cancellable != NULL)
		g_cancellable_cancel(self->stream_cancellable);
	g_clear_object(&self->stream_cancellable);
	g_clear_object(&self->stream);
	g_clear_object(&self->stream_msg);
	g_clear_pointer(&self->frames, wr_control_frames_free);
}

static void
wr_control_conn_dispose(GObject *object)
{
	WrControlConn *self = WR_CONTROL_CONN(object);

	self->running = FALSE;
	g_clear_handle_id(&self->retry_id, g_source_remove);
	if (self->run_cancellable != NULL)
		g_cancellable_cancel(self->run_cancellable);
	g_clear_object(&self->run_cancellable);
	stream_teardown(self);
	if (self->session != NULL)
		soup_session_abort(self->session);
	g_clear_object(&self->session);
	G_OBJECT_CLASS(wr_control_conn_parent_class)->dispose(object);
}

static void
wr_control_conn_finalize(GObject *object)
{
	WrControlConn *self = WR_CONTROL_CONN(object);

	g_free(self->server_url);
	wr_secure_free(self->machine_private);
	wr_secure_free(self->shared);
	g_clear_pointer(&self->hostinfo, json_object_unref);
	g_clear_pointer(&self->endpoints, json_array_unref);
	wr_netmap_free(self->netmap);
	g_free(self->last_error);
	G_OBJECT_CLASS(wr_control_conn_parent_class)->finalize(object);
}

static void
wr_control_conn_class_init(WrControlConnClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = wr_control_conn_get_property;
	object_class->dispose = wr_control_conn_dispose;
	object_class->finalize = wr_control_conn_finalize;

	/* a WrControlState */
	props[PROP_STATE] = g_param_spec_int("state", NULL, NULL, WR_CONTROL_STATE_STOPPED,
					     WR_CONTROL_STATE_NEEDS_AUTH, WR_CONTROL_STATE_STOPPED,
					     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
						     G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_PROPS, props);

	/* (WrControlConn *self, const WrNetmapChanges *changes): a frame changed the netmap;
	 * wr_control_conn_get_netmap() has the new state */
	signals[SIGNAL_NETMAP_CHANGED] =
		g_signal_new("netmap-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
wr_control_conn_init(WrControlConn *self)
{
	wr_control_timing_defaults(&self->timing);
	self->netmap = wr_netmap_new();
	self->endpoints = json_array_new();
	self->home_region = -1;
	self->hostinfo = json_object_new();
	json_object_set_string_member(self->hostinfo, "hostname", g_get_host_name());
	json_object_set_string_member(self->hostinfo, "os", "linux");
	json_object_set_string_member(self->hostinfo, "os_version", "");
	json_object_set_string_member(self->hostinfo, "app_version", PACKAGE_VERSION);
	json_object_set_array_member(self->hostinfo, "routable_ips", json_array_new());
	json_object_set_array_member(self->hostinfo, "request_tags", json_array_new());
}

/* http(s)://host[:port] with nothing after the authority but an optional "/" */
static gboolean
check_url(const char *url, GError **error)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	const char *scheme, *host, *path;

	if (uri == NULL) {
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
			    "control URL %s is not a URL", url);
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	host = g_uri_get_host(uri);
	path = g_uri_get_path(uri);
	if (host == NULL || *host == '\0' || g_uri_get_query(uri) != NULL ||
	    g_uri_get_fragment(uri) != NULL || g_uri_get_userinfo(uri) != NULL ||
	    (*path != '\0' && strcmp(path, "/") != 0)) {
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
			    "control URL %s must be scheme://host[:port] only", url);
		return FALSE;
	}
	if (g_ascii_strcasecmp(scheme, "https") == 0)
		return TRUE;
	if (g_ascii_strcasecmp(scheme, "http") == 0 &&
	    (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
	     g_ascii_strcasecmp(host, "localhost") == 0))
		return TRUE;
	g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
		    "control URL %s: https:// is required (http:// only to a loopback host)", url);
	return FALSE;
}

WrControlConn *
wr_control_conn_new(const char *server_url, const uint8_t machine_private[WR_CRYPTO_KEY_LEN],
		    const uint8_t node_private[WR_CRYPTO_KEY_LEN],
		    const uint8_t disco_public[WR_CRYPTO_KEY_LEN], GError **error)
{
	g_autoptr(WrControlConn) self = NULL;

	if (!check_url(server_url, error))
		return NULL;
	if (wr_is_zero(machine_private, WR_CRYPTO_KEY_LEN) ||
	    wr_is_zero(node_private, WR_CRYPTO_KEY_LEN) ||
	    wr_is_zero(disco_public, WR_CRYPTO_KEY_LEN)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
				    "a machine, node or disco key is all zeros");
		return NULL;
	}
	self = g_object_new(WR_TYPE_CONTROL_CONN, NULL);
	self->server_url = g_strdup(server_url);
	if (g_str_has_suffix(self->server_url, "/"))
		self->server_url[strlen(self->server_url) - 1] = '\0';
	self->machine_private = wr_secure_alloc(WR_CRYPTO_KEY_LEN);
	self->shared = wr_secure_alloc(WR_CRYPTO_KEY_LEN);
	memcpy(self->machine_private, machine_private, WR_CRYPTO_KEY_LEN);
	if (!wr_x25519_public(self->machine_public, self->machine_private) ||
	    !wr_x25519_public(self->node_public, node_private)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
				    "a machine or node private key is not usable");
		return NULL;
	}
	memcpy(self->disco_public, disco_public, WR_CRYPTO_KEY_LEN);
	/* no session-wide timeout: the stream is idle up to a minute between keep-alives, and
	 * the watchdog and per-request timers below bound every wait instead.  No proxy: like
	 * DERP, control is reached directly, and a root daemon has no business running the
	 * desktop's proxy configuration (GIO's default resolver is libproxy, PAC scripts and all)
	 */
	self->session = soup_session_new_with_options(
		"timeout", 0, "idle-timeout", 0, "max-conns-per-host", 8, "proxy-resolver", NULL,
		"user-agent", "warrend/" PACKAGE_VERSION, NULL);
	return g_steal_pointer(&self);
}

void
wr_control_conn_set_timing(WrControlConn *self, const WrControlTiming *timing)
{
	self->timing = *timing;
}

gboolean
wr_control_conn_set_ca_file(WrControlConn *self, const char *path, GError **error)
{
	g_autoptr(GTlsDatabase) db = g_tls_file_database_new(path, error);

	if (db == NULL) {
		g_prefix_error(error, "control CA file %s: ", path);
		return FALSE;
	}
	g_object_set(self->session, "tls-database", db, NULL);
	return TRUE;
}

void
wr_control_conn_set_hostinfo(WrControlConn *self, JsonObject *hostinfo)
{
	g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonNode) copy = NULL;

	json_node_set_object(n, hostinfo);
	copy = json_node_copy(n);
	g_clear_pointer(&self->hostinfo, json_object_unref);
	self->hostinfo = json_object_ref(json_node_get_object(copy));
	send_update(self);
}

const uint8_t *
wr_control_conn_get_node_public(WrControlConn *self)
{
	return self->node_public;
}

WrControlState
wr_control_conn_get_state(WrControlConn *self)
{
	return self->state;
}

WrNetmap *
wr_control_conn_get_netmap(WrControlConn *self)
{
	return self->netmap;
}

gboolean
wr_control_conn_restore_netmap(WrControlConn *self, GBytes *json, GError **error)
{
	gsize len = 0;
	const char *text = g_bytes_get_data(json, &len);
	g_autoptr(WrNetmapResponse) resp = NULL;
	g_autoptr(WrNetmapChanges) changes = NULL;

	if (wr_netmap_has_state(self->netmap)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_BUSY,
				    "a network map is already held");
		return FALSE;
	}
	resp = wr_netmap_response_parse(text != NULL ? text : "", len, error);
	if (resp == NULL)
		return FALSE;
	if (!resp->full) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "a saved network map must be a full map");
		return FALSE;
	}
	changes = wr_netmap_apply(self->netmap, resp, error);
	if (changes == NULL)
		return FALSE;
	g_signal_emit(self, signals[SIGNAL_NETMAP_CHANGED], 0, changes);
	return TRUE;
}

const char *
wr_control_conn_get_last_error(WrControlConn *self)
{
	return self->last_error;
}

guint
wr_control_conn_get_failures(WrControlConn *self)
{
	return self->failures;
}

guint
wr_control_conn_get_streams(WrControlConn *self)
{
	return self->streams;
}

guint
wr_control_conn_get_retry_delay(WrControlConn *self)
{
	return self->retry_id != 0 ? self->retry_delay_ms : 0;
}

char *
wr_control_conn_dup_health(WrControlConn *self)
{
	const char *why = self->last_error != NULL ? self->last_error : "no answer yet";
	gboolean kept = wr_netmap_has_state(self->netmap);

	switch (self->state) {
	case WR_CONTROL_STATE_CONNECTED:
	case WR_CONTROL_STATE_STOPPED:
		return NULL;
	case WR_CONTROL_STATE_NEEDS_AUTH:
		return g_strdup_printf("control refused this node, sign in again: %s", why);
	case WR_CONTROL_STATE_CONNECTING:
		if (self->failures == 0)
			return NULL;
		break;
	case WR_CONTROL_STATE_OFFLINE:
		break;
	}
	return g_strdup_printf("control unreachable (%s)%s", why,
			       kept ? "; using the last network map" : "");
}

/* ---- requests ---- */

static JsonNode *
object_node(JsonObject *o)
{
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);

	json_node_set_object(n, o);
	return n;
}

/* "version", "ts" and the request, sealed to the server; NULL before the key is known */
static GBytes *
seal_request(WrControlConn *self, JsonObject *request, GError **error)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	uint8_t nonce[WR_BOX_NONCE_LEN];
	GBytes *sealed;
	guint8 *out;
	gsize len = 0;

	json_object_set_int_member(request, "version", 1);
	json_object_set_int_member(request, "ts", g_get_real_time() / G_USEC_PER_SEC);
	root = object_node(request);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &len);
	if (len > WR_CONTROL_SEAL_MAX_BODY - WR_CONTROL_SEAL_OVERHEAD) {
		wr_memzero(text, len);
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
			    "a request of %" G_GSIZE_FORMAT " bytes is over the server's limit",
			    len);
		return NULL;
	}
	wr_random_bytes(nonce, sizeof(nonce));
	out = g_malloc(WR_BOX_NONCE_LEN + WR_BOX_TAG_LEN + len);
	memcpy(out, nonce, sizeof(nonce));
	wr_box_seal_afternm(out + WR_BOX_NONCE_LEN, (const uint8_t *) text, len, nonce,
			    self->shared);
	wr_memzero(text, len);
	sealed = g_bytes_new_take(out, WR_BOX_NONCE_LEN + WR_BOX_TAG_LEN + len);
	return sealed;
}

/* opens a sealed answer or frame into NUL-terminated text (wipe, then free) */
static char *
open_sealed(WrControlConn *self, GBytes *sealed, gsize *out_len, GError **error)
{
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(sealed, &len);
	char *plain;

	if (len < WR_CONTROL_SEAL_OVERHEAD) {
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
			    "a sealed answer of %" G_GSIZE_FORMAT " bytes is too short", len);
		return NULL;
	}
	plain = g_malloc(len - WR_CONTROL_SEAL_OVERHEAD + 1);
	if (!wr_box_open_afternm((uint8_t *) plain, p + WR_BOX_NONCE_LEN, len - WR_BOX_NONCE_LEN, p,
				 self->shared)) {
		g_free(plain);
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "the server's sealed answer does not open with our machine key "
				    "and its server key");
		return NULL;
	}
	plain[len - WR_CONTROL_SEAL_OVERHEAD] = '\0';
	*out_len = len - WR_CONTROL_SEAL_OVERHEAD;
	return plain;
}

static JsonObject *
parse_answer(const char *text, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (!json_parser_load_from_data(parser, text, (gssize) len, &local)) {
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
			    "the server's answer is not JSON: %s", local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "the server's answer is not a JSON object");
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

static GError *
http_error(SoupMessage *msg, GBytes *body)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	const char *data = body != NULL ? g_bytes_get_data(body, &len) : NULL;

	text = g_strndup(data != NULL ? data : "", MIN(len, ERROR_TEXT_MAX));
	g_strstrip(text);
	if (!g_utf8_validate(text, -1, NULL) || *text == '\0') {
		g_free(text);
		text = g_strdup(soup_message_get_reason_phrase(msg));
	}
	return g_error_new(WR_CONTROL_CONN_HTTP_ERROR, (gint) soup_message_get_status(msg),
			   "HTTP %u: %s", soup_message_get_status(msg), text);
}

/*
 * One HTTP exchange with a timeout: the body of a 200 answer (GBytes) or an error.  The caller's
 * cancellable cancels it; the timeout does too and turns into G_IO_ERROR_TIMED_OUT.
 */
typedef struct {
	SoupMessage *msg;
	GCancellable *inner;
	GCancellable *outer;
	gulong outer_id;
	guint timeout_id;
	gboolean timed_out;
} Exchange;

static void
exchange_free(Exchange *ex)
{
	g_clear_handle_id(&ex->timeout_id, g_source_remove);
	if (ex->outer != NULL)
		g_cancellable_disconnect(ex->outer, ex->outer_id);
	g_clear_object(&ex->outer);
	g_clear_object(&ex->inner);
	g_clear_object(&ex->msg);
	g_free(ex);
}

static gboolean
exchange_timeout_cb(gpointer user_data)
{
	Exchange *ex = user_data;

	ex->timeout_id = 0;
	ex->timed_out = TRUE;
	g_cancellable_cancel(ex->inner);
	return G_SOURCE_REMOVE;
}

static void
outer_cancelled_cb(GCancellable *outer, gpointer user_data)
{
	g_cancellable_cancel(G_CANCELLABLE(user_data));
}

static void
exchange_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	Exchange *ex = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body =
		soup_session_send_and_read_finish(SOUP_SESSION(source), res, &error);
	guint status;

	g_clear_handle_id(&ex->timeout_id, g_source_remove);
	if (body == NULL) {
		if (ex->timed_out && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_clear_error(&error);
			g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
					    "control server did not answer in time");
		}
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	status = soup_message_get_status(ex->msg);
	if (status != SOUP_STATUS_OK) {
		g_task_return_error(task, http_error(ex->msg, body));
		return;
	}
	g_task_return_pointer(task, g_steal_pointer(&body), (GDestroyNotify) g_bytes_unref);
}

static void
exchange_async(WrControlConn *self, const char *method, const char *path, GBytes *body,
	       guint timeout_ms, GCancellable *cancellable, GAsyncReadyCallback callback,
	       gpointer user_data)
{
	g_autofree char *url = g_strconcat(self->server_url, path, NULL);
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	Exchange *ex = g_new0(Exchange, 1);

	g_task_set_task_data(task, ex, (GDestroyNotify) exchange_free);
	ex->msg = soup_message_new(method, url);
	wr_sockmark_watch_message(ex->msg);
	ex->inner = g_cancellable_new();
	if (cancellable != NULL) {
		ex->outer = g_object_ref(cancellable);
		ex->outer_id = g_cancellable_connect(cancellable, G_CALLBACK(outer_cancelled_cb),
						     ex->inner, NULL);
	}
	if (body != NULL)
		soup_message_set_request_body_from_bytes(ex->msg, "application/octet-stream", body);
	if (timeout_ms > 0)
		ex->timeout_id = g_timeout_add(timeout_ms, exchange_timeout_cb, ex);
	soup_session_send_and_read_async(self->session, ex->msg, G_PRIORITY_DEFAULT, ex->inner,
					 exchange_done_cb, task);
}

static GBytes *
exchange_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* learns the server's public key from a GET /key answer */
static gboolean
take_server_key(WrControlConn *self, GBytes *body, GError **error)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);
	g_autoptr(JsonObject) o = NULL;
	const char *text;
	uint8_t key[WR_CRYPTO_KEY_LEN];

	if (len > ERROR_TEXT_MAX || (o = parse_answer(data, len, error)) == NULL) {
		if (error != NULL && *error == NULL)
			g_set_error_literal(error, WR_CONTROL_CONN_ERROR,
					    WR_CONTROL_CONN_ERROR_PROTOCOL,
					    "GET /key: the answer is too long");
		return FALSE;
	}
	text = json_object_get_string_member_with_default(o, "server_key", NULL);
	if (text == NULL || !wr_key_from_text(key, WR_KEY_KIND_MACHINE, text)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "GET /key: no \"server_key\": \"mkey:<64 hex>\" in the answer");
		return FALSE;
	}
	if (!wr_box_beforenm(self->shared, key, self->machine_private)) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "GET /key: the server key is not usable (low order)");
		return FALSE;
	}
	if (self->have_server_key && memcmp(key, self->server_public, sizeof(key)) != 0)
		g_message("control: the server key changed");
	memcpy(self->server_public, key, sizeof(key));
	self->have_server_key = TRUE;
	return TRUE;
}

/*
 * A sealed call: POST /machine/<mkey>/<verb> of request, the answer opened into a JSON object.
 * Fetches the server key first when it is not known yet.
 */
typedef struct {
	char *verb;
	JsonObject *request;
	guint timeout_ms;
} Call;

static void
call_free(Call *call)
{
	g_free(call->verb);
	json_object_unref(call->request);
	g_free(call);
}

static void
call_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = exchange_finish(res, &error);
	g_autofree char *text = NULL;
	gsize len = 0;
	JsonObject *answer;

	if (body == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (g_bytes_get_size(body) > ANSWER_MAX) {
		g_task_return_new_error(task, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
					"an answer of %" G_GSIZE_FORMAT " bytes is over the limit",
					g_bytes_get_size(body));
		return;
	}
	text = open_sealed(self, body, &len, &error);
	if (text == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	answer = parse_answer(text, len, &error);
	wr_memzero(text, len);
	if (answer == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, answer, (GDestroyNotify) json_object_unref);
}

static void
call_send(GTask *task)
{
	WrControlConn *self = g_task_get_source_object(task);
	Call *call = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) sealed = seal_request(self, call->request, &error);
	g_autofree char *path = NULL;

	if (sealed == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		g_object_unref(task);
		return;
	}
	{
		g_autofree char *mkey = wr_key_to_text(WR_KEY_KIND_MACHINE, self->machine_public);

		/* the path names the hex digits without the "mkey:" prefix */
		path = g_strdup_printf("/machine/%s/%s", strchr(mkey, ':') + 1, call->verb);
	}
	exchange_async(self, "POST", path, sealed, call->timeout_ms, g_task_get_cancellable(task),
		       call_done_cb, task);
}

static void
call_key_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = exchange_finish(res, &error);

	if (body == NULL || !take_server_key(self, body, &error)) {
		g_prefix_error(&error, "GET /key: ");
		g_task_return_error(task, g_steal_pointer(&error));
		g_object_unref(task);
		return;
	}
	call_send(task);
}

static void
fetch_key_async(WrControlConn *self, GCancellable *cancellable, GAsyncReadyCallback callback,
		gpointer user_data)
{
	exchange_async(self, "GET", "/key?v=1", NULL, self->timing.request_timeout_ms, cancellable,
		       callback, user_data);
}

/* takes request */
static void
call_async(WrControlConn *self, const char *verb, JsonObject *request, guint timeout_ms,
	   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	Call *call = g_new0(Call, 1);

	call->verb = g_strdup(verb);
	call->request = request;
	call->timeout_ms = timeout_ms;
	g_task_set_task_data(task, call, (GDestroyNotify) call_free);
	if (!self->have_server_key)
		fetch_key_async(self, cancellable, call_key_cb, task);
	else
		call_send(task);
}

static JsonObject *
call_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* ---- register, login, logout, rotation ---- */

void
wr_control_register_free(WrControlRegister *reg)
{
	if (reg == NULL)
		return;
	g_free(reg->auth_url);
	g_free(reg->login_name);
	g_free(reg->display_name);
	g_free(reg);
}

static JsonObject *
register_request(WrControlConn *self, const uint8_t node_public[WR_CRYPTO_KEY_LEN],
		 const uint8_t *old_node_public, const char *auth_key, const char *followup,
		 gboolean logout)
{
	JsonObject *o = json_object_new();
	g_autofree char *nk = wr_key_to_text(WR_KEY_KIND_NODE, node_public);
	g_autofree char *old =
		old_node_public != NULL ? wr_key_to_text(WR_KEY_KIND_NODE, old_node_public) : NULL;
	g_autoptr(JsonNode) hi = object_node(self->hostinfo);

	json_object_set_string_member(o, "node_key", nk);
	json_object_set_string_member(o, "old_node_key", old != NULL ? old : "");
	json_object_set_string_member(o, "auth_key", auth_key != NULL ? auth_key : "");
	json_object_set_string_member(o, "followup", followup != NULL ? followup : "");
	json_object_set_boolean_member(o, "logout", logout);
	json_object_set_int_member(o, "expiry", 0);
	json_object_set_member(o, "hostinfo", json_node_copy(hi));
	return o;
}

/* the register answer, typed; REFUSED when it carries an error */
static WrControlRegister *
register_result(JsonObject *o, GError **error)
{
	g_autoptr(WrControlRegister) reg = g_new0(WrControlRegister, 1);
	JsonNode *m;
	const char *err;

	m = json_object_get_member(o, "machine_authorized");
	if (m == NULL || !JSON_NODE_HOLDS_VALUE(m) ||
	    json_node_get_value_type(m) != G_TYPE_BOOLEAN) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "register answer: machine_authorized: not a boolean");
		return NULL;
	}
	reg->machine_authorized = json_node_get_boolean(m);
	reg->node_key_expired =
		json_object_get_boolean_member_with_default(o, "node_key_expired", FALSE);
	reg->auth_url = g_strdup(json_object_get_string_member_with_default(o, "auth_url", ""));
	reg->node_key_expiry = json_object_get_int_member_with_default(o, "node_key_expiry", 0);
	m = json_object_get_member(o, "user");
	if (m != NULL && JSON_NODE_HOLDS_OBJECT(m)) {
		JsonObject *u = json_node_get_object(m);

		reg->user_id = json_object_get_int_member_with_default(u, "id", 0);
		reg->login_name =
			g_strdup(json_object_get_string_member_with_default(u, "login_name", ""));
		reg->display_name =
			g_strdup(json_object_get_string_member_with_default(u, "display_name", ""));
	}
	if (reg->login_name == NULL)
		reg->login_name = g_strdup("");
	if (reg->display_name == NULL)
		reg->display_name = g_strdup("");
	err = json_object_get_string_member_with_default(o, "error", "");
	if (err != NULL && *err != '\0') {
		g_set_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_REFUSED,
			    "control refused the registration: %s", err);
		return NULL;
	}
	return g_steal_pointer(&reg);
}

static gboolean
take_busy(WrControlConn *self, GTask *task)
{
	if (self->busy) {
		g_task_return_new_error(task, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_BUSY,
					"another registration is under way");
		g_object_unref(task);
		return FALSE;
	}
	self->busy = TRUE;
	return TRUE;
}

static void
register_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);
	WrControlRegister *reg;

	self->busy = FALSE;
	if (answer == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	reg = register_result(answer, &error);
	if (reg == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reg->machine_authorized && self->state == WR_CONTROL_STATE_NEEDS_AUTH)
		set_state(self,
			  self->running ? WR_CONTROL_STATE_CONNECTING : WR_CONTROL_STATE_STOPPED);
	g_task_return_pointer(task, reg, (GDestroyNotify) wr_control_register_free);
}

void
wr_control_conn_register_async(WrControlConn *self, const char *auth_key, GCancellable *cancellable,
			       GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);

	g_task_set_source_tag(task, wr_control_conn_register_async);
	if (!take_busy(self, task))
		return;
	call_async(self, "register",
		   register_request(self, self->node_public, NULL, auth_key, NULL, FALSE),
		   self->timing.request_timeout_ms, cancellable, register_done_cb, task);
}

WrControlRegister *
wr_control_conn_register_finish(WrControlConn *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

/* wait_login: followup registers until an answer is final */
typedef struct {
	char *url;
	gint64 started; /* monotonic µs of the current poll */
} Login;

static void
login_free(Login *login)
{
	g_free(login->url);
	g_free(login);
}

/* polls come at most this often, even if a server answers a follow-up at once */
#define LOGIN_POLL_MIN_US (1 * G_USEC_PER_SEC)

static void
login_poll(GTask *task);

static gboolean
login_poll_cb(gpointer user_data)
{
	login_poll(user_data);
	return G_SOURCE_REMOVE;
}

static void
login_again(GTask *task)
{
	Login *login = g_task_get_task_data(task);
	gint64 waited = g_get_monotonic_time() - login->started;

	if (waited >= LOGIN_POLL_MIN_US)
		login_poll(task);
	else
		g_timeout_add((guint) ((LOGIN_POLL_MIN_US - waited) / 1000) + 1, login_poll_cb,
			      task);
}

static void
login_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);
	g_autoptr(WrControlRegister) reg = NULL;

	/* the server answers a held followup that timed out with the same pending state; a
	 * client-side timeout of one poll is no failure either: poll again */
	if (answer == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
	    !g_cancellable_is_cancelled(g_task_get_cancellable(task))) {
		login_again(task);
		return;
	}
	if (answer == NULL) {
		WR_CONTROL_CONN(source)->busy = FALSE;
		g_task_return_error(task, g_steal_pointer(&error));
		g_object_unref(task);
		return;
	}
	reg = register_result(answer, &error);
	if (reg != NULL && !reg->machine_authorized &&
	    !g_cancellable_is_cancelled(g_task_get_cancellable(task))) {
		login_again(task);
		return;
	}
	WR_CONTROL_CONN(source)->busy = FALSE;
	if (reg == NULL)
		g_task_return_error(task, g_steal_pointer(&error));
	else if (!reg->machine_authorized)
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
					"the sign-in wait was cancelled");
	else {
		WrControlConn *self = WR_CONTROL_CONN(source);

		if (self->state == WR_CONTROL_STATE_NEEDS_AUTH)
			set_state(self, self->running ? WR_CONTROL_STATE_CONNECTING
						      : WR_CONTROL_STATE_STOPPED);
		g_task_return_pointer(task, g_steal_pointer(&reg),
				      (GDestroyNotify) wr_control_register_free);
	}
	g_object_unref(task);
}

static void
login_poll(GTask *task)
{
	WrControlConn *self = g_task_get_source_object(task);
	Login *login = g_task_get_task_data(task);

	login->started = g_get_monotonic_time();
	call_async(self, "register",
		   register_request(self, self->node_public, NULL, NULL, login->url, FALSE),
		   self->timing.followup_timeout_ms, g_task_get_cancellable(task), login_done_cb,
		   task);
}

void
wr_control_conn_wait_login_async(WrControlConn *self, const char *auth_url,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	Login *login = g_new0(Login, 1);

	login->url = g_strdup(auth_url);
	g_task_set_source_tag(task, wr_control_conn_wait_login_async);
	g_task_set_task_data(task, login, (GDestroyNotify) login_free);
	if (auth_url == NULL || *auth_url == '\0') {
		g_task_return_new_error(task, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
					"no auth URL to wait for");
		g_object_unref(task);
		return;
	}
	if (!take_busy(self, task))
		return;
	login_poll(task);
}

WrControlRegister *
wr_control_conn_wait_login_finish(WrControlConn *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void
logout_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);

	self->busy = FALSE;
	if (answer == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	{
		const char *err = json_object_get_string_member_with_default(answer, "error", "");

		if (err != NULL && *err != '\0') {
			g_task_return_new_error(task, WR_CONTROL_CONN_ERROR,
						WR_CONTROL_CONN_ERROR_REFUSED,
						"control refused the logout: %s", err);
			return;
		}
	}
	/* logged out: no map any more, and nothing to reconnect to */
	wr_control_conn_stop(self);
	wr_netmap_free(self->netmap);
	self->netmap = wr_netmap_new();
	set_state(self, WR_CONTROL_STATE_NEEDS_AUTH);
	set_last_error(self, "logged out");
	g_task_return_boolean(task, TRUE);
}

void
wr_control_conn_logout_async(WrControlConn *self, GCancellable *cancellable,
			     GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);

	g_task_set_source_tag(task, wr_control_conn_logout_async);
	if (!take_busy(self, task))
		return;
	call_async(self, "register",
		   register_request(self, self->node_public, NULL, NULL, NULL, TRUE),
		   self->timing.request_timeout_ms, cancellable, logout_done_cb, task);
}

gboolean
wr_control_conn_logout_finish(WrControlConn *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

static void
rotate_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);
	const uint8_t *new_public = g_task_get_task_data(task);
	WrControlRegister *reg;

	self->busy = FALSE;
	if (answer == NULL || (reg = register_result(answer, &error)) == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reg->machine_authorized) {
		memcpy(self->node_public, new_public, WR_CRYPTO_KEY_LEN);
		/* the server forgets the old key at the first map request with the new one */
		restart_stream(self);
	}
	g_task_return_pointer(task, reg, (GDestroyNotify) wr_control_register_free);
}

void
wr_control_conn_rotate_node_key_async(WrControlConn *self,
				      const uint8_t new_node_private[WR_CRYPTO_KEY_LEN],
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	uint8_t *new_public = g_malloc(WR_CRYPTO_KEY_LEN);

	g_task_set_source_tag(task, wr_control_conn_rotate_node_key_async);
	g_task_set_task_data(task, new_public, g_free);
	if (!wr_x25519_public(new_public, new_node_private)) {
		g_task_return_new_error(task, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID,
					"the new node private key is not usable");
		g_object_unref(task);
		return;
	}
	if (!take_busy(self, task))
		return;
	call_async(self, "register",
		   register_request(self, new_public, self->node_public, NULL, NULL, FALSE),
		   self->timing.request_timeout_ms, cancellable, rotate_done_cb, task);
}

WrControlRegister *
wr_control_conn_rotate_node_key_finish(WrControlConn *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- the map stream ---- */

static JsonObject *
map_request(WrControlConn *self, gboolean stream)
{
	JsonObject *o = json_object_new();
	g_autofree char *nk = wr_key_to_text(WR_KEY_KIND_NODE, self->node_public);
	g_autofree char *dk = wr_key_to_text(WR_KEY_KIND_DISCO, self->disco_public);
	g_autoptr(JsonNode) hi = object_node(self->hostinfo);
	g_autoptr(JsonNode) eps = json_node_new(JSON_NODE_ARRAY);

	json_node_set_array(eps, self->endpoints);
	json_object_set_string_member(o, "node_key", nk);
	json_object_set_string_member(o, "disco_key", dk);
	json_object_set_member(o, "endpoints", json_node_copy(eps));
	if (self->home_region >= 0)
		json_object_set_int_member(o, "derp_region", self->home_region);
	json_object_set_member(o, "hostinfo", json_node_copy(hi));
	json_object_set_boolean_member(o, "stream", stream);
	/* an update needs no map back: the stream brings the changes */
	json_object_set_boolean_member(o, "omit_peers", !stream);
	return o;
}

/* ---- flow records (docs/flow-logs.md) ---- */

static void
flows_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);
	gint64 stored;

	if (answer == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	stored = json_object_get_int_member_with_default(answer, "stored", -1);
	if (stored < 0) {
		g_task_return_new_error(task, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
					"the flows answer has no stored count");
		return;
	}
	g_task_return_int(task, stored);
}

void
wr_control_conn_send_flows_async(WrControlConn *self, JsonArray *flows, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	JsonObject *o = json_object_new();
	g_autofree char *nk = wr_key_to_text(WR_KEY_KIND_NODE, self->node_public);

	g_task_set_source_tag(task, wr_control_conn_send_flows_async);
	json_object_set_string_member(o, "node_key", nk);
	json_object_set_array_member(o, "flows", flows);
	call_async(self, "flows", o, self->timing.request_timeout_ms, cancellable, flows_done_cb,
		   task);
}

gint64
wr_control_conn_send_flows_finish(WrControlConn *self, GAsyncResult *result, GError **error)
{
	return g_task_propagate_int(G_TASK(result), error);
}

static void
update_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(WrControlConn) self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = call_finish(res, &error);

	/* the next reconnect carries the same endpoints and hostinfo: only say so */
	if (answer == NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_message("control: endpoint update failed: %s", error->message);
	self->update_in_flight = FALSE;
	if (self->update_pending)
		send_update(self);
}

static void
send_update(WrControlConn *self)
{
	/* not connected: the stream being opened may carry the old values, so the update waits
	 * for CONNECTED (open_stream drops it when its request already has the new ones) */
	if (self->state != WR_CONTROL_STATE_CONNECTED || self->update_in_flight) {
		self->update_pending = TRUE;
		return;
	}
	self->update_pending = FALSE;
	self->update_in_flight = TRUE;
	call_async(self, "map", map_request(self, FALSE), self->timing.request_timeout_ms,
		   self->run_cancellable, update_done_cb, g_object_ref(self));
}

void
wr_control_conn_set_endpoints(WrControlConn *self, const char *const *addrs,
			      const char *const *types)
{
	JsonArray *a = json_array_new();

	for (guint i = 0; addrs != NULL && addrs[i] != NULL; i++) {
		JsonObject *e = json_object_new();

		json_object_set_string_member(e, "addr", addrs[i]);
		json_object_set_string_member(
			e, "type", types != NULL && types[i] != NULL ? types[i] : "stun");
		json_array_add_object_element(a, e);
	}
	json_array_unref(self->endpoints);
	self->endpoints = a;
	send_update(self);
}

void
wr_control_conn_set_home_region(WrControlConn *self, guint region)
{
	g_return_if_fail(region <= 65535);
	if (self->home_region == (gint) region)
		return;
	self->home_region = (gint) region;
	send_update(self);
}

static void
schedule_retry(WrControlConn *self);

/*
 * The attempt failed or the stream ended: keep the netmap, retry later.  Cancelling
 * stream_cancellable is how an attempt is abandoned (stop, dispose, watchdog, open timeout,
 * rotation); whoever cancels takes care of what follows, so a callback that sees CANCELLED
 * returns at once without touching self (which may be gone).
 */
static void
stream_failed(WrControlConn *self, const GError *error)
{
	stream_teardown(self);
	self->got_full = FALSE;
	self->stream_started = 0;
	if (!self->running)
		return;
	set_last_error(self, error->message);
	if (error->domain == WR_CONTROL_CONN_HTTP_ERROR &&
	    (error->code == SOUP_STATUS_UNAUTHORIZED || error->code == SOUP_STATUS_FORBIDDEN)) {
		g_message("control: map refused, node must register again: %s", error->message);
		self->running = FALSE;
		g_clear_object(&self->run_cancellable);
		set_state(self, WR_CONTROL_STATE_NEEDS_AUTH);
		return;
	}
	self->failures++;
	schedule_retry(self);
}

static gboolean
retry_cb(gpointer user_data)
{
	WrControlConn *self = user_data;

	self->retry_id = 0;
	set_state(self, WR_CONTROL_STATE_CONNECTING);
	connect_attempt(self);
	return G_SOURCE_REMOVE;
}

static void
schedule_retry(WrControlConn *self)
{
	self->retry_delay_ms =
		wr_control_backoff_ms(&self->timing, self->failures, wr_random_u32());
	g_message("control: %s; retrying in %u ms (failure %u)", self->last_error,
		  self->retry_delay_ms, self->failures);
	/* armed first, so that a state listener sees the pending delay */
	self->retry_id = g_timeout_add(self->retry_delay_ms, retry_cb, self);
	set_state(self, WR_CONTROL_STATE_OFFLINE);
}

static gboolean
watchdog_cb(gpointer user_data)
{
	WrControlConn *self = user_data;
	g_autoptr(GError) error = NULL;

	self->watchdog_id = 0;
	if (self->frames == NULL)
		g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "opening the map stream timed out");
	else
		g_set_error(&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no map frame for %u ms",
			    self->timing.watchdog_ms);
	stream_failed(self, error);
	return G_SOURCE_REMOVE;
}

/* the watchdog: until the stream's head arrives, it is the request timeout */
static void
watchdog_reset(WrControlConn *self, guint ms)
{
	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	self->watchdog_id = g_timeout_add(ms, watchdog_cb, self);
}

static gboolean
healthy_cb(gpointer user_data)
{
	WrControlConn *self = user_data;

	self->healthy_id = 0;
	self->failures = 0;
	return G_SOURCE_REMOVE;
}

/* one frame: open, parse, apply, tell */
static gboolean
handle_frame(WrControlConn *self, GBytes *frame, GError **error)
{
	g_autoptr(WrNetmapResponse) resp = NULL;
	g_autoptr(WrNetmapChanges) changes = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;

	text = open_sealed(self, frame, &len, error);
	if (text == NULL)
		return FALSE;
	resp = wr_netmap_response_parse(text, len, error);
	wr_memzero(text, len);
	if (resp == NULL)
		return FALSE;
	if (!self->got_full && !resp->full) {
		g_set_error_literal(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL,
				    "the map stream did not start with a full map");
		return FALSE;
	}
	changes = wr_netmap_apply(self->netmap, resp, error);
	if (changes == NULL)
		return FALSE;
	if (resp->full && !self->got_full) {
		self->got_full = TRUE;
		set_last_error(self, NULL);
		/* a server that drops every stream right after the full map must not make us
		 * hammer it: the backoff resets only once a stream stayed up a while */
		self->healthy_id = g_timeout_add(self->timing.healthy_ms, healthy_cb, self);
		set_state(self, WR_CONTROL_STATE_CONNECTED);
		if (self->update_pending)
			send_update(self);
	}
	if (!wr_netmap_changes_empty(changes))
		g_signal_emit(self, signals[SIGNAL_NETMAP_CHANGED], 0, changes);
	return TRUE;
}

/*
 * What a stream callback holds: the attempt's cancellable and a weak reference to the
 * connection.  A callback of an abandoned attempt (cancelled by stop, dispose, the watchdog or a
 * rotation) must not touch the connection, which may be gone; it finds out here without doing so.
 */
typedef struct {
	GWeakRef self;
	GCancellable *cancellable;
} Attempt;

static Attempt *
attempt_new(WrControlConn *self)
{
	Attempt *a = g_new0(Attempt, 1);

	g_weak_ref_init(&a->self, self);
	a->cancellable = g_object_ref(self->stream_cancellable);
	return a;
}

/* frees a; a strong reference to the connection while the attempt is live, else NULL */
static WrControlConn *
attempt_take(Attempt *a)
{
	WrControlConn *self = NULL;

	if (!g_cancellable_is_cancelled(a->cancellable))
		self = g_weak_ref_get(&a->self);
	if (self != NULL && self->stream_cancellable != a->cancellable)
		g_clear_object(&self);
	g_weak_ref_clear(&a->self);
	g_object_unref(a->cancellable);
	g_free(a);
	return self;
}

static void
stream_read(WrControlConn *self);

static void
stream_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes =
		g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);
	g_autoptr(WrControlConn) self = attempt_take(user_data);

	if (self == NULL)
		return;
	if (bytes == NULL || g_bytes_get_size(bytes) == 0) {
		if (error == NULL)
			g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "the control server ended the map stream");
		stream_failed(self, error);
		return;
	}
	if (!wr_control_frames_feed(self->frames, g_bytes_get_data(bytes, NULL),
				    g_bytes_get_size(bytes), &error)) {
		stream_failed(self, error);
		return;
	}
	for (;;) {
		g_autoptr(GBytes) frame = wr_control_frames_pop(self->frames);
		GCancellable *attempt = self->stream_cancellable;

		if (frame == NULL)
			break;
		watchdog_reset(self, self->timing.watchdog_ms);
		if (!handle_frame(self, frame, &error)) {
			g_prefix_error(&error, "map stream: ");
			g_message("control: %s", error->message);
			stream_failed(self, error);
			return;
		}
		/* a signal handler stopped or restarted us: this attempt is over */
		if (self->stream_cancellable != attempt || self->frames == NULL)
			return;
	}
	stream_read(self);
}

static void
stream_read(WrControlConn *self)
{
	g_input_stream_read_bytes_async(self->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
					self->stream_cancellable, stream_read_cb,
					attempt_new(self));
}

/* a non-200 answer to the stream request: read a little of its text for the error */
static void
stream_error_text_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes =
		g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);
	g_autoptr(WrControlConn) self = attempt_take(user_data);
	g_autoptr(GError) http = NULL;

	if (self == NULL)
		return;
	http = http_error(self->stream_msg, bytes);
	stream_failed(self, http);
}

static void
stream_sent_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), res, &error);
	g_autoptr(WrControlConn) self = attempt_take(user_data);

	if (self == NULL) {
		g_clear_object(&stream);
		return;
	}
	if (stream == NULL) {
		stream_failed(self, error);
		return;
	}
	self->stream = stream;
	if (soup_message_get_status(self->stream_msg) != SOUP_STATUS_OK) {
		g_input_stream_read_bytes_async(stream, ERROR_TEXT_MAX, G_PRIORITY_DEFAULT,
						self->stream_cancellable, stream_error_text_cb,
						attempt_new(self));
		return;
	}
	self->streams++;
	self->stream_started = g_get_monotonic_time();
	self->frames = wr_control_frames_new(WR_CONTROL_CONN_MAX_FRAME);
	watchdog_reset(self, self->timing.watchdog_ms);
	stream_read(self);
}

static void
open_stream(WrControlConn *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) req = map_request(self, TRUE);
	g_autoptr(GBytes) sealed = seal_request(self, req, &error);

	/* this request carries the current endpoints; one still in flight may not arrive before
	 * it, and is followed by another then */
	if (!self->update_in_flight)
		self->update_pending = FALSE;
	g_autofree char *mkey = wr_key_to_text(WR_KEY_KIND_MACHINE, self->machine_public);
	g_autofree char *url = NULL;

	if (sealed == NULL) {
		stream_failed(self, error);
		return;
	}
	url = g_strdup_printf("%s/machine/%s/map", self->server_url, strchr(mkey, ':') + 1);
	self->stream_msg = soup_message_new("POST", url);
	wr_sockmark_watch_message(self->stream_msg);
	soup_message_set_request_body_from_bytes(self->stream_msg, "application/octet-stream",
						 sealed);
	watchdog_reset(self, self->timing.request_timeout_ms);
	soup_session_send_async(self->session, self->stream_msg, G_PRIORITY_DEFAULT,
				self->stream_cancellable, stream_sent_cb, attempt_new(self));
}

static void
attempt_key_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WrControlConn *self = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = exchange_finish(res, &error);

	if (body == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (body == NULL || !take_server_key(self, body, &error)) {
		g_prefix_error(&error, "GET /key: ");
		stream_failed(self, error);
		return;
	}
	open_stream(self);
}

/* one connection attempt: the server key (again: it may have changed), then the stream */
static void
connect_attempt(WrControlConn *self)
{
	stream_teardown(self);
	self->stream_cancellable = g_cancellable_new();
	fetch_key_async(self, self->stream_cancellable, attempt_key_cb, NULL);
}

/* a new stream at once, without counting a failure (a rotated node key) */
static void
restart_stream(WrControlConn *self)
{
	if (!self->running)
		return;
	g_clear_handle_id(&self->retry_id, g_source_remove);
	stream_teardown(self);
	self->got_full = FALSE;
	self->stream_started = 0;
	set_state(self, WR_CONTROL_STATE_CONNECTING);
	connect_attempt(self);
}

void
wr_control_conn_start(WrControlConn *self)
{
	if (self->running)
		return;
	self->running = TRUE;
	self->failures = 0;
	self->run_cancellable = g_cancellable_new();
	set_state(self, WR_CONTROL_STATE_CONNECTING);
	connect_attempt(self);
}

void
wr_control_conn_stop(WrControlConn *self)
{
	if (!self->running)
		return;
	self->running = FALSE;
	g_clear_handle_id(&self->retry_id, g_source_remove);
	if (self->run_cancellable != NULL)
		g_cancellable_cancel(self->run_cancellable);
	g_clear_object(&self->run_cancellable);
	stream_teardown(self);
	self->got_full = FALSE;
	self->stream_started = 0;
	set_state(self, WR_CONTROL_STATE_STOPPED);
}
