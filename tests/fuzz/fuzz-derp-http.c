/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the DERP client's reader of the HTTP response head
 * (wr_derp_dial_parse_response, around libsoup's soup_headers_parse_response).  Input: the bytes
 * the server sent.  Besides the sanitizers it checks the contract: the result is "need more", a
 * head length within the input and the limit, or one of the promised errnos; out parameters are
 * untouched unless a head was found; a status has three digits; and the bytes before
 * the end of a head never make a head by themselves.  libsoup criticals abort.
 */

#define G_LOG_DOMAIN "WrFuzzDerpHttp"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-derp-dial-private.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gsize once = 0;
	char *reason = NULL;
	guint status = 7;
	ssize_t r;

	if (g_once_init_enter(&once)) {
		g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
		g_once_init_leave(&once, 1);
	}
	r = wr_derp_dial_parse_response((const char *) data, size, &status, &reason);
	g_assert(r >= 0 || r == -EMSGSIZE || r == -EBADMSG);
	if (r <= 0) {
		g_assert(status == 7 && reason == NULL);
		if (r == -EMSGSIZE)
			g_assert(size >= WR_DERP_DIAL_MAX_RESPONSE_LEN);
		if (r == 0)
			g_assert(size < WR_DERP_DIAL_MAX_RESPONSE_LEN);
		return 0;
	}
	g_assert((size_t) r <= size && r <= WR_DERP_DIAL_MAX_RESPONSE_LEN);
	g_assert(data[r - 1] == '\n');
	g_assert(status >= 100 && status <= 999);
	g_assert(reason != NULL);
	g_free(reason);
	reason = NULL;

	/* one byte less is not a whole head yet */
	status = 7;
	r = wr_derp_dial_parse_response((const char *) data, (size_t) r - 1, &status, &reason);
	g_assert(r == 0 && status == 7 && reason == NULL);
	return 0;
}
