/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the map stream framing of wr-control-conn (WrControlFrames): the input
 * is fed whole and again in pieces of 1-16 bytes (sizes taken from the input itself), and the
 * two readers must agree on every frame and on failing.  A frame limit of 64 bytes makes the
 * limit reachable.
 *
 * Input: a map stream body, as is.
 */

#define G_LOG_DOMAIN "WrFuzzControlFrames"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-control-conn.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAME 64

/* the frames, concatenated with their lengths, and whether the reader failed */
static GByteArray *
run(const uint8_t *data, size_t size, gboolean pieces, gboolean *out_failed)
{
	g_autoptr(WrControlFrames) fr = wr_control_frames_new(MAX_FRAME);
	GByteArray *out = g_byte_array_new();
	size_t at = 0;

	*out_failed = FALSE;
	while (at < size) {
		size_t step = pieces ? MIN((size_t) (data[at] % 16) + 1, size - at) : size - at;

		if (!wr_control_frames_feed(fr, data + at, step, NULL)) {
			*out_failed = TRUE;
			break;
		}
		at += step;
		for (;;) {
			g_autoptr(GBytes) f = wr_control_frames_pop(fr);
			guint32 n;

			if (f == NULL)
				break;
			n = (guint32) g_bytes_get_size(f);
			g_assert_cmpuint(n, >=, 1);
			g_assert_cmpuint(n, <=, MAX_FRAME);
			g_byte_array_append(out, (const guint8 *) &n, sizeof(n));
			g_byte_array_append(out, g_bytes_get_data(f, NULL), n);
		}
	}
	/* a failure is sticky */
	if (*out_failed)
		g_assert_null(wr_control_frames_pop(fr));
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gboolean failed_whole, failed_pieces;
	g_autoptr(GByteArray) whole = run(data, size, FALSE, &failed_whole);
	g_autoptr(GByteArray) pieces = run(data, size, TRUE, &failed_pieces);

	/* a bad length is found by one reader at a feed and by the other at a pop, perhaps
	 * later: the frames before it are the same, so one output is a prefix of the other, and
	 * they are equal when neither failed */
	if (!failed_whole && !failed_pieces)
		g_assert_cmpmem(whole->data, whole->len, pieces->data, pieces->len);
	else
		g_assert_cmpmem(whole->data, MIN(whole->len, pieces->len), pieces->data,
				MIN(whole->len, pieces->len));
	return 0;
}
