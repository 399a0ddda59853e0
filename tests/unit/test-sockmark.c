/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * engine/io/wr-sockmark: the mark really is on the sockets, read back with getsockopt — on a
 * plain fd, on a GSocketClient's connection (the "event" signal) and on libsoup's connection
 * for a message (SoupMessage::network-event), against listeners on loopback.  SO_MARK needs
 * CAP_NET_ADMIN: without it the tests skip.
 */

#define G_LOG_DOMAIN "WrSockmarkTest"

#include "config.h"

#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "wr-sockmark.h"

#define MARK 0x80000

static uint32_t
fd_mark(int fd)
{
	uint32_t mark = 0;
	socklen_t len = sizeof(mark);

	g_assert_cmpint(getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len), ==, 0);
	return mark;
}

static gboolean
privileged(void)
{
	if (geteuid() != 0) {
		g_test_skip("SO_MARK needs CAP_NET_ADMIN");
		return FALSE;
	}
	return TRUE;
}

static void
test_fd(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!privileged()) {
		close(fd);
		return;
	}
	wr_sockmark_set(0);
	g_assert_cmpint(wr_sockmark_apply_fd(fd), ==, 0);
	g_assert_cmpuint(fd_mark(fd), ==, 0);
	wr_sockmark_set(MARK);
	g_assert_cmpuint(wr_sockmark_get(), ==, MARK);
	g_assert_cmpint(wr_sockmark_apply_fd(fd), ==, 0);
	g_assert_cmpuint(fd_mark(fd), ==, MARK);
	wr_sockmark_set(0);
	close(fd);
}

/* a TCP listener on loopback; its port */
static GSocketListener *
listen_loopback(guint16 *out_port)
{
	GSocketListener *listener = g_socket_listener_new();
	g_autoptr(GError) error = NULL;

	*out_port = g_socket_listener_add_any_inet_port(listener, NULL, &error);
	g_assert_no_error(error);
	return listener;
}

static void
test_client(void)
{
	g_autoptr(GSocketListener) listener = NULL;
	g_autoptr(GSocketClient) client = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	guint16 port;

	if (!privileged())
		return;
	listener = listen_loopback(&port);
	client = g_socket_client_new();
	/* as warrend's dialers: no proxy (libproxy is no part of the test) */
	g_socket_client_set_enable_proxy(client, FALSE);
	wr_sockmark_set(MARK);
	wr_sockmark_watch_client(client);
	conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(fd_mark(g_socket_get_fd(g_socket_connection_get_socket(conn))), ==, MARK);
	wr_sockmark_set(0);
}

typedef struct {
	GMainLoop *loop;
	int fd;
} SoupRun;

static void
connected_cb(SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer user_data)
{
	SoupRun *run = user_data;

	/* after our handler (connected first) ran at CONNECTING */
	if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION(connection))
		run->fd = dup(g_socket_get_fd(
			g_socket_connection_get_socket(G_SOCKET_CONNECTION(connection))));
}

static void
server_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	  gpointer user_data)
{
	soup_server_message_set_status(msg, 204, NULL);
}

static void
sent_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SoupRun *run = user_data;
	g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), res, NULL);

	g_assert_nonnull(body);
	g_main_loop_quit(run->loop);
}

static void
test_message(void)
{
	g_autoptr(SoupServer) server = NULL;
	g_autoptr(SoupSession) session = NULL;
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSList) uris = NULL;
	g_autofree char *url = NULL;
	SoupRun run = {g_main_loop_new(NULL, FALSE), -1};

	if (!privileged()) {
		g_main_loop_unref(run.loop);
		return;
	}
	server = soup_server_new(NULL, NULL);
	soup_server_add_handler(server, NULL, server_cb, NULL, NULL);
	g_assert_true(soup_server_listen_local(server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
	g_assert_no_error(error);
	uris = soup_server_get_uris(server);
	url = g_uri_to_string(uris->data);
	g_slist_free_full(g_steal_pointer(&uris), (GDestroyNotify) g_uri_unref);

	wr_sockmark_set(MARK);
	session = soup_session_new_with_options("proxy-resolver", NULL, NULL);
	msg = soup_message_new("GET", url);
	wr_sockmark_watch_message(msg);
	g_signal_connect(msg, "network-event", G_CALLBACK(connected_cb), &run);
	soup_session_send_and_read_async(session, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &run);
	g_main_loop_run(run.loop);
	g_assert_cmpint(run.fd, >=, 0);
	g_assert_cmpuint(fd_mark(run.fd), ==, MARK);
	close(run.fd);
	wr_sockmark_set(0);
	g_main_loop_unref(run.loop);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/sockmark/fd", test_fd);
	g_test_add_func("/warren/sockmark/socket-client", test_client);
	g_test_add_func("/warren/sockmark/soup-message", test_message);
	return g_test_run();
}
