/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-portmap-probe: a WrPortmap for one UDP port, for the system test
 * (tests/system/portmap-natlab.sh) and for looking at a router by hand.
 *
 *   wr-portmap-probe --port P [--gateway IP] [--lifetime S] [--once] [--timeout S]
 *
 * It binds UDP 0.0.0.0:P itself (the socket a mapped datagram must reach), starts the client
 * and prints one line per event on stdout, flushed at once:
 *   mapped IP:PORT PROTOCOL     the client's callback with a mapping
 *   none REASON                 the callback without one
 *   recv IP:PORT TEXT           a datagram arrived on the socket
 *   freed                       after SIGUSR1: the client was freed (its mapping deleted);
 *                               the socket stays open so that a script can see nothing arrives
 * SIGHUP calls wr_portmap_note_link_change(); SIGTERM and SIGINT end it (exit 0).  --once exits
 * after the first callback; --timeout ends it with status 1 after S seconds (default 60).
 */

#define G_LOG_DOMAIN "WrPortmapProbe"

#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "wr-crypto.h"
#include "wr-portmap.h"

static gint arg_port;
static gchar *arg_gateway;
static gint arg_lifetime;
static gboolean arg_once;
static gint arg_timeout = 60;

static const GOptionEntry entries[] = {
	{"port", 'p', 0, G_OPTION_ARG_INT, &arg_port, "The local UDP port to map", "P"},
	{"gateway", 'g', 0, G_OPTION_ARG_STRING, &arg_gateway,
	 "The router (default: the default route's)", "IP"},
	{"lifetime", 'l', 0, G_OPTION_ARG_INT, &arg_lifetime, "The lifetime to ask for", "S"},
	{"once", '1', 0, G_OPTION_ARG_NONE, &arg_once, "Exit after the first report", NULL},
	{"timeout", 't', 0, G_OPTION_ARG_INT, &arg_timeout, "Give up after S seconds", "S"},
	{NULL},
};

typedef struct {
	GMainLoop *loop;
	WrPortmap *pm;
	GSocket *socket;
	int status;
} Probe;

static void
changed_cb(WrPortmap *pm, const WrEndpoint *external, const char *reason, gpointer user_data)
{
	Probe *p = user_data;
	char ep[WR_ENDPOINT_STRLEN];

	(void) pm;
	if (external->sa.sa_family == AF_UNSPEC) {
		printf("none %s\n", reason);
	} else {
		wr_endpoint_format(external, ep);
		printf("mapped %s %s\n", ep, reason);
	}
	fflush(stdout);
	if (arg_once)
		g_main_loop_quit(p->loop);
}

static gboolean
recv_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	g_autoptr(GSocketAddress) from = NULL;
	g_autoptr(GError) error = NULL;
	WrEndpoint src;
	char ep[WR_ENDPOINT_STRLEN];
	gchar buf[256];
	gssize n;

	(void) condition;
	(void) user_data;
	n = g_socket_receive_from(socket, &from, buf, sizeof(buf) - 1, NULL, &error);
	if (n < 0)
		return G_SOURCE_CONTINUE;
	buf[n] = '\0';
	g_strdelimit(buf, "\r\n", ' ');
	if (from == NULL || !g_socket_address_to_native(from, &src, sizeof(src), NULL))
		return G_SOURCE_CONTINUE;
	wr_endpoint_format(&src, ep);
	printf("recv %s %s\n", ep, buf);
	fflush(stdout);
	return G_SOURCE_CONTINUE;
}

static gboolean
usr1_cb(gpointer user_data)
{
	Probe *p = user_data;

	g_clear_pointer(&p->pm, wr_portmap_free);
	printf("freed\n");
	fflush(stdout);
	return G_SOURCE_CONTINUE;
}

static gboolean
hup_cb(gpointer user_data)
{
	Probe *p = user_data;

	if (p->pm != NULL)
		wr_portmap_note_link_change(p->pm);
	return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb(gpointer user_data)
{
	Probe *p = user_data;

	g_main_loop_quit(p->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb(gpointer user_data)
{
	Probe *p = user_data;

	fprintf(stderr, "wr-portmap-probe: timed out after %d s\n", arg_timeout);
	p->status = EXIT_FAILURE;
	g_main_loop_quit(p->loop);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- map a UDP port on the router");
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) any = NULL;
	g_autoptr(GSocketAddress) bind_addr = NULL;
	g_autoptr(GSource) src = NULL;
	WrEndpoint gw;
	Probe p = {0};

	if (!wr_crypto_init()) {
		fprintf(stderr, "wr-portmap-probe: libsodium did not initialise\n");
		return EXIT_FAILURE;
	}
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "wr-portmap-probe: %s\n", error->message);
		return EXIT_FAILURE;
	}
	if (arg_port <= 0 || arg_port > 65535) {
		fprintf(stderr, "wr-portmap-probe: --port must be 1..65535\n");
		return EXIT_FAILURE;
	}
	if (arg_gateway != NULL) {
		g_autofree gchar *text = g_strdup_printf("%s:5351", arg_gateway);

		if (!wr_endpoint_parse(&gw, text)) {
			fprintf(stderr, "wr-portmap-probe: --gateway %s is not an address\n",
				arg_gateway);
			return EXIT_FAILURE;
		}
	}

	p.socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
				&error);
	any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);
	bind_addr = g_inet_socket_address_new(any, (guint16) arg_port);
	if (p.socket == NULL || !g_socket_bind(p.socket, bind_addr, FALSE, &error)) {
		fprintf(stderr, "wr-portmap-probe: UDP port %d: %s\n", arg_port, error->message);
		return EXIT_FAILURE;
	}
	g_socket_set_blocking(p.socket, FALSE);
	src = g_socket_create_source(p.socket, G_IO_IN, NULL);
	g_source_set_callback(src, G_SOURCE_FUNC(recv_cb), &p, NULL);
	(void) g_source_attach(src, NULL);

	p.loop = g_main_loop_new(NULL, FALSE);
	p.pm = wr_portmap_new((guint16) arg_port, arg_gateway != NULL ? &gw : NULL, changed_cb, &p);
	if (arg_lifetime > 0)
		wr_portmap_set_lifetime(p.pm, (guint32) arg_lifetime);
	if (!wr_portmap_start(p.pm, &error)) {
		fprintf(stderr, "wr-portmap-probe: %s\n", error->message);
		wr_portmap_free(p.pm);
		return EXIT_FAILURE;
	}
	(void) g_unix_signal_add(SIGUSR1, usr1_cb, &p);
	(void) g_unix_signal_add(SIGHUP, hup_cb, &p);
	(void) g_unix_signal_add(SIGTERM, quit_cb, &p);
	(void) g_unix_signal_add(SIGINT, quit_cb, &p);
	(void) g_timeout_add_seconds((guint) arg_timeout, timeout_cb, &p);
	g_main_loop_run(p.loop);

	g_clear_pointer(&p.pm, wr_portmap_free);
	g_source_destroy(src);
	g_object_unref(p.socket);
	g_main_loop_unref(p.loop);
	return p.status;
}
