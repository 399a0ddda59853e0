/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrStunClient"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-crypto.h"
#include "wr-sockmark.h"
#include "wr-source.h"
#include "wr-stun-client.h"
#include "wr-stun.h"

/* larger than any datagram a STUN server should send us; longer ones are truncated and then
 * fail to parse, which is what they deserve */
#define WR_STUN_CLIENT_RECV_BUF 1500

typedef struct {
	GSocket *socket;
	GSocketAddress *server;
	gchar *server_str;
	guint timeout_ms;
	gint64 start_us;
	gint64 deadline_us;
	gint64 next_send_us;
	guint tries;
	guint8 txids[WR_STUN_CLIENT_MAX_TRIES][WR_STUN_TXID_LEN];
	gint64 sent_us[WR_STUN_CLIENT_MAX_TRIES];
	GSource *recv_source;
	GSource *timer_source;
	guint ignored;
	WrEndpoint mapped;
	gint64 rtt_us;
} WrStunQuery;

static void
wr_stun_query_stop(WrStunQuery *q)
{
	wr_source_clear(&q->recv_source);
	wr_source_clear(&q->timer_source);
}

static void
wr_stun_query_free(WrStunQuery *q)
{
	wr_stun_query_stop(q);
	g_clear_object(&q->socket);
	g_clear_object(&q->server);
	g_free(q->server_str);
	g_free(q);
}

/* the operation holds one reference on the task until here */
static void
wr_stun_query_return_error(GTask *task, GError *error)
{
	WrStunQuery *q = g_task_get_task_data(task);

	wr_stun_query_stop(q);
	g_task_return_error(task, error);
	g_object_unref(task);
}

static void
wr_stun_query_return_ok(GTask *task)
{
	WrStunQuery *q = g_task_get_task_data(task);

	wr_stun_query_stop(q);
	g_task_return_boolean(task, TRUE);
	g_object_unref(task);
}

static void
wr_stun_query_arm_timer(WrStunQuery *q)
{
	gint64 when = q->deadline_us;

	if (q->tries < WR_STUN_CLIENT_MAX_TRIES && q->next_send_us < when)
		when = q->next_send_us;
	g_source_set_ready_time(q->timer_source, when);
}

/* false with error set when the send failed for another reason than a full buffer, which
 * counts as a lost packet */
static gboolean
wr_stun_query_send(WrStunQuery *q, gint64 now, GError **error)
{
	guint8 req[WR_STUN_REQUEST_LEN];
	GOutputVector vec = {req, sizeof(req)};
	GPollableReturn rc;
	g_autoptr(GError) error_local = NULL;
	guint i = q->tries;

	wr_random_bytes(q->txids[i], WR_STUN_TXID_LEN);
	wr_stun_build_request(req, q->txids[i]);
	q->sent_us[i] = now;
	q->tries++;
	q->next_send_us = q->start_us;
	for (guint j = 0; j < q->tries; j++)
		q->next_send_us += (gint64) WR_STUN_CLIENT_INITIAL_RTO_MS * 1000 << j;

	rc = g_socket_send_message_with_timeout(q->socket, q->server, &vec, 1, NULL, 0, 0, 0, NULL,
						NULL, &error_local);
	if (rc == G_POLLABLE_RETURN_FAILED) {
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "sending STUN request to %s: ", q->server_str);
		return FALSE;
	}
	if (rc == G_POLLABLE_RETURN_WOULD_BLOCK)
		g_debug("send buffer full, STUN try %u to %s lost", i, q->server_str);
	return TRUE;
}

static gboolean
wr_stun_query_timer_cb(gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	WrStunQuery *q = g_task_get_task_data(task);
	gint64 now = g_get_monotonic_time();
	GError *error = NULL;

	if (now >= q->deadline_us) {
		wr_stun_query_return_error(task,
					   g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
						       "no STUN response from %s within %u ms",
						       q->server_str, q->timeout_ms));
		return G_SOURCE_REMOVE;
	}
	if (q->tries < WR_STUN_CLIENT_MAX_TRIES && now >= q->next_send_us) {
		if (!wr_stun_query_send(q, now, &error)) {
			wr_stun_query_return_error(task, error);
			return G_SOURCE_REMOVE;
		}
	}
	wr_stun_query_arm_timer(q);
	return G_SOURCE_CONTINUE;
}

/* true when the datagram answers one of our tries; fills the result */
static gboolean
wr_stun_query_match(WrStunQuery *q, const guint8 *buf, gsize len, gint64 now)
{
	guint8 txid[WR_STUN_TXID_LEN];
	WrEndpoint mapped;
	int rc;

	if (!wr_stun_is_stun(buf, len))
		return FALSE;
	rc = wr_stun_parse_response(buf, len, txid, &mapped);
	if (rc < 0) {
		g_debug("ignoring malformed STUN message: %s", g_strerror(-rc));
		return FALSE;
	}
	/* transaction ids are not secrets, but there is no harm in comparing them evenly */
	for (guint i = 0; i < q->tries; i++) {
		if (wr_memeq(txid, q->txids[i], WR_STUN_TXID_LEN)) {
			q->mapped = mapped;
			q->rtt_us = now - q->sent_us[i];
			return TRUE;
		}
	}
	g_debug("ignoring STUN response with an unknown transaction id");
	return FALSE;
}

