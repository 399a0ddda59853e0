/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The admin socket (control.md "Admin API"): JSON over HTTP on a Unix socket, 0660, for the
 * `warren-control` subcommands.  Only root, the server's own user and members of the socket's
 * group are served; the peer's uid (SO_PEERCRED) is the audit actor, "admin:uid=<n>".  Every
 * change goes to the store first, then to memory, then to map streams, then to the audit log;
 * a refused request changes nothing.  docs/control-admin.md has the reference.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-control-admin-request.h"
#include "wr-control-private.h"
#include "wr-crypto.h"

/* request bodies other than a policy at most */
#define ADMIN_MAX_BODY (64 * 1024)
/* audit events one request returns at most (and by default) */
#define ADMIN_AUDIT_MAX	    100000
#define ADMIN_AUDIT_DEFAULT 1000

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* ---- answers -------------------------------------------------------------------------------- */

static void
reply_json(SoupServerMessage *msg, guint status, JsonBuilder *builder)
{
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	gsize len = 0;
	char *text;

	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &len);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

static void
reply_error(SoupServerMessage *msg, guint status, const char *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	reply_json(msg, status, b);
}

static void G_GNUC_PRINTF(3, 4)
	reply_errorf(SoupServerMessage *msg, guint status, const char *fmt, ...)
{
	g_autofree char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	reply_error(msg, status, text);
}

/* a store's refusal: 404 for what is not there, 409 for a conflict, 400 for bad input */
static void
reply_gerror(SoupServerMessage *msg, const GError *error)
{
	guint status = SOUP_STATUS_INTERNAL_SERVER_ERROR;

	if (error->domain == WR_STORE_ERROR) {
		switch (error->code) {
		case WR_STORE_ERROR_NOT_FOUND:
			status = SOUP_STATUS_NOT_FOUND;
			break;
		case WR_STORE_ERROR_EXISTS:
		case WR_STORE_ERROR_IN_USE:
			status = SOUP_STATUS_CONFLICT;
			break;
		case WR_STORE_ERROR_INVALID:
			status = SOUP_STATUS_BAD_REQUEST;
			break;
		default:
			break;
		}
	} else if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_INVALID_DATA) {
		status = SOUP_STATUS_BAD_REQUEST;
	}
	reply_error(msg, status, error->message);
}

static void
reply_ok(SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static void
add_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

static void
add_strv(JsonBuilder *b, const char *name, char **strv)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (char **s = strv; s != NULL && *s != NULL; s++)
		json_builder_add_string_value(b, *s);
	json_builder_end_array(b);
}

/* a JSON text made with a builder, for audit details */
static char *
builder_text(JsonBuilder *b)
{
	g_autoptr(JsonNode) root = json_builder_get_root(b);

	return json_to_string(root, FALSE);
}

/* ---- requests ------------------------------------------------------------------------------- */

/* the request body, bounded by the early handler */
static GBytes *
request_body(SoupServerMessage *msg)
{
	return soup_message_body_flatten(soup_server_message_get_request_body(msg));
}

static gboolean
parse_id(SoupServerMessage *msg, const char *what, const char *text, gint64 *out)
{
	gint64 id = 0;

	if (!g_ascii_string_to_signed(text, 10, 1, G_MAXINT64, &id, NULL)) {
		reply_errorf(msg, SOUP_STATUS_BAD_REQUEST, "%s id \"%s\" is not a positive number",
			     what, text);
		return FALSE;
	}
	*out = id;
	return TRUE;
}

static CtlNode *
find_node(WrControl *self, SoupServerMessage *msg, const char *text)
{
	gint64 id = 0;
	CtlNode *node;

	if (!parse_id(msg, "node", text, &id))
		return NULL;
	node = ctl_node_lookup(self, id);
	if (node == NULL)
		reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "there is no node %" G_GINT64_FORMAT, id);
	return node;
}

static char *
node_target(const CtlNode *node)
{
	return g_strdup_printf("node:%" G_GINT64_FORMAT ":%s", node->rec->id, node->rec->name);
}

static gint
cmp_node_id(gconstpointer a, gconstpointer b)
{
	const CtlNode *na = *(CtlNode *const *) a, *nb = *(CtlNode *const *) b;

	return (na->rec->id > nb->rec->id) - (na->rec->id < nb->rec->id);
}

/* every node, by id */
static GPtrArray *
sorted_nodes(WrControl *self)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, cmp_node_id);
	return list;
}

/* ---- users ------------------------------------------------------------------------------------
 */

static guint
user_node_count(WrControl *self, gint64 user_id)
{
	GHashTableIter iter;
	gpointer value;
	guint n = 0;

	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (((CtlNode *) value)->rec->user_id == user_id)
			n++;
	return n;
}

