/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Friend API of wr-derp-dial for the tests and the fuzzer: the reader of the HTTP response
 * head, which is pure.
 */

#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "wr-derp-dial.h"

/*
 * Looks for a whole HTTP response head (status line, headers, blank line) at the start of buf
 * and parses it with libsoup.  Returns 0 when the blank line has not arrived yet (read more),
 * or the length of the head including the blank line (the DERP frames start right after it),
 * with *out_status and *out_reason (g_malloc'd, free it) set.  Lines may end in CRLF or LF.
 * Returns -EMSGSIZE when no blank line is found within WR_DERP_DIAL_MAX_RESPONSE_LEN bytes, and
 * -EBADMSG when the head does not parse (no status line, NUL bytes, not HTTP/1.x); out
 * parameters are untouched then.
 */
ssize_t
wr_derp_dial_parse_response(const char *buf, size_t len, guint *out_status, char **out_reason);
