/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrStore"

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-store-private.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_store_error_quark(void)
{
	return g_quark_from_static_string("wr-store-error-quark");
}

struct _WrStore {
	WrStoreBackend *backend;
};

#define AUTHKEY_TAG	     "wrkey-"
#define AUTHKEY_ID_BYTES     8
#define AUTHKEY_SECRET_BYTES 24
/* "wrkey-" and the id in hex: the public part */
#define AUTHKEY_PREFIX_LEN (sizeof(AUTHKEY_TAG) - 1 + 2 * AUTHKEY_ID_BYTES)
#define AUTHKEY_HASH_LEN   32

G_STATIC_ASSERT(WR_STORE_AUTHKEY_LEN == AUTHKEY_PREFIX_LEN + 1 + 2 * AUTHKEY_SECRET_BYTES);

/*
 * The schema, one array of statements per version; @ID@ is the backend's surrogate key type.
 * Lists (tags, endpoints, routes) are JSON arrays in TEXT, hostinfo and audit details JSON
 * objects; booleans are 0/1 INTEGERs; times are unix seconds.  Append new versions, never edit
 * a released one.
 */
static const char *const migration_1[] = {
	"CREATE TABLE users (id @ID@, iss TEXT NOT NULL, sub TEXT NOT NULL, "
	"login_name TEXT NOT NULL, display_name TEXT NOT NULL, picture TEXT NOT NULL, "
	"created BIGINT NOT NULL, UNIQUE (iss, sub))",
	"CREATE TABLE nodes (id @ID@, machine_key TEXT NOT NULL UNIQUE, "
	"node_key TEXT NOT NULL UNIQUE, old_node_key TEXT, disco_key TEXT NOT NULL, "
	"name TEXT NOT NULL UNIQUE, user_id BIGINT REFERENCES users (id), tags TEXT NOT NULL, "
	"ipv4 TEXT NOT NULL UNIQUE, ipv6 TEXT NOT NULL UNIQUE, hostinfo TEXT NOT NULL, "
	"endpoints TEXT NOT NULL, advertised_routes TEXT NOT NULL, "
	"approved_routes TEXT NOT NULL, exit_node INTEGER NOT NULL, key_expiry BIGINT NOT NULL, "
	"last_seen BIGINT NOT NULL, created BIGINT NOT NULL)",
	"CREATE INDEX nodes_old_node_key ON nodes (old_node_key)",
	"CREATE INDEX nodes_user_id ON nodes (user_id)",
	"CREATE TABLE auth_keys (id @ID@, prefix TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, "
	"user_id BIGINT REFERENCES users (id) ON DELETE CASCADE, reusable INTEGER NOT NULL, "
	"ephemeral INTEGER NOT NULL, tags TEXT NOT NULL, expiry BIGINT NOT NULL, "
	"used INTEGER NOT NULL, created BIGINT NOT NULL)",
	"CREATE TABLE policies (version @ID@, body TEXT NOT NULL, actor TEXT NOT NULL, "
	"created BIGINT NOT NULL)",
	"CREATE TABLE audit (id @ID@, event_time BIGINT NOT NULL, actor TEXT NOT NULL, "
	"action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)",
	"CREATE INDEX audit_event_time ON audit (event_time)",
	NULL,
};

/* version 2: an ephemeral node (from an ephemeral auth key) stays ephemeral across restarts */
static const char *const migration_2[] = {
	"ALTER TABLE nodes ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0",
	NULL,
};

/* version 3: flow records the nodes send when the map says collect_flows (docs/flow-logs.md);
 * no foreign key: the records outlive the node they came from, as audit records should */
static const char *const migration_3[] = {
	"CREATE TABLE flows (id @ID@, node_id BIGINT NOT NULL, user_id BIGINT NOT NULL, "
	"received BIGINT NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT NOT NULL, "
	"proto TEXT NOT NULL, local_addr TEXT NOT NULL, remote_addr TEXT NOT NULL, "
	"outbound INTEGER NOT NULL, peer_id BIGINT NOT NULL, peer TEXT NOT NULL, "
	"path TEXT NOT NULL, end_reason TEXT NOT NULL, tx_packets BIGINT NOT NULL, "
	"tx_bytes BIGINT NOT NULL, rx_packets BIGINT NOT NULL, rx_bytes BIGINT NOT NULL)",
	"CREATE INDEX flows_end_us ON flows (end_us)",
	"CREATE INDEX flows_node_id ON flows (node_id)",
	NULL,
};

static const char *const *const migrations[] = {
	migration_1,
	migration_2,
	migration_3,
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == WR_STORE_SCHEMA_VERSION);

#define USER_COLUMNS "id, iss, sub, login_name, display_name, picture, created"
#define NODE_COLUMNS                                                                            \
	"id, machine_key, node_key, old_node_key, disco_key, name, user_id, tags, ipv4, ipv6, " \
	"hostinfo, endpoints, advertised_routes, approved_routes, exit_node, key_expiry, "      \
	"last_seen, created, ephemeral"
#define AUTHKEY_COLUMNS "id, prefix, user_id, reusable, ephemeral, tags, expiry, used, created"
#define POLICY_COLUMNS	"version, body, actor, created"
#define AUDIT_COLUMNS	"id, event_time, actor, action, target, detail"
#define FLOW_COLUMNS                                                                         \
	"id, node_id, user_id, received, start_us, end_us, proto, local_addr, remote_addr, " \
	"outbound, peer_id, peer, path, end_reason, tx_packets, tx_bytes, rx_packets, rx_bytes"

#define P_TEXT(s) ((WrStoreParam){WR_STORE_PARAM_TEXT, (s), 0})
#define P_INT(n)  ((WrStoreParam){WR_STORE_PARAM_INT, NULL, (n)})
#define P_NULL	  ((WrStoreParam){WR_STORE_PARAM_NULL, NULL, 0})

/* rows */

WrStoreRows *
wr_store_rows_new(guint n_columns)
{
	WrStoreRows *rows = g_new0(WrStoreRows, 1);

	rows->n_columns = n_columns;
	rows->cells = g_ptr_array_new_with_free_func(g_free);
	return rows;
}

void
wr_store_rows_add(WrStoreRows *rows, char *cell)
{
	g_ptr_array_add(rows->cells, cell);
	rows->n_rows = rows->cells->len / MAX(rows->n_columns, 1);
}

void
wr_store_rows_free(WrStoreRows *rows)
{
	if (rows == NULL)
		return;
	g_ptr_array_unref(rows->cells);
	g_free(rows);
}

