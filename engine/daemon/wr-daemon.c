/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's control plane: the D-Bus object joined to the state directory and the control
 * client.  See wr-daemon.h for the contract and docs/warrend.md for what is still missing.
 */
#define G_LOG_DOMAIN "warrend"

#include "config.h"

#include <string.h>

#include <polkit/polkit.h>

#include "wr-control-conn.h"
#include "wr-crypto.h"
#include "wr-daemon-flows.h"
#include "wr-daemon.h"
#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"
#include "wr-engine.h"
#include "wr-key.h"
#include "wr-keyrot.h"

#define OBJECT_PATH  "/io/github/warrenvpn/Engine1"
#define AUTH_KEY_MAX 1024

#define ACTION_CONNECT		   "io.github.warrenvpn.connect"
#define ACTION_DISCONNECT	   "io.github.warrenvpn.disconnect"
#define ACTION_EXIT_NODE	   "io.github.warrenvpn.exit-node"
#define ACTION_SET_CONTROL_SERVER  "io.github.warrenvpn.set-control-server"
#define ACTION_ADVERTISE_ROUTES	   "io.github.warrenvpn.advertise-routes"
#define ACTION_ADVERTISE_EXIT_NODE "io.github.warrenvpn.advertise-exit-node"

#define NOT_IMPLEMENTED "not implemented yet in this build"

struct _WrDaemon {
	WrState *state;
	WrDaemonOptions options; /* strings owned */
	WrEngine *engine;	 /* the data plane: NULL while not running (or none wanted) */
	WrDaemonFlows *flows;	 /* the flow log: NULL when off or it cannot be opened */
	char *engine_problem;
	GDBusConnection *bus;
	WrDbusEngine1 *skeleton;
	gboolean use_polkit;
	PolkitAuthority *authority; /* NULL without polkit, or when it cannot be reached */
	GCancellable *cancel;	    /* every operation of this daemon; cancelled at free */
	WrControlConn *conn;	    /* NULL while not signed in or no control server is set */
	uint8_t disco_public[WR_CRYPTO_KEY_LEN];
	gboolean login_busy;
	gboolean key_unregistered; /* the node key was made for the sign-in under way */
	gboolean needs_machine_auth;
	char *auth_url;
	GCancellable *login_cancel; /* the sign-in under way */
	char *login_problem;	    /* Health: why the last sign-in failed, until the next */
	GPtrArray *problems;	    /* the daemon's own Health sentences */

	/* node-key rotation and expiry (docs/key-rotation.md); times in Unix seconds */
	gint64 rotation_interval; /* 0: never */
	gint64 key_expiry;	  /* of the current node key, control's clock; 0: never/unknown */
	gint64 clock_offset;	  /* control's clock minus ours */
	gint64 last_control_time;
	gboolean key_expired;	/* by control's clock: the data plane stays down */
	gboolean rotating;	/* a rotation request is under way */
	guint rotate_failures;	/* in a row */
	gint64 rotate_retry_at; /* our clock; 0: no failure to wait out */
	char *rotate_problem;	/* Health, once failures persist */
	char *expiry_warning;	/* Health: the key expires soon, or did */
	guint keyrot_timer;
};

static void
keyrot_check(WrDaemon *self);

/* ---- small helpers ---- */

static gboolean
signed_in(WrDaemon *self)
{
	return wr_state_get_node_key_origin(self->state) != WR_STATE_KEY_NONE &&
	       !self->key_unregistered;
}

static const char *
compute_state(WrDaemon *self)
{
	const WrPrefs *prefs = wr_state_get_prefs(self->state);

	if (!signed_in(self) || self->key_expired ||
	    (self->conn != NULL &&
	     wr_control_conn_get_state(self->conn) == WR_CONTROL_STATE_NEEDS_AUTH))
		return "NeedsLogin";
	if (self->needs_machine_auth)
		return "NeedsMachineAuth";
	if (!prefs->want_running)
		return "Stopped";
	/* running: a network map held (received, or restored from the last run) and the data
	 * plane up (when there is one) */
	if (self->conn != NULL && wr_netmap_has_state(wr_control_conn_get_netmap(self->conn)) &&
	    (self->engine != NULL || !self->options.data_plane))
		return "Running";
	return "Starting";
}

static void
add_problem(WrDaemon *self, const char *problem)
{
	for (guint i = 0; i < self->problems->len; i++)
		if (g_strcmp0(self->problems->pdata[i], problem) == 0)
			return;
	g_warning("%s", problem);
	g_ptr_array_add(self->problems, g_strdup(problem));
}

/* "100.64.0.2" for a full-length prefix, the CIDR otherwise */
static char *
format_address(const WrCidr *cidr)
{
	char text[WR_CIDR_STRLEN];
	guint full = cidr->family == AF_INET ? 32 : 128;

	wr_cidr_format(cidr, text);
	if (cidr->cidr == full) {
		char *slash = strchr(text, '/');

		if (slash != NULL)
			*slash = '\0';
	}
	return g_strdup(text);
}

static char *
dns_name_dotted(const char *name)
{
	if (name == NULL || *name == '\0')
		return g_strdup("");
	return g_str_has_suffix(name, ".") ? g_strdup(name) : g_strconcat(name, ".", NULL);
}

/* ---- exit node ---- */

/* the prefs' exit node (a peer id, "" for none) and allow-LAN, handed to the engine */
static void
sync_exit_node(WrDaemon *self)
{
	const WrPrefs *prefs = wr_state_get_prefs(self->state);
	gint64 id = 0;

	if (self->engine == NULL)
		return;
	if (*prefs->exit_node != '\0' &&
	    !g_ascii_string_to_signed(prefs->exit_node, 10, 1, G_MAXINT64, &id, NULL)) {
		/* not an id this version writes: nothing is chosen rather than a guess */
		g_warning("the saved exit node '%s' is not a peer id; none is used",
			  prefs->exit_node);
		id = 0;
	}
	wr_engine_set_exit_node(self->engine, id, prefs->exit_node_allow_lan);
}

/* the peer that arg names: its id, name, DNS name (with or without the final dot) or one of
 * its tailnet addresses; NULL when none does */
static const WrNetmapNode *
find_peer_node(const WrNetmap *nm, const char *arg)
{
	g_autoptr(GPtrArray) nodes = wr_netmap_get_peers(nm);
	WrCidr addr;
	gboolean is_addr = strchr(arg, '/') == NULL && wr_cidr_parse(&addr, arg);
	gint64 id;

	if (g_ascii_string_to_signed(arg, 10, 1, G_MAXINT64, &id, NULL) &&
	    wr_netmap_lookup_peer(nm, id) != NULL)
		return wr_netmap_lookup_peer(nm, id);
	for (guint i = 0; i < nodes->len; i++) {
		const WrNetmapNode *node = nodes->pdata[i];
		gsize dlen = strlen(node->dns_name);

		if (g_ascii_strcasecmp(node->name, arg) == 0 ||
		    g_ascii_strcasecmp(node->dns_name, arg) == 0 ||
		    (dlen > 1 && node->dns_name[dlen - 1] == '.' && strlen(arg) == dlen - 1 &&
		     g_ascii_strncasecmp(node->dns_name, arg, dlen - 1) == 0))
			return node;
		for (guint a = 0; is_addr && node->addresses != NULL && a < node->addresses->len;
		     a++) {
			const WrCidr *c = &g_array_index(node->addresses, WrCidr, a);

			if (c->family == addr.family && memcmp(c->addr, addr.addr, 16) == 0)
				return node;
		}
	}
	return NULL;
}

