/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's nftables table; see wr-firewall.h for the contract.
 */

#define G_LOG_DOMAIN "WrFirewall"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <nftables/libnftables.h>

#include "wr-firewall.h"

#define SYSCTL_V4 "/proc/sys/net/ipv4/ip_forward"
#define SYSCTL_V6 "/proc/sys/net/ipv6/conf/all/forwarding"

static gboolean
ifname_ok(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len >= IFNAMSIZ)
		return FALSE;
	for (size_t i = 0; i < len; i++) {
		/* the name is quoted into the script: nothing that could end the quotes */
		if (!g_ascii_isalnum(name[i]) && strchr("-_.@", name[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}

static gboolean
cidr_has_host_bits(const WrCidr *c)
{
	WrCidr m = *c;

	wr_cidr_mask(&m);
	return memcmp(m.addr, c->addr, sizeof(m.addr)) != 0;
}

static gboolean
cidr_valid(const WrCidr *c)
{
	return (c->family == AF_INET && c->cidr <= 32) || (c->family == AF_INET6 && c->cidr <= 128);
}

/* one prefix holds the other: the shorter one's mask applied to both gives the same */
static gboolean
cidr_overlaps(const WrCidr *a, const WrCidr *b)
{
	WrCidr x = *a, y = *b;

	if (a->family != b->family)
		return FALSE;
	x.cidr = y.cidr = MIN(a->cidr, b->cidr);
	wr_cidr_mask(&x);
	wr_cidr_mask(&y);
	return memcmp(x.addr, y.addr, sizeof(x.addr)) == 0;
}

static const char *
family_word(const WrCidr *c)
{
	return c->family == AF_INET ? "ip" : "ip6";
}

static gboolean
check_config(const WrFirewallConfig *config, GError **error)
{
	char text[WR_CIDR_STRLEN];
	guint n_routes = config->routes != NULL ? config->routes->len : 0;
	guint n_tailnet = config->tailnet != NULL ? config->tailnet->len : 0;

	if (!ifname_ok(config->tun)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "interface name \"%s\": not a usable interface name",
			    config->tun != NULL ? config->tun : "");
		return FALSE;
	}
	if (n_tailnet == 0 || n_tailnet > WR_FIREWALL_MAX_TAILNET) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%u tailnet ranges: 1 to %u are needed", n_tailnet,
			    WR_FIREWALL_MAX_TAILNET);
		return FALSE;
	}
	if (n_routes > WR_FIREWALL_MAX_ROUTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%u routes: at most %u",
			    n_routes, WR_FIREWALL_MAX_ROUTES);
		return FALSE;
	}
	for (guint i = 0; i < n_tailnet; i++) {
		const WrCidr *t = &g_array_index(config->tailnet, WrCidr, i);

		if (!cidr_valid(t) || t->cidr == 0 || cidr_has_host_bits(t)) {
			if (cidr_valid(t))
				wr_cidr_format(t, text);
			else
				g_strlcpy(text, "?", sizeof(text));
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "tailnet range %s: not a network prefix", text);
			return FALSE;
		}
	}
	for (guint i = 0; i < n_routes; i++) {
		const WrCidr *r = &g_array_index(config->routes, WrCidr, i);

		if (!cidr_valid(r)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "route %u: not an IPv4 or IPv6 prefix", i);
			return FALSE;
		}
		wr_cidr_format(r, text);
		if (cidr_has_host_bits(r)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "route %s: host bits are set", text);
			return FALSE;
		}
		if (r->cidr == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "route %s: a default route is an exit node, not a subnet route",
				    text);
			return FALSE;
		}
		for (guint j = 0; j < n_tailnet; j++) {
			if (cidr_overlaps(r, &g_array_index(config->tailnet, WrCidr, j))) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "route %s: overlaps the tailnet", text);
				return FALSE;
			}
		}
	}
	return TRUE;
}