static const char *
cell(WrStoreRows *rows, guint row, guint column)
{
	g_assert(row < rows->n_rows && column < rows->n_columns);
	return g_ptr_array_index(rows->cells, row * rows->n_columns + column);
}

static char *
cell_dup(WrStoreRows *rows, guint row, guint column)
{
	const char *s = cell(rows, row, column);

	return g_strdup(s != NULL ? s : "");
}

static gint64
cell_int(WrStoreRows *rows, guint row, guint column)
{
	const char *s = cell(rows, row, column);

	return s != NULL ? g_ascii_strtoll(s, NULL, 10) : 0;
}

static char **
strv_from_json(const char *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	JsonArray *array;
	JsonNode *root;

	if (text == NULL || !json_parser_load_from_data(parser, text, -1, NULL))
		return g_strv_builder_end(builder);
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_ARRAY(root))
		return g_strv_builder_end(builder);
	array = json_node_get_array(root);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);

		if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING)
			g_strv_builder_add(builder, json_node_get_string(node));
	}
	return g_strv_builder_end(builder);
}

static char *
strv_to_json(const char *const *strv)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_array(builder);
	for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
		json_builder_add_string_value(builder, strv[i]);
	json_builder_end_array(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/* NULL or a JSON object */
static gboolean
check_json_object(const char *what, const char *text, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error_local = NULL;
	JsonNode *root;

	if (text == NULL)
		return TRUE;
	if (!json_parser_load_from_data(parser, text, -1, &error_local)) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID, "%s is not JSON: %s",
			    what, error_local->message);
		return FALSE;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID,
			    "%s is not a JSON object", what);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_text(const char *what, const char *text, GError **error)
{
	if (text == NULL || text[0] == '\0') {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID, "%s is empty", what);
		return FALSE;
	}
	return TRUE;
}

/* statements and transactions */

static WrStoreRows *
run(WrStore *self, const char *sql, const WrStoreParam *params, guint n_params, GError **error)
{
	return self->backend->klass->exec(self->backend, sql, params, n_params, error);
}

static gboolean
run_void(WrStore *self, const char *sql, const WrStoreParam *params, guint n_params,
	 gint64 *out_changes, GError **error)
{
	g_autoptr(WrStoreRows) rows = run(self, sql, params, n_params, error);

	if (rows == NULL)
		return FALSE;
	if (out_changes != NULL)
		*out_changes = rows->changes;
	return TRUE;
}

static gboolean
txn_begin(WrStore *self, GError **error)
{
	return run_void(self, self->backend->klass->begin_sql, NULL, 0, NULL, error);
}

static gboolean
txn_commit(WrStore *self, GError **error)
{
	return run_void(self, "COMMIT", NULL, 0, NULL, error);
}

/* after a failure: the first error is the one to report */
static void
txn_rollback(WrStore *self)
{
	g_autoptr(GError) error_local = NULL;

	if (!run_void(self, "ROLLBACK", NULL, 0, NULL, &error_local))
		g_debug("rollback failed: %s, ignoring", error_local->message);
}

static gboolean
fail(GError **error, const char *operation)
{
	g_prefix_error(error, "cannot %s: ", operation);
	return FALSE;
}

static gpointer
fail_null(GError **error, const char *operation)
{
	g_prefix_error(error, "cannot %s: ", operation);
	return NULL;
}

static gboolean
not_found(GError **error, const char *operation, const char *what, gint64 id)
{
	g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
		    "cannot %s: no %s %" G_GINT64_FORMAT, operation, what, id);
	return FALSE;
}

/* opening and migrations */

static gint64
current_version(WrStore *self, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT MAX(version) FROM schema_version", NULL, 0, error);

	if (rows == NULL)
		return -1;
	return rows->n_rows > 0 ? cell_int(rows, 0, 0) : 0;
}

static gboolean
migrate_locked(WrStore *self, GError **error)
{
	const char *lock_sql = self->backend->klass->migration_lock_sql;
	gint64 version;

	if (lock_sql != NULL && !run_void(self, lock_sql, NULL, 0, NULL, error))
		return FALSE;
	if (!run_void(self, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
		      NULL, 0, NULL, error))
		return FALSE;
	version = current_version(self, error);
	if (version < 0)
		return FALSE;
	if (version > WR_STORE_SCHEMA_VERSION) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_TOO_NEW,
			    "the database has schema version %" G_GINT64_FORMAT
			    ", newer than the %d this warren-control knows: upgrade warren-control",
			    version, WR_STORE_SCHEMA_VERSION);
		return FALSE;
	}
	for (gint64 v = version + 1; v <= WR_STORE_SCHEMA_VERSION; v++) {
		const char *const *statements = migrations[v - 1];
		WrStoreParam param = P_INT(v);

		for (guint i = 0; statements[i] != NULL; i++) {
			g_autoptr(GString) sql = g_string_new(statements[i]);

			g_string_replace(sql, "@ID@", self->backend->klass->id_type, 0);
			if (!run_void(self, sql->str, NULL, 0, NULL, error)) {
				g_prefix_error(error, "migration to version %" G_GINT64_FORMAT ": ",
					       v);
				return FALSE;
			}
		}
		if (!run_void(self, "DELETE FROM schema_version", NULL, 0, NULL, error) ||
		    !run_void(self, "INSERT INTO schema_version (version) VALUES ($1)", &param, 1,
			      NULL, error))
			return FALSE;
		g_debug("migrated the %s store to schema version %" G_GINT64_FORMAT,
			self->backend->klass->name, v);
	}
	return TRUE;
}

static gboolean
migrate(WrStore *self, GError **error)
{
	if (!txn_begin(self, error))
		return FALSE;
	if (!migrate_locked(self, error)) {
		txn_rollback(self);
		return FALSE;
	}
	return txn_commit(self, error);
}