/* the peer dictionary of the XML; with self_keys, Self's (keys instead of path and traffic) */
static GVariant *
node_to_variant(WrDaemon *self, const WrNetmap *nm, const WrNetmapNode *node, gboolean is_self)
{
	GVariantBuilder b;
	GVariantBuilder addrs;
	const WrNetmapUser *user = wr_netmap_lookup_user(nm, node->user_id);
	const WrNetmapNode *me = wr_netmap_get_self(nm);
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, node->id);
	g_autofree char *dns = dns_name_dotted(node->dns_name);

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_init(&addrs, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; node->addresses != NULL && i < node->addresses->len; i++) {
		g_autofree char *a = format_address(&g_array_index(node->addresses, WrCidr, i));

		g_variant_builder_add(&addrs, "s", a);
	}
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_string(id));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(node->name));
	g_variant_builder_add(&b, "{sv}", "dns-name", g_variant_new_string(dns));
	g_variant_builder_add(&b, "{sv}", "addresses", g_variant_builder_end(&addrs));
	g_variant_builder_add(&b, "{sv}", "user",
			      g_variant_new_string(user != NULL ? user->login_name : ""));
	g_variant_builder_add(&b, "{sv}", "os", g_variant_new_string(node->os));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_boolean(node->online));
	g_variant_builder_add(&b, "{sv}", "derp-region",
			      g_variant_new_uint32((guint32) MAX(node->derp_region, 0)));
	if (node->key_expiry != 0 || is_self)
		g_variant_builder_add(&b, "{sv}", "key-expiry",
				      g_variant_new_int64(node->key_expiry));
	if (is_self) {
		g_autofree char *nk = wr_key_to_text(WR_KEY_KIND_NODE, node->node_key);
		uint8_t mpub[WR_CRYPTO_KEY_LEN];
		g_autofree char *mk = NULL;

		g_variant_builder_add(&b, "{sv}", "node-key", g_variant_new_string(nk));
		if (wr_x25519_public(mpub, wr_state_get_machine_key(self->state))) {
			mk = wr_key_to_text(WR_KEY_KIND_MACHINE, mpub);
			g_variant_builder_add(&b, "{sv}", "machine-key", g_variant_new_string(mk));
		}
		/* the tray shows when flow records leave this machine (docs/flow-logs.md) */
		g_variant_builder_add(&b, "{sv}", "collect-flows",
				      g_variant_new_boolean(wr_netmap_get_collect_flows(nm)));
		return g_variant_builder_end(&b);
	}
	g_variant_builder_add(&b, "{sv}", "last-seen", g_variant_new_int64(node->last_seen));
	g_variant_builder_add(&b, "{sv}", "exit-node-option",
			      g_variant_new_boolean(node->exit_node_option));
	{
		WrEnginePeerInfo info;
		char ep[WR_ENDPOINT_STRLEN] = "";

		/* without a data plane (stopped) nothing flows: "idle", no endpoint, zeros */
		if (self->engine == NULL || !wr_engine_get_peer_info(self->engine, node->id, &info))
			memset(&info, 0, sizeof(info));
		if (info.path == WR_PATH_DIRECT)
			wr_endpoint_format(&info.endpoint, ep);
		g_variant_builder_add(&b, "{sv}", "path",
				      g_variant_new_string(wr_path_state_to_string(info.path)));
		g_variant_builder_add(&b, "{sv}", "endpoint", g_variant_new_string(ep));
		g_variant_builder_add(&b, "{sv}", "rx-bytes", g_variant_new_uint64(info.rx_bytes));
		g_variant_builder_add(&b, "{sv}", "tx-bytes", g_variant_new_uint64(info.tx_bytes));
		g_variant_builder_add(&b, "{sv}", "last-handshake",
				      g_variant_new_int64(info.last_handshake * G_USEC_PER_SEC));
	}
	if (me != NULL)
		g_variant_builder_add(
			&b, "{sv}", "is-self-user",
			g_variant_new_boolean(me->user_id != 0 && me->user_id == node->user_id));
	return g_variant_builder_end(&b);
}

static void
update_all(WrDaemon *self)
{
	const WrPrefs *prefs = wr_state_get_prefs(self->state);
	g_autoptr(GPtrArray) health = g_ptr_array_new_with_free_func(g_free);
	const char *const *problems = wr_state_get_problems(self->state);
	WrNetmap *nm = self->conn != NULL ? wr_control_conn_get_netmap(self->conn) : NULL;
	const WrNetmapNode *me = nm != NULL ? wr_netmap_get_self(nm) : NULL;
	GVariant *self_dict;

	for (guint i = 0; problems[i] != NULL; i++)
		g_ptr_array_add(health, g_strdup(problems[i]));
	for (guint i = 0; i < self->problems->len; i++)
		g_ptr_array_add(health, g_strdup(self->problems->pdata[i]));
	if (self->engine_problem != NULL)
		g_ptr_array_add(health, g_strdup(self->engine_problem));
	if (self->expiry_warning != NULL)
		g_ptr_array_add(health, g_strdup(self->expiry_warning));
	if (self->rotate_problem != NULL)
		g_ptr_array_add(health, g_strdup(self->rotate_problem));
	if (self->login_problem != NULL)
		g_ptr_array_add(health, g_strdup(self->login_problem));
	if (self->flows != NULL && wr_daemon_flows_get_problem(self->flows) != NULL)
		g_ptr_array_add(health, g_strdup(wr_daemon_flows_get_problem(self->flows)));
	if (self->engine != NULL) {
		const char *const *eh = wr_engine_get_health(self->engine);

		for (guint i = 0; eh[i] != NULL; i++)
			g_ptr_array_add(health, g_strdup(eh[i]));
	}
	if (self->conn != NULL) {
		char *h = wr_control_conn_dup_health(self->conn);

		if (h != NULL)
			g_ptr_array_add(health, h);
	}
	g_ptr_array_add(health, NULL);

	if (me != NULL)
		self_dict = node_to_variant(self, nm, me, TRUE);
	else
		self_dict = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);

	wr_dbus_engine1_set_state(self->skeleton, compute_state(self));
	wr_dbus_engine1_set_auth_url(self->skeleton, self->auth_url != NULL ? self->auth_url : "");
	wr_dbus_engine1_set_control_url(self->skeleton, prefs->control_url);
	wr_dbus_engine1_set_self(self->skeleton, self_dict);
	wr_dbus_engine1_set_exit_node(self->skeleton, prefs->exit_node);
	wr_dbus_engine1_set_exit_node_allow_lan(self->skeleton, prefs->exit_node_allow_lan);
	wr_dbus_engine1_set_health(self->skeleton, (const char *const *) health->pdata);
}

static void
return_error(GDBusMethodInvocation *inv, WrDbusError code, const char *format, ...)
	G_GNUC_PRINTF(3, 4);

static void
return_error(GDBusMethodInvocation *inv, WrDbusError code, const char *format, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_dbus_method_invocation_return_error_literal(inv, WR_DBUS_ERROR, code, msg);
}

/* the D-Bus error the XML names for a control client's error */
static WrDbusError
control_error_code(const GError *error)
{
	if (g_error_matches(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_REFUSED) ||
	    error->domain == WR_CONTROL_CONN_HTTP_ERROR)
		return WR_DBUS_ERROR_CONTROL_ERROR;
	if (g_error_matches(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_BUSY))
		return WR_DBUS_ERROR_BUSY;
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		return WR_DBUS_ERROR_TIMEOUT;
	return WR_DBUS_ERROR_FAILED;
}

static void
return_control_error(GDBusMethodInvocation *inv, const GError *error)
{
	return_error(inv, control_error_code(error), "%s", error->message);
}

/* ---- the control client ---- */

static JsonObject *
make_hostinfo(const WrPrefs *prefs)
{
	JsonObject *o = json_object_new();
	JsonArray *routes = json_array_new();

	json_object_set_string_member(
		o, "hostname", *prefs->hostname != '\0' ? prefs->hostname : g_get_host_name());
	json_object_set_string_member(o, "os", "linux");
	json_object_set_string_member(o, "os_version", "");
	json_object_set_string_member(o, "app_version", PACKAGE_VERSION);
	for (guint i = 0; prefs->advertise_routes[i] != NULL; i++)
		json_array_add_string_element(routes, prefs->advertise_routes[i]);
	if (prefs->advertise_exit_node) {
		json_array_add_string_element(routes, "0.0.0.0/0");
		json_array_add_string_element(routes, "::/0");
	}
	json_object_set_array_member(o, "routable_ips", routes);
	json_object_set_array_member(o, "request_tags", json_array_new());
	return o;
}

static void
emit_peer_event(WrDaemon *self, const char *kind, const WrNetmap *nm, const WrNetmapNode *node)
{
	if (node == NULL)
		return;
	wr_dbus_engine1_emit_peer_event(self->skeleton, kind,
					node_to_variant(self, nm, node, FALSE));
}

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* the key expiry and control's clock from a map that came from control (a map restored from
 * disk has an old control_time and maybe an old key's expiry) */
static void
keyrot_netmap(WrDaemon *self, WrNetmap *nm)
{
	const WrNetmapNode *me = wr_netmap_get_self(nm);
	const uint8_t *key = wr_state_get_node_key(self->state);
	uint8_t pub[WR_CRYPTO_KEY_LEN];
	gint64 ct = wr_netmap_get_control_time(nm);

	if (wr_control_conn_get_state(self->conn) != WR_CONTROL_STATE_CONNECTED)
		return;
	if (ct != 0 && ct != self->last_control_time) {
		self->last_control_time = ct;
		self->clock_offset = ct - now_s();
	}
	if (me != NULL && key != NULL && wr_x25519_public(pub, key) &&
	    wr_memeq(pub, me->node_key, WR_CRYPTO_KEY_LEN) && me->key_expiry != self->key_expiry) {
		self->key_expiry = me->key_expiry;
		g_message("node key expiry: %" G_GINT64_FORMAT, self->key_expiry);
	}
	keyrot_check(self);
}

static gboolean
id_in(const GArray *ids, gint64 id)
{
	for (guint i = 0; i < ids->len; i++)
		if (g_array_index(ids, gint64, i) == id)
			return TRUE;
	return FALSE;
}

static void
netmap_changed_cb(WrControlConn *conn, const WrNetmapChanges *changes, gpointer user_data)
{
	WrDaemon *self = user_data;
	WrNetmap *nm = wr_control_conn_get_netmap(conn);
	g_autoptr(GBytes) json = wr_netmap_to_json(nm);
	g_autoptr(GError) error = NULL;

	/* saved for a fast cold start: the next start has peers before control answers */
	if (json != NULL && !wr_state_set_netmap(self->state, json, &error)) {
		g_autofree char *p =
			g_strdup_printf("cannot save the network map: %s", error->message);

		add_problem(self, p);
	}
	for (guint i = 0; i < changes->added->len; i++)
		emit_peer_event(
			self, "added", nm,
			wr_netmap_lookup_peer(nm, g_array_index(changes->added, gint64, i)));
	for (guint i = 0; i < changes->removed->len; i++)
		emit_peer_event(self, "removed", nm, changes->removed->pdata[i]);
	for (guint i = 0; i < changes->online->len; i++)
		emit_peer_event(
			self, "online", nm,
			wr_netmap_lookup_peer(nm, g_array_index(changes->online, gint64, i)));
	for (guint i = 0; i < changes->offline->len; i++)
		emit_peer_event(
			self, "offline", nm,
			wr_netmap_lookup_peer(nm, g_array_index(changes->offline, gint64, i)));
	/* anything else about a peer (its name, addresses, exit node offer, endpoints): the
	 * clients keep a copy of every peer dictionary and never poll */
	for (guint i = 0; i < changes->changed->len; i++) {
		gint64 id = g_array_index(changes->changed, gint64, i);

		if (!id_in(changes->online, id) && !id_in(changes->offline, id))
			emit_peer_event(self, "changed", nm, wr_netmap_lookup_peer(nm, id));
	}
	sync_exit_node(self);
	if (self->engine != NULL)
		wr_engine_set_netmap(self->engine, nm,
				     wr_state_get_prefs(self->state)->accept_routes);
	keyrot_netmap(self, nm);
	update_all(self);
}

