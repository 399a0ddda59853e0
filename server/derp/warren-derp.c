/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-derp: the DERP relay and STUN server of a Warren tailnet
 * (docs/protocols/derp-disco-stun.md §2, §5).  One process serves DERP over HTTP and HTTPS
 * (/derp), the probes (/derp/probe, /derp/latency-check, /generate_204), Prometheus metrics
 * (/metrics) and STUN.  Several servers given each other's URLs and one mesh key form a region.
 *
 * The HTTP side is libsoup on the GLib main loop; an upgraded /derp connection is stolen from
 * libsoup and handed to the relay (wr-derp-server), whose worker threads carry the packets.
 */

#define G_LOG_DOMAIN "warren-derp"

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <systemd/sd-daemon.h>

#include "wr-addr.h"
#include "wr-crypto.h"
#include "wr-derp-dial.h"
#include "wr-derp-frame.h"
#include "wr-derp-server.h"
#include "wr-derp-verify.h"
#include "wr-key.h"
#include "wr-keyfile.h"
#include "wr-stun-server.h"

/* §2.11: a broken mesh link is redialled this often */
#define MESH_REDIAL_SECONDS 5
/* §2.9: the verifier gets this long */
#define VERIFY_TIMEOUT_SECONDS 5
/* pending connections per listener (the kernel caps it at net.core.somaxconn) */
#define LISTEN_BACKLOG 4096
/* a challenge for /generate_204 (§2.4) */
#define CHALLENGE_MAX_LEN 64
/* what clients are told on a clean shutdown: come back soon, and keep trying a while */
#define RESTART_RECONNECT_IN_MS 250
#define RESTART_TRY_FOR_MS	(60 * 1000)
#define SHUTDOWN_FLUSH_MS	1000

static char *arg_http_listen;
static char *arg_tls_listen;
static char *arg_cert;
static char *arg_key;
static char **arg_stun_listen;
static char *arg_key_file;
static char **arg_mesh_with;
static char *arg_mesh_key_file;
static gboolean arg_mesh_insecure;
static char *arg_verify_clients;
static gboolean arg_verify_fail_closed;
static gint64 arg_rate_limit;
static gint64 arg_rate_burst;
static gint arg_idle_timeout = 300;
static gint arg_workers;
static char *arg_metrics_listen;
static gboolean arg_version;

typedef struct App App;

typedef struct {
	App *app;
	char *url;
	GCancellable *cancellable;
	guint retry_id;
	gboolean stopped; /* it was this server itself */
} MeshPeer;

struct App {
	GMainLoop *loop;
	uint8_t *private_key; /* wr_secure_alloc */
	uint8_t public_key[32];
	uint8_t *mesh_key; /* wr_secure_alloc, or NULL */
	WrDerpServer *relay;
	SoupServer *http;
	SoupServer *metrics_http;
	GPtrArray *stun; /* WrStunServer* */
	GPtrArray *mesh; /* MeshPeer* */
	SoupSession *verify_session;
	GMutex verify_lock;
	GHashTable *allowed; /* GBytes key set from the --verify-clients file, or NULL */
	gboolean stopping;
};

/* ---- small parsers -----------------------------------------------------------------------------
 */

static GSocketAddress *
parse_listen(const char *option, const char *text, GError **error)
{
	WrEndpoint ep;

	if (!wr_endpoint_parse(&ep, text)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: \"%s\" is not IP:PORT or [IPv6]:PORT", option, text);
		return NULL;
	}
	return g_socket_address_new_from_native(&ep, wr_endpoint_socklen(&ep));
}

/* keys allowed by a --verify-clients file (wr-derp-verify.h) */
static GHashTable *
load_allowed_keys(const char *path, GError **error)
{
	g_autofree char *contents = NULL;
	gsize len;

	if (!g_file_get_contents(path, &contents, &len, error)) {
		g_prefix_error(error, "--verify-clients: ");
		return NULL;
	}
	return wr_derp_allowlist_parse(path, contents, len, error);
}

/* ---- client verification ------------------------------------------------------------------- */

typedef struct {
	App *app;
	guint64 conn_id;
	uint8_t key[32];
	char *source;
} VerifyCall;