static gboolean
has_prefix_ci(const char *s, const char *prefix)
{
	return g_ascii_strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static WrStoreBackend *
open_backend(const char *url, GError **error)
{
	if (url == NULL || url[0] == '\0') {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
				    "no database URL or path");
		return NULL;
	}
	/* libpq takes URIs itself; the conninfo may hold a password, so it is never echoed */
	if (has_prefix_ci(url, "postgresql://") || has_prefix_ci(url, "postgres://"))
		return wr_store_pg_open(url, error);
	if (has_prefix_ci(url, "postgresql:") || has_prefix_ci(url, "postgres:")) {
		const char *conninfo = strchr(url, ':') + 1;

		if (conninfo[0] == '\0') {
			g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
					    "empty PostgreSQL connection string");
			return NULL;
		}
		return wr_store_pg_open(conninfo, error);
	}
	if (has_prefix_ci(url, "sqlite://")) {
		const char *path = url + strlen("sqlite://");

		/* sqlite:///abs/path: a host part names nothing */
		if (path[0] != '/' || path[1] == '\0') {
			g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
				    "%s: expected sqlite:///absolute/path", url);
			return NULL;
		}
		return wr_store_sqlite_open(path, error);
	}
	if (has_prefix_ci(url, "sqlite:")) {
		const char *path = url + strlen("sqlite:");

		if (path[0] == '\0') {
			g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
				    "%s: no SQLite path", url);
			return NULL;
		}
		return wr_store_sqlite_open(path, error);
	}
	if (strstr(url, "://") != NULL) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
			    "%s: unknown database scheme (sqlite:// or postgresql://)", url);
		return NULL;
	}
	return wr_store_sqlite_open(url, error);
}

WrStore *
wr_store_open(const char *url, GError **error)
{
	g_autoptr(WrStore) self = g_new0(WrStore, 1);

	self->backend = open_backend(url, error);
	if (self->backend == NULL)
		return fail_null(error, "open the store");
	if (!migrate(self, error))
		return fail_null(error, "migrate the store");
	return g_steal_pointer(&self);
}

void
wr_store_close(WrStore *self)
{
	if (self == NULL)
		return;
	if (self->backend != NULL)
		self->backend->klass->close(self->backend);
	g_free(self);
}

const char *
wr_store_backend_name(const WrStore *self)
{
	return self->backend->klass->name;
}

gint64
wr_store_schema_version(WrStore *self, GError **error)
{
	gint64 version = current_version(self, error);

	if (version < 0)
		(void) fail(error, "read the schema version");
	return version;
}

/* users */

void
wr_store_user_free(WrStoreUser *user)
{
	if (user == NULL)
		return;
	g_free(user->iss);
	g_free(user->sub);
	g_free(user->login_name);
	g_free(user->display_name);
	g_free(user->picture);
	g_free(user);
}

static WrStoreUser *
user_from_row(WrStoreRows *rows, guint i)
{
	WrStoreUser *user = g_new0(WrStoreUser, 1);

	user->id = cell_int(rows, i, 0);
	user->iss = cell_dup(rows, i, 1);
	user->sub = cell_dup(rows, i, 2);
	user->login_name = cell_dup(rows, i, 3);
	user->display_name = cell_dup(rows, i, 4);
	user->picture = cell_dup(rows, i, 5);
	user->created = cell_int(rows, i, 6);
	return user;
}

/* the rows of a query that must find something: at least one, else NOT_FOUND "no such <what>" */
static WrStoreRows *
first_row(WrStore *self, const char *operation, const char *what, const char *sql,
	  const WrStoreParam *params, guint n_params, GError **error)
{
	g_autoptr(WrStoreRows) rows = run(self, sql, params, n_params, error);

	if (rows == NULL)
		return fail_null(error, operation);
	if (rows->n_rows == 0) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
			    "cannot %s: no such %s", operation, what);
		return NULL;
	}
	return g_steal_pointer(&rows);
}

/* the first row as a user, NOT_FOUND without one */
static WrStoreUser *
user_query(WrStore *self, const char *operation, const char *sql, const WrStoreParam *params,
	   guint n_params, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		first_row(self, operation, "user", sql, params, n_params, error);

	return rows != NULL ? user_from_row(rows, 0) : NULL;
}

WrStoreUser *
wr_store_user_upsert(WrStore *self, const char *iss, const char *sub, const char *login_name,
		     const char *display_name, const char *picture, gint64 now, GError **error)
{
	WrStoreParam params[] = {
		P_TEXT(iss),
		P_TEXT(sub),
		P_TEXT(login_name),
		P_TEXT(display_name != NULL ? display_name : ""),
		P_TEXT(picture != NULL ? picture : ""),
		P_INT(now),
	};

	if (!check_text("the issuer", iss, error) || !check_text("the subject", sub, error) ||
	    !check_text("the login name", login_name, error))
		return fail_null(error, "store a user");
	return user_query(
		self, "store a user",
		"INSERT INTO users (iss, sub, login_name, display_name, picture, created) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (iss, sub) DO UPDATE SET "
		"login_name = excluded.login_name, display_name = excluded.display_name, "
		"picture = excluded.picture RETURNING " USER_COLUMNS,
		params, G_N_ELEMENTS(params), error);
}

WrStoreUser *
wr_store_user_get(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};

	return user_query(self, "get a user", "SELECT " USER_COLUMNS " FROM users WHERE id = $1",
			  params, G_N_ELEMENTS(params), error);
}

WrStoreUser *
wr_store_user_get_by_subject(WrStore *self, const char *iss, const char *sub, GError **error)
{
	WrStoreParam params[] = {P_TEXT(iss), P_TEXT(sub)};

	return user_query(self, "get a user by subject",
			  "SELECT " USER_COLUMNS " FROM users WHERE iss = $1 AND sub = $2", params,
			  G_N_ELEMENTS(params), error);
}

GPtrArray *
wr_store_user_list(WrStore *self, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT " USER_COLUMNS " FROM users ORDER BY id", NULL, 0, error);
	GPtrArray *users;

	if (rows == NULL)
		return fail_null(error, "list users");
	users = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_user_free);
	for (guint i = 0; i < rows->n_rows; i++)
		g_ptr_array_add(users, user_from_row(rows, i));
	return users;
}

gboolean
wr_store_user_delete(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};
	g_autoptr(GError) error_local = NULL;
	gint64 changes = 0;

	if (!run_void(self, "DELETE FROM users WHERE id = $1", params, 1, &changes, &error_local)) {
		if (g_error_matches(error_local, WR_STORE_ERROR, WR_STORE_ERROR_IN_USE)) {
			g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_IN_USE,
				    "cannot delete user %" G_GINT64_FORMAT
				    ": the user still has nodes (%s)",
				    id, error_local->message);
			return FALSE;
		}
		g_propagate_error(error, g_steal_pointer(&error_local));
		return fail(error, "delete a user");
	}
	if (changes == 0)
		return not_found(error, "delete a user", "user", id);
	return TRUE;
}

/* nodes */

