/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The warren-control test client (tests/lib/wr-control-client, wr-control-http): the response
 * reader over bodies with a length, chunked and up to the close, map stream frames cut at every
 * byte and across chunks, skipped large frames, every refusal with its message; sealing against
 * the server's own seal module both ways, with a replay; and the blocking client against a
 * scripted server in a thread (key, register, an error status with its text, a map stream with
 * a timeout between frames and its end).
 */

#define G_LOG_DOMAIN "WrControlClientTest"

#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-control-client.h"
#include "wr-control-http.h"
#include "wr-control-seal.h"
#include "wr-crypto.h"
#include "wr-key.h"

/* the reader */

static const char *frames_text[] = {"a", "bcdefgh", "{\"keep_alive\":true}", "0123456789abcdef"};

/* the frames above as a body: u32 length || bytes each */
static GByteArray *
frames_body(void)
{
	GByteArray *b = g_byte_array_new();

	for (guint i = 0; i < G_N_ELEMENTS(frames_text); i++) {
		guint32 n = (guint32) strlen(frames_text[i]);
		guint8 len[4] = {(guint8) (n >> 24), (guint8) (n >> 16), (guint8) (n >> 8),
				 (guint8) n};

		g_byte_array_append(b, len, 4);
		g_byte_array_append(b, (const guint8 *) frames_text[i], n);
	}
	return b;
}

/* a chunked 200 answer of body, in chunks of 1, 2, 3 … bytes, with an extension and a trailer */
static GByteArray *
chunked_answer(const guint8 *body, gsize len)
{
	GByteArray *w = g_byte_array_new();
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n";
	gsize off = 0;
	guint size = 1;

	g_byte_array_append(w, (const guint8 *) head, (guint) strlen(head));
	while (off < len) {
		gsize n = MIN(size, len - off);
		g_autofree char *line =
			g_strdup_printf(size % 3 == 0 ? "%zx;ext=1\r\n" : "%zX\r\n", n);

		g_byte_array_append(w, (const guint8 *) line, (guint) strlen(line));
		g_byte_array_append(w, body + off, (guint) n);
		g_byte_array_append(w, (const guint8 *) "\r\n", 2);
		off += n;
		size++;
	}
	g_byte_array_append(w, (const guint8 *) "0\r\nX-Trailer: 1\r\n\r\n", 19);
	return w;
}

/* feeds wire in the pieces that cuts (ascending offsets) make, then pops all frames */
static GPtrArray *
read_frames(const guint8 *wire, gsize len, const gsize *cuts, guint n_cuts, gsize skip_above)
{
	g_autoptr(WrControlHttpReader) r =
		wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_FRAMES, 1024, skip_above);
	g_autoptr(GError) error = NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	gsize from = 0;
	GBytes *payload = NULL;
	gsize flen = 0;

	for (guint i = 0; i <= n_cuts; i++) {
		gsize to = i < n_cuts ? cuts[i] : len;

		g_assert_true(wr_control_http_reader_feed(r, wire + from, to - from, &error));
		g_assert_no_error(error);
		while (wr_control_http_reader_pop_frame(r, &payload, &flen)) {
			if (payload == NULL) {
				g_ptr_array_add(out, g_strdup_printf("skipped %zu", flen));
			} else {
				g_assert_cmpuint(g_bytes_get_size(payload), ==, flen);
				g_ptr_array_add(out,
						g_strndup(g_bytes_get_data(payload, NULL), flen));
				g_bytes_unref(payload);
			}
		}
		from = to;
	}
	g_assert_true(wr_control_http_reader_body_done(r));
	g_assert_true(wr_control_http_reader_chunked(r));
	g_assert_cmpuint(wr_control_http_reader_status(r), ==, 200);
	g_assert_cmpstr(wr_control_http_reader_header(r, "content-type"), ==,
			"application/octet-stream");
	g_assert_true(wr_control_http_reader_eof(r, &error));
	g_assert_no_error(error);
	return out;
}

static void
assert_frames(GPtrArray *got)
{
	g_assert_cmpuint(got->len, ==, G_N_ELEMENTS(frames_text));
	for (guint i = 0; i < got->len; i++)
		g_assert_cmpstr(g_ptr_array_index(got, i), ==, frames_text[i]);
}