static void
verify_call_free(VerifyCall *call)
{
	g_free(call->source);
	g_free(call);
}

static void
verify_answer(VerifyCall *call, gboolean allow, const char *why)
{
	char hex[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(hex, call->key);
	if (!allow)
		g_message("[%.8s] %s: not admitted: %s", hex, call->source, why);
	else if (why != NULL)
		g_message("[%.8s] %s: admitted: %s", hex, call->source, why);
	wr_derp_server_verify_done(call->app->relay, call->conn_id, allow);
	verify_call_free(call);
}

static void
verify_url_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	VerifyCall *call = user_data;
	gboolean fail_open = !arg_verify_fail_closed;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body =
		soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
	SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
	gboolean allow = FALSE;

	if (body == NULL || msg == NULL || soup_message_get_status(msg) != SOUP_STATUS_OK) {
		g_autofree char *why =
			body == NULL ? g_strdup_printf("verifier unreachable: %s", error->message)
				     : g_strdup_printf("verifier answered HTTP %u",
						       soup_message_get_status(msg));

		verify_answer(call, fail_open, why);
		return;
	}
	if (!wr_derp_verify_parse_answer(g_bytes_get_data(body, NULL), g_bytes_get_size(body),
					 &allow, &error)) {
		verify_answer(call, fail_open, error->message);
		return;
	}
	verify_answer(call, allow, allow ? NULL : "the verifier said no");
}

static gboolean
verify_on_main_cb(gpointer user_data)
{
	VerifyCall *call = user_data;
	App *app = call->app;
	g_autoptr(SoupMessage) msg = soup_message_new("POST", arg_verify_clients);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *nodekey = wr_key_to_text(WR_KEY_KIND_NODE, call->key);
	g_autofree char *json = NULL;
	gsize len;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "NodePublic");
	json_builder_add_string_value(b, nodekey);
	json_builder_set_member_name(b, "Source");
	json_builder_add_string_value(b, call->source);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json = json_generator_to_data(gen, &len);
	soup_message_set_request_body_from_bytes(msg, "application/json",
						 g_bytes_new_take(g_steal_pointer(&json), len));
	soup_session_send_and_read_async(app->verify_session, msg, G_PRIORITY_DEFAULT, NULL,
					 verify_url_cb, call);
	return G_SOURCE_REMOVE;
}

/* runs on a relay worker thread */
static void
verify_cb(WrDerpServer *server, guint64 conn_id, const uint8_t client_key[32],
	  GInetSocketAddress *remote, gpointer user_data)
{
	App *app = user_data;
	VerifyCall *call = g_new0(VerifyCall, 1);

	call->app = app;
	call->conn_id = conn_id;
	memcpy(call->key, client_key, 32);
	call->source = remote != NULL
			       ? g_inet_address_to_string(g_inet_socket_address_get_address(remote))
			       : g_strdup("");
	if (app->verify_session != NULL) {
		g_main_context_invoke(NULL, verify_on_main_cb, call);
		return;
	} else {
		gboolean allow;

		g_mutex_lock(&app->verify_lock);
		allow = wr_derp_allowlist_contains(app->allowed, client_key);
		g_mutex_unlock(&app->verify_lock);
		verify_answer(call, allow, allow ? NULL : "not in the allowed keys file");
	}
}

/* ---- mesh links ------------------------------------------------------------------------------ */

static void
mesh_dial(MeshPeer *peer);

static gboolean
mesh_retry_cb(gpointer user_data)
{
	MeshPeer *peer = user_data;

	peer->retry_id = 0;
	mesh_dial(peer);
	return G_SOURCE_REMOVE;
}

static void
mesh_schedule(MeshPeer *peer)
{
	if (peer->app->stopping || peer->stopped || peer->retry_id != 0)
		return;
	peer->retry_id = g_timeout_add_seconds(MESH_REDIAL_SECONDS, mesh_retry_cb, peer);
}

static void
mesh_link_closed_cb(WrDerpServer *server, const char *name, const char *reason, gpointer user_data)
{
	MeshPeer *peer = user_data;

	g_message("mesh link %s down (%s); redialling in %u s", name, reason, MESH_REDIAL_SECONDS);
	mesh_schedule(peer);
}

