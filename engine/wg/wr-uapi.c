/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrUapi"

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-uapi.h"

/*
 * What the parser accepts, relative to wireguard-go's device/uapi.go (the reference):
 * - the same keys, each in the same section: private_key, listen_port, fwmark and
 *   replace_peers before the first public_key=, the peer keys after it;
 * - flags only as "true"; numbers in decimal without sign or leading zeros;
 * - keys in hex, either case, exactly 64 digits; all zeros clears a private or preshared key;
 * - no key twice in one section (wireguard-go lets the last one win), except allowed_ip;
 * - replace_allowed_ips=true drops the allowed_ip lines before it in the same section, as
 *   wireguard-go's in-order application would;
 * - allowed_ip needs the "/prefix", and the "-" (removal) form is refused since WrUapiPeer
 *   cannot carry it;
 * - a line without "=" is EPROTO, as in wireguard-go; protocol_version other than "1" is
 *   EPROTO (wireguard-go says EINVAL).
 * Error messages never quote the value of a private or preshared key.
 */

#define REQUEST_GET "get=1\n"
#define REQUEST_SET "set=1\n"
/* "get=1\n" and "set=1\n" have the same length */
#define REQUEST_HEAD_LEN (sizeof(REQUEST_SET) - 1)
#define SET_LINE	 "set=1"
#define SET_LINE_LEN	 (sizeof(SET_LINE) - 1)
#define FLAG_TRUE	 "true"
#define PROTOCOL_VERSION "1"

/* how much of a bad key or value an error message quotes */
#define MESSAGE_QUOTE_MAX 64U
/* the decimal digits of UINT32_MAX */

typedef enum {
	KEY_PRIVATE_KEY,
	KEY_LISTEN_PORT,
	KEY_FWMARK,
	KEY_REPLACE_PEERS,
	KEY_PUBLIC_KEY,
	KEY_REMOVE,
	KEY_UPDATE_ONLY,
	KEY_PRESHARED_KEY,
	KEY_ENDPOINT,
	KEY_PERSISTENT_KEEPALIVE_INTERVAL,
	KEY_REPLACE_ALLOWED_IPS,
	KEY_ALLOWED_IP,
	KEY_PROTOCOL_VERSION,
	KEY_UNKNOWN,
} Key;

typedef struct {
	const char *name;
	Key key;
	bool peer; /* only after a public_key= line */
} KeyInfo;

static const KeyInfo key_infos[] = {
	{"private_key", KEY_PRIVATE_KEY, false},
	{"listen_port", KEY_LISTEN_PORT, false},
	{"fwmark", KEY_FWMARK, false},
	{"replace_peers", KEY_REPLACE_PEERS, false},
	{"public_key", KEY_PUBLIC_KEY, true},
	{"remove", KEY_REMOVE, true},
	{"update_only", KEY_UPDATE_ONLY, true},
	{"preshared_key", KEY_PRESHARED_KEY, true},
	{"endpoint", KEY_ENDPOINT, true},
	{"persistent_keepalive_interval", KEY_PERSISTENT_KEEPALIVE_INTERVAL, true},
	{"replace_allowed_ips", KEY_REPLACE_ALLOWED_IPS, true},
	{"allowed_ip", KEY_ALLOWED_IP, true},
	{"protocol_version", KEY_PROTOCOL_VERSION, true},
};

_Static_assert(G_N_ELEMENTS(key_infos) == KEY_UNKNOWN, "one entry per key");
_Static_assert(KEY_UNKNOWN < 32, "the keys seen in a section fit a guint32");

/* the state of one wr_uapi_parse_set() call */
typedef struct {
	WrUapiSet *set;
	WrUapiPeer *peer; /* the section being parsed, NULL in the device section */
	guint32 seen;	  /* bit per Key seen in the current section */
	size_t lineno;
	char *message;
} Parser;

