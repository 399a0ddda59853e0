/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real warren-control for the integration tests (see wr-test-control.h).
 */
#include "wr-test-control.h"

#include <signal.h>
#include <string.h>

#include "wr-store.h"
#include "wr-test-proc.h"

void
ctl_init_opts(Ctl *c, const CtlOptions *opts)
{
	static const char derp[] =
		"{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"RegionName\":"
		"\"Loopback\",\"Nodes\":[{\"Name\":\"1a\",\"RegionID\":1,\"HostName\":"
		"\"derp.test\",\"IPv4\":\"127.0.0.1\",\"DERPPort\":3340}]}}}\n";
	g_autofree char *derp_path = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	memset(c, 0, sizeof(*c));
	c->dir = g_dir_make_tmp("wr-control-test-XXXXXX", &error);
	g_assert_no_error(error);
	c->port = wr_test_free_port(SOCK_STREAM);
	c->url = g_strdup_printf("http://127.0.0.1:%u", c->port);
	c->log_path = g_build_filename(c->dir, "control.log", NULL);
	c->conf = g_build_filename(c->dir, "control.conf", NULL);
	c->db_url = opts->db_url != NULL ? g_strdup(opts->db_url)
					 : g_strdup_printf("sqlite://%s/control.sqlite", c->dir);
	derp_path = g_build_filename(c->dir, "derp.json", NULL);
	g_assert_true(g_file_set_contents(derp_path, derp, -1, NULL));
	text = g_strdup_printf("[server]\n"
			       "listen = 127.0.0.1:%u\n"
			       "server-url = %s\n"
			       "state-dir = %s\n"
			       "admin-socket = %s/admin.sock\n"
			       "%s"
			       "[database]\n"
			       "url = %s\n"
			       "[network]\n"
			       "dns-domain = tailnet.test\n"
			       "derp-map = derp.json\n"
			       "%s"
			       "[limits]\n"
			       "%s"
			       "%s",
			       c->port, c->url, c->dir, c->dir,
			       opts->server != NULL ? opts->server : "", c->db_url,
			       opts->network != NULL ? opts->network : "",
			       opts->limits != NULL ? opts->limits : "register-burst = 1000\n",
			       opts->extra != NULL ? opts->extra : "");
	g_assert_true(g_file_set_contents(c->conf, text, -1, NULL));
}

void
ctl_init(Ctl *c, const char *extra)
{
	CtlOptions opts = {.extra = extra};

	ctl_init_opts(c, &opts);
}

char *
ctl_log(Ctl *c)
{
	char *text = NULL;

	(void) g_file_get_contents(c->log_path, &text, NULL, NULL);
	return text != NULL ? text : g_strdup("");
}

/* the server answers (over TLS the test client cannot ask: the log says when it listens) */
static gboolean
ctl_ready(gpointer data)
{
	Ctl *c = data;
	g_autoptr(WrControlClient) probe = NULL;
	g_autofree char *log = NULL;

	if (c->tls) {
		log = ctl_log(c);
		return strstr(log, " serving") != NULL;
	}
	probe = wr_control_client_new(c->url, NULL);
	wr_control_client_set_timeout(probe, 1000);
	return wr_control_client_fetch_key(probe, NULL);
}

void
ctl_start(Ctl *c)
{
	const char *bin = g_getenv("WARREN_CONTROL");
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GError) error = NULL;
	g_autofree char *log = NULL;
	gboolean ready;

	g_assert_nonnull(bin);
	g_subprocess_launcher_set_child_setup(launcher, wr_test_die_with_parent_cb, NULL, NULL);
	g_subprocess_launcher_set_stderr_file_path(launcher, c->log_path);
	g_subprocess_launcher_setenv(launcher, "G_MESSAGES_DEBUG", "all", TRUE);
	c->proc = g_subprocess_launcher_spawn(launcher, &error, bin, "serve", "--config", c->conf,
					      NULL);
	g_assert_no_error(error);
	ready = wr_test_wait_ready(c->proc, 10000, ctl_ready, c);
	log = ctl_log(c);
	if (!ready)
		g_error("warren-control did not come up on port %u:\n%s", c->port, log);
	/* the backend asked for is the one that serves */
	g_assert_nonnull(strstr(log, g_str_has_prefix(c->db_url, "postgres") ? "store: postgresql"
									     : "store: sqlite"));
}

void
ctl_stop(Ctl *c)
{
	if (c->proc == NULL)
		return;
	g_subprocess_send_signal(c->proc, SIGTERM);
	g_assert_true(g_subprocess_wait(c->proc, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(c->proc));
	g_assert_cmpint(g_subprocess_get_exit_status(c->proc), ==, 0);
	g_clear_object(&c->proc);
}

void
ctl_kill(Ctl *c)
{
	if (c->proc == NULL)
		return;
	g_subprocess_force_exit(c->proc);
	g_assert_true(g_subprocess_wait(c->proc, NULL, NULL));
	g_clear_object(&c->proc);
}

void
ctl_clear(Ctl *c)
{
	if (c->clean_stop)
		ctl_stop(c);
	else
		ctl_kill(c);
	wr_test_rm_rf(c->dir);
	g_free(c->dir);
	g_free(c->conf);
	g_free(c->db_url);
	g_free(c->log_path);
	g_free(c->url);
}

char *
ctl_make_key(Ctl *c, gboolean reusable, gboolean ephemeral, const char *const *tags, gint64 expiry)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStore) store = wr_store_open(c->db_url, &error);
	g_autoptr(WrStoreAuthKey) key = NULL;
	char *secret = NULL;

	g_assert_no_error(error);
	key = wr_store_authkey_create(store, 0, reusable, ephemeral, tags, expiry,
				      g_get_real_time() / G_USEC_PER_SEC, &secret, &error);
	g_assert_no_error(error);
	return secret;
}

WrControlClient *
ctl_client_new(Ctl *c)
{
	g_autoptr(GError) error = NULL;
	WrControlClient *client = wr_control_client_new(c->url, &error);

	g_assert_no_error(error);
	wr_control_client_set_timeout(client, 10000);
	g_assert_true(wr_control_client_fetch_key(client, &error));
	g_assert_no_error(error);
	return client;
}

JsonObject *
ctl_register(WrControlClient *client, const char *key, const char *hostname)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) req = wr_control_client_register_request(client, key, hostname);
	JsonObject *resp = wr_control_client_call(client, "register", req, &error);

	g_assert_no_error(error);
	g_assert_nonnull(resp);
	return resp;
}

WrControlClient *
ctl_join(Ctl *c, const char *key, const char *hostname)
{
	WrControlClient *client = ctl_client_new(c);
	g_autoptr(JsonObject) resp = ctl_register(client, key, hostname);

	g_assert_cmpstr(json_object_get_string_member(resp, "error"), ==, "");
	g_assert_true(json_object_get_boolean_member(resp, "machine_authorized"));
	return client;
}