static void
mesh_dial_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	MeshPeer *peer = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDerpConn) conn = wr_derp_dial_finish(result, &error);
	g_autoptr(GBytes) pending = NULL;

	if (conn == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_message("mesh link %s: %s; retrying in %u s", peer->url, error->message,
				  MESH_REDIAL_SECONDS);
			mesh_schedule(peer);
		}
		return;
	}
	if (conn->pending != NULL)
		pending = g_bytes_new(conn->pending->data, conn->pending->len);
	if (!wr_derp_server_add_mesh_link(peer->app->relay, peer->url, conn->stream, conn->socket,
					  pending, conn->server_key, mesh_link_closed_cb, peer)) {
		if (memcmp(conn->server_key, peer->app->public_key, 32) == 0) {
			g_message("mesh link %s leads to this server itself; not used", peer->url);
			peer->stopped = TRUE;
		}
		return;
	}
}

static void
mesh_dial(MeshPeer *peer)
{
	App *app = peer->app;
	WrDerpDialOptions options = {
		.mesh_key = app->mesh_key,
		.insecure_skip_verify = arg_mesh_insecure,
		.app_name = "warren-derp mesh",
	};

	g_clear_object(&peer->cancellable);
	peer->cancellable = g_cancellable_new();
	wr_derp_dial_async(peer->url, app->private_key, &options, peer->cancellable, mesh_dial_cb,
			   peer);
}

static void
mesh_peer_free(MeshPeer *peer)
{
	if (peer->retry_id != 0)
		g_source_remove(peer->retry_id);
	if (peer->cancellable != NULL)
		g_cancellable_cancel(peer->cancellable);
	g_clear_object(&peer->cancellable);
	g_free(peer->url);
	g_free(peer);
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static void
reply_text(SoupServerMessage *msg, guint status, const char *text)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
					 strlen(text));
}

static gboolean
method_is_get_or_head(SoupServerMessage *msg)
{
	const char *method = soup_server_message_get_method(msg);

	return g_strcmp0(method, "GET") == 0 || g_strcmp0(method, "HEAD") == 0;
}

/* gives an upgraded /derp connection to the relay */
static void
hand_over(App *app, SoupServerMessage *msg)
{
	g_autoptr(GSocketAddress) remote = NULL;
	g_autoptr(GIOStream) stolen = NULL;
	g_autoptr(GIOStream) base = NULL;
	g_autoptr(GByteArray) pending = g_byte_array_new();
	g_autoptr(GBytes) pending_bytes = NULL;
	GSocketAddress *addr = soup_server_message_get_remote_address(msg);
	GSocket *socket;
	GInputStream *in;

	if (addr != NULL)
		remote = g_object_ref(addr);
	stolen = soup_server_message_steal_connection(msg);
	if (stolen == NULL)
		return;
	/* libsoup wraps the connection in a buffering stream of its own: the relay reads the
	 * connection under it, after taking whatever libsoup had read past the request */
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(stolen), "base-iostream") != NULL)
		g_object_get(stolen, "base-iostream", &base, NULL);
	if (base == NULL)
		base = g_object_ref(stolen);
	in = g_io_stream_get_input_stream(stolen);
	while (G_IS_POLLABLE_INPUT_STREAM(in) &&
	       g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(in)) &&
	       pending->len < DERP_MAX_CLIENT_INFO_LEN) {
		guint8 buf[4096];
		gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in),
								    buf, sizeof(buf), NULL, NULL);

		if (n <= 0)
			break;
		g_byte_array_append(pending, buf, (guint) n);
	}
	socket = g_object_get_data(G_OBJECT(stolen), "GSocket");
	if (socket == NULL) {
		GIOStream *under = base;

		g_autoptr(GIOStream) tls_base = NULL;

		if (G_IS_TLS_CONNECTION(under)) {
			g_object_get(under, "base-io-stream", &tls_base, NULL);
			under = tls_base;
		}
		if (G_IS_SOCKET_CONNECTION(under))
			socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(under));
	}
	if (socket == NULL) {
		g_warning("an upgraded connection without a socket, ignoring");
		return;
	}
	pending_bytes = g_byte_array_free_to_bytes(g_steal_pointer(&pending));
	wr_derp_server_accept(app->relay, base, socket, pending_bytes,
			      G_IS_INET_SOCKET_ADDRESS(remote) ? G_INET_SOCKET_ADDRESS(remote)
							       : NULL);
}

