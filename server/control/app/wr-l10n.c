/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrL10n"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-accept-language.h"
#include "wr-l10n.h"

/* the .mo header (GNU gettext manual, "The Format of GNU MO Files") */
#define MO_MAGIC      0x950412deU
#define MO_MAGIC_BE   0xde120495U
#define MO_HEADER_LEN 28
#define MO_OFF_REV    4
#define MO_OFF_N      8
#define MO_OFF_ORIG   12
#define MO_OFF_TRANS  16
#define MO_ENTRY_LEN  8
#define MO_MAJOR_MAX  1
/* the language the sources are written in */
#define SOURCE_LANGUAGE "en"

struct _WrCatalog {
	char *language; /* "zh_CN" */
	char *tag;	/* "zh-CN" */
	GHashTable *strings;
};

struct _WrL10n {
	gint ref;
	GPtrArray *languages; /* sorted names, NULL-terminated */
	GHashTable *catalogs; /* name -> WrCatalog */
};

static guint32
read_u32(const guint8 *p, gboolean big_endian)
{
	if (big_endian)
		return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
	return (guint32) p[3] << 24 | (guint32) p[2] << 16 | (guint32) p[1] << 8 | p[0];
}

/* string @i of the table at @table: in bounds and NUL-terminated, else NULL */
static const char *
mo_string(const guint8 *data, gsize len, guint32 table, guint32 i, gboolean big_endian)
{
	guint64 entry = (guint64) table + (guint64) i * MO_ENTRY_LEN;
	guint32 slen, soff;

	if (entry + MO_ENTRY_LEN > len)
		return NULL;
	slen = read_u32(data + entry, big_endian);
	soff = read_u32(data + entry + 4, big_endian);
	if ((guint64) soff + slen >= len || data[(gsize) soff + slen] != '\0')
		return NULL;
	return (const char *) data + soff;
}

WrCatalog *
wr_catalog_new_from_data(const char *language, const guint8 *data, gsize len, GError **error)
{
	g_autoptr(WrCatalog) cat = NULL;
	gboolean big_endian;
	guint32 magic, n, orig, trans;

	g_return_val_if_fail(language != NULL, NULL);
	g_return_val_if_fail(data != NULL || len == 0, NULL);

	if (len < MO_HEADER_LEN || len > WR_CATALOG_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "a message catalogue is %d to %d bytes, not %" G_GSIZE_FORMAT,
			    MO_HEADER_LEN, WR_CATALOG_MAX_SIZE, len);
		return NULL;
	}
	magic = read_u32(data, FALSE);
	if (magic != MO_MAGIC && magic != MO_MAGIC_BE) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "not a GNU message catalogue (bad magic number)");
		return NULL;
	}
	big_endian = magic == MO_MAGIC_BE;
	if (read_u32(data + MO_OFF_REV, big_endian) >> 16 > MO_MAJOR_MAX) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the message catalogue's major revision is unknown");
		return NULL;
	}
	n = read_u32(data + MO_OFF_N, big_endian);
	orig = read_u32(data + MO_OFF_ORIG, big_endian);
	trans = read_u32(data + MO_OFF_TRANS, big_endian);
	if (n > WR_CATALOG_MAX_STRINGS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the message catalogue has %u strings, more than %d", n,
			    WR_CATALOG_MAX_STRINGS);
		return NULL;
	}
	cat = g_new0(WrCatalog, 1);
	cat->language = g_strdup(language);
	cat->tag = g_strdelimit(g_strndup(language, strcspn(language, ".@")), "_", '-');
	cat->strings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint32 i = 0; i < n; i++) {
		const char *msgid = mo_string(data, len, orig, i, big_endian);
		const char *msgstr = mo_string(data, len, trans, i, big_endian);

		if (msgid == NULL || msgstr == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "string %u of the message catalogue is out of bounds or not "
				    "NUL-terminated",
				    i);
			return NULL;
		}
		/* a plural entry is "one\0other": both sides are read up to the first NUL */
		if (!g_utf8_validate(msgid, -1, NULL) || !g_utf8_validate(msgstr, -1, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "string %u of the message catalogue is not UTF-8", i);
			return NULL;
		}
		/* the header (msgid "") and untranslated entries are no translations */
		if (msgid[0] == '\0' || msgstr[0] == '\0')
			continue;
		g_hash_table_replace(cat->strings, g_strdup(msgid), g_strdup(msgstr));
	}
	return g_steal_pointer(&cat);
}

void
wr_catalog_free(WrCatalog *cat)
{
	if (cat == NULL)
		return;
	g_hash_table_unref(cat->strings);
	g_free(cat->language);
	g_free(cat->tag);
	g_free(cat);
}

