/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Map streams (control.md "Map").  Every change to what peers see of a node makes a new
 * immutable snapshot of it and appends (node id, the snapshot before) to a change log.  A
 * stream remembers only how far into the log it has been written; when it can take more, the
 * entries since are folded per node (the first entry's old snapshot against the node's current
 * one) into one delta frame.  So a change costs one snapshot and one delta computation,
 * shared by every stream, plus O(1) per stream that sees the node; a stream costs O(1) memory
 * beyond its socket buffer (with a policy, also its visible set).  Streams are written without
 * blocking; one that cannot keep up gets no new frame until it drains (its changes fold into
 * the next), and one further behind than the log is closed, to come back for a full map.
 */
#include "config.h"

#include <string.h>

#include "wr-control-private.h"
#include "wr-crypto.h"

/* a drained stream buffer larger than this is given back rather than kept for the next frame:
 * every stream's buffer once held its full map, and keeping that capacity costs N full maps
 * (O(N^2): 6 GB at 4,300 nodes in tests/bench/control-scale) */
#define STREAM_BUF_KEEP (64 * 1024)
#define STREAM_BUF_INIT 4096

struct _CtlStream {
	WrControl *ctl;
	CtlNode *node;
	GIOStream *io;
	GPollableInputStream *in;
	GPollableOutputStream *out;
	GSource *in_source;
	GSource *out_source;
	GByteArray *buf; /* bytes not yet written, from off */
	gsize off;
	gboolean started; /* the full map went out */
	guint64 synced;	  /* change log entries before this are in frames */
	GArray *sent_visible;
	guint64 filter_version, derp_version, dns_version;
	gint64 last_frame; /* monotonic µs */
	uint8_t shared[WR_CRYPTO_KEY_LEN];
};

/* ---- snapshots ---------------------------------------------------------------------------------
 */

CtlSnap *
ctl_snap_ref(CtlSnap *snap)
{
	if (snap != NULL)
		g_atomic_int_inc(&snap->ref);
	return snap;
}

void
ctl_snap_unref(CtlSnap *snap)
{
	if (snap == NULL || !g_atomic_int_dec_and_test(&snap->ref))
		return;
	wr_map_node_free(snap->node);
	g_free(snap->json);
	if (snap->base_delta != snap->json)
		g_free(snap->base_delta);
	g_free(snap);
}

static GStrv
strv_or_empty(char **v)
{
	return v != NULL ? g_strdupv(v) : g_new0(char *, 1);
}

/* control.md's Node for a node as it stands */
static WrMapNode *
build_map_node(WrControl *self, CtlNode *node)
{
	const WrStoreNode *rec = node->rec;
	WrMapNode *m = wr_map_node_new(rec->id);
	g_autoptr(GPtrArray) addrs = g_ptr_array_new();
	g_autoptr(GPtrArray) allowed = g_ptr_array_new();
	g_autoptr(GPtrArray) primary = g_ptr_array_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	gboolean exit_v4 = FALSE, exit_v6 = FALSE;

	g_free(m->name);
	m->name = g_strdup(rec->name);
	g_free(m->dns_name);
	m->dns_name = g_strdup_printf("%s.%s.", rec->name, self->config->dns_domain);
	m->user_id = rec->user_id;
	g_free(m->node_key);
	m->node_key = g_strdup(rec->node_key);
	g_free(m->disco_key);
	m->disco_key = g_strdup(rec->disco_key != NULL ? rec->disco_key : "");
	if (rec->ipv4 != NULL && rec->ipv4[0] != '\0')
		g_ptr_array_add(addrs, rec->ipv4);
	if (rec->ipv6 != NULL && rec->ipv6[0] != '\0')
		g_ptr_array_add(addrs, rec->ipv6);
	for (guint i = 0; i < addrs->len; i++)
		g_ptr_array_add(allowed, addrs->pdata[i]);
	for (char **r = rec->approved_routes; r != NULL && *r != NULL; r++) {
		/* only what is both advertised and approved is routed */
		if (rec->advertised_routes == NULL ||
		    !g_strv_contains((const char *const *) rec->advertised_routes, *r))
			continue;
		g_ptr_array_add(allowed, *r);
		if (g_strcmp0(*r, "0.0.0.0/0") == 0)
			exit_v4 = TRUE;
		else if (g_strcmp0(*r, "::/0") == 0)
			exit_v6 = TRUE;
		else
			g_ptr_array_add(primary, *r);
	}
	g_ptr_array_add(addrs, NULL);
	g_ptr_array_add(allowed, NULL);
	g_ptr_array_add(primary, NULL);
	g_strfreev(m->addresses);
	m->addresses = g_strdupv((char **) addrs->pdata);
	g_strfreev(m->allowed_ips);
	m->allowed_ips = g_strdupv((char **) allowed->pdata);
	g_strfreev(m->primary_routes);
	m->primary_routes = g_strdupv((char **) primary->pdata);
	g_strfreev(m->endpoints);
	m->endpoints = strv_or_empty(rec->endpoints);
	g_strfreev(m->tags);
	m->tags = strv_or_empty(rec->tags);
	m->derp_region = node->derp_region;
	if (rec->hostinfo != NULL && json_parser_load_from_data(parser, rec->hostinfo, -1, NULL) &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		if (m->hostinfo != NULL)
			json_node_unref(m->hostinfo);
		m->hostinfo = json_node_copy(json_parser_get_root(parser));
	}
	m->online = node->online;
	m->last_seen = rec->last_seen;
	m->key_expiry = rec->key_expiry;
	m->exit_node_option = exit_v4 && exit_v6;
	return m;
}