static void
users_list(WrControl *self, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) users = NULL;
	g_autoptr(GError) error = NULL;

	/* the store's list is ordered by id */
	users = wr_store_user_list(self->store, &error);
	if (users == NULL) {
		reply_gerror(msg, error);
		return;
	}
	g_ptr_array_set_free_func(users, (GDestroyNotify) wr_store_user_free);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "users");
	json_builder_begin_array(b);
	for (guint i = 0; i < users->len; i++) {
		WrStoreUser *u = users->pdata[i];

		json_builder_begin_object(b);
		add_int(b, "id", u->id);
		add_string(b, "login_name", u->login_name);
		add_string(b, "display_name", u->display_name);
		add_string(b, "issuer", u->iss);
		add_string(b, "subject", u->sub);
		add_int(b, "created", u->created);
		add_int(b, "nodes", user_node_count(self, u->id));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
users_delete(WrControl *self, SoupServerMessage *msg, const char *actor, const char *id_text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *target = NULL;
	WrStoreUser *user;
	gint64 id = 0;
	guint n;

	if (!parse_id(msg, "user", id_text, &id))
		return;
	user = ctl_user_lookup(self, id);
	if (user == NULL) {
		reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "there is no user %" G_GINT64_FORMAT, id);
		return;
	}
	n = user_node_count(self, id);
	if (n > 0) {
		reply_errorf(msg, SOUP_STATUS_CONFLICT,
			     "user %" G_GINT64_FORMAT
			     " (%s) still has %u node(s): delete them first",
			     id, user->login_name, n);
		return;
	}
	if (!wr_store_user_delete(self->store, id, &error)) {
		reply_gerror(msg, error);
		return;
	}
	target = g_strdup_printf("user:%" G_GINT64_FORMAT ":%s", id, user->login_name);
	g_hash_table_remove(self->users, &id);
	ctl_audit(self, actor, "user.delete", target, NULL);
	reply_ok(msg);
}

/* ---- nodes ------------------------------------------------------------------------------------
 */

static void
node_json(WrControl *self, CtlNode *node, JsonBuilder *b, gint64 now)
{
	WrStoreNode *rec = node->rec;
	WrStoreUser *user = rec->user_id != 0 ? ctl_user_lookup(self, rec->user_id) : NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *hostinfo = NULL;
	g_autofree char *fqdn = g_strdup_printf("%s.%s", rec->name, self->config->dns_domain);

	if (rec->hostinfo != NULL && json_parser_load_from_data(parser, rec->hostinfo, -1, NULL) &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		hostinfo = json_node_get_object(json_parser_get_root(parser));
	json_builder_begin_object(b);
	add_int(b, "id", rec->id);
	add_string(b, "name", rec->name);
	add_string(b, "fqdn", fqdn);
	add_int(b, "user_id", rec->user_id);
	add_string(b, "user", user != NULL ? user->login_name : NULL);
	add_strv(b, "tags", rec->tags);
	add_string(b, "ipv4", rec->ipv4);
	add_string(b, "ipv6", rec->ipv6);
	add_string(b, "hostname",
		   hostinfo != NULL
			   ? json_object_get_string_member_with_default(hostinfo, "hostname", NULL)
			   : NULL);
	add_string(b, "os",
		   hostinfo != NULL
			   ? json_object_get_string_member_with_default(hostinfo, "os", NULL)
			   : NULL);
	add_bool(b, "online", node->online);
	add_bool(b, "expired", rec->key_expiry != 0 && rec->key_expiry <= now);
	add_int(b, "key_expiry", rec->key_expiry);
	add_bool(b, "ephemeral", node->ephemeral);
	add_strv(b, "advertised_routes", rec->advertised_routes);
	add_strv(b, "approved_routes", rec->approved_routes);
	add_bool(b, "exit_node", rec->exit_node);
	add_int(b, "last_seen", rec->last_seen);
	add_int(b, "created", rec->created);
	json_builder_end_object(b);
}

static void
nodes_list(WrControl *self, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) nodes = sorted_nodes(self);
	gint64 now = now_s();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "nodes");
	json_builder_begin_array(b);
	for (guint i = 0; i < nodes->len; i++)
		node_json(self, nodes->pdata[i], b, now);
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
node_get(WrControl *self, SoupServerMessage *msg, CtlNode *node)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	node_json(self, node, b, now_s());
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
node_rename(WrControl *self, SoupServerMessage *msg, const char *actor, CtlNode *node)
{
	g_autoptr(GBytes) body = request_body(msg);
	g_autoptr(JsonBuilder) detail = json_builder_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *name = NULL;
	g_autofree char *target = NULL;
	g_autofree char *detail_text = NULL;
	g_autofree char *old = NULL;
	WrStoreNode *rec = node->rec;
	CtlNode *holder;
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);

	name = wr_control_admin_rename_parse(data, len, &error);
	if (name == NULL) {
		reply_gerror(msg, error);
		return;
	}
	if (g_str_equal(name, rec->name)) {
		node_get(self, msg, node);
		return;
	}
	holder = g_hash_table_lookup(self->used_names, name);
	if (holder != NULL && holder != node) {
		reply_errorf(msg, SOUP_STATUS_CONFLICT,
			     "the name %s is taken by node %" G_GINT64_FORMAT, name,
			     holder->rec->id);
		return;
	}
	if (!wr_store_node_rename(self->store, rec->id, name, &error)) {
		reply_gerror(msg, error);
		return;
	}
	/* used_names borrows rec->name */
	if (g_hash_table_lookup(self->used_names, rec->name) == node)
		g_hash_table_remove(self->used_names, rec->name);
	old = g_steal_pointer(&rec->name);
	rec->name = g_steal_pointer(&name);
	g_hash_table_insert(self->used_names, rec->name, node);
	ctl_node_changed(self, node);
	target = node_target(node);
	json_builder_begin_object(detail);
	add_string(detail, "from", old);
	add_string(detail, "to", rec->name);
	json_builder_end_object(detail);
	detail_text = builder_text(detail);
	ctl_audit(self, actor, "node.rename", target, detail_text);
	node_get(self, msg, node);
}

