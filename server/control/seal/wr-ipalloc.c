/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrIpalloc"

#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-addr.h"
#include "wr-ipalloc.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_ipalloc_error_quark(void)
{
	return g_quark_from_static_string("wr-ipalloc-error-quark");
}

/*
 * A bit per address (1 = taken) in level 0, and above it summary levels where bit i is set when
 * word i of the level below is full (all ones); the top level is one word.  Bits past the end of
 * a level are set, so they never look free.  Finding the lowest free address walks down from the
 * top through the lowest clear bit of one word per level.
 */
#define WORD_BITS  64
#define MAX_LEVELS 5 /* 2^24 bits need 4 */
#define FULL	   G_MAXUINT64

/* 100.100.100.100, MagicDNS */
#define MAGIC_DNS_V4 0x64646464u
/* the address whose twin is <prefix>::53, the IPv6 resolver address */
#define RESOLVER_V6_LOW 0x53u
#define MAX_EXCLUDED	4

struct _WrIpalloc {
	uint32_t base; /* host order */
	guint64 n;     /* addresses in the prefix */
	uint8_t v6_prefix[16];
	guint n_levels;
	guint64 *level[MAX_LEVELS];
	gsize n_words[MAX_LEVELS];
	uint32_t excluded[MAX_EXCLUDED]; /* indexes */
	guint n_excluded;
	guint n_used; /* not counting the excluded */
};

static void
raw_set(guint64 *words, guint64 i)
{
	words[i / WORD_BITS] |= (guint64) 1 << (i % WORD_BITS);
}

static gboolean
test_bit(const WrIpalloc *self, guint64 i)
{
	return (self->level[0][i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

static void
set_bit(WrIpalloc *self, guint64 i)
{
	for (guint k = 0; k < self->n_levels; k++) {
		guint64 *word = &self->level[k][i / WORD_BITS];

		*word |= (guint64) 1 << (i % WORD_BITS);
		if (*word != FULL)
			return;
		i /= WORD_BITS;
	}
}

static void
clear_bit(WrIpalloc *self, guint64 i)
{
	for (guint k = 0; k < self->n_levels; k++) {
		guint64 *word = &self->level[k][i / WORD_BITS];
		gboolean was_full = *word == FULL;

		*word &= ~((guint64) 1 << (i % WORD_BITS));
		if (!was_full)
			return;
		i /= WORD_BITS;
	}
}

/* the lowest clear bit of level 0, or FALSE when every address is taken */
static gboolean
find_free(const WrIpalloc *self, guint64 *out)
{
	guint64 idx = 0;

	if (self->level[self->n_levels - 1][0] == FULL)
		return FALSE;
	for (guint k = self->n_levels; k-- > 0;) {
		guint64 word = self->level[k][idx];

		idx = idx * WORD_BITS + (guint64) __builtin_ctzll(~word);
	}
	*out = idx;
	return TRUE;
}

static void
v4_to_bytes(uint32_t a, uint8_t out[4])
{
	out[0] = (uint8_t) (a >> 24);
	out[1] = (uint8_t) (a >> 16);
	out[2] = (uint8_t) (a >> 8);
	out[3] = (uint8_t) a;
}

static uint32_t
v4_from_bytes(const uint8_t in[4])
{
	return ((uint32_t) in[0] << 24) | ((uint32_t) in[1] << 16) | ((uint32_t) in[2] << 8) |
	       (uint32_t) in[3];
}

static void
v4_text(const uint8_t v4[4], char out[INET_ADDRSTRLEN])
{
	if (inet_ntop(AF_INET, v4, out, INET_ADDRSTRLEN) == NULL)
		g_strlcpy(out, "?", INET_ADDRSTRLEN);
}

static gboolean
prefix_host_bits_clear(const WrCidr *c)
{
	WrCidr masked = *c;

	wr_cidr_mask(&masked);
	return memcmp(masked.addr, c->addr, sizeof(c->addr)) == 0;
}

static gboolean
parse_v4_prefix(const char *text, WrCidr *out, GError **error)
{
	if (!wr_cidr_parse(out, text) || out->family != AF_INET) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv4 prefix %s is not an IPv4 CIDR prefix", text);
		return FALSE;
	}
	if (out->cidr < WR_IPALLOC_MIN_V4_CIDR || out->cidr > WR_IPALLOC_MAX_V4_CIDR) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv4 prefix %s must be /%d to /%d", text, WR_IPALLOC_MIN_V4_CIDR,
			    WR_IPALLOC_MAX_V4_CIDR);
		return FALSE;
	}
	if (!prefix_host_bits_clear(out)) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv4 prefix %s has host bits set", text);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_v6_prefix(const char *text, WrCidr *out, GError **error)
{
	if (!wr_cidr_parse(out, text) || out->family != AF_INET6) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv6 prefix %s is not an IPv6 CIDR prefix", text);
		return FALSE;
	}
	if ((out->addr[0] & 0xfe) != 0xfc) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv6 prefix %s is not a unique local (fc00::/7) prefix", text);
		return FALSE;
	}
	if (out->cidr < WR_IPALLOC_MIN_V6_CIDR || out->cidr > WR_IPALLOC_MAX_V6_CIDR) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv6 prefix %s must be /%d to /%d", text, WR_IPALLOC_MIN_V6_CIDR,
			    WR_IPALLOC_MAX_V6_CIDR);
		return FALSE;
	}
	if (!prefix_host_bits_clear(out)) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_PREFIX,
			    "IPv6 prefix %s has host bits set", text);
		return FALSE;
	}
	return TRUE;
}

