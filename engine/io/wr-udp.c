/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrUdp"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wr-udp.h"

/* how many datagrams one syscall moves at most */
#define UDP_BATCH 64
/* socket buffers: a few hundred full-size datagrams, so a burst from the TUN fits */
#define UDP_SOCKET_BUFFER (4 * 1024 * 1024)
/* how long a sender waits for room in a full socket buffer before dropping */
#define UDP_SEND_WAIT_MSEC 100
/* generic segmentation: one send of up to this many equal-sized datagrams (the kernel's
 * UDP_MAX_SEGMENTS is at least 64) and at most a 64 KiB payload */
#define UDP_GSO_MAX_SEGMENTS 64
#define UDP_GSO_MAX_BYTES    (65535 - 8 - 40)

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

struct WrUdp {
	int fd;
	int family;
	uint16_t port;
	bool gro; /* the kernel hands us coalesced datagrams with their segment size */
	int gso;  /* atomic: cleared when the kernel refuses UDP_SEGMENT */
	WrUdpStats stats;
};

/* counters are bumped from the data-path threads and the control thread alike */
static void
stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static void
set_buffer(int fd, int opt_force, int opt, int size)
{
	/* as root the FORCE variant passes net.core.*mem_max; otherwise take what we get */
	if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof(size)) != 0)
		(void) setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int
open_socket(int family, uint16_t port, uint32_t fwmark, uint16_t *out_port)
{
	WrEndpoint local = {0};
	socklen_t len;
	int fd;
	int one = 1;
	int zero = 0;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
		goto fail;
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, UDP_SOCKET_BUFFER);
	set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, UDP_SOCKET_BUFFER);
	if (fwmark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) != 0)
		goto fail;

	if (family == AF_INET6) {
		local.in6.sin6_family = AF_INET6;
		local.in6.sin6_addr = in6addr_any;
		local.in6.sin6_port = htons(port);
		len = sizeof(local.in6);
	} else {
		local.in4.sin_family = AF_INET;
		local.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		local.in4.sin_port = htons(port);
		len = sizeof(local.in4);
	}
	if (bind(fd, &local.sa, len) != 0)
		goto fail;
	len = sizeof(local);
	if (getsockname(fd, &local.sa, &len) != 0)
		goto fail;
	*out_port = ntohs(family == AF_INET6 ? local.in6.sin6_port : local.in4.sin_port);
	return fd;
fail : {
	int err = -errno;

	close(fd);
	return err;
}
}

WrUdp *
wr_udp_new(uint16_t port, uint32_t fwmark, GError **error)
{
	WrUdp *self;
	uint16_t bound = 0;
	int family = AF_INET6;
	int fd;

	fd = open_socket(AF_INET6, port, fwmark, &bound);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
		family = AF_INET;
		fd = open_socket(AF_INET, port, fwmark, &bound);
	}
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-fd),
			    "cannot bind UDP port %u: %s", port, g_strerror(-fd));
		return NULL;
	}
	self = g_new0(WrUdp, 1);
	self->fd = fd;
	self->family = family;
	self->port = bound;
	self->gso = g_strcmp0(g_getenv("WARREN_WG_NO_OFFLOAD"), "1") != 0;
	if (self->gso) {
		int one = 1;

		self->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	}
	return self;
}

void
wr_udp_free(WrUdp *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close(self->fd);
	g_free(self);
}

int
wr_udp_get_fd(WrUdp *self)
{
	return self->fd;
}

uint16_t
wr_udp_get_port(WrUdp *self)
{
	return self->port;
}

bool
wr_udp_has_gro(WrUdp *self)
{
	return self->gro;
}

bool
wr_udp_set_fwmark(WrUdp *self, uint32_t fwmark, GError **error)
{
	if (setsockopt(self->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) != 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot set fwmark: %s",
			    g_strerror(err));
		return false;
	}
	return true;
}