char *
ctl_node_json(WrControl *self, CtlNode *node)
{
	g_autoptr(WrMapNode) m = NULL;
	g_autoptr(JsonNode) json = NULL;

	if (node->snap != NULL)
		return g_strdup(node->snap->json);
	m = build_map_node(self, node);
	json = wr_map_node_to_json(m);
	return json_to_string(json, FALSE);
}

/* the delta of one peer from old to snap: a peers_patch entry, or the whole node */
static void
snap_compute_delta(CtlSnap *snap, const CtlSnap *old)
{
	g_autoptr(WrMapView) a = wr_map_view_new();
	g_autoptr(WrMapView) b = wr_map_view_new();
	g_autoptr(JsonNode) delta = NULL;
	JsonObject *obj;

	snap->base_version = old->version;
	wr_map_view_put(a, wr_map_node_copy(old->node));
	wr_map_view_put(b, wr_map_node_copy(snap->node));
	if (!wr_map_delta_compute(a, b, &delta))
		return; /* nothing peers see */
	obj = json_node_get_object(delta);
	if (json_object_has_member(obj, "peers_patch")) {
		JsonArray *patches = json_object_get_array_member(obj, "peers_patch");

		snap->base_patch = TRUE;
		snap->base_delta = json_to_string(json_array_get_element(patches, 0), FALSE);
	} else {
		snap->base_patch = FALSE;
		snap->base_delta = snap->json;
	}
}

static gboolean
node_visible_to_peers(CtlNode *node)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (node->rec->key_expiry != 0 && node->rec->key_expiry <= now)
		return FALSE;
	return node->rec->node_key != NULL && node->rec->node_key[0] != '\0';
}

static void
log_append(WrControl *self, gint64 id, CtlSnap *old)
{
	CtlChange *slot = &self->log[self->log_head % WR_CONTROL_LOG_SIZE];

	if (self->log_head - self->log_tail == WR_CONTROL_LOG_SIZE) {
		ctl_snap_unref(slot->old);
		self->log_tail++;
	}
	slot->id = id;
	slot->old = old;
	self->log_head++;
}

void
ctl_node_changed(WrControl *self, CtlNode *node)
{
	CtlSnap *old = node->snap;
	CtlSnap *snap = NULL;

	if (node_visible_to_peers(node)) {
		g_autoptr(JsonNode) json = NULL;

		snap = g_new0(CtlSnap, 1);
		snap->ref = 1;
		snap->version = ++self->snap_version;
		snap->node = build_map_node(self, node);
		json = wr_map_node_to_json(snap->node);
		snap->json = json_to_string(json, FALSE);
		if (old != NULL) {
			snap_compute_delta(snap, old);
			if (snap->base_delta == NULL) {
				/* nothing peers see changed */
				ctl_snap_unref(snap);
				return;
			}
		}
	}
	if (old == NULL && snap == NULL)
		return;
	node->snap = snap;
	log_append(self, node->rec->id, old);
	if ((old == NULL) != (snap == NULL))
		ctl_node_topology_changed(self, node->rec->id);
	ctl_schedule_flush(self);
}

void
ctl_node_removed(WrControl *self, CtlNode *node)
{
	if (node->stream != NULL)
		ctl_stream_close(node->stream, "node deleted");
	if (node->snap != NULL) {
		log_append(self, node->rec->id, node->snap);
		node->snap = NULL;
	}
	ctl_node_topology_changed(self, node->rec->id);
	ctl_schedule_flush(self);
}

void
ctl_topology_changed(WrControl *self)
{
	if (self->policy == NULL)
		return;
	self->topology_full = TRUE;
	self->topology_dirty = TRUE;
	ctl_schedule_flush(self);
}

void
ctl_node_topology_changed(WrControl *self, gint64 id)
{
	if (self->policy == NULL)
		return;
	g_hash_table_add(self->topology_changed, g_memdup2(&id, sizeof(id)));
	self->topology_dirty = TRUE;
	ctl_schedule_flush(self);
}

/* ---- visible sets and filters, with a policy
 * ----------------------------------------------------- */

static gboolean
sorted_contains(const GArray *set, gint64 id)
{
	guint lo = 0, hi;

	if (set == NULL)
		return TRUE; /* no policy: all */
	hi = set->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		gint64 v = g_array_index(set, gint64, mid);

		if (v == id)
			return TRUE;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return FALSE;
}

typedef struct {
	WrPolicyNode *pnodes;
	CtlNode **nodes;
	GArray *cidrs; /* backing store, WrCidr */
	guint n;
} PolicyInput;

static void
policy_input_clear(PolicyInput *in)
{
	g_free(in->pnodes);
	g_free(in->nodes);
	if (in->cidrs != NULL)
		g_array_unref(in->cidrs);
}

static gint
cmp_node_id(gconstpointer a, gconstpointer b)
{
	const CtlNode *x = *(CtlNode *const *) a, *y = *(CtlNode *const *) b;

	return x->rec->id < y->rec->id ? -1 : x->rec->id > y->rec->id;
}

