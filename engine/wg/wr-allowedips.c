/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrAllowedIps"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-allowedips-private.h"
#include "wr-allowedips.h"

/*
 * A PATRICIA trie per family.  Every node is a prefix (key, cidr); a child extends its
 * parent's prefix and hangs off child[b], b being the child's bit at position parent->cidr
 * (bit 0 is the most significant).  Nodes with a peer are routes; nodes without one are
 * glue, created where two routes diverge, and always have exactly two children, so the
 * trie never holds more than 2 * routes - 1 nodes and a lookup visits at most one node
 * per divergence on its path.
 *
 * Addresses are kept as two host-order 64-bit words of the big-endian address (IPv4 sits
 * in the top 32 bits of the first word), so matching a node is two xor-and-mask tests.
 *
 * Each peer's routes are also threaded on a list found through a hash table, so removing
 * a peer touches only its own routes, and removing a node is O(1) thanks to parent links.
 */

#define V4_BITS	 32
#define V6_BITS	 128
#define V4_BYTES 4
#define V6_BYTES 16

enum { FAMILY_V4, FAMILY_V6, FAMILY_N };

typedef struct Node Node;
struct Node {
	/* what a lookup reads comes first, within one cache line */
	uint64_t key[2];  /* host bits already clear */
	uint64_t mask[2]; /* cidr leading ones */
	Node *child[2];
	void *peer; /* NULL for glue */
	uint8_t cidr;
	uint8_t family; /* FAMILY_V4 or FAMILY_V6 */
	Node *parent;
	/* the peer's routes, in no particular order */
	Node *peer_prev;
	Node *peer_next;
};

struct WrAllowedIps {
	Node *root[FAMILY_N];
	GHashTable *by_peer; /* peer -> first Node of its list, unowned */
	size_t count;
};

static int
family_index(int family, uint8_t cidr)
{
	if (family == AF_INET)
		return cidr <= V4_BITS ? FAMILY_V4 : -EINVAL;
	if (family == AF_INET6)
		return cidr <= V6_BITS ? FAMILY_V6 : -EINVAL;
	return -EINVAL;
}

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return GUINT64_FROM_BE(v);
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return GUINT32_FROM_BE(v);
}

static inline void
load_key(int fam, const uint8_t *addr, uint64_t out[2])
{
	if (fam == FAMILY_V4) {
		out[0] = (uint64_t) load_be32(addr) << 32;
		out[1] = 0;
	} else {
		out[0] = load_be64(addr);
		out[1] = load_be64(addr + 8);
	}
}

static void
store_key(int fam, const uint64_t key[2], uint8_t out[V6_BYTES])
{
	uint64_t hi = GUINT64_TO_BE(key[0]);
	uint64_t lo = GUINT64_TO_BE(key[1]);

	memset(out, 0, V6_BYTES);
	if (fam == FAMILY_V4) {
		memcpy(out, &hi, V4_BYTES);
	} else {
		memcpy(out, &hi, sizeof(hi));
		memcpy(out + 8, &lo, sizeof(lo));
	}
}

static inline uint64_t
word_mask(unsigned int bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - bits);
}

static void
make_mask(uint8_t cidr, uint64_t out[2])
{
	out[0] = word_mask(cidr);
	out[1] = cidr > 64 ? word_mask(cidr - 64U) : 0;
}

/* bit i of the key, counting from the most significant; i < 128 */
static inline unsigned int
key_bit(const uint64_t key[2], unsigned int i)
{
	return (unsigned int) ((key[i >> 6] >> (63U - (i & 63U))) & 1U);
}

/* how many leading bits a and b share, capped at limit */
static unsigned int
common_bits(const uint64_t a[2], const uint64_t b[2], unsigned int limit)
{
	uint64_t x = a[0] ^ b[0];
	unsigned int n;

	if (x != 0) {
		n = (unsigned int) __builtin_clzll(x);
	} else {
		x = a[1] ^ b[1];
		n = x != 0 ? 64U + (unsigned int) __builtin_clzll(x) : V6_BITS;
	}
	return n < limit ? n : limit;
}