/* ---- the data plane ---- */

static void
engine_path_changed_cb(WrEngine *engine, gint64 peer_id, gpointer user_data)
{
	WrDaemon *self = user_data;
	WrNetmap *nm = self->conn != NULL ? wr_control_conn_get_netmap(self->conn) : NULL;

	if (nm != NULL)
		emit_peer_event(self, "path", nm, wr_netmap_lookup_peer(nm, peer_id));
}

static void
engine_endpoints_changed_cb(WrEngine *engine, gpointer user_data)
{
	WrDaemon *self = user_data;
	g_auto(GStrv) addrs = NULL;
	g_auto(GStrv) types = NULL;

	if (self->conn == NULL)
		return;
	wr_engine_dup_endpoints(engine, &addrs, &types);
	wr_control_conn_set_home_region(self->conn,
					(guint) MIN(wr_engine_get_home_region(engine), 65535));
	wr_control_conn_set_endpoints(self->conn, (const char *const *) addrs,
				      (const char *const *) types);
}

static void
engine_health_changed_cb(WrEngine *engine, gpointer user_data)
{
	WrDaemon *self = user_data;

	if (self->engine == engine)
		update_all(self);
}

static void
set_engine_problem(WrDaemon *self, char *problem)
{
	g_free(self->engine_problem);
	self->engine_problem = problem;
}

static void
engine_flows_ended_cb(WrEngine *engine, const WrFlowRecord *records, guint n, gpointer user_data)
{
	WrDaemon *self = user_data;

	WrControlConn *conn = self->conn;

	/* also called from wr_engine_free: only the flow log and the client are used here */
	if (conn != NULL && !wr_netmap_get_collect_flows(wr_control_conn_get_netmap(conn)))
		conn = NULL;
	if (self->flows != NULL)
		wr_daemon_flows_add(self->flows, records, n, conn);
}

/* starts the data plane when the tunnel is wanted and there is a client to feed it */
static void
start_engine(WrDaemon *self)
{
	WrEngineCallbacks cb = {
		.path_changed = engine_path_changed_cb,
		.endpoints_changed = engine_endpoints_changed_cb,
		.health_changed = engine_health_changed_cb,
		.flows_ended = self->flows != NULL ? engine_flows_ended_cb : NULL,
	};
	WrEngineOptions opts = {
		.tun_name = self->options.tun_name,
		.port = self->options.port,
		.resolv_conf = self->options.resolv_conf,
	};
	g_autoptr(GError) error = NULL;

	if (self->engine != NULL || !self->options.data_plane || self->conn == NULL)
		return;
	self->engine = wr_engine_new(&opts, wr_state_get_node_key(self->state),
				     wr_state_get_disco_key(self->state), &cb, self, &error);
	if (self->engine == NULL) {
		set_engine_problem(self,
				   g_strdup_printf("the tunnel cannot start: %s", error->message));
		g_warning("%s", self->engine_problem);
		return;
	}
	set_engine_problem(self, NULL);
	/* a rotation is out: its key answers (docs/key-rotation.md, "Order") */
	if (self->rotating && wr_state_get_next_node_key(self->state) != NULL &&
	    !wr_engine_set_node_key(self->engine, wr_state_get_next_node_key(self->state), &error))
		g_warning("%s", error->message);
	engine_endpoints_changed_cb(self->engine, self);
	sync_exit_node(self);
	wr_engine_set_netmap(self->engine, wr_control_conn_get_netmap(self->conn),
			     wr_state_get_prefs(self->state)->accept_routes);
}

static void
stop_engine(WrDaemon *self)
{
	if (self->engine == NULL)
		return;
	g_message("data plane down");
	g_clear_pointer(&self->engine, wr_engine_free);
}

static void
conn_state_cb(GObject *conn, GParamSpec *pspec, gpointer user_data)
{
	WrDaemon *self = user_data;

	g_message("control: %s", wr_control_state_to_string(wr_control_conn_get_state(self->conn)));
	/* control refuses this node key (expired, or the node deleted): nothing is sent with it
	 * until a sign-in, so that no packet goes where the tailnet no longer expects it */
	if (wr_control_conn_get_state(self->conn) == WR_CONTROL_STATE_NEEDS_AUTH)
		stop_engine(self);
	/* control answers again: a rotation that failed meanwhile need not wait out its backoff */
	if (wr_control_conn_get_state(self->conn) == WR_CONTROL_STATE_CONNECTED)
		self->rotate_retry_at = 0;
	keyrot_check(self);
	update_all(self);
}

static void
drop_conn(WrDaemon *self)
{
	stop_engine(self);
	if (self->conn == NULL)
		return;
	g_signal_handlers_disconnect_by_data(self->conn, self);
	wr_control_conn_stop(self->conn);
	g_clear_object(&self->conn);
}

/* a control client for the control URL and the keys, the saved map restored into it */
static gboolean
ensure_conn(WrDaemon *self, GError **error)
{
	const WrPrefs *prefs = wr_state_get_prefs(self->state);
	g_autoptr(JsonObject) hostinfo = NULL;
	GBytes *saved;

	if (self->conn != NULL)
		return TRUE;
	if (*prefs->control_url == '\0') {
		g_set_error_literal(error, WR_DBUS_ERROR, WR_DBUS_ERROR_FAILED,
				    "no control server is set: call SetControlURL first");
		return FALSE;
	}
	if (wr_state_get_node_key_origin(self->state) == WR_STATE_KEY_NONE) {
		g_set_error_literal(error, WR_DBUS_ERROR, WR_DBUS_ERROR_NEEDS_LOGIN,
				    "not signed in");
		return FALSE;
	}
	self->conn =
		wr_control_conn_new(prefs->control_url, wr_state_get_machine_key(self->state),
				    wr_state_get_node_key(self->state), self->disco_public, error);
	if (self->conn == NULL)
		return FALSE;
	if (self->options.ca_file != NULL &&
	    !wr_control_conn_set_ca_file(self->conn, self->options.ca_file, error)) {
		g_clear_object(&self->conn);
		return FALSE;
	}
	hostinfo = make_hostinfo(prefs);
	wr_control_conn_set_hostinfo(self->conn, hostinfo);
	saved = wr_state_get_netmap(self->state);
	if (saved != NULL) {
		g_autoptr(GError) local = NULL;

		if (wr_control_conn_restore_netmap(self->conn, saved, &local))
			g_message("network map of the last run restored");
		else
			g_warning("the saved network map was not restored: %s", local->message);
	}
	g_signal_connect(self->conn, "netmap-changed", G_CALLBACK(netmap_changed_cb), self);
	g_signal_connect(self->conn, "notify::state", G_CALLBACK(conn_state_cb), self);
	return TRUE;
}

static void
start_if_wanted(WrDaemon *self)
{
	if (self->conn != NULL && wr_state_get_prefs(self->state)->want_running &&
	    !self->needs_machine_auth && !self->login_busy) {
		wr_control_conn_start(self->conn);
		start_engine(self);
	}
}

static gboolean
save_prefs(WrDaemon *self, const WrPrefs *prefs, GDBusMethodInvocation *inv)
{
	g_autoptr(GError) error = NULL;

	if (wr_state_set_prefs(self->state, prefs, &error))
		return TRUE;
	g_warning("cannot save the preferences: %s", error->message);
	if (inv != NULL)
		return_error(inv, WR_DBUS_ERROR_FAILED, "cannot save the preferences: %s",
			     error->message);
	return FALSE;
}

/* forgets the sign-in here (node key, map, client); the control server is told elsewhere */
static void
sign_out_locally(WrDaemon *self)
{
	g_autoptr(GError) error = NULL;

	if (self->login_cancel != NULL)
		g_cancellable_cancel(self->login_cancel);
	g_clear_object(&self->login_cancel);
	self->login_busy = FALSE;
	self->key_unregistered = FALSE;
	drop_conn(self);
	if (!wr_state_clear_node_key(self->state, &error)) {
		g_warning("%s", error->message);
		g_clear_error(&error);
	}
	if (!wr_state_clear_netmap(self->state, &error))
		g_warning("%s", error->message);
	self->needs_machine_auth = FALSE;
	g_clear_pointer(&self->auth_url, g_free);
	g_clear_pointer(&self->login_problem, g_free);
	self->key_expiry = 0;
	self->key_expired = FALSE;
	self->rotate_failures = 0;
	self->rotate_retry_at = 0;
	g_clear_pointer(&self->rotate_problem, g_free);
	keyrot_check(self);
}

/* ---- node-key rotation and expiry (docs/key-rotation.md) ---- */

static gboolean
keyrot_timer_cb(gpointer user_data)
{
	WrDaemon *self = user_data;

	self->keyrot_timer = 0;
	keyrot_check(self);
	update_all(self);
	return G_SOURCE_REMOVE;
}