/* the nodes peers may see, as the policy compiler takes them, in id order */
static void
policy_input_build(WrControl *self, PolicyInput *in)
{
	GHashTableIter iter;
	gpointer value;
	guint n = 0, ncidr = 0;

	in->nodes = g_new0(CtlNode *, g_hash_table_size(self->nodes) + 1);
	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlNode *node = value;

		if (node->snap != NULL)
			in->nodes[n++] = node;
	}
	qsort(in->nodes, n, sizeof(CtlNode *), cmp_node_id);
	in->n = n;
	in->pnodes = g_new0(WrPolicyNode, n + 1);
	/* two addresses and the routes of each; sized first so that pointers stay put */
	for (guint i = 0; i < n; i++)
		ncidr += 2 + (in->nodes[i]->rec->approved_routes != NULL
				      ? g_strv_length(in->nodes[i]->rec->approved_routes)
				      : 0);
	in->cidrs = g_array_sized_new(FALSE, TRUE, sizeof(WrCidr), ncidr + 1);
	for (guint i = 0; i < n; i++) {
		const WrStoreNode *rec = in->nodes[i]->rec;
		WrPolicyNode *p = &in->pnodes[i];
		WrStoreUser *user = rec->user_id != 0 ? ctl_user_lookup(self, rec->user_id) : NULL;
		guint first = in->cidrs->len;
		WrCidr c;

		p->id = (guint64) rec->id;
		p->user = user != NULL ? user->login_name : NULL;
		p->tags = (const gchar *const *) rec->tags;
		if (rec->ipv4 != NULL && wr_cidr_parse(&c, rec->ipv4))
			g_array_append_val(in->cidrs, c);
		if (rec->ipv6 != NULL && wr_cidr_parse(&c, rec->ipv6))
			g_array_append_val(in->cidrs, c);
		p->addresses = &g_array_index(in->cidrs, WrCidr, first);
		p->n_addresses = in->cidrs->len - first;
		first = in->cidrs->len;
		for (char **r = rec->approved_routes; r != NULL && *r != NULL; r++) {
			if (rec->advertised_routes == NULL ||
			    !g_strv_contains((const char *const *) rec->advertised_routes, *r) ||
			    !wr_cidr_parse(&c, *r))
				continue;
			if (c.cidr == 0)
				p->exit_node = true;
			g_array_append_val(in->cidrs, c);
		}
		p->routes = &g_array_index(in->cidrs, WrCidr, first);
		p->n_routes = in->cidrs->len - first;
	}
}

/* the index of id in the compiler's input (sorted by id), or -1 when peers do not see it */
static gint
policy_input_index(const PolicyInput *in, gint64 id)
{
	guint lo = 0, hi = in->n;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		gint64 v = in->nodes[mid]->rec->id;

		if (v == id)
			return (gint) mid;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* what node id sees now, into the visible sets; a node peers do not see sees none of them */
static void
visible_set_node(WrControl *self, const PolicyInput *in, gint64 id)
{
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) idx = NULL;
	gint i;

	if (ctl_node_lookup(self, id) == NULL) {
		wr_visible_set(self->visible_sets, id, NULL);
		return;
	}
	i = policy_input_index(in, id);
	if (i >= 0) {
		idx = wr_policy_visible_peers(self->policy, in->pnodes, in->n, (guint) i);
		for (guint k = 0; k < idx->len; k++)
			g_array_append_val(ids, in->nodes[g_array_index(idx, guint, k)]->rec->id);
	}
	wr_visible_set(self->visible_sets, id, ids);
}

/*
 * Brings visible sets and packet filters up to date with a policy.  Visible sets change only
 * for the pairs of the nodes that changed (wr-visible.h): O(changed × nodes × rules) plus a
 * copy of each set that gained or lost one of them; a new policy recomputes all of them.
 * Filters share each rule's sources, compiled once per pass (wr_policy_tailnet_new), so all N
 * of them cost O(N × rules) plus their size.  The allow-all case (no policy) never comes here.
 */
static void
recompute_topology(WrControl *self)
{
	PolicyInput in = {0};
	g_autoptr(WrPolicyTailnet) tailnet = NULL;
	g_autoptr(GArray) changed = NULL;
	GHashTableIter iter;
	gpointer key;

	self->topology_dirty = FALSE;
	if (self->policy == NULL)
		return;
	policy_input_build(self, &in);
	if (self->topology_full) {
		wr_visible_reset(self->visible_sets);
		g_hash_table_iter_init(&iter, self->nodes);
		while (g_hash_table_iter_next(&iter, &key, NULL))
			visible_set_node(self, &in, *(gint64 *) key);
	} else {
		g_hash_table_iter_init(&iter, self->topology_changed);
		while (g_hash_table_iter_next(&iter, &key, NULL))
			visible_set_node(self, &in, *(gint64 *) key);
	}
	self->topology_full = FALSE;
	g_hash_table_remove_all(self->topology_changed);
	changed = wr_visible_commit(self->visible_sets);
	for (guint k = 0; k < changed->len; k++) {
		CtlNode *node = ctl_node_lookup(self, g_array_index(changed, gint64, k));
		GArray *set;

		if (node == NULL)
			continue;
		set = wr_visible_lookup(self->visible_sets, node->rec->id);
		if (node->visible != NULL)
			g_array_unref(node->visible);
		node->visible = set != NULL ? g_array_ref(set) : NULL;
	}

	tailnet = wr_policy_tailnet_new(self->policy, in.pnodes, in.n);
	for (guint i = 0; i < in.n; i++) {
		CtlNode *node = in.nodes[i];
		g_autoptr(WrFilter) filter = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree char *text = NULL;

		filter = wr_policy_tailnet_filter(tailnet, i, &error);
		if (filter == NULL) {
			g_warning("packet filter of node %" G_GINT64_FORMAT ": %s", node->rec->id,
				  error->message);
			text = g_strdup("[]");
		} else {
			text = wr_filter_to_json(filter, NULL);
		}
		if (g_strcmp0(node->filter, text) != 0) {
			g_free(node->filter);
			node->filter = g_steal_pointer(&text);
			node->filter_version = ++self->global_filter_version;
		}
	}
	g_clear_pointer(&tailnet, wr_policy_tailnet_free);
	policy_input_clear(&in);
}

