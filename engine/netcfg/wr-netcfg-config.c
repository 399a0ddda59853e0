/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrNetcfg"

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-netcfg-config.h"

WrNetcfgConfig *
wr_netcfg_config_new(void)
{
	WrNetcfgConfig *self = g_new0(WrNetcfgConfig, 1);

	self->addrs = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	self->routes = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	self->rules = g_array_new(FALSE, TRUE, sizeof(WrNetcfgRule));
	return self;
}

WrNetcfgConfig *
wr_netcfg_config_copy(const WrNetcfgConfig *self)
{
	WrNetcfgConfig *copy = wr_netcfg_config_new();

	copy->mtu = self->mtu;
	copy->table = self->table;
	copy->metric = self->metric;
	g_array_append_vals(copy->addrs, self->addrs->data, self->addrs->len);
	g_array_append_vals(copy->routes, self->routes->data, self->routes->len);
	g_array_append_vals(copy->rules, self->rules->data, self->rules->len);
	return copy;
}

void
wr_netcfg_config_free(WrNetcfgConfig *self)
{
	if (self == NULL)
		return;
	g_array_unref(self->addrs);
	g_array_unref(self->routes);
	g_array_unref(self->rules);
	g_free(self);
}

void
wr_netcfg_config_add_address(WrNetcfgConfig *self, const WrCidr *addr)
{
	g_array_append_val(self->addrs, *addr);
}

void
wr_netcfg_config_add_route(WrNetcfgConfig *self, const WrCidr *dst)
{
	g_array_append_val(self->routes, *dst);
}

void
wr_netcfg_config_add_rule(WrNetcfgConfig *self, const WrNetcfgRule *rule)
{
	g_array_append_val(self->rules, *rule);
}

uint32_t
wr_netcfg_config_get_mtu(const WrNetcfgConfig *self)
{
	return self->mtu != 0 ? self->mtu : WR_NETCFG_MTU_DEFAULT;
}

uint32_t
wr_netcfg_config_get_table(const WrNetcfgConfig *self)
{
	return self->table != 0 ? self->table : WR_NETCFG_TABLE_MAIN;
}

static unsigned int
family_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

static bool
cidr_family_ok(const WrCidr *c)
{
	return (c->family == AF_INET || c->family == AF_INET6) && c->cidr <= family_bits(c->family);
}

static bool
addr_is_zero(const WrCidr *c)
{
	size_t n = c->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		if (c->addr[i] != 0)
			return false;
	}
	return true;
}

bool
wr_netcfg_cidr_equal(const WrCidr *a, const WrCidr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->cidr == b->cidr && memcmp(a->addr, b->addr, n) == 0;
}

bool
wr_netcfg_route_equal(const WrNetcfgRoute *a, const WrNetcfgRoute *b)
{
	return wr_netcfg_cidr_equal(&a->dst, &b->dst) && a->table == b->table &&
	       a->metric == b->metric;
}

WrNetcfgRule
wr_netcfg_rule_for(const WrNetcfgConfig *config, const WrNetcfgRule *rule)
{
	WrNetcfgRule r = *rule;

	if (r.action == WR_NETCFG_RULE_LOOKUP) {
		if (r.table == 0)
			r.table = wr_netcfg_config_get_table(config);
	} else {
		r.table = 0;
	}
	if (r.fwmark != 0 && r.fwmask == 0)
		r.fwmask = G_MAXUINT32;
	return r;
}

bool
wr_netcfg_rule_equal(const WrNetcfgRule *a, const WrNetcfgRule *b)
{
	return a->family == b->family && a->action == b->action && a->priority == b->priority &&
	       a->fwmark == b->fwmark && a->fwmask == b->fwmask && a->table == b->table &&
	       a->suppress == b->suppress &&
	       (!a->suppress || a->suppress_prefixlength == b->suppress_prefixlength);
}

void
wr_netcfg_rule_format(const WrNetcfgRule *rule, char out[WR_NETCFG_RULE_STRLEN])
{
	char mark[32] = "";
	char action[32];
	char suppress[32] = "";

	if (rule->fwmark != 0 || rule->fwmask != 0)
		g_snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", rule->fwmark, rule->fwmask);
	if (rule->action == WR_NETCFG_RULE_UNREACHABLE)
		g_snprintf(action, sizeof(action), "unreachable");
	else if (rule->action != WR_NETCFG_RULE_LOOKUP)
		g_snprintf(action, sizeof(action), "action %u", rule->action);
	else if (rule->table == WR_NETCFG_TABLE_MAIN)
		g_snprintf(action, sizeof(action), "lookup main");
	else
		g_snprintf(action, sizeof(action), "lookup %u", rule->table);
	if (rule->suppress)
		g_snprintf(suppress, sizeof(suppress), " suppress_prefixlength %u",
			   rule->suppress_prefixlength);
	g_snprintf(out, WR_NETCFG_RULE_STRLEN, "%s %u%s %s%s",
		   rule->family == AF_INET    ? "ipv4"
		   : rule->family == AF_INET6 ? "ipv6"
					      : "family?",
		   rule->priority, mark, action, suppress);
}