void
wr_store_node_free(WrStoreNode *node)
{
	if (node == NULL)
		return;
	g_free(node->machine_key);
	g_free(node->node_key);
	g_free(node->old_node_key);
	g_free(node->disco_key);
	g_free(node->name);
	g_strfreev(node->tags);
	g_free(node->ipv4);
	g_free(node->ipv6);
	g_free(node->hostinfo);
	g_strfreev(node->endpoints);
	g_strfreev(node->advertised_routes);
	g_strfreev(node->approved_routes);
	g_free(node);
}

static WrStoreNode *
node_from_row(WrStoreRows *rows, guint i)
{
	WrStoreNode *node = g_new0(WrStoreNode, 1);

	node->id = cell_int(rows, i, 0);
	node->machine_key = cell_dup(rows, i, 1);
	node->node_key = cell_dup(rows, i, 2);
	node->old_node_key = g_strdup(cell(rows, i, 3));
	node->disco_key = cell_dup(rows, i, 4);
	node->name = cell_dup(rows, i, 5);
	node->user_id = cell_int(rows, i, 6);
	node->tags = strv_from_json(cell(rows, i, 7));
	node->ipv4 = cell_dup(rows, i, 8);
	node->ipv6 = cell_dup(rows, i, 9);
	node->hostinfo = cell_dup(rows, i, 10);
	node->endpoints = strv_from_json(cell(rows, i, 11));
	node->advertised_routes = strv_from_json(cell(rows, i, 12));
	node->approved_routes = strv_from_json(cell(rows, i, 13));
	node->exit_node = cell_int(rows, i, 14) != 0;
	node->key_expiry = cell_int(rows, i, 15);
	node->last_seen = cell_int(rows, i, 16);
	node->created = cell_int(rows, i, 17);
	node->ephemeral = cell_int(rows, i, 18) != 0;
	return node;
}

/* the first row as a node, NOT_FOUND without one */
static WrStoreNode *
node_query(WrStore *self, const char *operation, const char *sql, const WrStoreParam *params,
	   guint n_params, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		first_row(self, operation, "node", sql, params, n_params, error);

	return rows != NULL ? node_from_row(rows, 0) : NULL;
}

WrStoreNode *
wr_store_node_create(WrStore *self, const WrStoreNode *tmpl, gint64 now, GError **error)
{
	g_autofree char *tags = strv_to_json((const char *const *) tmpl->tags);
	g_autofree char *endpoints = strv_to_json((const char *const *) tmpl->endpoints);
	g_autofree char *advertised = strv_to_json((const char *const *) tmpl->advertised_routes);
	g_autofree char *approved = strv_to_json((const char *const *) tmpl->approved_routes);
	g_autoptr(GError) error_local = NULL;
	WrStoreParam params[] = {
		P_TEXT(tmpl->machine_key),
		P_TEXT(tmpl->node_key),
		P_TEXT(tmpl->disco_key != NULL ? tmpl->disco_key : ""),
		P_TEXT(tmpl->name),
		tmpl->user_id != 0 ? P_INT(tmpl->user_id) : P_NULL,
		P_TEXT(tags),
		P_TEXT(tmpl->ipv4),
		P_TEXT(tmpl->ipv6),
		P_TEXT(tmpl->hostinfo != NULL ? tmpl->hostinfo : "{}"),
		P_TEXT(endpoints),
		P_TEXT(advertised),
		P_TEXT(approved),
		P_INT(tmpl->exit_node ? 1 : 0),
		P_INT(tmpl->key_expiry),
		P_INT(tmpl->last_seen),
		P_INT(now),
		P_INT(tmpl->ephemeral ? 1 : 0),
	};
	WrStoreNode *node;

	if (!check_text("the machine key", tmpl->machine_key, error) ||
	    !check_text("the node key", tmpl->node_key, error) ||
	    !check_text("the name", tmpl->name, error) ||
	    !check_text("the IPv4 address", tmpl->ipv4, error) ||
	    !check_text("the IPv6 address", tmpl->ipv6, error) ||
	    !check_json_object("the hostinfo", tmpl->hostinfo, error))
		return fail_null(error, "create a node");
	node = node_query(
		self, "create a node",
		"INSERT INTO nodes (machine_key, node_key, disco_key, name, user_id, tags, "
		"ipv4, ipv6, hostinfo, endpoints, advertised_routes, approved_routes, "
		"exit_node, key_expiry, last_seen, created, ephemeral) VALUES ($1, $2, $3, $4, "
		"$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
		"RETURNING " NODE_COLUMNS,
		params, G_N_ELEMENTS(params), &error_local);
	if (node == NULL) {
		/* the only reference a new node holds */
		if (g_error_matches(error_local, WR_STORE_ERROR, WR_STORE_ERROR_IN_USE)) {
			g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
				    "cannot create a node: no user %" G_GINT64_FORMAT,
				    tmpl->user_id);
			return NULL;
		}
		g_propagate_error(error, g_steal_pointer(&error_local));
	}
	return node;
}

WrStoreNode *
wr_store_node_get(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};

	return node_query(self, "get a node", "SELECT " NODE_COLUMNS " FROM nodes WHERE id = $1",
			  params, G_N_ELEMENTS(params), error);
}

WrStoreNode *
wr_store_node_get_by_machine_key(WrStore *self, const char *machine_key, GError **error)
{
	WrStoreParam params[] = {P_TEXT(machine_key)};

	return node_query(self, "get a node by machine key",
			  "SELECT " NODE_COLUMNS " FROM nodes WHERE machine_key = $1", params,
			  G_N_ELEMENTS(params), error);
}

WrStoreNode *
wr_store_node_get_by_node_key(WrStore *self, const char *node_key, GError **error)
{
	WrStoreParam params[] = {P_TEXT(node_key)};

	/* a current key wins over another node's old one */
	return node_query(self, "get a node by node key",
			  "SELECT " NODE_COLUMNS " FROM nodes WHERE node_key = $1 OR "
			  "old_node_key = $1 ORDER BY CASE WHEN node_key = $1 THEN 0 ELSE 1 END "
			  "LIMIT 1",
			  params, G_N_ELEMENTS(params), error);
}

