/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrNetcfg"

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "wr-netcfg-diff.h"

WrNetcfgState *
wr_netcfg_state_new(void)
{
	WrNetcfgState *self = g_new0(WrNetcfgState, 1);

	self->addrs = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	self->routes = g_array_new(FALSE, TRUE, sizeof(WrNetcfgKernelRoute));
	self->rules = g_array_new(FALSE, TRUE, sizeof(WrNetcfgRule));
	return self;
}

void
wr_netcfg_state_free(WrNetcfgState *self)
{
	if (self == NULL)
		return;
	g_array_unref(self->addrs);
	g_array_unref(self->routes);
	g_array_unref(self->rules);
	g_free(self);
}

WrNetcfgRoute
wr_netcfg_route_for(const WrNetcfgConfig *config, const WrCidr *dst)
{
	WrNetcfgRoute r;

	memset(&r, 0, sizeof(r));
	r.dst = *dst;
	r.table = wr_netcfg_config_get_table(config);
	r.metric = config->metric;
	if (r.metric == 0 && dst->family == AF_INET6)
		r.metric = WR_NETCFG_IPV6_DEFAULT_METRIC;
	return r;
}

/* hash and equality by field, never by bytes: the structs have padding */
static guint
cidr_hash(const WrCidr *c)
{
	size_t n = c->family == AF_INET ? 4 : 16;
	guint h = c->family * 131u + c->cidr;

	for (size_t i = 0; i < n; i++)
		h = h * 31u + c->addr[i];
	return h;
}

static guint
cidr_hash_cb(gconstpointer p)
{
	return cidr_hash(p);
}

static gboolean
cidr_equal_cb(gconstpointer a, gconstpointer b)
{
	return wr_netcfg_cidr_equal(a, b);
}

static guint
route_hash_cb(gconstpointer p)
{
	const WrNetcfgRoute *r = p;

	return (cidr_hash(&r->dst) * 31u + r->table) * 31u + r->metric;
}

static gboolean
route_equal_cb(gconstpointer a, gconstpointer b)
{
	return wr_netcfg_route_equal(a, b);
}

static void
push(GArray *ops, WrNetcfgOpKind kind, const WrCidr *addr, const WrNetcfgRoute *route)
{
	WrNetcfgOp op;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	if (addr != NULL)
		op.addr = *addr;
	if (route != NULL)
		op.route = *route;
	g_array_append_val(ops, op);
}

static void
push_rule(GArray *ops, WrNetcfgOpKind kind, const WrNetcfgRule *rule)
{
	WrNetcfgOp op;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	op.rule = *rule;
	g_array_append_val(ops, op);
}

/* a handful of rules at most (WR_NETCFG_MAX_RULES): a linear search is the simple choice */
static bool
rule_in(const WrNetcfgRule *rule, const GArray *rules, guint n)
{
	for (guint i = 0; i < n; i++) {
		if (wr_netcfg_rule_equal(&g_array_index(rules, WrNetcfgRule, i), rule))
			return true;
	}
	return false;
}

