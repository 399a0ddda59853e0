/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's admin subcommands: each is one HTTP request to the admin socket (libsoup's
 * client with a Unix socket as its remote-connectable), printed as an aligned table or, with
 * --json, as the server's JSON.  Exit 0 when done, 1 when the server refused (its message is
 * printed), 2 for a usage error, 3 when no server answers on the socket.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "wr-control-cli.h"
#include "wr-control-config.h"
#include "wr-crypto.h"
#include "wr-policy.h"

#define DEFAULT_SOCKET "/run/warren-control/admin.sock"
#define CLI_TIMEOUT_S  60

typedef struct {
	char *socket_path;
	gboolean json;
	SoupSession *session;
} Cli;

static void
cli_clear(Cli *cli)
{
	g_free(cli->socket_path);
	g_clear_object(&cli->session);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Cli, cli_clear)

static void
usage(void)
{
	g_printerr(
		"%s",
		_("Usage: warren-control serve --config FILE\n"
		  "       warren-control [--config FILE | --socket PATH] [--json] COMMAND\n"
		  "\n"
		  "Commands:\n"
		  "  users list | delete ID\n"
		  "  nodes list | expire ID | delete ID | rename ID NAME | tag ID [TAG...]\n"
		  "  routes list | approve ID [ROUTE...]\n"
		  "  authkeys create [--reusable] [--ephemeral] [--tags tag:a,tag:b]\n"
		  "                  [--expiry DURATION] [--user ID|LOGIN]\n"
		  "  authkeys list | expire ID\n"
		  "  policy get | set FILE | check FILE\n"
		  "  audit [--since DURATION|UNIX-TIME] [--limit N]\n"
		  "  audit flows [--node ID|NAME] [--user ID|LOGIN] [--since DURATION|UNIX-TIME]\n"
		  "              [--limit N]\n"));
}

static int
usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int
usage_error(const char *fmt, ...)
{
	g_autofree char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("warren-control: %s\n", text);
	g_printerr("%s", _("Run warren-control help for the commands.\n"));
	return WR_CLI_USAGE;
}

/* ---- the request -------------------------------------------------------------------------- */

/*
 * One request; the answer's JSON in out_root.  Prints the server's refusal (1) or why the
 * socket cannot be reached (3).
 */
static int
call(Cli *cli, const char *method, const char *path, const char *content_type, const char *body,
     gsize len, JsonNode **out_root)
{
	g_autofree char *uri = g_strconcat("http://localhost", path, NULL);
	g_autoptr(SoupMessage) msg = soup_message_new(method, uri);
	g_autoptr(GBytes) answer = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	const char *data;
	gsize size = 0;
	guint status;

	if (msg == NULL) {
		g_printerr(_("warren-control: cannot make a request for %s\n"), path);
		return WR_CLI_USAGE;
	}
	if (cli->session == NULL) {
		g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(cli->socket_path);

		cli->session = soup_session_new_with_options("remote-connectable", addr, "timeout",
							     CLI_TIMEOUT_S, NULL);
	}
	if (body != NULL) {
		g_autoptr(GBytes) bytes = g_bytes_new(body, len);

		soup_message_set_request_body_from_bytes(msg, content_type, bytes);
	}
	answer = soup_session_send_and_read(cli->session, msg, NULL, &error);
	if (answer == NULL) {
		g_printerr(_("warren-control: cannot reach the server at %s: %s\n"),
			   cli->socket_path, error->message);
		return WR_CLI_UNREACHABLE;
	}
	status = soup_message_get_status(msg);
	data = g_bytes_get_data(answer, &size);
	if (size == 0 || !json_parser_load_from_data(parser, data, (gssize) size, NULL) ||
	    json_parser_get_root(parser) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		g_printerr(_("warren-control: the server answered %u %s without JSON\n"), status,
			   soup_message_get_reason_phrase(msg));
		return SOUP_STATUS_IS_SUCCESSFUL(status) ? WR_CLI_UNREACHABLE : WR_CLI_REFUSED;
	}
	if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
		JsonObject *obj = json_node_get_object(json_parser_get_root(parser));

		g_printerr("warren-control: %s\n",
			   json_object_get_string_member_with_default(obj, "error", _("refused")));
		return WR_CLI_REFUSED;
	}
	if (out_root != NULL)
		*out_root = json_node_copy(json_parser_get_root(parser));
	/* an answer may carry an auth key: wipe it once read */
	wr_memzero((void *) data, size);
	return WR_CLI_OK;
}