GPtrArray *
wr_store_node_list(WrStore *self, gint64 user_id, GError **error)
{
	WrStoreParam params[] = {P_INT(user_id)};
	g_autoptr(WrStoreRows) rows = NULL;
	GPtrArray *nodes;

	if (user_id == 0)
		rows = run(self, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY id", NULL, 0, error);
	else
		rows = run(self,
			   "SELECT " NODE_COLUMNS " FROM nodes WHERE user_id = $1 ORDER BY id",
			   params, G_N_ELEMENTS(params), error);
	if (rows == NULL)
		return fail_null(error, "list nodes");
	nodes = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_node_free);
	for (guint i = 0; i < rows->n_rows; i++)
		g_ptr_array_add(nodes, node_from_row(rows, i));
	return nodes;
}

/* an UPDATE of one node by id ($1): NOT_FOUND when there is none */
static gboolean
node_update(WrStore *self, const char *operation, gint64 id, const char *sql,
	    const WrStoreParam *params, guint n_params, GError **error)
{
	gint64 changes = 0;

	if (!run_void(self, sql, params, n_params, &changes, error))
		return fail(error, operation);
	if (changes == 0)
		return not_found(error, operation, "node", id);
	return TRUE;
}

static gboolean
rotate_locked(WrStore *self, gint64 id, const char *old_key, const char *new_key, gint64 key_expiry,
	      GError **error)
{
	WrStoreParam select[] = {P_INT(id)};
	WrStoreParam update[] = {P_INT(id), P_TEXT(new_key), P_INT(key_expiry)};
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT node_key FROM nodes WHERE id = $1", select, 1, error);

	if (rows == NULL)
		return FALSE;
	if (rows->n_rows == 0) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
			    "no node %" G_GINT64_FORMAT, id);
		return FALSE;
	}
	if (g_strcmp0(cell(rows, 0, 0), old_key) != 0) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID,
				    "the old node key is not the node's current key");
		return FALSE;
	}
	if (g_strcmp0(old_key, new_key) == 0) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID,
				    "the new node key is the current one");
		return FALSE;
	}
	return run_void(self,
			"UPDATE nodes SET old_node_key = node_key, node_key = $2, key_expiry = $3 "
			"WHERE id = $1",
			update, G_N_ELEMENTS(update), NULL, error);
}

gboolean
wr_store_node_rotate_key(WrStore *self, gint64 id, const char *old_key, const char *new_key,
			 gint64 key_expiry, GError **error)
{
	if (!check_text("the old node key", old_key, error) ||
	    !check_text("the new node key", new_key, error) || !txn_begin(self, error))
		return fail(error, "rotate the node key");
	if (!rotate_locked(self, id, old_key, new_key, key_expiry, error)) {
		txn_rollback(self);
		return fail(error, "rotate the node key");
	}
	if (!txn_commit(self, error))
		return fail(error, "rotate the node key");
	return TRUE;
}