GArray *
wr_netcfg_diff(const WrNetcfgConfig *desired, const WrNetcfgState *current, const GArray *owned)
{
	GArray *ops = g_array_new(FALSE, TRUE, sizeof(WrNetcfgOp));
	/* sets of pointers into the arrays below; the arrays outlive the tables */
	g_autoptr(GHashTable) want_routes = g_hash_table_new(route_hash_cb, route_equal_cb);
	g_autoptr(GHashTable) have_routes = g_hash_table_new(route_hash_cb, route_equal_cb);
	g_autoptr(GHashTable) want_addrs = g_hash_table_new(cidr_hash_cb, cidr_equal_cb);
	g_autoptr(GHashTable) have_addrs = g_hash_table_new(cidr_hash_cb, cidr_equal_cb);
	g_autoptr(GHashTable) owned_addrs = g_hash_table_new(cidr_hash_cb, cidr_equal_cb);
	g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(WrNetcfgRoute));
	g_autoptr(GArray) rules = g_array_new(FALSE, TRUE, sizeof(WrNetcfgRule));

	if (desired != NULL) {
		uint32_t mtu = wr_netcfg_config_get_mtu(desired);

		if (current->mtu != mtu) {
			WrNetcfgOp op;

			memset(&op, 0, sizeof(op));
			op.kind = WR_NETCFG_OP_SET_MTU;
			op.mtu = mtu;
			g_array_append_val(ops, op);
		}
		if (!current->up)
			push(ops, WR_NETCFG_OP_LINK_UP, NULL, NULL);
		g_array_set_size(routes, desired->routes->len);
		for (guint i = 0; i < desired->routes->len; i++) {
			WrNetcfgRoute *r = &g_array_index(routes, WrNetcfgRoute, i);

			*r = wr_netcfg_route_for(desired,
						 &g_array_index(desired->routes, WrCidr, i));
			g_hash_table_add(want_routes, r);
		}
		for (guint i = 0; i < desired->addrs->len; i++)
			g_hash_table_add(want_addrs, &g_array_index(desired->addrs, WrCidr, i));
		for (guint i = 0; i < desired->rules->len; i++) {
			WrNetcfgRule r = wr_netcfg_rule_for(
				desired, &g_array_index(desired->rules, WrNetcfgRule, i));

			g_array_append_val(rules, r);
		}
	}
	for (guint i = 0; i < current->routes->len; i++) {
		WrNetcfgKernelRoute *k = &g_array_index(current->routes, WrNetcfgKernelRoute, i);

		g_hash_table_add(have_routes, &k->route);
	}
	for (guint i = 0; i < current->addrs->len; i++)
		g_hash_table_add(have_addrs, &g_array_index(current->addrs, WrCidr, i));
	for (guint i = 0; owned != NULL && i < owned->len; i++)
		g_hash_table_add(owned_addrs, &g_array_index(owned, WrCidr, i));

	/* ours and unwanted: remove (a route listed twice by the kernel is removed once) */
	for (guint i = 0; i < current->rules->len; i++) {
		const WrNetcfgRule *r = &g_array_index(current->rules, WrNetcfgRule, i);

		/* the kernel keeps identical rules side by side; each removal takes one */
		if (!rule_in(r, rules, rules->len))
			push_rule(ops, WR_NETCFG_OP_DEL_RULE, r);
	}
	for (guint i = 0; i < current->routes->len; i++) {
		WrNetcfgKernelRoute *k = &g_array_index(current->routes, WrNetcfgKernelRoute, i);

		if (!k->ours || g_hash_table_contains(want_routes, &k->route))
			continue;
		push(ops, WR_NETCFG_OP_DEL_ROUTE, NULL, &k->route);
		g_hash_table_add(want_routes, &k->route);
	}
	for (guint i = 0; i < current->addrs->len; i++) {
		WrCidr *a = &g_array_index(current->addrs, WrCidr, i);

		if (!g_hash_table_contains(owned_addrs, a) || g_hash_table_contains(want_addrs, a))
			continue;
		push(ops, WR_NETCFG_OP_DEL_ADDR, a, NULL);
		g_hash_table_add(want_addrs, a);
	}
	if (desired == NULL)
		return ops;

	/* wanted and missing: add, once however often it is listed */
	for (guint i = 0; i < desired->addrs->len; i++) {
		WrCidr *a = &g_array_index(desired->addrs, WrCidr, i);

		if (g_hash_table_contains(have_addrs, a))
			continue;
		push(ops, WR_NETCFG_OP_ADD_ADDR, a, NULL);
		g_hash_table_add(have_addrs, a);
	}
	for (guint i = 0; i < routes->len; i++) {
		WrNetcfgRoute *r = &g_array_index(routes, WrNetcfgRoute, i);

		if (g_hash_table_contains(have_routes, r))
			continue;
		push(ops, WR_NETCFG_OP_ADD_ROUTE, NULL, r);
		g_hash_table_add(have_routes, r);
	}
	for (guint i = 0; i < rules->len; i++) {
		const WrNetcfgRule *r = &g_array_index(rules, WrNetcfgRule, i);

		if (!rule_in(r, current->rules, current->rules->len) && !rule_in(r, rules, i))
			push_rule(ops, WR_NETCFG_OP_ADD_RULE, r);
	}
	return ops;
}

void
wr_netcfg_op_format(const WrNetcfgOp *op, char out[WR_NETCFG_OP_STRLEN])
{
	char text[WR_NETCFG_ROUTE_STRLEN];

	switch (op->kind) {
	case WR_NETCFG_OP_SET_MTU:
		g_snprintf(out, WR_NETCFG_OP_STRLEN, "set mtu %u", op->mtu);
		return;
	case WR_NETCFG_OP_LINK_UP:
		g_snprintf(out, WR_NETCFG_OP_STRLEN, "link up");
		return;
	case WR_NETCFG_OP_ADD_ADDR:
	case WR_NETCFG_OP_DEL_ADDR:
		wr_cidr_format(&op->addr, text);
		g_snprintf(out, WR_NETCFG_OP_STRLEN, "%s address %s",
			   op->kind == WR_NETCFG_OP_ADD_ADDR ? "add" : "del", text);
		return;
	case WR_NETCFG_OP_ADD_ROUTE:
	case WR_NETCFG_OP_DEL_ROUTE:
		wr_netcfg_route_format(&op->route, NULL, text);
		g_snprintf(out, WR_NETCFG_OP_STRLEN, "%s route %s",
			   op->kind == WR_NETCFG_OP_ADD_ROUTE ? "add" : "del", text);
		return;
	case WR_NETCFG_OP_ADD_RULE:
	case WR_NETCFG_OP_DEL_RULE:
		wr_netcfg_rule_format(&op->rule, text);
		g_snprintf(out, WR_NETCFG_OP_STRLEN, "%s rule %s",
			   op->kind == WR_NETCFG_OP_ADD_RULE ? "add" : "del", text);
		return;
	}
	g_snprintf(out, WR_NETCFG_OP_STRLEN, "op %d", (int) op->kind);
}
