/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray icon through libayatana-appindicator (wr-tray-indicator.h).
 */

#include "config.h"

#include <libayatana-appindicator/app-indicator.h>

#include "wr-tray-indicator.h"
#include "wr-tray-view.h"

struct _WrTrayIndicator {
	AppIndicator *indicator;
	gchar *icon_name;
	gchar *title;
};

WrTrayIndicator *
wr_tray_indicator_new(GtkMenu *menu, const gchar *icon_theme_path)
{
	WrTrayIndicator *self = g_new0(WrTrayIndicator, 1);

	/* the id names the D-Bus object: /org/ayatana/NotificationItem/warren_tray */
	self->indicator =
		app_indicator_new("warren-tray", wr_tray_icon_name(WR_TRAY_ICON_SIGNED_OUT),
				  APP_INDICATOR_CATEGORY_COMMUNICATIONS);
	if (icon_theme_path != NULL)
		app_indicator_set_icon_theme_path(self->indicator, icon_theme_path);
	app_indicator_set_title(self->indicator, "Warren");
	app_indicator_set_menu(self->indicator, menu);
	app_indicator_set_status(self->indicator, APP_INDICATOR_STATUS_ACTIVE);
	return self;
}

void
wr_tray_indicator_free(WrTrayIndicator *self)
{
	if (self == NULL)
		return;
	g_clear_object(&self->indicator);
	g_free(self->icon_name);
	g_free(self->title);
	g_free(self);
}

void
wr_tray_indicator_update(WrTrayIndicator *self, const gchar *icon_name, const gchar *description,
			 const gchar *title)
{
	/* every set emits a signal on the bus: only what changed */
	if (g_strcmp0(self->icon_name, icon_name) != 0) {
		g_free(self->icon_name);
		self->icon_name = g_strdup(icon_name);
		app_indicator_set_icon_full(self->indicator, icon_name, description);
	}
	if (g_strcmp0(self->title, title) != 0) {
		g_free(self->title);
		self->title = g_strdup(title);
		app_indicator_set_title(self->indicator, title);
	}
}