/* leaving policy mode: every node sees all again */
static void
drop_topology(WrControl *self)
{
	GHashTableIter iter;
	gpointer value;

	wr_visible_reset(self->visible_sets);
	g_array_unref(wr_visible_commit(self->visible_sets));
	g_hash_table_remove_all(self->topology_changed);
	self->topology_full = FALSE;

	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlNode *node = value;

		g_clear_pointer(&node->visible, g_array_unref);
		if (node->filter != NULL) {
			g_clear_pointer(&node->filter, g_free);
			node->filter_version = 0;
		}
	}
}

void
ctl_globals_changed(WrControl *self)
{
	ctl_schedule_flush(self);
}

/* ---- frames ---------------------------------------------------------------------------------- */

static const char *
node_filter(WrControl *self, CtlNode *node, guint64 *out_version)
{
	if (self->policy != NULL && node->filter != NULL) {
		*out_version = node->filter_version;
		return node->filter;
	}
	*out_version = self->global_filter_version;
	return self->allow_all_filter;
}

static void
append_profile(WrControl *self, GHashTable *seen_users, gint64 user_id, GString *profiles)
{
	WrStoreUser *user;

	if (user_id == 0 || g_hash_table_contains(seen_users, &user_id))
		return;
	user = ctl_user_lookup(self, user_id);
	if (user == NULL)
		return;
	g_hash_table_add(seen_users, g_memdup2(&user_id, sizeof(user_id)));
	if (profiles->len > 0)
		g_string_append_c(profiles, ',');
	ctl_user_profile_json(user, profiles);
}

GString *
ctl_full_map(WrControl *self, CtlNode *node)
{
	GString *out = g_string_sized_new(4096);
	g_autoptr(GHashTable) seen_users =
		g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autoptr(GString) profiles = g_string_new(NULL);
	g_autofree char *self_json = ctl_node_json(self, node);
	guint64 fver;
	const char *filter = node_filter(self, node, &fver);
	gboolean first = TRUE;
	GHashTableIter iter;
	gpointer value;

	if (self->policy != NULL && self->topology_dirty)
		recompute_topology(self);
	filter = node_filter(self, node, &fver);
	g_string_append(out, "{\"node\":");
	g_string_append(out, self_json);
	g_string_append(out, ",\"peers\":[");
	append_profile(self, seen_users, node->rec->user_id, profiles);
	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlNode *peer = value;

		if (peer == node || peer->snap == NULL ||
		    !sorted_contains(self->policy != NULL ? node->visible : NULL, peer->rec->id))
			continue;
		if (!first)
			g_string_append_c(out, ',');
		first = FALSE;
		g_string_append(out, peer->snap->json);
		append_profile(self, seen_users, peer->rec->user_id, profiles);
	}
	g_string_append_printf(
		out,
		"],\"derp_map\":%s,\"packet_filter\":%s,\"dns\":%s,"
		"\"user_profiles\":[%s],\"collect_flows\":%s,\"control_time\":%" G_GINT64_FORMAT
		"}",
		self->derp_map, filter, self->dns, profiles->str,
		self->config->collect_flows ? "true" : "false", g_get_real_time() / G_USEC_PER_SEC);
	return out;
}

static void
list_append(GString *list, const char *text)
{
	if (list->len > 0)
		g_string_append_c(list, ',');
	g_string_append(list, text);
}

/* the peer members of a delta frame, gathered peer by peer */
typedef struct {
	GString *changed;	/* peers_changed entries */
	GString *removed;	/* peers_removed ids */
	GString *patch;		/* peers_patch entries */
	GString *profiles;	/* user_profiles of the changed peers' owners */
	GHashTable *seen_users; /* owners already in profiles */
} PeerParts;