gboolean
wr_store_node_forget_old_key(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};

	return node_update(self, "forget the old node key", id,
			   "UPDATE nodes SET old_node_key = NULL WHERE id = $1", params,
			   G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_update_status(WrStore *self, gint64 id, const char *disco_key,
			    const char *const *endpoints, const char *hostinfo, gint64 last_seen,
			    GError **error)
{
	g_autofree char *endpoints_json = endpoints != NULL ? strv_to_json(endpoints) : NULL;
	WrStoreParam params[] = {
		P_INT(id),
		disco_key != NULL ? P_TEXT(disco_key) : P_NULL,
		endpoints_json != NULL ? P_TEXT(endpoints_json) : P_NULL,
		hostinfo != NULL ? P_TEXT(hostinfo) : P_NULL,
		P_INT(last_seen),
	};

	if (!check_json_object("the hostinfo", hostinfo, error))
		return fail(error, "update the node status");
	return node_update(
		self, "update the node status", id,
		"UPDATE nodes SET disco_key = COALESCE($2, disco_key), "
		"endpoints = COALESCE($3, endpoints), hostinfo = COALESCE($4, hostinfo), "
		"last_seen = $5 WHERE id = $1",
		params, G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_set_advertised(WrStore *self, gint64 id, const char *const *routes,
			     gboolean exit_node, GError **error)
{
	g_autofree char *json = strv_to_json(routes);
	WrStoreParam params[] = {P_INT(id), P_TEXT(json), P_INT(exit_node ? 1 : 0)};

	return node_update(self, "set the advertised routes", id,
			   "UPDATE nodes SET advertised_routes = $2, exit_node = $3 WHERE id = $1",
			   params, G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_rename(WrStore *self, gint64 id, const char *name, GError **error)
{
	WrStoreParam params[] = {P_INT(id), P_TEXT(name)};

	if (!check_text("the name", name, error))
		return fail(error, "rename a node");
	return node_update(self, "rename a node", id, "UPDATE nodes SET name = $2 WHERE id = $1",
			   params, G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_set_tags(WrStore *self, gint64 id, const char *const *tags, GError **error)
{
	g_autofree char *json = strv_to_json(tags);
	WrStoreParam params[] = {P_INT(id), P_TEXT(json)};

	return node_update(self, "set the node tags", id,
			   "UPDATE nodes SET tags = $2 WHERE id = $1", params, G_N_ELEMENTS(params),
			   error);
}

gboolean
wr_store_node_set_approved_routes(WrStore *self, gint64 id, const char *const *routes,
				  GError **error)
{
	g_autofree char *json = strv_to_json(routes);
	WrStoreParam params[] = {P_INT(id), P_TEXT(json)};

	return node_update(self, "approve routes", id,
			   "UPDATE nodes SET approved_routes = $2 WHERE id = $1", params,
			   G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_expire(WrStore *self, gint64 id, gint64 now, GError **error)
{
	WrStoreParam params[] = {P_INT(id), P_INT(now)};

	return node_update(self, "expire a node", id,
			   "UPDATE nodes SET key_expiry = CASE WHEN key_expiry <> 0 AND "
			   "key_expiry < $2 THEN key_expiry ELSE $2 END WHERE id = $1",
			   params, G_N_ELEMENTS(params), error);
}

gboolean
wr_store_node_delete(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};

	return node_update(self, "delete a node", id, "DELETE FROM nodes WHERE id = $1", params,
			   G_N_ELEMENTS(params), error);
}

/* pre-auth keys */

void
wr_store_authkey_free(WrStoreAuthKey *key)
{
	if (key == NULL)
		return;
	g_free(key->prefix);
	g_strfreev(key->tags);
	g_free(key);
}

static WrStoreAuthKey *
authkey_from_row(WrStoreRows *rows, guint i)
{
	WrStoreAuthKey *key = g_new0(WrStoreAuthKey, 1);

	key->id = cell_int(rows, i, 0);
	key->prefix = cell_dup(rows, i, 1);
	key->user_id = cell_int(rows, i, 2);
	key->reusable = cell_int(rows, i, 3) != 0;
	key->ephemeral = cell_int(rows, i, 4) != 0;
	key->tags = strv_from_json(cell(rows, i, 5));
	key->expiry = cell_int(rows, i, 6);
	key->used = cell_int(rows, i, 7) != 0;
	key->created = cell_int(rows, i, 8);
	return key;
}

static void
hex_encode(const uint8_t *bytes, gsize len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (gsize i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static gboolean
hex_decode(const char *text, uint8_t *out, gsize len)
{
	if (text == NULL || strlen(text) != 2 * len)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		int hi = hex_value(text[2 * i]);
		int lo = hex_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return FALSE;
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return TRUE;
}

static gboolean
is_authkey_text(const char *secret)
{
	if (secret == NULL || strlen(secret) != WR_STORE_AUTHKEY_LEN ||
	    !g_str_has_prefix(secret, AUTHKEY_TAG) || secret[AUTHKEY_PREFIX_LEN] != '-')
		return FALSE;
	for (gsize i = strlen(AUTHKEY_TAG); i < WR_STORE_AUTHKEY_LEN; i++) {
		if (i != AUTHKEY_PREFIX_LEN && hex_value(secret[i]) < 0)
			return FALSE;
	}
	return TRUE;
}

WrStoreAuthKey *
wr_store_authkey_create(WrStore *self, gint64 user_id, gboolean reusable, gboolean ephemeral,
			const char *const *tags, gint64 expiry, gint64 now, char **out_secret,
			GError **error)
{
	uint8_t id[AUTHKEY_ID_BYTES];
	uint8_t secret[AUTHKEY_SECRET_BYTES];
	uint8_t hash[AUTHKEY_HASH_LEN];
	char text[WR_STORE_AUTHKEY_LEN + 1];
	char hash_hex[2 * AUTHKEY_HASH_LEN + 1];
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	g_autofree char *tags_json = strv_to_json(tags);
	g_autoptr(WrStoreRows) rows = NULL;
	g_autoptr(GError) error_local = NULL;
	WrStoreParam params[] = {
		P_TEXT(prefix),
		P_TEXT(hash_hex),
		user_id != 0 ? P_INT(user_id) : P_NULL,
		P_INT(reusable ? 1 : 0),
		P_INT(ephemeral ? 1 : 0),
		P_TEXT(tags_json),
		P_INT(expiry),
		P_INT(now),
	};

	g_return_val_if_fail(out_secret != NULL, NULL);
	wr_random_bytes(id, sizeof(id));
	wr_random_bytes(secret, sizeof(secret));
	memcpy(text, AUTHKEY_TAG, strlen(AUTHKEY_TAG));
	hex_encode(id, sizeof(id), text + strlen(AUTHKEY_TAG));
	text[AUTHKEY_PREFIX_LEN] = '-';
	hex_encode(secret, sizeof(secret), text + AUTHKEY_PREFIX_LEN + 1);
	memcpy(prefix, text, AUTHKEY_PREFIX_LEN);
	prefix[AUTHKEY_PREFIX_LEN] = '\0';
	wr_hash(hash, text, WR_STORE_AUTHKEY_LEN);
	hex_encode(hash, sizeof(hash), hash_hex);
	wr_memzero(secret, sizeof(secret));
	wr_memzero(hash, sizeof(hash));

	rows = run(
		self,
		"INSERT INTO auth_keys (prefix, hash, user_id, reusable, ephemeral, tags, expiry, "
		"used, created) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) "
		"RETURNING " AUTHKEY_COLUMNS,
		params, G_N_ELEMENTS(params), &error_local);
	wr_memzero(hash_hex, sizeof(hash_hex));
	if (rows == NULL || rows->n_rows == 0) {
		wr_memzero(text, sizeof(text));
		if (g_error_matches(error_local, WR_STORE_ERROR, WR_STORE_ERROR_IN_USE)) {
			g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
				    "cannot create an auth key: no user %" G_GINT64_FORMAT,
				    user_id);
			return NULL;
		}
		if (error_local != NULL)
			g_propagate_error(error, g_steal_pointer(&error_local));
		else
			g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED,
					    "the insert returned nothing");
		return fail_null(error, "create an auth key");
	}
	*out_secret = g_strndup(text, WR_STORE_AUTHKEY_LEN);
	wr_memzero(text, sizeof(text));
	return authkey_from_row(rows, 0);
}

GPtrArray *
wr_store_authkey_list(WrStore *self, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT " AUTHKEY_COLUMNS " FROM auth_keys ORDER BY id", NULL, 0, error);
	GPtrArray *keys;

	if (rows == NULL)
		return fail_null(error, "list auth keys");
	keys = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_authkey_free);
	for (guint i = 0; i < rows->n_rows; i++)
		g_ptr_array_add(keys, authkey_from_row(rows, i));
	return keys;
}

/* the key whose hash matches secret; the error never repeats the secret */
static WrStoreAuthKey *
authkey_lookup(WrStore *self, const char *secret, GError **error)
{
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t want[AUTHKEY_HASH_LEN];
	uint8_t stored[AUTHKEY_HASH_LEN];
	WrStoreParam params[] = {P_TEXT(prefix)};
	g_autoptr(WrStoreRows) rows = NULL;
	gboolean match;

	if (!is_authkey_text(secret)) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
				    "not a pre-auth key");
		return NULL;
	}
	memcpy(prefix, secret, AUTHKEY_PREFIX_LEN);
	prefix[AUTHKEY_PREFIX_LEN] = '\0';
	rows = run(self, "SELECT " AUTHKEY_COLUMNS ", hash FROM auth_keys WHERE prefix = $1",
		   params, G_N_ELEMENTS(params), error);
	if (rows == NULL)
		return NULL;
	if (rows->n_rows == 0 || !hex_decode(cell(rows, 0, 9), stored, sizeof(stored))) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
				    "no such pre-auth key");
		return NULL;
	}
	wr_hash(want, secret, WR_STORE_AUTHKEY_LEN);
	match = wr_memeq(want, stored, sizeof(want));
	wr_memzero(want, sizeof(want));
	wr_memzero(stored, sizeof(stored));
	if (!match) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
				    "no such pre-auth key");
		return NULL;
	}
	return authkey_from_row(rows, 0);
}

WrStoreAuthKey *
wr_store_authkey_lookup(WrStore *self, const char *secret, GError **error)
{
	WrStoreAuthKey *key = authkey_lookup(self, secret, error);

	if (key == NULL)
		return fail_null(error, "look up a pre-auth key");
	return key;
}

/* USED or NOT_FOUND when the UPDATE touched nothing */
static gboolean
authkey_mark_used(WrStore *self, gint64 id, GError **error)
{
	WrStoreParam params[] = {P_INT(id)};
	g_autoptr(WrStoreRows) rows = NULL;
	gint64 changes = 0;

	if (!run_void(self,
		      "UPDATE auth_keys SET used = 1 WHERE id = $1 AND (reusable <> 0 OR used = 0)",
		      params, G_N_ELEMENTS(params), &changes, error))
		return FALSE;
	if (changes > 0)
		return TRUE;
	rows = run(self, "SELECT id FROM auth_keys WHERE id = $1", params, G_N_ELEMENTS(params),
		   error);
	if (rows == NULL)
		return FALSE;
	if (rows->n_rows == 0)
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND,
			    "no pre-auth key %" G_GINT64_FORMAT, id);
	else
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_USED,
			    "the one-off pre-auth key %" G_GINT64_FORMAT " was used already", id);
	return FALSE;
}

