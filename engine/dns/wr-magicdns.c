/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS in warrend (wr-magicdns.h): the map into the resolver, the server's life, the
 * upstream choice and systemd-resolved.
 */
#define G_LOG_DOMAIN "WrMagicDns"

#include "config.h"

#include <net/if.h>
#include <string.h>

#include "wr-dns-resolved.h"
#include "wr-dns-resolver.h"
#include "wr-dns-server.h"
#include "wr-magicdns.h"

/* systemd-resolved's stub listeners: forwarding there would come back to us */
#define RESOLVED_STUB	    "127.0.0.53"
#define RESOLVED_STUB_PROXY "127.0.0.54"

struct _WrMagicDns {
	char *ifname;
	GStrv system_upstreams;
	WrDnsResolver *resolver;
	WrDnsServer *server;
	GStrv upstreams; /* in use */
	char *server_problem;
	char *resolved_problem;
	char *problem; /* the two joined, for Health */
	/* what resolved was told, and for which interface; NULL / 0: nothing */
	char *resolved_domain;
	int resolved_ifindex;
	gboolean resolved_all; /* resolved was told to send every name here */
	gboolean all_names;    /* an exit node is in use: every name should come here */
	GCancellable *cancel;
	WrMagicDnsChangedFunc changed;
	gpointer user_data;
};

static gboolean
is_ours(const char *addr, gpointer user_data)
{
	(void) user_data;
	return strcmp(addr, WR_MAGICDNS_ADDR4) == 0 || strcmp(addr, WR_MAGICDNS_ADDR6) == 0 ||
	       strcmp(addr, RESOLVED_STUB) == 0 || strcmp(addr, RESOLVED_STUB_PROXY) == 0;
}

static gboolean
names_stub(const char *text)
{
	g_auto(GStrv) all = wr_dns_parse_resolv_conf(text, WR_MAGICDNS_MAX_UPSTREAMS, NULL, NULL);

	return g_strv_contains((const char *const *) all, RESOLVED_STUB);
}

static GStrv
read_system_upstreams(const char *path)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		g_warning("MagicDNS: no upstream name servers: %s", error->message);
		return g_new0(char *, 1);
	}
	if (names_stub(text)) {
		g_autofree char *resolved = NULL;

		if (g_file_get_contents(WR_MAGICDNS_RESOLVED_UPSTREAMS, &resolved, NULL, &error)) {
			g_free(text);
			text = g_steal_pointer(&resolved);
		} else {
			g_warning("MagicDNS: %s names systemd-resolved's stub, and its upstreams "
				  "are not readable: %s",
				  path, error->message);
		}
	}
	return wr_dns_parse_resolv_conf(text, WR_MAGICDNS_MAX_UPSTREAMS, is_ours, NULL);
}

static void
update_problem(WrMagicDns *self)
{
	g_autofree char *joined = NULL;

	if (self->server_problem != NULL && self->resolved_problem != NULL)
		joined = g_strdup_printf("%s; %s", self->server_problem, self->resolved_problem);
	else
		joined = g_strdup(self->server_problem != NULL ? self->server_problem
							       : self->resolved_problem);
	if (g_strcmp0(joined, self->problem) == 0)
		return;
	g_free(self->problem);
	self->problem = g_steal_pointer(&joined);
	if (self->changed != NULL)
		self->changed(self, self->user_data);
}

static void
set_problem(WrMagicDns *self, char **slot, char *sentence)
{
	g_free(*slot);
	*slot = sentence;
	update_problem(self);
}

WrMagicDns *
wr_magicdns_new(const char *resolv_conf, const char *ifname, WrMagicDnsChangedFunc changed,
		gpointer user_data)
{
	WrMagicDns *self = g_new0(WrMagicDns, 1);
	g_autofree char *list = NULL;

	self->ifname = g_strdup(ifname);
	self->changed = changed;
	self->user_data = user_data;
	self->resolver = wr_dns_resolver_new();
	self->cancel = g_cancellable_new();
	self->upstreams = g_new0(char *, 1);
	self->system_upstreams =
		read_system_upstreams(resolv_conf != NULL ? resolv_conf : WR_MAGICDNS_RESOLV_CONF);
	list = g_strjoinv(" ", self->system_upstreams);
	g_debug("MagicDNS: the system's name servers: %s", list[0] != '\0' ? list : "(none)");
	return self;
}

