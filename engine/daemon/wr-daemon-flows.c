/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDaemonFlows"

#include "config.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <json-glib/json-glib.h>

#include "wr-daemon-flows.h"

#define RING_NAME "flows.ring"

struct _WrDaemonFlows {
	WrFlowLog *log;
	char *problem;
	guint64 write_errors;

	/* the upload to the control server */
	WrControlConn *conn;  /* the last one records were queued for */
	GQueue queue;	      /* JsonObject, oldest first */
	GPtrArray *in_flight; /* JsonObject of the request under way; NULL when none */
	guint retry_id;
	guint retry_ms;
	GCancellable *cancel;
	guint64 uploaded;
	guint64 upload_dropped;
};

static void
send_batch(WrDaemonFlows *self);

WrDaemonFlows *
wr_daemon_flows_new(const char *state_dir, guint64 size, GError **error)
{
	g_autoptr(WrDaemonFlows) self = g_new0(WrDaemonFlows, 1);
	g_autofree char *path = g_build_filename(state_dir, RING_NAME, NULL);

	self->cancel = g_cancellable_new();
	g_queue_init(&self->queue);
	self->retry_ms = WR_DAEMON_FLOWS_RETRY_MIN_MS;
	self->log = wr_flow_log_open(path, size, &self->problem, error);
	if (self->log == NULL) {
		g_prefix_error(error, "flow log: ");
		return NULL;
	}
	if (self->problem != NULL)
		g_warning("flow log: %s", self->problem);
	if (wr_flow_log_get_damaged(self->log) > 0)
		g_message("flow log: %u damaged record(s) dropped (a write cut short)",
			  wr_flow_log_get_damaged(self->log));
	g_info("flow log %s: %" G_GUINT64_FORMAT " bytes", path, wr_flow_log_get_size(self->log));
	return g_steal_pointer(&self);
}

void
wr_daemon_flows_free(WrDaemonFlows *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	if (self->retry_id != 0)
		g_source_remove(self->retry_id);
	g_queue_clear_full(&self->queue, (GDestroyNotify) json_object_unref);
	g_clear_pointer(&self->in_flight, g_ptr_array_unref);
	g_clear_object(&self->conn);
	g_clear_pointer(&self->log, wr_flow_log_free);
	g_free(self->problem);
	g_free(self);
}

static gboolean
retry_cb(gpointer user_data)
{
	WrDaemonFlows *self = user_data;

	self->retry_id = 0;
	send_batch(self);
	return G_SOURCE_REMOVE;
}

static void
sent_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) batch = NULL;
	WrDaemonFlows *self;
	gint64 stored = wr_control_conn_send_flows_finish(WR_CONTROL_CONN(source), res, &error);

	if (stored < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* freed */
	self = user_data;
	batch = g_steal_pointer(&self->in_flight);
	if (stored >= 0) {
		self->uploaded += (guint64) stored;
		self->retry_ms = WR_DAEMON_FLOWS_RETRY_MIN_MS;
		g_debug("flow records: %" G_GINT64_FORMAT " stored by the control server", stored);
		send_batch(self);
		return;
	}
	if (error->domain == WR_CONTROL_CONN_HTTP_ERROR && error->code >= 400 &&
	    error->code < 500) {
		/* refused as it is: sending it again would not help */
		self->upload_dropped += batch->len;
		g_warning("flow records refused by the control server: %s, dropped",
			  error->message);
		send_batch(self);
		return;
	}
	/* back to the front of the queue, for later */
	for (guint i = batch->len; i > 0; i--)
		g_queue_push_head(&self->queue, json_object_ref(batch->pdata[i - 1]));
	g_message("flow records: the control server cannot be reached (%s), again in %u s",
		  error->message, self->retry_ms / 1000);
	self->retry_id = g_timeout_add(self->retry_ms, retry_cb, self);
	self->retry_ms = MIN(self->retry_ms * 2, WR_DAEMON_FLOWS_RETRY_MAX_MS);
}

/* the next batch, unless one is under way or waits for its retry */
static void
send_batch(WrDaemonFlows *self)
{
	JsonArray *batch;

	if (self->in_flight != NULL || self->retry_id != 0 || self->conn == NULL ||
	    g_queue_is_empty(&self->queue))
		return;
	batch = json_array_new();
	self->in_flight = g_ptr_array_new_with_free_func((GDestroyNotify) json_object_unref);
	while (json_array_get_length(batch) < WR_DAEMON_FLOWS_BATCH &&
	       !g_queue_is_empty(&self->queue)) {
		JsonObject *o = g_queue_pop_head(&self->queue);

		/* kept to put back if the request fails: the request takes the array */
		g_ptr_array_add(self->in_flight, json_object_ref(o));
		json_array_add_object_element(batch, o);
	}
	wr_control_conn_send_flows_async(self->conn, batch, self->cancel, sent_cb, self);
}