const char *
wr_catalog_lookup(const WrCatalog *cat, const char *msgid)
{
	g_return_val_if_fail(msgid != NULL, NULL);

	return cat != NULL ? g_hash_table_lookup(cat->strings, msgid) : NULL;
}

const char *
wr_catalog_gettext(const WrCatalog *cat, const char *msgid)
{
	const char *text = wr_catalog_lookup(cat, msgid);

	return text != NULL ? text : msgid;
}

const char *
wr_catalog_get_tag(const WrCatalog *cat)
{
	return cat != NULL ? cat->tag : SOURCE_LANGUAGE;
}

/* "de", "fil", "zh_CN": the names gettext's catalogues have; not "C", "en@quot" or "." */
static gboolean
language_name_ok(const char *name)
{
	gsize lang = 0;

	while (g_ascii_islower(name[lang]))
		lang++;
	if (lang < 2 || lang > 3)
		return FALSE;
	if (name[lang] == '\0')
		return TRUE;
	return name[lang] == '_' && g_ascii_isupper(name[lang + 1]) &&
	       g_ascii_isupper(name[lang + 2]) && name[lang + 3] == '\0';
}

static WrCatalog *
load_file(const char *language, const char *path, GError **error)
{
	g_autofree char *data = NULL;
	GStatBuf st;
	gsize len = 0;
	WrCatalog *cat;

	/* refuse a huge file before reading it */
	if (g_stat(path, &st) == 0 && st.st_size > WR_CATALOG_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: larger than %d bytes",
			    path, WR_CATALOG_MAX_SIZE);
		return NULL;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	cat = wr_catalog_new_from_data(language, (const guint8 *) data, len, error);
	if (cat == NULL)
		g_prefix_error(error, "%s: ", path);
	return cat;
}

/* g_ptr_array_sort passes pointers to the elements */
static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

WrL10n *
wr_l10n_new(const char *localedir, const char *domain)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *file = NULL;
	WrL10n *self;
	const char *name;

	g_return_val_if_fail(localedir != NULL && domain != NULL, NULL);

	self = g_new0(WrL10n, 1);
	self->ref = 1;
	self->languages = g_ptr_array_new_with_free_func(g_free);
	self->catalogs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					       (GDestroyNotify) wr_catalog_free);
	file = g_strconcat(domain, ".mo", NULL);
	dir = g_dir_open(localedir, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (language_name_ok(name) && strcmp(name, SOURCE_LANGUAGE) != 0)
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		const char *language = names->pdata[i];
		g_autofree char *path =
			g_build_filename(localedir, language, "LC_MESSAGES", file, NULL);
		g_autoptr(GError) error = NULL;
		WrCatalog *cat;

		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			continue;
		cat = load_file(language, path, &error);
		if (cat == NULL) {
			g_warning("%s, ignoring", error->message);
			continue;
		}
		g_ptr_array_add(self->languages, g_strdup(language));
		g_hash_table_insert(self->catalogs, cat->language, cat);
	}
	g_ptr_array_add(self->languages, NULL);
	g_debug("%u languages for the web pages from %s", self->languages->len - 1, localedir);
	return self;
}

WrL10n *
wr_l10n_ref(WrL10n *self)
{
	if (self != NULL)
		g_atomic_int_inc(&self->ref);
	return self;
}

void
wr_l10n_unref(WrL10n *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test(&self->ref))
		return;
	g_hash_table_unref(self->catalogs);
	g_ptr_array_unref(self->languages);
	g_free(self);
}

const char *const *
wr_l10n_get_languages(const WrL10n *self)
{
	g_return_val_if_fail(self != NULL, NULL);

	return (const char *const *) self->languages->pdata;
}

const WrCatalog *
wr_l10n_pick(const WrL10n *self, const char *accept_language)
{
	g_autoptr(GPtrArray) available = NULL;
	const char *picked;

	if (self == NULL || self->languages->len <= 1)
		return NULL;
	/* English takes part, so that "en-US, de;q=0.5" stays English */
	available = g_ptr_array_new();
	for (guint i = 0; i + 1 < self->languages->len; i++)
		g_ptr_array_add(available, self->languages->pdata[i]);
	g_ptr_array_add(available, (gpointer) SOURCE_LANGUAGE);
	g_ptr_array_add(available, NULL);
	picked = wr_accept_language_pick(accept_language, (const char *const *) available->pdata);
	return picked != NULL ? g_hash_table_lookup(self->catalogs, picked) : NULL;
}
