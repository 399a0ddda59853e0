/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrNetcfg"

#include "config.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include <gio/gio.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

#include "wr-netcfg.h"

typedef struct nl_sock WrNlSock;
typedef struct nl_cache WrNlCache;
typedef struct nl_addr WrNlAddr;
typedef struct rtnl_link WrRtnlLink;
typedef struct rtnl_addr WrRtnlAddr;
typedef struct rtnl_route WrRtnlRoute;
typedef struct rtnl_rule WrRtnlRule;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNlSock, nl_socket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNlCache, nl_cache_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNlAddr, nl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrRtnlLink, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrRtnlAddr, rtnl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrRtnlRoute, rtnl_route_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrRtnlRule, rtnl_rule_put)

struct WrNetcfg {
	struct nl_sock *sock;
	int ifindex;
	char ifname[IF_NAMESIZE];
	GArray *owned;	/* WrCidr: addresses we added and have not removed */
	int last_errno; /* of the last NLMSG_ERROR, set by err_cb */
};

/* libnl folds the kernel's errno into its own, coarser codes ("Object exists"); keep the
 * errno itself so that messages read like ip(8)'s and map onto GIOErrorEnum */
static int
err_cb(struct sockaddr_nl *nla, struct nlmsgerr *nlerr, void *arg)
{
	WrNetcfg *self = arg;

	self->last_errno = -nlerr->error;
	return NL_STOP;
}

static WrNetcfg *
netcfg_open(GError **error)
{
	g_autoptr(WrNlSock) sock = nl_socket_alloc();
	WrNetcfg *self;
	int r;

	if (sock == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot allocate a netlink socket");
		return NULL;
	}
	r = nl_connect(sock, NETLINK_ROUTE);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "rtnetlink: %s", nl_geterror(r));
		return NULL;
	}
	self = g_new0(WrNetcfg, 1);
	self->sock = g_steal_pointer(&sock);
	self->owned = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	(void) nl_socket_modify_err_cb(self->sock, NL_CB_CUSTOM, err_cb, self);
	return self;
}

static gboolean
refresh_link(WrNetcfg *self, WrRtnlLink **out_link, GError **error)
{
	g_autoptr(WrRtnlLink) link = NULL;
	int r;

	r = rtnl_link_get_kernel(self->sock, self->ifindex, NULL, &link);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "link %s (index %d): %s",
			    self->ifname[0] != '\0' ? self->ifname : "?", self->ifindex,
			    nl_geterror(r));
		return FALSE;
	}
	/* the name may have changed; messages use the current one */
	g_strlcpy(self->ifname, rtnl_link_get_name(link), sizeof(self->ifname));
	if (out_link != NULL)
		*out_link = g_steal_pointer(&link);
	return TRUE;
}

WrNetcfg *
wr_netcfg_new_for_index(int ifindex, GError **error)
{
	g_autoptr(WrNetcfg) self = NULL;

	/* libnl aborts on a lookup with neither an index nor a name */
	if (ifindex <= 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "link index %d: not an interface index", ifindex);
		return NULL;
	}
	self = netcfg_open(error);
	if (self == NULL)
		return NULL;
	self->ifindex = ifindex;
	if (!refresh_link(self, NULL, error))
		return NULL;
	return g_steal_pointer(&self);
}

WrNetcfg *
wr_netcfg_new(const char *ifname, GError **error)
{
	g_autoptr(WrNetcfg) self = netcfg_open(error);
	g_autoptr(WrRtnlLink) link = NULL;
	int r;

	g_return_val_if_fail(ifname != NULL, NULL);
	if (self == NULL)
		return NULL;
	if (strlen(ifname) == 0 || strlen(ifname) >= IF_NAMESIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "link '%s': not an interface name", ifname);
		return NULL;
	}
	r = rtnl_link_get_kernel(self->sock, 0, ifname, &link);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "link %s: %s", ifname,
			    nl_geterror(r));
		return NULL;
	}
	self->ifindex = rtnl_link_get_ifindex(link);
	g_strlcpy(self->ifname, ifname, sizeof(self->ifname));
	return g_steal_pointer(&self);
}

