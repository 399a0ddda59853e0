/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDbusError"

#include "config.h"

#include "wr-dbus-error.h"

static const GDBusErrorEntry entries[] = {
	{WR_DBUS_ERROR_FAILED, WR_DBUS_ERROR_PREFIX "Failed"},
	{WR_DBUS_ERROR_INVALID_ARGUMENT, WR_DBUS_ERROR_PREFIX "InvalidArgument"},
	{WR_DBUS_ERROR_NOT_AUTHORIZED, WR_DBUS_ERROR_PREFIX "NotAuthorized"},
	{WR_DBUS_ERROR_NOT_RUNNING, WR_DBUS_ERROR_PREFIX "NotRunning"},
	{WR_DBUS_ERROR_NEEDS_LOGIN, WR_DBUS_ERROR_PREFIX "NeedsLogin"},
	{WR_DBUS_ERROR_NO_SUCH_PEER, WR_DBUS_ERROR_PREFIX "NoSuchPeer"},
	{WR_DBUS_ERROR_NOT_AN_EXIT_NODE, WR_DBUS_ERROR_PREFIX "NotAnExitNode"},
	{WR_DBUS_ERROR_BUSY, WR_DBUS_ERROR_PREFIX "Busy"},
	{WR_DBUS_ERROR_TIMEOUT, WR_DBUS_ERROR_PREFIX "Timeout"},
	{WR_DBUS_ERROR_CONTROL_ERROR, WR_DBUS_ERROR_PREFIX "ControlError"},
	{WR_DBUS_ERROR_LIMIT_EXCEEDED, WR_DBUS_ERROR_PREFIX "LimitExceeded"},
};

G_STATIC_ASSERT(G_N_ELEMENTS(entries) == WR_DBUS_ERROR_LAST);

GQuark
wr_dbus_error_quark(void)
{
	static gsize quark = 0;

	/* registers the names with GDBus the first time, thread-safely */
	g_dbus_error_register_error_domain("wr-dbus-error-quark", &quark, entries,
					   G_N_ELEMENTS(entries));
	return (GQuark) quark;
}

const char *
wr_dbus_error_name(WrDbusError code)
{
	if ((guint) code >= G_N_ELEMENTS(entries))
		return NULL;
	return entries[code].dbus_error_name;
}