static void
peer_parts_init(PeerParts *p)
{
	p->changed = g_string_new(NULL);
	p->removed = g_string_new(NULL);
	p->patch = g_string_new(NULL);
	p->profiles = g_string_new(NULL);
	p->seen_users = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

/* also on a PeerParts that was never initialised (all NULL) */
static void
peer_parts_clear(PeerParts *p)
{
	if (p->changed == NULL)
		return;
	g_string_free(p->changed, TRUE);
	g_string_free(p->removed, TRUE);
	g_string_free(p->patch, TRUE);
	g_string_free(p->profiles, TRUE);
	g_hash_table_unref(p->seen_users);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PeerParts, peer_parts_clear)

static gboolean
peer_parts_empty(const PeerParts *p)
{
	return p->changed->len + p->removed->len + p->patch->len == 0;
}

/* appends the non-empty members, each followed by a comma */
static void
peer_parts_append(const PeerParts *p, GString *frame)
{
	if (p->changed->len > 0)
		g_string_append_printf(frame, "\"peers_changed\":[%s],", p->changed->str);
	if (p->removed->len > 0)
		g_string_append_printf(frame, "\"peers_removed\":[%s],", p->removed->str);
	if (p->patch->len > 0)
		g_string_append_printf(frame, "\"peers_patch\":[%s],", p->patch->str);
	if (p->profiles->len > 0)
		g_string_append_printf(frame, "\"user_profiles\":[%s],", p->profiles->str);
}

/* one peer's delta for a stream that last saw old and must now see cur */
static void
emit_peer(WrControl *self, PeerParts *p, gint64 id, CtlSnap *old, CtlSnap *cur)
{
	if (old == NULL && cur == NULL)
		return;
	if (cur == NULL) {
		if (p->removed->len > 0)
			g_string_append_c(p->removed, ',');
		g_string_append_printf(p->removed, "%" G_GINT64_FORMAT, id);
		return;
	}
	if (old == NULL) {
		list_append(p->changed, cur->json);
		append_profile(self, p->seen_users, cur->node->user_id, p->profiles);
		return;
	}
	if (old == cur)
		return;
	if (cur->base_version == old->version) {
		/* the common case: the delta every stream needs, computed once */
		if (cur->base_delta == NULL)
			return;
		if (cur->base_patch) {
			list_append(p->patch, cur->base_delta);
		} else {
			list_append(p->changed, cur->json);
			append_profile(self, p->seen_users, cur->node->user_id, p->profiles);
		}
		return;
	}
	{
		/* this stream missed versions between: fold them */
		CtlSnap tmp = {0};

		tmp.node = cur->node;
		tmp.json = cur->json;
		snap_compute_delta(&tmp, old);
		if (tmp.base_delta == NULL)
			return;
		if (tmp.base_patch) {
			list_append(p->patch, tmp.base_delta);
			g_free(tmp.base_delta);
		} else {
			list_append(p->changed, cur->json);
			append_profile(self, p->seen_users, cur->node->user_id, p->profiles);
		}
	}
}

static gboolean
stream_behind(WrControl *self, CtlStream *s)
{
	guint64 fver;

	if (!s->started)
		return TRUE;
	node_filter(self, s->node, &fver);
	return s->synced != self->log_head || s->filter_version != fver ||
	       s->derp_version != self->derp_version || s->dns_version != self->dns_version ||
	       (self->policy != NULL ? s->node->visible : NULL) != s->sent_visible;
}

static void
stream_write(CtlStream *s);

static void
stream_append_frame(CtlStream *s, const char *json, gsize len)
{
	guint32 sealed_len = (guint32) (WR_BOX_NONCE_LEN + WR_BOX_TAG_LEN + len);
	guint32 be = GUINT32_TO_BE(sealed_len);
	uint8_t nonce[WR_BOX_NONCE_LEN];
	char head[32];
	gsize at;
	int n;

	n = g_snprintf(head, sizeof(head), "%x\r\n", (guint) (sealed_len + 4));
	g_byte_array_append(s->buf, (const guint8 *) head, (guint) n);
	g_byte_array_append(s->buf, (const guint8 *) &be, 4);
	wr_random_bytes(nonce, sizeof(nonce));
	g_byte_array_append(s->buf, nonce, sizeof(nonce));
	at = s->buf->len;
	g_byte_array_set_size(s->buf, (guint) (at + WR_BOX_TAG_LEN + len));
	wr_box_seal_afternm(s->buf->data + at, (const uint8_t *) json, len, nonce, s->shared);
	g_byte_array_append(s->buf, (const guint8 *) "\r\n", 2);
	s->last_frame = g_get_monotonic_time();
	s->ctl->n_frames++;
	s->ctl->n_frame_bytes += sealed_len + 4;
}

/* brings a stream up to date in one frame, if it can take one */
static void
stream_fill(WrControl *self, CtlStream *s)
{
	g_auto(PeerParts) parts = {0};
	g_autoptr(GString) frame = NULL;
	g_autoptr(GHashTable) handled = NULL;
	CtlNode *me = s->node;
	GArray *now_visible = self->policy != NULL ? me->visible : NULL;
	gboolean self_changed = FALSE;
	guint64 fver;
	const char *filter;

	if (s->buf->len - s->off >= WR_CONTROL_STREAM_HIGH_WATER || !stream_behind(self, s))
		return;
	if (!s->started) {
		/* (this recompiles the policy first if it must, replacing me->visible) */
		frame = ctl_full_map(self, me);
		now_visible = self->policy != NULL ? me->visible : NULL;
		s->started = TRUE;
		s->synced = self->log_head;
		s->sent_visible = now_visible != NULL ? g_array_ref(now_visible) : NULL;
		node_filter(self, me, &s->filter_version);
		s->derp_version = self->derp_version;
		s->dns_version = self->dns_version;
		stream_append_frame(s, frame->str, frame->len);
		return;
	}
	if (s->synced < self->log_tail) {
		self->n_stream_overflows++;
		ctl_stream_close(s, "fell behind the change log");
		return;
	}
	peer_parts_init(&parts);
	handled = g_hash_table_new(g_int64_hash, g_int64_equal);

	/* peers that came into or went out of sight (a policy or its inputs changed) */
	if (now_visible != s->sent_visible && now_visible != NULL && s->sent_visible != NULL) {
		const GArray *was = s->sent_visible, *is = now_visible;
		guint i = 0, k = 0;

		/* the two sorted sets side by side: O(their size), lookups only for the
		 * difference */
		while (i < was->len || k < is->len) {
			gint64 a = i < was->len ? g_array_index(was, gint64, i) : G_MAXINT64;
			gint64 b = k < is->len ? g_array_index(is, gint64, k) : G_MAXINT64;
			gboolean seen_before = a <= b, seen_now = b <= a;
			gint64 id = MIN(a, b);
			CtlNode *peer;

			i += seen_before;
			k += seen_now;
			if (seen_before == seen_now)
				continue;
			/* nodes deleted while in sight: the log below covers them */
			peer = ctl_node_lookup(self, id);
			if (peer == NULL || peer == me)
				continue;
			g_hash_table_add(handled, &peer->rec->id);
			/* what the stream had: the snapshot as of its last frame, which the log
			 * entries below would have told; the current one is close enough here as
			 * a peer going out of sight only needs its id */
			emit_peer(self, &parts, id, seen_before ? peer->snap : NULL,
				  seen_now ? peer->snap : NULL);
		}
	}
	/* then what changed of the peers in sight before and after (and of deleted ones) */
	for (guint64 seq = s->synced; seq < self->log_head; seq++) {
		CtlChange *c = &self->log[seq % WR_CONTROL_LOG_SIZE];
		CtlNode *peer;

		if (c->id == me->rec->id) {
			/* the node itself changed (approved routes, exit node, name): it gets its
			 * own "node" (control.md), which is how a router learns what to forward */
			self_changed = TRUE;
			continue;
		}
		if (g_hash_table_contains(handled, &c->id))
			continue;
		g_hash_table_add(handled, &c->id);
		if (!sorted_contains(s->sent_visible, c->id))
			continue;
		peer = ctl_node_lookup(self, c->id);
		if (peer != NULL && !sorted_contains(now_visible, c->id))
			continue;
		emit_peer(self, &parts, c->id, c->old, peer != NULL ? peer->snap : NULL);
	}
	s->synced = self->log_head;
	if (now_visible != NULL)
		g_array_ref(now_visible);
	if (s->sent_visible != NULL)
		g_array_unref(s->sent_visible);
	s->sent_visible = now_visible;

	frame = g_string_sized_new(256 + parts.changed->len + parts.patch->len);
	g_string_append_c(frame, '{');
	if (self_changed) {
		g_autofree char *self_json = ctl_node_json(self, me);

		g_string_append_printf(frame, "\"node\":%s,", self_json);
	}
	peer_parts_append(&parts, frame);
	filter = node_filter(self, me, &fver);
	if (fver != s->filter_version) {
		g_string_append_printf(frame, "\"packet_filter\":%s,", filter);
		s->filter_version = fver;
	}
	if (s->derp_version != self->derp_version) {
		g_string_append_printf(frame, "\"derp_map\":%s,", self->derp_map);
		s->derp_version = self->derp_version;
	}
	if (s->dns_version != self->dns_version) {
		g_string_append_printf(frame, "\"dns\":%s,", self->dns);
		s->dns_version = self->dns_version;
	}
	if (frame->len == 1)
		return; /* the changes cancelled out */
	g_string_truncate(frame, frame->len - 1);
	g_string_append_c(frame, '}');
	stream_append_frame(s, frame->str, frame->len);
}

static gboolean
stream_out_cb(GObject *pollable, gpointer user_data)
{
	CtlStream *s = user_data;

	g_clear_pointer(&s->out_source, g_source_unref);
	stream_write(s);
	return G_SOURCE_REMOVE;
}

/* writes what it can; asks to be called again when the socket takes more */
static void
stream_write(CtlStream *s)
{
	WrControl *self = s->ctl;

	for (;;) {
		g_autoptr(GError) error = NULL;
		gssize n;

		if (s->off == s->buf->len) {
			if (s->buf->len > STREAM_BUF_KEEP) {
				g_byte_array_unref(s->buf);
				s->buf = g_byte_array_sized_new(STREAM_BUF_INIT);
			} else {
				g_byte_array_set_size(s->buf, 0);
			}
			s->off = 0;
			if (s->io == NULL)
				return;
			stream_fill(self, s);
			if (s->io == NULL || s->buf->len == 0)
				return;
		}
		n = g_pollable_output_stream_write_nonblocking(s->out, s->buf->data + s->off,
							       s->buf->len - s->off, NULL, &error);
		if (n > 0) {
			s->off += (gsize) n;
			continue;
		}
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			if (s->out_source == NULL) {
				s->out_source =
					g_pollable_output_stream_create_source(s->out, NULL);
				g_source_set_callback(s->out_source, G_SOURCE_FUNC(stream_out_cb),
						      s, NULL);
				g_source_attach(s->out_source, NULL);
			}
			return;
		}
		ctl_stream_close(s, error != NULL ? error->message : "write failed");
		return;
	}
}