static int
call_json(Cli *cli, const char *method, const char *path, JsonBuilder *body, JsonNode **out_root)
{
	g_autofree char *text = NULL;

	if (body != NULL) {
		g_autoptr(JsonNode) root = json_builder_get_root(body);

		text = json_to_string(root, FALSE);
	}
	return call(cli, method, path, "application/json", text, text != NULL ? strlen(text) : 0,
		    out_root);
}

static void
print_json(JsonNode *root)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;

	json_generator_set_pretty(gen, TRUE);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	g_print("%s\n", text);
}

/* ---- tables ------------------------------------------------------------------------------- */

typedef struct {
	GPtrArray *rows; /* of GStrv */
	guint columns;
} Table;

static Table *
table_new(const char *first, ...)
{
	Table *t = g_new0(Table, 1);
	g_autoptr(GPtrArray) head = g_ptr_array_new();
	va_list ap;

	t->rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
	va_start(ap, first);
	for (const char *c = first; c != NULL; c = va_arg(ap, const char *))
		g_ptr_array_add(head, g_strdup(c));
	va_end(ap);
	t->columns = head->len;
	g_ptr_array_add(head, NULL);
	g_ptr_array_add(t->rows, g_ptr_array_free(g_steal_pointer(&head), FALSE));
	return t;
}

/* takes the cells (exactly t->columns of them) */
static void
table_add(Table *t, ...)
{
	GStrv row = g_new0(char *, t->columns + 1);
	va_list ap;

	va_start(ap, t);
	for (guint i = 0; i < t->columns; i++) {
		char *cell = va_arg(ap, char *);

		row[i] = cell != NULL ? cell : g_strdup("-");
	}
	va_end(ap);
	g_ptr_array_add(t->rows, row);
}

static void
table_print_free(Table *t)
{
	g_autofree guint *width = g_new0(guint, t->columns);

	for (guint r = 0; r < t->rows->len; r++) {
		GStrv row = t->rows->pdata[r];

		for (guint c = 0; c < t->columns; c++)
			width[c] = MAX(width[c], (guint) g_utf8_strlen(row[c], -1));
	}
	for (guint r = 0; r < t->rows->len; r++) {
		GStrv row = t->rows->pdata[r];
		g_autoptr(GString) line = g_string_new(NULL);

		for (guint c = 0; c < t->columns; c++) {
			g_string_append(line, row[c]);
			if (c + 1 < t->columns)
				for (guint pad = (guint) g_utf8_strlen(row[c], -1);
				     pad < width[c] + 2; pad++)
					g_string_append_c(line, ' ');
		}
		g_print("%s\n", line->str);
	}
	g_ptr_array_unref(t->rows);
	g_free(t);
}

/* ---- fields ------------------------------------------------------------------------------- */

static char *
str_of(JsonObject *o, const char *name)
{
	const char *s = json_object_get_string_member_with_default(o, name, NULL);

	return s != NULL && s[0] != '\0' ? g_strdup(s) : NULL;
}

static char *
int_of(JsonObject *o, const char *name)
{
	return g_strdup_printf("%" G_GINT64_FORMAT,
			       json_object_get_int_member_with_default(o, name, 0));
}

static char *
yes_no(JsonObject *o, const char *name)
{
	return g_strdup(json_object_get_boolean_member_with_default(o, name, FALSE) ? _("yes")
										    : _("no"));
}

/* unix seconds as UTC text; 0 as zero_text */
static char *
time_of(JsonObject *o, const char *name, const char *zero_text)
{
	gint64 t = json_object_get_int_member_with_default(o, name, 0);
	g_autoptr(GDateTime) dt = NULL;

	if (t == 0)
		return g_strdup(zero_text);
	dt = g_date_time_new_from_unix_utc(t);
	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%SZ") : g_strdup("?");
}