char *
wr_firewall_script(const WrFirewallConfig *config, GError **error)
{
	g_autoptr(GString) s = g_string_new(NULL);
	char text[WR_CIDR_STRLEN];
	const char *tun = config->tun;

	if (!check_config(config, error))
		return NULL;

	/* create-if-absent then delete: one transaction replaces whatever was there */
	g_string_append(s, "table inet " WR_FIREWALL_TABLE "\n");
	g_string_append(s, "delete table inet " WR_FIREWALL_TABLE "\n");
	g_string_append(s, "table inet " WR_FIREWALL_TABLE " {\n");

	/* anti-spoof before conntrack (priority raw): a spoofed packet leaves no state */
	g_string_append(s, "\tchain prerouting {\n"
			   "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	/* the node's own packets to its own tailnet address come back in on lo */
	g_string_append(s, "\t\tiifname \"lo\" accept\n");
	g_string_append_printf(s, "\t\tiifname \"%s\" accept\n", tun);
	for (guint i = 0; i < config->tailnet->len; i++) {
		const WrCidr *t = &g_array_index(config->tailnet, WrCidr, i);

		wr_cidr_format(t, text);
		g_string_append_printf(s, "\t\t%s saddr %s drop\n", family_word(t), text);
	}
	g_string_append(s, "\t}\n");

	g_string_append(s, "\tchain forward {\n"
			   "\t\ttype filter hook forward priority filter; policy accept;\n");
	g_string_append_printf(s, "\t\tiifname \"%s\" jump from_tun\n", tun);
	g_string_append(s, "\t}\n");

	/* what a peer may reach through this node: never the tailnet itself (peers talk to
	 * each other directly), the approved routes, and with an exit node all the rest */
	g_string_append(s, "\tchain from_tun {\n");
	for (guint i = 0; i < config->tailnet->len; i++) {
		const WrCidr *t = &g_array_index(config->tailnet, WrCidr, i);

		wr_cidr_format(t, text);
		g_string_append_printf(s, "\t\t%s daddr %s drop\n", family_word(t), text);
	}
	for (guint i = 0; config->routes != NULL && i < config->routes->len; i++) {
		const WrCidr *r = &g_array_index(config->routes, WrCidr, i);

		wr_cidr_format(r, text);
		g_string_append_printf(s, "\t\t%s daddr %s accept\n", family_word(r), text);
	}
	g_string_append(s, config->exit_node ? "\t\taccept\n" : "\t\tdrop\n");
	g_string_append(s, "\t}\n");

	/* only what from_tun accepted gets here from the TUN */
	g_string_append(s, "\tchain postrouting {\n"
			   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	g_string_append_printf(s, "\t\tiifname \"%s\" oifname != \"%s\" masquerade\n", tun, tun);
	g_string_append(s, "\t}\n");

	g_string_append(s, "}\n");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static gboolean
run_nft(const char *script, GError **error)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	gboolean ok;

	if (nft == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot create an nftables context");
		return FALSE;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	ok = nft_run_cmd_from_buffer(nft, script) == 0;
	if (!ok) {
		g_autofree char *msg = g_strstrip(g_strdup(nft_ctx_get_error_buffer(nft)));

		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables: %s",
			    *msg != '\0' ? msg : "the ruleset was refused");
	}
	nft_ctx_free(nft);
	return ok;
}

gboolean
wr_firewall_apply(const char *script, GError **error)
{
	return run_nft(script, error);
}

gboolean
wr_firewall_remove(GError **error)
{
	/* creating it first makes the delete succeed when there is no table */
	return run_nft("table inet " WR_FIREWALL_TABLE "\n"
		       "delete table inet " WR_FIREWALL_TABLE "\n",
		       error);
}

/* ---- IP forwarding ---- */

static gboolean
sysctl_read(const char *path, char out[8], GError **error)
{
	g_autofree char *data = NULL;

	if (!g_file_get_contents(path, &data, NULL, error))
		return FALSE;
	g_strstrip(data);
	if (strlen(data) >= 8) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: unexpected value",
			    path);
		return FALSE;
	}
	g_strlcpy(out, data, 8);
	return TRUE;
}

static gboolean
sysctl_write(const char *path, const char *value, GError **error)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	gboolean ok;

	if (fd < 0) {
		int e = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: %s", path,
			    g_strerror(e));
		return FALSE;
	}
	ok = write(fd, value, len) == (ssize_t) len;
	if (!ok) {
		int e = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: %s", path,
			    g_strerror(e));
	}
	close(fd);
	return ok;
}

gboolean
wr_forwarding_enable(WrForwarding *self, GError **error)
{
	if (!self->saved) {
		if (!sysctl_read(SYSCTL_V4, self->old_v4, error))
			return FALSE;
		/* a kernel without IPv6 has no such file: nothing to switch or restore */
		if (!sysctl_read(SYSCTL_V6, self->old_v6, NULL))
			self->old_v6[0] = '\0';
	}
	if (!sysctl_write(SYSCTL_V4, "1", error))
		return FALSE;
	self->saved = TRUE;
	if (self->old_v6[0] != '\0' && !sysctl_write(SYSCTL_V6, "1", error))
		return FALSE;
	return TRUE;
}

gboolean
wr_forwarding_restore(WrForwarding *self, GError **error)
{
	gboolean ok = TRUE;

	if (!self->saved)
		return TRUE;
	if (!sysctl_write(SYSCTL_V4, self->old_v4, error))
		ok = FALSE;
	if (self->old_v6[0] != '\0' && !sysctl_write(SYSCTL_V6, self->old_v6, ok ? error : NULL))
		ok = FALSE;
	self->saved = FALSE;
	return ok;
}