/*
 * Without a policy every stream sees every node, so streams at the same place in the log need
 * the same frame, bar their own node's entries: it is built once here and only sealed per
 * stream.  (A stream whose own node is in the range, or that owes a filter, DERP map or DNS,
 * takes stream_fill's own path.)
 */
typedef struct {
	guint64 from;
	GString *frame;	 /* NULL when the range folds to nothing */
	GHashTable *ids; /* node ids the range touches */
} SharedDelta;

static void
shared_delta_free(SharedDelta *d)
{
	if (d->frame != NULL)
		g_string_free(d->frame, TRUE);
	g_hash_table_unref(d->ids);
	g_free(d);
}

static SharedDelta *
shared_delta_build(WrControl *self, guint64 from)
{
	SharedDelta *d = g_new0(SharedDelta, 1);
	g_auto(PeerParts) parts = {0};

	peer_parts_init(&parts);
	d->from = from;
	d->ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (guint64 seq = from; seq < self->log_head; seq++) {
		CtlChange *c = &self->log[seq % WR_CONTROL_LOG_SIZE];
		CtlNode *peer;

		if (g_hash_table_contains(d->ids, &c->id))
			continue;
		g_hash_table_add(d->ids, g_memdup2(&c->id, sizeof(c->id)));
		peer = ctl_node_lookup(self, c->id);
		emit_peer(self, &parts, c->id, c->old, peer != NULL ? peer->snap : NULL);
	}
	if (peer_parts_empty(&parts))
		return d;
	d->frame = g_string_sized_new(64 + parts.changed->len + parts.removed->len +
				      parts.patch->len + parts.profiles->len);
	g_string_append_c(d->frame, '{');
	peer_parts_append(&parts, d->frame);
	g_string_truncate(d->frame, d->frame->len - 1);
	g_string_append_c(d->frame, '}');
	return d;
}

