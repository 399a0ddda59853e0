/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDaemonFlows"

#include "config.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "wr-daemon-flows.h"

#define RING_NAME "flows.ring"

struct _WrDaemonFlows {
	WrFlowLog *log;
	char *problem;
	guint64 write_errors;
};

WrDaemonFlows *
wr_daemon_flows_new(const char *state_dir, guint64 size, GError **error)
{
	g_autoptr(WrDaemonFlows) self = g_new0(WrDaemonFlows, 1);
	g_autofree char *path = g_build_filename(state_dir, RING_NAME, NULL);

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
	g_clear_pointer(&self->log, wr_flow_log_free);
	g_free(self->problem);
	g_free(self);
}

void
wr_daemon_flows_add(WrDaemonFlows *self, const WrFlowRecord *records, guint n)
{
	g_autoptr(GError) error = NULL;

	if (wr_flow_log_append(self->log, records, n, &error))
		return;
	if (self->write_errors++ == 0) {
		g_warning("flow log: %s, ignoring", error->message);
		g_free(self->problem);
		self->problem =
			g_strdup_printf("flow records cannot be written: %s", error->message);
	}
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
