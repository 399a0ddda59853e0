/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrKey"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-key.h"

/*
 * Private keys pass through these codecs, so nothing here branches on or indexes memory by a
 * key byte or a character of its text form.  Characters are classified with the masks below,
 * and every decoder visits every character whatever it finds, collecting failures in a
 * volatile accumulator that is tested once at the end.  Lengths and prefixes are not secret
 * and are checked with ordinary code.
 */

/* whole groups of 3 key bytes that become 4 base64 characters; 2 bytes remain after them */
#define BASE64_GROUPS	  (WR_KEY_BYTES / 3)
#define BASE64_TAIL_CHARS 3
#define BASE64_PAD	  '='
#define BASE64_DIGIT_BITS 6
#define BASE64_DIGIT_MASK 0x3fU
#define HEX_DIGIT_MASK	  0xfU
/* a decoded digit carries this bit when its character was not a valid digit */
#define DIGIT_INVALID	    0x100U
#define DIGIT_INVALID_SHIFT 8

G_STATIC_ASSERT(WR_KEY_BASE64_LEN == 4 * BASE64_GROUPS + BASE64_TAIL_CHARS + 1);
G_STATIC_ASSERT(WR_KEY_HEX_LEN == 2 * WR_KEY_BYTES);

/* all ones when a < b, else zero; both operands are below 2^31 */
static inline unsigned int
ct_lt(unsigned int a, unsigned int b)
{
	return 0U - ((a - b) >> 31);
}

/* all ones when lo <= c <= hi, else zero; lo > 0 */
static inline unsigned int
ct_in_range(unsigned int c, unsigned int lo, unsigned int hi)
{
	return ct_lt(lo - 1, c) & ct_lt(c, hi + 1);
}

/* all ones when a == b, else zero; both operands are below 2^31 */
static inline unsigned int
ct_eq(unsigned int a, unsigned int b)
{
	return 0U - (((a ^ b) - 1) >> 31);
}

/* 0..63 to A-Z a-z 0-9 + / by adding the distance between consecutive runs of the alphabet */
static inline char
base64_encode_digit(unsigned int x)
{
	unsigned int c = 'A' + x;

	c += ct_lt(25, x) & ('a' - 'Z' - 1);
	c += ct_lt(51, x) & ('0' - 'z' - 1);
	c += ct_lt(61, x) & ('+' - '9' - 1);
	c += ct_lt(62, x) & ('/' - '+' - 1);
	return (char) (c & 0xffU);
}

/* the digit's value, with DIGIT_INVALID set when ch is not in the base64 alphabet */
static inline unsigned int
base64_decode_digit(char ch)
{
	unsigned int c = (unsigned char) ch;
	unsigned int upper = ct_in_range(c, 'A', 'Z');
	unsigned int lower = ct_in_range(c, 'a', 'z');
	unsigned int digit = ct_in_range(c, '0', '9');
	unsigned int plus = ct_eq(c, '+');
	unsigned int slash = ct_eq(c, '/');
	unsigned int v;

	v = (upper & (c - 'A')) | (lower & (c - 'a' + 26)) | (digit & (c - '0' + 52)) |
	    (plus & 62) | (slash & 63);
	return (v & BASE64_DIGIT_MASK) | (~(upper | lower | digit | plus | slash) & DIGIT_INVALID);
}

static inline char
hex_encode_digit(unsigned int x)
{
	return (char) ('0' + x + (ct_lt(9, x) & ('a' - '9' - 1)));
}

/* upper_ok is all ones to accept A-F as well as a-f, zero for lowercase only */
static inline unsigned int
hex_decode_digit(char ch, unsigned int upper_ok)
{
	unsigned int c = (unsigned char) ch;
	unsigned int digit = ct_in_range(c, '0', '9');
	unsigned int lower = ct_in_range(c, 'a', 'f');
	unsigned int upper = ct_in_range(c, 'A', 'F') & upper_ok;
	unsigned int v;

	v = (digit & (c - '0')) | (lower & (c - 'a' + 10)) | (upper & (c - 'A' + 10));
	return (v & HEX_DIGIT_MASK) | (~(digit | lower | upper) & DIGIT_INVALID);
}

void
wr_key_to_base64(char out[WR_KEY_BASE64_LEN + 1], const uint8_t key[WR_KEY_BYTES])
{
	unsigned int v;
	size_t i;

	for (i = 0; i < BASE64_GROUPS; i++) {
		v = ((unsigned int) key[3 * i] << 16) | ((unsigned int) key[3 * i + 1] << 8) |
		    key[3 * i + 2];
		out[4 * i] = base64_encode_digit(v >> 18);
		out[4 * i + 1] = base64_encode_digit((v >> 12) & BASE64_DIGIT_MASK);
		out[4 * i + 2] = base64_encode_digit((v >> 6) & BASE64_DIGIT_MASK);
		out[4 * i + 3] = base64_encode_digit(v & BASE64_DIGIT_MASK);
	}
	/* the last two bytes fill 16 of the 18 bits of three digits */
	v = ((unsigned int) key[3 * i] << 16) | ((unsigned int) key[3 * i + 1] << 8);
	out[4 * i] = base64_encode_digit(v >> 18);
	out[4 * i + 1] = base64_encode_digit((v >> 12) & BASE64_DIGIT_MASK);
	out[4 * i + 2] = base64_encode_digit((v >> 6) & BASE64_DIGIT_MASK);
	out[4 * i + 3] = BASE64_PAD;
	out[WR_KEY_BASE64_LEN] = '\0';
}

