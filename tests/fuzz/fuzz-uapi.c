/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the UAPI text: the framer, the set parser and, for every request the
 * parser accepts, the get formatter on a device built from it.  Besides the sanitizers, it
 * checks the contracts: what the framer returns lies within the input and ends in a blank
 * line, a failed parse returns nothing and names a line, and the get reply of an accepted
 * configuration (counters dropped) parses back to the same peers.
 */

#define G_LOG_DOMAIN "WrFuzzUapi"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-uapi.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static WrUapiDeviceInfo *
info_from_set(const WrUapiSet *set)
{
	WrUapiDeviceInfo *info = wr_uapi_device_info_new();

	info->has_private_key = set->has_private_key;
	memcpy(info->private_key, set->private_key, sizeof(info->private_key));
	info->listen_port = set->listen_port;
	info->fwmark = set->fwmark;
	for (guint i = 0; i < set->peers->len; i++) {
		const WrUapiPeer *peer = g_ptr_array_index(set->peers, i);
		WrUapiPeerInfo *out = wr_uapi_device_info_add_peer(info);

		memcpy(out->public_key, peer->public_key, sizeof(out->public_key));
		out->has_preshared_key = peer->has_preshared_key;
		memcpy(out->preshared_key, peer->preshared_key, sizeof(out->preshared_key));
		if (peer->has_endpoint)
			out->endpoint = peer->endpoint;
		out->persistent_keepalive = peer->persistent_keepalive;
		out->last_handshake_sec = (int64_t) i;
		out->tx_bytes = G_MAXUINT64 - i;
		g_array_append_vals(out->allowed_ips, peer->allowed_ips->data,
				    peer->allowed_ips->len);
	}
	return info;
}

/* the get reply without the lines a set request cannot carry */
static GString *
reply_to_set(const GString *reply)
{
	static const char *const get_only[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=", "rx_bytes=",
		"errno="};
	GString *body = g_string_new("set=1\n");
	g_auto(GStrv) lines = g_strsplit(reply->str, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		bool skip = lines[i][0] == '\0';

		for (size_t j = 0; j < G_N_ELEMENTS(get_only) && !skip; j++)
			skip = g_str_has_prefix(lines[i], get_only[j]);
		if (!skip)
			g_string_append_printf(body, "%s\n", lines[i]);
	}
	return body;
}

static void
check_round_trip(const WrUapiSet *set)
{
	g_autoptr(WrUapiDeviceInfo) info = info_from_set(set);
	g_autoptr(GString) reply = g_string_new(NULL);
	g_autoptr(GString) body = NULL;
	g_autoptr(WrUapiSet) again = NULL;
	g_autofree char *message = NULL;
	WrUapiOp op;
	int err;

	wr_uapi_format_get(info, reply);
	g_assert_true(g_str_has_suffix(reply->str, "errno=0\n\n"));
	body = reply_to_set(reply);
	g_string_append_c(body, '\n');
	g_assert_cmpint(wr_uapi_frame(body->str, body->len, &op), ==, (gssize) body->len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);
	err = wr_uapi_parse_set(body->str, body->len, &again, &message);
	if (err != 0)
		g_error("formatted reply does not parse back: %s", message);
	g_assert_cmpuint(again->peers->len, ==, set->peers->len);
	g_assert_cmpint(again->has_private_key, ==, set->has_private_key);
	for (guint i = 0; i < set->peers->len; i++) {
		const WrUapiPeer *a = g_ptr_array_index(set->peers, i);
		const WrUapiPeer *b = g_ptr_array_index(again->peers, i);

		g_assert_cmpmem(a->public_key, 32, b->public_key, 32);
		g_assert_cmpint(a->has_endpoint, ==, b->has_endpoint);
		if (a->has_endpoint)
			g_assert_true(wr_endpoint_equal(&a->endpoint, &b->endpoint));
		g_assert_cmpuint(a->allowed_ips->len, ==, b->allowed_ips->len);
		g_assert_cmpmem(a->allowed_ips->data, a->allowed_ips->len * sizeof(WrCidr),
				b->allowed_ips->data, b->allowed_ips->len * sizeof(WrCidr));
	}
	wr_memzero(reply->str, reply->len);
	wr_memzero(body->str, body->len);
}

static void
check_parse(const char *buf, size_t len)
{
	WrUapiSet *set = NULL;
	char *message = NULL;
	g_autoptr(GString) status = g_string_new(NULL);
	int err = wr_uapi_parse_set(buf, len, &set, &message);

	if (err == 0) {
		g_assert_nonnull(set);
		g_assert_null(message);
		check_round_trip(set);
		wr_uapi_set_free(set);
	} else {
		g_assert_true(err == EINVAL || err == EPROTO || err == E2BIG);
		g_assert_null(set);
		g_assert_nonnull(message);
		g_assert_true(g_str_has_prefix(message, "line "));
		g_free(message);
	}
	wr_uapi_format_errno(err, status);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialized;
	const char *buf = (const char *) data;
	WrUapiOp op = WR_UAPI_OP_GET;
	gssize framed;

	if (!initialized) {
		g_assert_true(wr_crypto_init());
		initialized = true;
	}

	framed = wr_uapi_frame(buf, size, &op);
	g_assert_true(framed == 0 || framed == -EINVAL || framed == -E2BIG || framed > 0);
	if (framed > 0) {
		g_assert_cmpint(framed, <=, (gssize) size);
		g_assert_cmpint(framed, <=, WR_UAPI_MAX_REQUEST);
		g_assert_cmpint(framed, >=, 7);
		g_assert_true(buf[framed - 1] == '\n' && buf[framed - 2] == '\n');
		if (op == WR_UAPI_OP_SET)
			check_parse(buf, (size_t) framed);
		else
			g_assert_cmpint(framed, ==, 7);
	}

	/* the parser on its own sees any bytes, not only framed ones */
	check_parse(buf, size);
	return 0;
}