static void
exclude(WrIpalloc *self, uint32_t addr)
{
	guint64 i;

	if (addr < self->base || (guint64) (addr - self->base) >= self->n)
		return;
	i = addr - self->base;
	for (guint k = 0; k < self->n_excluded; k++) {
		if (self->excluded[k] == i)
			return;
	}
	g_assert(self->n_excluded < MAX_EXCLUDED);
	self->excluded[self->n_excluded++] = (uint32_t) i;
	set_bit(self, i);
}

WrIpalloc *
wr_ipalloc_new(const char *v4_prefix, const char *v6_prefix, GError **error)
{
	g_autoptr(WrIpalloc) self = NULL;
	WrCidr v4;
	WrCidr v6;
	guint64 bits;

	if (!parse_v4_prefix(v4_prefix != NULL ? v4_prefix : WR_IPALLOC_DEFAULT_V4, &v4, error))
		return NULL;
	if (!parse_v6_prefix(v6_prefix != NULL ? v6_prefix : WR_IPALLOC_DEFAULT_V6, &v6, error))
		return NULL;
	self = g_new0(WrIpalloc, 1);
	self->base = v4_from_bytes(v4.addr);
	self->n = (guint64) 1 << (32 - v4.cidr);
	memcpy(self->v6_prefix, v6.addr, sizeof(self->v6_prefix));

	/* levels, with the bits past each level's end set */
	bits = self->n;
	do {
		guint k = self->n_levels++;
		gsize words = (gsize) ((bits + WORD_BITS - 1) / WORD_BITS);

		g_assert(k < MAX_LEVELS);
		self->n_words[k] = words;
		self->level[k] = g_new0(guint64, words);
		for (guint64 i = bits; i < (guint64) words * WORD_BITS; i++)
			raw_set(self->level[k], i);
		bits = words;
	} while (bits > 1);
	/* a level-0 word made full by padding is full above too */
	for (guint k = 1; k < self->n_levels; k++) {
		for (gsize w = 0; w < self->n_words[k - 1]; w++) {
			if (self->level[k - 1][w] == FULL)
				raw_set(self->level[k], w);
		}
	}

	exclude(self, self->base);
	exclude(self, self->base + (uint32_t) (self->n - 1));
	exclude(self, MAGIC_DNS_V4);
	exclude(self, RESOLVER_V6_LOW);
	return g_steal_pointer(&self);
}

void
wr_ipalloc_free(WrIpalloc *self)
{
	if (self == NULL)
		return;
	for (guint k = 0; k < self->n_levels; k++)
		g_free(self->level[k]);
	g_free(self);
}

void
wr_ipalloc_twin(const WrIpalloc *self, const uint8_t v4[4], uint8_t out_v6[16])
{
	memcpy(out_v6, self->v6_prefix, 12);
	memcpy(out_v6 + 12, v4, 4);
}

static gboolean
index_of(const WrIpalloc *self, const uint8_t v4[4], guint64 *out)
{
	uint32_t a = v4_from_bytes(v4);

	if (a < self->base || (guint64) (a - self->base) >= self->n)
		return FALSE;
	*out = a - self->base;
	return TRUE;
}

static gboolean
is_excluded(const WrIpalloc *self, guint64 i)
{
	for (guint k = 0; k < self->n_excluded; k++) {
		if (self->excluded[k] == i)
			return TRUE;
	}
	return FALSE;
}

/* the index of an allocatable address, or an error naming it */
static gboolean
check_address(const WrIpalloc *self, const uint8_t v4[4], guint64 *out, GError **error)
{
	char text[INET_ADDRSTRLEN];
	guint64 i;

	if (!index_of(self, v4, &i)) {
		v4_text(v4, text);
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_OUTSIDE,
			    "%s is outside the tailnet prefix", text);
		return FALSE;
	}
	if (is_excluded(self, i)) {
		v4_text(v4, text);
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXCLUDED,
			    "%s is reserved (network, broadcast or MagicDNS address)", text);
		return FALSE;
	}
	*out = i;
	return TRUE;
}