bool
wr_key_from_base64(uint8_t out[WR_KEY_BYTES], const char *base64)
{
	uint8_t tmp[WR_KEY_BYTES];
	volatile unsigned int invalid = 0;
	unsigned int v = 0;
	unsigned int d;
	size_t i;

	if (strnlen(base64, WR_KEY_BASE64_LEN + 1) != WR_KEY_BASE64_LEN)
		return false;

	for (i = 0; i < BASE64_GROUPS; i++) {
		v = 0;
		for (size_t j = 0; j < 4; j++) {
			d = base64_decode_digit(base64[4 * i + j]);
			invalid |= d >> DIGIT_INVALID_SHIFT;
			v = (v << BASE64_DIGIT_BITS) | (d & BASE64_DIGIT_MASK);
		}
		tmp[3 * i] = (uint8_t) (v >> 16);
		tmp[3 * i + 1] = (uint8_t) (v >> 8);
		tmp[3 * i + 2] = (uint8_t) v;
	}
	v = 0;
	for (size_t j = 0; j < BASE64_TAIL_CHARS; j++) {
		d = base64_decode_digit(base64[4 * i + j]);
		invalid |= d >> DIGIT_INVALID_SHIFT;
		v = (v << BASE64_DIGIT_BITS) | (d & BASE64_DIGIT_MASK);
	}
	tmp[3 * i] = (uint8_t) (v >> 10);
	tmp[3 * i + 1] = (uint8_t) (v >> 2);
	/* canonical: the two bits below the last byte are zero */
	invalid |= v & 3U;
	invalid |= (unsigned int) (unsigned char) base64[WR_KEY_BASE64_LEN - 1] ^ BASE64_PAD;

	if (invalid != 0) {
		wr_memzero(tmp, sizeof(tmp));
		return false;
	}
	memcpy(out, tmp, sizeof(tmp));
	wr_memzero(tmp, sizeof(tmp));
	return true;
}

void
wr_key_to_hex(char out[WR_KEY_HEX_LEN + 1], const uint8_t key[WR_KEY_BYTES])
{
	for (size_t i = 0; i < WR_KEY_BYTES; i++) {
		out[2 * i] = hex_encode_digit(key[i] >> 4);
		out[2 * i + 1] = hex_encode_digit(key[i] & HEX_DIGIT_MASK);
	}
	out[WR_KEY_HEX_LEN] = '\0';
}

static bool
key_from_hex(uint8_t out[WR_KEY_BYTES], const char *hex, size_t len, bool upper_ok)
{
	uint8_t tmp[WR_KEY_BYTES];
	volatile unsigned int invalid = 0;
	unsigned int upper_mask = upper_ok ? ~0U : 0U;
	unsigned int hi, lo;

	if (len != WR_KEY_HEX_LEN)
		return false;

	for (size_t i = 0; i < WR_KEY_BYTES; i++) {
		hi = hex_decode_digit(hex[2 * i], upper_mask);
		lo = hex_decode_digit(hex[2 * i + 1], upper_mask);
		invalid |= (hi | lo) >> DIGIT_INVALID_SHIFT;
		tmp[i] = (uint8_t) (((hi & HEX_DIGIT_MASK) << 4) | (lo & HEX_DIGIT_MASK));
	}

	if (invalid != 0) {
		wr_memzero(tmp, sizeof(tmp));
		return false;
	}
	memcpy(out, tmp, sizeof(tmp));
	wr_memzero(tmp, sizeof(tmp));
	return true;
}

bool
wr_key_from_hex_len(uint8_t out[WR_KEY_BYTES], const char *hex, size_t len)
{
	return key_from_hex(out, hex, len, true);
}

bool
wr_key_from_hex(uint8_t out[WR_KEY_BYTES], const char *hex)
{
	return key_from_hex(out, hex, strnlen(hex, WR_KEY_HEX_LEN + 1), true);
}

const char *
wr_key_kind_prefix(WrKeyKind kind)
{
	switch (kind) {
	case WR_KEY_KIND_MACHINE:
		return "mkey:";
	case WR_KEY_KIND_NODE:
		return "nodekey:";
	case WR_KEY_KIND_DISCO:
		return "discokey:";
	case WR_KEY_KIND_PRIVATE:
		return "privkey:";
	default:
		break;
	}
	g_return_val_if_reached(NULL);
}

/* the hex is written straight into the result, so no copy of a private key is left behind */
char *
wr_key_to_text(WrKeyKind kind, const uint8_t key[WR_KEY_BYTES])
{
	const char *prefix = wr_key_kind_prefix(kind);
	size_t prefix_len;
	char *text;

	if (prefix == NULL)
		return NULL;
	prefix_len = strlen(prefix);
	text = g_malloc(prefix_len + WR_KEY_HEX_LEN + 1);
	memcpy(text, prefix, prefix_len);
	wr_key_to_hex(text + prefix_len, key);
	return text;
}

bool
wr_key_from_text(uint8_t out[WR_KEY_BYTES], WrKeyKind kind, const char *text)
{
	const char *prefix = wr_key_kind_prefix(kind);
	size_t prefix_len;

	if (prefix == NULL)
		return false;
	prefix_len = strlen(prefix);
	if (strncmp(text, prefix, prefix_len) != 0)
		return false;
	text += prefix_len;
	return key_from_hex(out, text, strnlen(text, WR_KEY_HEX_LEN + 1), false);
}

bool
wr_key_is_zero(const uint8_t key[WR_KEY_BYTES])
{
	return wr_is_zero(key, WR_KEY_BYTES);
}

guint
wr_key_hash(gconstpointer key)
{
	guint h;

	memcpy(&h, key, sizeof(h));
	return h;
}

gboolean
wr_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, WR_KEY_BYTES) == 0;
}
