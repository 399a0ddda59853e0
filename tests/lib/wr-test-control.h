/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real warren-control for the integration tests: a temporary directory with its config (a
 * SQLite store, loopback listener, a one-region DERP map, dns-domain tailnet.test), the server
 * started and waited for (it dies with the test), and pre-auth keys made in its store.
 * Shared by test-control-conn and test-warrend.  WARREN_CONTROL names the binary.
 */
#pragma once

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>

#include "wr-control-client.h"
#include "wr-store.h"
#include "wr-test-proc.h"

typedef struct {
	char *dir;
	char *conf;
	char *db_url;
	char *log_path;
	char *url;
	guint16 port;
	gboolean tls;
	GSubprocess *proc;
} Ctl;

/* server_extra goes into [server], extra at the end */
static inline void
ctl_init_full(Ctl *c, const char *server_extra, const char *extra)
{
	static const char derp[] =
		"{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"RegionName\":"
		"\"Loopback\",\"Nodes\":[{\"Name\":\"1a\",\"RegionID\":1,\"HostName\":"
		"\"derp.test\",\"IPv4\":\"127.0.0.1\",\"DERPPort\":3340}]}}}\n";
	g_autofree char *derp_path = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	memset(c, 0, sizeof(*c));
	c->dir = g_dir_make_tmp("wr-control-conn-test-XXXXXX", &error);
	g_assert_no_error(error);
	c->port = wr_test_free_port(SOCK_STREAM);
	c->url = g_strdup_printf("http://127.0.0.1:%u", c->port);
	c->log_path = g_build_filename(c->dir, "control.log", NULL);
	c->conf = g_build_filename(c->dir, "control.conf", NULL);
	c->db_url = g_strdup_printf("sqlite://%s/control.sqlite", c->dir);
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
			       "[limits]\n"
			       "register-burst = 1000\n"
			       "%s",
			       c->port, c->url, c->dir, c->dir,
			       server_extra != NULL ? server_extra : "", c->db_url,
			       extra != NULL ? extra : "");
	g_assert_true(g_file_set_contents(c->conf, text, -1, NULL));
}

static inline void
ctl_init(Ctl *c, const char *extra)
{
	ctl_init_full(c, NULL, extra);
}

static inline char *
ctl_log(Ctl *c)
{
	char *text = NULL;

	(void) g_file_get_contents(c->log_path, &text, NULL, NULL);
	return text != NULL ? text : g_strdup("");
}

static inline void
die_with_parent_cb(gpointer user_data)
{
	(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static inline void
ctl_start(Ctl *c)
{
	const char *bin = g_getenv("WARREN_CONTROL");
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GError) error = NULL;
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	g_assert_nonnull(bin);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent_cb, NULL, NULL);
	g_subprocess_launcher_set_stderr_file_path(launcher, c->log_path);
	g_subprocess_launcher_setenv(launcher, "G_MESSAGES_DEBUG", "all", TRUE);
	c->proc = g_subprocess_launcher_spawn(launcher, &error, bin, "serve", "--config", c->conf,
					      NULL);
	g_assert_no_error(error);
	while (g_get_monotonic_time() < deadline) {
		g_autoptr(WrControlClient) probe = wr_control_client_new(c->url, NULL);

		g_autofree char *log = c->tls ? ctl_log(c) : NULL;

		wr_control_client_set_timeout(probe, 1000);
		/* over TLS the test client cannot ask: the log says when it listens */
		if (c->tls ? strstr(log, " serving") != NULL
			   : wr_control_client_fetch_key(probe, NULL))
			return;
		if (g_subprocess_get_identifier(c->proc) == NULL)
			break;
		g_usleep(20 * 1000);
	}
	{
		g_autofree char *log = ctl_log(c);

		g_error("warren-control did not come up on port %u:\n%s", c->port, log);
	}
}

/* SIGKILL: the server gets no chance to close streams politely */
static inline void
ctl_kill(Ctl *c)
{
	if (c->proc == NULL)
		return;
	g_subprocess_force_exit(c->proc);
	g_assert_true(g_subprocess_wait(c->proc, NULL, NULL));
	g_clear_object(&c->proc);
}

static inline void
ctl_clear(Ctl *c)
{
	ctl_kill(c);
	wr_test_rm_rf(c->dir);
	g_free(c->dir);
	g_free(c->conf);
	g_free(c->db_url);
	g_free(c->log_path);
	g_free(c->url);
}

static inline char *
make_key(Ctl *c)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStore) store = wr_store_open(c->db_url, &error);
	g_autoptr(WrStoreAuthKey) key = NULL;
	char *secret = NULL;

	g_assert_no_error(error);
	key = wr_store_authkey_create(store, 0, TRUE, FALSE, NULL, 0,
				      g_get_real_time() / G_USEC_PER_SEC, &secret, &error);
	g_assert_no_error(error);
	return secret;
}

/* the blocking test client registered as another node with a pre-auth key */
static inline WrControlClient *
ctl_join(Ctl *c, const char *key, const char *hostname)
{
	g_autoptr(GError) error = NULL;
	WrControlClient *client = wr_control_client_new(c->url, &error);
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(JsonObject) resp = NULL;

	g_assert_no_error(error);
	wr_control_client_set_timeout(client, 10000);
	g_assert_true(wr_control_client_fetch_key(client, &error));
	req = wr_control_client_register_request(client, key, hostname);
	resp = wr_control_client_call(client, "register", req, &error);
	g_assert_no_error(error);
	g_assert_true(json_object_get_boolean_member(resp, "machine_authorized"));
	return client;
}
