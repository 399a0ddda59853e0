/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrUapiServer"

#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "wr-crypto.h"
#include "wr-uapi-server.h"

#define READ_CHUNK 4096

struct WrUapiServer {
	char *path;
	GSocketService *service;
	GCancellable *cancellable;
	GList *clients;
	WrUapiGetFunc get_func;
	WrUapiSetFunc set_func;
	gpointer user_data;
};

typedef struct {
	WrUapiServer *server;
	GSocketConnection *connection;
	GByteArray *in;
	uint8_t chunk[READ_CHUNK];
	bool closing;
} Client;

static void
client_read(Client *client);

static void
client_free(Client *client)
{
	client->server->clients = g_list_remove(client->server->clients, client);
	(void) g_io_stream_close(G_IO_STREAM(client->connection), NULL, NULL);
	g_object_unref(client->connection);
	/* set requests carry private keys */
	wr_memzero(client->in->data, client->in->len);
	wr_memzero(client->chunk, sizeof(client->chunk));
	g_byte_array_unref(client->in);
	g_free(client);
}

static void
reply_written_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Client *client = user_data;
	g_autoptr(GError) error = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		/* cancelled means the server is gone and freed the client already */
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_debug("uapi client went away: %s", error->message);
			client_free(client);
		}
		return;
	}
	if (client->closing) {
		client_free(client);
		return;
	}
	client_read(client);
}

/* a get reply carries the private key: wipe it once written */
static void
reply_free(GString *reply)
{
	wr_memzero(reply->str, reply->allocated_len);
	g_string_free(reply, TRUE);
}

/* the reply is kept alive on the stream until the write finished */
static void
client_send(Client *client, GString *reply)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(client->connection));

	g_object_set_data_full(G_OBJECT(out), "wr-reply", reply, (GDestroyNotify) reply_free);
	g_output_stream_write_all_async(out, reply->str, reply->len, G_PRIORITY_DEFAULT,
					client->server->cancellable, reply_written_cb, client);
}

static GString *
handle_get(WrUapiServer *self)
{
	g_autoptr(WrUapiDeviceInfo) info = wr_uapi_device_info_new();
	GString *reply = g_string_new(NULL);

	self->get_func(info, self->user_data);
	wr_uapi_format_get(info, reply);
	return reply;
}

static GString *
handle_set(WrUapiServer *self, const char *body, size_t len)
{
	g_autoptr(WrUapiSet) set = NULL;
	g_autofree char *message = NULL;
	GString *reply = g_string_new(NULL);
	int err;

	err = wr_uapi_parse_set(body, len, &set, &message);
	if (err != 0) {
		g_warning("uapi: rejected set request: %s",
			  message != NULL ? message : g_strerror(err));
	} else {
		err = self->set_func(set, self->user_data);
		if (err != 0)
			g_warning("uapi: set request failed: %s", g_strerror(err));
	}
	/* like wireguard-go, the wire carries the negative errno, which is what wg(8) prints */
	wr_uapi_format_errno(-err, reply);
	return reply;
}

/* handles the first complete request in the buffer, if there is one; true when it did */
static bool
client_process(Client *client)
{
	WrUapiServer *self = client->server;
	WrUapiOp op;
	gssize n = wr_uapi_frame((const char *) client->in->data, client->in->len, &op);
	GString *reply;

	if (n == 0)
		return false;
	if (n < 0) {
		/* a request we cannot frame cannot be answered in step: say why and hang up */
		reply = g_string_new(NULL);
		wr_uapi_format_errno((int) n, reply);
		client->closing = true;
		client_send(client, reply);
		return true;
	}
	if (op == WR_UAPI_OP_GET)
		reply = handle_get(self);
	else
		reply = handle_set(self, (const char *) client->in->data, (size_t) n);
	wr_memzero(client->in->data, (size_t) n);
	g_byte_array_remove_range(client->in, 0, (guint) n);
	client_send(client, reply);
	return true;
}

static void
read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Client *client = user_data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (n <= 0) {
		client_free(client);
		return;
	}
	g_byte_array_append(client->in, client->chunk, (guint) n);
	if (!client_process(client))
		client_read(client);
}

static void
client_read(Client *client)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(client->connection));

	/* a pipelined request may already be buffered */
	if (client->in->len > 0 && client_process(client))
		return;
	g_input_stream_read_async(in, client->chunk, sizeof(client->chunk), G_PRIORITY_DEFAULT,
				  client->server->cancellable, read_cb, client);
}

static gboolean
incoming_cb(GSocketService *service, GSocketConnection *connection, GObject *source,
	    gpointer user_data)
{
	WrUapiServer *self = user_data;
	Client *client;

	if (g_list_length(self->clients) >= WR_UAPI_MAX_CLIENTS) {
		g_warning("uapi: too many clients, refusing one");
		return TRUE;
	}
	client = g_new0(Client, 1);
	client->server = self;
	client->connection = g_object_ref(connection);
	client->in = g_byte_array_new();
	self->clients = g_list_prepend(self->clients, client);
	client_read(client);
	return TRUE;
}

/* true when something answers on path: another daemon owns this interface */
static bool
socket_in_use(const char *path)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(GSocketConnection) connection = NULL;

	connection = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(address), NULL, NULL);
	return connection != NULL;
}

WrUapiServer *
wr_uapi_server_new(const char *dir, const char *ifname, WrUapiGetFunc get_func,
		   WrUapiSetFunc set_func, gpointer user_data, GError **error)
{
	g_autoptr(GSocketAddress) address = NULL;
	g_autofree char *path = NULL;
	WrUapiServer *self;
	mode_t old_umask;
	gboolean ok;

	if (dir == NULL)
		dir = WR_UAPI_SOCKET_DIR;
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot create %s: %s",
			    dir, g_strerror(err));
		return NULL;
	}
	path = g_strdup_printf("%s/%s.sock", dir, ifname);
	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		if (socket_in_use(path)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
				    "%s is in use by another process", path);
			return NULL;
		}
		(void) unlink(path);
	}

	self = g_new0(WrUapiServer, 1);
	self->get_func = get_func;
	self->set_func = set_func;
	self->user_data = user_data;
	self->cancellable = g_cancellable_new();
	self->service = g_socket_service_new();
	address = g_unix_socket_address_new(path);
	/* the socket hands out private keys: only root may connect */
	old_umask = umask(0077);
	ok = g_socket_listener_add_address(G_SOCKET_LISTENER(self->service), address,
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
					   NULL, error);
	umask(old_umask);
	if (!ok) {
		g_prefix_error(error, "cannot listen on %s: ", path);
		wr_uapi_server_free(self);
		return NULL;
	}
	self->path = g_steal_pointer(&path);
	g_signal_connect(self->service, "incoming", G_CALLBACK(incoming_cb), self);
	g_socket_service_start(self->service);
	return self;
}

void
wr_uapi_server_free(WrUapiServer *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	while (self->clients != NULL)
		client_free(self->clients->data);
	g_socket_service_stop(self->service);
	g_socket_listener_close(G_SOCKET_LISTENER(self->service));
	g_object_unref(self->service);
	g_object_unref(self->cancellable);
	if (self->path != NULL)
		(void) unlink(self->path);
	g_free(self->path);
	g_free(self);
}

const char *
wr_uapi_server_get_path(WrUapiServer *self)
{
	return self->path;
}
