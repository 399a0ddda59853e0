/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real warren-control for the integration tests: a temporary directory with its config (a
 * SQLite store unless the test names another, loopback listener, a one-region DERP map,
 * dns-domain tailnet.test), the server started and waited for (it dies with the test), pre-auth
 * keys made in its store, and test clients registered with them.  Shared by test-control-server,
 * test-control-conn and test-warrend.  WARREN_CONTROL names the binary.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wr-control-client.h"

typedef struct {
	char *dir;
	char *conf;
	char *db_url;
	char *log_path;
	char *url;
	guint16 port;
	gboolean tls;
	/* ctl_clear stops with SIGTERM and asserts a clean exit, rather than SIGKILL */
	gboolean clean_stop;
	GSubprocess *proc;
} Ctl;

/* what a test changes in the config; every member may be NULL */
typedef struct {
	const char *server;  /* more lines for [server] (a TLS certificate and key) */
	const char *network; /* more lines for [network] */
	const char *limits;  /* the [limits] lines; NULL: register-burst = 1000 */
	const char *extra;   /* more sections at the end ([oidc]) */
	const char *db_url;  /* the store; NULL: control.sqlite in the directory */
} CtlOptions;

/* writes the config into a new temporary directory; the server is not started yet */
void
ctl_init_opts(Ctl *c, const CtlOptions *opts);
/* the defaults, with extra sections at the end */
void
ctl_init(Ctl *c, const char *extra);
/* the server's stderr so far (never NULL) */
char *
ctl_log(Ctl *c);
/* starts warren-control and waits (10 s at most) until it answers; the store it reports must be
 * the backend of c->db_url */
void
ctl_start(Ctl *c);
/* SIGTERM, and the server must exit 0 */
void
ctl_stop(Ctl *c);
/* SIGKILL: the server gets no chance to close streams politely */
void
ctl_kill(Ctl *c);
/* stops the server (see clean_stop) and removes the directory */
void
ctl_clear(Ctl *c);

/* a pre-auth key made straight in the store, as `warren-control authkeys create` would;
 * expiry 0 is none */
char *
ctl_make_key(Ctl *c, gboolean reusable, gboolean ephemeral, const char *const *tags, gint64 expiry);
/* a blocking test client that has fetched the server's key */
WrControlClient *
ctl_client_new(Ctl *c);
/* one register call; the answer, whatever it says */
JsonObject *
ctl_register(WrControlClient *client, const char *key, const char *hostname);
/* the blocking test client registered as another node with a pre-auth key */
WrControlClient *
ctl_join(Ctl *c, const char *key, const char *hostname);