static char *
list_of(JsonObject *o, const char *name)
{
	JsonArray *arr = json_object_get_array_member(o, name);
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		g_string_append(out, json_array_get_string_element(arr, i));
	}
	return out->len > 0 ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

static JsonArray *
array_member(JsonNode *root, const char *name)
{
	JsonObject *o = json_node_get_object(root);

	return json_object_has_member(o, name) ? json_object_get_array_member(o, name) : NULL;
}

/* ---- commands ----------------------------------------------------------------------------- */

/* a positive id, checked here so that a typo is a usage error */
static gboolean
valid_id(const char *text)
{
	return g_ascii_string_to_signed(text, 10, 1, G_MAXINT64, NULL, NULL);
}

static char *
escape(const char *segment)
{
	return g_uri_escape_string(segment, NULL, FALSE);
}

/* GET a list: printed as it came under --json, else its array member for a table */
static int
list_call(Cli *cli, const char *path, const char *member, JsonNode **root, JsonArray **out_arr)
{
	int rc = call_json(cli, "GET", path, NULL, root);

	*out_arr = NULL;
	if (rc != WR_CLI_OK)
		return rc;
	if (cli->json) {
		print_json(*root);
		return rc;
	}
	*out_arr = array_member(*root, member);
	return rc;
}

static int
users_cmd(Cli *cli, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "list")) {
		JsonArray *arr;
		Table *t;

		rc = list_call(cli, "/v1/users", "users", &root, &arr);
		if (rc != WR_CLI_OK || cli->json)
			return rc;
		t = table_new(_("ID"), _("LOGIN"), _("NAME"), _("NODES"), _("CREATED"), NULL);
		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *u = json_array_get_object_element(arr, i);

			table_add(t, int_of(u, "id"), str_of(u, "login_name"),
				  str_of(u, "display_name"), int_of(u, "nodes"),
				  time_of(u, "created", "-"));
		}
		table_print_free(t);
		return rc;
	}
	if (argc == 2 && g_str_equal(argv[0], "delete")) {
		g_autofree char *path = NULL;
		g_autofree char *id = escape(argv[1]);

		path = g_strdup_printf("/v1/users/%s", id);
		rc = call_json(cli, "DELETE", path, NULL, &root);
		if (rc == WR_CLI_OK && !cli->json)
			g_print(_("User %s deleted.\n"), argv[1]);
		else if (rc == WR_CLI_OK)
			print_json(root);
		return rc;
	}
	return usage_error(_("users: expected list or delete ID"));
}

static void
print_node(Cli *cli, JsonNode *root, const char *done)
{
	if (cli->json)
		print_json(root);
	else
		g_print("%s\n", done);
}