static void
node_tags(WrControl *self, SoupServerMessage *msg, const char *actor, CtlNode *node)
{
	g_autoptr(GBytes) body = request_body(msg);
	g_autoptr(JsonBuilder) detail = json_builder_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) tags = NULL;
	g_autofree char *target = NULL;
	g_autofree char *detail_text = NULL;
	WrStoreNode *rec = node->rec;
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);

	tags = wr_control_admin_tags_parse(data, len, &error);
	if (tags == NULL) {
		reply_gerror(msg, error);
		return;
	}
	if (tags[0] == NULL && rec->user_id == 0) {
		reply_errorf(msg, SOUP_STATUS_BAD_REQUEST,
			     "node %" G_GINT64_FORMAT " belongs to no user, so it must keep at "
			     "least one tag",
			     rec->id);
		return;
	}
	if (!wr_store_node_set_tags(self->store, rec->id, (const char *const *) tags, &error)) {
		reply_gerror(msg, error);
		return;
	}
	json_builder_begin_object(detail);
	add_strv(detail, "from", rec->tags);
	add_strv(detail, "to", tags);
	json_builder_end_object(detail);
	g_strfreev(rec->tags);
	rec->tags = g_steal_pointer(&tags);
	ctl_node_auto_approve(self, node);
	ctl_node_changed(self, node);
	ctl_node_topology_changed(self, rec->id);
	target = node_target(node);
	detail_text = builder_text(detail);
	ctl_audit(self, actor, "node.tags", target, detail_text);
	node_get(self, msg, node);
}

static void
node_expire(WrControl *self, SoupServerMessage *msg, const char *actor, CtlNode *node)
{
	g_autoptr(GError) error = NULL;

	if (!ctl_node_expire(self, node, actor, &error)) {
		reply_gerror(msg, error);
		return;
	}
	node_get(self, msg, node);
}

static void
node_delete(WrControl *self, SoupServerMessage *msg, const char *actor, CtlNode *node)
{
	g_autoptr(GError) error = NULL;

	if (!ctl_node_delete(self, node, actor, &error)) {
		reply_gerror(msg, error);
		return;
	}
	reply_ok(msg);
}

/* ---- routes -----------------------------------------------------------------------------------
 */

static void
routes_list(WrControl *self, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) nodes = sorted_nodes(self);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "routes");
	json_builder_begin_array(b);
	for (guint i = 0; i < nodes->len; i++) {
		CtlNode *node = nodes->pdata[i];
		WrStoreNode *rec = node->rec;

		for (char **r = rec->advertised_routes; r != NULL && *r != NULL; r++) {
			json_builder_begin_object(b);
			add_int(b, "node_id", rec->id);
			add_string(b, "node", rec->name);
			add_string(b, "route", *r);
			add_bool(b, "approved",
				 rec->approved_routes != NULL &&
					 g_strv_contains((const char *const *) rec->approved_routes,
							 *r));
			add_bool(b, "exit",
				 g_str_equal(*r, "0.0.0.0/0") || g_str_equal(*r, "::/0"));
			json_builder_end_object(b);
		}
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
node_routes(WrControl *self, SoupServerMessage *msg, const char *actor, CtlNode *node)
{
	g_autoptr(GBytes) body = request_body(msg);
	g_autoptr(JsonBuilder) detail = json_builder_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) approved = NULL;
	g_autofree char *target = NULL;
	g_autofree char *detail_text = NULL;
	WrStoreNode *rec = node->rec;
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);

	approved = wr_control_admin_routes_parse(data, len, &error);
	if (approved == NULL) {
		reply_gerror(msg, error);
		return;
	}
	for (guint i = 0; approved[i] != NULL; i++) {
		if (rec->advertised_routes == NULL ||
		    !g_strv_contains((const char *const *) rec->advertised_routes, approved[i])) {
			reply_errorf(msg, SOUP_STATUS_BAD_REQUEST,
				     "node %" G_GINT64_FORMAT " (%s) does not advertise %s",
				     rec->id, rec->name, approved[i]);
			return;
		}
	}
	if (!wr_store_node_set_approved_routes(self->store, rec->id, (const char *const *) approved,
					       &error)) {
		reply_gerror(msg, error);
		return;
	}
	json_builder_begin_object(detail);
	add_strv(detail, "from", rec->approved_routes);
	add_strv(detail, "to", approved);
	json_builder_end_object(detail);
	g_strfreev(rec->approved_routes);
	rec->approved_routes = g_steal_pointer(&approved);
	ctl_node_changed(self, node);
	ctl_node_topology_changed(self, rec->id);
	target = node_target(node);
	detail_text = builder_text(detail);
	ctl_audit(self, actor, "routes.approve", target, detail_text);
	node_get(self, msg, node);
}