static void
test_frames_split(void)
{
	g_autoptr(GByteArray) body = frames_body();
	g_autoptr(GByteArray) wire = chunked_answer(body->data, body->len);
	g_autoptr(GPtrArray) whole = read_frames(wire->data, wire->len, NULL, 0, 0);
	g_autofree gsize *every = g_new(gsize, wire->len);

	assert_frames(whole);
	/* two pieces, cut at every byte */
	for (gsize cut = 0; cut <= wire->len; cut++) {
		g_autoptr(GPtrArray) got = read_frames(wire->data, wire->len, &cut, 1, 0);

		assert_frames(got);
	}
	/* one byte at a time */
	for (gsize i = 0; i < wire->len; i++)
		every[i] = i;
	{
		g_autoptr(GPtrArray) got =
			read_frames(wire->data, wire->len, every, (guint) wire->len, 0);

		assert_frames(got);
	}
}

static void
test_frames_skip(void)
{
	g_autoptr(GByteArray) body = frames_body();
	g_autoptr(GByteArray) wire = chunked_answer(body->data, body->len);
	gsize cuts[] = {50, 51, 90};
	g_autoptr(GPtrArray) got = read_frames(wire->data, wire->len, cuts, 3, 7);

	g_assert_cmpuint(got->len, ==, 4);
	g_assert_cmpstr(g_ptr_array_index(got, 0), ==, "a");
	g_assert_cmpstr(g_ptr_array_index(got, 1), ==, "bcdefgh");
	g_assert_cmpstr(g_ptr_array_index(got, 2), ==, "skipped 19");
	g_assert_cmpstr(g_ptr_array_index(got, 3), ==, "skipped 16");
}

static GBytes *
read_whole(const char *wire, gboolean eof, guint *out_status)
{
	g_autoptr(WrControlHttpReader) r =
		wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_WHOLE, 100, 0);
	g_autoptr(GError) error = NULL;

	for (gsize i = 0; wire[i] != '\0'; i++) {
		g_assert_true(wr_control_http_reader_feed(r, wire + i, 1, &error));
		g_assert_no_error(error);
	}
	if (eof) {
		g_assert_false(wr_control_http_reader_body_done(r));
		g_assert_true(wr_control_http_reader_eof(r, &error));
		g_assert_no_error(error);
	}
	g_assert_true(wr_control_http_reader_body_done(r));
	*out_status = wr_control_http_reader_status(r);
	return wr_control_http_reader_body(r);
}

static void
test_whole(void)
{
	guint status = 0;
	g_autoptr(GBytes) a =
		read_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", FALSE, &status);
	g_autoptr(GBytes) b = NULL;
	g_autoptr(GBytes) c = NULL;
	g_autoptr(GBytes) d = NULL;

	g_assert_cmpuint(status, ==, 200);
	g_assert_cmpmem(g_bytes_get_data(a, NULL), g_bytes_get_size(a), "hello", 5);
	/* up to the close, with an interim answer first */
	b = read_whole("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 429 Too Many\r\nRetry-After: "
		       "3\r\n\r\nslow down\n",
		       TRUE, &status);
	g_assert_cmpuint(status, ==, 429);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "slow down\n", 10);
	/* chunked, and an empty body */
	c = read_whole("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "3\r\nbad\r\n5 \r\n seal\r\n0\r\n\r\n",
		       FALSE, &status);
	g_assert_cmpuint(status, ==, 400);
	g_assert_cmpmem(g_bytes_get_data(c, NULL), g_bytes_get_size(c), "bad seal", 8);
	d = read_whole("HTTP/1.1 204 No Content\r\nX: y\r\n\r\n", FALSE, &status);
	g_assert_cmpuint(status, ==, 204);
	g_assert_cmpuint(g_bytes_get_size(d), ==, 0);
}

typedef struct {
	const char *wire;
	gsize len;
	WrControlHttpBodyMode mode;
	gboolean eof; /* then tell the reader the connection ended */
	int code;
	const char *message;
} BadCase;

/* a literal with its length, NULs included */
#define W(s) s, sizeof(s) - 1

