/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The store (wr-store): every case runs against both backends, SQLite in a temporary file and a
 * real PostgreSQL 15 that the test starts on a Unix socket in a temporary directory (as the
 * postgres user through runuser, so the PostgreSQL half needs root; it is skipped without root
 * or without PostgreSQL).  A watchdog shell holds the read end of a pipe: when this process
 * exits, however it exits, the pipe closes and the watchdog stops the server and removes the
 * temporary directories.  Each case gets a fresh database.
 */

#define G_LOG_DOMAIN "WrStoreTest"

#include "config.h"

#include <glib.h>
#include <pwd.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libpq-fe.h>

#include "wr-crypto.h"
#include "wr-store.h"

#define PG_BINDIR "/usr/lib/postgresql/15/bin"
#define NOW	  1700000000

typedef struct {
	char *sqlite_dir;
	char *pg_dir; /* socket directory, data in pg_dir/data */
	GPid watchdog;
	int watchdog_fd;
	gboolean pg_tried;
	gboolean pg_running;
	char *pg_skip; /* why PostgreSQL cannot run here */
	guint n_dbs;
} Harness;

typedef struct {
	char *url;
	char *sqlite_path;
	char *pg_conninfo;
} TestDb;

typedef void (*CaseFunc)(TestDb *db);

typedef struct {
	Harness *harness;
	gboolean pg;
	CaseFunc func;
} Case;

/* the watchdog: waits for EOF on stdin, then stops PostgreSQL and removes both directories */
static const char watchdog_script[] =
	"cat >/dev/null; "
	"if [ -f \"$2/data/postmaster.pid\" ]; then "
	"runuser -u postgres -- \"$1\" -D \"$2/data\" -m immediate -w stop; fi; "
	"rm -rf \"$2\" \"$3\"";

static void
harness_init(Harness *h)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *pg_ctl = g_build_filename(PG_BINDIR, "pg_ctl", NULL);
	const char *argv[] = {"/bin/sh", "-c", watchdog_script, "sh", pg_ctl, NULL, NULL, NULL};

	h->sqlite_dir = g_dir_make_tmp("wr-store-XXXXXX", &error);
	g_assert_no_error(error);
	h->pg_dir = g_dir_make_tmp("wr-store-pg-XXXXXX", &error);
	g_assert_no_error(error);
	argv[5] = h->pg_dir;
	argv[6] = h->sqlite_dir;
	g_assert_true(g_spawn_async_with_pipes(
		"/", (char **) argv, NULL,
		G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
		NULL, NULL, &h->watchdog, &h->watchdog_fd, NULL, NULL, &error));
	g_assert_no_error(error);
}

static void
harness_finish(Harness *h)
{
	/* the watchdog sees EOF and cleans up; wait so nothing outlives the test */
	(void) close(h->watchdog_fd);
	(void) waitpid(h->watchdog, NULL, 0);
	g_spawn_close_pid(h->watchdog);
	g_free(h->sqlite_dir);
	g_free(h->pg_dir);
	g_free(h->pg_skip);
}

static gboolean
run_as_postgres(Harness *h, const char *const *args, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	int status = 0;

	g_ptr_array_add(argv, (gpointer) "runuser");
	g_ptr_array_add(argv, (gpointer) "-u");
	g_ptr_array_add(argv, (gpointer) "postgres");
	g_ptr_array_add(argv, (gpointer) "--");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer) args[i]);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(h->pg_dir, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
			  &out, &err, &status, error))
		return FALSE;
	if (!g_spawn_check_wait_status(status, error)) {
		g_prefix_error(error, "%s: %s%s: ", args[0], out, err);
		return FALSE;
	}
	return TRUE;
}

/* pg_ctl start or restart: only on a Unix socket in pg_dir, no TCP */
static void
pg_ctl_run(Harness *h, const char *command)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *pg_ctl = g_build_filename(PG_BINDIR, "pg_ctl", NULL);
	g_autofree char *data = g_build_filename(h->pg_dir, "data", NULL);
	g_autofree char *log = g_build_filename(h->pg_dir, "log", NULL);
	g_autofree char *options =
		g_strdup_printf("-k %s -c listen_addresses='' -c fsync=off", h->pg_dir);
	const char *const args[] = {pg_ctl,  "-D", data, "-l",	 log,	  "-o",
				    options, "-w", "-m", "fast", command, NULL};

	run_as_postgres(h, args, &error);
	g_assert_no_error(error);
}

/* starts the server once; FALSE with pg_skip set when this machine cannot run it */
static gboolean
pg_start(Harness *h)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *initdb = g_build_filename(PG_BINDIR, "initdb", NULL);
	g_autofree char *pg_ctl = g_build_filename(PG_BINDIR, "pg_ctl", NULL);
	g_autofree char *data = g_build_filename(h->pg_dir, "data", NULL);
	g_autofree char *runuser = g_find_program_in_path("runuser");
	struct passwd *pw;

	if (h->pg_tried)
		return h->pg_running;
	h->pg_tried = TRUE;
	if (geteuid() != 0) {
		h->pg_skip = g_strdup("PostgreSQL runs as the postgres user: needs root");
		return FALSE;
	}
	if (!g_file_test(initdb, G_FILE_TEST_IS_EXECUTABLE) ||
	    !g_file_test(pg_ctl, G_FILE_TEST_IS_EXECUTABLE) || runuser == NULL) {
		h->pg_skip = g_strdup("PostgreSQL 15 or runuser is not installed");
		return FALSE;
	}
	pw = getpwnam("postgres");
	if (pw == NULL) {
		h->pg_skip = g_strdup("no postgres user");
		return FALSE;
	}
	g_assert_cmpint(chown(h->pg_dir, pw->pw_uid, pw->pw_gid), ==, 0);
	g_assert_cmpint(chmod(h->pg_dir, 0700), ==, 0);

	{
		const char *const args[] = {initdb,	"-D", data,   "-A",	   "trust", "-U",
					    "postgres", "-E", "UTF8", "--no-sync", NULL};

		run_as_postgres(h, args, &error);
		g_assert_no_error(error);
	}
	pg_ctl_run(h, "start");
	h->pg_running = TRUE;
	return TRUE;
}