gboolean
wr_store_authkey_mark_used(WrStore *self, gint64 id, GError **error)
{
	if (!authkey_mark_used(self, id, error))
		return fail(error, "mark a pre-auth key used");
	return TRUE;
}

static WrStoreAuthKey *
consume_locked(WrStore *self, const char *secret, gint64 now, GError **error)
{
	g_autoptr(WrStoreAuthKey) key = authkey_lookup(self, secret, error);

	if (key == NULL)
		return NULL;
	if (key->expiry != 0 && key->expiry <= now) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXPIRED,
			    "the pre-auth key %s expired", key->prefix);
		return NULL;
	}
	if (!authkey_mark_used(self, key->id, error))
		return NULL;
	key->used = TRUE;
	return g_steal_pointer(&key);
}

WrStoreAuthKey *
wr_store_authkey_consume(WrStore *self, const char *secret, gint64 now, GError **error)
{
	WrStoreAuthKey *key;

	if (!txn_begin(self, error))
		return fail_null(error, "use a pre-auth key");
	key = consume_locked(self, secret, now, error);
	if (key == NULL) {
		txn_rollback(self);
		return fail_null(error, "use a pre-auth key");
	}
	if (!txn_commit(self, error)) {
		wr_store_authkey_free(key);
		return fail_null(error, "use a pre-auth key");
	}
	return key;
}

gboolean
wr_store_authkey_expire(WrStore *self, gint64 id, gint64 now, GError **error)
{
	WrStoreParam params[] = {P_INT(id), P_INT(now)};
	gint64 changes = 0;

	if (!run_void(self,
		      "UPDATE auth_keys SET expiry = CASE WHEN expiry <> 0 AND expiry < $2 THEN "
		      "expiry ELSE $2 END WHERE id = $1",
		      params, G_N_ELEMENTS(params), &changes, error))
		return fail(error, "expire a pre-auth key");
	if (changes == 0)
		return not_found(error, "expire a pre-auth key", "pre-auth key", id);
	return TRUE;
}

/* policy */

void
wr_store_policy_free(WrStorePolicy *policy)
{
	if (policy == NULL)
		return;
	g_free(policy->text);
	g_free(policy->actor);
	g_free(policy);
}

static WrStorePolicy *
policy_from_row(WrStoreRows *rows, guint i)
{
	WrStorePolicy *policy = g_new0(WrStorePolicy, 1);

	policy->version = cell_int(rows, i, 0);
	policy->text = cell_dup(rows, i, 1);
	policy->actor = cell_dup(rows, i, 2);
	policy->created = cell_int(rows, i, 3);
	return policy;
}

WrStorePolicy *
wr_store_policy_set(WrStore *self, const char *text, const char *actor, gint64 now, GError **error)
{
	WrStoreParam params[] = {P_TEXT(text), P_TEXT(actor != NULL ? actor : ""), P_INT(now)};
	g_autoptr(WrStoreRows) rows = NULL;

	if (text == NULL) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID,
				    "no policy text");
		return fail_null(error, "set the policy");
	}
	rows = run(self,
		   "INSERT INTO policies (body, actor, created) VALUES ($1, $2, $3) "
		   "RETURNING " POLICY_COLUMNS,
		   params, G_N_ELEMENTS(params), error);
	if (rows == NULL)
		return fail_null(error, "set the policy");
	if (rows->n_rows == 0) {
		g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED,
				    "the insert returned nothing");
		return fail_null(error, "set the policy");
	}
	return policy_from_row(rows, 0);
}

WrStorePolicy *
wr_store_policy_get(WrStore *self, GError **error)
{
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT " POLICY_COLUMNS " FROM policies ORDER BY version DESC LIMIT 1",
		    NULL, 0, error);

	if (rows == NULL)
		return fail_null(error, "get the policy");
	if (rows->n_rows == 0)
		return NULL;
	return policy_from_row(rows, 0);
}

GPtrArray *
wr_store_policy_history(WrStore *self, guint limit, GError **error)
{
	WrStoreParam params[] = {P_INT(limit != 0 ? (gint64) limit : G_MAXINT64)};
	g_autoptr(WrStoreRows) rows =
		run(self, "SELECT " POLICY_COLUMNS " FROM policies ORDER BY version DESC LIMIT $1",
		    params, G_N_ELEMENTS(params), error);
	GPtrArray *history;

	if (rows == NULL)
		return fail_null(error, "list the policy history");
	history = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_policy_free);
	for (guint i = 0; i < rows->n_rows; i++)
		g_ptr_array_add(history, policy_from_row(rows, i));
	return history;
}

/* audit */

void
wr_store_audit_event_free(WrStoreAuditEvent *event)
{
	if (event == NULL)
		return;
	g_free(event->actor);
	g_free(event->action);
	g_free(event->target);
	g_free(event->detail);
	g_free(event);
}