gssize
wr_uapi_frame(const char *buf, size_t len, WrUapiOp *out_op)
{
	size_t head = MIN(len, REQUEST_HEAD_LEN);
	size_t limit = MIN(len, (size_t) WR_UAPI_MAX_REQUEST);
	size_t pos = REQUEST_HEAD_LEN;

	if (len == 0)
		return 0;

	/* refuse garbage as soon as it cannot become either request */
	if (memcmp(buf, REQUEST_GET, head) == 0) {
		if (len <= REQUEST_HEAD_LEN)
			return 0;
		if (buf[REQUEST_HEAD_LEN] != '\n')
			return -EINVAL;
		*out_op = WR_UAPI_OP_GET;
		return (gssize) REQUEST_HEAD_LEN + 1;
	}
	if (memcmp(buf, REQUEST_SET, head) != 0)
		return -EINVAL;
	if (len < REQUEST_HEAD_LEN)
		return 0;

	while (pos < limit) {
		const char *line = buf + pos;
		const char *newline = memchr(line, '\n', limit - pos);
		size_t line_len;

		if (newline == NULL) {
			if (limit - pos > WR_UAPI_MAX_LINE)
				return -E2BIG;
			break;
		}
		line_len = (size_t) (newline - line);
		if (line_len > WR_UAPI_MAX_LINE)
			return -E2BIG;
		pos += line_len + 1;
		if (line_len == 0) {
			*out_op = WR_UAPI_OP_SET;
			return (gssize) pos;
		}
	}

	/* the first WR_UAPI_MAX_REQUEST bytes hold no blank line */
	if (len >= WR_UAPI_MAX_REQUEST)
		return -E2BIG;
	return 0;
}

static void
peer_free(gpointer data)
{
	WrUapiPeer *peer = data;

	if (peer == NULL)
		return;
	if (peer->allowed_ips != NULL)
		g_array_unref(peer->allowed_ips);
	wr_memzero(peer, sizeof(*peer));
	g_free(peer);
}

void
wr_uapi_set_free(WrUapiSet *set)
{
	if (set == NULL)
		return;
	if (set->peers != NULL)
		g_ptr_array_unref(set->peers);
	wr_memzero(set, sizeof(*set));
	g_free(set);
}

/* a quotable, escaped and shortened copy of untrusted text for an error message */
static char *
quote(const char *text, size_t len)
{
	g_autofree char *raw = g_strndup(text, MIN(len, MESSAGE_QUOTE_MAX));
	g_autofree char *escaped = g_strescape(raw, NULL);

	return g_strdup_printf("\"%s\"%s", escaped, len > MESSAGE_QUOTE_MAX ? "..." : "");
}

static int
fail(Parser *self, int err, const char *format, ...) G_GNUC_PRINTF(3, 4);

static int
fail(Parser *self, int err, const char *format, ...)
{
	va_list args;
	g_autofree char *what = NULL;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_free(self->message);
	self->message = g_strdup_printf("line %" G_GSIZE_FORMAT ": %s", self->lineno, what);
	return err;
}

static int
fail_value(Parser *self, const char *key, const char *value, size_t value_len)
{
	g_autofree char *quoted = quote(value, value_len);

	return fail(self, EINVAL, "invalid value for %s: %s", key, quoted);
}

static bool
is_true(const char *value, size_t value_len)
{
	return value_len == strlen(FLAG_TRUE) && memcmp(value, FLAG_TRUE, value_len) == 0;
}

static const KeyInfo *
lookup_key(const char *name, size_t len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(key_infos); i++) {
		if (strlen(key_infos[i].name) == len && memcmp(key_infos[i].name, name, len) == 0)
			return &key_infos[i];
	}
	return NULL;
}

static int
parse_number(Parser *self, const KeyInfo *info, const char *value, size_t value_len, uint32_t max,
	     uint32_t *out)
{
	if (!wr_parse_decimal(value, value_len, max, out))
		return fail_value(self, info->name, value, value_len);
	return 0;
}

static int
parse_flag(Parser *self, const KeyInfo *info, const char *value, size_t value_len, bool *out)
{
	if (!is_true(value, value_len))
		return fail_value(self, info->name, value, value_len);
	*out = true;
	return 0;
}

static int
parse_secret_key(Parser *self, const KeyInfo *info, const char *value, size_t value_len,
		 uint8_t out[WR_KEY_BYTES])
{
	/* the value may be a real key with one digit wrong: never quote it */
	if (!wr_key_from_hex_len(out, value, value_len))
		return fail(self, EINVAL, "invalid value for %s: not 64 hex digits", info->name);
	return 0;
}