void
wr_netcfg_route_format(const WrNetcfgRoute *route, const char *dev,
		       char out[WR_NETCFG_ROUTE_STRLEN])
{
	char dst[WR_CIDR_STRLEN] = "?";
	char table[24] = "";
	char metric[24] = "";
	uint32_t default_metric = route->dst.family == AF_INET6 ? WR_NETCFG_IPV6_DEFAULT_METRIC : 0;

	if (route->dst.family == AF_INET || route->dst.family == AF_INET6)
		wr_cidr_format(&route->dst, dst);
	if (route->table != WR_NETCFG_TABLE_MAIN)
		g_snprintf(table, sizeof(table), " table %u", route->table);
	if (route->metric != default_metric)
		g_snprintf(metric, sizeof(metric), " metric %u", route->metric);
	g_snprintf(out, WR_NETCFG_ROUTE_STRLEN, "%s%s%s%s%s", dst, dev != NULL ? " dev " : "",
		   dev != NULL ? dev : "", table, metric);
}

static gboolean
validate_cidr(const char *what, const WrCidr *c, bool is_route, GError **error)
{
	char text[WR_CIDR_STRLEN];
	WrCidr masked;

	if (!cidr_family_ok(c)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: not an IPv4 or IPv6 prefix (family %u, length %u)", what,
			    c->family, c->cidr);
		return FALSE;
	}
	wr_cidr_format(c, text);
	if (!is_route) {
		/* the unspecified address is "any", not an address to give a link */
		if (addr_is_zero(c)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s %s: the unspecified address", what, text);
			return FALSE;
		}
		return TRUE;
	}
	/* the kernel refuses IPv4 routes with host bits and quietly clears them for IPv6, which
	 * would make the route read back as a different one at every apply */
	masked = *c;
	wr_cidr_mask(&masked);
	if (!wr_netcfg_cidr_equal(&masked, c)) {
		char fixed[WR_CIDR_STRLEN];

		wr_cidr_format(&masked, fixed);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s %s: host bits are set (%s?)", what, text, fixed);
		return FALSE;
	}
	return TRUE;
}

static gboolean
validate_rule(const WrNetcfgRule *rule, GError **error)
{
	char text[WR_NETCFG_RULE_STRLEN];

	wr_netcfg_rule_format(rule, text);
	if (rule->family != AF_INET && rule->family != AF_INET6) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: not an IPv4 or IPv6 rule", text);
		return FALSE;
	}
	if (rule->action != WR_NETCFG_RULE_LOOKUP && rule->action != WR_NETCFG_RULE_UNREACHABLE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: neither lookup nor unreachable", text);
		return FALSE;
	}
	/* priority 0 is the kernel's rule for the local table */
	if (rule->priority == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: priority 0 belongs to the local table's rule", text);
		return FALSE;
	}
	if (rule->fwmask != 0 && (rule->fwmark & ~rule->fwmask) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: the mark has bits outside the mask", text);
		return FALSE;
	}
	if (rule->suppress && rule->action != WR_NETCFG_RULE_LOOKUP) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: suppress_prefixlength needs a lookup", text);
		return FALSE;
	}
	if (rule->suppress && rule->suppress_prefixlength > (rule->family == AF_INET ? 32 : 128)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: suppress_prefixlength is longer than an address", text);
		return FALSE;
	}
	if (rule->action == WR_NETCFG_RULE_LOOKUP && rule->table == WR_NETCFG_TABLE_LOCAL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "rule %s: the kernel's local table", text);
		return FALSE;
	}
	return TRUE;
}