static void
set_string(char **slot, char *value)
{
	g_free(*slot);
	*slot = value;
}

/* the engine back on the confirmed key (a rotation that failed) */
static void
engine_use_current_key(WrDaemon *self)
{
	g_autoptr(GError) error = NULL;

	if (self->engine != NULL &&
	    !wr_engine_set_node_key(self->engine, wr_state_get_node_key(self->state), &error))
		g_warning("%s", error->message);
}

static void
rotate_failed(WrDaemon *self, const char *why, gboolean keep_next)
{
	g_autoptr(GError) error = NULL;
	guint delay_ms;

	self->rotate_failures++;
	delay_ms = wr_keyrot_retry_ms(self->rotate_failures, g_random_int());
	self->rotate_retry_at = now_s() + (delay_ms + 999) / 1000;
	g_warning("the node key could not be rotated (attempt %u, next in %u s): %s",
		  self->rotate_failures, (delay_ms + 999) / 1000, why);
	engine_use_current_key(self);
	/* a request that got no answer may have reached control: the same new key is offered
	 * again, so that whichever key control holds is one we have */
	if (!keep_next && !wr_state_drop_next_node_key(self->state, &error))
		g_warning("%s", error->message);
	if (self->rotate_failures >= WR_KEYROT_HEALTH_FAILURES)
		set_string(&self->rotate_problem,
			   g_strdup_printf("the node key could not be rotated (%u attempts): %s",
					   self->rotate_failures, why));
	keyrot_check(self);
	update_all(self);
}

static void
rotate_succeeded(WrDaemon *self, gint64 expiry)
{
	g_autoptr(GError) error = NULL;
	uint8_t pub[WR_CRYPTO_KEY_LEN];
	g_autofree char *text = NULL;

	if (!wr_state_promote_next_node_key(self->state, &error)) {
		/* control has the new key; node-next.key keeps it on disk, and the next start
		 * finds out which key control holds */
		g_autofree char *p =
			g_strdup_printf("the rotated node key was not saved: %s", error->message);

		add_problem(self, p);
	}
	/* the data plane may have started while the request was out, with the key of then */
	engine_use_current_key(self);
	if (wr_x25519_public(pub, wr_state_get_node_key(self->state)))
		text = wr_key_to_text(WR_KEY_KIND_NODE, pub);
	g_message("node key rotated: now %.16s...", text != NULL ? text : "?");
	self->key_expiry = expiry;
	self->rotate_failures = 0;
	self->rotate_retry_at = 0;
	g_clear_pointer(&self->rotate_problem, g_free);
	/* a map stream opened with the old key while control switched (a start that finishes a
	 * rotation) was refused; with the new key it is welcome, and the data plane with it */
	if (self->conn != NULL &&
	    wr_control_conn_get_state(self->conn) == WR_CONTROL_STATE_NEEDS_AUTH)
		start_if_wanted(self);
	keyrot_check(self);
	update_all(self);
}

static void
rotate_probe_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WrDaemon *self = user_data;
	g_autoptr(WrControlConn) probe = WR_CONTROL_CONN(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlRegister) reg = wr_control_conn_register_finish(probe, res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* warrend stopping: self may be gone */
	self->rotating = FALSE;
	if (wr_state_get_next_node_key(self->state) == NULL)
		return; /* signed out meanwhile */
	if (reg != NULL && reg->machine_authorized && !reg->node_key_expired) {
		/* control already holds the new key (warrend stopped after control confirmed
		 * and before the key was saved as node.key): use it, with a new client */
		g_message("control already holds the new node key");
		drop_conn(self);
		rotate_succeeded(self, reg->node_key_expiry);
		if (ensure_conn(self, &error))
			start_if_wanted(self);
		else
			add_problem(self, error->message);
		keyrot_check(self);
		update_all(self);
		return;
	}
	rotate_failed(self, g_object_get_data(G_OBJECT(probe), "wr-why"), FALSE);
}

/* control refused the rotation: it may hold the new key already (a restart after it
 * confirmed); a register with that key tells */
static void
rotate_probe(WrDaemon *self, const char *why)
{
	const WrPrefs *prefs = wr_state_get_prefs(self->state);
	g_autoptr(GError) error = NULL;
	WrControlConn *probe = wr_control_conn_new(
		prefs->control_url, wr_state_get_machine_key(self->state),
		wr_state_get_next_node_key(self->state), self->disco_public, &error);

	if (probe != NULL && self->options.ca_file != NULL &&
	    !wr_control_conn_set_ca_file(probe, self->options.ca_file, &error))
		g_clear_object(&probe);
	if (probe == NULL) {
		self->rotating = FALSE;
		rotate_failed(self, error->message, FALSE);
		return;
	}
	g_object_set_data_full(G_OBJECT(probe), "wr-why", g_strdup(why), g_free);
	wr_control_conn_register_async(probe, NULL, self->cancel, rotate_probe_cb, self);
}

static void
rotate_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	WrDaemon *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlRegister) reg =
		wr_control_conn_rotate_node_key_finish(WR_CONTROL_CONN(source), res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* warrend stopping: self may be gone */
	if (WR_CONTROL_CONN(source) != self->conn ||
	    wr_state_get_next_node_key(self->state) == NULL) {
		/* signed out or in again meanwhile: that sign-in made its own key */
		self->rotating = FALSE;
		return;
	}
	if (reg != NULL) {
		self->rotating = FALSE;
		rotate_succeeded(self, reg->node_key_expiry);
		return;
	}
	if (g_error_matches(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_REFUSED)) {
		rotate_probe(self, error->message);
		return;
	}
	self->rotating = FALSE;
	rotate_failed(self, error->message, TRUE);
}

static void
rotate_start(WrDaemon *self)
{
	g_autoptr(GError) error = NULL;
	const uint8_t *next = wr_state_get_next_node_key(self->state);

	/* saved before anyone hears of it: a crash from here on loses no key */
	if (next == NULL) {
		if (!wr_state_new_next_node_key(self->state, &error)) {
			rotate_failed(self, error->message, FALSE);
			return;
		}
		next = wr_state_get_next_node_key(self->state);
	}
	/* the data plane first: peers get the new key in one delta and handshake with it at
	 * once, so it must answer by then; the sessions of the old key carry the traffic
	 * meanwhile (docs/key-rotation.md, "Order") */
	if (self->engine != NULL && !wr_engine_set_node_key(self->engine, next, &error)) {
		rotate_failed(self, error->message, TRUE);
		return;
	}
	g_message("rotating the node key");
	self->rotating = TRUE;
	wr_control_conn_rotate_node_key_async(self->conn, next, self->cancel, rotate_cb, self);
}

/*
 * The expiry warning, the expired state and the rotation schedule, from the times we know;
 * then the timer for the next change.  Called on every map from control, sign-in, rotation
 * and by its own timer.
 */
static void
keyrot_check(WrDaemon *self)
{
	gint64 now = now_s();
	gint64 control_now = now + self->clock_offset;
	gint64 next_warning = WR_KEYROT_NEVER, due = WR_KEYROT_NEVER, wake;
	WrKeyrotWarning warning = WR_KEYROT_WARN_NONE;
	gboolean was_expired = self->key_expired;

	if (self->keyrot_timer != 0) {
		g_source_remove(self->keyrot_timer);
		self->keyrot_timer = 0;
	}
	if (signed_in(self) && self->conn != NULL)
		warning = wr_keyrot_warning(control_now, self->key_expiry, &next_warning);
	self->key_expired = warning == WR_KEYROT_WARN_EXPIRED;
	set_string(&self->expiry_warning, wr_keyrot_warning_text(warning, self->key_expiry));
	if (self->key_expired) {
		if (!was_expired)
			g_warning("the node key expired: the tunnel is down until a sign-in");
		stop_engine(self);
		return;
	}
	if (warning == WR_KEYROT_WARN_NONE && !signed_in(self))
		return;

	if (!self->rotating && signed_in(self) && self->conn != NULL && !self->login_busy &&
	    !self->needs_machine_auth && wr_state_get_prefs(self->state)->want_running &&
	    wr_control_conn_get_state(self->conn) != WR_CONTROL_STATE_NEEDS_AUTH) {
		if (wr_state_get_next_node_key(self->state) != NULL)
			due = now; /* one under way when warrend stopped: finish it */
		else
			due = wr_keyrot_due(
				wr_state_get_node_key_time(self->state),
				self->key_expiry != 0 ? self->key_expiry - self->clock_offset : 0,
				self->rotation_interval);
		due = MAX(due, self->rotate_retry_at);
		if (due <= now) {
			rotate_start(self);
			return; /* rotate_start's outcome calls back here */
		}
	}
	wake = MIN(due, next_warning == WR_KEYROT_NEVER ? WR_KEYROT_NEVER
							: next_warning - self->clock_offset);
	if (wake == WR_KEYROT_NEVER)
		return;
	/* at most an hour: the wall clock may jump (suspend, NTP) */
	self->keyrot_timer =
		g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, (guint) CLAMP(wake - now, 1, 3600),
					   keyrot_timer_cb, self, NULL);
}

/* ---- polkit ---- */

typedef void (*AuthorizedFunc)(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data);

typedef struct {
	WrDaemon *daemon;
	GDBusMethodInvocation *inv;
	GPtrArray *actions; /* static strings */
	guint next;
	AuthorizedFunc func;
	gpointer data;
	GDestroyNotify destroy;
} AuthOp;

