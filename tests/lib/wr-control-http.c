/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An incremental HTTP/1.1 response reader for warren-control's answers: head, body framing, and
 * map stream frames (wr-control-http.h).
 */

#define G_LOG_DOMAIN "WrControlHttp"

#include "config.h"

#include <string.h>

#include "wr-control-http.h"

/* what a non-2xx answer's text may take, whatever the mode */
#define MAX_ERROR_BODY (64 * 1024)
/* a chunk size above this (2^53) is refused before it can overflow anything */
#define MAX_CHUNK_SIZE (G_GUINT64_CONSTANT(1) << 53)
#define FRAME_LEN_SIZE 4

typedef enum {
	ST_HEAD,
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_CRLF,
	ST_TRAILER,
	ST_LENGTH,
	ST_UNTIL_CLOSE,
	ST_DONE,
	ST_FAILED,
} State;

typedef struct {
	GBytes *payload; /* NULL when skipped */
	gsize len;
} Frame;

struct _WrControlHttpReader {
	WrControlHttpBodyMode mode;
	gsize max_body;
	gsize skip_above;
	State state;
	GError *failure;

	/* the head while it arrives, then the current chunk-size or trailer line */
	GByteArray *line;
	guint status;
	GPtrArray *names;
	GPtrArray *values;
	gboolean chunked;
	guint64 remaining; /* of the current chunk, or of a Content-Length body */
	guint crlf_seen;   /* of the CRLF after a chunk's data */
	guint64 body_bytes;

	/* the body as the caller sees it */
	gboolean frames;
	gsize body_limit;
	GByteArray *body;
	GBytes *body_done;
	guint8 len_buf[FRAME_LEN_SIZE];
	guint len_have;
	gboolean in_frame;
	gsize frame_len;
	gsize frame_have;
	GByteArray *frame; /* NULL while skipping one */
	GQueue ready;	   /* of Frame */
};

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_control_http_error_quark(void)
{
	return g_quark_from_static_string("wr-control-http-error-quark");
}

static void
frame_free(Frame *f)
{
	if (f == NULL)
		return;
	if (f->payload != NULL)
		g_bytes_unref(f->payload);
	g_free(f);
}

WrControlHttpReader *
wr_control_http_reader_new(WrControlHttpBodyMode mode, gsize max_body, gsize skip_above)
{
	WrControlHttpReader *self = g_new0(WrControlHttpReader, 1);

	self->mode = mode;
	self->max_body = max_body;
	self->skip_above = skip_above;
	self->state = ST_HEAD;
	self->line = g_byte_array_new();
	self->names = g_ptr_array_new_with_free_func(g_free);
	self->values = g_ptr_array_new_with_free_func(g_free);
	g_queue_init(&self->ready);
	return self;
}

void
wr_control_http_reader_free(WrControlHttpReader *self)
{
	if (self == NULL)
		return;
	g_clear_error(&self->failure);
	g_byte_array_unref(self->line);
	g_ptr_array_unref(self->names);
	g_ptr_array_unref(self->values);
	if (self->body != NULL)
		g_byte_array_unref(self->body);
	if (self->body_done != NULL)
		g_bytes_unref(self->body_done);
	if (self->frame != NULL)
		g_byte_array_unref(self->frame);
	g_queue_clear_full(&self->ready, (GDestroyNotify) frame_free);
	g_free(self);
}

static gboolean
fail(WrControlHttpReader *self, GError **error, WrControlHttpError code, const char *format, ...)
	G_GNUC_PRINTF(4, 5);

static gboolean
fail(WrControlHttpReader *self, GError **error, WrControlHttpError code, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	self->failure = g_error_new_valist(WR_CONTROL_HTTP_ERROR, code, format, args);
	va_end(args);
	self->state = ST_FAILED;
	g_propagate_error(error, g_error_copy(self->failure));
	return FALSE;
}

static gboolean
is_tchar(guchar c)
{
	return g_ascii_isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

const char *
wr_control_http_reader_header(const WrControlHttpReader *self, const char *name)
{
	for (guint i = self->names->len; i > 0; i--) {
		if (g_ascii_strcasecmp(g_ptr_array_index(self->names, i - 1), name) == 0)
			return g_ptr_array_index(self->values, i - 1);
	}
	return NULL;
}

/* "HTTP/1.x NNN reason" */
static gboolean
parse_status_line(WrControlHttpReader *self, const char *line, gsize len, GError **error)
{
	guint status;

	if (len < 12 || (memcmp(line, "HTTP/1.1 ", 9) != 0 && memcmp(line, "HTTP/1.0 ", 9) != 0))
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "the answer does not start with an HTTP/1.x status line");
	if (!g_ascii_isdigit(line[9]) || !g_ascii_isdigit(line[10]) || !g_ascii_isdigit(line[11]) ||
	    (len > 12 && line[12] != ' '))
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "the status line has no three-digit status code");
	status = (guint) ((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
	if (status < 100)
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL, "bad status code %u",
			    status);
	self->status = status;
	return TRUE;
}