static void
derp_wrote_101_cb(SoupServerMessage *msg, gpointer user_data)
{
	hand_over(user_data, msg);
}

static void
derp_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	gpointer user_data)
{
	App *app = user_data;
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
	const char *upgrade = soup_message_headers_get_one(req, "Upgrade");
	const char *proto = soup_message_headers_get_one(req, "Sec-WebSocket-Protocol");
	char hex[WR_KEY_HEX_LEN + 1];

	if (g_str_equal(path, "/derp/probe") || g_str_equal(path, "/derp/latency-check")) {
		/* §2.4: latency checks */
		soup_message_headers_replace(resp, "Access-Control-Allow-Origin", "*");
		if (!method_is_get_or_head(msg)) {
			reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "bogus probe method\n");
			return;
		}
		soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
		return;
	}
	if (!g_str_equal(path, "/derp")) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
		return;
	}
	if (upgrade == NULL || (g_ascii_strcasecmp(upgrade, "derp") != 0 &&
				g_ascii_strcasecmp(upgrade, "websocket") != 0)) {
		reply_text(msg, 426 /* Upgrade Required */, "DERP requires connection upgrade");
		return;
	}
	if (g_ascii_strcasecmp(upgrade, "websocket") == 0 && proto != NULL &&
	    strstr(proto, "derp") != NULL) {
		/* §2.3: only browser clients use DERP inside WebSocket messages */
		reply_text(msg, SOUP_STATUS_NOT_IMPLEMENTED,
			   "DERP over WebSocket is not served here; use Upgrade: DERP\n");
		return;
	}
	if (g_strcmp0(soup_message_headers_get_one(req, "Derp-Fast-Start"), "1") == 0) {
		/* §2.2: no 101; ServerKey comes first all the same */
		hand_over(app, msg);
		return;
	}
	wr_key_to_hex(hex, app->public_key);
	soup_server_message_set_status(msg, SOUP_STATUS_SWITCHING_PROTOCOLS, NULL);
	soup_message_headers_replace(resp, "Upgrade", "DERP");
	soup_message_headers_replace(resp, "Connection", "Upgrade");
	soup_message_headers_replace(resp, "Derp-Version", G_STRINGIFY(DERP_PROTOCOL_VERSION));
	soup_message_headers_replace(resp, "Derp-Public-Key", hex);
	g_signal_connect(msg, "wrote-informational", G_CALLBACK(derp_wrote_101_cb), app);
}

static gboolean
challenge_ok(const char *c)
{
	if (strlen(c) > CHALLENGE_MAX_LEN)
		return FALSE;
	for (const char *p = c; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr("._:-", *p) == NULL)
			return FALSE;
	}
	return TRUE;
}

static void
generate_204_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
		gpointer user_data)
{
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
	const char *challenge = soup_message_headers_get_one(req, "X-Tailscale-Challenge");

	/* §2.4: captive-portal detection */
	soup_message_headers_replace(
		resp, "Cache-Control",
		"no-cache, no-store, must-revalidate, no-transform, max-age=0");
	if (challenge != NULL && challenge_ok(challenge)) {
		g_autofree char *answer = g_strdup_printf("response %s", challenge);

		soup_message_headers_replace(resp, "X-Tailscale-Response", answer);
	}
	soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static gboolean
is_loopback(SoupServerMessage *msg)
{
	GSocketAddress *addr = soup_server_message_get_remote_address(msg);

	return G_IS_INET_SOCKET_ADDRESS(addr) &&
	       g_inet_address_get_is_loopback(
		       g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)));
}