void
wr_netcfg_free(WrNetcfg *self)
{
	if (self == NULL)
		return;
	nl_socket_free(self->sock);
	g_array_unref(self->owned);
	g_free(self);
}

int
wr_netcfg_get_ifindex(WrNetcfg *self)
{
	return self->ifindex;
}

/* an nl_addr into a WrCidr; false for anything that is not a plain IPv4/IPv6 address */
static bool
cidr_from_nl(WrCidr *out, struct nl_addr *a, unsigned int prefixlen)
{
	unsigned int len;
	int family;

	if (a == NULL)
		return false;
	family = nl_addr_get_family(a);
	len = nl_addr_get_len(a);
	memset(out, 0, sizeof(*out));
	if (family == AF_INET && (len == 4 || len == 0) && prefixlen <= 32)
		out->family = AF_INET;
	else if (family == AF_INET6 && (len == 16 || len == 0) && prefixlen <= 128)
		out->family = AF_INET6;
	else
		return false;
	/* a default route's destination has no bytes */
	if (len > 0)
		memcpy(out->addr, nl_addr_get_binary_addr(a), len);
	out->cidr = (uint8_t) prefixlen;
	return true;
}

static WrNlAddr *
nl_from_cidr(const WrCidr *c)
{
	WrNlAddr *a = nl_addr_build(c->family, c->addr, c->family == AF_INET ? 4 : 16);

	if (a != NULL)
		nl_addr_set_prefixlen(a, c->cidr);
	return a;
}

static gboolean
read_addrs(WrNetcfg *self, WrNetcfgState *state, GError **error)
{
	g_autoptr(WrNlCache) cache = NULL;
	int r;

	r = rtnl_addr_alloc_cache(self->sock, &cache);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "addresses of %s: %s",
			    self->ifname, nl_geterror(r));
		return FALSE;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *) o;
		WrCidr c;

		if (rtnl_addr_get_ifindex(a) != self->ifindex)
			continue;
		if (!cidr_from_nl(&c, rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a)))
			continue;
		g_array_append_val(state->addrs, c);
	}
	return TRUE;
}

static gboolean
read_routes(WrNetcfg *self, WrNetcfgState *state, GError **error)
{
	g_autoptr(WrNlCache) cache = NULL;
	int r;

	/* every table, both families */
	r = rtnl_route_alloc_cache(self->sock, AF_UNSPEC, 0, &cache);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "routes of %s: %s", self->ifname,
			    nl_geterror(r));
		return FALSE;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *) o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		WrNetcfgKernelRoute k;

		if (rtnl_route_get_type(rt) != RTN_UNICAST || rtnl_route_get_nnexthops(rt) != 1)
			continue;
		if (rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0)) != self->ifindex)
			continue;
		memset(&k, 0, sizeof(k));
		if (!cidr_from_nl(&k.route.dst, dst, dst != NULL ? nl_addr_get_prefixlen(dst) : 0))
			continue;
		k.route.table = rtnl_route_get_table(rt);
		k.route.metric = rtnl_route_get_priority(rt);
		k.ours = rtnl_route_get_protocol(rt) == WR_NETCFG_RTPROT;
		g_array_append_val(state->routes, k);
	}
	return TRUE;
}

/* one rule of ours as a raw dump sees it: what libnl does not parse (suppress_prefixlength)
 * and enough to find the same rule in libnl's list */
typedef struct {
	uint8_t family;
	uint32_t priority;
	uint32_t fwmark;
	uint32_t suppress; /* the kernel's -1 (as u32) is none */
} RawRule;