static gboolean
parse_header_line(WrControlHttpReader *self, const char *line, gsize len, GError **error)
{
	const char *colon = memchr(line, ':', len);
	const char *v;
	const char *end = line + len;

	if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "folded header lines are not allowed");
	if (colon == NULL || colon == line)
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "a header line without a name and a colon");
	for (const char *p = line; p < colon; p++) {
		if (!is_tchar((guchar) *p))
			return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
				    "a header name with a bad character (0x%02x)", (guchar) *p);
	}
	if (self->names->len >= WR_CONTROL_HTTP_MAX_HEADERS)
		return fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE, "more than %d headers",
			    WR_CONTROL_HTTP_MAX_HEADERS);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *p = v; p < end; p++) {
		if ((guchar) *p < 0x20 && *p != '\t')
			return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
				    "a header value with a control character");
	}
	g_ptr_array_add(self->names, g_strndup(line, (gsize) (colon - line)));
	g_ptr_array_add(self->values, g_strndup(v, (gsize) (end - v)));
	return TRUE;
}

static void
begin_body(WrControlHttpReader *self)
{
	gboolean ok = self->status >= 200 && self->status < 300;

	self->frames = ok && self->mode == WR_CONTROL_HTTP_BODY_FRAMES;
	self->body_limit = ok ? self->max_body : MAX_ERROR_BODY;
	if (!self->frames)
		self->body = g_byte_array_new();
}

static gboolean
finish_body(WrControlHttpReader *self, GError **error)
{
	if (self->frames && (self->in_frame || self->len_have > 0))
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "the stream ended inside a frame");
	if (self->body != NULL) {
		self->body_done = g_byte_array_free_to_bytes(self->body);
		self->body = NULL;
	}
	self->state = ST_DONE;
	return TRUE;
}

/* the head is complete in line[0, len): the status, the headers and the body's framing */
static gboolean
parse_head(WrControlHttpReader *self, gsize len, GError **error)
{
	const char *head = (const char *) self->line->data;
	const char *p = head;
	const char *end = head + len;
	const char *te;
	const char *cl;
	gboolean first = TRUE;

	if (memchr(head, '\0', len) != NULL)
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "a NUL byte in the response head");
	g_ptr_array_set_size(self->names, 0);
	g_ptr_array_set_size(self->values, 0);
	while (p < end) {
		const char *eol = g_strstr_len(p, end - p, "\r\n");
		gsize n = (gsize) ((eol != NULL ? eol : end) - p);

		if (first ? !parse_status_line(self, p, n, error)
			  : !parse_header_line(self, p, n, error))
			return FALSE;
		first = FALSE;
		p += n + 2;
	}

	te = wr_control_http_reader_header(self, "Transfer-Encoding");
	cl = wr_control_http_reader_header(self, "Content-Length");
	if (self->status < 200) {
		/* an interim answer (100 Continue): the real one follows */
		self->status = 0;
		return TRUE;
	}
	begin_body(self);
	if (self->status == 204 || self->status == 304)
		return finish_body(self, error);
	if (te != NULL) {
		if (g_ascii_strcasecmp(te, "chunked") != 0)
			return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
				    "unsupported Transfer-Encoding \"%s\"", te);
		self->chunked = TRUE;
		self->state = ST_CHUNK_SIZE;
	} else if (cl != NULL) {
		guint64 n = 0;

		if (*cl == '\0' || strlen(cl) > 15 || strspn(cl, "0123456789") != strlen(cl))
			return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
				    "bad Content-Length \"%s\"", cl);
		n = g_ascii_strtoull(cl, NULL, 10);
		if (!self->frames && n > self->body_limit)
			return fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
				    "a body of %" G_GUINT64_FORMAT " bytes is over the limit of "
				    "%" G_GSIZE_FORMAT,
				    n, self->body_limit);
		self->remaining = n;
		self->state = ST_LENGTH;
		if (n == 0)
			return finish_body(self, error);
	} else {
		self->state = ST_UNTIL_CLOSE;
	}
	return TRUE;
}