static gboolean
wr_stun_query_recv_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	WrStunQuery *q = g_task_get_task_data(task);
	GCancellable *cancellable = g_task_get_cancellable(task);
	GError *error = NULL;

	if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		wr_stun_query_return_error(task, error);
		return G_SOURCE_REMOVE;
	}
	for (;;) {
		guint8 buf[WR_STUN_CLIENT_RECV_BUF];
		g_autoptr(GError) error_local = NULL;
		gssize n = g_socket_receive_with_blocking(socket, (gchar *) buf, sizeof(buf), FALSE,
							  NULL, &error_local);

		if (n < 0) {
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				break;
			/* e.g. an ICMP error reported on a socket with IP_RECVERR: a lost
			 * probe, not the end of the query; wait for the next readiness */
			g_debug("ignoring receive error: %s", error_local->message);
			q->ignored++;
			break;
		}
		if (wr_stun_query_match(q, buf, (gsize) n, g_get_monotonic_time())) {
			wr_stun_query_return_ok(task);
			return G_SOURCE_REMOVE;
		}
		q->ignored++;
	}
	return G_SOURCE_CONTINUE;
}

static gchar *
wr_stun_format_address(GSocketAddress *address)
{
	WrEndpoint ep = {0};
	gchar buf[WR_ENDPOINT_STRLEN];

	if (!g_socket_address_to_native(address, &ep, sizeof(ep), NULL))
		return g_strdup("(unknown)");
	wr_endpoint_format(&ep, buf);
	return g_strdup(buf);
}

void
wr_stun_client_query_async(GSocket *socket, GSocketAddress *server, guint timeout_ms,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data)
{
	GTask *task;
	WrStunQuery *q;
	GMainContext *context;
	GError *error = NULL;

	g_return_if_fail(socket == NULL || G_IS_SOCKET(socket));
	g_return_if_fail(G_IS_INET_SOCKET_ADDRESS(server));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(task, wr_stun_client_query_async);
	g_task_set_name(task, "wr_stun_client_query");
	q = g_new0(WrStunQuery, 1);
	q->server = g_object_ref(server);
	q->server_str = wr_stun_format_address(server);
	q->timeout_ms = timeout_ms;
	g_task_set_task_data(task, q, (GDestroyNotify) wr_stun_query_free);

	if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		wr_stun_query_return_error(task, error);
		return;
	}
	if (socket != NULL) {
		q->socket = g_object_ref(socket);
	} else {
		GSocketFamily family = g_socket_address_get_family(server);

		q->socket =
			g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
		if (q->socket == NULL) {
			g_prefix_error(&error, "creating a UDP socket for STUN: ");
			wr_stun_query_return_error(task, error);
			return;
		}
		(void) wr_sockmark_apply_fd(g_socket_get_fd(q->socket));
		g_socket_set_blocking(q->socket, FALSE);
	}

	context = g_task_get_context(task);
	q->recv_source = g_socket_create_source(q->socket, G_IO_IN, cancellable);
	g_source_set_callback(q->recv_source, G_SOURCE_FUNC(wr_stun_query_recv_cb), task, NULL);
	g_source_set_static_name(q->recv_source, "[warren] stun client recv");
	g_source_attach(q->recv_source, context);

	/* retransmissions are scheduled on absolute times from the first send */
	q->timer_source = wr_deadline_source_new(context, "[warren] stun client timer", -1,
						 wr_stun_query_timer_cb, task);

	q->start_us = g_get_monotonic_time();
	q->deadline_us = q->start_us + (gint64) timeout_ms * 1000;
	if (!wr_stun_query_send(q, q->start_us, &error)) {
		wr_stun_query_return_error(task, error);
		return;
	}
	wr_stun_query_arm_timer(q);
}

gboolean
wr_stun_client_query_finish(GAsyncResult *result, WrEndpoint *out_mapped, gint64 *out_rtt_us,
			    GError **error)
{
	WrStunQuery *q;

	g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
	g_return_val_if_fail(g_async_result_is_tagged(result, wr_stun_client_query_async), FALSE);

	if (!g_task_propagate_boolean(G_TASK(result), error))
		return FALSE;
	q = g_task_get_task_data(G_TASK(result));
	if (out_mapped != NULL)
		*out_mapped = q->mapped;
	if (out_rtt_us != NULL)
		*out_rtt_us = q->rtt_us;
	return TRUE;
}

guint
wr_stun_client_query_get_ignored(GAsyncResult *result)
{
	WrStunQuery *q;

	g_return_val_if_fail(g_task_is_valid(result, NULL), 0);
	q = g_task_get_task_data(G_TASK(result));
	return q->ignored;
}