static inline bool
node_matches(const Node *node, const uint64_t key[2])
{
	return (((key[0] ^ node->key[0]) & node->mask[0]) |
		((key[1] ^ node->key[1]) & node->mask[1])) == 0;
}

static Node *
node_new(int fam, const uint64_t key[2], uint8_t cidr)
{
	Node *node = g_new0(Node, 1);

	make_mask(cidr, node->mask);
	node->key[0] = key[0] & node->mask[0];
	node->key[1] = key[1] & node->mask[1];
	node->cidr = cidr;
	node->family = (uint8_t) fam;
	return node;
}

/* the pointer that holds node: its parent's child slot or the root */
static Node **
node_slot(WrAllowedIps *self, Node *node)
{
	if (node->parent == NULL)
		return &self->root[node->family];
	return &node->parent->child[node->parent->child[1] == node];
}

static void
peer_link(WrAllowedIps *self, Node *node, void *peer)
{
	Node *head = g_hash_table_lookup(self->by_peer, peer);

	node->peer = peer;
	node->peer_prev = NULL;
	node->peer_next = head;
	if (head != NULL)
		head->peer_prev = node;
	g_hash_table_insert(self->by_peer, peer, node);
}

static void
peer_unlink(WrAllowedIps *self, Node *node)
{
	if (node->peer_next != NULL)
		node->peer_next->peer_prev = node->peer_prev;
	if (node->peer_prev != NULL)
		node->peer_prev->peer_next = node->peer_next;
	else if (node->peer_next != NULL)
		g_hash_table_insert(self->by_peer, node->peer, node->peer_next);
	else
		g_hash_table_remove(self->by_peer, node->peer);
	node->peer = NULL;
	node->peer_prev = NULL;
	node->peer_next = NULL;
}

/* puts child (possibly NULL) where node was, and frees node */
static void
node_replace_and_free(WrAllowedIps *self, Node *node, Node *child)
{
	*node_slot(self, node) = child;
	if (child != NULL)
		child->parent = node->parent;
	g_free(node);
}

/* drops the route at node, then whatever glue that leaves without purpose */
static void
route_remove(WrAllowedIps *self, Node *node)
{
	Node *parent;

	peer_unlink(self, node);
	self->count--;

	if (node->child[0] != NULL && node->child[1] != NULL)
		return; /* still needed as glue */
	if (node->child[0] != NULL || node->child[1] != NULL) {
		node_replace_and_free(self, node, node->child[node->child[0] == NULL]);
		return;
	}

	/* a leaf: glue above it is left with one child, which takes its place */
	parent = node->parent;
	node_replace_and_free(self, node, NULL);
	if (parent != NULL && parent->peer == NULL)
		node_replace_and_free(self, parent, parent->child[parent->child[0] == NULL]);
}

static Node *
find_exact(const WrAllowedIps *self, int fam, const uint64_t key[2], uint8_t cidr)
{
	Node *node = self->root[fam];

	while (node != NULL && node->cidr <= cidr && node_matches(node, key)) {
		if (node->cidr == cidr)
			return node;
		node = node->child[key_bit(key, node->cidr)];
	}
	return NULL;
}

static void
free_subtree(Node *node)
{
	/* iterative: climb back through parent links so depth costs no stack */
	while (node != NULL) {
		Node *parent;

		if (node->child[0] != NULL) {
			node = node->child[0];
			continue;
		}
		if (node->child[1] != NULL) {
			node = node->child[1];
			continue;
		}
		parent = node->parent;
		if (parent != NULL)
			parent->child[parent->child[1] == node] = NULL;
		g_free(node);
		node = parent;
	}
}

WrAllowedIps *
wr_allowedips_new(void)
{
	WrAllowedIps *self = g_new0(WrAllowedIps, 1);

	self->by_peer = g_hash_table_new(g_direct_hash, g_direct_equal);
	return self;
}

void
wr_allowedips_free(WrAllowedIps *self)
{
	if (self == NULL)
		return;
	for (int fam = 0; fam < FAMILY_N; fam++)
		free_subtree(self->root[fam]);
	g_hash_table_unref(self->by_peer);
	g_free(self);
}

