/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The errors of warrend's D-Bus API, one GError domain registered with GDBus, so that a
 * WR_DBUS_ERROR returned by the daemon arrives at the client as the same domain and code: on
 * the wire it is "io.github.warrenvpn.Engine1.Error.<Name>" (the names are documented in
 * data/io.github.warrenvpn.Engine1.xml).  A client strips the remote message with
 * g_dbus_error_strip_remote_error() and shows a translated text chosen by the code; the
 * daemon's English message is detail only.
 *
 * The names are registered with GDBus by the first wr_dbus_error_quark() call: a client calls
 * it once before its first method call (when it makes the proxy), or the first errors arrive
 * as G_IO_ERROR_DBUS_ERROR.
 */
#pragma once

#include <gio/gio.h>

#define WR_DBUS_ERROR_PREFIX "io.github.warrenvpn.Engine1.Error."

#define WR_DBUS_ERROR (wr_dbus_error_quark())
GQuark
wr_dbus_error_quark(void);

/* the order is the wire contract's; append only */
typedef enum {
	WR_DBUS_ERROR_FAILED,		/* an internal failure */
	WR_DBUS_ERROR_INVALID_ARGUMENT, /* malformed or out of range; the message names it */
	WR_DBUS_ERROR_NOT_AUTHORIZED,	/* polkit refused the caller */
	WR_DBUS_ERROR_NOT_RUNNING,	/* the call needs State "Running" */
	WR_DBUS_ERROR_NEEDS_LOGIN,	/* not signed in */
	WR_DBUS_ERROR_NO_SUCH_PEER,	/* no peer of the network map matches */
	WR_DBUS_ERROR_NOT_AN_EXIT_NODE, /* the peer offers no exit */
	WR_DBUS_ERROR_BUSY,		/* the same operation is under way */
	WR_DBUS_ERROR_TIMEOUT,		/* control or the peer did not answer */
	WR_DBUS_ERROR_CONTROL_ERROR,	/* the control server refused */
	WR_DBUS_ERROR_LIMIT_EXCEEDED,	/* too many calls from this caller */
} WrDbusError;

#define WR_DBUS_ERROR_LAST (WR_DBUS_ERROR_LIMIT_EXCEEDED + 1)

/* the D-Bus error name of a code ("io.github.warrenvpn.Engine1.Error.NoSuchPeer"), NULL when
 * the code is not one of WrDbusError */
const char *
wr_dbus_error_name(WrDbusError code);