/* ---- auth keys --------------------------------------------------------------------------------
 */

static void
authkey_json(WrControl *self, const WrStoreAuthKey *key, JsonBuilder *b, gint64 now)
{
	WrStoreUser *user = key->user_id != 0 ? ctl_user_lookup(self, key->user_id) : NULL;

	add_int(b, "id", key->id);
	add_string(b, "prefix", key->prefix);
	add_int(b, "user_id", key->user_id);
	add_string(b, "user", user != NULL ? user->login_name : NULL);
	add_bool(b, "reusable", key->reusable);
	add_bool(b, "ephemeral", key->ephemeral);
	add_strv(b, "tags", key->tags);
	add_int(b, "expiry", key->expiry);
	add_bool(b, "expired", key->expiry != 0 && key->expiry <= now);
	add_bool(b, "used", key->used);
	add_int(b, "created", key->created);
}

static void
authkeys_list(WrControl *self, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) keys = NULL;
	g_autoptr(GError) error = NULL;
	gint64 now = now_s();

	keys = wr_store_authkey_list(self->store, &error);
	if (keys == NULL) {
		reply_gerror(msg, error);
		return;
	}
	g_ptr_array_set_free_func(keys, (GDestroyNotify) wr_store_authkey_free);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "authkeys");
	json_builder_begin_array(b);
	for (guint i = 0; i < keys->len; i++) {
		json_builder_begin_object(b);
		authkey_json(self, keys->pdata[i], b, now);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

/* frees the answer that carried a secret, wiped */
static void
wipe_string_cb(gpointer data)
{
	GString *s = data;

	wr_memzero(s->str, s->allocated_len);
	g_string_free(s, TRUE);
}

/* the request's user, which must exist: its id, 0 for none; FALSE after answering 404 */
static gboolean
request_user(WrControl *self, SoupServerMessage *msg, const WrControlAdminAuthkey *req, gint64 *out)
{
	GHashTableIter iter;
	gpointer value;

	if (req->user_id != 0) {
		if (ctl_user_lookup(self, req->user_id) == NULL) {
			reply_errorf(msg, SOUP_STATUS_NOT_FOUND,
				     "there is no user %" G_GINT64_FORMAT, req->user_id);
			return FALSE;
		}
		*out = req->user_id;
		return TRUE;
	}
	if (req->user_login == NULL)
		return TRUE;
	g_hash_table_iter_init(&iter, self->users);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		WrStoreUser *u = value;

		if (g_ascii_strcasecmp(u->login_name, req->user_login) == 0) {
			*out = u->id;
			return TRUE;
		}
	}
	reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "there is no user %s", req->user_login);
	return FALSE;
}

