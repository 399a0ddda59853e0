/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Serves the WireGuard UAPI on /var/run/wireguard/IFNAME.sock (mode 0600, root only), the
 * socket that `wg` and `wg-quick` look for, on a GMainContext.  Requests are framed and
 * parsed by wr-uapi.c; a bad request gets its errno and changes nothing.  A socket file left
 * by a dead process is replaced; one that still answers is not (EADDRINUSE).
 */

#pragma once

#include <glib.h>

#include "wr-uapi.h"

#define WR_UAPI_SOCKET_DIR "/var/run/wireguard"
/* at most this many clients at once; more are refused at accept */
#define WR_UAPI_MAX_CLIENTS 16

typedef struct WrUapiServer WrUapiServer;

typedef void (*WrUapiGetFunc)(WrUapiDeviceInfo *info, gpointer user_data);
/* returns 0 or a positive errno; must change nothing when it fails */
typedef int (*WrUapiSetFunc)(const WrUapiSet *set, gpointer user_data);

/* dir NULL = WR_UAPI_SOCKET_DIR */
WrUapiServer *
wr_uapi_server_new(const char *dir, const char *ifname, WrUapiGetFunc get_func,
		   WrUapiSetFunc set_func, gpointer user_data, GError **error);
/* stops listening, drops clients and removes the socket file; accepts NULL */
void
wr_uapi_server_free(WrUapiServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrUapiServer, wr_uapi_server_free)

const char *
wr_uapi_server_get_path(WrUapiServer *self);
