/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the sealed DERP info bodies (wr-derp-info).  The input is a JSON text:
 * it goes through both parsers directly, and sealed in a box with fixed keys through both
 * openers, which must agree with the parsers.  Whatever a parser accepts must format and parse
 * back to the same values; whatever it refuses must leave the output alone and use one of the
 * promised errnos.  The input is also tried as a raw ClientInfo and ServerInfo payload, which
 * must not open.  json-glib criticals and warnings abort.
 */

#define G_LOG_DOMAIN "WrFuzzDerpInfo"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-derp-frame.h"
#include "wr-derp-info.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POISON 0xA5

static uint8_t client_sk[32];
static uint8_t client_pk[32];
static uint8_t server_sk[32];
static uint8_t server_pk[32];

static void
setup_once(void)
{
	static gsize done = 0;

	if (g_once_init_enter(&done)) {
		g_assert(wr_crypto_init());
		g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
		memset(client_sk, 0x11, sizeof(client_sk));
		wr_x25519_clamp(client_sk);
		g_assert(wr_x25519_public(client_pk, client_sk));
		memset(server_sk, 0x22, sizeof(server_sk));
		wr_x25519_clamp(server_sk);
		g_assert(wr_x25519_public(server_pk, server_sk));
		g_once_init_leave(&done, 1);
	}
}

static void
check_errno(int r)
{
	g_assert(r == 0 || r == -EINVAL || r == -EMSGSIZE || r == -EBADMSG);
}

static void
assert_poisoned(const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		g_assert(((const uint8_t *) p)[i] == POISON);
}

static void
assert_client_eq(const WrDerpClientInfoBody *a, const WrDerpClientInfoBody *b)
{
	g_assert(a->version == b->version);
	g_assert(a->has_mesh_key == b->has_mesh_key);
	if (a->has_mesh_key)
		g_assert(memcmp(a->mesh_key, b->mesh_key, sizeof(a->mesh_key)) == 0);
	g_assert(a->can_ack_pings == b->can_ack_pings);
	g_assert(a->is_prober == b->is_prober);
	g_assert(strcmp(a->app_name, b->app_name) == 0);
}

static void
assert_server_eq(const WrDerpServerInfoBody *a, const WrDerpServerInfoBody *b)
{
	g_assert(a->version == b->version);
	g_assert(a->token_bucket_bytes_per_second == b->token_bucket_bytes_per_second);
	g_assert(a->token_bucket_bytes_burst == b->token_bucket_bytes_burst);
}

static void
fuzz_client(const uint8_t *data, size_t size, const uint8_t *sealed, const uint8_t *nonce)
{
	WrDerpClientInfoBody body;
	WrDerpClientInfoBody opened;
	WrDerpClientInfoBody again;
	WrDerpClientInfo info;
	char json[WR_DERP_INFO_MAX_OUT_LEN];
	int r;
	int ro;
	int n;

	memset(&body, POISON, sizeof(body));
	r = wr_derp_info_parse_client_info((const char *) data, size, &body);
	check_errno(r);
	g_assert(r != -EBADMSG);

	memset(&opened, POISON, sizeof(opened));
	memcpy(info.key, client_pk, sizeof(info.key));
	info.box.nonce = nonce;
	info.box.sealed = sealed;
	info.box.sealed_len = size + WR_BOX_TAG_LEN;
	ro = wr_derp_info_open_client_info(&info, server_sk, &opened);
	g_assert(ro == r);
	if (r < 0) {
		assert_poisoned(&body, sizeof(body));
		assert_poisoned(&opened, sizeof(opened));
		return;
	}
	assert_client_eq(&body, &opened);

	/* what was accepted formats and parses back */
	n = wr_derp_info_format_client_info(&body, json, sizeof(json));
	g_assert(n > 0);
	g_assert(wr_derp_info_parse_client_info(json, (size_t) n, &again) == 0);
	assert_client_eq(&body, &again);
}

static void
fuzz_server(const uint8_t *data, size_t size, const uint8_t *sealed, const uint8_t *nonce)
{
	WrDerpServerInfoBody body;
	WrDerpServerInfoBody opened;
	WrDerpServerInfoBody again;
	WrDerpBox box;
	char json[WR_DERP_INFO_MAX_OUT_LEN];
	int r;
	int ro;
	int n;

	memset(&body, POISON, sizeof(body));
	r = wr_derp_info_parse_server_info((const char *) data, size, &body);
	check_errno(r);
	g_assert(r != -EBADMSG);

	memset(&opened, POISON, sizeof(opened));
	box.nonce = nonce;
	box.sealed = sealed;
	box.sealed_len = size + WR_BOX_TAG_LEN;
	ro = wr_derp_info_open_server_info(&box, client_sk, server_pk, &opened);
	g_assert(ro == r);
	if (r < 0) {
		assert_poisoned(&body, sizeof(body));
		assert_poisoned(&opened, sizeof(opened));
		return;
	}
	assert_server_eq(&body, &opened);

	n = wr_derp_info_format_server_info(&body, json, sizeof(json));
	g_assert(n > 0);
	g_assert(wr_derp_info_parse_server_info(json, (size_t) n, &again) == 0);
	assert_server_eq(&body, &again);
}

/* random bytes as a frame payload: boxes that do not open */
static void
fuzz_raw(const uint8_t *data, size_t size)
{
	WrDerpClientInfo info;
	WrDerpClientInfoBody cbody;
	WrDerpServerInfoBody sbody;
	WrDerpBox box;
	int r;

	if (wr_derp_parse_client_info(data, size, &info) == 0) {
		memset(&cbody, POISON, sizeof(cbody));
		r = wr_derp_info_open_client_info(&info, server_sk, &cbody);
		g_assert(r == -EBADMSG || r == -EMSGSIZE);
		assert_poisoned(&cbody, sizeof(cbody));
	}
	if (wr_derp_parse_server_info(data, size, &box) == 0) {
		memset(&sbody, POISON, sizeof(sbody));
		r = wr_derp_info_open_server_info(&box, client_sk, server_pk, &sbody);
		g_assert(r == -EBADMSG || r == -EMSGSIZE);
		assert_poisoned(&sbody, sizeof(sbody));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t nonce[DERP_NONCE_LEN];
	uint8_t *sealed;

	setup_once();
	/* larger inputs only exercise the length check */
	if (size > 2 * WR_DERP_INFO_MAX_JSON_LEN)
		return 0;
	memset(nonce, 0x33, sizeof(nonce));
	sealed = g_malloc(size + WR_BOX_TAG_LEN);

	g_assert(wr_box_seal(sealed, data, size, nonce, server_pk, client_sk));
	fuzz_client(data, size, sealed, nonce);
	g_assert(wr_box_seal(sealed, data, size, nonce, client_pk, server_sk));
	fuzz_server(data, size, sealed, nonce);
	g_free(sealed);

	fuzz_raw(data, size);
	return 0;
}