int
wr_udp_recv_batch(WrUdp *self, uint8_t **bufs, unsigned int n_bufs, WrPacket *pkts,
		  unsigned int max_pkts)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
	WrEndpoint names[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} controls[UDP_BATCH];
	unsigned int out = 0;
	int n;

	/* without GRO each buffer holds one datagram, so never receive more than fit in pkts */
	n_bufs = MIN(n_bufs, UDP_BATCH);
	if (!self->gro)
		n_bufs = MIN(n_bufs, max_pkts);
	for (unsigned int i = 0; i < n_bufs; i++) {
		iovs[i].iov_base = bufs[i];
		iovs[i].iov_len = WR_PACKET_CAPACITY;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &names[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (self->gro) {
			msgs[i].msg_hdr.msg_control = controls[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(controls[i].buf);
		}
	}
	do
		n = recvmmsg(self->fd, msgs, n_bufs, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	stat_add(&self->stats.rx_syscalls, 1);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;

	for (int i = 0; i < n; i++) {
		struct msghdr *hdr = &msgs[i].msg_hdr;
		uint32_t len = msgs[i].msg_len;
		uint32_t segment = len;

		wr_endpoint_unmap(&names[i]);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(hdr); self->gro && c != NULL;
		     c = CMSG_NXTHDR(hdr, c)) {
			int gso_size;

			if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
			    c->cmsg_len < CMSG_LEN(sizeof(int)))
				continue;
			memcpy(&gso_size, CMSG_DATA(c), sizeof(gso_size));
			if (gso_size > 0 && (uint32_t) gso_size < len)
				segment = (uint32_t) gso_size;
		}
		if (hdr->msg_flags & MSG_TRUNC) {
			/* not what the peer sent: make it fail validation */
			len = 0;
			segment = 0;
		}
		/* a coalesced datagram is cut back into the datagrams the peer sent */
		for (uint32_t off = 0; out < max_pkts && (off < len || (len == 0 && off == 0));
		     off += segment) {
			WrPacket *pkt = &pkts[out++];

			pkt->data = bufs[i] + off;
			pkt->len = MIN(segment, len - off);
			pkt->verdict = WR_VERDICT_NONE;
			pkt->endpoint = names[i];
			if (segment == 0)
				break;
		}
	}
	stat_add(&self->stats.rx_datagrams, out);
	return (int) out;
}

static bool
wait_writable(WrUdp *self)
{
	struct pollfd pfd = {.fd = self->fd, .events = POLLOUT};
	int r;

	do
		r = poll(&pfd, 1, UDP_SEND_WAIT_MSEC);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* sends msgs[0..n), resuming after partial sends, skipping datagrams the kernel refuses */
static int
send_msgs(WrUdp *self, struct mmsghdr *msgs, unsigned int n)
{
	unsigned int done = 0;
	int ret = 0;

	while (done < n) {
		int r = sendmmsg(self->fd, msgs + done, n - done, 0);

		stat_add(&self->stats.tx_syscalls, 1);
		if (r > 0) {
			done += (unsigned int) r;
			stat_add(&self->stats.tx_datagrams, (uint64_t) r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			if (wait_writable(self))
				continue;
			/* the buffer stayed full: drop the rest of this batch, like a full queue */
			stat_add(&self->stats.tx_errors, n - done);
			return -EAGAIN;
		}
		/* this datagram cannot go (no route, EPERM from a firewall...): skip it */
		ret = r < 0 ? -errno : -EIO;
		stat_add(&self->stats.tx_errors, 1);
		done++;
	}
	return ret;
}

/* an IPv4-only socket (a host without IPv6) cannot reach an IPv6 endpoint: count and skip */
static bool
reachable(WrUdp *self, const WrEndpoint *to)
{
	if (self->family == AF_INET && to->sa.sa_family != AF_INET) {
		stat_add(&self->stats.tx_errors, 1);
		return false;
	}
	return true;
}

static void
fill_msg(WrUdp *self, struct mmsghdr *msg, struct iovec *iov, WrEndpoint *name,
	 const WrEndpoint *to, uint8_t *data, uint32_t len)
{
	if (self->family == AF_INET6)
		wr_endpoint_to_v6_mapped(to, name);
	else
		*name = *to;
	iov->iov_base = data;
	iov->iov_len = len;
	memset(&msg->msg_hdr, 0, sizeof(msg->msg_hdr));
	msg->msg_hdr.msg_name = name;
	msg->msg_hdr.msg_namelen = (socklen_t) wr_endpoint_socklen(name);
	msg->msg_hdr.msg_iov = iov;
	msg->msg_hdr.msg_iovlen = 1;
}

/* one sendmsg per run of equal-sized datagrams to one endpoint (the last may be shorter) */
static int
send_batch_gso(WrUdp *self, WrPacket *pkts, unsigned int n)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH * 2];
	WrEndpoint names[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} controls[UDP_BATCH];
	unsigned int m = 0, n_iov = 0;
	unsigned int i = 0;
	int ret = 0;

	while (i < n) {
		WrPacket *first = &pkts[i];
		unsigned int segs = 0;
		uint32_t size, total = 0;
		struct iovec *iov;

		if (first->verdict != WR_VERDICT_SEND || !reachable(self, &first->endpoint)) {
			i++;
			continue;
		}
		if (m == UDP_BATCH || n_iov + UDP_GSO_MAX_SEGMENTS > G_N_ELEMENTS(iovs)) {
			int r = send_msgs(self, msgs, m);

			ret = ret != 0 ? ret : r;
			m = 0;
			n_iov = 0;
		}
		size = first->len;
		iov = &iovs[n_iov];
		while (i < n && segs < UDP_GSO_MAX_SEGMENTS) {
			WrPacket *pkt = &pkts[i];

			if (pkt->verdict != WR_VERDICT_SEND)
				break;
			if (pkt->len > size || total + pkt->len > UDP_GSO_MAX_BYTES ||
			    !wr_endpoint_equal(&pkt->endpoint, &first->endpoint))
				break;
			iov[segs].iov_base = pkt->data;
			iov[segs].iov_len = pkt->len;
			total += pkt->len;
			segs++;
			i++;
			/* a shorter datagram ends the run */
			if (pkt->len < size)
				break;
		}
		fill_msg(self, &msgs[m], iov, &names[m], &first->endpoint, first->data, first->len);
		msgs[m].msg_hdr.msg_iovlen = segs;
		if (segs > 1) {
			struct cmsghdr *c;
			uint16_t gso_size = (uint16_t) size;

			msgs[m].msg_hdr.msg_control = controls[m].buf;
			msgs[m].msg_hdr.msg_controllen = sizeof(controls[m].buf);
			c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(gso_size));
			memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
		}
		n_iov += segs;
		m++;
	}
	if (m > 0) {
		int r = send_msgs(self, msgs, m);

		ret = ret != 0 ? ret : r;
	}
	return ret;
}