static int
nodes_cmd(Cli *cli, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonBuilder) body = json_builder_new();
	g_autofree char *path = NULL;
	g_autofree char *done = NULL;
	g_autofree char *id = NULL;
	const char *verb;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "list")) {
		JsonArray *arr;
		Table *t;

		rc = list_call(cli, "/v1/nodes", "nodes", &root, &arr);
		if (rc != WR_CLI_OK || cli->json)
			return rc;
		t = table_new(_("ID"), _("NAME"), _("OWNER"), _("IPV4"), _("IPV6"), _("STATUS"),
			      _("KEY EXPIRY"), _("LAST SEEN"), NULL);
		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *n = json_array_get_object_element(arr, i);
			char *owner = list_of(n, "tags");
			const char *status;

			if (owner == NULL)
				owner = str_of(n, "user");
			if (json_object_get_boolean_member_with_default(n, "expired", FALSE))
				status = _("expired");
			else if (json_object_get_boolean_member_with_default(n, "online", FALSE))
				status = _("online");
			else
				status = _("offline");
			table_add(t, int_of(n, "id"), str_of(n, "name"), owner, str_of(n, "ipv4"),
				  str_of(n, "ipv6"), g_strdup(status),
				  time_of(n, "key_expiry", _("never")),
				  time_of(n, "last_seen", "-"));
		}
		table_print_free(t);
		return rc;
	}
	if (argc < 2)
		return usage_error(_("nodes: expected list, expire ID, delete ID, rename ID NAME "
				     "or tag ID TAG..."));
	verb = argv[0];
	if (!valid_id(argv[1]))
		return usage_error(_("nodes %s: \"%s\" is not a node id"), verb, argv[1]);
	id = escape(argv[1]);
	if (g_str_equal(verb, "expire") && argc == 2) {
		path = g_strdup_printf("/v1/nodes/%s/expire", id);
		rc = call_json(cli, "POST", path, NULL, &root);
		done = g_strdup_printf(_("Node %s expired."), argv[1]);
	} else if (g_str_equal(verb, "delete") && argc == 2) {
		path = g_strdup_printf("/v1/nodes/%s", id);
		rc = call_json(cli, "DELETE", path, NULL, &root);
		done = g_strdup_printf(_("Node %s deleted."), argv[1]);
	} else if (g_str_equal(verb, "rename") && argc == 3) {
		path = g_strdup_printf("/v1/nodes/%s/rename", id);
		json_builder_begin_object(body);
		json_builder_set_member_name(body, "name");
		json_builder_add_string_value(body, argv[2]);
		json_builder_end_object(body);
		rc = call_json(cli, "POST", path, body, &root);
		done = g_strdup_printf(_("Node %s renamed to %s."), argv[1], argv[2]);
	} else if (g_str_equal(verb, "tag")) {
		path = g_strdup_printf("/v1/nodes/%s/tags", id);
		json_builder_begin_object(body);
		json_builder_set_member_name(body, "tags");
		json_builder_begin_array(body);
		for (int i = 2; i < argc; i++)
			json_builder_add_string_value(body, argv[i]);
		json_builder_end_array(body);
		json_builder_end_object(body);
		rc = call_json(cli, "POST", path, body, &root);
		done = g_strdup_printf(_("Node %s tagged."), argv[1]);
	} else {
		return usage_error(_("nodes: expected list, expire ID, delete ID, rename ID NAME "
				     "or tag ID TAG..."));
	}
	if (rc == WR_CLI_OK)
		print_node(cli, root, done);
	return rc;
}

static int
routes_cmd(Cli *cli, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "list")) {
		JsonArray *arr;
		Table *t;

		rc = list_call(cli, "/v1/routes", "routes", &root, &arr);
		if (rc != WR_CLI_OK || cli->json)
			return rc;
		t = table_new(_("NODE"), _("NAME"), _("ROUTE"), _("APPROVED"), _("EXIT"), NULL);
		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *r = json_array_get_object_element(arr, i);

			table_add(t, int_of(r, "node_id"), str_of(r, "node"), str_of(r, "route"),
				  yes_no(r, "approved"), yes_no(r, "exit"));
		}
		table_print_free(t);
		return rc;
	}
	if (argc >= 2 && g_str_equal(argv[0], "approve")) {
		g_autoptr(JsonBuilder) body = json_builder_new();
		g_autofree char *id = NULL;
		g_autofree char *path = NULL;

		if (!valid_id(argv[1]))
			return usage_error(_("routes approve: \"%s\" is not a node id"), argv[1]);
		id = escape(argv[1]);
		path = g_strdup_printf("/v1/nodes/%s/routes", id);
		json_builder_begin_object(body);
		json_builder_set_member_name(body, "approve");
		json_builder_begin_array(body);
		for (int i = 2; i < argc; i++)
			json_builder_add_string_value(body, argv[i]);
		json_builder_end_array(body);
		json_builder_end_object(body);
		rc = call_json(cli, "POST", path, body, &root);
		if (rc == WR_CLI_OK && cli->json) {
			print_json(root);
		} else if (rc == WR_CLI_OK) {
			g_autofree char *list =
				list_of(json_node_get_object(root), "approved_routes");

			g_print(_("Node %s: approved routes: %s\n"), argv[1],
				list != NULL ? list : _("none"));
		}
		return rc;
	}
	return usage_error(_("routes: expected list or approve ID ROUTE..."));
}

