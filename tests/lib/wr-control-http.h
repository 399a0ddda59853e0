/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The client side of warren-control's HTTP/1.1 answers, for the test client and the scale
 * bench: an incremental reader fed whatever bytes a socket returned, split anywhere.  It parses
 * the status line and headers, undoes the body's framing (Content-Length, chunked with
 * extensions and trailers, or up to the end of the connection) and then either keeps the body
 * whole (a sealed answer) or cuts it into map stream frames, `u32 big-endian length || sealed`,
 * which need not line up with the chunks.
 *
 * Pure: no I/O, no clock.  Every length has a limit; the first malformed byte puts the reader in
 * a failed state (WR_CONTROL_HTTP_ERROR_PROTOCOL, or _TOO_LARGE) that every later call repeats.
 */

#pragma once

#include <glib.h>

#define WR_CONTROL_HTTP_ERROR (wr_control_http_error_quark())
GQuark
wr_control_http_error_quark(void);

typedef enum {
	WR_CONTROL_HTTP_ERROR_PROTOCOL,	 /* not HTTP/1.x, a bad chunk, a frame cut short */
	WR_CONTROL_HTTP_ERROR_TOO_LARGE, /* the head, a line, the body or a frame over its limit */
} WrControlHttpError;

/* the response head: status line and headers together */
#define WR_CONTROL_HTTP_MAX_HEAD (16 * 1024)
/* a chunk-size line with its extensions, and a trailer line */
#define WR_CONTROL_HTTP_MAX_LINE 256
/* headers kept */
#define WR_CONTROL_HTTP_MAX_HEADERS 64

typedef enum {
	WR_CONTROL_HTTP_BODY_WHOLE,  /* the body is one blob (up to max_body bytes) */
	WR_CONTROL_HTTP_BODY_FRAMES, /* the body is length-prefixed frames (each up to max_body) */
} WrControlHttpBodyMode;

typedef struct _WrControlHttpReader WrControlHttpReader;

/*
 * A reader for one response.  In FRAMES mode, frames longer than skip_above (0 = never) are
 * counted but not kept: wr_control_http_reader_pop_frame reports them with a NULL payload, so
 * that a bench can let multi-megabyte full maps through without buffering them.  The mode
 * applies to 2xx answers only: any other status keeps its body whole (the server's text).
 */
WrControlHttpReader *
wr_control_http_reader_new(WrControlHttpBodyMode mode, gsize max_body, gsize skip_above);
void
wr_control_http_reader_free(WrControlHttpReader *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlHttpReader, wr_control_http_reader_free)

/*
 * Feeds len bytes that followed the previous ones.  FALSE with an error when they break the
 * protocol (and on every call after that).  Bytes past the end of the body are an error too:
 * the client asks for "Connection: close" and sends one request per connection.
 */
gboolean
wr_control_http_reader_feed(WrControlHttpReader *self, const void *data, gsize len, GError **error);
/* the connection ended: completes a body read up to the end, else an error unless it is done */
gboolean
wr_control_http_reader_eof(WrControlHttpReader *self, GError **error);

/* the head is parsed: status and headers are known */
gboolean
wr_control_http_reader_head_done(const WrControlHttpReader *self);
/* the status code (0 before the head is done) */
guint
wr_control_http_reader_status(const WrControlHttpReader *self);
/* a header's value (the last of that name, case-insensitive), NULL when absent */
const char *
wr_control_http_reader_header(const WrControlHttpReader *self, const char *name);
/* the body was chunked */
gboolean
wr_control_http_reader_chunked(const WrControlHttpReader *self);
/* the whole body arrived (its last chunk, its length, or the end of the connection) */
gboolean
wr_control_http_reader_body_done(const WrControlHttpReader *self);
/* body bytes after the framing was removed */
guint64
wr_control_http_reader_body_bytes(const WrControlHttpReader *self);

/*
 * WHOLE mode (and any non-2xx answer), once the body is done: the body, a new reference;
 * NULL before
 */
GBytes *
wr_control_http_reader_body(const WrControlHttpReader *self);

/*
 * FRAMES mode: takes the oldest complete frame.  FALSE when none is ready.  On TRUE, *out_len is
 * its length and *out_payload its bytes (a new reference), or NULL for a frame over skip_above.
 */
gboolean
wr_control_http_reader_pop_frame(WrControlHttpReader *self, GBytes **out_payload, gsize *out_len);
/* complete frames not yet popped */
guint
wr_control_http_reader_frames_ready(const WrControlHttpReader *self);