static int
send_batch_plain(WrUdp *self, WrPacket *pkts, unsigned int n)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
	WrEndpoint names[UDP_BATCH];
	unsigned int m = 0;
	int ret = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (pkts[i].verdict != WR_VERDICT_SEND)
			continue;
		if (!reachable(self, &pkts[i].endpoint))
			continue;
		fill_msg(self, &msgs[m], &iovs[m], &names[m], &pkts[i].endpoint, pkts[i].data,
			 pkts[i].len);
		if (++m == UDP_BATCH) {
			int r = send_msgs(self, msgs, m);

			ret = ret != 0 ? ret : r;
			m = 0;
		}
	}
	if (m > 0) {
		int r = send_msgs(self, msgs, m);

		ret = ret != 0 ? ret : r;
	}
	return ret;
}

int
wr_udp_send_batch(WrUdp *self, WrPacket *pkts, unsigned int n)
{
	if (g_atomic_int_get(&self->gso)) {
		int r = send_batch_gso(self, pkts, n);

		/* EIO: the route's device cannot segment (checksum offload off); fall back for
		 * good, as the kernel would refuse every GSO send on this path */
		if (r == -EIO || r == -EINVAL || r == -ENOPROTOOPT) {
			g_warning("UDP segmentation offload refused (%s), sending datagrams one "
				  "by one from now on",
				  g_strerror(-r));
			g_atomic_int_set(&self->gso, 0);
		}
		return r;
	}
	return send_batch_plain(self, pkts, n);
}

void
wr_udp_send_datagrams(WrUdp *self, GQueue *datagrams)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
	WrEndpoint names[UDP_BATCH];
	WrDatagram *batch[UDP_BATCH];
	WrDatagram *d;
	unsigned int m = 0;

	while ((d = g_queue_pop_head(datagrams)) != NULL) {
		if (!reachable(self, &d->endpoint)) {
			wr_datagram_free(d);
			continue;
		}
		fill_msg(self, &msgs[m], &iovs[m], &names[m], &d->endpoint, d->buf + d->offset,
			 d->len);
		batch[m++] = d;
		if (m == UDP_BATCH || g_queue_is_empty(datagrams)) {
			(void) send_msgs(self, msgs, m);
			for (unsigned int i = 0; i < m; i++)
				wr_datagram_free(batch[i]);
			m = 0;
		}
	}
}

int
wr_udp_send_one(WrUdp *self, const WrEndpoint *to, const uint8_t *data, size_t len)
{
	struct mmsghdr msg;
	struct iovec iov;
	WrEndpoint name;

	if (len > UINT32_MAX || wr_endpoint_socklen(to) == 0)
		return -EINVAL;
	if (!reachable(self, to))
		return -EAFNOSUPPORT;
	/* sendmsg does not write to the buffer; the iovec only lacks const */
	fill_msg(self, &msg, &iov, &name, to, (uint8_t *) data, (uint32_t) len);
	return send_msgs(self, &msg, 1);
}

void
wr_udp_get_stats(WrUdp *self, WrUdpStats *out)
{
	out->rx_datagrams = __atomic_load_n(&self->stats.rx_datagrams, __ATOMIC_RELAXED);
	out->tx_datagrams = __atomic_load_n(&self->stats.tx_datagrams, __ATOMIC_RELAXED);
	out->tx_errors = __atomic_load_n(&self->stats.tx_errors, __ATOMIC_RELAXED);
	out->rx_syscalls = __atomic_load_n(&self->stats.rx_syscalls, __ATOMIC_RELAXED);
	out->tx_syscalls = __atomic_load_n(&self->stats.tx_syscalls, __ATOMIC_RELAXED);
}