typedef struct {
	gboolean reusable;
	gboolean ephemeral;
	char *tags;
	char *expiry;
	char *user;
	char *since;
	int limit;
	char *node;
} Opts;

static int
authkeys_cmd(Cli *cli, Opts *o, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "create")) {
		g_autoptr(JsonBuilder) body = json_builder_new();
		gint64 expiration = 0;
		JsonObject *key;

		if (o->expiry != NULL &&
		    (!wr_control_parse_duration(o->expiry, &expiration) || expiration <= 0))
			return usage_error(_("--expiry %s: expected a duration such as 90s, 15m, "
					     "12h or 90d"),
					   o->expiry);
		json_builder_begin_object(body);
		json_builder_set_member_name(body, "reusable");
		json_builder_add_boolean_value(body, o->reusable);
		json_builder_set_member_name(body, "ephemeral");
		json_builder_add_boolean_value(body, o->ephemeral);
		if (o->tags != NULL) {
			g_auto(GStrv) tags = g_strsplit(o->tags, ",", -1);

			json_builder_set_member_name(body, "tags");
			json_builder_begin_array(body);
			for (char **t = tags; *t != NULL; t++)
				if (**t != '\0')
					json_builder_add_string_value(body, g_strstrip(*t));
			json_builder_end_array(body);
		}
		if (expiration > 0) {
			json_builder_set_member_name(body, "expiration");
			json_builder_add_int_value(body, expiration);
		}
		if (o->user != NULL) {
			gint64 uid = 0;

			json_builder_set_member_name(body, "user");
			if (g_ascii_string_to_signed(o->user, 10, 1, G_MAXINT64, &uid, NULL))
				json_builder_add_int_value(body, uid);
			else
				json_builder_add_string_value(body, o->user);
		}
		json_builder_end_object(body);
		rc = call_json(cli, "POST", "/v1/authkeys", body, &root);
		if (rc != WR_CLI_OK)
			return rc;
		key = json_node_get_object(root);
		if (cli->json) {
			print_json(root);
		} else {
			g_print("%s\n", json_object_get_string_member_with_default(key, "key", ""));
			g_printerr(_("Auth key %" PRId64 " (%s) created; the key is "
				     "shown only this once.\n"),
				   json_object_get_int_member_with_default(key, "id", 0),
				   json_object_get_string_member_with_default(key, "prefix", ""));
		}
		/* the secret is wiped in the reply's copy too */
		if (json_object_has_member(key, "key")) {
			const char *secret = json_object_get_string_member(key, "key");

			if (secret != NULL)
				wr_memzero((char *) secret, strlen(secret));
		}
		return rc;
	}
	if (argc == 1 && g_str_equal(argv[0], "list")) {
		JsonArray *arr;
		Table *t;

		rc = list_call(cli, "/v1/authkeys", "authkeys", &root, &arr);
		if (rc != WR_CLI_OK || cli->json)
			return rc;
		t = table_new(_("ID"), _("PREFIX"), _("USER"), _("REUSABLE"), _("EPHEMERAL"),
			      _("TAGS"), _("EXPIRY"), _("STATUS"), NULL);
		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *k = json_array_get_object_element(arr, i);
			const char *status = _("valid");

			if (json_object_get_boolean_member_with_default(k, "expired", FALSE))
				status = _("expired");
			else if (json_object_get_boolean_member_with_default(k, "used", FALSE) &&
				 !json_object_get_boolean_member_with_default(k, "reusable", FALSE))
				status = _("used");
			table_add(t, int_of(k, "id"), str_of(k, "prefix"), str_of(k, "user"),
				  yes_no(k, "reusable"), yes_no(k, "ephemeral"), list_of(k, "tags"),
				  time_of(k, "expiry", _("never")), g_strdup(status));
		}
		table_print_free(t);
		return rc;
	}
	if (argc == 2 && g_str_equal(argv[0], "expire")) {
		g_autofree char *id = NULL;
		g_autofree char *path = NULL;

		if (!valid_id(argv[1]))
			return usage_error(_("authkeys expire: \"%s\" is not an auth key id"),
					   argv[1]);
		id = escape(argv[1]);
		path = g_strdup_printf("/v1/authkeys/%s/expire", id);
		rc = call_json(cli, "POST", path, NULL, &root);
		if (rc == WR_CLI_OK && cli->json)
			print_json(root);
		else if (rc == WR_CLI_OK)
			g_print(_("Auth key %s expired.\n"), argv[1]);
		return rc;
	}
	return usage_error(_("authkeys: expected create, list or expire ID"));
}