/* body bytes, with the transfer framing removed */
static gboolean
body_data(WrControlHttpReader *self, const guint8 *p, gsize n, GError **error)
{
	self->body_bytes += n;
	if (!self->frames) {
		if (self->body->len + n > self->body_limit)
			return fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
				    "the body is over the limit of %" G_GSIZE_FORMAT " bytes",
				    self->body_limit);
		g_byte_array_append(self->body, p, (guint) n);
		return TRUE;
	}
	while (n > 0) {
		gsize take;

		if (!self->in_frame) {
			take = MIN(n, (gsize) (FRAME_LEN_SIZE - self->len_have));
			memcpy(self->len_buf + self->len_have, p, take);
			self->len_have += (guint) take;
			p += take;
			n -= take;
			if (self->len_have < FRAME_LEN_SIZE)
				break;
			self->len_have = 0;
			self->frame_len = ((gsize) self->len_buf[0] << 24) |
					  ((gsize) self->len_buf[1] << 16) |
					  ((gsize) self->len_buf[2] << 8) |
					  (gsize) self->len_buf[3];
			if (self->frame_len == 0)
				return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
					    "an empty frame");
			if (self->frame_len > self->body_limit)
				return fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
					    "a frame of %" G_GSIZE_FORMAT
					    " bytes is over the limit of %" G_GSIZE_FORMAT,
					    self->frame_len, self->body_limit);
			self->in_frame = TRUE;
			self->frame_have = 0;
			if (self->skip_above == 0 || self->frame_len <= self->skip_above)
				self->frame = g_byte_array_sized_new((guint) self->frame_len);
			continue;
		}
		take = MIN(n, self->frame_len - self->frame_have);
		if (self->frame != NULL)
			g_byte_array_append(self->frame, p, (guint) take);
		self->frame_have += take;
		p += take;
		n -= take;
		if (self->frame_have == self->frame_len) {
			Frame *f = g_new0(Frame, 1);

			f->len = self->frame_len;
			if (self->frame != NULL)
				f->payload = g_byte_array_free_to_bytes(self->frame);
			self->frame = NULL;
			self->in_frame = FALSE;
			g_queue_push_tail(&self->ready, f);
		}
	}
	return TRUE;
}

/* a chunk-size line without its CRLF: hex digits, then nothing or extensions */
static gboolean
parse_chunk_size(WrControlHttpReader *self, const char *line, gsize len, GError **error)
{
	guint64 size = 0;
	gsize i = 0;

	for (; i < len && g_ascii_isxdigit(line[i]); i++) {
		size = size * 16 + (guint64) g_ascii_xdigit_value(line[i]);
		if (size > MAX_CHUNK_SIZE)
			return fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
				    "a chunk size over 2^53");
	}
	if (i == 0)
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "a chunk size line without a hexadecimal size");
	if (i < len && line[i] != ';' && line[i] != ' ' && line[i] != '\t')
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "a chunk size followed by 0x%02x", (guchar) line[i]);
	self->remaining = size;
	self->state = size == 0 ? ST_TRAILER : ST_CHUNK_DATA;
	return TRUE;
}

/*
 * collects a CRLF-terminated line into self->line; *out_done when it is complete (then the
 * line is in self->line without its CRLF); returns the bytes consumed, or -1 on failure
 */
static gssize
take_line(WrControlHttpReader *self, const guint8 *p, gsize n, gboolean *out_done, GError **error)
{
	const guint8 *nl = memchr(p, '\n', n);
	gsize take = nl != NULL ? (gsize) (nl - p) + 1 : n;

	*out_done = FALSE;
	if (self->line->len + take > WR_CONTROL_HTTP_MAX_LINE) {
		(void) fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
			    "a chunk or trailer line over %d bytes", WR_CONTROL_HTTP_MAX_LINE);
		return -1;
	}
	g_byte_array_append(self->line, p, (guint) take);
	if (nl == NULL)
		return (gssize) take;
	if (self->line->len < 2 || self->line->data[self->line->len - 2] != '\r') {
		(void) fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "a chunk or trailer line not ended by CRLF");
		return -1;
	}
	g_byte_array_set_size(self->line, self->line->len - 2);
	*out_done = TRUE;
	return (gssize) take;
}

/* head bytes: returns the bytes consumed, or -1 */
static gssize
feed_head(WrControlHttpReader *self, const guint8 *p, gsize n, GError **error)
{
	guint old = self->line->len;
	gsize from = old >= 3 ? old - 3 : 0;
	gsize room = WR_CONTROL_HTTP_MAX_HEAD - old;
	gsize take = MIN(n, room);
	const guint8 *hit = NULL;
	gsize head_len;

	g_byte_array_append(self->line, p, (guint) take);
	for (gsize i = from; i + 4 <= self->line->len; i++) {
		if (memcmp(self->line->data + i, "\r\n\r\n", 4) == 0) {
			hit = self->line->data + i;
			break;
		}
	}
	if (hit == NULL) {
		if (self->line->len >= WR_CONTROL_HTTP_MAX_HEAD) {
			(void) fail(self, error, WR_CONTROL_HTTP_ERROR_TOO_LARGE,
				    "the response head is over %d bytes", WR_CONTROL_HTTP_MAX_HEAD);
			return -1;
		}
		return (gssize) take;
	}
	head_len = (gsize) (hit - self->line->data);
	if (!parse_head(self, head_len, error))
		return -1;
	/* what the head did not use goes back to the caller's bytes */
	take -= self->line->len - (head_len + 4);
	g_byte_array_set_size(self->line, 0);
	return (gssize) take;
}