gboolean
wr_netcfg_config_validate(const WrNetcfgConfig *self, GError **error)
{
	uint32_t mtu = wr_netcfg_config_get_mtu(self);
	uint32_t table = wr_netcfg_config_get_table(self);
	bool any_v6 = false;

	if (self->addrs->len > WR_NETCFG_MAX_ADDRS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%u addresses: at most %u are allowed", self->addrs->len,
			    WR_NETCFG_MAX_ADDRS);
		return FALSE;
	}
	if (self->routes->len > WR_NETCFG_MAX_ROUTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%u routes: at most %u are allowed", self->routes->len,
			    WR_NETCFG_MAX_ROUTES);
		return FALSE;
	}
	if (self->rules->len > WR_NETCFG_MAX_RULES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%u rules: at most %u are allowed", self->rules->len,
			    WR_NETCFG_MAX_RULES);
		return FALSE;
	}
	for (guint i = 0; i < self->rules->len; i++) {
		if (!validate_rule(&g_array_index(self->rules, WrNetcfgRule, i), error))
			return FALSE;
	}
	if (table == WR_NETCFG_TABLE_LOCAL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "table %u: the kernel's local table", table);
		return FALSE;
	}
	for (guint i = 0; i < self->addrs->len; i++) {
		const WrCidr *c = &g_array_index(self->addrs, WrCidr, i);

		if (!validate_cidr("address", c, false, error))
			return FALSE;
		any_v6 |= c->family == AF_INET6;
	}
	for (guint i = 0; i < self->routes->len; i++) {
		const WrCidr *c = &g_array_index(self->routes, WrCidr, i);

		if (!validate_cidr("route", c, true, error))
			return FALSE;
		any_v6 |= c->family == AF_INET6;
	}
	if (mtu < WR_NETCFG_MTU_MIN || mtu > WR_NETCFG_MTU_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "mtu %u: out of range %u..%u", mtu, WR_NETCFG_MTU_MIN,
			    WR_NETCFG_MTU_MAX);
		return FALSE;
	}
	/* below 1280 the kernel turns IPv6 off on the link, addresses and routes with it */
	if (any_v6 && mtu < WR_NETCFG_MTU_IPV6_MIN) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "mtu %u: IPv6 needs at least %u", mtu, WR_NETCFG_MTU_IPV6_MIN);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_u32(const char *word, uint32_t max, uint32_t *out)
{
	return wr_parse_decimal(word, strlen(word), max, out);
}

/* decimal, or 0x and 1 to 8 hex digits */
static gboolean
parse_mark(const char *word, uint32_t *out)
{
	uint32_t v = 0;
	size_t n;

	if (!g_str_has_prefix(word, "0x"))
		return parse_u32(word, G_MAXUINT32, out);
	n = strlen(word + 2);
	if (n == 0 || n > 8)
		return FALSE;
	for (size_t i = 0; i < n; i++) {
		int d = g_ascii_xdigit_value(word[2 + i]);

		if (d < 0)
			return FALSE;
		v = v << 4 | (uint32_t) d;
	}
	*out = v;
	return TRUE;
}

/* rule ipv4|ipv6 PRIORITY [fwmark MARK[/MASK]]
 *      (lookup TABLE|main [suppress_prefixlength N] | unreachable) */
static gboolean
parse_rule(WrNetcfgConfig *config, const char *const *w, guint n, GError **error)
{
	WrNetcfgRule rule;
	guint i = 2;

	memset(&rule, 0, sizeof(rule));
	if (n < 3) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule: expected ipv4|ipv6 PRIORITY [fwmark MARK[/MASK]] "
				    "lookup TABLE|unreachable");
		return FALSE;
	}
	if (g_str_equal(w[0], "ipv4")) {
		rule.family = AF_INET;
	} else if (g_str_equal(w[0], "ipv6")) {
		rule.family = AF_INET6;
	} else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule: family '%s' is neither ipv4 nor ipv6", w[0]);
		return FALSE;
	}
	if (!parse_u32(w[1], G_MAXUINT32, &rule.priority)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule: priority '%s' is not a number", w[1]);
		return FALSE;
	}
	if (g_str_equal(w[i], "fwmark")) {
		g_auto(GStrv) parts = NULL;

		if (i + 1 >= n) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "rule: fwmark without a value");
			return FALSE;
		}
		parts = g_strsplit(w[i + 1], "/", 3);
		if (!parse_mark(parts[0], &rule.fwmark) ||
		    (parts[1] != NULL &&
		     (parts[2] != NULL || !parse_mark(parts[1], &rule.fwmask)))) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule: fwmark '%s' is not MARK or MARK/MASK", w[i + 1]);
			return FALSE;
		}
		i += 2;
	}
	if (i + 1 == n && g_str_equal(w[i], "unreachable")) {
		rule.action = WR_NETCFG_RULE_UNREACHABLE;
	} else if ((i + 2 == n || (i + 4 == n && g_str_equal(w[i + 2], "suppress_prefixlength"))) &&
		   g_str_equal(w[i], "lookup")) {
		rule.action = WR_NETCFG_RULE_LOOKUP;
		if (i + 4 == n) {
			uint32_t len;

			if (!parse_u32(w[i + 3], 128, &len)) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "rule: suppress_prefixlength '%s' is not a number "
					    "0..128",
					    w[i + 3]);
				return FALSE;
			}
			rule.suppress = true;
			rule.suppress_prefixlength = (uint8_t) len;
		}
		if (g_str_equal(w[i + 1], "main")) {
			rule.table = WR_NETCFG_TABLE_MAIN;
		} else if (!parse_u32(w[i + 1], G_MAXUINT32, &rule.table) || rule.table == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule: table '%s' is not main or a number 1..%u", w[i + 1],
				    G_MAXUINT32);
			return FALSE;
		}
	} else {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule: expected 'lookup TABLE [suppress_prefixlength N]' or "
				    "'unreachable' at the end");
		return FALSE;
	}
	if (!validate_rule(&rule, error))
		return FALSE;
	if (config->rules->len >= WR_NETCFG_MAX_RULES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "more than %u rules",
			    WR_NETCFG_MAX_RULES);
		return FALSE;
	}
	g_array_append_val(config->rules, rule);
	return TRUE;
}

