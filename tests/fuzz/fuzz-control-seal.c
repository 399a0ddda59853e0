/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for warren-control's sealed machine bodies (wr-control-seal).  The input is
 * used three ways: as a sealed request body from the wire (which must be refused, as it was not
 * sealed with the machine key; a refusal always carries a WR_CONTROL_SEAL_ERROR code with an
 * HTTP status of 400, 413, 429 or 503 and a message); as the JSON plaintext of a request sealed
 * with fixed keys (accepted only as an object whose integer "ts" is in the window, and then
 * refused as a replay; the typed field readers run over every member); and as a /machine/ path.
 * json-glib criticals and warnings abort.
 */

#define G_LOG_DOMAIN "WrFuzzControlSeal"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-control-seal.h"
#include "wr-crypto.h"
#include "wr-key.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((gint64) 1800000000)

static uint8_t machine_sk[32];
static uint8_t machine_pk[32];
static uint8_t server_sk[32];
static uint8_t server_pk[32];

static void
setup_once(void)
{
	static gsize done = 0;

	if (g_once_init_enter(&done)) {
		g_assert(wr_crypto_init());
		g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
		memset(machine_sk, 0x33, sizeof(machine_sk));
		wr_x25519_clamp(machine_sk);
		g_assert(wr_x25519_public(machine_pk, machine_sk));
		memset(server_sk, 0x44, sizeof(server_sk));
		wr_x25519_clamp(server_sk);
		g_assert(wr_x25519_public(server_pk, server_sk));
		g_once_init_leave(&done, 1);
	}
}

static void
check_refusal(const GError *error)
{
	guint status;

	g_assert_nonnull(error);
	g_assert_true(error->domain == WR_CONTROL_SEAL_ERROR);
	status = wr_control_seal_http_status_for(error);
	g_assert_true(status == 400 || status == 413 || status == 429 || status == 503);
	g_assert_cmpuint(strlen(error->message), >, 0);
}

/* every reader on every member: a value or a coded refusal, never a crash */
static void
read_fields(JsonObject *obj)
{
	g_autoptr(GList) members = json_object_get_members(obj);

	for (GList *l = members; l != NULL; l = l->next) {
		const char *name = l->data;
		const char *s = NULL;
		gint64 i = 0;
		gboolean b = FALSE;
		JsonObject *o = NULL;
		JsonArray *a = NULL;
		uint8_t key[32];
		GError *error = NULL;

#define TRY(call)                             \
	do {                                  \
		if (!(call))                  \
			check_refusal(error); \
		g_clear_error(&error);        \
	} while (0)
		TRY(wr_control_field_string(obj, name, TRUE, &s, &error));
		TRY(wr_control_field_int(obj, name, TRUE, &i, &error));
		TRY(wr_control_field_int_range(obj, name, FALSE, -5, 5, &i, &error));
		TRY(wr_control_field_bool(obj, name, TRUE, &b, &error));
		TRY(wr_control_field_object(obj, name, TRUE, &o, &error));
		TRY(wr_control_field_array(obj, name, TRUE, &a, &error));
		TRY(wr_control_field_key(obj, name, WR_KEY_KIND_NODE, FALSE, key, &error));
#undef TRY
	}
}

static void
check_wire(WrControlSeal *seal, const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	JsonObject *obj = wr_control_seal_open_request(seal, machine_pk, data, size, NOW, &error);

	/* forging a box is not something a fuzzer does */
	g_assert_null(obj);
	check_refusal(error);
}

static void
check_plaintext(WrControlSeal *seal, const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) sealed = NULL;
	JsonObject *obj;
	gint64 ts = 0;
	gsize len;
	const void *body;

	sealed = wr_control_seal_box(data, size, NULL, server_pk, machine_sk, &error);
	g_assert_no_error(error);
	body = g_bytes_get_data(sealed, &len);
	obj = wr_control_seal_open_request(seal, machine_pk, body, len, NOW, &error);
	if (obj == NULL) {
		check_refusal(error);
		g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 0);
		return;
	}
	g_assert_no_error(error);
	g_assert_true(wr_control_field_int(obj, "ts", TRUE, &ts, NULL));
	g_assert_cmpint(ts, >=, NOW - WR_CONTROL_SEAL_TS_WINDOW);
	g_assert_cmpint(ts, <=, NOW + WR_CONTROL_SEAL_TS_WINDOW);
	read_fields(obj);
	json_object_unref(obj);
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 1);
	obj = wr_control_seal_open_request(seal, machine_pk, body, len, NOW, &error);
	g_assert_null(obj);
	g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_REPLAYED);
}

static void
check_path(const uint8_t *data, size_t size)
{
	g_autofree char *path = g_strndup((const char *) data, size);
	g_autoptr(GError) error = NULL;
	uint8_t key[32];
	char *verb = NULL;

	if (!wr_control_parse_machine_path(path, key, &verb, &error)) {
		g_assert_null(verb);
		check_refusal(error);
		return;
	}
	g_assert_true(g_str_has_prefix(path, "/machine/"));
	g_assert_true(g_str_has_suffix(path, verb));
	g_free(verb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WrControlSeal *seal;

	setup_once();
	/* a fresh cache per input keeps runs reproducible */
	seal = wr_control_seal_new(server_sk, 16, 4);
	check_wire(seal, data, size);
	check_plaintext(seal, data, size);
	wr_control_seal_free(seal);
	check_path(data, size);
	return 0;
}
