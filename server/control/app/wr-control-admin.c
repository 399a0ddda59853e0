/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The admin socket (control.md "Admin API").
 */
#include "config.h"

#include "wr-control-private.h"

gboolean
ctl_admin_start(WrControl *self, GError **error)
{
	return TRUE;
}

void
ctl_admin_stop(WrControl *self)
{
}
