/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's flow table (docs/flow-logs.md): every IP packet the data path carries, in both
 * directions (read from the TUN for a peer, and from a peer written to the TUN), counted
 * against its connection, keyed by the 5-tuple seen from this node (family, protocol, local
 * address and port, remote address and port; ICMP echoes by their identifier, anything
 * without ports by the addresses alone).  A flow starts with its first packet and ends on TCP
 * RST, on FIN from both sides (each after a short linger, so that the last ACKs still count),
 * after an idle timeout, when it is pushed out of a full table, or when the table is flushed.
 * wr_flow_table_collect() hands the ended ones over as WrFlowRecords.
 *
 * Bytes are IP bytes: the IP packet's own length (IP header, transport header and payload) of
 * each packet as it went through the TUN, before encryption or after decryption; the TCP
 * payload of a transfer is those bytes minus 40 to 120 bytes of headers per packet.
 *
 * Pure: bytes, a `now` (µs, monotonic) and a hash seed in; no I/O, no clock, no logging.
 *
 * Threads: wr_flow_table_record() may be called from any number of threads at once (the table
 * is split into shards with a mutex each; a packet takes one lock and allocates nothing);
 * wr_flow_table_collect() from one thread at a time.  The number of live flows is bounded
 * (max_flows); a full shard ends its least recently used flow to make room.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* which way a packet went */
typedef enum {
	WR_FLOW_OUT, /* read from the TUN, for a peer: src is local */
	WR_FLOW_IN,  /* from a peer, written to the TUN: dst is local */
} WrFlowDir;

/* the path a flow's packets took, as last seen */
typedef enum {
	WR_FLOW_PATH_UNKNOWN = 0, /* not seen (outbound only): the caller fills it in */
	WR_FLOW_PATH_DIRECT = 1,
	WR_FLOW_PATH_DERP = 2,
	WR_FLOW_N_PATHS,
} WrFlowPath;

/* why a flow ended */
typedef enum {
	WR_FLOW_END_IDLE = 0,	 /* no packet for the idle timeout */
	WR_FLOW_END_FIN = 1,	 /* TCP: FIN both ways */
	WR_FLOW_END_RST = 2,	 /* TCP: RST either way */
	WR_FLOW_END_EVICTED = 3, /* the table was full */
	WR_FLOW_END_FLUSH = 4,	 /* the table was flushed (the data plane stopped) */
	WR_FLOW_N_ENDS,
} WrFlowEnd;

/* WrFlowRecord.flags */
#define WR_FLOW_F_OUTBOUND 0x01 /* this node sent the first packet */

/* the longest peer name a record carries, in bytes */
#define WR_FLOW_PEER_MAX 63

/* one finished flow; addresses in network order (IPv4 in the first 4 bytes, rest zero) */
typedef struct {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto;	/* IP protocol number */
	uint8_t path;	/* WrFlowPath */
	uint8_t end;	/* WrFlowEnd */
	uint8_t flags;	/* WR_FLOW_F_* */
	uint16_t lport; /* 0 for protocols without ports; the echo identifier for ICMP echoes */
	uint16_t rport;
	uint8_t local[16];
	uint8_t remote[16];
	int64_t start;	     /* Unix µs: first packet */
	int64_t end_time;    /* Unix µs: last packet */
	uint64_t tx_packets; /* local -> remote */
	uint64_t tx_bytes;
	uint64_t rx_packets; /* remote -> local */
	uint64_t rx_bytes;
	int64_t peer_id;		 /* the control server's node id; 0 when unknown */
	char peer[WR_FLOW_PEER_MAX + 1]; /* its name, NUL-terminated; "" when unknown */
} WrFlowRecord;

/* how long a flow lives after its last packet, µs */
#define WR_FLOW_TCP_IDLE   (10 * G_TIME_SPAN_MINUTE)
#define WR_FLOW_UDP_IDLE   (2 * G_TIME_SPAN_MINUTE)
#define WR_FLOW_ICMP_IDLE  (30 * G_TIME_SPAN_SECOND)
#define WR_FLOW_OTHER_IDLE (2 * G_TIME_SPAN_MINUTE)
/* after FIN both ways or RST: the last ACKs and retransmissions still count */
#define WR_FLOW_LINGER (2 * G_TIME_SPAN_SECOND)

