/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * SKELETON: replaced by the windows work (issue 8).
 */

#include "config.h"

#include "wr-tray-windows.h"

void
wr_tray_windows_install(GtkApplication *app, WrDbusEngine1 *engine, GSettings *settings)
{
}