static void
metrics_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	   gpointer user_data)
{
	App *app = user_data;
	g_autoptr(GString) out = g_string_new(NULL);
	WrStunServerStats total = {0};

	/* on the public listener only for this machine; --metrics-listen serves anyone */
	if (server == app->http && !is_loopback(msg)) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN, "metrics are served on --metrics-listen\n");
		return;
	}
	if (!method_is_get_or_head(msg)) {
		reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
		return;
	}
	wr_derp_server_format_metrics(app->relay, out);
	for (guint i = 0; i < app->stun->len; i++) {
		WrStunServerStats st;

		wr_stun_server_get_stats(g_ptr_array_index(app->stun, i), &st);
		total.requests += st.requests;
		total.malformed += st.malformed;
		total.send_errors += st.send_errors;
	}
	g_string_append_printf(out,
			       "# HELP warren_derp_stun_requests_total STUN binding requests "
			       "answered.\n# TYPE warren_derp_stun_requests_total counter\n"
			       "warren_derp_stun_requests_total %" G_GUINT64_FORMAT "\n"
			       "# HELP warren_derp_stun_malformed_total STUN datagrams dropped.\n"
			       "# TYPE warren_derp_stun_malformed_total counter\n"
			       "warren_derp_stun_malformed_total %" G_GUINT64_FORMAT "\n",
			       total.requests, total.malformed + total.send_errors);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "text/plain; version=0.0.4", SOUP_MEMORY_COPY,
					 out->str, out->len);
}

static void
root_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	gpointer user_data)
{
	if (!g_str_equal(path, "/")) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
		return;
	}
	reply_text(msg, SOUP_STATUS_OK,
		   "warren-derp " PACKAGE_VERSION "\n\nThis is a DERP relay server of a Warren "
		   "tailnet. It relays encrypted packets between devices that cannot reach each "
		   "other directly.\n");
}

static gboolean
listen_on(SoupServer *server, const char *option, const char *text, SoupServerListenOptions opts,
	  GError **error)
{
	g_autoptr(GSocketAddress) addr = parse_listen(option, text, error);
	g_autoptr(GSocket) socket = NULL;

	if (addr == NULL)
		return FALSE;
	/*
	 * Our own socket rather than soup_server_listen()'s, for the backlog: GLib's default is
	 * 10, and when a restarted relay's clients all come back at once the overflowing accept
	 * queue drops their handshakes' last ACK, which they only notice after seconds.
	 */
	socket = g_socket_new(g_socket_address_get_family(addr), G_SOCKET_TYPE_STREAM,
			      G_SOCKET_PROTOCOL_TCP, error);
	if (socket == NULL)
		goto fail;
	g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
	if (g_socket_address_get_family(addr) == G_SOCKET_FAMILY_IPV6) {
		/* [::] takes IPv4 too (the systemd unit relies on it), whatever the sysctl says */
		if (!g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 0, error))
			goto fail;
	}
	if (!g_socket_bind(socket, addr, TRUE, error) || !g_socket_listen(socket, error) ||
	    !soup_server_listen_socket(server, socket, opts, error))
		goto fail;
	return TRUE;
fail:
	g_prefix_error(error, "%s %s: ", option, text);
	return FALSE;
}

/* ---- main ------------------------------------------------------------------------------------ */

static gboolean
quit_cb(gpointer user_data)
{
	App *app = user_data;

	g_message("shutting down; telling clients to come back");
	app->stopping = TRUE;
	g_main_loop_quit(app->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
reload_cb(gpointer user_data)
{
	App *app = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) set = NULL;

	if (app->allowed == NULL)
		return G_SOURCE_CONTINUE;
	set = load_allowed_keys(arg_verify_clients, &error);
	if (set == NULL) {
		g_warning("not reloading the allowed keys: %s; keeping the %u loaded before",
			  error->message, g_hash_table_size(app->allowed));
		return G_SOURCE_CONTINUE;
	}
	g_mutex_lock(&app->verify_lock);
	g_hash_table_unref(app->allowed);
	app->allowed = g_steal_pointer(&set);
	g_mutex_unlock(&app->verify_lock);
	g_message("reloaded %u allowed keys from %s", g_hash_table_size(app->allowed),
		  arg_verify_clients);
	return G_SOURCE_CONTINUE;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	/* every client is a socket */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static gboolean
check_options(GError **error)
{
	if (arg_key_file == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "--key-file is required (the server's private key; it is "
				    "created if missing)");
		return FALSE;
	}
	if (arg_http_listen == NULL && arg_tls_listen == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "nothing to serve: give --http-listen and/or --tls-listen");
		return FALSE;
	}
	if (arg_tls_listen != NULL && (arg_cert == NULL || arg_key == NULL)) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "--tls-listen needs --cert and --key");
		return FALSE;
	}
	if ((arg_cert != NULL || arg_key != NULL) && arg_tls_listen == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "--cert and --key are for --tls-listen, which is missing");
		return FALSE;
	}
	if (arg_mesh_with != NULL && arg_mesh_key_file == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "--mesh-with needs --mesh-key-file");
		return FALSE;
	}
	if (arg_rate_limit < 0 || arg_rate_burst < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--rate-limit and --rate-burst are bytes per second and bytes, "
				    "not negative");
		return FALSE;
	}
	if (arg_idle_timeout < 0) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--idle-timeout %d: seconds, 0 for none", arg_idle_timeout);
		return FALSE;
	}
	if (arg_workers < 0 || arg_workers > WR_DERP_SERVER_MAX_WORKERS) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--workers %d: 0 (one per CPU) to %d", arg_workers,
			    WR_DERP_SERVER_MAX_WORKERS);
		return FALSE;
	}
	return TRUE;
}