gint64
wr_store_audit_append(WrStore *self, gint64 time, const char *actor, const char *action,
		      const char *target, const char *detail, GError **error)
{
	WrStoreParam params[] = {
		P_INT(time),
		P_TEXT(actor != NULL ? actor : ""),
		P_TEXT(action),
		P_TEXT(target != NULL ? target : ""),
		P_TEXT(detail != NULL ? detail : "{}"),
	};
	g_autoptr(WrStoreRows) rows = NULL;

	if (!check_text("the action", action, error) ||
	    !check_json_object("the detail", detail, error)) {
		(void) fail(error, "append to the audit log");
		return 0;
	}
	rows = run(self,
		   "INSERT INTO audit (event_time, actor, action, target, detail) "
		   "VALUES ($1, $2, $3, $4, $5) RETURNING id",
		   params, G_N_ELEMENTS(params), error);
	if (rows == NULL || rows->n_rows == 0) {
		if (rows != NULL)
			g_set_error_literal(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED,
					    "the insert returned nothing");
		(void) fail(error, "append to the audit log");
		return 0;
	}
	return cell_int(rows, 0, 0);
}

GPtrArray *
wr_store_audit_list(WrStore *self, gint64 since, guint limit, GError **error)
{
	WrStoreParam params[] = {P_INT(since), P_INT(limit != 0 ? (gint64) limit : G_MAXINT64)};
	g_autoptr(WrStoreRows) rows = run(self,
					  "SELECT " AUDIT_COLUMNS
					  " FROM audit WHERE event_time >= $1 ORDER BY id LIMIT $2",
					  params, G_N_ELEMENTS(params), error);
	GPtrArray *events;

	if (rows == NULL)
		return fail_null(error, "list the audit log");
	events = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_audit_event_free);
	for (guint i = 0; i < rows->n_rows; i++) {
		WrStoreAuditEvent *event = g_new0(WrStoreAuditEvent, 1);

		event->id = cell_int(rows, i, 0);
		event->time = cell_int(rows, i, 1);
		event->actor = cell_dup(rows, i, 2);
		event->action = cell_dup(rows, i, 3);
		event->target = cell_dup(rows, i, 4);
		event->detail = cell_dup(rows, i, 5);
		g_ptr_array_add(events, event);
	}
	return events;
}

/* flows */

void
wr_store_flow_free(WrStoreFlow *flow)
{
	if (flow == NULL)
		return;
	g_free(flow->proto);
	g_free(flow->local);
	g_free(flow->remote);
	g_free(flow->peer);
	g_free(flow->path);
	g_free(flow->end_reason);
	g_free(flow);
}

static gboolean
flow_check(const WrStoreFlow *f, GError **error)
{
	return check_text("the protocol", f->proto, error) &&
	       check_text("the local address", f->local, error) &&
	       check_text("the remote address", f->remote, error) &&
	       check_text("the end reason", f->end_reason, error);
}

gboolean
wr_store_flows_append(WrStore *self, gint64 node_id, gint64 user_id, gint64 now,
		      const WrStoreFlow *const *flows, guint n, GError **error)
{
	for (guint i = 0; i < n; i++) {
		if (!flow_check(flows[i], error))
			return fail(error, "store flow records");
	}
	if (!txn_begin(self, error))
		return fail(error, "store flow records");
	for (guint i = 0; i < n; i++) {
		const WrStoreFlow *f = flows[i];
		WrStoreParam params[] = {
			P_INT(node_id),
			P_INT(user_id),
			P_INT(now),
			P_INT(f->start_us),
			P_INT(f->end_us),
			P_TEXT(f->proto),
			P_TEXT(f->local),
			P_TEXT(f->remote),
			P_INT(f->outbound ? 1 : 0),
			P_INT(f->peer_id),
			P_TEXT(f->peer != NULL ? f->peer : ""),
			P_TEXT(f->path != NULL ? f->path : ""),
			P_TEXT(f->end_reason),
			P_INT(f->tx_packets),
			P_INT(f->tx_bytes),
			P_INT(f->rx_packets),
			P_INT(f->rx_bytes),
		};

		if (!run_void(self,
			      "INSERT INTO flows (node_id, user_id, received, start_us, end_us, "
			      "proto, local_addr, remote_addr, outbound, peer_id, peer, path, "
			      "end_reason, tx_packets, tx_bytes, rx_packets, rx_bytes) VALUES ($1, "
			      "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
			      "$17)",
			      params, G_N_ELEMENTS(params), NULL, error)) {
			txn_rollback(self);
			return fail(error, "store flow records");
		}
	}
	if (!txn_commit(self, error)) {
		txn_rollback(self);
		return fail(error, "store flow records");
	}
	return TRUE;
}

GPtrArray *
wr_store_flows_list(WrStore *self, gint64 node_id, gint64 user_id, gint64 since_us, guint limit,
		    GError **error)
{
	WrStoreParam params[] = {
		P_INT(since_us),
		P_INT(node_id),
		P_INT(user_id),
		P_INT(limit != 0 ? (gint64) limit : G_MAXINT64),
	};
	g_autoptr(WrStoreRows) rows =
		run(self,
		    "SELECT " FLOW_COLUMNS " FROM flows WHERE end_us >= $1 AND ($2 = 0 OR "
		    "node_id = $2) AND ($3 = 0 OR user_id = $3) ORDER BY end_us, id LIMIT $4",
		    params, G_N_ELEMENTS(params), error);
	GPtrArray *flows;

	if (rows == NULL)
		return fail_null(error, "list flow records");
	flows = g_ptr_array_new_with_free_func((GDestroyNotify) wr_store_flow_free);
	for (guint i = 0; i < rows->n_rows; i++) {
		WrStoreFlow *f = g_new0(WrStoreFlow, 1);

		f->id = cell_int(rows, i, 0);
		f->node_id = cell_int(rows, i, 1);
		f->user_id = cell_int(rows, i, 2);
		f->received = cell_int(rows, i, 3);
		f->start_us = cell_int(rows, i, 4);
		f->end_us = cell_int(rows, i, 5);
		f->proto = cell_dup(rows, i, 6);
		f->local = cell_dup(rows, i, 7);
		f->remote = cell_dup(rows, i, 8);
		f->outbound = cell_int(rows, i, 9) != 0;
		f->peer_id = cell_int(rows, i, 10);
		f->peer = cell_dup(rows, i, 11);
		f->path = cell_dup(rows, i, 12);
		f->end_reason = cell_dup(rows, i, 13);
		f->tx_packets = cell_int(rows, i, 14);
		f->tx_bytes = cell_int(rows, i, 15);
		f->rx_packets = cell_int(rows, i, 16);
		f->rx_bytes = cell_int(rows, i, 17);
		g_ptr_array_add(flows, f);
	}
	return flows;
}