static int
policy_cmd(Cli *cli, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	gboolean check;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "get")) {
		JsonObject *p;
		const char *body;

		rc = call_json(cli, "GET", "/v1/policy", NULL, &root);
		if (rc != WR_CLI_OK)
			return rc;
		if (cli->json) {
			print_json(root);
			return rc;
		}
		p = json_node_get_object(root);
		body = json_object_get_string_member_with_default(p, "text", "");
		if (body[0] == '\0')
			g_printerr(_("No policy is set: every node may reach every other.\n"));
		else
			g_print("%s%s", body, g_str_has_suffix(body, "\n") ? "" : "\n");
		return rc;
	}
	if (argc != 2 || !(g_str_equal(argv[0], "set") || g_str_equal(argv[0], "check")))
		return usage_error(_("policy: expected get, set FILE or check FILE"));
	check = g_str_equal(argv[0], "check");
	if (!g_file_get_contents(argv[1], &text, &len, &error))
		return usage_error("%s", error->message);
	if (len > WR_POLICY_MAX_SIZE)
		return usage_error(_("%s is over %d bytes"), argv[1], WR_POLICY_MAX_SIZE);
	rc = call(cli, check ? "POST" : "PUT", check ? "/v1/policy/check" : "/v1/policy",
		  "application/hujson", text, len, &root);
	if (rc != WR_CLI_OK)
		return rc;
	if (cli->json)
		print_json(root);
	else if (check)
		g_print(_("%s: the policy is valid.\n"), argv[1]);
	else
		g_print(_("Policy version %" PRId64 " set.\n"),
			json_object_get_int_member_with_default(json_node_get_object(root),
								"version", 0));
	return rc;
}

/* --since as a query parameter: a bare number is a unix time; with a unit, that long ago */
static gboolean
append_since(GString *path, const char *since)
{
	guint64 unix_time = 0;
	gint64 ago = 0;

	if (g_ascii_string_to_unsigned(since, 10, 0, G_MAXINT64, &unix_time, NULL))
		g_string_append_printf(path, "since=%" G_GUINT64_FORMAT "&", unix_time);
	else if (wr_control_parse_duration(since, &ago))
		g_string_append_printf(path, "since=%" G_GINT64_FORMAT "&",
				       MAX(g_get_real_time() / G_USEC_PER_SEC - ago, 0));
	else
		return FALSE;
	return TRUE;
}

/* bytes/packets of a flow, one way */
static char *
traffic_of(JsonObject *o, const char *bytes, const char *packets)
{
	return g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
			       json_object_get_int_member_with_default(o, bytes, 0),
			       json_object_get_int_member_with_default(o, packets, 0));
}

/* --since and --limit appended to path (its other parameters before), then GET it */
static int
audit_get(Cli *cli, Opts *o, GString *path, JsonNode **out_root)
{
	if (o->since != NULL && !append_since(path, o->since))
		return usage_error(_("--since %s: expected a unix time or a duration such as 15m, "
				     "12h or 7d"),
				   o->since);
	if (o->limit < 0)
		return usage_error(_("--limit must be a positive number"));
	if (o->limit > 0)
		g_string_append_printf(path, "limit=%d", o->limit);
	return call_json(cli, "GET", path->str, NULL, out_root);
}