static gboolean
app_start(App *app, GError **error)
{
	WrDerpServerConfig config = {
		.n_workers = (guint) arg_workers,
		.rate_bytes_per_s = (guint64) arg_rate_limit,
		.rate_burst_bytes = (guint64) arg_rate_burst,
		.idle_timeout_us = (gint64) arg_idle_timeout * G_USEC_PER_SEC,
		.verify_fail_open = !arg_verify_fail_closed,
	};
	gboolean created = FALSE;
	char hex[WR_KEY_HEX_LEN + 1];

	app->private_key = wr_secure_alloc(32);
	if (!wr_keyfile_load_or_create_private(arg_key_file, app->private_key, &created, error)) {
		g_prefix_error(error, "--key-file: ");
		return FALSE;
	}
	(void) wr_x25519_public(app->public_key, app->private_key);
	wr_key_to_hex(hex, app->public_key);
	g_message("%s server key %s (public: %s)", created ? "created" : "loaded", arg_key_file,
		  hex);
	if (arg_mesh_key_file != NULL) {
		app->mesh_key = wr_secure_alloc(32);
		if (!wr_keyfile_load_hex(arg_mesh_key_file, app->mesh_key, error)) {
			g_prefix_error(error, "--mesh-key-file: ");
			return FALSE;
		}
		config.mesh_key = app->mesh_key;
	}
	if (arg_verify_clients != NULL) {
		if (g_str_has_prefix(arg_verify_clients, "http://") ||
		    g_str_has_prefix(arg_verify_clients, "https://")) {
			g_autoptr(GUri) uri =
				g_uri_parse(arg_verify_clients, G_URI_FLAGS_NONE, error);

			if (uri == NULL) {
				g_prefix_error(error, "--verify-clients: ");
				return FALSE;
			}
			app->verify_session = soup_session_new_with_options(
				"timeout", VERIFY_TIMEOUT_SECONDS, "user-agent",
				"warren-derp/" PACKAGE_VERSION, NULL);
		} else {
			app->allowed = load_allowed_keys(arg_verify_clients, error);
			if (app->allowed == NULL)
				return FALSE;
			g_message("admitting the %u keys listed in %s",
				  g_hash_table_size(app->allowed), arg_verify_clients);
		}
	}

	app->relay = wr_derp_server_new(app->private_key, &config, error);
	if (app->relay == NULL)
		return FALSE;
	if (arg_verify_clients != NULL)
		wr_derp_server_set_verify_func(app->relay, verify_cb, app);

	app->http = soup_server_new("server-header", "warren-derp/" PACKAGE_VERSION " ", NULL);
	soup_server_add_handler(app->http, "/derp", derp_cb, app, NULL);
	soup_server_add_handler(app->http, "/generate_204", generate_204_cb, app, NULL);
	soup_server_add_handler(app->http, "/metrics", metrics_cb, app, NULL);
	soup_server_add_handler(app->http, "/", root_cb, app, NULL);
	if (arg_tls_listen != NULL) {
		g_autoptr(GTlsCertificate) cert =
			g_tls_certificate_new_from_files(arg_cert, arg_key, error);

		if (cert == NULL) {
			g_prefix_error(error, "--cert %s --key %s: ", arg_cert, arg_key);
			return FALSE;
		}
		soup_server_set_tls_certificate(app->http, cert);
		if (!listen_on(app->http, "--tls-listen", arg_tls_listen, SOUP_SERVER_LISTEN_HTTPS,
			       error))
			return FALSE;
		g_message("serving DERP over HTTPS on %s", arg_tls_listen);
	}
	if (arg_http_listen != NULL) {
		if (!listen_on(app->http, "--http-listen", arg_http_listen, 0, error))
			return FALSE;
		g_message("serving DERP over HTTP on %s", arg_http_listen);
	}
	if (arg_metrics_listen != NULL) {
		app->metrics_http = soup_server_new("server-header", "warren-derp ", NULL);
		soup_server_add_handler(app->metrics_http, "/metrics", metrics_cb, app, NULL);
		if (!listen_on(app->metrics_http, "--metrics-listen", arg_metrics_listen, 0, error))
			return FALSE;
	}
	for (guint i = 0; arg_stun_listen != NULL && arg_stun_listen[i] != NULL; i++) {
		WrStunServer *stun = wr_stun_server_new(arg_stun_listen[i], error);

		if (stun == NULL) {
			g_prefix_error(error, "--stun-listen: ");
			return FALSE;
		}
		g_ptr_array_add(app->stun, stun);
		g_message("serving STUN on %s", arg_stun_listen[i]);
	}
	for (guint i = 0; arg_mesh_with != NULL && arg_mesh_with[i] != NULL; i++) {
		g_auto(GStrv) urls = g_strsplit(arg_mesh_with[i], ",", -1);

		for (guint j = 0; urls[j] != NULL; j++) {
			MeshPeer *peer;

			if (urls[j][0] == '\0')
				continue;
			if (!g_str_has_prefix(urls[j], "http://") &&
			    !g_str_has_prefix(urls[j], "https://")) {
				g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
					    "--mesh-with: \"%s\" is not an http:// or https:// URL",
					    urls[j]);
				return FALSE;
			}
			peer = g_new0(MeshPeer, 1);
			peer->app = app;
			peer->url = g_str_has_suffix(urls[j], "/derp")
					    ? g_strdup(urls[j])
					    : g_strconcat(urls[j],
							  g_str_has_suffix(urls[j], "/") ? "derp"
											 : "/derp",
							  NULL);
			g_ptr_array_add(app->mesh, peer);
			mesh_dial(peer);
		}
	}
	return TRUE;
}