/* serves the stream from a shared frame when it can (else stream_fill does it) */
static void
stream_take_shared(WrControl *self, CtlStream *s, GHashTable *shared)
{
	SharedDelta *d;
	guint64 fver;

	if (self->policy != NULL || !s->started || s->synced == self->log_head ||
	    s->synced < self->log_tail || s->buf->len - s->off >= WR_CONTROL_STREAM_HIGH_WATER ||
	    s->derp_version != self->derp_version || s->dns_version != self->dns_version)
		return;
	node_filter(self, s->node, &fver);
	if (fver != s->filter_version)
		return;
	d = g_hash_table_lookup(shared, &s->synced);
	if (d == NULL) {
		d = shared_delta_build(self, s->synced);
		g_hash_table_insert(shared, &d->from, d);
	}
	if (g_hash_table_contains(d->ids, &s->node->rec->id))
		return;
	if (d->frame != NULL)
		stream_append_frame(s, d->frame->str, d->frame->len);
	s->synced = self->log_head;
}

static gboolean
flush_cb(gpointer user_data)
{
	WrControl *self = user_data;
	g_autoptr(GPtrArray) streams = NULL;
	g_autoptr(GHashTable) shared = NULL;
	gint64 start = g_get_monotonic_time();

	self->flush_source = 0;
	if (self->topology_dirty)
		recompute_topology(self);
	streams = ctl_streams_list(self);
	shared = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
				       (GDestroyNotify) shared_delta_free);
	for (guint i = 0; i < streams->len; i++) {
		CtlStream *s = streams->pdata[i];

		/* an earlier stream's failure may have closed this one's node: still listed? */
		if (!g_hash_table_contains(self->streams, s) || s->out_source != NULL)
			continue;
		stream_take_shared(self, s, shared);
		stream_write(s);
	}
	self->flush_cost = g_get_monotonic_time() - start;
	return G_SOURCE_REMOVE;
}

GPtrArray *
ctl_streams_list(WrControl *self)
{
	GPtrArray *out = g_ptr_array_sized_new(g_hash_table_size(self->streams));
	GHashTableIter iter;
	gpointer key;

	g_hash_table_iter_init(&iter, self->streams);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_ptr_array_add(out, key);
	return out;
}

void
ctl_schedule_flush(WrControl *self)
{
	/* a pass over many streams is not free: wait at least twice what the last one took, so
	 * that writing streams never takes more than a third of the time, whatever the burst
	 * (a registration storm of thousands of nodes); never more than a second */
	guint delay = (guint) CLAMP(self->flush_cost / 500, WR_CONTROL_BATCH_MS, 1000);

	if (self->flush_source == 0)
		self->flush_source = g_timeout_add(delay, flush_cb, self);
}

/* ---- stream lifetime
 * ------------------------------------------------------------------------------ */

static void
stream_free(CtlStream *s)
{
	if (s->in_source != NULL) {
		g_source_destroy(s->in_source);
		g_source_unref(s->in_source);
	}
	if (s->out_source != NULL) {
		g_source_destroy(s->out_source);
		g_source_unref(s->out_source);
	}
	if (s->io != NULL) {
		g_io_stream_close(s->io, NULL, NULL);
		g_object_unref(s->io);
	}
	if (s->sent_visible != NULL)
		g_array_unref(s->sent_visible);
	g_byte_array_unref(s->buf);
	wr_memzero(s->shared, sizeof(s->shared));
	g_free(s);
}

static gboolean
stream_in_cb(GObject *pollable, gpointer user_data)
{
	CtlStream *s = user_data;
	g_autoptr(GError) error = NULL;
	guint8 buf[512];
	gssize n;

	/* the client says nothing on a stream: only its end (or junk, which ends it) matters */
	n = g_pollable_input_stream_read_nonblocking(s->in, buf, sizeof(buf), NULL, &error);
	if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&s->in_source, g_source_unref);
	ctl_stream_close(s, n == 0 ? "closed by the client" : "the client sent data on a stream");
	return G_SOURCE_REMOVE;
}