static void
test_db_free(TestDb *db)
{
	g_free(db->url);
	g_free(db->sqlite_path);
	g_free(db->pg_conninfo);
	g_free(db);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestDb, test_db_free)

static TestDb *
test_db_new(Harness *h, gboolean pg)
{
	TestDb *db = g_new0(TestDb, 1);
	guint n = ++h->n_dbs;

	if (pg) {
		g_autofree char *admin =
			g_strdup_printf("host=%s user=postgres dbname=postgres", h->pg_dir);
		g_autofree char *create = g_strdup_printf("CREATE DATABASE wr_test_%u", n);
		PGconn *conn = PQconnectdb(admin);
		PGresult *res;

		g_assert_cmpint(PQstatus(conn), ==, CONNECTION_OK);
		res = PQexec(conn, create);
		g_assert_cmpint(PQresultStatus(res), ==, PGRES_COMMAND_OK);
		PQclear(res);
		PQfinish(conn);
		db->pg_conninfo =
			g_strdup_printf("host=%s user=postgres dbname=wr_test_%u", h->pg_dir, n);
		db->url = g_strdup_printf("postgres:%s", db->pg_conninfo);
	} else {
		g_autofree char *name = g_strdup_printf("store-%u.db", n);

		db->sqlite_path = g_build_filename(h->sqlite_dir, name, NULL);
		db->url = g_strdup_printf("sqlite://%s", db->sqlite_path);
	}
	return db;
}

/* SQL behind the store's back, for what the API must not allow */
static void
raw_exec(TestDb *db, const char *sql)
{
	if (db->pg_conninfo != NULL) {
		PGconn *conn = PQconnectdb(db->pg_conninfo);
		PGresult *res;

		g_assert_cmpint(PQstatus(conn), ==, CONNECTION_OK);
		res = PQexec(conn, sql);
		g_assert_cmpint(PQresultStatus(res), ==, PGRES_COMMAND_OK);
		PQclear(res);
		PQfinish(conn);
	} else {
		sqlite3 *s = NULL;

		g_assert_cmpint(sqlite3_open_v2(db->sqlite_path, &s,
						SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
				==, SQLITE_OK);
		g_assert_cmpint(sqlite3_exec(s, sql, NULL, NULL, NULL), ==, SQLITE_OK);
		g_assert_cmpint(sqlite3_close(s), ==, SQLITE_OK);
	}
}

static void
run_case(gconstpointer data)
{
	const Case *c = data;
	g_autoptr(TestDb) db = NULL;

	if (c->pg && !pg_start(c->harness)) {
		g_test_skip(c->harness->pg_skip);
		return;
	}
	db = test_db_new(c->harness, c->pg);
	c->func(db);
}

static WrStore *
open_ok(TestDb *db)
{
	g_autoptr(GError) error = NULL;
	WrStore *store = wr_store_open(db->url, &error);

	g_assert_no_error(error);
	g_assert_nonnull(store);
	return store;
}

static WrStoreUser *
user_ok(WrStore *store, const char *sub, const char *login)
{
	g_autoptr(GError) error = NULL;
	WrStoreUser *user = wr_store_user_upsert(store, "https://accounts.google.com", sub, login,
						 "Display", "https://pic/x", NOW, &error);

	g_assert_no_error(error);
	g_assert_nonnull(user);
	return user;
}

/* a node template numbered n, so that every unique field differs */
static WrStoreNode *
node_tmpl(guint n, gint64 user_id)
{
	WrStoreNode *t = g_new0(WrStoreNode, 1);
	const char *const tags[] = {"tag:server", NULL};
	const char *const endpoints[] = {"192.0.2.1:41641", "[2001:db8::1]:41641", NULL};
	const char *const routes[] = {"192.168.1.0/24", "0.0.0.0/0", NULL};

	t->machine_key = g_strdup_printf("mkey:%064x", n);
	t->node_key = g_strdup_printf("nodekey:%064x", n);
	t->disco_key = g_strdup_printf("discokey:%064x", n);
	t->name = g_strdup_printf("node-%u", n);
	t->user_id = user_id;
	t->tags = g_strdupv((char **) tags);
	t->ipv4 = g_strdup_printf("100.64.0.%u/32", n);
	t->ipv6 = g_strdup_printf("fd7a:115c:a1e0::6440:%x/128", n);
	t->hostinfo = g_strdup("{\"hostname\":\"h\",\"os\":\"linux\"}");
	t->endpoints = g_strdupv((char **) endpoints);
	t->advertised_routes = g_strdupv((char **) routes);
	t->approved_routes = g_new0(char *, 1);
	t->exit_node = TRUE;
	t->key_expiry = NOW + 86400;
	t->last_seen = NOW - 5;
	return t;
}

static WrStoreNode *
node_ok(WrStore *store, guint n, gint64 user_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreNode) t = node_tmpl(n, user_id);
	WrStoreNode *node = wr_store_node_create(store, t, NOW, &error);

	g_assert_no_error(error);
	g_assert_nonnull(node);
	return node;
}

static guint
n_nodes(WrStore *store)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) nodes = wr_store_node_list(store, 0, &error);

	g_assert_no_error(error);
	return nodes->len;
}