static void
authkeys_create(WrControl *self, SoupServerMessage *msg, const char *actor)
{
	g_autoptr(GBytes) body = request_body(msg);
	g_autoptr(WrControlAdminAuthkey) req = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonBuilder) detail = json_builder_new();
	g_autoptr(WrStoreAuthKey) key = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *target = NULL;
	g_autofree char *detail_text = NULL;
	g_autofree char *rest = NULL;
	gint64 user_id = 0, now = now_s();
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);
	g_autoptr(GBytes) answer = NULL;
	char *secret = NULL;
	GString *out;

	req = wr_control_admin_authkey_parse(data, len, now, &error);
	if (req == NULL) {
		reply_gerror(msg, error);
		return;
	}
	if (!request_user(self, msg, req, &user_id))
		return;
	key = wr_store_authkey_create(self->store, user_id, req->reusable, req->ephemeral,
				      (const char *const *) req->tags, req->expiry, now, &secret,
				      &error);
	if (key == NULL) {
		reply_gerror(msg, error);
		return;
	}
	target = g_strdup_printf("authkey:%" G_GINT64_FORMAT ":%s", key->id, key->prefix);
	json_builder_begin_object(detail);
	add_bool(detail, "reusable", key->reusable);
	add_bool(detail, "ephemeral", key->ephemeral);
	add_strv(detail, "tags", key->tags);
	add_int(detail, "expiry", key->expiry);
	add_int(detail, "user_id", key->user_id);
	json_builder_end_object(detail);
	detail_text = builder_text(detail);
	ctl_audit(self, actor, "authkey.create", target, detail_text);

	/* the secret goes into the answer once, by hand, so that every copy is wiped */
	json_builder_begin_object(b);
	authkey_json(self, key, b, now);
	json_builder_end_object(b);
	rest = builder_text(b);
	out = g_string_sized_new(strlen(rest) + WR_STORE_AUTHKEY_LEN + 16);
	g_string_append(out, "{\"key\":\"");
	g_string_append(out, secret);
	g_string_append(out, "\",");
	g_string_append(out, rest + 1);
	wr_memzero(secret, strlen(secret));
	g_free(secret);
	soup_server_message_set_status(msg, SOUP_STATUS_CREATED, NULL);
	soup_message_headers_set_content_type(soup_server_message_get_response_headers(msg),
					      "application/json", NULL);
	len = out->len;
	answer = g_bytes_new_with_free_func(out->str, len, wipe_string_cb, out);
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), answer);
}

static void
authkeys_expire(WrControl *self, SoupServerMessage *msg, const char *actor, const char *id_text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree char *target = NULL;
	const char *prefix = NULL;
	gint64 id = 0;

	if (!parse_id(msg, "auth key", id_text, &id))
		return;
	keys = wr_store_authkey_list(self->store, &error);
	if (keys == NULL) {
		reply_gerror(msg, error);
		return;
	}
	g_ptr_array_set_free_func(keys, (GDestroyNotify) wr_store_authkey_free);
	for (guint i = 0; i < keys->len; i++)
		if (((WrStoreAuthKey *) keys->pdata[i])->id == id)
			prefix = ((WrStoreAuthKey *) keys->pdata[i])->prefix;
	if (prefix == NULL) {
		reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "there is no auth key %" G_GINT64_FORMAT,
			     id);
		return;
	}
	if (!wr_store_authkey_expire(self->store, id, now_s(), &error)) {
		reply_gerror(msg, error);
		return;
	}
	target = g_strdup_printf("authkey:%" G_GINT64_FORMAT ":%s", id, prefix);
	ctl_audit(self, actor, "authkey.expire", target, NULL);
	reply_ok(msg);
}

/* ---- policy -----------------------------------------------------------------------------------
 */

static void
policy_get(WrControl *self, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(WrStorePolicy) policy = NULL;
	g_autoptr(GError) error = NULL;

	policy = wr_store_policy_get(self->store, &error);
	if (policy == NULL && error != NULL) {
		reply_gerror(msg, error);
		return;
	}
	json_builder_begin_object(b);
	add_int(b, "version", policy != NULL ? policy->version : 0);
	add_string(b, "text", policy != NULL ? policy->text : "");
	add_string(b, "actor", policy != NULL ? policy->actor : NULL);
	add_int(b, "created", policy != NULL ? policy->created : 0);
	add_bool(b, "active", self->policy != NULL);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

static void
policy_put(WrControl *self, SoupServerMessage *msg, const char *actor, gboolean check_only)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	const char *data = g_bytes_get_data(bytes, &len);

	if (len > WR_POLICY_MAX_SIZE) {
		reply_errorf(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
			     "the policy is over %d bytes", WR_POLICY_MAX_SIZE);
		return;
	}
	if (check_only) {
		g_autoptr(WrPolicy) policy = NULL;

		if (len == 0) {
			reply_error(msg, SOUP_STATUS_BAD_REQUEST, "the policy is empty");
			return;
		}
		policy = wr_policy_new_from_data(data, len, &error);
		if (policy == NULL) {
			reply_errorf(msg, SOUP_STATUS_BAD_REQUEST, "policy: %s", error->message);
			return;
		}
		reply_ok(msg);
		return;
	}
	if (!ctl_set_policy(self, data != NULL ? data : "", len, actor, &error)) {
		if (error->domain == WR_STORE_ERROR)
			reply_gerror(msg, error);
		else
			reply_errorf(msg, SOUP_STATUS_BAD_REQUEST, "policy: %s", error->message);
		return;
	}
	policy_get(self, msg);
}

/* ---- audit ------------------------------------------------------------------------------------
 */

/* since= (unix seconds, at most max_since) and limit= of a listing; FALSE, the reply sent,
 * when one is bad */
