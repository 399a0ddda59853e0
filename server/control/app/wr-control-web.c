/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Browser sign-in (control.md "Browser sign-in").  Until the OpenID relying party is wired in,
 * a server configured with [oidc] refuses to start rather than hand out links that lead nowhere.
 */
#include "config.h"

#include "wr-control-private.h"

gboolean
ctl_web_init(WrControl *self, GError **error)
{
	if (!self->config->oidc_enabled)
		return TRUE;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "%s: [oidc]: browser sign-in is not available in this build",
		    self->config->path);
	return FALSE;
}

void
ctl_web_add_handlers(WrControl *self, SoupServer *server)
{
}

void
ctl_web_free(WrControl *self)
{
}
