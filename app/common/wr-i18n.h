/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The message catalogue's directory: $WARREN_LOCALEDIR when set (tests run the programs from
 * the build tree, where meson writes po/<lang>/LC_MESSAGES/warren.mo), else LOCALEDIR. */
const gchar *
wr_i18n_localedir(void);

/* setlocale(LC_ALL, ""), then bind the "warren" domain to wr_i18n_localedir() in UTF-8 and
 * make it the default domain.  Call first thing in main(). */
void
wr_i18n_init(void);

G_END_DECLS