/* audit flows: the flow records nodes sent (docs/flow-logs.md) */
static int
audit_flows_cmd(Cli *cli, Opts *o)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GString) path = g_string_new("/v1/flows?");
	JsonArray *arr;
	Table *t;
	int rc;

	if (o->node != NULL) {
		g_autofree char *e = escape(o->node);

		g_string_append_printf(path, "node=%s&", e);
	}
	if (o->user != NULL) {
		g_autofree char *e = escape(o->user);

		g_string_append_printf(path, "user=%s&", e);
	}
	rc = audit_get(cli, o, path, &root);
	if (rc != WR_CLI_OK)
		return rc;
	if (cli->json) {
		print_json(root);
		return rc;
	}
	arr = array_member(root, "flows");
	t = table_new(_("END"), _("NODE"), _("USER"), _("PROTO"), _("LOCAL"), "", _("REMOTE"),
		      _("PEER"), _("PATH"), _("SENT"), _("RECEIVED"), NULL);
	for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
		JsonObject *f = json_array_get_object_element(arr, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(
			json_object_get_int_member_with_default(f, "end", 0) / G_USEC_PER_SEC);

		table_add(t,
			  dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%SZ") : g_strdup("?"),
			  str_of(f, "node"), str_of(f, "user"), str_of(f, "proto"),
			  str_of(f, "local"),
			  g_strdup(json_object_get_boolean_member_with_default(f, "outbound", FALSE)
					   ? "->"
					   : "<-"),
			  str_of(f, "remote"), str_of(f, "peer"), str_of(f, "path"),
			  traffic_of(f, "tx_bytes", "tx_packets"),
			  traffic_of(f, "rx_bytes", "rx_packets"));
	}
	table_print_free(t);
	return rc;
}

static int
audit_cmd(Cli *cli, Opts *o, int argc, char **argv)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GString) path = g_string_new("/v1/audit?");
	JsonArray *arr;
	Table *t;
	int rc;

	if (argc == 1 && g_str_equal(argv[0], "flows"))
		return audit_flows_cmd(cli, o);
	if (argc != 0)
		return usage_error(_("audit takes no arguments besides --since and --limit, or "
				     "flows"));
	if (o->node != NULL || o->user != NULL)
		return usage_error(_("--node and --user belong to audit flows"));
	rc = audit_get(cli, o, path, &root);
	if (rc != WR_CLI_OK)
		return rc;
	if (cli->json) {
		print_json(root);
		return rc;
	}
	arr = array_member(root, "events");
	t = table_new(_("TIME"), _("ACTOR"), _("ACTION"), _("TARGET"), _("DETAIL"), NULL);
	for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
		JsonObject *e = json_array_get_object_element(arr, i);
		JsonNode *detail = json_object_get_member(e, "detail");
		char *detail_text = NULL;

		if (detail != NULL && JSON_NODE_HOLDS_OBJECT(detail) &&
		    json_object_get_size(json_node_get_object(detail)) > 0)
			detail_text = json_to_string(detail, FALSE);
		table_add(t, time_of(e, "time", "-"), str_of(e, "actor"), str_of(e, "action"),
			  str_of(e, "target"), detail_text);
	}
	table_print_free(t);
	return rc;
}

/* ---- main --------------------------------------------------------------------------------- */