static gboolean
list_since_limit(SoupServerMessage *msg, GHashTable *query, guint64 max_since, guint64 *since,
		 guint64 *limit)
{
	const char *since_text = query != NULL ? g_hash_table_lookup(query, "since") : NULL;
	const char *limit_text = query != NULL ? g_hash_table_lookup(query, "limit") : NULL;

	*since = 0;
	*limit = ADMIN_AUDIT_DEFAULT;
	if (since_text != NULL &&
	    !g_ascii_string_to_unsigned(since_text, 10, 0, max_since, since, NULL)) {
		reply_errorf(msg, SOUP_STATUS_BAD_REQUEST, "since=%s is not a unix time in seconds",
			     since_text);
		return FALSE;
	}
	if (limit_text != NULL &&
	    !g_ascii_string_to_unsigned(limit_text, 10, 1, ADMIN_AUDIT_MAX, limit, NULL)) {
		reply_errorf(msg, SOUP_STATUS_BAD_REQUEST, "limit=%s is not a number from 1 to %d",
			     limit_text, ADMIN_AUDIT_MAX);
		return FALSE;
	}
	return TRUE;
}

static void
audit_list(WrControl *self, SoupServerMessage *msg, GHashTable *query)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) events = NULL;
	g_autoptr(GError) error = NULL;
	guint64 since, limit;

	if (!list_since_limit(msg, query, G_MAXINT64, &since, &limit))
		return;
	events = wr_store_audit_list(self->store, (gint64) since, (guint) limit, &error);
	if (events == NULL) {
		reply_gerror(msg, error);
		return;
	}
	g_ptr_array_set_free_func(events, (GDestroyNotify) wr_store_audit_event_free);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "events");
	json_builder_begin_array(b);
	for (guint i = 0; i < events->len; i++) {
		WrStoreAuditEvent *e = events->pdata[i];
		g_autoptr(JsonNode) detail = NULL;

		json_builder_begin_object(b);
		add_int(b, "id", e->id);
		add_int(b, "time", e->time);
		add_string(b, "actor", e->actor);
		add_string(b, "action", e->action);
		add_string(b, "target", e->target);
		json_builder_set_member_name(b, "detail");
		detail = e->detail != NULL ? json_from_string(e->detail, NULL) : NULL;
		if (detail != NULL)
			json_builder_add_value(b, g_steal_pointer(&detail));
		else
			json_builder_add_null_value(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

/* ---- flows ------------------------------------------------------------------------------------
 */

/* the name of a value of self->nodes or self->users, and its id */
typedef const char *(*FlowsNameOf)(gpointer value, gint64 *out_id);

static const char *
node_name_of(gpointer value, gint64 *out_id)
{
	CtlNode *node = value;

	*out_id = node->rec->id;
	return node->rec->name;
}

static const char *
user_name_of(gpointer value, gint64 *out_id)
{
	WrStoreUser *u = value;

	*out_id = u->id;
	return u->login_name;
}

/* node= and user=: an id, or the name (any case) of one of table's values, a `what` */
static gboolean
flows_id(SoupServerMessage *msg, const char *what, GHashTable *table, FlowsNameOf name_of,
	 const char *text, gint64 *out)
{
	GHashTableIter iter;
	gpointer value;
	guint64 id;

	if (g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &id, NULL)) {
		*out = (gint64) id;
		return TRUE;
	}
	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		gint64 value_id;

		if (g_ascii_strcasecmp(name_of(value, &value_id), text) == 0) {
			*out = value_id;
			return TRUE;
		}
	}
	reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "there is no %s %s", what, text);
	return FALSE;
}

/* GET /v1/flows?node=&user=&since=&limit=: the flow records nodes sent (docs/flow-logs.md) */
static void
flows_list(WrControl *self, SoupServerMessage *msg, GHashTable *query)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) flows = NULL;
	g_autoptr(GError) error = NULL;
	const char *node_text = query != NULL ? g_hash_table_lookup(query, "node") : NULL;
	const char *user_text = query != NULL ? g_hash_table_lookup(query, "user") : NULL;
	guint64 since, limit;
	gint64 node_id = 0, user_id = 0;

	/* since in microseconds must fit */
	if (!list_since_limit(msg, query, G_MAXINT64 / G_USEC_PER_SEC, &since, &limit))
		return;
	if ((node_text != NULL &&
	     !flows_id(msg, "node", self->nodes, node_name_of, node_text, &node_id)) ||
	    (user_text != NULL &&
	     !flows_id(msg, "user", self->users, user_name_of, user_text, &user_id)))
		return;
	flows = wr_store_flows_list(self->store, node_id, user_id, (gint64) since * G_USEC_PER_SEC,
				    (guint) limit, &error);
	if (flows == NULL) {
		reply_gerror(msg, error);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "flows");
	json_builder_begin_array(b);
	for (guint i = 0; i < flows->len; i++) {
		WrStoreFlow *f = flows->pdata[i];
		CtlNode *node = ctl_node_lookup(self, f->node_id);
		WrStoreUser *user =
			f->user_id != 0 ? g_hash_table_lookup(self->users, &f->user_id) : NULL;

		json_builder_begin_object(b);
		add_int(b, "id", f->id);
		add_int(b, "node_id", f->node_id);
		add_string(b, "node", node != NULL ? node->rec->name : NULL);
		add_int(b, "user_id", f->user_id);
		add_string(b, "user", user != NULL ? user->login_name : NULL);
		add_int(b, "received", f->received);
		add_int(b, "start", f->start_us);
		add_int(b, "end", f->end_us);
		add_string(b, "proto", f->proto);
		add_string(b, "local", f->local);
		add_string(b, "remote", f->remote);
		json_builder_set_member_name(b, "outbound");
		json_builder_add_boolean_value(b, f->outbound);
		add_int(b, "peer_id", f->peer_id);
		add_string(b, "peer", f->peer);
		add_string(b, "path", f->path);
		add_string(b, "end_reason", f->end_reason);
		add_int(b, "tx_packets", f->tx_packets);
		add_int(b, "tx_bytes", f->tx_bytes);
		add_int(b, "rx_packets", f->rx_packets);
		add_int(b, "rx_bytes", f->rx_bytes);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	reply_json(msg, SOUP_STATUS_OK, b);
}