static void
auth_op_free(AuthOp *op)
{
	if (op->destroy != NULL && op->data != NULL)
		op->destroy(op->data);
	g_ptr_array_unref(op->actions);
	g_object_unref(op->inv);
	g_free(op);
}

static void
auth_next(AuthOp *op);

static void
auth_check_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	AuthOp *op = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitAuthorizationResult) result =
		polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), res, &error);
	const char *action = op->actions->pdata[op->next];

	if (result == NULL) {
		/* the daemon may be gone when cancelled: touch only the invocation */
		return_error(op->inv, WR_DBUS_ERROR_NOT_AUTHORIZED,
			     "cannot ask polkit about %s: %s", action, error->message);
		auth_op_free(op);
		return;
	}
	if (!polkit_authorization_result_get_is_authorized(result)) {
		return_error(op->inv, WR_DBUS_ERROR_NOT_AUTHORIZED, "not authorized for %s",
			     action);
		auth_op_free(op);
		return;
	}
	op->next++;
	auth_next(op);
}

static void
auth_next(AuthOp *op)
{
	WrDaemon *self = op->daemon;
	GDBusMessage *msg;
	g_autoptr(PolkitSubject) subject = NULL;
	PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;

	if (op->next >= op->actions->len) {
		op->func(self, op->inv, op->data);
		auth_op_free(op);
		return;
	}
	if (self->authority == NULL) {
		return_error(op->inv, WR_DBUS_ERROR_NOT_AUTHORIZED,
			     "polkit cannot be reached to authorize %s",
			     (const char *) op->actions->pdata[op->next]);
		auth_op_free(op);
		return;
	}
	msg = g_dbus_method_invocation_get_message(op->inv);
	if (g_dbus_message_get_flags(msg) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
		flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;
	/* the caller as the bus knows it, never anything from an argument */
	subject = polkit_system_bus_name_new(g_dbus_method_invocation_get_sender(op->inv));
	polkit_authority_check_authorization(self->authority, subject, op->actions->pdata[op->next],
					     NULL, flags, self->cancel, auth_check_cb, op);
}

/* runs func once polkit allowed every action (at once without polkit); takes data */
static void
authorize(WrDaemon *self, GDBusMethodInvocation *inv, GPtrArray *actions, AuthorizedFunc func,
	  gpointer data, GDestroyNotify destroy)
{
	AuthOp *op = g_new0(AuthOp, 1);

	op->daemon = self;
	op->inv = g_object_ref(inv);
	op->actions = g_ptr_array_ref(actions);
	op->func = func;
	op->data = data;
	op->destroy = destroy;
	if (!self->use_polkit)
		op->next = actions->len;
	auth_next(op);
}

static void
authorize1(WrDaemon *self, GDBusMethodInvocation *inv, const char *action, AuthorizedFunc func,
	   gpointer data, GDestroyNotify destroy)
{
	g_autoptr(GPtrArray) actions = g_ptr_array_new();

	g_ptr_array_add(actions, (gpointer) action);
	authorize(self, inv, actions, func, data, destroy);
}

/* ---- Up, Down ---- */

static void
do_up(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	g_autoptr(WrPrefs) prefs = wr_prefs_copy(wr_state_get_prefs(self->state));
	g_autoptr(GError) error = NULL;

	if (g_strcmp0(compute_state(self), "NeedsLogin") == 0) {
		return_error(inv, WR_DBUS_ERROR_NEEDS_LOGIN, "not signed in: call Login first");
		return;
	}
	if (!ensure_conn(self, &error)) {
		g_dbus_method_invocation_return_gerror(inv, error);
		return;
	}
	prefs->want_running = TRUE;
	if (!save_prefs(self, prefs, inv))
		return;
	g_message("up");
	start_if_wanted(self);
	keyrot_check(self);
	update_all(self);
	wr_dbus_engine1_complete_up(self->skeleton, inv);
}

static gboolean
handle_up_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	authorize1(user_data, inv, ACTION_CONNECT, do_up, NULL, NULL);
	return TRUE;
}

static void
do_down(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	g_autoptr(WrPrefs) prefs = wr_prefs_copy(wr_state_get_prefs(self->state));

	prefs->want_running = FALSE;
	if (!save_prefs(self, prefs, inv))
		return;
	g_message("down");
	stop_engine(self);
	if (self->conn != NULL)
		wr_control_conn_stop(self->conn);
	update_all(self);
	wr_dbus_engine1_complete_down(self->skeleton, inv);
}

static gboolean
handle_down_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	authorize1(user_data, inv, ACTION_DISCONNECT, do_down, NULL, NULL);
	return TRUE;
}

/* ---- Login, LoginWithAuthKey ---- */

typedef struct {
	WrDaemon *daemon;
	GDBusMethodInvocation *inv; /* NULL for Login, answered at once */
	gboolean fresh_key;	    /* the node key was made for this sign-in */
} LoginOp;

static void
login_op_free(LoginOp *op)
{
	g_clear_object(&op->inv);
	g_free(op);
}

static void
login_failed(LoginOp *op, const GError *error)
{
	WrDaemon *self = op->daemon;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		/* logout, another control server, or warrend stopping: the daemon may be gone */
		if (op->inv != NULL)
			return_error(op->inv, WR_DBUS_ERROR_FAILED, "the sign-in was cancelled");
		login_op_free(op);
		return;
	}
	g_warning("sign-in failed: %s", error->message);
	/* Login has returned long ago: Health is how its caller learns why (the tray shows it);
	 * the form "sign-in failed (<error name>): <message>" is documented with Health */
	g_free(self->login_problem);
	self->login_problem = g_strdup_printf("sign-in failed (%s): %s",
					      wr_dbus_error_name(control_error_code(error)) +
						      strlen(WR_DBUS_ERROR_PREFIX),
					      error->message);
	self->login_busy = FALSE;
	self->key_unregistered = FALSE;
	g_clear_object(&self->login_cancel);
	g_clear_pointer(&self->auth_url, g_free);
	if (op->fresh_key) {
		g_autoptr(GError) local = NULL;

		/* never registered: do not come back "signed in" with it */
		drop_conn(self);
		if (!wr_state_clear_node_key(self->state, &local))
			g_warning("%s", local->message);
	} else {
		/* signed in before and still: the stream stopped for the sign-in resumes */
		start_if_wanted(self);
	}
	if (op->inv != NULL)
		return_control_error(op->inv, error);
	update_all(self);
	login_op_free(op);
}

static void
login_done(LoginOp *op, const WrControlRegister *reg)
{
	WrDaemon *self = op->daemon;

	if (!reg->machine_authorized && reg->node_key_expired) {
		g_autoptr(GError) error =
			g_error_new_literal(WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_REFUSED,
					    "the control server says the node key has expired");

		op->fresh_key = TRUE; /* useless now: removed, the next sign-in makes another */
		login_failed(op, error);
		return;
	}

	self->login_busy = FALSE;
	self->key_unregistered = FALSE;
	g_clear_object(&self->login_cancel);
	g_clear_pointer(&self->auth_url, g_free);
	g_clear_pointer(&self->login_problem, g_free);
	self->needs_machine_auth = !reg->machine_authorized;
	/* the new registration's expiry: the saved map's self may still carry the old one */
	self->key_expiry = reg->node_key_expiry;
	self->key_expired = FALSE;
	self->rotate_failures = 0;
	self->rotate_retry_at = 0;
	g_clear_pointer(&self->rotate_problem, g_free);
	g_message("signed in as %s%s", reg->login_name != NULL ? reg->login_name : "",
		  reg->machine_authorized ? "" : ", the machine waits for approval");
	start_if_wanted(self);
	keyrot_check(self);
	update_all(self);
	if (op->inv != NULL)
		g_dbus_method_invocation_return_value(op->inv, NULL);
	login_op_free(op);
}

static void
wait_login_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	LoginOp *op = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlRegister) reg =
		wr_control_conn_wait_login_finish(WR_CONTROL_CONN(source), res, &error);

	if (reg == NULL)
		login_failed(op, error);
	else
		login_done(op, reg);
}

static void
register_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	LoginOp *op = user_data;
	WrDaemon *self;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlRegister) reg =
		wr_control_conn_register_finish(WR_CONTROL_CONN(source), res, &error);

	if (reg == NULL) {
		login_failed(op, error);
		return;
	}
	self = op->daemon;
	if (reg->auth_url != NULL && *reg->auth_url != '\0') {
		/* interactive: the user opens AuthURL; the follow-up waits for the browser */
		g_free(self->auth_url);
		self->auth_url = g_strdup(reg->auth_url);
		g_message("sign-in waits for the browser");
		update_all(self);
		wr_control_conn_wait_login_async(self->conn, reg->auth_url, self->login_cancel,
						 wait_login_cb, op);
		return;
	}
	login_done(op, reg);
}