void
wr_daemon_flows_add(WrDaemonFlows *self, const WrFlowRecord *records, guint n, WrControlConn *conn)
{
	g_autoptr(GError) error = NULL;

	if (!wr_flow_log_append(self->log, records, n, &error) && self->write_errors++ == 0) {
		g_warning("flow log: %s, ignoring", error->message);
		g_free(self->problem);
		self->problem =
			g_strdup_printf("flow records cannot be written: %s", error->message);
	}
	if (conn == NULL)
		return;
	if (self->conn != conn) {
		g_clear_object(&self->conn);
		self->conn = g_object_ref(conn);
	}
	for (guint i = 0; i < n; i++) {
		g_autoptr(GVariant) v = g_variant_ref_sink(wr_flow_record_to_variant(&records[i]));
		JsonNode *node = json_gvariant_serialize(v);

		if (g_queue_get_length(&self->queue) >= WR_DAEMON_FLOWS_QUEUE_MAX) {
			json_object_unref(g_queue_pop_head(&self->queue));
			self->upload_dropped++;
		}
		g_queue_push_tail(&self->queue, json_object_ref(json_node_get_object(node)));
		json_node_unref(node);
	}
	send_batch(self);
}

guint64
wr_daemon_flows_get_uploaded(WrDaemonFlows *self)
{
	return self->uploaded;
}

guint64
wr_daemon_flows_get_upload_dropped(WrDaemonFlows *self)
{
	return self->upload_dropped;
}

static char *
format_addr(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	(void) inet_ntop(family, addr, buf, sizeof(buf));
	if (family == AF_INET6)
		return g_strdup_printf("[%s]:%u", buf, port);
	return g_strdup_printf("%s:%u", buf, port);
}

GVariant *
wr_flow_record_to_variant(const WrFlowRecord *r)
{
	g_autofree char *local = format_addr(r->family, r->local, r->lport);
	g_autofree char *remote = format_addr(r->family, r->remote, r->rport);
	GVariantBuilder b;
	char proto[16];

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "start", g_variant_new_int64(r->start));
	g_variant_builder_add(&b, "{sv}", "end", g_variant_new_int64(r->end_time));
	g_variant_builder_add(&b, "{sv}", "proto",
			      g_variant_new_string(wr_flow_proto_name(r->proto, proto)));
	g_variant_builder_add(&b, "{sv}", "local", g_variant_new_string(local));
	g_variant_builder_add(&b, "{sv}", "remote", g_variant_new_string(remote));
	g_variant_builder_add(&b, "{sv}", "outbound",
			      g_variant_new_boolean((r->flags & WR_FLOW_F_OUTBOUND) != 0));
	g_variant_builder_add(&b, "{sv}", "peer", g_variant_new_string(r->peer));
	g_variant_builder_add(&b, "{sv}", "peer-id", g_variant_new_int64(r->peer_id));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string(wr_flow_path_name(r->path)));
	g_variant_builder_add(&b, "{sv}", "end-reason",
			      g_variant_new_string(wr_flow_end_name(r->end)));
	g_variant_builder_add(&b, "{sv}", "tx-packets", g_variant_new_uint64(r->tx_packets));
	g_variant_builder_add(&b, "{sv}", "tx-bytes", g_variant_new_uint64(r->tx_bytes));
	g_variant_builder_add(&b, "{sv}", "rx-packets", g_variant_new_uint64(r->rx_packets));
	g_variant_builder_add(&b, "{sv}", "rx-bytes", g_variant_new_uint64(r->rx_bytes));
	return g_variant_builder_end(&b);
}

GVariant *
wr_daemon_flows_get(WrDaemonFlows *self, gint64 since, GError **error)
{
	g_autoptr(GArray) records = wr_flow_log_read(self->log, since, WR_DAEMON_FLOWS_MAX, error);
	GVariantBuilder b;

	if (records == NULL)
		return NULL;
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < records->len; i++)
		g_variant_builder_add_value(
			&b, wr_flow_record_to_variant(&g_array_index(records, WrFlowRecord, i)));
	return g_variant_builder_end(&b);
}

const char *
wr_daemon_flows_get_problem(WrDaemonFlows *self)
{
	return self->problem;
}
