/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-state on a real directory: what is made and with which modes, round trips through a
 * second WrState (a restart), every kind of damaged file set aside with its content kept and
 * the right problem recorded, and the leftovers of a crash between a temporary file's write
 * and its rename.
 */

#define G_LOG_DOMAIN "WrTestState"

#include "config.h"

#include <glib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-keyfile.h"
#include "wr-state.h"

typedef struct {
	char *top;
	char *dir; /* top/state, made by wr_state_new */
} Fixture;

static void
remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *p = g_build_filename(path, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			remove_tree(p);
		else
			(void) g_unlink(p);
	}
	(void) g_rmdir(path);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->top = g_dir_make_tmp("wr-state-XXXXXX", NULL);
	g_assert_nonnull(f->top);
	f->dir = g_build_filename(f->top, "state", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	remove_tree(f->top);
	g_free(f->top);
	g_free(f->dir);
}

static char *
in_dir(const Fixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

static guint
mode_of(const char *path)
{
	struct stat st;

	g_assert_cmpint(g_lstat(path, &st), ==, 0);
	return st.st_mode & 07777;
}

static void
write_file(const Fixture *f, const char *name, const char *contents, gssize len, guint mode)
{
	g_autofree char *path = in_dir(f, name);

	g_assert_true(g_file_set_contents(path, contents, len, NULL));
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static WrState *
open_loaded(const Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = wr_state_new(f->dir, &error);

	g_assert_no_error(error);
	g_assert_nonnull(state);
	g_assert_true(wr_state_load(state, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&state);
}

static guint
n_problems(const WrState *state)
{
	return g_strv_length((char **) wr_state_get_problems(state));
}

/* the one NAME.corrupt-T[.N] in the directory besides those in skip; checks T is now-ish and
 * that it holds what the file held */
static char *
find_set_aside(const Fixture *f, const char *name, gint64 before, const char *skip,
	       const char *contents, gsize len)
{
	g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
	g_autofree char *prefix = g_strconcat(name, ".corrupt-", NULL);
	const char *entry;
	char *found = NULL;

	g_assert_nonnull(dir);
	while ((entry = g_dir_read_name(dir)) != NULL) {
		if (!g_str_has_prefix(entry, prefix) || g_strcmp0(entry, skip) == 0)
			continue;
		g_assert_null(found);
		found = g_strdup(entry);
	}
	g_assert_nonnull(found);
	{
		gint64 t = g_ascii_strtoll(found + strlen(prefix), NULL, 10);
		gint64 after = g_get_real_time() / G_USEC_PER_SEC;

		g_assert_cmpint(t, >=, before);
		g_assert_cmpint(t, <=, after);
	}
	if (contents != NULL) {
		g_autofree char *path = in_dir(f, found);
		g_autofree char *kept = NULL;
		gsize kept_len = 0;

		g_assert_true(g_file_get_contents(path, &kept, &kept_len, NULL));
		g_assert_cmpmem(kept, kept_len, contents, len);
	}
	return found;
}

static void
assert_problem(const WrState *state, const char *part1, const char *part2)
{
	const char *const *problems = wr_state_get_problems(state);

	for (guint i = 0; problems[i] != NULL; i++) {
		if (strstr(problems[i], part1) != NULL &&
		    (part2 == NULL || strstr(problems[i], part2) != NULL))
			return;
	}
	for (guint i = 0; problems[i] != NULL; i++)
		g_test_message("problem: %s", problems[i]);
	g_error("no problem mentions \"%s\" and \"%s\"", part1, part2 != NULL ? part2 : "");
}

static void
test_state_fresh(Fixture *f, gconstpointer data)
{
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autofree char *machine = in_dir(f, WR_STATE_MACHINE_KEY);
	g_autofree char *node = in_dir(f, WR_STATE_NODE_KEY);
	g_autofree char *prefs = in_dir(f, WR_STATE_PREFS);
	g_autoptr(WrPrefs) defaults = wr_prefs_new();
	uint8_t first_machine[WR_KEY_BYTES];
	uint8_t first_disco[WR_KEY_BYTES];
	uint8_t on_disk[WR_KEY_BYTES];

	g_assert_cmpuint(mode_of(f->dir), ==, 0700);
	g_assert_cmpuint(n_problems(state), ==, 0);
	g_assert_cmpint(wr_state_get_machine_key_origin(state), ==, WR_STATE_KEY_CREATED);
	g_assert_cmpuint(mode_of(machine), ==, 0600);
	g_assert_true(wr_keyfile_load_private(machine, on_disk, NULL));
	g_assert_cmpmem(on_disk, sizeof(on_disk), wr_state_get_machine_key(state), WR_KEY_BYTES);
	g_assert_false(wr_key_is_zero(on_disk));
	g_assert_cmpint(wr_state_get_node_key_origin(state), ==, WR_STATE_KEY_NONE);
	g_assert_null(wr_state_get_node_key(state));
	g_assert_false(g_file_test(node, G_FILE_TEST_EXISTS));
	g_assert_true(wr_prefs_equal(wr_state_get_prefs(state), defaults));
	g_assert_false(g_file_test(prefs, G_FILE_TEST_EXISTS));
	g_assert_null(wr_state_get_netmap(state));
	g_assert_false(wr_key_is_zero(wr_state_get_disco_key(state)));
	memcpy(first_machine, wr_state_get_machine_key(state), WR_KEY_BYTES);
	memcpy(first_disco, wr_state_get_disco_key(state), WR_KEY_BYTES);

	/* a restart: the same machine key, a new disco key */
	again = open_loaded(f);
	g_assert_cmpint(wr_state_get_machine_key_origin(again), ==, WR_STATE_KEY_LOADED);
	g_assert_cmpmem(wr_state_get_machine_key(again), WR_KEY_BYTES, first_machine, WR_KEY_BYTES);
	g_assert_false(wr_memeq(wr_state_get_disco_key(again), first_disco, WR_KEY_BYTES));
	g_assert_cmpuint(n_problems(again), ==, 0);
}

static void
test_state_dir_mode(Fixture *f, gconstpointer data)
{
	g_autoptr(WrState) state = NULL;

	g_assert_cmpint(g_mkdir(f->dir, 0755), ==, 0);
	g_assert_cmpint(g_chmod(f->dir, 0755), ==, 0);
	state = open_loaded(f);
	g_assert_cmpuint(mode_of(f->dir), ==, 0700);
	assert_problem(state, f->dir, "was mode 0755; now 0700");
}

static void
test_state_not_a_dir(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = NULL;

	g_assert_true(g_file_set_contents(f->dir, "x", -1, NULL));
	state = wr_state_new(f->dir, &error);
	g_assert_null(state);
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO);
}

static void
test_state_prefs_round_trip(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autoptr(WrPrefs) prefs = wr_prefs_new();
	g_autoptr(WrPrefs) bad = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_PREFS);
	g_autofree char *before = NULL;
	g_autofree char *after = NULL;
	const char *const routes[] = {"198.51.100.0/24", NULL};

	g_free(prefs->control_url);
	prefs->control_url = g_strdup("https://ctl.example.com");
	prefs->want_running = TRUE;
	g_free(prefs->exit_node);
	prefs->exit_node = g_strdup("n42");
	g_strfreev(prefs->advertise_routes);
	prefs->advertise_routes = g_strdupv((char **) routes);
	g_assert_true(wr_state_set_prefs(state, prefs, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(mode_of(path), ==, 0600);
	g_assert_true(wr_prefs_equal(wr_state_get_prefs(state), prefs));

	again = open_loaded(f);
	g_assert_true(wr_prefs_equal(wr_state_get_prefs(again), prefs));
	g_assert_cmpuint(n_problems(again), ==, 0);

	/* refused values change nothing, neither in memory nor on disk */
	g_assert_true(g_file_get_contents(path, &before, NULL, NULL));
	bad = wr_prefs_copy(prefs);
	g_free(bad->hostname);
	bad->hostname = g_strdup("not a label");
	g_assert_false(wr_state_set_prefs(again, bad, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_assert_true(g_str_has_prefix(error->message, "hostname: "));
	g_clear_error(&error);
	g_free(bad->hostname);
	bad->hostname = g_strdup("");
	g_free(bad->advertise_routes[0]);
	bad->advertise_routes[0] = g_strdup("198.51.100.7/24");
	g_assert_false(wr_state_set_prefs(again, bad, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_assert_true(g_str_has_prefix(error->message, "advertise-routes: "));
	g_clear_error(&error);
	g_free(bad->advertise_routes[0]);
	bad->advertise_routes[0] = g_strdup("198.51.100.0/24");
	g_free(bad->control_url);
	bad->control_url = g_strdup("https://ctl.example.com/");
	g_assert_false(wr_state_set_prefs(again, bad, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_assert_true(g_str_has_prefix(error->message, "control-url: not in its normal form"));
	g_assert_true(g_file_get_contents(path, &after, NULL, NULL));
	g_assert_cmpstr(after, ==, before);
	g_assert_true(wr_prefs_equal(wr_state_get_prefs(again), prefs));
}

static void
test_state_netmap_round_trip(Fixture *f, gconstpointer data)
{
	static const char map[] = "{\"Node\": {\"Name\": \"laptop\"}, \"Peers\": []}";
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autoptr(GBytes) json = g_bytes_new_static(map, sizeof(map) - 1);
	g_autoptr(GBytes) array = g_bytes_new_static("[1]", 3);
	g_autoptr(GBytes) deep = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_NETMAP);
	GBytes *loaded;
	char *nested = g_malloc(401);

	g_assert_true(wr_state_set_netmap(state, json, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(mode_of(path), ==, 0600);
	again = open_loaded(f);
	loaded = wr_state_get_netmap(again);
	g_assert_nonnull(loaded);
	g_assert_true(g_bytes_equal(loaded, json));

	/* not an object, and too deep: refused, the saved map stays */
	g_assert_false(wr_state_set_netmap(again, array, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_clear_error(&error);
	memset(nested, '[', 200);
	memset(nested + 200, ']', 200);
	nested[0] = '{';
	nested[399] = '}';
	nested[400] = '\0';
	deep = g_bytes_new_take(nested, 400);
	g_assert_false(wr_state_set_netmap(again, deep, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_assert_true(g_bytes_equal(wr_state_get_netmap(again), json));
	{
		g_autofree char *kept = NULL;

		g_assert_true(g_file_get_contents(path, &kept, NULL, NULL));
		g_assert_cmpstr(kept, ==, map);
	}
}

static void
test_state_node_key(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autoptr(WrState) third = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_NODE_KEY);
	uint8_t first[WR_KEY_BYTES];

	g_assert_true(wr_state_new_node_key(state, &error));
	g_assert_no_error(error);
	g_assert_cmpint(wr_state_get_node_key_origin(state), ==, WR_STATE_KEY_CREATED);
	g_assert_cmpuint(mode_of(path), ==, 0600);
	memcpy(first, wr_state_get_node_key(state), WR_KEY_BYTES);
	g_assert_false(wr_memeq(first, wr_state_get_machine_key(state), WR_KEY_BYTES));

	again = open_loaded(f);
	g_assert_cmpint(wr_state_get_node_key_origin(again), ==, WR_STATE_KEY_LOADED);
	g_assert_cmpmem(wr_state_get_node_key(again), WR_KEY_BYTES, first, WR_KEY_BYTES);

	/* rotation gives another key; logout forgets it */
	g_assert_true(wr_state_new_node_key(again, &error));
	g_assert_false(wr_memeq(wr_state_get_node_key(again), first, WR_KEY_BYTES));
	g_assert_true(wr_state_clear_node_key(again, &error));
	g_assert_no_error(error);
	g_assert_null(wr_state_get_node_key(again));
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	third = open_loaded(f);
	g_assert_cmpint(wr_state_get_node_key_origin(third), ==, WR_STATE_KEY_NONE);
}

/* a rotation's states on disk: the new key saved before use, found again after a "crash",
 * promoted over node.key once confirmed, or dropped when refused */
static void
test_state_next_node_key(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autoptr(WrState) third = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_NODE_KEY);
	g_autofree char *next_path = in_dir(f, WR_STATE_NEXT_NODE_KEY);
	uint8_t old[WR_KEY_BYTES], next[WR_KEY_BYTES];
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;

	/* nothing to rotate before a sign-in */
	g_assert_false(wr_state_new_next_node_key(state, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_cmpint(wr_state_get_node_key_time(state), ==, 0);

	g_assert_true(wr_state_new_node_key(state, &error));
	g_assert_cmpint(wr_state_get_node_key_time(state), >=, before);
	memcpy(old, wr_state_get_node_key(state), WR_KEY_BYTES);
	g_assert_null(wr_state_get_next_node_key(state));
	g_assert_true(wr_state_new_next_node_key(state, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(mode_of(next_path), ==, 0600);
	memcpy(next, wr_state_get_next_node_key(state), WR_KEY_BYTES);
	g_assert_false(wr_memeq(next, old, WR_KEY_BYTES));
	/* the current key is unchanged until control confirmed */
	g_assert_cmpmem(wr_state_get_node_key(state), WR_KEY_BYTES, old, WR_KEY_BYTES);

	/* a crash here: both keys come back */
	again = open_loaded(f);
	g_assert_cmpmem(wr_state_get_node_key(again), WR_KEY_BYTES, old, WR_KEY_BYTES);
	g_assert_nonnull(wr_state_get_next_node_key(again));
	g_assert_cmpmem(wr_state_get_next_node_key(again), WR_KEY_BYTES, next, WR_KEY_BYTES);
	g_assert_cmpint(wr_state_get_node_key_time(again), >=, before);

	/* confirmed: the new key is node.key, on disk too */
	g_assert_true(wr_state_promote_next_node_key(again, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(wr_state_get_node_key(again), WR_KEY_BYTES, next, WR_KEY_BYTES);
	g_assert_null(wr_state_get_next_node_key(again));
	g_assert_false(g_file_test(next_path, G_FILE_TEST_EXISTS));
	g_assert_cmpuint(mode_of(path), ==, 0600);
	g_assert_false(wr_state_promote_next_node_key(again, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID);
	g_clear_error(&error);
	third = open_loaded(f);
	g_assert_cmpmem(wr_state_get_node_key(third), WR_KEY_BYTES, next, WR_KEY_BYTES);
	g_assert_null(wr_state_get_next_node_key(third));

	/* refused: dropped, the current key stays */
	g_assert_true(wr_state_new_next_node_key(third, &error));
	g_assert_true(wr_state_drop_next_node_key(third, &error));
	g_assert_no_error(error);
	g_assert_null(wr_state_get_next_node_key(third));
	g_assert_false(g_file_test(next_path, G_FILE_TEST_EXISTS));
	g_assert_cmpmem(wr_state_get_node_key(third), WR_KEY_BYTES, next, WR_KEY_BYTES);

	/* a rotation's key without a node key (a logout that stopped half-way) is nothing */
	{
		g_autoptr(WrState) fourth = NULL;
		g_autofree char *text = g_strdup_printf("privkey:%064d\n", 7);

		g_assert_true(wr_state_clear_node_key(third, &error));
		g_assert_true(g_file_set_contents(next_path, text, -1, &error));
		g_assert_cmpint(g_chmod(next_path, 0600), ==, 0);
		fourth = open_loaded(f);
		g_assert_null(wr_state_get_node_key(fourth));
		g_assert_null(wr_state_get_next_node_key(fourth));
		g_assert_false(g_file_test(next_path, G_FILE_TEST_EXISTS));
		g_assert_true(wr_state_new_node_key(third, &error));
	}

	/* logout forgets a pending one too */
	g_assert_true(wr_state_new_next_node_key(third, &error));
	g_assert_true(wr_state_clear_node_key(third, &error));
	g_assert_null(wr_state_get_next_node_key(third));
	g_assert_false(g_file_test(next_path, G_FILE_TEST_EXISTS));
}

/* damaged files, each kind: set aside with its content, a problem, a fresh default */
static void
test_state_corrupt_machine_key(Fixture *f, gconstpointer data)
{
	static const char garbage[] = "privkey:not hex at all\n";
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(WrState) state = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_MACHINE_KEY);
	uint8_t on_disk[WR_KEY_BYTES];

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	write_file(f, WR_STATE_MACHINE_KEY, garbage, -1, 0600);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_MACHINE_KEY, before, NULL, garbage, strlen(garbage));
	g_assert_cmpint(wr_state_get_machine_key_origin(state), ==, WR_STATE_KEY_REPLACED);
	assert_problem(state, "not a private key", aside);
	assert_problem(state, path, "a new machine key made");
	g_assert_cmpuint(n_problems(state), ==, 1);
	/* the new key is on disk, 0600 */
	g_assert_cmpuint(mode_of(path), ==, 0600);
	g_assert_true(wr_keyfile_load_private(path, on_disk, NULL));
	g_assert_cmpmem(on_disk, sizeof(on_disk), wr_state_get_machine_key(state), WR_KEY_BYTES);
}

static void
test_state_machine_key_readable(Fixture *f, gconstpointer data)
{
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(WrState) state = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_MACHINE_KEY);
	uint8_t key[WR_KEY_BYTES], pub[WR_KEY_BYTES];
	g_autofree char *text = NULL;

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	wr_x25519_generate(key, pub);
	g_assert_true(wr_keyfile_save_private(path, key, NULL));
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_MACHINE_KEY, before, NULL, text, strlen(text));
	assert_problem(state, "readable by others (mode 0644)", aside);
	g_assert_false(wr_memeq(wr_state_get_machine_key(state), key, WR_KEY_BYTES));
	g_assert_cmpuint(mode_of(path), ==, 0600);
}

static void
test_state_corrupt_node_key(Fixture *f, gconstpointer data)
{
	static const char truncated[] = "privkey:0123456789abcdef";
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(WrState) state = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_NODE_KEY);

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	write_file(f, WR_STATE_NODE_KEY, truncated, -1, 0600);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_NODE_KEY, before, NULL, truncated, strlen(truncated));
	assert_problem(state, aside, "no node key (sign in again)");
	g_assert_cmpint(wr_state_get_node_key_origin(state), ==, WR_STATE_KEY_NONE);
	g_assert_null(wr_state_get_node_key(state));
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	/* the machine key is not touched by the node key's trouble */
	g_assert_cmpint(wr_state_get_machine_key_origin(state), ==, WR_STATE_KEY_CREATED);
}

/* a FIFO where a key should be: set aside without opening it (an open would block) */
static void
test_state_key_fifo(Fixture *f, gconstpointer data)
{
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(WrState) state = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_MACHINE_KEY);

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	g_assert_cmpint(mkfifo(path, 0600), ==, 0);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_MACHINE_KEY, before, NULL, NULL, 0);
	assert_problem(state, "not a regular file", aside);
	g_assert_cmpint(wr_state_get_machine_key_origin(state), ==, WR_STATE_KEY_REPLACED);
	g_assert_cmpuint(mode_of(path), ==, 0600);
}

/* prefs files that do not load: the message of the parser, then defaults */
static const struct {
	const char *what;
	const char *contents;
	gssize len;
	const char *problem;
} bad_prefs[] = {
	{"unknown key", "[prefs]\nwant-running = true\nfoo = 1\n", -1,
	 ":3: [prefs] foo: unknown key"},
	{"truncated", "[prefs]\nwant-running = tr", -1,
	 ":2: [prefs] want-running: must be true or false"},
	{"truncated header", "[pre", -1, ":1: a group header must be"},
	{"garbage",
	 "\x7f"
	 "ELF\x02\x01\x01\x00\x00\x00",
	 10, ":1: a NUL byte"},
	{"not UTF-8", "[prefs]\nhostname = \xc3\x28\n", -1, ":2: not valid UTF-8"},
};

static void
test_state_corrupt_prefs(Fixture *f, gconstpointer data)
{
	g_autofree char *path = in_dir(f, WR_STATE_PREFS);
	g_autoptr(WrPrefs) defaults = wr_prefs_new();

	for (gsize i = 0; i < G_N_ELEMENTS(bad_prefs); i++) {
		gint64 before = g_get_real_time() / G_USEC_PER_SEC;
		gsize len = bad_prefs[i].len >= 0 ? (gsize) bad_prefs[i].len
						  : strlen(bad_prefs[i].contents);
		g_autoptr(WrState) state = NULL;
		g_autofree char *aside = NULL;
		g_autofree char *want = g_strconcat(path, bad_prefs[i].problem, NULL);

		g_test_message("prefs: %s", bad_prefs[i].what);
		remove_tree(f->dir);
		g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
		write_file(f, WR_STATE_PREFS, bad_prefs[i].contents, (gssize) len, 0600);
		state = open_loaded(f);
		aside = find_set_aside(f, WR_STATE_PREFS, before, NULL, bad_prefs[i].contents, len);
		assert_problem(state, want, aside);
		assert_problem(state, aside, "the default preferences in use");
		g_assert_true(wr_prefs_equal(wr_state_get_prefs(state), defaults));
		g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	}
}

static void
test_state_oversized_prefs(Fixture *f, gconstpointer data)
{
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	gsize len = WR_PREFS_MAX_SIZE + 1;
	g_autofree char *big = g_malloc(len);
	g_autoptr(WrState) state = NULL;
	g_autofree char *aside = NULL;

	memset(big, '#', len);
	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	write_file(f, WR_STATE_PREFS, big, (gssize) len, 0600);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_PREFS, before, NULL, big, len);
	assert_problem(state, "65537 bytes, over the limit of 65536", aside);
}

static void
test_state_corrupt_netmap(Fixture *f, gconstpointer data)
{
	static const char truncated[] = "{\"Node\": {\"Name\": \"lap";
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(WrState) state = NULL;
	g_autoptr(WrState) again = NULL;
	g_autofree char *aside = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_NETMAP);
	g_autofree char *aside2 = NULL;

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	write_file(f, WR_STATE_NETMAP, truncated, -1, 0600);
	state = open_loaded(f);
	aside = find_set_aside(f, WR_STATE_NETMAP, before, NULL, truncated, strlen(truncated));
	assert_problem(state, "not a network map", aside);
	assert_problem(state, aside, "waiting for the control server's map");
	g_assert_null(wr_state_get_netmap(state));

	/* a directory where the file should be: set aside too, and the first copy is kept */
	g_assert_cmpint(g_mkdir(path, 0700), ==, 0);
	again = open_loaded(f);
	aside2 = find_set_aside(f, WR_STATE_NETMAP, before, aside, NULL, 0);
	g_assert_cmpstr(aside2, !=, aside);
	assert_problem(again, "not a regular file", aside2);
	{
		g_autofree char *first = in_dir(f, aside);
		g_autofree char *second = in_dir(f, aside2);

		g_assert_true(g_file_test(first, G_FILE_TEST_IS_REGULAR));
		g_assert_true(g_file_test(second, G_FILE_TEST_IS_DIR));
	}
}

/* when a damaged file cannot be set aside, the load fails and the file stays as it was */
static void
test_state_cannot_set_aside(Fixture *f, gconstpointer data)
{
	static const char bad[] = "[prefs]\nfoo = 1\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = NULL;
	g_autofree char *path = in_dir(f, WR_STATE_PREFS);
	g_autofree char *kept = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	g_assert_cmpint(g_mkdir(f->dir, 0700), ==, 0);
	write_file(f, WR_STATE_PREFS, bad, -1, 0600);
	/* every name it could take, for the next few seconds */
	for (gint64 t = now; t < now + 5; t++) {
		for (guint n = 0; n < 100; n++) {
			g_autofree char *name =
				n == 0 ? g_strdup_printf(
						 WR_STATE_PREFS ".corrupt-%" G_GINT64_FORMAT, t)
				       : g_strdup_printf(WR_STATE_PREFS ".corrupt-%" G_GINT64_FORMAT
									".%u",
							 t, n);

			write_file(f, name, "older", -1, 0600);
		}
	}
	state = wr_state_new(f->dir, &error);
	g_assert_no_error(error);
	g_assert_false(wr_state_load(state, &error));
	g_assert_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "too many set-aside copies"));
	g_assert_true(g_file_get_contents(path, &kept, NULL, NULL));
	g_assert_cmpstr(kept, ==, bad);
}

/* a crash after the temporary file was written and before the rename: the old file stands,
 * and the next load removes the leftover */
static void
test_state_crash_leftover(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrState) again = NULL;
	g_autoptr(WrPrefs) prefs = wr_prefs_new();
	g_autofree char *prefs_tmp = in_dir(f, ".prefs.conf.tmp-Ab12Cd");
	g_autofree char *map_tmp = in_dir(f, ".netmap.json.tmp-Zz99Yy");
	g_autofree char *key_tmp = in_dir(f, ".key-Qw34Er");
	g_autofree char *other = in_dir(f, "notes.txt");
	uint8_t machine[WR_KEY_BYTES];

	prefs->want_running = TRUE;
	g_assert_true(wr_state_set_prefs(state, prefs, &error));
	g_assert_no_error(error);
	memcpy(machine, wr_state_get_machine_key(state), WR_KEY_BYTES);
	g_assert_true(g_file_set_contents(prefs_tmp, "[prefs]\nwant-running = false\n", -1, NULL));
	g_assert_true(g_file_set_contents(map_tmp, "{\"half", -1, NULL));
	g_assert_true(g_file_set_contents(key_tmp, "privkey:", -1, NULL));
	g_assert_true(g_file_set_contents(other, "mine", -1, NULL));

	again = open_loaded(f);
	g_assert_true(wr_state_get_prefs(again)->want_running);
	g_assert_null(wr_state_get_netmap(again));
	g_assert_cmpmem(wr_state_get_machine_key(again), WR_KEY_BYTES, machine, WR_KEY_BYTES);
	g_assert_cmpuint(n_problems(again), ==, 0);
	g_assert_false(g_file_test(prefs_tmp, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(map_tmp, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(key_tmp, G_FILE_TEST_EXISTS));
	/* only our own temporary files go */
	g_assert_true(g_file_test(other, G_FILE_TEST_EXISTS));
}

/* every write leaves no temporary file behind */
static void
test_state_no_litter(Fixture *f, gconstpointer data)
{
	static const char map[] = "{}";
	g_autoptr(GError) error = NULL;
	g_autoptr(WrState) state = open_loaded(f);
	g_autoptr(WrPrefs) prefs = wr_prefs_new();
	g_autoptr(GBytes) json = g_bytes_new_static(map, 2);
	g_autoptr(GDir) dir = NULL;
	const char *name;
	guint n = 0;

	g_assert_true(wr_state_set_prefs(state, prefs, &error));
	g_assert_true(wr_state_set_netmap(state, json, &error));
	g_assert_true(wr_state_new_node_key(state, &error));
	g_assert_no_error(error);
	dir = g_dir_open(f->dir, 0, NULL);
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = in_dir(f, name);

		g_assert_false(name[0] == '.');
		g_assert_cmpuint(mode_of(path), ==, 0600);
		n++;
	}
	g_assert_cmpuint(n, ==, 4);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
#define T(name, fn) \
	g_test_add("/warren/state/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	T("fresh", test_state_fresh);
	T("dir-mode", test_state_dir_mode);
	T("not-a-dir", test_state_not_a_dir);
	T("prefs-round-trip", test_state_prefs_round_trip);
	T("netmap-round-trip", test_state_netmap_round_trip);
	T("node-key", test_state_node_key);
	T("next-node-key", test_state_next_node_key);
	T("corrupt-machine-key", test_state_corrupt_machine_key);
	T("machine-key-readable", test_state_machine_key_readable);
	T("corrupt-node-key", test_state_corrupt_node_key);
	T("key-fifo", test_state_key_fifo);
	T("corrupt-prefs", test_state_corrupt_prefs);
	T("oversized-prefs", test_state_oversized_prefs);
	T("corrupt-netmap", test_state_corrupt_netmap);
	T("cannot-set-aside", test_state_cannot_set_aside);
	T("crash-leftover", test_state_crash_leftover);
	T("no-litter", test_state_no_litter);
#undef T
	return g_test_run();
}