static void
begin_login(WrDaemon *self, GDBusMethodInvocation *inv, const char *auth_key)
{
	LoginOp *op;
	g_autoptr(GError) error = NULL;
	gboolean fresh = FALSE;

	if (self->login_busy) {
		return_error(inv, WR_DBUS_ERROR_BUSY,
			     self->auth_url != NULL ? "a sign-in is already waiting: open AuthURL"
						    : "a sign-in is already under way");
		return;
	}
	if (*wr_state_get_prefs(self->state)->control_url == '\0') {
		return_error(inv, WR_DBUS_ERROR_FAILED,
			     "no control server is set: call SetControlURL first");
		return;
	}
	/* a node key control refuses (expired, or forgotten by the server) is not signed in
	 * again: a new one is registered in its place */
	if (!signed_in(self) || self->key_expired ||
	    (self->conn != NULL &&
	     wr_control_conn_get_state(self->conn) == WR_CONTROL_STATE_NEEDS_AUTH)) {
		drop_conn(self);
		/* a rotation of the refused key is moot */
		if (!wr_state_drop_next_node_key(self->state, &error) ||
		    !wr_state_new_node_key(self->state, &error)) {
			return_error(inv, WR_DBUS_ERROR_FAILED, "%s", error->message);
			return;
		}
		fresh = TRUE;
		self->key_unregistered = TRUE;
	}
	if (!ensure_conn(self, &error)) {
		if (fresh) {
			g_autoptr(GError) local = NULL;

			if (!wr_state_clear_node_key(self->state, &local))
				g_warning("%s", local->message);
			self->key_unregistered = FALSE;
		}
		return_error(inv, WR_DBUS_ERROR_FAILED, "%s", error->message);
		return;
	}
	op = g_new0(LoginOp, 1);
	op->daemon = self;
	op->fresh_key = fresh;
	/* a new attempt: the last one's failure is no problem any more, and is cleared on the
	 * bus now (flushed, not at idle) so that a client sees this one's failure, even with
	 * the same text, as a new entry */
	if (self->login_problem != NULL) {
		g_clear_pointer(&self->login_problem, g_free);
		update_all(self);
		g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(self->skeleton));
	}
	self->login_busy = TRUE;
	self->login_cancel = g_cancellable_new();
	/* the conn may hold a stream of the old registration: stopped, restarted when done */
	wr_control_conn_stop(self->conn);
	if (auth_key != NULL) {
		op->inv = g_object_ref(inv);
	} else {
		/* Login returns at once; AuthURL and State follow */
		g_dbus_method_invocation_return_value(inv, NULL);
	}
	g_message("signing in to %s%s", wr_state_get_prefs(self->state)->control_url,
		  auth_key != NULL ? " with an auth key" : "");
	wr_control_conn_register_async(self->conn, auth_key, self->login_cancel, register_cb, op);
}

static void
do_login(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	begin_login(self, inv, data);
}

static gboolean
handle_login_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	authorize1(user_data, inv, ACTION_CONNECT, do_login, NULL, NULL);
	return TRUE;
}

static gboolean
handle_login_with_auth_key_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv,
			      const char *auth_key, gpointer user_data)
{
	gsize len = strlen(auth_key);

	if (len == 0 || len > AUTH_KEY_MAX) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "auth_key: must be 1 to %u bytes",
			     AUTH_KEY_MAX);
		return TRUE;
	}
	for (gsize i = 0; i < len; i++) {
		if (auth_key[i] < 0x21 || auth_key[i] > 0x7e) {
			/* the key itself is never echoed */
			return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT,
				     "auth_key: not printable ASCII (byte %" G_GSIZE_FORMAT ")",
				     i + 1);
			return TRUE;
		}
	}
	authorize1(user_data, inv, ACTION_CONNECT, do_login, g_strdup(auth_key), g_free);
	return TRUE;
}

/* ---- Logout ---- */

typedef struct {
	WrDaemon *daemon;
	GDBusMethodInvocation *inv;
} LogoutOp;

static void
logout_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	LogoutOp *op = user_data;
	g_autoptr(GError) error = NULL;
	gboolean ok = wr_control_conn_logout_finish(WR_CONTROL_CONN(source), res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		return_error(op->inv, WR_DBUS_ERROR_FAILED, "warrend is stopping");
	} else {
		WrDaemon *self = op->daemon;

		sign_out_locally(self);
		update_all(self);
		if (ok) {
			g_message("signed out");
			g_dbus_method_invocation_return_value(op->inv, NULL);
		} else {
			g_warning("signed out here; the control server was not told: %s",
				  error->message);
			return_error(op->inv, WR_DBUS_ERROR_TIMEOUT,
				     "signed out here, but the control server was not told: %s",
				     error->message);
		}
	}
	g_object_unref(op->inv);
	g_free(op);
}

static void
do_logout(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	LogoutOp *op;

	if (self->login_cancel != NULL)
		g_cancellable_cancel(self->login_cancel);
	self->login_busy = FALSE;
	g_clear_object(&self->login_cancel);
	if (self->conn == NULL || !signed_in(self)) {
		sign_out_locally(self);
		update_all(self);
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	op = g_new0(LogoutOp, 1);
	op->daemon = self;
	op->inv = g_object_ref(inv);
	wr_control_conn_logout_async(self->conn, self->cancel, logout_cb, op);
}

static gboolean
handle_logout_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	authorize1(user_data, inv, ACTION_DISCONNECT, do_logout, NULL, NULL);
	return TRUE;
}

/* ---- SetControlURL ---- */

static void
old_logout_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!wr_control_conn_logout_finish(WR_CONTROL_CONN(source), res, &error))
		g_warning("the old control server was not told of the sign-out: %s",
			  error->message);
}

static void
do_set_control_url(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	const char *url = data;
	g_autoptr(WrPrefs) prefs = wr_prefs_copy(wr_state_get_prefs(self->state));

	if (g_strcmp0(url, prefs->control_url) == 0) {
		wr_dbus_engine1_complete_set_control_url(self->skeleton, inv);
		return;
	}
	g_free(prefs->control_url);
	prefs->control_url = g_strdup(url);
	if (!save_prefs(self, prefs, inv))
		return;
	if (self->conn != NULL && signed_in(self)) {
		/* sign out of the old server first; it is told in the background (the client
		 * keeps itself alive until the request finished) */
		wr_control_conn_stop(self->conn);
		wr_control_conn_logout_async(self->conn, NULL, old_logout_cb, NULL);
	}
	sign_out_locally(self);
	g_message("control server: %s", url);
	update_all(self);
	wr_dbus_engine1_complete_set_control_url(self->skeleton, inv);
}

static gboolean
handle_set_control_url_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, const char *url,
			  gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	char *normalized = NULL;

	if (*url == '\0') {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "url: must not be empty");
		return TRUE;
	}
	if (!wr_prefs_check_control_url(url, &normalized, &error)) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "url: %s", error->message);
		return TRUE;
	}
	authorize1(user_data, inv, ACTION_SET_CONTROL_SERVER, do_set_control_url, normalized,
		   g_free);
	return TRUE;
}

/* ---- SetPrefs ---- */

static void
do_set_prefs(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	const WrPrefs *prefs = data;
	g_autoptr(JsonObject) hostinfo = NULL;

	if (!save_prefs(self, prefs, inv))
		return;
	if (self->conn != NULL) {
		hostinfo = make_hostinfo(wr_state_get_prefs(self->state));
		wr_control_conn_set_hostinfo(self->conn, hostinfo);
	}
	/* accept-routes changes the routes, allow-LAN the rules */
	sync_exit_node(self);
	if (self->engine != NULL)
		wr_engine_set_netmap(self->engine, wr_control_conn_get_netmap(self->conn),
				     wr_state_get_prefs(self->state)->accept_routes);
	update_all(self);
	wr_dbus_engine1_complete_set_prefs(self->skeleton, inv);
}

static void
add_action(GPtrArray *actions, const char *action)
{
	for (guint i = 0; i < actions->len; i++)
		if (g_strcmp0(actions->pdata[i], action) == 0)
			return;
	g_ptr_array_add(actions, (gpointer) action);
}

/* the polkit action of each SetPrefs key (the XML's table); NULL for a key it does not know */
static const char *
pref_action(const char *key)
{
	static const struct {
		const char *key, *action;
	} table[] = {
		{"exit-node-allow-lan", ACTION_EXIT_NODE},
		{"accept-routes", ACTION_CONNECT},
		{"hostname", ACTION_CONNECT},
		{"advertise-routes", ACTION_ADVERTISE_ROUTES},
		{"advertise-exit-node", ACTION_ADVERTISE_EXIT_NODE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
		if (g_strcmp0(table[i].key, key) == 0)
			return table[i].action;
	return NULL;
}

static gboolean
handle_set_prefs_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, GVariant *dict,
		    gpointer user_data)
{
	WrDaemon *self = user_data;
	g_autoptr(GPtrArray) actions = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	WrPrefs *prefs = wr_prefs_apply_dict(wr_state_get_prefs(self->state), dict, &error);
	GVariantIter iter;
	const char *key;

	if (prefs == NULL) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "prefs: %s", error->message);
		return TRUE;
	}
	/* every key is known now (wr_prefs_apply_dict refuses the others) */
	g_variant_iter_init(&iter, dict);
	while (g_variant_iter_next(&iter, "{&sv}", &key, NULL)) {
		const char *action = pref_action(key);

		g_assert(action != NULL);
		add_action(actions, action);
	}
	authorize(self, inv, actions, do_set_prefs, prefs, (GDestroyNotify) wr_prefs_free);
	return TRUE;
}

/* ---- GetPeers, and what needs the data plane ---- */

static gint
peer_cmp(gconstpointer a, gconstpointer b)
{
	const WrNetmapNode *x = *(const WrNetmapNode *const *) a;
	const WrNetmapNode *y = *(const WrNetmapNode *const *) b;
	int c = g_strcmp0(x->name, y->name);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

static gboolean
handle_get_peers_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	WrDaemon *self = user_data;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	if (self->conn != NULL) {
		WrNetmap *nm = wr_control_conn_get_netmap(self->conn);
		g_autoptr(GPtrArray) peers = wr_netmap_get_peers(nm);

		g_ptr_array_sort(peers, peer_cmp);
		for (guint i = 0; i < peers->len; i++)
			g_variant_builder_add_value(
				&b, node_to_variant(self, nm, peers->pdata[i], FALSE));
	}
	wr_dbus_engine1_complete_get_peers(object, inv, g_variant_builder_end(&b));
	return TRUE;
}