static int
raw_rule_cb(struct nl_msg *msg, void *arg)
{
	GArray *out = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	RawRule rr = {0};

	if (nlh->nlmsg_type != RTM_NEWRULE || !nlmsg_valid_hdr(nlh, sizeof(*frh)) ||
	    nlmsg_parse(nlh, sizeof(*frh), tb, FRA_MAX, NULL) < 0)
		return NL_OK;
	frh = nlmsg_data(nlh);
	if (tb[FRA_PROTOCOL] == NULL || nla_get_u8(tb[FRA_PROTOCOL]) != WR_NETCFG_RTPROT)
		return NL_OK;
	rr.family = frh->family;
	rr.priority = tb[FRA_PRIORITY] != NULL ? nla_get_u32(tb[FRA_PRIORITY]) : 0;
	rr.fwmark = tb[FRA_FWMARK] != NULL ? nla_get_u32(tb[FRA_FWMARK]) : 0;
	rr.suppress = tb[FRA_SUPPRESS_PREFIXLEN] != NULL ? nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN])
							 : G_MAXUINT32;
	g_array_append_val(out, rr);
	return NL_OK;
}

/* libnl 3.7's rule object has no suppress_prefixlength: a dump of our own fills it in */
static gboolean
read_suppress(WrNetcfg *self, WrNetcfgState *state, GError **error)
{
	g_autoptr(GArray) raw = g_array_new(FALSE, TRUE, sizeof(RawRule));
	struct fib_rule_hdr frh = {.family = AF_UNSPEC};
	struct nl_cb *cb;
	int r;

	if (state->rules->len == 0)
		return TRUE;
	r = nl_send_simple(self->sock, RTM_GETRULE, NLM_F_DUMP, &frh, sizeof(frh));
	if (r >= 0) {
		/* nl_socket_get_cb takes a reference: the clone keeps err_cb */
		struct nl_cb *sock_cb = nl_socket_get_cb(self->sock);

		cb = nl_cb_clone(sock_cb);
		nl_cb_put(sock_cb);
		if (cb == NULL) {
			r = -NLE_NOMEM;
		} else {
			nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, raw_rule_cb, raw);
			r = nl_recvmsgs(self->sock, cb);
			nl_cb_put(cb);
		}
	}
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "policy rules: %s",
			    nl_geterror(r));
		return FALSE;
	}
	for (guint i = 0; i < state->rules->len; i++) {
		WrNetcfgRule *rule = &g_array_index(state->rules, WrNetcfgRule, i);

		for (guint j = 0; j < raw->len; j++) {
			const RawRule *rr = &g_array_index(raw, RawRule, j);

			if (rr->family == rule->family && rr->priority == rule->priority &&
			    rr->fwmark == rule->fwmark && rr->suppress <= 128) {
				rule->suppress = true;
				rule->suppress_prefixlength = (uint8_t) rr->suppress;
				break;
			}
		}
	}
	return TRUE;
}

/* our rules only: rules belong to no link, and the protocol is all that tells them apart */
static gboolean
read_rules(WrNetcfg *self, WrNetcfgState *state, GError **error)
{
	g_autoptr(WrNlCache) cache = NULL;
	int r;

	r = rtnl_rule_alloc_cache(self->sock, AF_UNSPEC, &cache);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "policy rules: %s",
			    nl_geterror(r));
		return FALSE;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
		struct rtnl_rule *kr = (struct rtnl_rule *) o;
		uint8_t proto = 0;
		WrNetcfgRule rule;

		if (rtnl_rule_get_protocol(kr, &proto) < 0 || proto != WR_NETCFG_RTPROT)
			continue;
		memset(&rule, 0, sizeof(rule));
		rule.family = (uint8_t) rtnl_rule_get_family(kr);
		rule.action = rtnl_rule_get_action(kr);
		rule.priority = rtnl_rule_get_prio(kr);
		rule.fwmark = rtnl_rule_get_mark(kr);
		rule.fwmask = rtnl_rule_get_mask(kr);
		rule.table = rule.action == WR_NETCFG_RULE_LOOKUP ? rtnl_rule_get_table(kr) : 0;
		g_array_append_val(state->rules, rule);
	}
	return read_suppress(self, state, error);
}

static WrNetcfgState *
read_state(WrNetcfg *self, WrRtnlLink **out_link, GError **error)
{
	g_autoptr(WrNetcfgState) state = wr_netcfg_state_new();
	g_autoptr(WrRtnlLink) link = NULL;

	if (!refresh_link(self, &link, error))
		return NULL;
	state->mtu = rtnl_link_get_mtu(link);
	state->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	if (!read_addrs(self, state, error) || !read_routes(self, state, error) ||
	    !read_rules(self, state, error))
		return NULL;
	if (out_link != NULL)
		*out_link = g_steal_pointer(&link);
	return g_steal_pointer(&state);
}

