/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrStunServer"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wr-addr.h"
#include "wr-stun-server.h"
#include "wr-stun.h"

/* datagrams per recvmmsg */
#define STUN_BATCH 64
/* a Binding request is 20 to a few hundred bytes; anything longer is read short and dropped */
#define STUN_MAX_REQUEST 548

struct WrStunServer {
	int fd;
	int stop_fd;
	guint16 port;
	GThread *thread;
	WrStunServerStats stats; /* relaxed atomics */
};

static gpointer
stun_main(gpointer user_data)
{
	WrStunServer *self = user_data;
	uint8_t(*in)[STUN_MAX_REQUEST] = g_malloc(STUN_BATCH * STUN_MAX_REQUEST);
	uint8_t(*out)[WR_STUN_RESPONSE_MAX_LEN] = g_malloc(STUN_BATCH * WR_STUN_RESPONSE_MAX_LEN);
	struct mmsghdr rx[STUN_BATCH];
	struct mmsghdr tx[STUN_BATCH];
	struct iovec rx_iov[STUN_BATCH];
	struct iovec tx_iov[STUN_BATCH];
	WrEndpoint from[STUN_BATCH];

	for (;;) {
		struct pollfd fds[2] = {
			{.fd = self->fd, .events = POLLIN},
			{.fd = self->stop_fd, .events = POLLIN},
		};
		int n;
		unsigned int nt = 0;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			g_warning("poll: %s", g_strerror(errno));
			break;
		}
		if (fds[1].revents != 0)
			break;
		memset(rx, 0, sizeof(rx));
		for (unsigned int i = 0; i < STUN_BATCH; i++) {
			rx_iov[i].iov_base = in[i];
			rx_iov[i].iov_len = STUN_MAX_REQUEST;
			rx[i].msg_hdr.msg_iov = &rx_iov[i];
			rx[i].msg_hdr.msg_iovlen = 1;
			rx[i].msg_hdr.msg_name = &from[i];
			rx[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(self->fd, rx, STUN_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				g_debug("recvmmsg: %s", g_strerror(errno));
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint8_t txid[WR_STUN_TXID_LEN];
			WrEndpoint mapped = from[i];
			int len;

			if ((rx[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    wr_stun_parse_request(in[i], rx[i].msg_len, WR_STUN_ACCEPT_ANY, txid) <
				    0) {
				__atomic_add_fetch(&self->stats.malformed, 1, __ATOMIC_RELAXED);
				continue;
			}
			wr_endpoint_unmap(&mapped);
			len = wr_stun_build_response(out[nt], sizeof(out[nt]), txid, &mapped,
						     false);
			if (len < 0) {
				__atomic_add_fetch(&self->stats.malformed, 1, __ATOMIC_RELAXED);
				continue;
			}
			memset(&tx[nt], 0, sizeof(tx[nt]));
			tx_iov[nt].iov_base = out[nt];
			tx_iov[nt].iov_len = (size_t) len;
			tx[nt].msg_hdr.msg_iov = &tx_iov[nt];
			tx[nt].msg_hdr.msg_iovlen = 1;
			/* back to the exact source, in the socket's own family */
			tx[nt].msg_hdr.msg_name = &from[i];
			tx[nt].msg_hdr.msg_namelen = rx[i].msg_hdr.msg_namelen;
			nt++;
		}
		for (unsigned int sent = 0; sent < nt;) {
			int r = sendmmsg(self->fd, tx + sent, nt - sent, MSG_DONTWAIT);

			if (r <= 0) {
				/* one bad destination must not stop the others: skip it */
				__atomic_add_fetch(&self->stats.send_errors, 1, __ATOMIC_RELAXED);
				sent++;
				continue;
			}
			__atomic_add_fetch(&self->stats.requests, (guint64) r, __ATOMIC_RELAXED);
			sent += (unsigned int) r;
		}
	}
	g_free(in);
	g_free(out);
	return NULL;
}

WrStunServer *
wr_stun_server_new(const char *address, GError **error)
{
	g_autoptr(WrStunServer) self = g_new0(WrStunServer, 1);
	WrEndpoint ep;
	socklen_t len;

	self->fd = -1;
	self->stop_fd = -1;
	if (!wr_endpoint_parse(&ep, address)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "STUN listen address \"%s\" is not IP:PORT or [IPv6]:PORT", address);
		return NULL;
	}
	self->fd = socket(ep.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (self->fd < 0 || bind(self->fd, &ep.sa, (socklen_t) wr_endpoint_socklen(&ep)) < 0) {
		int saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot listen for STUN on %s: %s", address, g_strerror(saved));
		return NULL;
	}
	len = sizeof(ep);
	if (getsockname(self->fd, &ep.sa, &len) == 0)
		self->port = ntohs(ep.sa.sa_family == AF_INET ? ep.in4.sin_port : ep.in6.sin6_port);
	self->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (self->stop_fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot start the STUN server: %s", g_strerror(errno));
		return NULL;
	}
	self->thread = g_thread_new("stun", stun_main, self);
	return g_steal_pointer(&self);
}

void
wr_stun_server_free(WrStunServer *self)
{
	if (self == NULL)
		return;
	if (self->thread != NULL) {
		uint64_t one = 1;

		(void) !write(self->stop_fd, &one, sizeof(one));
		g_thread_join(self->thread);
	}
	if (self->fd >= 0)
		close(self->fd);
	if (self->stop_fd >= 0)
		close(self->stop_fd);
	g_free(self);
}

guint16
wr_stun_server_get_port(WrStunServer *self)
{
	return self->port;
}

void
wr_stun_server_get_stats(WrStunServer *self, WrStunServerStats *out)
{
	out->requests = __atomic_load_n(&self->stats.requests, __ATOMIC_RELAXED);
	out->malformed = __atomic_load_n(&self->stats.malformed, __ATOMIC_RELAXED);
	out->send_errors = __atomic_load_n(&self->stats.send_errors, __ATOMIC_RELAXED);
}
