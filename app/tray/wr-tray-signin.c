/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * SKELETON: replaced by the sign-in work (issue 8).
 */

#include "config.h"

#include "wr-tray-signin.h"

void
wr_tray_signin_install(GtkApplication *app, WrDbusEngine1 *engine)
{
}
