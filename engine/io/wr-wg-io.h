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
 *
 * The side channel (warrend; off unless wr_wg_io_set_side_channel() is called) shares the one
 * UDP socket with disco and STUN and sends through DERP what the device addresses to a DERP
 * endpoint (wr-derp-endpoint.h); docs/data-plane.md, "The side channel".  The data threads
 * never call out: they copy into bounded queues and poke the control side, which calls the
 * callbacks on the main context.  Off, each datagram batch costs one extra branch.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>

#include "wr-device.h"
#include "wr-disco.h"
#include "wr-filter.h"
#include "wr-flowtable.h"
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

/* bounds of the side channel's queues, in datagrams: past them new ones are dropped and
 * counted (WrWgIoSideStats), as a full socket buffer would */
#define WR_WG_IO_SIDE_RX_MAX 512
#define WR_WG_IO_DERP_TX_MAX 2048
#define WR_WG_IO_INJECT_MAX  2048

typedef struct {
	/* a disco or STUN datagram (kind) that arrived on the UDP socket from src */
	void (*received)(WrPacketKind kind, const WrEndpoint *src, const uint8_t *data, size_t len,
			 gpointer user_data);
	/* a WireGuard datagram (data or handshake) the device sent to the DERP endpoint of
	 * (region, peer): the caller hands it to that region's DERP client */
	void (*derp_send)(uint32_t region, uint32_t peer, const uint8_t *data, size_t len,
			  gpointer user_data);
} WrWgIoSideChannel;

typedef struct {
	uint64_t rx_queued;	  /* disco/STUN datagrams handed to received() */
	uint64_t rx_dropped;	  /* ... dropped because the queue was full */
	uint64_t rx_derp_source;  /* socket datagrams with a DERP-endpoint source: dropped */
	uint64_t derp_tx_queued;  /* datagrams handed to derp_send() */
	uint64_t derp_tx_dropped; /* ... dropped because the queue was full */
	uint64_t injected;	  /* datagrams wr_wg_io_inject() queued for the device */
	uint64_t inject_dropped;  /* ... refused because the queue was full */
} WrWgIoSideStats;

/* turns the side channel on, once, from the main context; funcs is copied, user_data
 * borrowed until wr_wg_io_free() */
void
wr_wg_io_set_side_channel(WrWgIo *self, const WrWgIoSideChannel *funcs, gpointer user_data);
/*
 * A WireGuard datagram that came over DERP, from the main context: queued for the UDP reader
 * thread (the only TUN writer), which feeds it to the device as received from src (the
 * sender's DERP endpoint).  Returns 0, -EINVAL (no side channel, no source, empty or longer
 * than 65535 bytes) or -ENOBUFS (queue full; counted).
 */
int
wr_wg_io_inject(WrWgIo *self, const WrEndpoint *src, const uint8_t *data, size_t len);
/* sends a disco or STUN datagram on the UDP socket now; 0 or a negative errno (-EINVAL for
 * a DERP endpoint: those go to the DERP client) */
int
wr_wg_io_send_raw(WrWgIo *self, const WrEndpoint *dst, const uint8_t *data, size_t len);
void
wr_wg_io_get_side_stats(WrWgIo *self, WrWgIoSideStats *out);

/* wr_device_peer_kick_handshake; the new initiation leaves from the next main loop iteration
 * (no side channel callback runs inside this call) */
bool
wr_wg_io_kick_handshake(WrWgIo *self, const uint8_t public_key[32]);

/*
 * The packet filter between the device and the TUN (docs/packet-filter.md): every packet read
 * from the TUN is recorded (wr_packet_filter_outbound) before it is encrypted, so that its
 * replies pass, and every decrypted packet must pass wr_packet_filter_inbound before it is
 * written to the TUN; the others are dropped and counted.  filter is borrowed and must outlive
 * the WrWgIo or be unset first; NULL (the default) passes everything.  The data threads pick
 * the change up at their next batch.
 */
void
wr_wg_io_set_packet_filter(WrWgIo *self, WrPacketFilter *filter);
/* decrypted packets the filter dropped */
uint64_t
wr_wg_io_get_filter_dropped(WrWgIo *self);

/*
 * The flow table of the flow logs (docs/flow-logs.md): every packet read from the TUN is
 * counted outbound before it is encrypted, every decrypted packet the filter lets through
 * inbound, with the path it came by (DERP when its source is a DERP endpoint, else direct).
 * flows is borrowed and must outlive the WrWgIo or be unset first; NULL (the default) counts
 * nothing.  The data threads pick the change up at their next batch.
 */
void
wr_wg_io_set_flow_table(WrWgIo *self, WrFlowTable *flows);
