/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the test client's HTTP/1.1 answer reader (tests/lib/wr-control-http):
 * the head, the body framing (length, chunked, up to the close) and the map stream frames.
 * The first byte picks the mode, the frame skip threshold and the size of the pieces the rest
 * is fed in; the input after it is one connection's bytes.  The same bytes are also fed whole
 * to a second reader, and both must agree: on success or failure (with the same error code and
 * message), status, body and every frame, whatever the split.  A failed reader must keep
 * failing with the same error.
 */

#define G_LOG_DOMAIN "WrFuzzControlHttp"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "wr-control-http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096

typedef struct {
	gboolean ok;
	GError *error;
	guint status;
	gboolean done;
	GBytes *body;
	GPtrArray *frames; /* of GBytes, an empty one for a skipped frame */
	GArray *lens;
} Outcome;

static void
outcome_clear(Outcome *o)
{
	g_clear_error(&o->error);
	g_clear_pointer(&o->body, g_bytes_unref);
	g_clear_pointer(&o->frames, g_ptr_array_unref);
	g_clear_pointer(&o->lens, g_array_unref);
}

static void
drain(WrControlHttpReader *r, Outcome *o)
{
	GBytes *payload = NULL;
	gsize len = 0;

	while (wr_control_http_reader_pop_frame(r, &payload, &len)) {
		g_assert(payload == NULL || g_bytes_get_size(payload) == len);
		g_assert(len > 0 && len <= MAX_BODY);
		g_ptr_array_add(o->frames, payload != NULL ? payload : g_bytes_new(NULL, 0));
		g_array_append_val(o->lens, len);
	}
}

static void
run(const uint8_t *data, size_t size, WrControlHttpBodyMode mode, gsize skip, gsize piece,
    Outcome *o)
{
	g_autoptr(WrControlHttpReader) r = wr_control_http_reader_new(mode, MAX_BODY, skip);
	gsize off = 0;

	o->frames = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	o->lens = g_array_new(FALSE, FALSE, sizeof(gsize));
	o->ok = TRUE;
	while (off < size && o->ok) {
		gsize n = MIN(piece, size - off);

		o->ok = wr_control_http_reader_feed(r, data + off, n, &o->error);
		drain(r, o);
		off += n;
	}
	if (o->ok)
		o->ok = wr_control_http_reader_eof(r, &o->error);
	drain(r, o);
	if (!o->ok) {
		g_autoptr(GError) again = NULL;

		g_assert(o->error != NULL && o->error->domain == WR_CONTROL_HTTP_ERROR);
		g_assert(o->error->message[0] != '\0');
		g_assert(!wr_control_http_reader_feed(r, "x", 1, &again));
		g_assert(again->code == o->error->code);
		g_assert(strcmp(again->message, o->error->message) == 0);
		g_assert(!wr_control_http_reader_body_done(r));
		return;
	}
	g_assert(o->error == NULL);
	g_assert(wr_control_http_reader_body_done(r));
	o->status = wr_control_http_reader_status(r);
	g_assert(o->status >= 200 && o->status <= 999);
	o->body = wr_control_http_reader_body(r);
	if (o->body != NULL)
		g_assert(g_bytes_get_size(o->body) == wr_control_http_reader_body_bytes(r));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Outcome split = {0};
	Outcome whole = {0};
	WrControlHttpBodyMode mode;
	gsize skip;
	gsize piece;

	if (size < 1)
		return 0;
	mode = (data[0] & 1) != 0 ? WR_CONTROL_HTTP_BODY_FRAMES : WR_CONTROL_HTTP_BODY_WHOLE;
	skip = (data[0] & 2) != 0 ? 16 : 0;
	piece = 1 + (data[0] >> 2);
	data++;
	size--;

	run(data, size, mode, skip, piece, &split);
	run(data, size, mode, skip, size + 1, &whole);
	/* the split must not matter, except that a failure may surface on a later piece only */
	g_assert(split.ok == whole.ok);
	if (!split.ok) {
		g_assert(split.error->code == whole.error->code);
		g_assert(strcmp(split.error->message, whole.error->message) == 0);
	} else {
		g_assert(split.status == whole.status);
		g_assert((split.body == NULL) == (whole.body == NULL));
		if (split.body != NULL)
			g_assert(g_bytes_equal(split.body, whole.body));
	}
	if (split.ok) {
		g_assert(split.frames->len == whole.frames->len);
		for (guint i = 0; i < split.frames->len; i++) {
			g_assert(g_array_index(split.lens, gsize, i) ==
				 g_array_index(whole.lens, gsize, i));
			g_assert(g_bytes_equal(g_ptr_array_index(split.frames, i),
					       g_ptr_array_index(whole.frames, i)));
		}
	}
	outcome_clear(&split);
	outcome_clear(&whole);
	return 0;
}