int
wr_allowedips_insert(WrAllowedIps *self, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	int fam = family_index(family, cidr);
	unsigned int common = 0;
	uint64_t key[2];
	Node **slot;
	Node *parent = NULL;
	Node *node;
	Node *route;

	if (fam < 0)
		return fam;
	/* NULL marks glue, and would be indistinguishable from no route on lookup */
	if (peer == NULL)
		return -EINVAL;
	load_key(fam, addr, key);

	slot = &self->root[fam];
	while ((node = *slot) != NULL) {
		common = common_bits(node->key, key, MIN(node->cidr, cidr));
		if (common == node->cidr && common == cidr) {
			/* the prefix exists: as glue it becomes a route, as a route it moves */
			if (node->peer == peer)
				return 0;
			if (node->peer != NULL)
				peer_unlink(self, node);
			else
				self->count++;
			peer_link(self, node, peer);
			return 0;
		}
		if (common < node->cidr)
			break;
		/* node is a strict prefix of ours: descend */
		parent = node;
		slot = &node->child[key_bit(key, node->cidr)];
	}

	route = node_new(fam, key, cidr);
	peer_link(self, route, peer);
	self->count++;
	route->parent = parent;
	if (node == NULL) {
		*slot = route;
	} else if (common == cidr) {
		/* ours is a strict prefix of node: it goes in between */
		route->child[key_bit(node->key, cidr)] = node;
		node->parent = route;
		*slot = route;
	} else {
		/* the two diverge at bit common: glue them under their shared prefix */
		Node *glue = node_new(fam, key, (uint8_t) common);

		glue->child[key_bit(key, common)] = route;
		glue->child[key_bit(node->key, common)] = node;
		glue->parent = parent;
		route->parent = glue;
		node->parent = glue;
		*slot = glue;
	}
	return 0;
}

int
wr_allowedips_remove(WrAllowedIps *self, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	int fam = family_index(family, cidr);
	uint64_t key[2];
	uint64_t mask[2];
	Node *node;

	if (fam < 0 || peer == NULL)
		return -ENOENT;
	load_key(fam, addr, key);
	make_mask(cidr, mask);
	key[0] &= mask[0];
	key[1] &= mask[1];
	node = find_exact(self, fam, key, cidr);
	if (node == NULL || node->peer != peer)
		return -ENOENT;
	route_remove(self, node);
	return 0;
}

void
wr_allowedips_remove_by_peer(WrAllowedIps *self, void *peer)
{
	Node *node;

	if (peer == NULL)
		return;
	while ((node = g_hash_table_lookup(self->by_peer, peer)) != NULL)
		route_remove(self, node);
}

void *
wr_allowedips_lookup(const WrAllowedIps *self, int family, const uint8_t *addr)
{
	uint64_t key[2];
	const Node *node;
	void *best = NULL;
	int fam;

	if (family == AF_INET)
		fam = FAMILY_V4;
	else if (family == AF_INET6)
		fam = FAMILY_V6;
	else
		return NULL;
	load_key(fam, addr, key);
	node = self->root[fam];

	/* a route's children are longer prefixes, so the last route on the path wins */
	while (node != NULL && node_matches(node, key)) {
		if (node->peer != NULL)
			best = node->peer;
		if (node->cidr == V6_BITS)
			break; /* a v6 host route: no bit left to branch on */
		node = node->child[key_bit(key, node->cidr)];
	}
	return best;
}

typedef struct {
	uint64_t key[2];
	uint8_t family;
	uint8_t cidr;
} RouteItem;

/* the trie's own pre-order: family, then address, then the shorter prefix first */
static gint
route_item_cmp(gconstpointer a, gconstpointer b)
{
	const RouteItem *ra = a;
	const RouteItem *rb = b;

	if (ra->family != rb->family)
		return ra->family < rb->family ? -1 : 1;
	for (unsigned int i = 0; i < 2; i++) {
		if (ra->key[i] != rb->key[i])
			return ra->key[i] < rb->key[i] ? -1 : 1;
	}
	if (ra->cidr != rb->cidr)
		return ra->cidr < rb->cidr ? -1 : 1;
	return 0;
}