static void
revert_resolved(WrMagicDns *self)
{
	g_autoptr(GError) error = NULL;

	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->cancel = g_cancellable_new();
	if (self->resolved_ifindex != 0 && self->resolved_problem == NULL &&
	    !wr_dns_resolved_revert(self->resolved_ifindex, &error))
		g_message("MagicDNS: cannot revert systemd-resolved's settings of %s: %s",
			  self->ifname, error->message);
	self->resolved_ifindex = 0;
	g_clear_pointer(&self->resolved_domain, g_free);
}

void
wr_magicdns_free(WrMagicDns *self)
{
	if (self == NULL)
		return;
	revert_resolved(self);
	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_pointer(&self->server, wr_dns_server_free);
	g_clear_pointer(&self->resolver, wr_dns_resolver_free);
	g_strfreev(self->system_upstreams);
	g_strfreev(self->upstreams);
	g_free(self->server_problem);
	g_free(self->resolved_problem);
	g_free(self->problem);
	g_free(self->resolved_domain);
	g_free(self->ifname);
	g_free(self);
}

static void
listen_endpoints(WrEndpoint out[2])
{
	g_assert_true(wr_endpoint_parse(&out[0], WR_MAGICDNS_ADDR4 ":53"));
	g_assert_true(wr_endpoint_parse(&out[1], "[" WR_MAGICDNS_ADDR6 "]:53"));
}

static void
add_node(WrMagicDns *self, const WrNetmapNode *node)
{
	if (node == NULL || node->dns_name[0] == '\0')
		return;
	if (!wr_dns_resolver_add_host(
		    self->resolver, node->dns_name,
		    node->addresses != NULL ? (const WrCidr *) node->addresses->data : NULL,
		    node->addresses != NULL ? node->addresses->len : 0))
		g_debug("MagicDNS: %s is not a name in %s (or a second one): not served",
			node->dns_name, wr_dns_resolver_get_domain(self->resolver));
}

static void
configured_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	WrMagicDns *self;

	(void) source;
	if (!wr_dns_resolved_configure_finish(res, &error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		self = user_data;
		set_problem(self, &self->resolved_problem,
			    g_strdup_printf("MagicDNS: the system's resolver was not configured "
					    "(systemd-resolved: %s), so names in %s do not resolve "
					    "by themselves; warrend answers them on %s and %s: use "
					    "those as name servers by hand (dig @%s NAME.%s)",
					    error->message, self->resolved_domain,
					    WR_MAGICDNS_ADDR4, WR_MAGICDNS_ADDR6, WR_MAGICDNS_ADDR4,
					    self->resolved_domain));
		g_warning("%s", self->resolved_problem);
		return;
	}
	self = user_data;
	g_message("MagicDNS: systemd-resolved sends %s%s to %s",
		  self->resolved_all ? "every name" : "names in ",
		  self->resolved_all ? "" : self->resolved_domain, self->ifname);
	set_problem(self, &self->resolved_problem, NULL);
}

/* the reverse zones of 100.64.0.0/10 (one per second octet) and fd7a:115c:a1e0::/48 */
static GStrv
reverse_zones(void)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 64; i < 128; i++) {
		char zone[sizeof("127.100.in-addr.arpa")];

		g_snprintf(zone, sizeof(zone), "%u.100.in-addr.arpa", i);
		g_strv_builder_add(b, zone);
	}
	g_strv_builder_add(b, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa");
	return g_strv_builder_end(b);
}

static void
configure_resolved(WrMagicDns *self, const char *domain)
{
	int ifindex = (int) if_nametoindex(self->ifname);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) zones = reverse_zones();
	g_auto(GStrv) routing = NULL;
	WrEndpoint servers[2];

	if (ifindex == self->resolved_ifindex && g_strcmp0(domain, self->resolved_domain) == 0 &&
	    self->all_names == self->resolved_all)
		return;
	revert_resolved(self);
	self->resolved_ifindex = ifindex;
	self->resolved_domain = g_strdup(domain);
	self->resolved_all = self->all_names;
	set_problem(self, &self->resolved_problem, NULL);
	listen_endpoints(servers);
	g_strv_builder_addv(b, (const char **) zones);
	/*
	 * Without an exit node only the tailnet's names (and reverse zones) come here; the
	 * default route stays with the other links.  With one, the routing domain "~." and the
	 * default route send every name here, so that no query leaves by the LAN's resolver
	 * while the traffic goes through the exit node (docs/magicdns.md, "With an exit node").
	 */
	if (self->all_names)
		g_strv_builder_add(b, ".");
	routing = g_strv_builder_end(b);
	wr_dns_resolved_configure_async(ifindex, domain, (const char *const *) routing, servers,
					G_N_ELEMENTS(servers), self->all_names, self->cancel,
					configured_cb, self);
}