gboolean
wr_ipalloc_allocate(WrIpalloc *self, WrIpallocPair *out, GError **error)
{
	guint64 i;

	if (!find_free(self, &i)) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_EXHAUSTED,
			    "no free address left in the tailnet prefix (%u in use)", self->n_used);
		return FALSE;
	}
	set_bit(self, i);
	self->n_used++;
	v4_to_bytes(self->base + (uint32_t) i, out->v4);
	wr_ipalloc_twin(self, out->v4, out->v6);
	return TRUE;
}

gboolean
wr_ipalloc_reserve(WrIpalloc *self, const uint8_t v4[4], GError **error)
{
	char text[INET_ADDRSTRLEN];
	guint64 i;

	if (!check_address(self, v4, &i, error))
		return FALSE;
	if (test_bit(self, i)) {
		v4_text(v4, text);
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_IN_USE,
			    "%s is already in use", text);
		return FALSE;
	}
	set_bit(self, i);
	self->n_used++;
	return TRUE;
}

gboolean
wr_ipalloc_release(WrIpalloc *self, const uint8_t v4[4], GError **error)
{
	char text[INET_ADDRSTRLEN];
	guint64 i;

	if (!check_address(self, v4, &i, error))
		return FALSE;
	if (!test_bit(self, i)) {
		v4_text(v4, text);
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_NOT_IN_USE,
			    "%s is not in use", text);
		return FALSE;
	}
	clear_bit(self, i);
	self->n_used--;
	return TRUE;
}

/* the IPv4 address named by text, an IPv4 host or the IPv6 twin of one */
static gboolean
parse_text(const WrIpalloc *self, const char *text, uint8_t out_v4[4], GError **error)
{
	WrCidr c;

	if (text == NULL || !wr_cidr_parse(&c, text) ||
	    c.cidr != (c.family == AF_INET ? 32 : 128)) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_BAD_ADDRESS,
			    "%s is not a host address", text != NULL ? text : "(null)");
		return FALSE;
	}
	if (c.family == AF_INET) {
		memcpy(out_v4, c.addr, 4);
		return TRUE;
	}
	if (memcmp(c.addr, self->v6_prefix, 12) != 0) {
		g_set_error(error, WR_IPALLOC_ERROR, WR_IPALLOC_ERROR_OUTSIDE,
			    "%s is outside the tailnet IPv6 prefix", text);
		return FALSE;
	}
	memcpy(out_v4, c.addr + 12, 4);
	return TRUE;
}

gboolean
wr_ipalloc_reserve_text(WrIpalloc *self, const char *text, GError **error)
{
	uint8_t v4[4];

	if (!parse_text(self, text, v4, error))
		return FALSE;
	return wr_ipalloc_reserve(self, v4, error);
}

gboolean
wr_ipalloc_release_text(WrIpalloc *self, const char *text, GError **error)
{
	uint8_t v4[4];

	if (!parse_text(self, text, v4, error))
		return FALSE;
	return wr_ipalloc_release(self, v4, error);
}

gboolean
wr_ipalloc_is_used(const WrIpalloc *self, const uint8_t v4[4])
{
	guint64 i;

	return index_of(self, v4, &i) && !is_excluded(self, i) && test_bit(self, i);
}

gboolean
wr_ipalloc_is_allocatable(const WrIpalloc *self, const uint8_t v4[4])
{
	guint64 i;

	return index_of(self, v4, &i) && !is_excluded(self, i);
}

guint
wr_ipalloc_n_used(const WrIpalloc *self)
{
	return self->n_used;
}

guint
wr_ipalloc_n_free(const WrIpalloc *self)
{
	return (guint) (self->n - self->n_excluded - self->n_used);
}

void
wr_ipalloc_format(const WrIpallocPair *pair, char out_v4[WR_IPALLOC_STRLEN],
		  char out_v6[WR_IPALLOC_STRLEN])
{
	char a4[INET_ADDRSTRLEN];
	char a6[INET6_ADDRSTRLEN];

	if (inet_ntop(AF_INET, pair->v4, a4, sizeof(a4)) == NULL)
		g_strlcpy(a4, "?", sizeof(a4));
	if (inet_ntop(AF_INET6, pair->v6, a6, sizeof(a6)) == NULL)
		g_strlcpy(a6, "?", sizeof(a6));
	g_snprintf(out_v4, WR_IPALLOC_STRLEN, "%s/32", a4);
	g_snprintf(out_v6, WR_IPALLOC_STRLEN, "%s/128", a6);
}