/* the peer that arg names: its id, name, DNS name (with or without the final dot) or one of
 * its addresses (with or without the prefix length) */
static const WrNetmapNode *
resolve_peer(WrNetmap *nm, const char *arg)
{
	g_autoptr(GPtrArray) peers = wr_netmap_get_peers(nm);
	size_t n = strlen(arg);

	for (guint i = 0; i < peers->len; i++) {
		const WrNetmapNode *node = peers->pdata[i];
		g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, node->id);
		g_autofree char *dns = dns_name_dotted(node->dns_name);

		if (strcmp(id, arg) == 0 ||
		    (*node->name != '\0' && g_ascii_strcasecmp(node->name, arg) == 0) ||
		    g_ascii_strcasecmp(dns, arg) == 0 ||
		    (n > 0 && g_str_has_suffix(dns, ".") && strlen(dns) == n + 1 &&
		     g_ascii_strncasecmp(dns, arg, n) == 0))
			return node;
		for (guint a = 0; node->addresses != NULL && a < node->addresses->len; a++) {
			g_autofree char *text =
				format_address(&g_array_index(node->addresses, WrCidr, a));
			char *slash = strchr(text, '/');

			if (strcmp(text, arg) == 0)
				return node;
			if (slash != NULL)
				*slash = '\0';
			if (strcmp(text, arg) == 0)
				return node;
		}
	}
	return NULL;
}

typedef struct {
	WrDaemon *daemon;
	GDBusMethodInvocation *inv;
	char *peer;
	guint count;
} PingCall;

static void
ping_call_free(PingCall *pc)
{
	g_free(pc->peer);
	g_free(pc);
}

static void
ping_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	PingCall *pc = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) replies = NULL;
	WrDaemon *self = pc->daemon;
	GVariantBuilder b;

	if (g_cancellable_is_cancelled(self->cancel)) {
		return_error(pc->inv, WR_DBUS_ERROR_NOT_RUNNING, "warrend is stopping");
		ping_call_free(pc);
		return;
	}
	replies = self->engine != NULL ? wr_engine_ping_finish(self->engine, res, &error)
				       : g_task_propagate_pointer(G_TASK(res), &error);
	if (replies == NULL) {
		return_error(pc->inv,
			     g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
				     ? WR_DBUS_ERROR_NO_SUCH_PEER
			     : g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY)
				     ? WR_DBUS_ERROR_BUSY
				     : WR_DBUS_ERROR_NOT_RUNNING,
			     "peer %s: %s", pc->peer, error->message);
		ping_call_free(pc);
		return;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < replies->len; i++) {
		const WrEnginePingReply *r = &g_array_index(replies, WrEnginePingReply, i);
		const WrDerpMap *dm =
			self->conn != NULL
				? wr_netmap_get_derp_map(wr_control_conn_get_netmap(self->conn))
				: NULL;
		const WrDerpRegion *region = dm != NULL && r->via_derp
						     ? wr_derp_map_get_region(dm, r->derp_region)
						     : NULL;
		char ep[WR_ENDPOINT_STRLEN] = "";
		GVariantBuilder d;

		if (!r->via_derp && r->latency_us >= 0)
			wr_endpoint_format(&r->endpoint, ep);
		g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&d, "{sv}", "seq", g_variant_new_uint32(i + 1));
		g_variant_builder_add(&d, "{sv}", "path",
				      g_variant_new_string(r->via_derp ? "derp" : "direct"));
		g_variant_builder_add(&d, "{sv}", "endpoint", g_variant_new_string(ep));
		g_variant_builder_add(
			&d, "{sv}", "derp-region",
			g_variant_new_uint32(
				r->via_derp ? (guint32) MIN(r->derp_region, G_MAXUINT32) : 0));
		g_variant_builder_add(
			&d, "{sv}", "derp-region-code",
			g_variant_new_string(region != NULL ? region->region_code : ""));
		g_variant_builder_add(&d, "{sv}", "latency-us", g_variant_new_int64(r->latency_us));
		g_variant_builder_add_value(&b, g_variant_builder_end(&d));
	}
	wr_dbus_engine1_complete_ping(self->skeleton, pc->inv, g_variant_builder_end(&b));
	ping_call_free(pc);
}

static void
do_ping(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	PingCall *pc = data;
	const WrNetmapNode *node;

	if (self->engine == NULL) {
		return_error(inv, WR_DBUS_ERROR_NOT_RUNNING, "the tunnel is not running");
		return;
	}
	node = resolve_peer(wr_control_conn_get_netmap(self->conn), pc->peer);
	if (node == NULL) {
		return_error(inv, WR_DBUS_ERROR_NO_SUCH_PEER, "peer: no peer is called %s",
			     pc->peer);
		return;
	}
	/* the call data is ours from here: authorize frees it only when it is not called */
	pc = g_new0(PingCall, 1);
	pc->daemon = self;
	pc->inv = inv;
	pc->peer = g_strdup(((PingCall *) data)->peer);
	pc->count = ((PingCall *) data)->count;
	wr_engine_ping_async(self->engine, node->id, pc->count, self->cancel, ping_done_cb, pc);
}

static gboolean
handle_ping_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, const char *peer, guint count,
	       gpointer user_data)
{
	PingCall *pc;

	if (count == 0 || count > 100) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "count: must be 1 to 100");
		return TRUE;
	}
	if (!g_utf8_validate(peer, -1, NULL) || *peer == '\0' || strlen(peer) > 255) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT,
			     "peer: must be a peer's id, name, DNS name or address");
		return TRUE;
	}
	pc = g_new0(PingCall, 1);
	pc->peer = g_strdup(peer);
	pc->count = count;
	authorize1(user_data, inv, ACTION_CONNECT, do_ping, pc, (GDestroyNotify) ping_call_free);
	return TRUE;
}

static void
netcheck_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GDBusMethodInvocation *inv = user_data;
	WrDaemon *self = g_object_get_data(G_OBJECT(inv), "wr-daemon");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcheckReport) report = g_task_propagate_pointer(G_TASK(res), &error);
	GVariantBuilder b, lat;
	char v4[WR_ENDPOINT_STRLEN] = "", v6[WR_ENDPOINT_STRLEN] = "";
	static const char *const varies[] = {"unknown", "no", "yes"};

	if (report == NULL) {
		return_error(inv,
			     g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PENDING)
				     ? WR_DBUS_ERROR_BUSY
				     : WR_DBUS_ERROR_NOT_RUNNING,
			     "netcheck: %s", error->message);
		g_object_unref(inv);
		return;
	}
	if (report->global_v4.sa.sa_family != AF_UNSPEC)
		wr_endpoint_format(&report->global_v4, v4);
	if (report->global_v6.sa.sa_family != AF_UNSPEC)
		wr_endpoint_format(&report->global_v6, v6);
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_init(&lat, G_VARIANT_TYPE("a{ux}"));
	for (guint i = 0; i < report->n_latencies; i++)
		g_variant_builder_add(&lat, "{ux}",
				      (guint32) MIN(report->latencies[i].region_id, G_MAXUINT32),
				      report->latencies[i].latency_us);
	g_variant_builder_add(&b, "{sv}", "udp", g_variant_new_boolean(report->udp));
	g_variant_builder_add(&b, "{sv}", "ipv4", g_variant_new_boolean(report->ipv4));
	g_variant_builder_add(&b, "{sv}", "ipv6", g_variant_new_boolean(report->ipv6));
	g_variant_builder_add(&b, "{sv}", "global-v4", g_variant_new_string(v4));
	g_variant_builder_add(&b, "{sv}", "global-v6", g_variant_new_string(v6));
	g_variant_builder_add(
		&b, "{sv}", "mapping-varies-by-dest-ip",
		g_variant_new_string(varies[CLAMP((int) report->mapping_varies_by_dest_ip, 0, 2)]));
	g_variant_builder_add(
		&b, "{sv}", "preferred-derp",
		g_variant_new_uint32((guint32) MIN(report->preferred_derp, G_MAXUINT32)));
	g_variant_builder_add(&b, "{sv}", "derp-latency-us", g_variant_builder_end(&lat));
	wr_dbus_engine1_complete_netcheck(self->skeleton, inv, g_variant_builder_end(&b));
	g_object_unref(inv);
}

static gboolean
handle_netcheck_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gpointer user_data)
{
	WrDaemon *self = user_data;

	if (self->engine == NULL) {
		return_error(inv, WR_DBUS_ERROR_NOT_RUNNING, "the tunnel is not running");
		return TRUE;
	}
	g_object_set_data(G_OBJECT(inv), "wr-daemon", self);
	wr_engine_netcheck_async(self->engine, self->cancel, netcheck_done_cb, g_object_ref(inv));
	return TRUE;
}

/* after polkit: the records show whom this machine talks to */
static void
do_get_flows(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	g_autoptr(GError) error = NULL;
	GVariant *flows;

	if (self->flows == NULL) {
		return_error(inv, WR_DBUS_ERROR_FAILED, "flow logs are off on this machine");
		return;
	}
	flows = wr_daemon_flows_get(self->flows, *(gint64 *) data, &error);
	if (flows == NULL)
		return_error(inv, WR_DBUS_ERROR_FAILED, "%s", error->message);
	else
		wr_dbus_engine1_complete_get_flows(self->skeleton, inv, flows);
}

