/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * SO_MARK on warrend's sockets; see wr-sockmark.h.
 */

#define G_LOG_DOMAIN "WrSockmark"

#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "wr-sockmark.h"

/* written once at start-up, read from the main loop and the data threads */
static volatile gint mark_value;

void
wr_sockmark_set(uint32_t mark)
{
	g_atomic_int_set(&mark_value, (gint) mark);
}

uint32_t
wr_sockmark_get(void)
{
	return (uint32_t) g_atomic_int_get(&mark_value);
}

int
wr_sockmark_apply_fd(int fd)
{
	static gsize warned;
	uint32_t mark = wr_sockmark_get();

	if (mark == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0)
		return 0;
	if (g_once_init_enter(&warned)) {
		g_warning("cannot mark warrend's sockets (SO_MARK): %s; with an exit node its "
			  "own traffic would loop into the tunnel",
			  g_strerror(errno));
		g_once_init_leave(&warned, 1);
	}
	return errno;
}

static void
mark_connection(GIOStream *stream)
{
	GSocket *socket;

	if (!G_IS_SOCKET_CONNECTION(stream))
		return;
	socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream));
	if (socket != NULL)
		(void) wr_sockmark_apply_fd(g_socket_get_fd(socket));
}

static void
client_event_cb(GSocketClient *client, GSocketClientEvent event, GSocketConnectable *connectable,
		GIOStream *connection, gpointer user_data)
{
	if (event == G_SOCKET_CLIENT_CONNECTING)
		mark_connection(connection);
}

void
wr_sockmark_watch_client(GSocketClient *client)
{
	g_signal_connect(client, "event", G_CALLBACK(client_event_cb), NULL);
}

static void
message_event_cb(SoupMessage *msg, GSocketClientEvent event, GIOStream *connection,
		 gpointer user_data)
{
	if (event == G_SOCKET_CLIENT_CONNECTING)
		mark_connection(connection);
}

void
wr_sockmark_watch_message(SoupMessage *msg)
{
	g_signal_connect(msg, "network-event", G_CALLBACK(message_event_cb), NULL);
}