void
wr_magicdns_set_exit_node(WrMagicDns *self, gboolean in_use)
{
	self->all_names = in_use;
	/* MagicDNS on and resolved told once (it may have failed: then it is tried again) */
	if (self->server != NULL && self->resolved_domain != NULL)
		configure_resolved(self, wr_dns_resolver_get_domain(self->resolver));
}

/* strv without our own addresses (the map may name them too) */
static GStrv
filter_ours(char **list)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; list[i] != NULL; i++) {
		if (!is_ours(list[i], NULL))
			g_strv_builder_add(b, list[i]);
	}
	return g_strv_builder_end(b);
}

static void
stop(WrMagicDns *self)
{
	if (self->server == NULL && self->resolved_ifindex == 0 && self->problem == NULL)
		return;
	g_message("MagicDNS: off");
	revert_resolved(self);
	g_clear_pointer(&self->server, wr_dns_server_free);
	(void) wr_dns_resolver_set_domain(self->resolver, "");
	g_clear_pointer(&self->server_problem, g_free);
	g_clear_pointer(&self->resolved_problem, g_free);
	update_problem(self);
}

void
wr_magicdns_set_netmap(WrMagicDns *self, const WrNetmap *nm)
{
	const WrNetmapDns *dns = wr_netmap_get_dns(nm);
	g_autoptr(GPtrArray) peers = NULL;
	g_autoptr(GError) error = NULL;
	const char *const *ups;
	gboolean upstreams_changed = FALSE;

	if (dns == NULL || !dns->magic_dns || dns->domain[0] == '\0') {
		stop(self);
		return;
	}
	if (!wr_dns_resolver_set_domain(self->resolver, dns->domain)) {
		set_problem(self, &self->server_problem,
			    g_strdup_printf("MagicDNS: the tailnet's domain \"%s\" is not a DNS "
					    "name",
					    dns->domain));
		return;
	}
	add_node(self, wr_netmap_get_self(nm));
	peers = wr_netmap_get_peers(nm);
	for (guint i = 0; i < peers->len; i++)
		add_node(self, peers->pdata[i]);

	/* the map's name servers win over the system's */
	ups = dns->nameservers[0] != NULL ? (const char *const *) dns->nameservers
					  : (const char *const *) self->system_upstreams;
	if (!g_strv_equal((const char *const *) self->upstreams, ups)) {
		g_strfreev(self->upstreams);
		self->upstreams = g_strdupv((char **) ups);
		upstreams_changed = TRUE;
	}
	if (self->server == NULL) {
		WrEndpoint listen[2];

		listen_endpoints(listen);
		self->server =
			wr_dns_server_new(self->resolver, listen, G_N_ELEMENTS(listen), &error);
		if (self->server == NULL) {
			set_problem(self, &self->server_problem,
				    g_strdup_printf("MagicDNS does not work: %s", error->message));
			return;
		}
		set_problem(self, &self->server_problem, NULL);
		upstreams_changed = TRUE;
	}
	if (upstreams_changed) {
		g_auto(GStrv) filtered = filter_ours(self->upstreams);

		wr_dns_server_set_upstreams(self->server, (const char *const *) filtered);
		g_message("MagicDNS: answering for %s on %s and %s, %u upstream name servers",
			  dns->domain, WR_MAGICDNS_ADDR4, WR_MAGICDNS_ADDR6,
			  wr_dns_server_get_n_upstreams(self->server));
	}
	configure_resolved(self, wr_dns_resolver_get_domain(self->resolver));
}

void
wr_magicdns_add_addresses(WrMagicDns *self, WrNetcfgConfig *config)
{
	WrCidr c;

	if (self->server == NULL)
		return;
	g_assert_true(wr_cidr_parse(&c, WR_MAGICDNS_ADDR4 "/32"));
	wr_netcfg_config_add_address(config, &c);
	g_assert_true(wr_cidr_parse(&c, WR_MAGICDNS_ADDR6 "/128"));
	wr_netcfg_config_add_address(config, &c);
}

const char *
wr_magicdns_get_problem(WrMagicDns *self)
{
	return self->problem;
}

const char *const *
wr_magicdns_get_system_upstreams(WrMagicDns *self)
{
	return (const char *const *) self->system_upstreams;
}