static gboolean
handle_get_flows_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, gint64 since,
		    gpointer user_data)
{
	if (since < 0) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "since: must not be negative");
		return TRUE;
	}
	authorize1(user_data, inv, ACTION_CONNECT, do_get_flows, g_memdup2(&since, sizeof(since)),
		   g_free);
	return TRUE;
}

static void
do_set_exit_node(WrDaemon *self, GDBusMethodInvocation *inv, gpointer data)
{
	const char *id = data;
	g_autoptr(WrPrefs) prefs = wr_prefs_copy(wr_state_get_prefs(self->state));

	g_free(prefs->exit_node);
	prefs->exit_node = g_strdup(id);
	if (!save_prefs(self, prefs, inv))
		return;
	g_message("exit node: %s", *id != '\0' ? id : "none");
	/* at once: the routes, rules and the peer's allowed IPs follow the choice */
	sync_exit_node(self);
	if (self->engine != NULL && self->conn != NULL)
		wr_engine_set_netmap(self->engine, wr_control_conn_get_netmap(self->conn),
				     wr_state_get_prefs(self->state)->accept_routes);
	update_all(self);
	wr_dbus_engine1_complete_set_exit_node(self->skeleton, inv);
}

static gboolean
handle_set_exit_node_cb(WrDbusEngine1 *object, GDBusMethodInvocation *inv, const char *peer,
			gpointer user_data)
{
	WrDaemon *self = user_data;
	g_autoptr(GError) error = NULL;
	WrNetmap *nm = self->conn != NULL ? wr_control_conn_get_netmap(self->conn) : NULL;
	const WrNetmapNode *node;

	if (!wr_prefs_check_exit_node(peer, &error)) {
		return_error(inv, WR_DBUS_ERROR_INVALID_ARGUMENT, "peer: %s", error->message);
		return TRUE;
	}
	if (*peer == '\0') {
		authorize1(self, inv, ACTION_EXIT_NODE, do_set_exit_node, g_strdup(""), g_free);
		return TRUE;
	}
	node = nm != NULL ? find_peer_node(nm, peer) : NULL;
	if (node == NULL) {
		return_error(inv, WR_DBUS_ERROR_NO_SUCH_PEER, "no peer is named '%s'", peer);
		return TRUE;
	}
	if (!node->exit_node_option) {
		return_error(inv, WR_DBUS_ERROR_NOT_AN_EXIT_NODE,
			     "peer %s is not an approved exit node", node->name);
		return TRUE;
	}
	authorize1(self, inv, ACTION_EXIT_NODE, do_set_exit_node,
		   g_strdup_printf("%" G_GINT64_FORMAT, node->id), g_free);
	return TRUE;
}

/* ---- life ---- */

WrDaemon *
wr_daemon_new(WrState *state, GDBusConnection *bus, gboolean use_polkit, const char *control_url,
	      const WrDaemonOptions *options, GError **error)
{
	g_autoptr(WrDaemon) self = g_new0(WrDaemon, 1);
	const char *const *problems = wr_state_get_problems(state);

	self->options.data_plane = options->data_plane;
	self->options.tun_name = g_strdup(options->tun_name);
	self->options.port = options->port;
	self->options.ca_file = g_strdup(options->ca_file);
	self->options.flow_log_size = options->flow_log_size;
	self->options.no_flow_log = options->no_flow_log;
	self->options.resolv_conf = g_strdup(options->resolv_conf);
	self->rotation_interval = options->key_rotation_interval == 0
					  ? WR_KEYROT_DEFAULT_INTERVAL
					  : MAX(options->key_rotation_interval, 0);

	self->state = state;
	self->bus = g_object_ref(bus);
	self->use_polkit = use_polkit;
	self->cancel = g_cancellable_new();
	self->problems = g_ptr_array_new_with_free_func(g_free);
	self->skeleton = wr_dbus_engine1_skeleton_new();
	(void) wr_dbus_error_quark();
	if (!wr_x25519_public(self->disco_public, wr_state_get_disco_key(state))) {
		g_set_error_literal(error, WR_DBUS_ERROR, WR_DBUS_ERROR_FAILED,
				    "the disco key is not usable");
		self->state = NULL; /* the caller keeps it on failure */
		return NULL;
	}
	for (guint i = 0; problems[i] != NULL; i++)
		g_warning("%s", problems[i]);
	if (options->data_plane && !options->no_flow_log) {
		g_autoptr(GError) flow_error = NULL;

		/* the tunnel works without its log: a ring that cannot be opened is a problem
		 * to show, not a reason to stay down */
		self->flows = wr_daemon_flows_new(wr_state_get_dir(state), options->flow_log_size,
						  &flow_error);
		if (self->flows == NULL) {
			g_warning("%s", flow_error->message);
			g_ptr_array_add(self->problems, g_strdup(flow_error->message));
		}
	}

	if (use_polkit) {
		g_autoptr(GError) local = NULL;

		self->authority = polkit_authority_get_sync(NULL, &local);
		if (self->authority == NULL)
			add_problem(self, "polkit cannot be reached: every change is refused");
	} else {
		g_message("on a private bus: polkit is not asked, every caller may do everything");
	}

	if (control_url != NULL && *wr_state_get_prefs(state)->control_url == '\0') {
		g_autoptr(WrPrefs) prefs = wr_prefs_copy(wr_state_get_prefs(state));
		g_autoptr(GError) local = NULL;
		char *norm = NULL;

		if (!wr_prefs_check_control_url(control_url, &norm, &local)) {
			g_set_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_INVALID_ARGUMENT,
				    "--control-url: %s", local->message);
			self->state = NULL;
			return NULL;
		}
		g_free(prefs->control_url);
		prefs->control_url = norm;
		if (!wr_state_set_prefs(state, prefs, error)) {
			self->state = NULL;
			return NULL;
		}
	}

	g_signal_connect(self->skeleton, "handle-up", G_CALLBACK(handle_up_cb), self);
	g_signal_connect(self->skeleton, "handle-down", G_CALLBACK(handle_down_cb), self);
	g_signal_connect(self->skeleton, "handle-login", G_CALLBACK(handle_login_cb), self);
	g_signal_connect(self->skeleton, "handle-login-with-auth-key",
			 G_CALLBACK(handle_login_with_auth_key_cb), self);
	g_signal_connect(self->skeleton, "handle-logout", G_CALLBACK(handle_logout_cb), self);
	g_signal_connect(self->skeleton, "handle-set-control-url",
			 G_CALLBACK(handle_set_control_url_cb), self);
	g_signal_connect(self->skeleton, "handle-set-prefs", G_CALLBACK(handle_set_prefs_cb), self);
	g_signal_connect(self->skeleton, "handle-get-peers", G_CALLBACK(handle_get_peers_cb), self);
	g_signal_connect(self->skeleton, "handle-ping", G_CALLBACK(handle_ping_cb), self);
	g_signal_connect(self->skeleton, "handle-netcheck", G_CALLBACK(handle_netcheck_cb), self);
	g_signal_connect(self->skeleton, "handle-get-flows", G_CALLBACK(handle_get_flows_cb), self);
	g_signal_connect(self->skeleton, "handle-set-exit-node",
			 G_CALLBACK(handle_set_exit_node_cb), self);

	/* signed in before: the client, the saved map, and the stream when wanted */
	if (signed_in(self)) {
		g_autoptr(GError) local = NULL;

		if (ensure_conn(self, &local)) {
			g_message("signed in from the last run%s",
				  wr_state_get_prefs(state)->want_running ? ", starting" : "");
			start_if_wanted(self);
			keyrot_check(self);
		} else {
			g_autofree char *p = g_strdup_printf("cannot use the control server: %s",
							     local->message);

			add_problem(self, p);
		}
	}
	update_all(self);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->skeleton), bus,
					      OBJECT_PATH, error)) {
		self->state = NULL;
		return NULL;
	}
	return g_steal_pointer(&self);
}

void
wr_daemon_free(WrDaemon *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancel);
	if (self->login_cancel != NULL)
		g_cancellable_cancel(self->login_cancel);
	g_clear_object(&self->login_cancel);
	if (self->keyrot_timer != 0)
		g_source_remove(self->keyrot_timer);
	drop_conn(self);
	if (self->skeleton != NULL) {
		g_signal_handlers_disconnect_by_data(self->skeleton, self);
		if (g_dbus_interface_skeleton_get_object_path(
			    G_DBUS_INTERFACE_SKELETON(self->skeleton)) != NULL)
			g_dbus_interface_skeleton_unexport(
				G_DBUS_INTERFACE_SKELETON(self->skeleton));
	}
	g_clear_object(&self->skeleton);
	g_clear_object(&self->authority);
	g_clear_object(&self->cancel);
	g_clear_object(&self->bus);
	g_clear_pointer(&self->problems, g_ptr_array_unref);
	g_clear_pointer(&self->state, wr_state_free);
	g_clear_pointer(&self->flows, wr_daemon_flows_free);
	g_free(self->auth_url);
	g_free(self->login_problem);
	g_free(self->engine_problem);
	g_free(self->rotate_problem);
	g_free(self->expiry_warning);
	g_free((char *) self->options.tun_name);
	g_free((char *) self->options.ca_file);
	g_free((char *) self->options.resolv_conf);
	g_free(self);
}