/* ---- the server -------------------------------------------------------------------------------
 */

/* root, the server's own user, or a member of the socket's group; out_uid is the peer's */
static gboolean
peer_allowed(WrControl *self, SoupServerMessage *msg, uid_t *out_uid)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	g_autoptr(GCredentials) creds = NULL;
	GStatBuf st;
	uid_t uid;
	struct passwd *pw;
	struct group *gr;

	if (socket == NULL)
		return FALSE;
	creds = g_socket_get_credentials(socket, NULL);
	if (creds == NULL)
		return FALSE;
	uid = g_credentials_get_unix_user(creds, NULL);
	if (uid == (uid_t) -1)
		return FALSE;
	*out_uid = uid;
	if (uid == 0 || uid == getuid())
		return TRUE;
	if (g_stat(self->config->admin_socket, &st) != 0)
		return FALSE;
	pw = getpwuid(uid);
	if (pw == NULL)
		return FALSE;
	if (pw->pw_gid == st.st_gid)
		return TRUE;
	gr = getgrgid(st.st_gid);
	if (gr == NULL)
		return FALSE;
	for (char **m = gr->gr_mem; m != NULL && *m != NULL; m++)
		if (g_str_equal(*m, pw->pw_name))
			return TRUE;
	return FALSE;
}

/* before the body is read: refuse strangers and oversized or unbounded bodies */
static void
early_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	 gpointer user_data)
{
	WrControl *self = user_data;
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	goffset limit = g_str_equal(path, "/v1/policy") || g_str_equal(path, "/v1/policy/check")
				? WR_POLICY_MAX_SIZE
				: ADMIN_MAX_BODY;
	uid_t uid = 0;

	if (!peer_allowed(self, msg, &uid)) {
		reply_error(msg, SOUP_STATUS_FORBIDDEN,
			    "only root, the server's user and the socket's group may use the "
			    "admin socket");
		return;
	}
	if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CHUNKED) {
		reply_error(msg, SOUP_STATUS_LENGTH_REQUIRED,
			    "send the body with a Content-Length");
		return;
	}
	if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
	    soup_message_headers_get_content_length(headers) > limit)
		reply_errorf(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
			     "the body is over %" G_GOFFSET_FORMAT " bytes", limit);
}