#define WR_FLOW_DEFAULT_MAX_FLOWS 16384
#define WR_FLOW_MIN_MAX_FLOWS	  1
#define WR_FLOW_MAX_MAX_FLOWS	  (1024 * 1024)
/* tables this small or smaller are one shard (one exact LRU); larger ones are split in 16 */
#define WR_FLOW_SHARD_THRESHOLD 1024
#define WR_FLOW_SHARDS		16

typedef struct _WrFlowTable WrFlowTable;

typedef struct {
	guint64 packets; /* packets counted */
	guint64 ignored; /* packets that were not well-formed IP */
	guint64 started; /* flows started */
	guint64 evicted; /* flows ended because the table was full */
	guint64 lost;	 /* ended flows dropped because the ended queue was full */
	guint live;	 /* flows in the table */
} WrFlowTableStats;

/* max_flows: WR_FLOW_MIN_MAX_FLOWS..WR_FLOW_MAX_MAX_FLOWS, 0 = WR_FLOW_DEFAULT_MAX_FLOWS.  seed
 * keys the hash: give it random bits, so that nobody can pick flows that share a bucket. */
WrFlowTable *
wr_flow_table_new(guint max_flows, guint64 seed);
void
wr_flow_table_free(WrFlowTable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrFlowTable, wr_flow_table_free)

/*
 * Counts one IP packet (pkt may carry padding behind it) that went dir at now; path is what
 * carried it (WR_FLOW_PATH_UNKNOWN keeps the flow's).  Returns false, counting it as ignored,
 * when it is not a well-formed IPv4/IPv6 packet.
 */
bool
wr_flow_table_record(WrFlowTable *self, WrFlowDir dir, const uint8_t *pkt, size_t len,
		     WrFlowPath path, gint64 now);

/*
 * A data thread's run of packets of one flow (TCP segments of one stream come in runs: TSO
 * cuts them from one super-packet), counted under the shard's lock once rather than once a
 * packet.  Zero it before first use; one per thread; flush it at the end of every batch.
 */
typedef struct {
	uint8_t key[40];
	uint8_t dir;
	uint8_t path;
	bool tcp_ports;
	uint64_t packets; /* 0: no run */
	uint64_t bytes;
	gint64 first; /* the run's first packet */
	gint64 now;   /* its last */
} WrFlowCursor;

/* wr_flow_table_record() through cursor: a packet of the cursor's flow, the same way and path,
 * that changes no TCP state (no SYN, FIN or RST) joins the run; any other packet flushes it
 * first */
bool
wr_flow_table_record_run(WrFlowTable *self, WrFlowCursor *cursor, WrFlowDir dir, const uint8_t *pkt,
			 size_t len, WrFlowPath path, gint64 now);
/* counts the run the cursor holds (no-op for none) */
void
wr_flow_table_flush_run(WrFlowTable *self, WrFlowCursor *cursor);

/*
 * Ends the flows that are due at now (idle, or FIN/RST plus the linger), or every flow when
 * flush, and appends each ended flow (also those a full table pushed out since the last call)
 * to out, a GArray of WrFlowRecord, oldest end first within a shard.  realtime is the wall
 * clock (Unix µs) at now: monotonic times become Unix ones with it.  peer_id and peer are left
 * empty.  Returns how many were appended.
 */
guint
wr_flow_table_collect(WrFlowTable *self, gint64 now, gint64 realtime, bool flush, GArray *out);

void
wr_flow_table_get_stats(WrFlowTable *self, WrFlowTableStats *out);

/* "tcp", "udp", "icmp", "ipv6-icmp", ... as packet filter rules name them, else "proto-N" */
const char *
wr_flow_proto_name(uint8_t proto, char buf[16]);
/* "direct", "derp", "" */
const char *
wr_flow_path_name(WrFlowPath path);
/* "idle", "fin", "rst", "evicted", "flush" */
const char *
wr_flow_end_name(WrFlowEnd end);