static void
app_stop(App *app)
{
	app->stopping = TRUE;
	g_clear_pointer(&app->mesh, g_ptr_array_unref);
	if (app->http != NULL)
		soup_server_disconnect(app->http);
	if (app->metrics_http != NULL)
		soup_server_disconnect(app->metrics_http);
	if (app->relay != NULL)
		wr_derp_server_shutdown(app->relay, RESTART_RECONNECT_IN_MS, RESTART_TRY_FOR_MS,
					SHUTDOWN_FLUSH_MS);
	g_clear_pointer(&app->stun, g_ptr_array_unref);
	g_clear_pointer(&app->relay, wr_derp_server_free);
	g_clear_object(&app->http);
	g_clear_object(&app->metrics_http);
	g_clear_object(&app->verify_session);
	g_clear_pointer(&app->allowed, g_hash_table_unref);
	wr_secure_free(app->private_key);
	wr_secure_free(app->mesh_key);
	g_clear_pointer(&app->loop, g_main_loop_unref);
	g_mutex_clear(&app->verify_lock);
}

int
main(int argc, char *argv[])
{
	const GOptionEntry entries[] = {
		{"http-listen", 0, 0, G_OPTION_ARG_STRING, &arg_http_listen,
		 "Serve DERP over plain HTTP (and /generate_204) on ADDR:PORT", "ADDR:PORT"},
		{"tls-listen", 0, 0, G_OPTION_ARG_STRING, &arg_tls_listen,
		 "Serve DERP over HTTPS on ADDR:PORT", "ADDR:PORT"},
		{"cert", 0, 0, G_OPTION_ARG_FILENAME, &arg_cert,
		 "TLS certificate chain (PEM) for --tls-listen", "FILE"},
		{"key", 0, 0, G_OPTION_ARG_FILENAME, &arg_key,
		 "TLS private key (PEM) for --tls-listen", "FILE"},
		{"stun-listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &arg_stun_listen,
		 "Answer STUN binding requests on ADDR:PORT (repeatable)", "ADDR:PORT"},
		{"key-file", 0, 0, G_OPTION_ARG_FILENAME, &arg_key_file,
		 "The server's private key (created 0600 if missing)", "PATH"},
		{"mesh-with", 0, 0, G_OPTION_ARG_STRING_ARRAY, &arg_mesh_with,
		 "Other servers of this region (comma-separated URLs, repeatable)", "URL,..."},
		{"mesh-key-file", 0, 0, G_OPTION_ARG_FILENAME, &arg_mesh_key_file,
		 "The region's shared mesh key (64 hex digits, mode 0600)", "FILE"},
		{"mesh-insecure", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &arg_mesh_insecure,
		 "Do not verify the mesh peers' certificates (tests only)", NULL},
		{"verify-clients", 0, 0, G_OPTION_ARG_STRING, &arg_verify_clients,
		 "Admit only clients the control server at URL allows, or whose node keys FILE "
		 "lists (reloaded on SIGHUP)",
		 "URL|FILE"},
		{"verify-clients-fail-closed", 0, 0, G_OPTION_ARG_NONE, &arg_verify_fail_closed,
		 "Refuse clients while the verifier URL cannot be reached (default: admit)", NULL},
		{"rate-limit", 0, 0, G_OPTION_ARG_INT64, &arg_rate_limit,
		 "Per-client receive limit in bytes per second (0: none)", "BYTES"},
		{"rate-burst", 0, 0, G_OPTION_ARG_INT64, &arg_rate_burst,
		 "Per-client burst in bytes (at least 65568)", "BYTES"},
		{"idle-timeout", 0, 0, G_OPTION_ARG_INT, &arg_idle_timeout,
		 "Close a client silent for this long; pinged first (default 300, 0: never)",
		 "SECONDS"},
		{"workers", 0, 0, G_OPTION_ARG_INT, &arg_workers,
		 "Relay threads (default: one per CPU)", "N"},
		{"metrics-listen", 0, 0, G_OPTION_ARG_STRING, &arg_metrics_listen,
		 "Serve /metrics to anyone on ADDR:PORT (the main listeners serve it to loopback "
		 "only)",
		 "ADDR:PORT"},
		{"version", 0, 0, G_OPTION_ARG_NONE, &arg_version, "Print the version and exit",
		 NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context =
		g_option_context_new("- Warren's DERP relay and STUN server");
	g_autoptr(GError) error = NULL;
	App app = {0};

	setlocale(LC_ALL, "");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("warren-derp: %s\n", error->message);
		return 2;
	}
	if (arg_version) {
		g_print("warren-derp %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		g_printerr("warren-derp: unexpected argument \"%s\"\n", argv[1]);
		return 2;
	}
	if (!check_options(&error)) {
		g_printerr("warren-derp: %s\n", error->message);
		return 2;
	}
	if (!wr_crypto_init()) {
		g_printerr("warren-derp: libsodium cannot start\n");
		return 1;
	}
	raise_fd_limit();
	g_mutex_init(&app.verify_lock);
	app.loop = g_main_loop_new(NULL, FALSE);
	app.stun = g_ptr_array_new_with_free_func((GDestroyNotify) wr_stun_server_free);
	app.mesh = g_ptr_array_new_with_free_func((GDestroyNotify) mesh_peer_free);
	if (!app_start(&app, &error)) {
		g_printerr("warren-derp: %s\n", error->message);
		app_stop(&app);
		return 1;
	}
	g_unix_signal_add(SIGTERM, quit_cb, &app);
	g_unix_signal_add(SIGINT, quit_cb, &app);
	g_unix_signal_add(SIGHUP, reload_cb, &app);
	(void) sd_notify(0, "READY=1\nSTATUS=relaying");
	g_message("ready");
	g_main_loop_run(app.loop);
	(void) sd_notify(0, "STOPPING=1");
	app_stop(&app);
	return 0;
}