void
ctl_stream_close(CtlStream *s, const char *why)
{
	WrControl *self = s->ctl;
	CtlNode *node = s->node;

	if (!g_hash_table_steal(self->streams, s))
		return;
	g_debug("map stream of node %" G_GINT64_FORMAT " ends: %s", node->rec->id, why);
	if (node->stream == s) {
		g_autoptr(GError) error = NULL;
		gint64 now = g_get_real_time() / G_USEC_PER_SEC;

		node->stream = NULL;
		node->online = FALSE;
		node->rec->last_seen = now;
		if (!wr_store_node_update_status(self->store, node->rec->id, node->rec->disco_key,
						 (const char *const *) node->rec->endpoints, NULL,
						 now, &error))
			g_warning("node %" G_GINT64_FORMAT ": %s", node->rec->id, error->message);
		ctl_node_changed(self, node);
		if (node->ephemeral)
			ctl_node_went_offline(self, node);
	}
	stream_free(s);
}

void
ctl_stream_start(WrControl *self, CtlNode *node, SoupServerMessage *msg,
		 const uint8_t machine[WR_CRYPTO_KEY_LEN])
{
	static const char head[] = "HTTP/1.1 200 OK\r\n"
				   "Content-Type: application/octet-stream\r\n"
				   "Cache-Control: no-store\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	g_autoptr(GIOStream) stolen = NULL;
	GIOStream *base = NULL;
	CtlStream *s;

	if (g_hash_table_size(self->streams) >= self->config->max_streams) {
		soup_server_message_set_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
		soup_server_message_set_response(msg, "text/plain; charset=utf-8",
						 SOUP_MEMORY_STATIC,
						 "too many map streams, try again later", 37);
		return;
	}
	stolen = soup_server_message_steal_connection(msg);
	if (stolen == NULL)
		return;
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(stolen), "base-iostream") != NULL)
		g_object_get(stolen, "base-iostream", &base, NULL);
	if (base == NULL)
		base = g_object_ref(stolen);
	if (!G_IS_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(base)) ||
	    !G_IS_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(base))) {
		g_warning("a map stream on a connection that cannot be polled, closing it");
		g_object_unref(base);
		return;
	}
	s = g_new0(CtlStream, 1);
	s->ctl = self;
	s->node = node;
	s->io = base;
	s->in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(base));
	s->out = G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(base));
	s->buf = g_byte_array_sized_new(4096);
	if (!wr_control_seal_shared_key(self->seal, machine, s->shared)) {
		stream_free(s);
		return;
	}
	g_byte_array_append(s->buf, (const guint8 *) head, sizeof(head) - 1);
	g_hash_table_add(self->streams, s);
	if (node->stream != NULL)
		ctl_stream_close(node->stream, "replaced by a new stream");
	node->stream = s;
	s->in_source = g_pollable_input_stream_create_source(s->in, NULL);
	g_source_set_callback(s->in_source, G_SOURCE_FUNC(stream_in_cb), s, NULL);
	g_source_attach(s->in_source, NULL);
	if (node->ephemeral_timer != 0)
		g_clear_handle_id(&node->ephemeral_timer, g_source_remove);
	if (!node->online) {
		node->online = TRUE;
		ctl_node_changed(self, node);
	}
	/* the full map goes out now; its own change (online) is in it already */
	stream_fill(self, s);
	stream_write(s);
}

void
ctl_streams_tick(WrControl *self, gint64 now_us)
{
	g_autoptr(GPtrArray) streams = ctl_streams_list(self);
	static const char keep_alive[] = "{\"keep_alive\":true}";

	for (guint i = 0; i < streams->len; i++) {
		CtlStream *s = streams->pdata[i];

		if (!g_hash_table_contains(self->streams, s) || !s->started ||
		    now_us - s->last_frame < (gint64) self->keepalive_interval * G_USEC_PER_SEC ||
		    s->buf->len > s->off)
			continue;
		stream_append_frame(s, keep_alive, sizeof(keep_alive) - 1);
		if (s->out_source == NULL)
			stream_write(s);
	}
}

void
ctl_map_init(WrControl *self)
{
	self->log = g_new0(CtlChange, WR_CONTROL_LOG_SIZE);
	self->streams = g_hash_table_new(NULL, NULL);
	self->visible_sets = wr_visible_new();
	self->topology_changed = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

void
ctl_map_policy_mode_changed(WrControl *self)
{
	if (self->policy == NULL)
		drop_topology(self);
	else
		ctl_topology_changed(self);
	ctl_schedule_flush(self);
}

void
ctl_map_shutdown(WrControl *self)
{
	if (self->streams != NULL) {
		g_autoptr(GPtrArray) streams = ctl_streams_list(self);

		for (guint i = 0; i < streams->len; i++)
			ctl_stream_close(streams->pdata[i], "server shutting down");
		g_clear_pointer(&self->streams, g_hash_table_unref);
	}
	if (self->log != NULL) {
		for (guint64 seq = self->log_tail; seq < self->log_head; seq++)
			ctl_snap_unref(self->log[seq % WR_CONTROL_LOG_SIZE].old);
		g_clear_pointer(&self->log, g_free);
	}
	g_clear_handle_id(&self->flush_source, g_source_remove);
	g_clear_pointer(&self->visible_sets, wr_visible_free);
	g_clear_pointer(&self->topology_changed, g_hash_table_unref);
}