static int
start_peer(Parser *self, const char *value, size_t value_len)
{
	WrUapiPeer *peer;
	uint8_t public_key[WR_KEY_BYTES];

	if (!wr_key_from_hex_len(public_key, value, value_len))
		return fail_value(self, "public_key", value, value_len);
	if (self->set->peers->len >= WR_UAPI_MAX_PEERS)
		return fail(self, E2BIG, "more than %u peers in one request",
			    (unsigned) WR_UAPI_MAX_PEERS);

	peer = g_new0(WrUapiPeer, 1);
	memcpy(peer->public_key, public_key, sizeof(public_key));
	peer->allowed_ips = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_ptr_array_add(self->set->peers, peer);
	self->peer = peer;
	self->seen = 0;
	return 0;
}

static int
parse_endpoint(Parser *self, const char *value, size_t value_len)
{
	char text[WR_ENDPOINT_STRLEN];
	WrEndpoint endpoint;

	if (value_len >= sizeof(text))
		return fail_value(self, "endpoint", value, value_len);
	memcpy(text, value, value_len);
	text[value_len] = '\0';
	if (!wr_endpoint_parse(&endpoint, text))
		return fail_value(self, "endpoint", value, value_len);
	self->peer->endpoint = endpoint;
	self->peer->has_endpoint = true;
	return 0;
}

static int
parse_allowed_ip(Parser *self, const char *value, size_t value_len)
{
	char text[WR_CIDR_STRLEN];
	WrCidr cidr;

	if (value_len > 0 && value[0] == '-')
		return fail(self, EINVAL, "removing an allowed_ip is not supported");
	if (value_len >= sizeof(text) || memchr(value, '/', value_len) == NULL)
		return fail_value(self, "allowed_ip", value, value_len);
	memcpy(text, value, value_len);
	text[value_len] = '\0';
	if (!wr_cidr_parse(&cidr, text))
		return fail_value(self, "allowed_ip", value, value_len);
	if (self->peer->allowed_ips->len >= WR_UAPI_MAX_ALLOWED_IPS_PER_PEER)
		return fail(self, E2BIG, "more than %u allowed_ip lines for one peer",
			    (unsigned) WR_UAPI_MAX_ALLOWED_IPS_PER_PEER);
	wr_cidr_mask(&cidr);
	g_array_append_val(self->peer->allowed_ips, cidr);
	return 0;
}

static int
parse_value(Parser *self, const KeyInfo *info, const char *value, size_t value_len)
{
	WrUapiSet *set = self->set;
	WrUapiPeer *peer = self->peer;
	uint32_t number = 0;
	int err;

	switch (info->key) {
	case KEY_PRIVATE_KEY:
		err = parse_secret_key(self, info, value, value_len, set->private_key);
		if (err == 0)
			set->has_private_key = true;
		return err;
	case KEY_LISTEN_PORT:
		err = parse_number(self, info, value, value_len, UINT16_MAX, &number);
		if (err == 0) {
			set->listen_port = (uint16_t) number;
			set->has_listen_port = true;
		}
		return err;
	case KEY_FWMARK:
		err = parse_number(self, info, value, value_len, UINT32_MAX, &number);
		if (err == 0) {
			set->fwmark = number;
			set->has_fwmark = true;
		}
		return err;
	case KEY_REPLACE_PEERS:
		return parse_flag(self, info, value, value_len, &set->replace_peers);
	case KEY_REMOVE:
		return parse_flag(self, info, value, value_len, &peer->remove);
	case KEY_UPDATE_ONLY:
		return parse_flag(self, info, value, value_len, &peer->update_only);
	case KEY_PRESHARED_KEY:
		err = parse_secret_key(self, info, value, value_len, peer->preshared_key);
		if (err == 0)
			peer->has_preshared_key = true;
		return err;
	case KEY_ENDPOINT:
		return parse_endpoint(self, value, value_len);
	case KEY_PERSISTENT_KEEPALIVE_INTERVAL:
		err = parse_number(self, info, value, value_len, UINT16_MAX, &number);
		if (err == 0) {
			peer->persistent_keepalive = (uint16_t) number;
			peer->has_persistent_keepalive = true;
		}
		return err;
	case KEY_REPLACE_ALLOWED_IPS:
		err = parse_flag(self, info, value, value_len, &peer->replace_allowed_ips);
		/* the replacement removes what this section added before it */
		if (err == 0)
			g_array_set_size(peer->allowed_ips, 0);
		return err;
	case KEY_ALLOWED_IP:
		return parse_allowed_ip(self, value, value_len);
	case KEY_PROTOCOL_VERSION:
		if (value_len != strlen(PROTOCOL_VERSION) ||
		    memcmp(value, PROTOCOL_VERSION, value_len) != 0) {
			g_autofree char *quoted = quote(value, value_len);
			return fail(self, EPROTO, "unsupported protocol_version %s", quoted);
		}
		return 0;
	case KEY_PUBLIC_KEY:
	case KEY_UNKNOWN:
	default:
		return fail(self, EINVAL, "internal error: unhandled key %s", info->name);
	}
}