int
wr_control_cli_run(int argc, char **argv)
{
	g_auto(Cli) cli = {0};
	g_autofree char *config_path = NULL;
	g_autofree char *socket_path = NULL;
	Opts o = {0};
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		 N_("The configuration file (for its admin-socket)"), N_("FILE")},
		{"socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		 /* written out rather than DEFAULT_SOCKET: xgettext reads no macros */
		 N_("The admin socket (default /run/warren-control/admin.sock)"), N_("PATH")},
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli.json, N_("Print the server's JSON"), NULL},
		{"reusable", 0, 0, G_OPTION_ARG_NONE, &o.reusable,
		 N_("authkeys create: the key may register many nodes"), NULL},
		{"ephemeral", 0, 0, G_OPTION_ARG_NONE, &o.ephemeral,
		 N_("authkeys create: its nodes go when they go offline"), NULL},
		{"tags", 0, 0, G_OPTION_ARG_STRING, &o.tags,
		 N_("authkeys create: the tags its nodes get"), N_("tag:a,tag:b")},
		{"expiry", 0, 0, G_OPTION_ARG_STRING, &o.expiry,
		 N_("authkeys create: how long the key is valid"), N_("DURATION")},
		{"user", 0, 0, G_OPTION_ARG_STRING, &o.user,
		 N_("authkeys create: the user its nodes belong to"), N_("ID|LOGIN")},
		{"since", 0, 0, G_OPTION_ARG_STRING, &o.since,
		 N_("audit: events since a unix time or this long ago"), N_("DURATION|UNIX")},
		{"limit", 0, 0, G_OPTION_ARG_INT, &o.limit, N_("audit: at most N events"), N_("N")},
		{"node", 0, 0, G_OPTION_ARG_STRING, &o.node,
		 N_("audit flows: only the records of this node"), N_("ID|NAME")},
		{NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(_("COMMAND ..."));
	g_autoptr(GError) error = NULL;
	gboolean create, audit;
	const char *cmd;
	int rc;

	if (argc == 2 && g_str_equal(argv[1], "help")) {
		usage();
		return WR_CLI_OK;
	}
	g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(ctx,
				     _("Commands: serve, users, nodes, routes, authkeys, policy, "
				       "audit (see docs/control-admin.md)"));
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		rc = usage_error("%s", error->message);
	else if (argc < 2)
		rc = usage_error(_("a command is required"));
	else
		rc = WR_CLI_OK;
	if (rc != WR_CLI_OK) {
		g_free(o.tags);
		g_free(o.expiry);
		g_free(o.user);
		g_free(o.since);
		g_free(o.node);
		return rc;
	}
	cmd = argv[1];
	create = g_str_equal(cmd, "authkeys") && argc >= 3 && g_str_equal(argv[2], "create");
	audit = g_str_equal(cmd, "audit");
	if (!create && (o.reusable || o.ephemeral || o.tags != NULL || o.expiry != NULL ||
			(o.user != NULL && !audit)))
		rc = usage_error(_("--reusable, --ephemeral, --tags, --expiry and --user belong "
				   "to authkeys create (--user also to audit flows)"));
	else if (!audit && o.node != NULL)
		rc = usage_error(_("--node belongs to audit flows"));
	else if (!audit && (o.since != NULL || o.limit != 0))
		rc = usage_error(_("--since and --limit belong to audit"));
	else if (config_path != NULL && socket_path != NULL)
		rc = usage_error(_("give --config or --socket, not both"));
	if (rc == WR_CLI_OK) {
		if (socket_path != NULL) {
			cli.socket_path = g_steal_pointer(&socket_path);
		} else if (config_path != NULL) {
			g_autoptr(WrControlConfig) config =
				wr_control_config_load_file(config_path, &error);

			if (config == NULL)
				rc = usage_error("%s", error->message);
			else
				cli.socket_path = g_strdup(config->admin_socket);
		} else {
			cli.socket_path = g_strdup(DEFAULT_SOCKET);
		}
	}
	if (rc == WR_CLI_OK) {
		if (g_str_equal(cmd, "users"))
			rc = users_cmd(&cli, argc - 2, argv + 2);
		else if (g_str_equal(cmd, "nodes"))
			rc = nodes_cmd(&cli, argc - 2, argv + 2);
		else if (g_str_equal(cmd, "routes"))
			rc = routes_cmd(&cli, argc - 2, argv + 2);
		else if (g_str_equal(cmd, "authkeys"))
			rc = authkeys_cmd(&cli, &o, argc - 2, argv + 2);
		else if (g_str_equal(cmd, "policy"))
			rc = policy_cmd(&cli, argc - 2, argv + 2);
		else if (audit)
			rc = audit_cmd(&cli, &o, argc - 2, argv + 2);
		else
			rc = usage_error(_("unknown command %s"), cmd);
	}
	g_free(o.tags);
	g_free(o.expiry);
	g_free(o.user);
	g_free(o.since);
	g_free(o.node);
	return rc;
}
