/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "wr-source.h"

static gboolean
deadline_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	/* once per deadline: the callback sets the next one */
	g_source_set_ready_time(source, -1);
	return callback(user_data);
}

static GSourceFuncs deadline_funcs = {
	.dispatch = deadline_dispatch,
};

GSource *
wr_deadline_source_new(GMainContext *context, const char *name, gint64 ready_time, GSourceFunc func,
		       gpointer user_data)
{
	GSource *source = g_source_new(&deadline_funcs, sizeof(GSource));

	g_source_set_callback(source, func, user_data, NULL);
	g_source_set_static_name(source, name);
	g_source_set_ready_time(source, ready_time);
	g_source_attach(source, context);
	return source;
}

void
wr_source_clear(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

void
wr_eventfd_poke(int fd)
{
	uint64_t one = 1;

	/* an eventfd write only fails when the counter would overflow: it is poked already */
	(void) !write(fd, &one, sizeof(one));
}

void
wr_eventfd_drain(int fd)
{
	uint64_t value;

	(void) !read(fd, &value, sizeof(value));
}