void
wr_allowedips_foreach_by_peer(const WrAllowedIps *self, void *peer, WrAllowedIpsFunc func,
			      void *user_data)
{
	g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(RouteItem));

	if (peer == NULL)
		return;
	for (const Node *node = g_hash_table_lookup(self->by_peer, peer); node != NULL;
	     node = node->peer_next) {
		RouteItem item = {
			.key = {node->key[0], node->key[1]},
			.family = node->family,
			.cidr = node->cidr,
		};
		g_array_append_val(items, item);
	}
	g_array_sort(items, route_item_cmp);

	/* from a snapshot, so func may change the trie */
	for (guint i = 0; i < items->len; i++) {
		const RouteItem *item = &g_array_index(items, RouteItem, i);
		uint8_t addr[V6_BYTES];

		store_key(item->family, item->key, addr);
		func(item->family == FAMILY_V4 ? AF_INET : AF_INET6, addr, item->cidr, user_data);
	}
}

size_t
wr_allowedips_count(const WrAllowedIps *self)
{
	return self->count;
}

static long
check_subtree(const Node *node, const Node *parent, int fam, size_t *routes)
{
	uint64_t mask[2];
	long nodes = 1;

	make_mask(node->cidr, mask);
	if (node->parent != parent || node->family != fam ||
	    node->cidr > (fam == FAMILY_V4 ? V4_BITS : V6_BITS) || node->mask[0] != mask[0] ||
	    node->mask[1] != mask[1] || (node->key[0] & ~mask[0]) != 0 ||
	    (node->key[1] & ~mask[1]) != 0) {
		g_debug("node /%u: bad parent, family, mask or host bits", node->cidr);
		return -EUCLEAN;
	}
	if (node->peer == NULL && (node->child[0] == NULL || node->child[1] == NULL)) {
		g_debug("glue /%u without two children", node->cidr);
		return -EUCLEAN;
	}
	if (node->peer != NULL)
		(*routes)++;
	for (unsigned int b = 0; b < 2; b++) {
		const Node *child = node->child[b];
		long sub;

		if (child == NULL)
			continue;
		if (child->cidr <= node->cidr || !node_matches(node, child->key) ||
		    key_bit(child->key, node->cidr) != b) {
			g_debug("child /%u of /%u does not extend it on side %u", child->cidr,
				node->cidr, b);
			return -EUCLEAN;
		}
		sub = check_subtree(child, node, fam, routes);
		if (sub < 0)
			return sub;
		nodes += sub;
	}
	return nodes;
}

long
wr_allowedips_check(const WrAllowedIps *self)
{
	GHashTableIter iter;
	gpointer peer;
	gpointer head;
	size_t routes = 0;
	size_t listed = 0;
	long nodes = 0;

	for (int fam = 0; fam < FAMILY_N; fam++) {
		long sub;

		if (self->root[fam] == NULL)
			continue;
		sub = check_subtree(self->root[fam], NULL, fam, &routes);
		if (sub < 0)
			return sub;
		nodes += sub;
	}

	g_hash_table_iter_init(&iter, self->by_peer);
	while (g_hash_table_iter_next(&iter, &peer, &head)) {
		const Node *prev = NULL;

		if (head == NULL) {
			g_debug("peer %p with an empty list", peer);
			return -EUCLEAN;
		}
		for (const Node *node = head; node != NULL; node = node->peer_next) {
			if (node->peer != peer || node->peer_prev != prev ||
			    find_exact(self, node->family, node->key, node->cidr) != node) {
				g_debug("peer %p: list entry /%u is not its route", peer,
					node->cidr);
				return -EUCLEAN;
			}
			prev = node;
			listed++;
		}
	}
	if (routes != self->count || listed != self->count) {
		g_debug("%zu routes in the trie, %zu listed, count %zu", routes, listed,
			self->count);
		return -EUCLEAN;
	}
	return nodes;
}
