/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Per-request translation for warren-control's sign-in pages (docs/control-l10n.md): the
 * language comes from each browser's Accept-Language, not from the process locale, so the
 * server reads the "warren" catalogues that msgfmt compiled (<localedir>/<lang>/LC_MESSAGES/
 * warren.mo, the same files the CLI and the tray use through gettext) into immutable tables
 * once at start and looks strings up in the one a request picked.  No setlocale, no
 * LANGUAGE, no uselocale: nothing global changes per request, so any thread may translate,
 * and a server without generated system locales (Debian's default) still speaks Chinese.
 *
 * Strings to translate are marked N_() in the source so that xgettext finds them, and passed
 * through wr_catalog_gettext() with the request's catalogue.  Plural forms are not read
 * (a plural entry answers with its first form); the pages need none.
 */

#pragma once

#include <gio/gio.h>

/* a catalogue file larger than this is refused */
#define WR_CATALOG_MAX_SIZE (8 * 1024 * 1024)
/* and one with more strings than this */
#define WR_CATALOG_MAX_STRINGS 65536

typedef struct _WrCatalog WrCatalog;
typedef struct _WrL10n WrL10n;

/*
 * Reads a GNU .mo file (either byte order) named for @language ("de", "zh_CN").  Every
 * offset and length is checked against @len, and every string must be NUL-terminated and
 * UTF-8.  NULL with G_IO_ERROR_INVALID_DATA naming what is wrong.
 */
WrCatalog *
wr_catalog_new_from_data(const char *language, const guint8 *data, gsize len, GError **error);
void
wr_catalog_free(WrCatalog *cat);

/* the translation of @msgid, or NULL when @cat (may be NULL) has none */
const char *
wr_catalog_lookup(const WrCatalog *cat, const char *msgid);

/* the translation of @msgid, or @msgid itself (English) when @cat is NULL or has none */
const char *
wr_catalog_gettext(const WrCatalog *cat, const char *msgid) G_GNUC_FORMAT(2);

/* the catalogue's language as a BCP 47 tag for Content-Language ("zh-CN"); "en" for NULL */
const char *
wr_catalog_get_tag(const WrCatalog *cat);

/*
 * Loads the @domain catalogue of every language that @localedir has one of (directories
 * named like "de" or "zh_CN").  Never fails: a missing directory means English only, a file
 * that cannot be read is left out with a warning.
 */
WrL10n *
wr_l10n_new(const char *localedir, const char *domain);
WrL10n *
wr_l10n_ref(WrL10n *self);
void
wr_l10n_unref(WrL10n *self);

/* the loaded languages ("de", "zh_CN" …), sorted; never NULL */
const char *const *
wr_l10n_get_languages(const WrL10n *self);

/*
 * The catalogue an Accept-Language header (may be NULL) asks for, or NULL for English: the
 * default, and the answer when the person prefers English to every loaded language.
 * @self may be NULL (English only).  Valid as long as @self is.
 */
const WrCatalog *
wr_l10n_pick(const WrL10n *self, const char *accept_language);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrCatalog, wr_catalog_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrL10n, wr_l10n_unref)