static int
parse_line(Parser *self, const char *line, size_t line_len)
{
	const char *equals = memchr(line, '=', line_len);
	const KeyInfo *info;
	const char *value;
	size_t key_len;
	size_t value_len;
	guint32 bit;

	if (equals == NULL)
		return fail(self, EPROTO, "not a key=value line");
	key_len = (size_t) (equals - line);
	value = equals + 1;
	value_len = line_len - key_len - 1;

	info = lookup_key(line, key_len);
	if (info == NULL) {
		g_autofree char *quoted = quote(line, key_len);
		return fail(self, EINVAL, "unknown key %s", quoted);
	}
	if (info->key == KEY_PUBLIC_KEY) {
		int err = start_peer(self, value, value_len);
		if (err == 0)
			self->seen = 1U << KEY_PUBLIC_KEY;
		return err;
	}
	if (info->peer && self->peer == NULL)
		return fail(self, EINVAL, "%s before any public_key", info->name);
	if (!info->peer && self->peer != NULL)
		return fail(self, EINVAL, "device key %s after a public_key", info->name);

	bit = 1U << info->key;
	if (info->key != KEY_ALLOWED_IP && (self->seen & bit) != 0)
		return fail(self, EINVAL, "duplicate %s", info->name);
	self->seen |= bit;
	return parse_value(self, info, value, value_len);
}

WrUapiSet *
wr_uapi_set_new(void)
{
	WrUapiSet *set = g_new0(WrUapiSet, 1);

	set->peers = g_ptr_array_new_with_free_func(peer_free);
	return set;
}

WrUapiPeer *
wr_uapi_set_add_peer(WrUapiSet *set, const uint8_t public_key[32])
{
	WrUapiPeer *peer = g_new0(WrUapiPeer, 1);

	memcpy(peer->public_key, public_key, sizeof(peer->public_key));
	peer->allowed_ips = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_ptr_array_add(set->peers, peer);
	return peer;
}

int
wr_uapi_parse_set(const char *body, size_t len, WrUapiSet **out_set, char **out_message)
{
	g_autoptr(WrUapiSet) set = g_new0(WrUapiSet, 1);
	Parser parser = {.set = set};
	size_t pos = 0;
	int err = 0;

	set->peers = g_ptr_array_new_with_free_func(peer_free);

	while (pos < len && err == 0) {
		const char *line = body + pos;
		const char *newline = memchr(line, '\n', len - pos);
		size_t line_len = newline != NULL ? (size_t) (newline - line) : len - pos;

		parser.lineno++;
		pos += line_len + (newline != NULL ? 1 : 0);
		if (line_len == 0) {
			/* the blank line ends a request: accept it only as the very end */
			if (pos != len)
				err = fail(&parser, EPROTO,
					   "text after the terminating blank line");
			break;
		}
		if (line_len > WR_UAPI_MAX_LINE) {
			err = fail(&parser, E2BIG, "line longer than %u bytes",
				   (unsigned) WR_UAPI_MAX_LINE);
			break;
		}
		if (memchr(line, '\0', line_len) != NULL) {
			err = fail(&parser, EINVAL, "NUL byte in line");
			break;
		}
		if (parser.lineno == 1 && line_len == SET_LINE_LEN &&
		    memcmp(line, SET_LINE, SET_LINE_LEN) == 0)
			continue;
		err = parse_line(&parser, line, line_len);
	}

	if (err != 0) {
		if (out_message != NULL)
			*out_message = g_steal_pointer(&parser.message);
		g_free(parser.message);
		return err;
	}
	*out_set = g_steal_pointer(&set);
	return 0;
}

static void
peer_info_free(gpointer data)
{
	WrUapiPeerInfo *peer = data;

	if (peer == NULL)
		return;
	if (peer->allowed_ips != NULL)
		g_array_unref(peer->allowed_ips);
	wr_memzero(peer, sizeof(*peer));
	g_free(peer);
}