static void
case_migrations(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) users = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autoptr(GPtrArray) events = NULL;
	WrStorePolicy *policy;

	g_assert_cmpint(wr_store_schema_version(store, &error), ==, WR_STORE_SCHEMA_VERSION);
	g_assert_no_error(error);
	g_assert_cmpstr(wr_store_backend_name(store), ==,
			db->pg_conninfo != NULL ? "postgresql" : "sqlite");
	users = wr_store_user_list(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(users->len, ==, 0);
	g_assert_cmpuint(n_nodes(store), ==, 0);
	keys = wr_store_authkey_list(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 0);
	events = wr_store_audit_list(store, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(events->len, ==, 0);
	policy = wr_store_policy_get(store, &error);
	g_assert_no_error(error);
	g_assert_null(policy);

	/* opening a migrated database again applies nothing */
	g_clear_pointer(&store, wr_store_close);
	store = open_ok(db);
	g_assert_cmpint(wr_store_schema_version(store, NULL), ==, WR_STORE_SCHEMA_VERSION);
}

static void
case_reopen(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) user = user_ok(store, "1001", "ann@example.com");
	g_autoptr(WrStoreNode) node = node_ok(store, 1, user->id);
	g_autoptr(WrStorePolicy) policy = NULL;
	g_autoptr(WrStoreAuthKey) key = NULL;
	g_autoptr(WrStoreAuthKey) found = NULL;
	g_autoptr(WrStoreNode) again = NULL;
	g_autoptr(WrStoreUser) user_again = NULL;
	g_autoptr(GPtrArray) events = NULL;
	g_autofree char *secret = NULL;
	const char *const endpoints[] = {"198.51.100.7:41641", NULL};

	g_assert_true(wr_store_node_update_status(store, node->id, NULL, endpoints, NULL, NOW + 1,
						  &error));
	g_assert_no_error(error);
	policy = wr_store_policy_set(store, "{\"acls\":[]}", "ann@example.com", NOW, &error);
	g_assert_no_error(error);
	g_clear_pointer(&policy, wr_store_policy_free);
	g_assert_cmpint(wr_store_audit_append(store, NOW, "ann@example.com", "policy.set", "",
					      "{\"version\":1}", &error),
			>, 0);
	g_assert_no_error(error);
	key = wr_store_authkey_create(store, user->id, FALSE, FALSE, NULL, 0, NOW, &secret, &error);
	g_assert_no_error(error);

	/* a restart */
	g_clear_pointer(&store, wr_store_close);
	store = open_ok(db);

	user_again = wr_store_user_get(store, user->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(user_again->login_name, ==, "ann@example.com");
	again = wr_store_node_get(store, node->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again->node_key, ==, node->node_key);
	g_assert_cmpstr(again->ipv4, ==, "100.64.0.1/32");
	g_assert_cmpstr(again->endpoints[0], ==, "198.51.100.7:41641");
	g_assert_null(again->endpoints[1]);
	g_assert_cmpint(again->last_seen, ==, NOW + 1);
	policy = wr_store_policy_get(store, &error);
	g_assert_no_error(error);
	g_assert_nonnull(policy);
	g_assert_cmpstr(policy->text, ==, "{\"acls\":[]}");
	events = wr_store_audit_list(store, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(events->len, ==, 1);
	found = wr_store_authkey_lookup(store, secret, &error);
	g_assert_no_error(error);
	g_assert_cmpint(found->id, ==, key->id);
	wr_memzero(secret, strlen(secret));
}

static void
case_users(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) ann = user_ok(store, "1001", "ann@example.com");
	g_autoptr(WrStoreUser) bob = user_ok(store, "1002", "bob@example.com");
	g_autoptr(WrStoreUser) ann2 = NULL;
	g_autoptr(WrStoreUser) got = NULL;
	g_autoptr(WrStoreNode) node = NULL;
	g_autoptr(GPtrArray) users = NULL;

	g_assert_cmpint(ann->id, !=, bob->id);
	g_assert_cmpstr(ann->iss, ==, "https://accounts.google.com");
	g_assert_cmpstr(ann->sub, ==, "1001");
	g_assert_cmpstr(ann->display_name, ==, "Display");
	g_assert_cmpstr(ann->picture, ==, "https://pic/x");
	g_assert_cmpint(ann->created, ==, NOW);

	/* same (iss, sub): the names change, id and created stay */
	ann2 = wr_store_user_upsert(store, "https://accounts.google.com", "1001", "ann@new.example",
				    "Ann", NULL, NOW + 100, &error);
	g_assert_no_error(error);
	g_assert_cmpint(ann2->id, ==, ann->id);
	g_assert_cmpint(ann2->created, ==, NOW);
	g_assert_cmpstr(ann2->login_name, ==, "ann@new.example");
	g_assert_cmpstr(ann2->display_name, ==, "Ann");
	g_assert_cmpstr(ann2->picture, ==, "");

	/* same sub from another issuer is another user */
	g_clear_pointer(&got, wr_store_user_free);
	got = wr_store_user_upsert(store, "https://other.example", "1001", "x@other.example", NULL,
				   NULL, NOW, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, !=, ann->id);
	g_clear_pointer(&got, wr_store_user_free);

	got = wr_store_user_get_by_subject(store, "https://accounts.google.com", "1002", &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, bob->id);
	g_clear_pointer(&got, wr_store_user_free);
	got = wr_store_user_get_by_subject(store, "https://accounts.google.com", "9", &error);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_assert_null(got);
	g_clear_error(&error);

	users = wr_store_user_list(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(users->len, ==, 3);
	g_assert_cmpint(((WrStoreUser *) users->pdata[0])->id, ==, ann->id);

	/* empty required fields */
	g_assert_null(wr_store_user_upsert(store, "https://accounts.google.com", "", "x", NULL,
					   NULL, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_clear_error(&error);

	/* a user with nodes stays */
	node = node_ok(store, 1, bob->id);
	g_assert_false(wr_store_user_delete(store, bob->id, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_IN_USE);
	g_assert_nonnull(strstr(error->message, "delete user"));
	g_clear_error(&error);
	g_assert_true(wr_store_node_delete(store, node->id, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_user_delete(store, bob->id, &error));
	g_assert_no_error(error);
	g_assert_null(wr_store_user_get(store, bob->id, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(wr_store_user_delete(store, bob->id, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
}

static void
case_nodes(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) ann = user_ok(store, "1001", "ann@example.com");
	g_autoptr(WrStoreNode) a = node_ok(store, 1, ann->id);
	g_autoptr(WrStoreNode) b = node_ok(store, 2, 0);
	g_autoptr(WrStoreNode) got = NULL;
	g_autoptr(WrStoreNode) t = NULL;
	g_autoptr(GPtrArray) nodes = NULL;
	const char *const endpoints[] = {"203.0.113.9:1234", NULL};
	const char *const tags[] = {"tag:a", "tag:b", NULL};
	const char *const routes[] = {"10.0.0.0/8", NULL};
	const char *const none[] = {NULL};

	g_assert_cmpint(a->id, >, 0);
	g_assert_cmpint(a->user_id, ==, ann->id);
	g_assert_cmpint(b->user_id, ==, 0);
	g_assert_cmpstr(a->machine_key, ==,
			"mkey:"
			"0000000000000000000000000000000000000000000000000000000000000001");
	g_assert_null(a->old_node_key);
	g_assert_cmpstr(a->name, ==, "node-1");
	g_assert_cmpstr(a->tags[0], ==, "tag:server");
	g_assert_cmpstr(a->ipv6, ==, "fd7a:115c:a1e0::6440:1/128");
	g_assert_cmpstr(a->hostinfo, ==, "{\"hostname\":\"h\",\"os\":\"linux\"}");
	g_assert_cmpuint(g_strv_length(a->endpoints), ==, 2);
	g_assert_cmpstr(a->advertised_routes[1], ==, "0.0.0.0/0");
	g_assert_cmpuint(g_strv_length(a->approved_routes), ==, 0);
	g_assert_true(a->exit_node);
	g_assert_cmpint(a->key_expiry, ==, NOW + 86400);
	g_assert_cmpint(a->last_seen, ==, NOW - 5);
	g_assert_cmpint(a->created, ==, NOW);

	got = wr_store_node_get_by_machine_key(store, b->machine_key, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, b->id);
	g_clear_pointer(&got, wr_store_node_free);
	got = wr_store_node_get_by_node_key(store, a->node_key, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, a->id);
	g_clear_pointer(&got, wr_store_node_free);
	g_assert_null(wr_store_node_get_by_node_key(store, "nodekey:none", &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	nodes = wr_store_node_list(store, ann->id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(nodes->len, ==, 1);
	g_clear_pointer(&nodes, g_ptr_array_unref);
	g_assert_cmpuint(n_nodes(store), ==, 2);

	/* map status: NULL keeps disco key and hostinfo */
	g_assert_true(
		wr_store_node_update_status(store, a->id, NULL, endpoints, NULL, NOW + 60, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_node_update_status(store, b->id, "discokey:new", NULL,
						  "{\"hostname\":\"b2\"}", NOW + 61, &error));
	g_assert_no_error(error);
	g_assert_false(wr_store_node_update_status(store, b->id, NULL, NULL, "[1]", NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_clear_error(&error);
	got = wr_store_node_get(store, a->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->disco_key, ==, a->disco_key);
	g_assert_cmpstr(got->hostinfo, ==, a->hostinfo);
	g_assert_cmpstr(got->endpoints[0], ==, "203.0.113.9:1234");
	g_assert_cmpint(got->last_seen, ==, NOW + 60);
	g_clear_pointer(&got, wr_store_node_free);
	got = wr_store_node_get(store, b->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->disco_key, ==, "discokey:new");
	g_assert_cmpstr(got->hostinfo, ==, "{\"hostname\":\"b2\"}");
	g_assert_cmpuint(g_strv_length(got->endpoints), ==, 2);
	g_clear_pointer(&got, wr_store_node_free);

	/* admin edits */
	g_assert_true(wr_store_node_rename(store, a->id, "laptop", &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_node_set_tags(store, a->id, tags, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_node_set_approved_routes(store, a->id, routes, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_node_set_advertised(store, a->id, none, FALSE, &error));
	g_assert_no_error(error);
	got = wr_store_node_get(store, a->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->name, ==, "laptop");
	g_assert_cmpuint(g_strv_length(got->tags), ==, 2);
	g_assert_cmpstr(got->tags[1], ==, "tag:b");
	g_assert_cmpstr(got->approved_routes[0], ==, "10.0.0.0/8");
	g_assert_cmpuint(g_strv_length(got->advertised_routes), ==, 0);
	g_assert_false(got->exit_node);
	g_clear_pointer(&got, wr_store_node_free);

	/* expiry: now, and a later expire keeps the earlier time */
	g_assert_true(wr_store_node_expire(store, a->id, NOW + 10, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_node_expire(store, a->id, NOW + 20, &error));
	g_assert_no_error(error);
	got = wr_store_node_get(store, a->id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->key_expiry, ==, NOW + 10);
	g_clear_pointer(&got, wr_store_node_free);

	/* every operation on a missing node names it */
	g_assert_false(wr_store_node_rename(store, 999, "x", &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "rename"));
	g_clear_error(&error);
	g_assert_false(wr_store_node_set_tags(store, 999, tags, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(wr_store_node_expire(store, 999, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_null(wr_store_node_get(store, 999, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a node for a user who does not exist */
	t = node_tmpl(3, 4242);
	g_assert_null(wr_store_node_create(store, t, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_clear_pointer(&t, wr_store_node_free);
	t = node_tmpl(3, 0);
	g_free(t->hostinfo);
	t->hostinfo = g_strdup("{not json");
	g_assert_null(wr_store_node_create(store, t, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_clear_error(&error);

	g_assert_true(wr_store_node_delete(store, b->id, &error));
	g_assert_no_error(error);
	g_assert_false(wr_store_node_delete(store, b->id, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_cmpuint(n_nodes(store), ==, 1);
}

/* creating node n with one field of node 1 must fail with EXISTS and write nothing */
static void
assert_duplicate(WrStore *store, WrStoreNode *t, const char *what)
{
	g_autoptr(GError) error = NULL;
	guint before = n_nodes(store);

	g_assert_null(wr_store_node_create(store, t, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXISTS);
	g_test_message("%s: %s", what, error->message);
	g_assert_nonnull(strstr(error->message, "create a node"));
	g_assert_cmpuint(n_nodes(store), ==, before);
}

static void
case_uniqueness(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreNode) a = node_ok(store, 1, 0);
	g_autoptr(WrStoreNode) b = node_ok(store, 2, 0);
	g_autoptr(WrStoreNode) got = NULL;
	WrStoreNode *t;

	t = node_tmpl(3, 0);
	g_free(t->machine_key);
	t->machine_key = g_strdup(a->machine_key);
	assert_duplicate(store, t, "machine key");
	wr_store_node_free(t);

	t = node_tmpl(3, 0);
	g_free(t->node_key);
	t->node_key = g_strdup(a->node_key);
	assert_duplicate(store, t, "node key");
	wr_store_node_free(t);

	t = node_tmpl(3, 0);
	g_free(t->name);
	t->name = g_strdup(a->name);
	assert_duplicate(store, t, "name");
	wr_store_node_free(t);

	t = node_tmpl(3, 0);
	g_free(t->ipv4);
	t->ipv4 = g_strdup(a->ipv4);
	assert_duplicate(store, t, "IPv4");
	wr_store_node_free(t);

	t = node_tmpl(3, 0);
	g_free(t->ipv6);
	t->ipv6 = g_strdup(b->ipv6);
	assert_duplicate(store, t, "IPv6");
	wr_store_node_free(t);

	/* renaming onto a taken name changes nothing */
	g_assert_false(wr_store_node_rename(store, b->id, a->name, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXISTS);
	g_clear_error(&error);
	got = wr_store_node_get(store, b->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->name, ==, "node-2");
}

static void
case_rotation(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreNode) a = node_ok(store, 1, 0);
	g_autoptr(WrStoreNode) b = node_ok(store, 2, 0);
	g_autoptr(WrStoreNode) got = NULL;

	/* only the current key may be rotated away */
	g_assert_false(wr_store_node_rotate_key(store, a->id, "nodekey:wrong", "nodekey:new",
						NOW + 100, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "rotate"));
	g_clear_error(&error);
	g_assert_false(
		wr_store_node_rotate_key(store, 999, a->node_key, "nodekey:new", NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* onto another node's key: refused, nothing changed */
	g_assert_false(wr_store_node_rotate_key(store, a->id, a->node_key, b->node_key, NOW + 100,
						&error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXISTS);
	g_clear_error(&error);
	got = wr_store_node_get(store, a->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->node_key, ==, a->node_key);
	g_assert_null(got->old_node_key);
	g_clear_pointer(&got, wr_store_node_free);

	g_assert_true(wr_store_node_rotate_key(store, a->id, a->node_key, "nodekey:new", NOW + 100,
					       &error));
	g_assert_no_error(error);
	got = wr_store_node_get(store, a->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->node_key, ==, "nodekey:new");
	g_assert_cmpstr(got->old_node_key, ==, a->node_key);
	g_assert_cmpint(got->key_expiry, ==, NOW + 100);
	g_clear_pointer(&got, wr_store_node_free);

	/* both keys find the node until the old one is forgotten */
	got = wr_store_node_get_by_node_key(store, "nodekey:new", &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, a->id);
	g_clear_pointer(&got, wr_store_node_free);
	got = wr_store_node_get_by_node_key(store, a->node_key, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, a->id);
	g_clear_pointer(&got, wr_store_node_free);

	g_assert_true(wr_store_node_forget_old_key(store, a->id, &error));
	g_assert_no_error(error);
	g_assert_null(wr_store_node_get_by_node_key(store, a->node_key, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	got = wr_store_node_get_by_node_key(store, "nodekey:new", &error);
	g_assert_no_error(error);
	g_assert_null(got->old_node_key);
}

static void
case_authkeys(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) ann = user_ok(store, "1001", "ann@example.com");
	g_autoptr(WrStoreAuthKey) once = NULL;
	g_autoptr(WrStoreAuthKey) multi = NULL;
	g_autoptr(WrStoreAuthKey) timed = NULL;
	g_autoptr(WrStoreAuthKey) got = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree char *once_secret = NULL;
	g_autofree char *multi_secret = NULL;
	g_autofree char *timed_secret = NULL;
	g_autofree char *wrong = NULL;
	const char *const tags[] = {"tag:ci", NULL};

	once = wr_store_authkey_create(store, ann->id, FALSE, TRUE, tags, 0, NOW, &once_secret,
				       &error);
	g_assert_no_error(error);
	g_assert_cmpuint(strlen(once_secret), ==, WR_STORE_AUTHKEY_LEN);
	g_assert_true(g_str_has_prefix(once_secret, once->prefix));
	g_assert_true(g_str_has_prefix(once->prefix, "wrkey-"));
	g_assert_true(once->ephemeral);
	g_assert_false(once->reusable);
	g_assert_false(once->used);
	g_assert_cmpstr(once->tags[0], ==, "tag:ci");
	multi = wr_store_authkey_create(store, 0, TRUE, FALSE, NULL, 0, NOW, &multi_secret, &error);
	g_assert_no_error(error);
	timed = wr_store_authkey_create(store, ann->id, TRUE, FALSE, NULL, NOW + 10, NOW,
					&timed_secret, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(once_secret, !=, multi_secret);

	/* a key for a missing user */
	{
		g_autofree char *secret = NULL;

		g_assert_null(wr_store_authkey_create(store, 4242, FALSE, FALSE, NULL, 0, NOW,
						      &secret, &error));
		g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
		g_assert_null(secret);
		g_clear_error(&error);
	}

	keys = wr_store_authkey_list(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 3);
	g_assert_cmpuint(strlen(((WrStoreAuthKey *) keys->pdata[0])->prefix), <,
			 WR_STORE_AUTHKEY_LEN);

	/* lookups: the right secret only */
	got = wr_store_authkey_lookup(store, once_secret, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->id, ==, once->id);
	g_clear_pointer(&got, wr_store_authkey_free);
	wrong = g_strdup(once_secret);
	wrong[WR_STORE_AUTHKEY_LEN - 1] = wrong[WR_STORE_AUTHKEY_LEN - 1] == '0' ? '1' : '0';
	g_assert_null(wr_store_authkey_lookup(store, wrong, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	/* the error never repeats what was presented */
	g_assert_null(strstr(error->message, wrong + 23));
	g_clear_error(&error);
	g_assert_null(wr_store_authkey_lookup(store, "not-a-key", &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a one-off key works once */
	got = wr_store_authkey_consume(store, once_secret, NOW + 1, &error);
	g_assert_no_error(error);
	g_assert_true(got->used);
	g_clear_pointer(&got, wr_store_authkey_free);
	g_assert_null(wr_store_authkey_consume(store, once_secret, NOW + 2, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_USED);
	g_assert_nonnull(strstr(error->message, "use a pre-auth key"));
	g_clear_error(&error);
	g_assert_false(wr_store_authkey_mark_used(store, once->id, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_USED);
	g_clear_error(&error);
	g_assert_false(wr_store_authkey_mark_used(store, 999, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a reusable one as often as wanted */
	for (guint i = 0; i < 3; i++) {
		got = wr_store_authkey_consume(store, multi_secret, NOW + i, &error);
		g_assert_no_error(error);
		g_clear_pointer(&got, wr_store_authkey_free);
	}
	g_assert_true(wr_store_authkey_mark_used(store, multi->id, &error));
	g_assert_no_error(error);

	/* expiry: refused at and after it, and a refused use marks nothing */
	got = wr_store_authkey_consume(store, timed_secret, NOW + 9, &error);
	g_assert_no_error(error);
	g_clear_pointer(&got, wr_store_authkey_free);
	g_assert_null(wr_store_authkey_consume(store, timed_secret, NOW + 10, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXPIRED);
	g_clear_error(&error);

	/* expiring by hand */
	g_assert_true(wr_store_authkey_expire(store, multi->id, NOW + 5, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_authkey_expire(store, multi->id, NOW + 50, &error));
	g_assert_no_error(error);
	got = wr_store_authkey_lookup(store, multi_secret, &error);
	g_assert_no_error(error);
	g_assert_cmpint(got->expiry, ==, NOW + 5);
	g_clear_pointer(&got, wr_store_authkey_free);
	g_assert_null(wr_store_authkey_consume(store, multi_secret, NOW + 6, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_EXPIRED);
	g_clear_error(&error);
	g_assert_false(wr_store_authkey_expire(store, 999, NOW, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a deleted user takes its keys along */
	g_assert_true(wr_store_user_delete(store, ann->id, &error));
	g_assert_no_error(error);
	g_clear_pointer(&keys, g_ptr_array_unref);
	keys = wr_store_authkey_list(store, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 1);

	wr_memzero(once_secret, strlen(once_secret));
	wr_memzero(multi_secret, strlen(multi_secret));
	wr_memzero(timed_secret, strlen(timed_secret));
}

static void
case_policy(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStorePolicy) v1 = NULL;
	g_autoptr(WrStorePolicy) v2 = NULL;
	g_autoptr(WrStorePolicy) cur = NULL;
	g_autoptr(GPtrArray) history = NULL;

	v1 = wr_store_policy_set(store, "// first\n{}", "ann@example.com", NOW, &error);
	g_assert_no_error(error);
	v2 = wr_store_policy_set(store, "{\"acls\": [], }", "bob@example.com", NOW + 1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(v2->version, >, v1->version);
	cur = wr_store_policy_get(store, &error);
	g_assert_no_error(error);
	g_assert_cmpint(cur->version, ==, v2->version);
	g_assert_cmpstr(cur->text, ==, "{\"acls\": [], }");
	g_assert_cmpstr(cur->actor, ==, "bob@example.com");
	g_assert_cmpint(cur->created, ==, NOW + 1);

	history = wr_store_policy_history(store, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(history->len, ==, 2);
	g_assert_cmpstr(((WrStorePolicy *) history->pdata[0])->text, ==, "{\"acls\": [], }");
	g_assert_cmpstr(((WrStorePolicy *) history->pdata[1])->text, ==, "// first\n{}");
	g_clear_pointer(&history, g_ptr_array_unref);
	history = wr_store_policy_history(store, 1, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(history->len, ==, 1);
}

static void
case_audit(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) events = NULL;
	const char *const actions[] = {"user.login", "node.register", "node.key-rotate",
				       "routes.approve", "node.delete"};
	gint64 last = 0;

	/* times out of order: the log keeps append order */
	for (guint i = 0; i < G_N_ELEMENTS(actions); i++) {
		gint64 id = wr_store_audit_append(store, NOW + (i % 2 == 0 ? i : 10 * i), "ann",
						  actions[i], "node:1", "{\"n\":1}", &error);

		g_assert_no_error(error);
		g_assert_cmpint(id, >, last);
		last = id;
	}
	events = wr_store_audit_list(store, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(events->len, ==, G_N_ELEMENTS(actions));
	for (guint i = 0; i < events->len; i++) {
		WrStoreAuditEvent *e = events->pdata[i];

		g_assert_cmpstr(e->action, ==, actions[i]);
		g_assert_cmpstr(e->actor, ==, "ann");
		g_assert_cmpstr(e->target, ==, "node:1");
		g_assert_cmpstr(e->detail, ==, "{\"n\":1}");
	}
	g_clear_pointer(&events, g_ptr_array_unref);

	/* since: times NOW+0, +10, +2, +30, +4; since NOW+4 gives +10, +30, +4 */
	events = wr_store_audit_list(store, NOW + 4, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(events->len, ==, 3);
	g_assert_cmpstr(((WrStoreAuditEvent *) events->pdata[0])->action, ==, "node.register");
	g_assert_cmpstr(((WrStoreAuditEvent *) events->pdata[2])->action, ==, "node.delete");
	g_clear_pointer(&events, g_ptr_array_unref);
	events = wr_store_audit_list(store, 0, 2, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(events->len, ==, 2);
	g_assert_cmpstr(((WrStoreAuditEvent *) events->pdata[1])->action, ==, "node.register");

	g_assert_cmpint(wr_store_audit_append(store, NOW, "ann", "x", "", "not json", &error), ==,
			0);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "audit"));
	g_clear_error(&error);
	g_assert_cmpint(wr_store_audit_append(store, NOW, "ann", "", "", NULL, &error), ==, 0);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
}

static void
case_flows(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GPtrArray) some = NULL;
	WrStoreFlow f[4];
	const WrStoreFlow *batch[4];
	const WrStoreFlow *bad[1];
	WrStoreFlow *got;

	for (guint i = 0; i < G_N_ELEMENTS(f); i++) {
		f[i] = (WrStoreFlow){
			.start_us = (gint64) NOW * G_USEC_PER_SEC + i,
			.end_us = (gint64) NOW * G_USEC_PER_SEC + 1000 * (4 - i),
			.proto = (char *) (i % 2 == 0 ? "tcp" : "udp"),
			.local = (char *) "100.64.0.1:40000",
			.remote = (char *) "[fd7a::2]:443",
			.outbound = i % 2 == 0,
			.peer_id = 2,
			.peer = (char *) "n2",
			.path = (char *) "direct",
			.end_reason = (char *) "fin",
			.tx_packets = 820,
			.tx_bytes = G_GINT64_CONSTANT(5) << 40, /* past 32 bits */
			.rx_packets = 33,
			.rx_bytes = 1724 + i,
		};
		batch[i] = &f[i];
	}
	g_assert_true(wr_store_flows_append(store, 1, 10, NOW, batch, 2, &error));
	g_assert_no_error(error);
	g_assert_true(wr_store_flows_append(store, 2, 20, NOW + 1, batch + 2, 2, &error));
	g_assert_no_error(error);

	/* oldest end first */
	all = wr_store_flows_list(store, 0, 0, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 4);
	got = all->pdata[0];
	g_assert_cmpint(got->end_us, ==, f[3].end_us);
	g_assert_cmpint(got->node_id, ==, 2);
	g_assert_cmpint(got->user_id, ==, 20);
	g_assert_cmpint(got->received, ==, NOW + 1);
	g_assert_cmpint(got->start_us, ==, f[3].start_us);
	g_assert_cmpstr(got->proto, ==, "udp");
	g_assert_cmpstr(got->local, ==, "100.64.0.1:40000");
	g_assert_cmpstr(got->remote, ==, "[fd7a::2]:443");
	g_assert_false(got->outbound);
	g_assert_cmpint(got->peer_id, ==, 2);
	g_assert_cmpstr(got->peer, ==, "n2");
	g_assert_cmpstr(got->path, ==, "direct");
	g_assert_cmpstr(got->end_reason, ==, "fin");
	g_assert_cmpint(got->tx_packets, ==, 820);
	g_assert_cmpint(got->tx_bytes, ==, G_GINT64_CONSTANT(5) << 40);
	g_assert_cmpint(got->rx_bytes, ==, 1727);
	g_assert_true(((WrStoreFlow *) all->pdata[3])->outbound);

	/* by node, by user, since, limit */
	some = wr_store_flows_list(store, 1, 0, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(some->len, ==, 2);
	g_clear_pointer(&some, g_ptr_array_unref);
	some = wr_store_flows_list(store, 0, 20, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(some->len, ==, 2);
	g_assert_cmpint(((WrStoreFlow *) some->pdata[0])->node_id, ==, 2);
	g_clear_pointer(&some, g_ptr_array_unref);
	some = wr_store_flows_list(store, 1, 20, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(some->len, ==, 0);
	g_clear_pointer(&some, g_ptr_array_unref);
	some = wr_store_flows_list(store, 0, 0, f[1].end_us, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(some->len, ==, 2);
	g_clear_pointer(&some, g_ptr_array_unref);
	some = wr_store_flows_list(store, 0, 0, 0, 3, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(some->len, ==, 3);

	/* a bad record: refused, and nothing of its batch stored */
	f[0].proto = (char *) "";
	bad[0] = &f[0];
	g_assert_false(wr_store_flows_append(store, 3, 0, NOW, bad, 1, &error));
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_INVALID);
	g_clear_pointer(&all, g_ptr_array_unref);
	all = wr_store_flows_list(store, 3, 0, 0, 0, NULL);
	g_assert_cmpuint(all->len, ==, 0);
}

static void
case_future(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) ann = user_ok(store, "1001", "ann@example.com");
	WrStore *refused;

	g_clear_pointer(&store, wr_store_close);
	raw_exec(db, "UPDATE schema_version SET version = 99");
	refused = wr_store_open(db->url, &error);
	g_assert_null(refused);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_TOO_NEW);
	g_assert_nonnull(strstr(error->message, "99"));
	g_assert_nonnull(strstr(error->message, "upgrade"));
	g_clear_error(&error);

	/* nothing was touched: back at the known version the data is all there */
	{
		g_autofree char *back = g_strdup_printf("UPDATE schema_version SET version = %d",
							WR_STORE_SCHEMA_VERSION);

		raw_exec(db, back);
	}
	store = open_ok(db);
	g_clear_pointer(&ann, wr_store_user_free);
	ann = wr_store_user_get_by_subject(store, "https://accounts.google.com", "1001", &error);
	g_assert_no_error(error);
}

/* the database server restarts under a running store: one failure at most, nothing lost */
static void
test_pg_restart(gconstpointer data)
{
	Harness *h = (Harness *) data;
	g_autoptr(TestDb) db = NULL;
	g_autoptr(WrStore) store = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreUser) ann = NULL;
	g_autoptr(WrStoreUser) got = NULL;

	if (!pg_start(h)) {
		g_test_skip(h->pg_skip);
		return;
	}
	db = test_db_new(h, TRUE);
	store = open_ok(db);
	ann = user_ok(store, "1001", "ann@example.com");
	pg_ctl_run(h, "restart");

	/* the first statement may find the connection broken; the next one reconnects */
	got = wr_store_user_get(store, ann->id, &error);
	if (got == NULL) {
		g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED);
		g_test_message("after the restart: %s", error->message);
		g_clear_error(&error);
		got = wr_store_user_get(store, ann->id, &error);
	}
	g_assert_no_error(error);
	g_assert_cmpstr(got->login_name, ==, "ann@example.com");
	g_clear_pointer(&got, wr_store_user_free);
	got = user_ok(store, "1002", "bob@example.com");
}

/* a version-1 database gains the ephemeral column (existing nodes: not ephemeral), and an
 * ephemeral node reads back as one */
static void
case_migration_2(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreNode) old = node_ok(store, 1, 0);
	g_autoptr(WrStoreNode) got = NULL;
	g_autoptr(WrStoreNode) t = node_tmpl(2, 0);
	g_autoptr(WrStoreNode) eph = NULL;

	g_assert_false(old->ephemeral);
	/* back to what version 1 was */
	g_clear_pointer(&store, wr_store_close);
	raw_exec(db, "DROP TABLE flows");
	raw_exec(db, "ALTER TABLE nodes DROP COLUMN ephemeral");
	raw_exec(db, "UPDATE schema_version SET version = 1");
	store = open_ok(db);
	g_assert_cmpint(wr_store_schema_version(store, &error), ==, WR_STORE_SCHEMA_VERSION);
	got = wr_store_node_get(store, old->id, &error);
	g_assert_no_error(error);
	g_assert_false(got->ephemeral);
	g_assert_cmpstr(got->name, ==, "node-1");
	t->ephemeral = TRUE;
	eph = wr_store_node_create(store, t, NOW, &error);
	g_assert_no_error(error);
	g_assert_true(eph->ephemeral);
	g_clear_pointer(&eph, wr_store_node_free);
	eph = wr_store_node_get_by_machine_key(store, t->machine_key, &error);
	g_assert_no_error(error);
	g_assert_true(eph->ephemeral);
}

/* version 2 -> 3: the flows table appears, the nodes stay */
static void
case_migration_3(TestDb *db)
{
	g_autoptr(WrStore) store = open_ok(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStoreNode) old = node_ok(store, 1, 0);
	g_autoptr(WrStoreNode) got = NULL;
	g_autoptr(GPtrArray) flows = NULL;
	WrStoreFlow f = {.proto = (char *) "tcp",
			 .local = (char *) "100.64.0.1:1",
			 .remote = (char *) "100.64.0.2:2",
			 .end_reason = (char *) "rst"};
	const WrStoreFlow *batch[] = {&f};

	g_clear_pointer(&store, wr_store_close);
	raw_exec(db, "DROP TABLE flows");
	raw_exec(db, "UPDATE schema_version SET version = 2");
	store = open_ok(db);
	g_assert_cmpint(wr_store_schema_version(store, &error), ==, 3);
	got = wr_store_node_get(store, old->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got->name, ==, "node-1");
	g_assert_true(wr_store_flows_append(store, old->id, 0, NOW, batch, 1, &error));
	g_assert_no_error(error);
	flows = wr_store_flows_list(store, old->id, 0, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(flows->len, ==, 1);
	g_assert_cmpstr(((WrStoreFlow *) flows->pdata[0])->end_reason, ==, "rst");
	g_assert_cmpstr(((WrStoreFlow *) flows->pdata[0])->peer, ==, "");
}

/* a migration that fails half-way leaves nothing behind, not even the version table */
static void
case_migration_atomic(TestDb *db)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStore) store = NULL;

	/* the last table of version 1 is in the way */
	raw_exec(db, "CREATE TABLE audit (x INTEGER)");
	store = wr_store_open(db->url, &error);
	g_assert_null(store);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "migration to version 1"));
	g_test_message("%s", error->message);
	g_clear_error(&error);

	/* had users, nodes, … or schema_version stayed, this open would fail or skip them */
	raw_exec(db, "DROP TABLE audit");
	store = open_ok(db);
	g_assert_cmpint(wr_store_schema_version(store, &error), ==, WR_STORE_SCHEMA_VERSION);
	g_assert_no_error(error);
	g_assert_cmpuint(n_nodes(store), ==, 0);
}

static void
test_bad_urls(gconstpointer data)
{
	const Harness *h = data;
	const char *const bad[] = {
		"",
		"sqlite://",
		"sqlite://host/db",
		"sqlite:",
		"sqlite:///",
		"postgres:",
		"postgres:nonsense",
		"postgresql:host=/tmp dbname='unterminated",
		"mysql://localhost/warren",
		"http://example.com/db",
		":memory:",
		"/nonexistent-dir-for-warren/db.sqlite",
	};
	g_autofree char *good = g_build_filename(h->sqlite_dir, "url.db", NULL);
	g_autofree char *good_url = g_strdup_printf("sqlite://%s", good);
	g_autofree char *plain = g_build_filename(h->sqlite_dir, "plain.db", NULL);
	const char *const goods[] = {good_url, plain};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		WrStore *store = wr_store_open(bad[i], &error);

		g_test_message("%s: %s", bad[i], error != NULL ? error->message : "(opened)");
		g_assert_null(store);
		g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL);
		g_assert_true(g_str_has_prefix(error->message, "cannot open the store: "));
	}
	for (guint i = 0; i < G_N_ELEMENTS(goods); i++) {
		g_autoptr(GError) error = NULL;
		WrStore *store = wr_store_open(goods[i], &error);
		const char *path = i == 0 ? good : plain;
		GStatBuf st;

		g_assert_no_error(error);
		g_assert_cmpstr(wr_store_backend_name(store), ==, "sqlite");
		wr_store_close(store);
		/* created 0600 whatever the umask */
		g_assert_cmpint(g_stat(path, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	}
}

static void
test_not_a_database(gconstpointer data)
{
	const Harness *h = data;
	g_autofree char *path = g_build_filename(h->sqlite_dir, "garbage.db", NULL);
	g_autoptr(GError) error = NULL;
	WrStore *store;

	g_assert_true(g_file_set_contents(path, "this is not an SQLite database, not at all....",
					  -1, &error));
	g_assert_no_error(error);
	store = wr_store_open(path, &error);
	g_assert_null(store);
	g_assert_error(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED);
	g_test_message("%s", error->message);
}

static const struct {
	const char *name;
	CaseFunc func;
} cases[] = {
	{"migrations", case_migrations},
	{"reopen", case_reopen},
	{"users", case_users},
	{"nodes", case_nodes},
	{"uniqueness", case_uniqueness},
	{"rotation", case_rotation},
	{"authkeys", case_authkeys},
	{"policy", case_policy},
	{"audit", case_audit},
	{"flows", case_flows},
	{"future", case_future},
	{"migration-atomic", case_migration_atomic},
	{"migration-2", case_migration_2},
	{"migration-3", case_migration_3},
};

int
main(int argc, char **argv)
{
	Harness h = {0};
	int rc;

	g_test_init(&argc, &argv, NULL);
	wr_crypto_init();
	harness_init(&h);
	for (guint b = 0; b < 2; b++) {
		for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
			Case *c = g_new0(Case, 1);
			g_autofree char *path =
				g_strdup_printf("/warren/store/%s/%s",
						b == 0 ? "sqlite" : "postgresql", cases[i].name);

			c->harness = &h;
			c->pg = b == 1;
			c->func = cases[i].func;
			g_test_add_data_func_full(path, c, run_case, g_free);
		}
	}
	g_test_add_data_func("/warren/store/bad-urls", &h, test_bad_urls);
	g_test_add_data_func("/warren/store/postgresql/server-restart", &h, test_pg_restart);
	g_test_add_data_func("/warren/store/not-a-database", &h, test_not_a_database);
	rc = g_test_run();
	harness_finish(&h);
	return rc;
}