/* routes one request; FALSE when the method and path name nothing */
static gboolean
dispatch(WrControl *self, SoupServerMessage *msg, const char *method, const char *path,
	 GHashTable *query, const char *actor)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", 7);
	gboolean get = g_str_equal(method, "GET"), post = g_str_equal(method, "POST");
	gboolean del = g_str_equal(method, "DELETE"), put = g_str_equal(method, "PUT");
	const char *what, *id, *verb;
	guint n = g_strv_length(parts);

	/* "/v1/nodes/5/rename" -> "", "v1", "nodes", "5", "rename" */
	while (n > 1 && parts[n - 1][0] == '\0') /* a trailing slash */
		n--;
	if (n < 3 || n > 5 || parts[0][0] != '\0' || !g_str_equal(parts[1], "v1"))
		return FALSE;
	what = parts[2];
	id = n > 3 ? parts[3] : NULL;
	verb = n > 4 ? parts[4] : NULL;
	if (g_str_equal(what, "users")) {
		if (id == NULL && get)
			users_list(self, msg);
		else if (id != NULL && verb == NULL && del)
			users_delete(self, msg, actor, id);
		else
			return FALSE;
	} else if (g_str_equal(what, "nodes")) {
		const char *const verbs[] = {"expire", "rename", "tags", "routes", NULL};
		CtlNode *node;

		if (id == NULL) {
			if (!get)
				return FALSE;
			nodes_list(self, msg);
			return TRUE;
		}
		if (verb == NULL ? !(get || del) : !(post && g_strv_contains(verbs, verb)))
			return FALSE;
		node = find_node(self, msg, id);
		if (node == NULL)
			return TRUE;
		if (verb == NULL && get)
			node_get(self, msg, node);
		else if (verb == NULL)
			node_delete(self, msg, actor, node);
		else if (g_str_equal(verb, "expire"))
			node_expire(self, msg, actor, node);
		else if (g_str_equal(verb, "rename"))
			node_rename(self, msg, actor, node);
		else if (g_str_equal(verb, "tags"))
			node_tags(self, msg, actor, node);
		else
			node_routes(self, msg, actor, node);
	} else if (g_str_equal(what, "routes")) {
		if (id != NULL || !get)
			return FALSE;
		routes_list(self, msg);
	} else if (g_str_equal(what, "authkeys")) {
		if (id == NULL && get)
			authkeys_list(self, msg);
		else if (id == NULL && post)
			authkeys_create(self, msg, actor);
		else if (id != NULL && verb != NULL && g_str_equal(verb, "expire") && post)
			authkeys_expire(self, msg, actor, id);
		else
			return FALSE;
	} else if (g_str_equal(what, "policy")) {
		if (id == NULL && get)
			policy_get(self, msg);
		else if (id == NULL && put)
			policy_put(self, msg, actor, FALSE);
		else if (id != NULL && g_str_equal(id, "check") && verb == NULL && post)
			policy_put(self, msg, actor, TRUE);
		else
			return FALSE;
	} else if (g_str_equal(what, "audit")) {
		if (id != NULL || !get)
			return FALSE;
		audit_list(self, msg, query);
	} else if (g_str_equal(what, "flows")) {
		if (id != NULL || !get)
			return FALSE;
		flows_list(self, msg, query);
	} else {
		return FALSE;
	}
	return TRUE;
}

static void
admin_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	 gpointer user_data)
{
	WrControl *self = user_data;
	const char *method = soup_server_message_get_method(msg);
	g_autofree char *actor = NULL;
	uid_t uid = 0;

	if (soup_server_message_get_status(msg) != 0)
		return; /* refused early */
	if (!peer_allowed(self, msg, &uid)) {
		reply_error(msg, SOUP_STATUS_FORBIDDEN, "not allowed");
		return;
	}
	actor = g_strdup_printf("admin:uid=%u", (guint) uid);
	if (!dispatch(self, msg, method, path, query, actor))
		reply_errorf(msg, SOUP_STATUS_NOT_FOUND, "%s %s is not part of the admin API",
			     method, path);
}

/* TRUE if a server answers on path */
static gboolean
socket_is_live(const char *path)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	g_autoptr(GSocketConnection) conn = NULL;

	g_socket_client_set_timeout(client, 2);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
	return conn != NULL;
}

gboolean
ctl_admin_start(WrControl *self, GError **error)
{
	const char *path = self->config->admin_socket;
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocket) socket = NULL;
	GStatBuf st;

	if (g_mkdir_with_parents(dir, 0750) != 0) {
		int saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "admin socket: cannot create %s: %s", dir, g_strerror(saved));
		return FALSE;
	}
	if (g_lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "admin socket: %s exists and is not a socket", path);
			return FALSE;
		}
		if (socket_is_live(path)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
				    "admin socket: another server is answering on %s", path);
			return FALSE;
		}
		if (g_unlink(path) != 0) {
			int saved = errno;

			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    "admin socket: cannot remove the stale %s: %s", path,
				    g_strerror(saved));
			return FALSE;
		}
	}
	addr = g_unix_socket_address_new(path);
	socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
			      error);
	if (socket == NULL || !g_socket_bind(socket, addr, FALSE, error)) {
		g_prefix_error(error, "admin socket %s: ", path);
		return FALSE;
	}
	if (g_chmod(path, 0660) != 0) {
		int saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "admin socket: chmod %s: %s", path, g_strerror(saved));
		(void) g_unlink(path);
		return FALSE;
	}
	self->admin_http = soup_server_new("server-header", "warren-control ", NULL);
	soup_server_add_early_handler(self->admin_http, NULL, early_cb, self, NULL);
	soup_server_add_handler(self->admin_http, NULL, admin_cb, self, NULL);
	if (!g_socket_listen(socket, error) ||
	    !soup_server_listen_socket(self->admin_http, socket, 0, error)) {
		g_prefix_error(error, "admin socket %s: ", path);
		g_clear_object(&self->admin_http);
		(void) g_unlink(path);
		return FALSE;
	}
	return TRUE;
}

void
ctl_admin_stop(WrControl *self)
{
	if (self->admin_http == NULL)
		return;
	soup_server_disconnect(self->admin_http);
	g_clear_object(&self->admin_http);
	(void) g_unlink(self->config->admin_socket);
}