gboolean
wr_control_http_reader_feed(WrControlHttpReader *self, const void *data, gsize len, GError **error)
{
	const guint8 *p = data;

	while (len > 0) {
		gssize used = 0;
		gboolean done = FALSE;
		gsize take;

		switch (self->state) {
		case ST_FAILED:
			g_propagate_error(error, g_error_copy(self->failure));
			return FALSE;
		case ST_DONE:
			return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
				    "bytes after the end of the body");
		case ST_HEAD:
			used = feed_head(self, p, len, error);
			break;
		case ST_CHUNK_SIZE:
			used = take_line(self, p, len, &done, error);
			if (used >= 0 && done) {
				if (!parse_chunk_size(self, (const char *) self->line->data,
						      self->line->len, error))
					return FALSE;
				g_byte_array_set_size(self->line, 0);
			}
			break;
		case ST_CHUNK_DATA:
			take = (gsize) MIN((guint64) len, self->remaining);
			if (!body_data(self, p, take, error))
				return FALSE;
			self->remaining -= take;
			used = (gssize) take;
			if (self->remaining == 0) {
				self->state = ST_CHUNK_CRLF;
				self->crlf_seen = 0;
			}
			break;
		case ST_CHUNK_CRLF:
			if (*p != "\r\n"[self->crlf_seen])
				return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
					    "a chunk's data is not followed by CRLF");
			used = 1;
			if (++self->crlf_seen == 2)
				self->state = ST_CHUNK_SIZE;
			break;
		case ST_TRAILER:
			used = take_line(self, p, len, &done, error);
			if (used >= 0 && done) {
				gboolean last = self->line->len == 0;

				g_byte_array_set_size(self->line, 0);
				if (last && !finish_body(self, error))
					return FALSE;
			}
			break;
		case ST_LENGTH:
			take = (gsize) MIN((guint64) len, self->remaining);
			if (!body_data(self, p, take, error))
				return FALSE;
			self->remaining -= take;
			used = (gssize) take;
			if (self->remaining == 0 && !finish_body(self, error))
				return FALSE;
			break;
		case ST_UNTIL_CLOSE:
			if (!body_data(self, p, len, error))
				return FALSE;
			used = (gssize) len;
			break;
		default:
			g_assert_not_reached();
		}
		if (used < 0)
			return FALSE;
		p += used;
		len -= (gsize) used;
	}
	if (self->state == ST_FAILED) {
		g_propagate_error(error, g_error_copy(self->failure));
		return FALSE;
	}
	return TRUE;
}

gboolean
wr_control_http_reader_eof(WrControlHttpReader *self, GError **error)
{
	switch (self->state) {
	case ST_DONE:
		return TRUE;
	case ST_FAILED:
		g_propagate_error(error, g_error_copy(self->failure));
		return FALSE;
	case ST_UNTIL_CLOSE:
		return finish_body(self, error);
	case ST_HEAD:
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    "the connection closed before the end of the response head");
	default:
		return fail(self, error, WR_CONTROL_HTTP_ERROR_PROTOCOL,
			    self->frames && (self->in_frame || self->len_have > 0)
				    ? "the connection closed inside a frame"
				    : "the connection closed before the end of the body");
	}
}

gboolean
wr_control_http_reader_head_done(const WrControlHttpReader *self)
{
	return self->status != 0;
}

guint
wr_control_http_reader_status(const WrControlHttpReader *self)
{
	return self->status;
}

gboolean
wr_control_http_reader_chunked(const WrControlHttpReader *self)
{
	return self->chunked;
}

gboolean
wr_control_http_reader_body_done(const WrControlHttpReader *self)
{
	return self->state == ST_DONE;
}

guint64
wr_control_http_reader_body_bytes(const WrControlHttpReader *self)
{
	return self->body_bytes;
}

GBytes *
wr_control_http_reader_body(const WrControlHttpReader *self)
{
	return self->body_done != NULL ? g_bytes_ref(self->body_done) : NULL;
}

gboolean
wr_control_http_reader_pop_frame(WrControlHttpReader *self, GBytes **out_payload, gsize *out_len)
{
	Frame *f = g_queue_pop_head(&self->ready);

	if (f == NULL)
		return FALSE;
	*out_payload = f->payload;
	*out_len = f->len;
	f->payload = NULL;
	frame_free(f);
	return TRUE;
}

guint
wr_control_http_reader_frames_ready(const WrControlHttpReader *self)
{
	return self->ready.length;
}