static gboolean
parse_line(WrNetcfgConfig *config, char *line, GError **error)
{
	g_auto(GStrv) words = NULL;
	g_autoptr(GPtrArray) w = g_ptr_array_new();
	const char *key;
	const char *value;
	WrCidr cidr;

	/* split on runs of blanks, no empty words */
	words = g_strsplit_set(line, " \t\r", -1);
	for (guint i = 0; words[i] != NULL; i++) {
		if (words[i][0] != '\0')
			g_ptr_array_add(w, words[i]);
	}
	if (w->len == 0)
		return TRUE;
	key = w->pdata[0];
	if (g_str_equal(key, "rule"))
		return parse_rule(config, (const char *const *) w->pdata + 1, w->len - 1, error);
	if (w->len != 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' takes exactly one value, got %u", key, w->len - 1);
		return FALSE;
	}
	value = w->pdata[1];
	if (g_str_equal(key, "mtu")) {
		if (!parse_u32(value, WR_NETCFG_MTU_MAX, &config->mtu)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "mtu '%s': not a number up to %u", value, WR_NETCFG_MTU_MAX);
			return FALSE;
		}
	} else if (g_str_equal(key, "table")) {
		if (!parse_u32(value, G_MAXUINT32, &config->table) || config->table == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "table '%s': not a table number 1..%u", value, G_MAXUINT32);
			return FALSE;
		}
	} else if (g_str_equal(key, "metric")) {
		if (!parse_u32(value, G_MAXUINT32, &config->metric)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "metric '%s': not a number", value);
			return FALSE;
		}
	} else if (g_str_equal(key, "address") || g_str_equal(key, "route")) {
		bool is_route = g_str_equal(key, "route");
		GArray *list = is_route ? config->routes : config->addrs;
		guint max = is_route ? WR_NETCFG_MAX_ROUTES : WR_NETCFG_MAX_ADDRS;

		if (!wr_cidr_parse(&cidr, value)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s '%s': not an address/prefix-length", key, value);
			return FALSE;
		}
		if (!validate_cidr(key, &cidr, is_route, error))
			return FALSE;
		/* checked here too, so that a huge file fails early and names its line */
		if (list->len >= max) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "more than %u %ses",
				    max, key);
			return FALSE;
		}
		g_array_append_val(list, cidr);
	} else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "unknown directive '%s' (mtu, table, metric, address, route, rule)",
			    key);
		return FALSE;
	}
	return TRUE;
}

/* one domain and code for every complaint about the text, whichever check made it */
static void
as_invalid_data(GError **error)
{
	if (error != NULL && *error != NULL)
		(*error)->code = G_IO_ERROR_INVALID_DATA;
}

WrNetcfgConfig *
wr_netcfg_config_parse(const char *text, size_t len, GError **error)
{
	g_autoptr(WrNetcfgConfig) config = wr_netcfg_config_new();
	size_t pos = 0;
	guint lineno = 0;

	if (memchr(text, '\0', len) != NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "configuration text contains a NUL byte");
		return NULL;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t) (nl - (text + pos)) : len - pos;
		g_autofree char *line = NULL;
		char *hash;

		lineno++;
		if (line_len > WR_NETCFG_MAX_LINE) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "line %u: longer than %u bytes", lineno, WR_NETCFG_MAX_LINE);
			return NULL;
		}
		line = g_strndup(text + pos, line_len);
		pos += line_len + (nl != NULL ? 1 : 0);
		if (!g_utf8_validate(line, -1, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "line %u: not valid UTF-8", lineno);
			return NULL;
		}
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		if (!parse_line(config, line, error)) {
			as_invalid_data(error);
			g_prefix_error(error, "line %u: ", lineno);
			return NULL;
		}
	}
	if (!wr_netcfg_config_validate(config, error)) {
		as_invalid_data(error);
		return NULL;
	}
	return g_steal_pointer(&config);
}
