/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Runs a WrDevice over a real TUN device and UDP socket.
 *
 * Two data-plane threads never touch the GLib main loop: the TUN reader (read a batch of IP
 * packets, encrypt, sendmmsg) and the UDP reader (recvmmsg, decrypt, write to the TUN).  The
 * control side lives on a GMainContext: it ticks the device at its deadlines (a GSource with
 * a ready time), answers handshakes when the data threads poke an eventfd, sends the outbox,
 * and applies configuration.  The socket is swapped under a reader/writer lock when the
 * listen port changes, so the data threads never see a closed fd.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>

#include "wr-device.h"
#include "wr-tun.h"
#include "wr-uapi.h"

typedef struct WrWgIo WrWgIo;

/* called on the main context when the TUN device went away (e.g. `ip link del`) */
typedef void (*WrWgIoGoneFunc)(gpointer user_data);

/* device and tun are borrowed and must outlive the WrWgIo; context NULL = thread default */
WrWgIo *
wr_wg_io_new(WrDevice *device, WrTun *tun, GMainContext *context, WrWgIoGoneFunc gone_func,
	     gpointer user_data, GError **error);
/* stops the threads and frees; accepts NULL */
void
wr_wg_io_free(WrWgIo *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrWgIo, wr_wg_io_free)

/* applies a UAPI set atomically (socket first, then the device); returns a positive errno */
int
wr_wg_io_apply(WrWgIo *self, const WrUapiSet *set);
/* a UAPI get: the device's state with the port the socket really has */
void
wr_wg_io_get_info(WrWgIo *self, WrUapiDeviceInfo *info);
/* counters for logs and benchmarks, one line */
char *
wr_wg_io_describe_stats(WrWgIo *self);