WrUapiDeviceInfo *
wr_uapi_device_info_new(void)
{
	WrUapiDeviceInfo *info = g_new0(WrUapiDeviceInfo, 1);

	info->peers = g_ptr_array_new_with_free_func(peer_info_free);
	return info;
}

WrUapiPeerInfo *
wr_uapi_device_info_add_peer(WrUapiDeviceInfo *info)
{
	WrUapiPeerInfo *peer = g_new0(WrUapiPeerInfo, 1);

	peer->endpoint.sa.sa_family = AF_UNSPEC;
	peer->allowed_ips = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_ptr_array_add(info->peers, peer);
	return peer;
}

void
wr_uapi_device_info_free(WrUapiDeviceInfo *info)
{
	if (info == NULL)
		return;
	if (info->peers != NULL)
		g_ptr_array_unref(info->peers);
	wr_memzero(info, sizeof(*info));
	g_free(info);
}

static void
append_key(GString *out, const char *name, const uint8_t key[WR_KEY_BYTES])
{
	char hex[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(hex, key);
	g_string_append_printf(out, "%s=%s\n", name, hex);
	wr_memzero(hex, sizeof(hex));
}

/*
 * The order is wireguard-go's IpcGetOperation().  The private and preshared keys end up
 * in out: the caller wipes it once it is sent.
 */
void
wr_uapi_format_get(const WrUapiDeviceInfo *info, GString *out)
{
	static const uint8_t no_key[WR_KEY_BYTES] = {0};

	if (info->has_private_key)
		append_key(out, "private_key", info->private_key);
	if (info->listen_port != 0)
		g_string_append_printf(out, "listen_port=%u\n", (unsigned) info->listen_port);
	if (info->fwmark != 0)
		g_string_append_printf(out, "fwmark=%u\n", (unsigned) info->fwmark);

	for (guint i = 0; info->peers != NULL && i < info->peers->len; i++) {
		const WrUapiPeerInfo *peer = g_ptr_array_index(info->peers, i);

		append_key(out, "public_key", peer->public_key);
		append_key(out, "preshared_key",
			   peer->has_preshared_key ? peer->preshared_key : no_key);
		g_string_append(out, "protocol_version=" PROTOCOL_VERSION "\n");
		if (peer->endpoint.sa.sa_family == AF_INET ||
		    peer->endpoint.sa.sa_family == AF_INET6) {
			char endpoint[WR_ENDPOINT_STRLEN];

			wr_endpoint_format(&peer->endpoint, endpoint);
			g_string_append_printf(out, "endpoint=%s\n", endpoint);
		}
		/* wg refuses negative numbers, and a time before 1970 means nothing here */
		g_string_append_printf(out, "last_handshake_time_sec=%" G_GINT64_FORMAT "\n",
				       MAX(peer->last_handshake_sec, (int64_t) 0));
		g_string_append_printf(out, "last_handshake_time_nsec=%" G_GINT64_FORMAT "\n",
				       MAX(peer->last_handshake_nsec, (int64_t) 0));
		g_string_append_printf(out, "tx_bytes=%" G_GUINT64_FORMAT "\n", peer->tx_bytes);
		g_string_append_printf(out, "rx_bytes=%" G_GUINT64_FORMAT "\n", peer->rx_bytes);
		g_string_append_printf(out, "persistent_keepalive_interval=%u\n",
				       (unsigned) peer->persistent_keepalive);
		for (guint j = 0; peer->allowed_ips != NULL && j < peer->allowed_ips->len; j++) {
			char cidr[WR_CIDR_STRLEN];

			wr_cidr_format(&g_array_index(peer->allowed_ips, WrCidr, j), cidr);
			g_string_append_printf(out, "allowed_ip=%s\n", cidr);
		}
	}
	wr_uapi_format_errno(0, out);
}

/*
 * N is written as given.  Note that wg(8) negates it before strerror(): wireguard-go answers
 * errno=-22 and wg prints "Invalid argument", while errno=22 prints "Unknown error -22"
 * (both make wg fail).  The caller picks the sign.
 */
void
wr_uapi_format_errno(int err, GString *out)
{
	g_string_append_printf(out, "errno=%d\n\n", err);
}