static const BadCase bad_cases[] = {
	{W("HTTP/2 200 OK\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "the answer does not start with an HTTP/1.x status line"},
	{W("HTTP/1.1 2x0 OK\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "the status line has no three-digit status code"},
	{W("HTTP/1.1 099 X\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "bad status code 99"},
	{W("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "a header line without a name and a colon"},
	{W("HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "a header name with a bad character (0x20)"},
	{W("HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "folded header lines are not allowed"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "unsupported Transfer-Encoding \"gzip\""},
	{W("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "bad Content-Length \"-1\""},
	{W("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_TOO_LARGE, "a body of 101 bytes is over the limit of 100"},
	{W("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc"), WR_CONTROL_HTTP_BODY_WHOLE, FALSE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "bytes after the end of the body"},
	{W("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), WR_CONTROL_HTTP_BODY_WHOLE, TRUE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "the connection closed before the end of the body"},
	{W("HTTP/1.1 200 OK\r\n"), WR_CONTROL_HTTP_BODY_WHOLE, TRUE, WR_CONTROL_HTTP_ERROR_PROTOCOL,
	 "the connection closed before the end of the response head"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
	 WR_CONTROL_HTTP_BODY_WHOLE, FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL,
	 "a chunk size line without a hexadecimal size"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n"),
	 WR_CONTROL_HTTP_BODY_WHOLE, FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL,
	 "a chunk size followed by 0x78"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\n"), WR_CONTROL_HTTP_BODY_WHOLE,
	 FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL, "a chunk or trailer line not ended by CRLF"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX"),
	 WR_CONTROL_HTTP_BODY_WHOLE, FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL,
	 "a chunk's data is not followed by CRLF"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000000000\r\n"),
	 WR_CONTROL_HTTP_BODY_WHOLE, FALSE, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
	 "a chunk size over 2^53"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"), 0, TRUE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "the connection closed before the end of the body"},
	/* frames */
	{W("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\0\0\0\0"), WR_CONTROL_HTTP_BODY_FRAMES,
	 FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL, "an empty frame"},
	{W("HTTP/1.1 200 OK\r\n\r\n\0\0\1\1"), WR_CONTROL_HTTP_BODY_FRAMES, FALSE,
	 WR_CONTROL_HTTP_ERROR_TOO_LARGE, "a frame of 257 bytes is over the limit of 100"},
	{W("HTTP/1.1 200 OK\r\n\r\n\0\0\0\2a"), WR_CONTROL_HTTP_BODY_FRAMES, TRUE,
	 WR_CONTROL_HTTP_ERROR_PROTOCOL, "the stream ended inside a frame"},
	{W("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\0\0\0"), WR_CONTROL_HTTP_BODY_FRAMES,
	 FALSE, WR_CONTROL_HTTP_ERROR_PROTOCOL, "the stream ended inside a frame"},
	{W("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\0\0\r\n"),
	 WR_CONTROL_HTTP_BODY_FRAMES, TRUE, WR_CONTROL_HTTP_ERROR_PROTOCOL,
	 "the connection closed inside a frame"},
};

static void
test_bad(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const BadCase *c = &bad_cases[i];
		g_autoptr(WrControlHttpReader) r = wr_control_http_reader_new(c->mode, 100, 0);
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) again = NULL;
		gboolean ok = wr_control_http_reader_feed(r, c->wire, c->len, &error);

		g_test_message("case %u: %s", i, c->message);
		if (ok && c->eof)
			ok = wr_control_http_reader_eof(r, &error);
		g_assert_false(ok);
		g_assert_error(error, WR_CONTROL_HTTP_ERROR, c->code);
		g_assert_cmpstr(error->message, ==, c->message);
		/* failed for good: the same error again */
		g_assert_false(wr_control_http_reader_feed(r, "x", 1, &again));
		g_assert_error(again, WR_CONTROL_HTTP_ERROR, c->code);
		g_assert_cmpstr(again->message, ==, c->message);
	}
}

static void
test_head_limit(void)
{
	g_autoptr(WrControlHttpReader) r =
		wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_WHOLE, 100, 0);
	g_autoptr(WrControlHttpReader) h =
		wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_WHOLE, 100, 0);
	g_autoptr(GError) error = NULL;
	g_autofree char *big = g_strnfill(WR_CONTROL_HTTP_MAX_HEAD, 'a');
	g_autoptr(GString) many = g_string_new("HTTP/1.1 200 OK\r\n");

	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	g_assert_false(wr_control_http_reader_feed(r, big, strlen(big), &error));
	g_assert_error(error, WR_CONTROL_HTTP_ERROR, WR_CONTROL_HTTP_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, "the response head is over 16384 bytes");
	g_clear_error(&error);
	for (guint i = 0; i <= WR_CONTROL_HTTP_MAX_HEADERS; i++)
		g_string_append_printf(many, "H%u: v\r\n", i);
	g_string_append(many, "\r\n");
	g_assert_false(wr_control_http_reader_feed(h, many->str, many->len, &error));
	g_assert_error(error, WR_CONTROL_HTTP_ERROR, WR_CONTROL_HTTP_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, "more than 64 headers");
}

/* sealing against the server's own module */

static void
test_seal_roundtrip(void)
{
	uint8_t server_sk[32];
	uint8_t server_pk[32];
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(WrControlClient) c = wr_control_client_new("http://127.0.0.1:9", NULL);
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(GBytes) sealed = NULL;
	g_autoptr(JsonObject) opened = NULL;
	g_autoptr(GBytes) answer = NULL;
	g_autoptr(JsonObject) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *node_text = NULL;
	const char *node_key = NULL;
	gint64 version = 0;
	gint64 ts = 0;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	const char *reply = "{\"machine_authorized\":true,\"error\":\"\"}";

	g_assert_nonnull(c);
	wr_x25519_generate(server_sk, server_pk);
	seal = wr_control_seal_new(server_sk, 0, 0);
	g_assert_nonnull(seal);

	/* no server key yet */
	req = wr_control_client_register_request(c, "wrkey-0123456789abcdef-x", "n1");
	g_assert_null(wr_control_client_seal(c, req, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED);
	g_clear_error(&error);
	wr_control_client_set_server_key(c, server_pk);
	g_assert_cmpmem(wr_control_client_server_key(c), 32, server_pk, 32);

	sealed = wr_control_client_seal(c, req, &error);
	g_assert_no_error(error);
	opened = wr_control_seal_open_request(seal, wr_control_client_machine_public(c),
					      g_bytes_get_data(sealed, NULL),
					      g_bytes_get_size(sealed), now, &error);
	g_assert_no_error(error);
	g_assert_nonnull(opened);
	g_assert_true(wr_control_field_int(opened, "version", TRUE, &version, &error));
	g_assert_cmpint(version, ==, 1);
	g_assert_true(wr_control_field_int(opened, "ts", TRUE, &ts, &error));
	g_assert_cmpint(ts, >=, now - 5);
	g_assert_cmpint(ts, <=, now + 5);
	g_assert_true(wr_control_field_string(opened, "node_key", TRUE, &node_key, &error));
	node_text = wr_key_to_text(WR_KEY_KIND_NODE, wr_control_client_node_public(c));
	g_assert_cmpstr(node_key, ==, node_text);
	g_assert_cmpstr(json_object_get_string_member(opened, "auth_key"), ==,
			"wrkey-0123456789abcdef-x");
	g_assert_cmpstr(json_object_get_string_member(
				json_object_get_object_member(opened, "hostinfo"), "hostname"),
			==, "n1");
	/* the caller's object is left alone */
	g_assert_false(json_object_has_member(req, "ts"));

	/* the same bytes again are a replay */
	g_assert_null(wr_control_seal_open_request(seal, wr_control_client_machine_public(c),
						   g_bytes_get_data(sealed, NULL),
						   g_bytes_get_size(sealed), now, &error));
	g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_REPLAYED);
	g_clear_error(&error);

	/* the server's answer opens on the client, and only there */
	answer = wr_control_seal_response(seal, wr_control_client_machine_public(c), reply,
					  strlen(reply), &error);
	g_assert_no_error(error);
	back = wr_control_client_open(c, g_bytes_get_data(answer, NULL), g_bytes_get_size(answer),
				      &error);
	g_assert_no_error(error);
	g_assert_true(json_object_get_boolean_member(back, "machine_authorized"));
	{
		g_autoptr(WrControlClient) other = wr_control_client_new("http://[::1]:9", NULL);
		g_autoptr(JsonObject) none = NULL;

		wr_control_client_set_server_key(other, server_pk);
		none = wr_control_client_open(other, g_bytes_get_data(answer, NULL),
					      g_bytes_get_size(answer), &error);
		g_assert_null(none);
		g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL);
		g_clear_error(&error);
	}
	wr_memzero(server_sk, sizeof(server_sk));
}

static void
test_builders(void)
{
	g_autoptr(WrControlClient) c = wr_control_client_new("http://127.0.0.1:9", NULL);
	const char *eps[] = {"192.0.2.1:41641", "[2001:db8::1]:41641", NULL};
	g_autoptr(JsonObject) map = wr_control_client_map_request(c, eps, TRUE, "h");
	g_autoptr(JsonObject) reg = NULL;
	g_autofree char *node = wr_key_to_text(WR_KEY_KIND_NODE, wr_control_client_node_public(c));
	g_autofree char *disco =
		wr_key_to_text(WR_KEY_KIND_DISCO, wr_control_client_disco_public(c));
	g_autofree char *path = wr_control_client_machine_path(c, "map");
	char hex[WR_KEY_HEX_LEN + 1];
	uint8_t before[32];
	JsonArray *arr;

	g_assert_cmpstr(json_object_get_string_member(map, "node_key"), ==, node);
	g_assert_cmpstr(json_object_get_string_member(map, "disco_key"), ==, disco);
	g_assert_true(json_object_get_boolean_member(map, "stream"));
	g_assert_false(json_object_get_boolean_member(map, "omit_peers"));
	arr = json_object_get_array_member(map, "endpoints");
	g_assert_cmpuint(json_array_get_length(arr), ==, 2);
	g_assert_cmpstr(
		json_object_get_string_member(json_array_get_object_element(arr, 1), "addr"), ==,
		"[2001:db8::1]:41641");
	g_assert_cmpstr(
		json_object_get_string_member(json_array_get_object_element(arr, 0), "type"), ==,
		"stun");
	g_assert_cmpstr(
		json_object_get_string_member(json_object_get_object_member(map, "hostinfo"), "os"),
		==, "linux");
	wr_key_to_hex(hex, wr_control_client_machine_public(c));
	g_assert_true(g_str_has_prefix(path, "/machine/"));
	g_assert_true(g_str_has_suffix(path, "/map"));
	g_assert_cmpmem(path + 9, 64, hex, 64);

	/* a new node key goes into the next request; the machine key stays */
	memcpy(before, wr_control_client_node_public(c), 32);
	wr_control_client_new_node_key(c);
	g_assert_false(wr_memeq(before, wr_control_client_node_public(c), 32));
	reg = wr_control_client_register_request(c, NULL, NULL);
	g_assert_cmpstr(json_object_get_string_member(reg, "node_key"), !=, node);
	g_assert_cmpstr(json_object_get_string_member(reg, "auth_key"), ==, "");
	g_assert_cmpstr(json_object_get_string_member(reg, "old_node_key"), ==, "");
	g_assert_false(json_object_get_boolean_member(reg, "logout"));
	g_assert_cmpstr(json_object_get_string_member(
				json_object_get_object_member(reg, "hostinfo"), "hostname"),
			==, "test-node");
}

static void
test_bad_url(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_null(wr_control_client_new("https://ctl.example.com", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(wr_control_client_new("not a url", &error));
	g_assert_nonnull(error);
}

/* a scripted server in a thread */

typedef struct {
	GSocketListener *listener;
	guint16 port;
	WrControlSeal *seal;
	uint8_t server_pk[32];
	GAsyncQueue *go;     /* the test tells the stream to go on */
	guint connections;   /* to serve before the thread ends */
	GString *last_error; /* what the server refused last */
} Fake;

static gboolean
write_all(GOutputStream *out, const void *data, gsize len)
{
	return g_output_stream_write_all(out, data, len, NULL, NULL, NULL);
}

static void
answer(GOutputStream *out, guint status, const char *type, const void *body, gsize len,
       const char *extra)
{
	g_autofree char *head = g_strdup_printf(
		"HTTP/1.1 %u X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
		"close\r\n\r\n",
		status, type, len, extra != NULL ? extra : "");

	(void) write_all(out, head, strlen(head));
	(void) write_all(out, body, len);
}

/* a frame sealed to the machine, written as chunks of 1, 5, 2 … bytes that do not follow it */
static void
write_frame(Fake *f, GOutputStream *out, const uint8_t *mkey, const char *json)
{
	g_autoptr(GBytes) sealed =
		wr_control_seal_response(f->seal, mkey, json, strlen(json), NULL);
	gsize len = g_bytes_get_size(sealed);
	const guint8 *p = g_bytes_get_data(sealed, NULL);
	g_autoptr(GByteArray) frame = g_byte_array_new();
	guint8 hdr[4] = {(guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8),
			 (guint8) len};
	static const gsize sizes[] = {1, 5, 2, 17, 3, 64};
	gsize off = 0;

	g_byte_array_append(frame, hdr, 4);
	g_byte_array_append(frame, p, (guint) len);
	for (guint i = 0; off < frame->len; i++) {
		gsize n = MIN(sizes[i % G_N_ELEMENTS(sizes)], frame->len - off);
		g_autofree char *line = g_strdup_printf("%zx\r\n", n);

		(void) write_all(out, line, strlen(line));
		(void) write_all(out, frame->data + off, n);
		(void) write_all(out, "\r\n", 2);
		off += n;
	}
}

static void
serve_one(Fake *f, GSocketConnection *conn)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	g_autoptr(GByteArray) req = g_byte_array_new();
	g_autofree char *head = NULL;
	g_autofree char *verb = NULL;
	g_autofree guint8 *body = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(GError) error = NULL;
	const char *cl;
	gsize body_len = 0;
	char path[256] = "";
	uint8_t mkey[32];
	guint8 byte;
	gboolean stream = FALSE;

	/* the head, a byte at a time: the client sends one request per connection */
	while (req->len < 4 || memcmp(req->data + req->len - 4, "\r\n\r\n", 4) != 0) {
		if (g_input_stream_read(in, &byte, 1, NULL, NULL) != 1)
			return;
		g_byte_array_append(req, &byte, 1);
	}
	head = g_strndup((const char *) req->data, req->len);
	g_assert_true(strstr(head, "Connection: close\r\n") != NULL);
	cl = strstr(head, "Content-Length: ");
	if (cl != NULL)
		body_len = g_ascii_strtoull(cl + 16, NULL, 10);
	body = g_malloc(body_len + 1);
	g_assert_true(g_input_stream_read_all(in, body, body_len, NULL, NULL, NULL));
	g_assert_cmpint(sscanf(head, "%*s %255s", path), ==, 1);

	if (g_str_equal(path, "/key?v=1")) {
		g_autofree char *key = wr_control_seal_public_text(f->seal);
		g_autofree char *json = g_strdup_printf("{\"server_key\":\"%s\"}", key);

		answer(out, 200, "application/json", json, strlen(json), NULL);
		return;
	}
	if (!wr_control_parse_machine_path(path, mkey, &verb, &error)) {
		answer(out, 400, "text/plain", error->message, strlen(error->message), NULL);
		return;
	}
	if (g_str_equal(verb, "busy")) {
		answer(out, 429, "text/plain", "slow down\n", 10, "Retry-After: 3\r\n");
		return;
	}
	obj = wr_control_seal_open_request(f->seal, mkey, body, body_len,
					   g_get_real_time() / G_USEC_PER_SEC, &error);
	if (obj == NULL) {
		g_string_assign(f->last_error, error->message);
		answer(out, wr_control_seal_http_status_for(error), "text/plain", error->message,
		       strlen(error->message), NULL);
		return;
	}
	if (g_str_equal(verb, "register")) {
		g_autofree char *json = g_strdup_printf(
			"{\"machine_authorized\":true,\"error\":\"\",\"node_key_seen\":\"%s\"}",
			json_object_get_string_member_with_default(obj, "node_key", ""));
		g_autoptr(GBytes) sealed =
			wr_control_seal_response(f->seal, mkey, json, strlen(json), NULL);

		answer(out, 200, "application/octet-stream", g_bytes_get_data(sealed, NULL),
		       g_bytes_get_size(sealed), NULL);
		return;
	}
	g_assert_cmpstr(verb, ==, "map");
	stream = json_object_get_boolean_member_with_default(obj, "stream", FALSE);
	g_assert_true(stream);
	{
		const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				"Transfer-Encoding: chunked\r\n\r\n";

		(void) write_all(out, h, strlen(h));
	}
	write_frame(f, out, mkey, "{\"node\":{\"id\":1},\"peers\":[],\"control_time\":1}");
	/* half a frame's length, then wait for the test's timeout */
	(void) write_all(out, "2\r\n\0\0\r\n", 7);
	g_assert_cmpstr(g_async_queue_pop(f->go), ==, "go");
	(void) write_all(out, "2\r\n\0", 4);
	/* the rest of that frame: write it as a sealed keep-alive of the length announced */
	{
		const char *json = "{\"keep_alive\":true}";
		g_autoptr(GBytes) sealed =
			wr_control_seal_response(f->seal, mkey, json, strlen(json), NULL);
		gsize len = g_bytes_get_size(sealed);
		guint8 lo = (guint8) len;
		g_autofree char *line = g_strdup_printf("\r\n%zx\r\n", len);

		g_assert_cmpuint(len, <, 256);
		(void) write_all(out, &lo, 1);
		(void) write_all(out, line, strlen(line));
		(void) write_all(out, g_bytes_get_data(sealed, NULL), len);
		(void) write_all(out, "\r\n", 2);
	}
	write_frame(f, out, mkey,
		    "{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"192.0.2.1:41641\"]}]}");
	(void) write_all(out, "0\r\n\r\n", 5);
}

static gpointer
fake_main(gpointer data)
{
	Fake *f = data;

	for (guint i = 0; i < f->connections; i++) {
		g_autoptr(GSocketConnection) conn =
			g_socket_listener_accept(f->listener, NULL, NULL, NULL);

		if (conn == NULL)
			break;
		serve_one(f, conn);
		(void) g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
	}
	return NULL;
}

static void
test_fake_server(void)
{
	Fake f = {0};
	uint8_t sk[32];
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *url = NULL;
	g_autoptr(WrControlClient) c = NULL;
	g_autoptr(JsonObject) reg = NULL;
	g_autoptr(JsonObject) reg_answer = NULL;
	g_autoptr(JsonObject) map = NULL;
	g_autoptr(JsonObject) busy = NULL;
	g_autoptr(WrControlStream) s = NULL;
	g_autoptr(JsonObject) first = NULL;
	g_autoptr(JsonObject) nothing = NULL;
	g_autoptr(JsonObject) keep = NULL;
	g_autoptr(JsonObject) patch = NULL;
	g_autoptr(JsonObject) end = NULL;
	g_autoptr(GBytes) raw_body = NULL;
	g_autoptr(GBytes) sealed = NULL;
	g_autofree char *path = NULL;
	g_autofree char *node_text = NULL;
	const char *endpoints[] = {"192.0.2.1:41641", NULL};
	GThread *thread;
	guint status = 0;

	wr_x25519_generate(sk, f.server_pk);
	f.seal = wr_control_seal_new(sk, 0, 0);
	wr_memzero(sk, sizeof(sk));
	f.listener = g_socket_listener_new();
	f.go = g_async_queue_new();
	f.last_error = g_string_new(NULL);
	g_assert_true(g_socket_listener_add_address(f.listener, addr, G_SOCKET_TYPE_STREAM,
						    G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
	g_assert_no_error(error);
	f.port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	/* key, register, busy, bad seal, replay once and again, map stream */
	f.connections = 7;
	thread = g_thread_new("fake-control", fake_main, &f);

	url = g_strdup_printf("http://127.0.0.1:%u", f.port);
	c = wr_control_client_new(url, &error);
	g_assert_no_error(error);
	wr_control_client_set_timeout(c, 10000);
	g_assert_true(wr_control_client_fetch_key(c, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(wr_control_client_server_key(c), 32, f.server_pk, 32);

	/* register: the answer is opened */
	reg = wr_control_client_register_request(c, NULL, "n1");
	reg_answer = wr_control_client_call(c, "register", reg, &error);
	g_assert_no_error(error);
	node_text = wr_key_to_text(WR_KEY_KIND_NODE, wr_control_client_node_public(c));
	g_assert_true(json_object_get_boolean_member(reg_answer, "machine_authorized"));
	g_assert_cmpstr(json_object_get_string_member(reg_answer, "node_key_seen"), ==, node_text);

	/* an error status carries the server's text */
	busy = wr_control_client_call(c, "busy", reg, &error);
	g_assert_null(busy);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 429);
	g_assert_cmpstr(error->message, ==, "HTTP 429: slow down");
	g_clear_error(&error);

	/* raw bytes: a bad seal, then one sealed body twice */
	path = wr_control_client_machine_path(c, "register");
	g_assert_true(wr_control_client_post_raw(c, path, "junk", 4, &status, &raw_body, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(status, ==, 400);
	g_assert_true(
		g_str_has_suffix(f.last_error->str, "is shorter than nonce and tag (40 bytes)"));
	g_clear_pointer(&raw_body, g_bytes_unref);
	sealed = wr_control_client_seal(c, reg, &error);
	g_assert_no_error(error);
	g_assert_true(wr_control_client_post_raw(c, path, g_bytes_get_data(sealed, NULL),
						 g_bytes_get_size(sealed), &status, &raw_body,
						 &error));
	g_assert_cmpuint(status, ==, 200);
	g_clear_pointer(&raw_body, g_bytes_unref);
	g_assert_true(wr_control_client_post_raw(c, path, g_bytes_get_data(sealed, NULL),
						 g_bytes_get_size(sealed), &status, &raw_body,
						 &error));
	g_assert_cmpuint(status, ==, 400);
	g_assert_cmpstr(f.last_error->str, ==, "nonce replayed");

	/* the stream: full map, a timeout inside a frame, then the rest, then its end */
	map = wr_control_client_map_request(c, endpoints, FALSE, "n1");
	s = wr_control_client_map_stream(c, map, &error);
	g_assert_no_error(error);
	g_assert_nonnull(s);
	first = wr_control_stream_next(s, 5000, &error);
	g_assert_no_error(error);
	g_assert_cmpint(
		json_object_get_int_member(json_object_get_object_member(first, "node"), "id"), ==,
		1);
	nothing = wr_control_stream_next(s, 100, &error);
	g_assert_null(nothing);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	g_clear_error(&error);
	g_async_queue_push(f.go, (gpointer) "go");
	keep = wr_control_stream_next(s, 5000, &error);
	g_assert_no_error(error);
	g_assert_true(json_object_get_boolean_member(keep, "keep_alive"));
	patch = wr_control_stream_next(s, 5000, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(
		json_array_get_string_element(
			json_object_get_array_member(
				json_array_get_object_element(
					json_object_get_array_member(patch, "peers_patch"), 0),
				"endpoints"),
			0),
		==, "192.0.2.1:41641");
	g_assert_cmpuint(wr_control_stream_frames(s), ==, 3);
	end = wr_control_stream_next(s, 5000, &error);
	g_assert_null(end);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);

	g_thread_join(thread);
	g_socket_listener_close(f.listener);
	g_object_unref(f.listener);
	g_async_queue_unref(f.go);
	g_string_free(f.last_error, TRUE);
	wr_control_seal_free(f.seal);
}

static void
test_refused_connection(void)
{
	g_autoptr(GSocketListener) l = g_socket_listener_new();
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *url = NULL;
	g_autoptr(WrControlClient) c = NULL;

	/* a port that was free a moment ago and is closed now */
	g_assert_true(g_socket_listener_add_address(l, addr, G_SOCKET_TYPE_STREAM,
						    G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
	url = g_strdup_printf("http://127.0.0.1:%u",
			      g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
	g_socket_listener_close(l);
	c = wr_control_client_new(url, &error);
	g_assert_no_error(error);
	g_assert_false(wr_control_client_fetch_key(c, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
	g_assert_true(g_str_has_prefix(error->message, "connecting to 127.0.0.1:"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert(wr_crypto_init());
	g_test_add_func("/warren/control-client/frames-split", test_frames_split);
	g_test_add_func("/warren/control-client/frames-skip", test_frames_skip);
	g_test_add_func("/warren/control-client/whole", test_whole);
	g_test_add_func("/warren/control-client/bad", test_bad);
	g_test_add_func("/warren/control-client/head-limit", test_head_limit);
	g_test_add_func("/warren/control-client/seal-roundtrip", test_seal_roundtrip);
	g_test_add_func("/warren/control-client/builders", test_builders);
	g_test_add_func("/warren/control-client/bad-url", test_bad_url);
	g_test_add_func("/warren/control-client/fake-server", test_fake_server);
	g_test_add_func("/warren/control-client/refused", test_refused_connection);
	return g_test_run();
}