WrNetcfgState *
wr_netcfg_read_state(WrNetcfg *self, GError **error)
{
	return read_state(self, NULL, error);
}

static WrRtnlAddr *
addr_object(WrNetcfg *self, const WrCidr *c)
{
	g_autoptr(WrRtnlAddr) a = rtnl_addr_alloc();
	g_autoptr(WrNlAddr) local = nl_from_cidr(c);

	if (a == NULL || local == NULL)
		return NULL;
	rtnl_addr_set_ifindex(a, self->ifindex);
	rtnl_addr_set_family(a, c->family);
	if (rtnl_addr_set_local(a, local) < 0)
		return NULL;
	rtnl_addr_set_prefixlen(a, c->cidr);
	/* no duplicate address detection on a point-to-point TUN (the address is usable at
	 * once), and no kernel prefix route: every route through the link is one we list */
	rtnl_addr_set_flags(a, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	return g_steal_pointer(&a);
}

static WrRtnlRoute *
route_object(WrNetcfg *self, const WrNetcfgRoute *route)
{
	g_autoptr(WrRtnlRoute) rt = rtnl_route_alloc();
	g_autoptr(WrNlAddr) dst = nl_from_cidr(&route->dst);
	struct rtnl_nexthop *nh;

	if (rt == NULL || dst == NULL)
		return NULL;
	nh = rtnl_route_nh_alloc();
	if (nh == NULL)
		return NULL;
	rtnl_route_set_family(rt, route->dst.family);
	if (rtnl_route_set_dst(rt, dst) < 0) {
		rtnl_route_nh_free(nh);
		return NULL;
	}
	rtnl_route_set_table(rt, route->table);
	rtnl_route_set_protocol(rt, WR_NETCFG_RTPROT);
	rtnl_route_set_priority(rt, route->metric);
	rtnl_route_set_type(rt, RTN_UNICAST);
	/* what ip(8) gives a gatewayless route: link scope for IPv4, IPv6 routes are global */
	rtnl_route_set_scope(rt, route->dst.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
	rtnl_route_nh_set_ifindex(nh, self->ifindex);
	rtnl_route_add_nexthop(rt, nh);
	return g_steal_pointer(&rt);
}

static WrRtnlRule *
rule_object(const WrNetcfgRule *rule)
{
	g_autoptr(WrRtnlRule) r = rtnl_rule_alloc();

	if (r == NULL)
		return NULL;
	rtnl_rule_set_family(r, rule->family);
	rtnl_rule_set_prio(r, rule->priority);
	rtnl_rule_set_action(r, rule->action);
	if (rule->fwmark != 0 || rule->fwmask != 0) {
		rtnl_rule_set_mark(r, rule->fwmark);
		rtnl_rule_set_mask(r, rule->fwmask);
	}
	if (rule->action == WR_NETCFG_RULE_LOOKUP)
		rtnl_rule_set_table(r, rule->table);
	/* on removal too: the kernel then only matches a rule of ours */
	if (rtnl_rule_set_protocol(r, WR_NETCFG_RTPROT) < 0)
		return NULL;
	return g_steal_pointer(&r);
}

/* a rule with suppress_prefixlength: libnl builds the message, the attribute is added here */
static int
rule_send_suppress(WrNetcfg *self, struct rtnl_rule *rule, const WrNetcfgOp *op)
{
	struct nl_msg *msg = NULL;
	int r;

	if (op->kind == WR_NETCFG_OP_ADD_RULE)
		r = rtnl_rule_build_add_request(rule, NLM_F_EXCL, &msg);
	else
		r = rtnl_rule_build_delete_request(rule, 0, &msg);
	if (r < 0)
		return r;
	r = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, op->rule.suppress_prefixlength);
	if (r >= 0)
		r = nl_send_auto_complete(self->sock, msg);
	nlmsg_free(msg);
	if (r < 0)
		return r;
	return nl_wait_for_ack(self->sock);
}

static void
owned_remove(WrNetcfg *self, const WrCidr *c)
{
	for (guint i = 0; i < self->owned->len; i++) {
		if (wr_netcfg_cidr_equal(&g_array_index(self->owned, WrCidr, i), c)) {
			g_array_remove_index_fast(self->owned, i);
			return;
		}
	}
}

/* what the operation is about, for its error message: "route 192.0.2.0/24 dev wr0" */
static void
op_subject(WrNetcfg *self, const WrNetcfgOp *op, char *out, size_t out_len)
{
	char text[WR_NETCFG_ROUTE_STRLEN];

	switch (op->kind) {
	case WR_NETCFG_OP_SET_MTU:
		g_snprintf(out, out_len, "mtu %u dev %s", op->mtu, self->ifname);
		return;
	case WR_NETCFG_OP_LINK_UP:
		g_snprintf(out, out_len, "link %s up", self->ifname);
		return;
	case WR_NETCFG_OP_ADD_ADDR:
	case WR_NETCFG_OP_DEL_ADDR:
		wr_cidr_format(&op->addr, text);
		g_snprintf(out, out_len, "%saddress %s dev %s",
			   op->kind == WR_NETCFG_OP_DEL_ADDR ? "removing " : "", text,
			   self->ifname);
		return;
	case WR_NETCFG_OP_ADD_ROUTE:
	case WR_NETCFG_OP_DEL_ROUTE:
		wr_netcfg_route_format(&op->route, self->ifname, text);
		g_snprintf(out, out_len, "%sroute %s",
			   op->kind == WR_NETCFG_OP_DEL_ROUTE ? "removing " : "", text);
		return;
	case WR_NETCFG_OP_ADD_RULE:
	case WR_NETCFG_OP_DEL_RULE:
		wr_netcfg_rule_format(&op->rule, text);
		g_snprintf(out, out_len, "%srule %s",
			   op->kind == WR_NETCFG_OP_DEL_RULE ? "removing " : "", text);
		return;
	}
	g_snprintf(out, out_len, "operation %d", (int) op->kind);
}

/* performs one operation; returns 0 or a positive errno */
static int
perform(WrNetcfg *self, struct rtnl_link *link, const WrNetcfgOp *op)
{
	int r = -NLE_NOMEM;

	self->last_errno = 0;
	switch (op->kind) {
	case WR_NETCFG_OP_SET_MTU:
	case WR_NETCFG_OP_LINK_UP: {
		g_autoptr(WrRtnlLink) change = rtnl_link_alloc();

		if (change == NULL)
			break;
		if (op->kind == WR_NETCFG_OP_SET_MTU)
			rtnl_link_set_mtu(change, op->mtu);
		else
			rtnl_link_set_flags(change, IFF_UP);
		r = rtnl_link_change(self->sock, link, change, 0);
		break;
	}
	case WR_NETCFG_OP_ADD_ADDR:
	case WR_NETCFG_OP_DEL_ADDR: {
		g_autoptr(WrRtnlAddr) a = addr_object(self, &op->addr);

		if (a == NULL)
			break;
		if (op->kind == WR_NETCFG_OP_ADD_ADDR) {
			r = rtnl_addr_add(self->sock, a, NLM_F_EXCL);
			if (r >= 0)
				g_array_append_val(self->owned, op->addr);
		} else {
			r = rtnl_addr_delete(self->sock, a, 0);
			/* gone already: as good as removed */
			if (r < 0 && self->last_errno == EADDRNOTAVAIL)
				r = 0;
			if (r >= 0)
				owned_remove(self, &op->addr);
		}
		break;
	}
	case WR_NETCFG_OP_ADD_ROUTE:
	case WR_NETCFG_OP_DEL_ROUTE: {
		g_autoptr(WrRtnlRoute) rt = route_object(self, &op->route);

		if (rt == NULL)
			break;
		if (op->kind == WR_NETCFG_OP_ADD_ROUTE) {
			r = rtnl_route_add(self->sock, rt, NLM_F_EXCL);
		} else {
			r = rtnl_route_delete(self->sock, rt, 0);
			if (r < 0 && (self->last_errno == ESRCH || self->last_errno == ENOENT))
				r = 0;
		}
		break;
	}
	case WR_NETCFG_OP_ADD_RULE:
	case WR_NETCFG_OP_DEL_RULE: {
		g_autoptr(WrRtnlRule) rule = rule_object(&op->rule);

		if (rule == NULL)
			break;
		if (op->rule.suppress) {
			r = rule_send_suppress(self, rule, op);
			if (r < 0 && op->kind == WR_NETCFG_OP_DEL_RULE &&
			    self->last_errno == ENOENT)
				r = 0;
		} else if (op->kind == WR_NETCFG_OP_ADD_RULE) {
			r = rtnl_rule_add(self->sock, rule, NLM_F_EXCL);
		} else {
			r = rtnl_rule_delete(self->sock, rule, 0);
			if (r < 0 && self->last_errno == ENOENT)
				r = 0;
		}
		break;
	}
	}
	if (r >= 0)
		return 0;
	if (self->last_errno > 0)
		return self->last_errno;
	return r == -NLE_NOMEM ? ENOMEM : EIO;
}

static gboolean
run_ops(WrNetcfg *self, struct rtnl_link *link, GArray *ops, guint *out_changes, GError **error)
{
	g_autoptr(GError) first = NULL;
	guint failed = 0;
	guint done = 0;

	for (guint i = 0; i < ops->len; i++) {
		const WrNetcfgOp *op = &g_array_index(ops, WrNetcfgOp, i);
		char text[WR_NETCFG_OP_STRLEN + IF_NAMESIZE + 16];
		int e;

		e = perform(self, link, op);
		if (e == 0) {
			done++;
			continue;
		}
		failed++;
		if (first == NULL) {
			op_subject(self, op, text, sizeof(text));
			first = g_error_new(G_IO_ERROR, g_io_error_from_errno(e), "%s: %s", text,
					    g_strerror(e));
		}
	}
	if (out_changes != NULL)
		*out_changes = done;
	if (first != NULL) {
		if (failed > 1)
			g_prefix_error(&first, "%u of %u changes failed; the first: ", failed,
				       ops->len);
		g_propagate_error(error, g_steal_pointer(&first));
		return FALSE;
	}
	return TRUE;
}

/* forgets addresses someone else removed, so that a later address of theirs with the same
 * value is not taken for ours */
static void
prune_owned(WrNetcfg *self, const WrNetcfgState *state)
{
	for (guint i = self->owned->len; i > 0; i--) {
		const WrCidr *c = &g_array_index(self->owned, WrCidr, i - 1);
		bool present = false;

		for (guint j = 0; j < state->addrs->len && !present; j++)
			present = wr_netcfg_cidr_equal(&g_array_index(state->addrs, WrCidr, j), c);
		if (!present)
			g_array_remove_index_fast(self->owned, i - 1);
	}
}

gboolean
wr_netcfg_apply(WrNetcfg *self, const WrNetcfgConfig *config, guint *out_changes, GError **error)
{
	g_autoptr(WrNetcfgState) state = NULL;
	g_autoptr(WrRtnlLink) link = NULL;
	g_autoptr(GArray) ops = NULL;

	if (!wr_netcfg_config_validate(config, error))
		return FALSE;
	state = read_state(self, &link, error);
	if (state == NULL)
		return FALSE;
	prune_owned(self, state);
	ops = wr_netcfg_diff(config, state, self->owned);
	return run_ops(self, link, ops, out_changes, error);
}

gboolean
wr_netcfg_teardown(WrNetcfg *self, guint *out_changes, GError **error)
{
	g_autoptr(WrNetcfgState) state = NULL;
	g_autoptr(WrRtnlLink) link = NULL;
	g_autoptr(GArray) ops = NULL;

	state = read_state(self, &link, error);
	if (state == NULL)
		return FALSE;
	prune_owned(self, state);
	ops = wr_netcfg_diff(NULL, state, self->owned);
	return run_ops(self, link, ops, out_changes, error);
}
