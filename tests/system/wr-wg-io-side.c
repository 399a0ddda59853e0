/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-wg-io-side: the side channel of wr-wg-io (docs/data-plane.md, "The side channel") with
 * real parts.  Two network namespaces, each with a real TUN device, a WrDevice and a WrWgIo;
 * each one's peer has a DERP endpoint (wr-derp-endpoint.h), so that nothing WireGuard goes
 * over UDP: what comes out of one side's derp_send callback is handed to the other side's
 * wr_wg_io_inject(), standing in for a DERP relay — or, with WARREN_DERP set to the warren-derp
 * binary, through a real warren-derp on loopback (in the test's own namespace) and one
 * WrDerpClient per side, logged in with the side's WireGuard key as node key, as warrend does.
 * Checked:
 *  - UDP datagrams between the tunnel addresses get through both ways, started from either
 *    side (handshake and data both travel through the side channel);
 *  - a disco packet and a STUN binding request sent to A's WireGuard port reach the received
 *    callback byte for byte with their source, and are not counted as bad WireGuard messages
 *    (junk, which is WireGuard to the classifier, is);
 *  - wr_wg_io_send_raw() leaves from A's WireGuard port;
 *  - nothing reaches the device from a socket source inside the DERP endpoint block (an
 *    address of the block on A's loopback).
 * Exit status: 0 pass, 1 fail, 77 skip (not root, no `ip`, no /dev/net/tun).
 */

#define G_LOG_DOMAIN "WrWgIoSideTest"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wr-crypto.h"
#include "wr-derp-client.h"
#include "wr-derp-endpoint.h"
#include "wr-disco.h"
#include "wr-key.h"
#include "wr-stun.h"
#include "wr-tun.h"
#include "wr-wg-io.h"

#define REGION	  7
#define APP_PORT  7000
#define TIMEOUT_S 20
#define RESEND_MS 200
#define EXCHANGES 5
#define TUN_MTU	  "1420"

typedef struct Side Side;

struct Side {
	const char *label;
	char netns[64];
	int netns_fd;
	char addr[INET_ADDRSTRLEN]; /* tunnel address, 192.0.2.x */
	uint32_t number;	    /* this side's peer number on the other side */
	uint8_t private_key[WR_KEY_BYTES];
	uint8_t public_key[WR_KEY_BYTES];
	WrTun *tun;
	WrDevice *device;
	WrWgIo *io;
	int app_fd; /* a UDP socket on the tunnel address, inside the namespace */
	Side *other;
	WrDerpClient *derp; /* with WARREN_DERP only */
	guint derp_refused;
	guint derp_wrong_source;
	/* seen by the callbacks */
	guint derp_sent;
	guint bad_derp;
	GPtrArray *received; /* of GBytes: disco/STUN payloads */
	GArray *received_kinds;
	WrEndpoint last_received_src;
};

static Side sides[2];
static GSubprocess *derp_server;
static char *derp_tmp;
static int orig_netns_fd = -1;

static void
fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		Side *s = &sides[i];

		if (s->derp != NULL) {
			wr_derp_client_stop(s->derp);
			g_clear_object(&s->derp);
		}
		g_clear_pointer(&s->io, wr_wg_io_free);
		g_clear_pointer(&s->device, wr_device_free);
		g_clear_pointer(&s->tun, wr_tun_free);
		if (s->app_fd > 0)
			close(s->app_fd);
		s->app_fd = -1;
		if (s->netns_fd >= 0)
			close(s->netns_fd);
		s->netns_fd = -1;
		g_clear_pointer(&s->received, g_ptr_array_unref);
		g_clear_pointer(&s->received_kinds, g_array_unref);
		if (s->netns[0] != '\0') {
			const char *argv[] = {"ip", "netns", "del", s->netns, NULL};

			(void) g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
					    NULL, NULL, NULL, NULL, NULL);
			s->netns[0] = '\0';
		}
	}
	if (derp_server != NULL) {
		g_subprocess_force_exit(derp_server);
		(void) g_subprocess_wait(derp_server, NULL, NULL);
		g_clear_object(&derp_server);
	}
	if (derp_tmp != NULL) {
		g_autofree char *key = g_build_filename(derp_tmp, "derp.key", NULL);

		(void) unlink(key);
		(void) rmdir(derp_tmp);
		g_clear_pointer(&derp_tmp, g_free);
	}
}

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

static void
run(const char *cmdline)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	int status;

	if (!g_spawn_command_line_sync(cmdline, NULL, &err, &status, &error))
		fail("%s: %s", cmdline, error->message);
	if (!g_spawn_check_wait_status(status, &error))
		fail("%s: %s (%s)", cmdline, error->message, err);
}

static void
enter(int fd)
{
	if (setns(fd, CLONE_NEWNET) != 0)
		fail("setns: %s", g_strerror(errno));
}

static int
udp_socket(int family, const char *addr, uint16_t port, WrEndpoint *out_bound)
{
	WrEndpoint ep = {0};
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		fail("socket: %s", g_strerror(errno));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &ep.in4.sin_addr) != 1)
		fail("bad address %s", addr);
	if (bind(fd, &ep.sa, sizeof(ep.in4)) != 0)
		fail("bind %s:%u: %s", addr, port, g_strerror(errno));
	len = sizeof(ep);
	if (getsockname(fd, &ep.sa, &len) != 0)
		fail("getsockname: %s", g_strerror(errno));
	if (out_bound != NULL)
		*out_bound = ep;
	return fd;
}

static void
received_cb(WrPacketKind kind, const WrEndpoint *src, const uint8_t *data, size_t len,
	    gpointer user_data)
{
	Side *s = user_data;
	int k = kind;

	g_ptr_array_add(s->received, g_bytes_new(data, len));
	g_array_append_val(s->received_kinds, k);
	s->last_received_src = *src;
}

/* the DERP relay: the destination must be the other side's number in our region */
static void
derp_send_cb(uint32_t region, uint32_t peer, const uint8_t *data, size_t len, gpointer user_data)
{
	Side *s = user_data;
	WrEndpoint src;
	int r;

	s->derp_sent++;
	if (region != REGION || peer != s->other->number) {
		s->bad_derp++;
		return;
	}
	if (s->derp != NULL) {
		/* DERP routes on the node key, which is the WireGuard key */
		if (!wr_derp_client_send(s->derp, s->other->public_key, data, len))
			s->derp_refused++;
		return;
	}
	/* on the other side, we are the peer with our number in the same region */
	wr_derp_endpoint_encode(REGION, s->number, &src);
	r = wr_wg_io_inject(s->other->io, &src, data, len);
	if (r != 0)
		fail("%s: inject: %s", s->other->label, g_strerror(-r));
}

/* a frame from the relay: WireGuard from the other side goes into our device */
static void
derp_packet_cb(WrDerpClient *client, gpointer src_key, GBytes *packet, gpointer user_data)
{
	Side *s = user_data;
	WrEndpoint src;
	gsize len;
	const uint8_t *data = g_bytes_get_data(packet, &len);
	int r;

	(void) client;
	if (memcmp(src_key, s->other->public_key, WR_KEY_BYTES) != 0 ||
	    wr_disco_classify(data, len) != WR_PACKET_WIREGUARD) {
		s->derp_wrong_source++;
		return;
	}
	wr_derp_endpoint_encode(REGION, s->other->number, &src);
	r = wr_wg_io_inject(s->io, &src, data, len);
	if (r != 0)
		fail("%s: inject: %s", s->label, g_strerror(-r));
}

static void
derp_child_setup(gpointer user_data)
{
	(void) user_data;
	/* the relay goes with us however we end */
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static bool
both_connected(gpointer data)
{
	(void) data;
	return wr_derp_client_is_connected(sides[0].derp) &&
	       wr_derp_client_is_connected(sides[1].derp);
}

static bool
spin_until(bool (*done)(gpointer), gpointer data, gint64 deadline);

/* warren-derp on a free loopback port, and both clients logged in to it; done before any
 * setns, so that every socket of the relay path is in the test's own namespace */
static void
start_relay(const char *binary)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree char *key_file = NULL;
	g_autofree char *listen = NULL;
	g_autofree char *url = NULL;
	WrEndpoint bound;
	socklen_t len;
	int fd;

	derp_tmp = g_dir_make_tmp("wr-wg-io-side-XXXXXX", &error);
	if (derp_tmp == NULL)
		fail("tmp: %s", error->message);
	key_file = g_build_filename(derp_tmp, "derp.key", NULL);
	/* a free TCP port: bind, read it back, close; warren-derp takes it right after */
	memset(&bound, 0, sizeof(bound));
	bound.in4.sin_family = AF_INET;
	bound.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(bound);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &bound.sa, sizeof(bound.in4)) != 0 ||
	    getsockname(fd, &bound.sa, &len) != 0)
		fail("a free TCP port: %s", g_strerror(errno));
	close(fd);
	listen = g_strdup_printf("127.0.0.1:%u", ntohs(bound.in4.sin_port));
	url = g_strdup_printf("http://%s/derp", listen);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, derp_child_setup, NULL, NULL);
	derp_server = g_subprocess_launcher_spawn(launcher, &error, binary, "--key-file", key_file,
						  "--http-listen", listen, NULL);
	if (derp_server == NULL)
		fail("%s: %s", binary, error->message);
	for (int i = 0; i < 2; i++) {
		Side *s = &sides[i];

		s->derp = wr_derp_client_new(url, s->private_key, NULL);
		g_signal_connect(s->derp, "packet-received", G_CALLBACK(derp_packet_cb), s);
		/* the first dials may come before the server listens; the backoff retries */
		wr_derp_client_start(s->derp);
	}
	if (!spin_until(both_connected, NULL, g_get_monotonic_time() + TIMEOUT_S * G_USEC_PER_SEC))
		fail("the DERP clients did not log in to warren-derp at %s", url);
	g_print("ok both DERP clients logged in to warren-derp at %s\n", url);
}

static void
setup_side(Side *s, const char *label, int index, uint32_t number)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) conf = g_string_new(NULL);
	g_autofree char *message = NULL;
	g_autofree char *path = NULL;
	g_autofree char *cmd = NULL;
	char hex[WR_KEY_HEX_LEN + 1];
	WrUapiSet *set = NULL;
	int r;

	s->label = label;
	s->number = number;
	g_snprintf(s->netns, sizeof(s->netns), "wrside-%d-%s", (int) getpid(), label);
	g_snprintf(s->addr, sizeof(s->addr), "192.0.2.%d", index + 1);
	s->received = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	s->received_kinds = g_array_new(FALSE, FALSE, sizeof(int));

	cmd = g_strdup_printf("ip netns add %s", s->netns);
	run(cmd);
	path = g_strdup_printf("/var/run/netns/%s", s->netns);
	s->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->netns_fd < 0)
		fail("%s: %s", path, g_strerror(errno));
	enter(s->netns_fd);
	g_free(cmd);
	cmd = g_strdup_printf("ip -n %s link set lo up", s->netns);
	run(cmd);

	s->tun = wr_tun_linux_open("wrside%d", true, &error);
	if (s->tun == NULL)
		fail("%s: TUN: %s", label, error->message);
	g_free(cmd);
	cmd = g_strdup_printf("ip -n %s link set %s mtu " TUN_MTU " up", s->netns,
			      wr_tun_get_name(s->tun));
	run(cmd);
	g_free(cmd);
	cmd = g_strdup_printf("ip -n %s addr add %s/24 dev %s", s->netns, s->addr,
			      wr_tun_get_name(s->tun));
	run(cmd);

	s->device = wr_device_new(NULL);
	/* as warrend has it: only the path choice moves an endpoint */
	wr_device_set_roaming(s->device, false);
	s->io = wr_wg_io_new(s->device, s->tun, NULL, NULL, NULL, &error);
	if (s->io == NULL)
		fail("%s: wr_wg_io_new: %s", label, error->message);
	s->app_fd = udp_socket(AF_INET, s->addr, APP_PORT, NULL);
	wr_key_to_hex(hex, s->private_key);
	g_string_append_printf(conf, "private_key=%s\nlisten_port=0\n", hex);
	sodium_memzero(hex, sizeof(hex));
	r = wr_uapi_parse_set(conf->str, conf->len, &set, &message);
	sodium_memzero(conf->str, conf->len);
	if (r != 0)
		fail("%s: uapi: %s", label, message);
	r = wr_wg_io_apply(s->io, set);
	wr_uapi_set_free(set);
	if (r != 0)
		fail("%s: apply: %s", label, g_strerror(r));
}

static void
add_peer(Side *s)
{
	g_autoptr(GString) conf = g_string_new(NULL);
	g_autofree char *message = NULL;
	char hex[WR_KEY_HEX_LEN + 1];
	WrUapiSet *set = NULL;
	WrEndpoint derp, got;
	int r;

	wr_key_to_hex(hex, s->other->public_key);
	g_string_append_printf(conf, "public_key=%s\nallowed_ip=%s/32\n", hex, s->other->addr);
	r = wr_uapi_parse_set(conf->str, conf->len, &set, &message);
	if (r != 0)
		fail("%s: uapi: %s", s->label, message);
	r = wr_wg_io_apply(s->io, set);
	wr_uapi_set_free(set);
	if (r != 0)
		fail("%s: apply peer: %s", s->label, g_strerror(r));
	wr_derp_endpoint_encode(REGION, s->other->number, &derp);
	if (!wr_device_peer_set_endpoint(s->device, s->other->public_key, &derp))
		fail("%s: peer unknown", s->label);
	if (!wr_device_peer_get_endpoint(s->device, s->other->public_key, &got) ||
	    !wr_endpoint_equal(&got, &derp))
		fail("%s: the DERP endpoint did not stick", s->label);
}

static uint16_t
wg_port(Side *s)
{
	WrUapiDeviceInfo *info = wr_uapi_device_info_new();
	uint16_t port;

	wr_wg_io_get_info(s->io, info);
	port = info->listen_port;
	wr_uapi_device_info_free(info);
	return port;
}

/* iterates the main context until done() or the deadline */
static bool
spin_until(bool (*done)(gpointer), gpointer data, gint64 deadline)
{
	while (!done(data)) {
		if (g_get_monotonic_time() > deadline)
			return false;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	return true;
}

typedef struct {
	Side *from;
	Side *to;
	char payload[64];
	bool got_request;
	bool got_reply;
} Exchange;

/* to answers every request it reads; from checks the answer */
static void
poll_exchange(Exchange *x)
{
	uint8_t buf[256];
	WrEndpoint peer;
	socklen_t plen = sizeof(peer);
	ssize_t n;

	while ((n = recvfrom(x->to->app_fd, buf, sizeof(buf), 0, &peer.sa, &plen)) > 0) {
		if ((size_t) n == strlen(x->payload) && memcmp(buf, x->payload, (size_t) n) == 0) {
			char src[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &peer.in4.sin_addr, src, sizeof(src));
			if (strcmp(src, x->from->addr) != 0)
				fail("%s got the request from %s, not %s", x->to->label, src,
				     x->from->addr);
			x->got_request = true;
			buf[0] = 'R';
			(void) sendto(x->to->app_fd, buf, (size_t) n, 0, &peer.sa, plen);
		}
		plen = sizeof(peer);
	}
	while ((n = recv(x->from->app_fd, buf, sizeof(buf), 0)) > 0) {
		if ((size_t) n == strlen(x->payload) && buf[0] == 'R' &&
		    memcmp(buf + 1, x->payload + 1, (size_t) n - 1) == 0)
			x->got_reply = true;
	}
}

static void
exchange(Side *from, Side *to, int round)
{
	Exchange x = {.from = from, .to = to};
	WrEndpoint dst = {0};
	gint64 deadline = g_get_monotonic_time() + TIMEOUT_S * G_USEC_PER_SEC;
	gint64 next_send = 0;

	g_snprintf(x.payload, sizeof(x.payload), "Q %s->%s round %d", from->label, to->label,
		   round);
	dst.in4.sin_family = AF_INET;
	dst.in4.sin_port = htons(APP_PORT);
	inet_pton(AF_INET, to->addr, &dst.in4.sin_addr);
	while (!x.got_reply) {
		gint64 now = g_get_monotonic_time();

		if (now > deadline)
			fail("no reply %s -> %s (round %d, request %s)", from->label, to->label,
			     round, x.got_request ? "arrived" : "never arrived");
		/* the first packets wait for the handshake; resend until answered */
		if (now >= next_send) {
			(void) sendto(from->app_fd, x.payload, strlen(x.payload), 0, &dst.sa,
				      sizeof(dst.in4));
			next_send = now + RESEND_MS * 1000;
		}
		g_main_context_iteration(NULL, FALSE);
		poll_exchange(&x);
		g_usleep(1000);
	}
	g_print("ok %s -> %s round %d\n", from->label, to->label, round);
}

static bool
got_n(gpointer data)
{
	Side *s = data;

	return s->received->len >= 2;
}

typedef struct {
	int fd;
	uint8_t buf[256];
	ssize_t len;
	WrEndpoint from;
} RawWait;

static bool
got_raw(gpointer data)
{
	RawWait *w = data;
	socklen_t flen = sizeof(w->from);

	w->len = recvfrom(w->fd, w->buf, sizeof(w->buf), 0, &w->from.sa, &flen);
	return w->len > 0;
}

static void
check_side_rx(Side *a)
{
	uint8_t disco[256], stun[WR_STUN_REQUEST_LEN], txid[WR_STUN_TXID_LEN];
	uint8_t node_key[WR_DISCO_KEY_LEN], shared[WR_DISCO_KEY_LEN];
	uint8_t my_priv[WR_DISCO_KEY_LEN], my_pub[WR_DISCO_KEY_LEN];
	uint8_t their_priv[WR_DISCO_KEY_LEN], their_pub[WR_DISCO_KEY_LEN];
	uint8_t ping[128], ping_tx[WR_DISCO_TXID_LEN], nonce[WR_DISCO_NONCE_LEN];
	static const char junk[] = "not wireguard, not disco, not STUN";
	WrDeviceStats before, after;
	WrWgIoSideStats stats;
	WrEndpoint to = {0}, probe;
	gint64 deadline = g_get_monotonic_time() + TIMEOUT_S * G_USEC_PER_SEC;
	int ping_len, disco_len, probe_fd;
	RawWait w;
	int r;

	enter(a->netns_fd);
	probe_fd = udp_socket(AF_INET, "127.0.0.1", 0, &probe);
	to.in4.sin_family = AF_INET;
	to.in4.sin_port = htons(wg_port(a));
	to.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* a real disco ping, sealed as a peer would */
	wr_x25519_generate(my_priv, my_pub);
	wr_x25519_generate(their_priv, their_pub);
	randombytes_buf(ping_tx, sizeof(ping_tx));
	randombytes_buf(node_key, sizeof(node_key));
	randombytes_buf(nonce, sizeof(nonce));
	ping_len = wr_disco_build_ping(ping, sizeof(ping), ping_tx, node_key, 0);
	if (ping_len < 0 || wr_disco_shared_key(shared, their_pub, my_priv) != 0)
		fail("disco ping: %s", g_strerror(-ping_len));
	disco_len =
		wr_disco_seal(disco, sizeof(disco), ping, (size_t) ping_len, my_pub, shared, nonce);
	if (disco_len < 0)
		fail("disco seal: %s", g_strerror(-disco_len));
	randombytes_buf(txid, sizeof(txid));
	wr_stun_build_request(stun, txid);

	wr_device_get_stats(a->device, &before);
	if (sendto(probe_fd, disco, (size_t) disco_len, 0, &to.sa, sizeof(to.in4)) < 0 ||
	    sendto(probe_fd, stun, sizeof(stun), 0, &to.sa, sizeof(to.in4)) < 0 ||
	    sendto(probe_fd, junk, sizeof(junk), 0, &to.sa, sizeof(to.in4)) < 0)
		fail("sendto the WireGuard port: %s", g_strerror(errno));
	/* the junk goes to the device, so the disco and STUN ones are known to be past */
	while (1) {
		wr_device_get_stats(a->device, &after);
		if (after.drop_invalid_message > before.drop_invalid_message)
			break;
		if (g_get_monotonic_time() > deadline)
			fail("the junk datagram never reached the device");
		g_usleep(1000);
	}
	/* they were queued before the junk was fed to the device, so they are all there */
	if (!spin_until(got_n, a, deadline))
		fail("side channel: %u datagrams received, want 2", a->received->len);
	g_main_context_iteration(NULL, FALSE);
	if (a->received->len != 2)
		fail("side channel: %u datagrams received, want 2 (junk must not be there)",
		     a->received->len);
	if (g_array_index(a->received_kinds, int, 0) != WR_PACKET_DISCO ||
	    g_array_index(a->received_kinds, int, 1) != WR_PACKET_STUN)
		fail("side channel kinds %d %d", g_array_index(a->received_kinds, int, 0),
		     g_array_index(a->received_kinds, int, 1));
	if (g_bytes_get_size(a->received->pdata[0]) != (gsize) disco_len ||
	    memcmp(g_bytes_get_data(a->received->pdata[0], NULL), disco, (size_t) disco_len) != 0 ||
	    g_bytes_get_size(a->received->pdata[1]) != sizeof(stun) ||
	    memcmp(g_bytes_get_data(a->received->pdata[1], NULL), stun, sizeof(stun)) != 0)
		fail("side channel: the bytes differ");
	if (!wr_endpoint_equal(&a->last_received_src, &probe)) {
		char got[WR_ENDPOINT_STRLEN], want[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(&a->last_received_src, got);
		wr_endpoint_format(&probe, want);
		fail("side channel source %s, want %s", got, want);
	}
	if (after.drop_invalid_message != before.drop_invalid_message + 1)
		fail("bad WireGuard messages +%" G_GUINT64_FORMAT ", want +1 (the junk only)",
		     after.drop_invalid_message - before.drop_invalid_message);
	g_print("ok disco and STUN on the side channel, junk counted by the device\n");

	/* send_raw leaves from the WireGuard port; a DERP endpoint is refused */
	r = wr_wg_io_send_raw(a->io, &probe, stun, sizeof(stun));
	if (r != 0)
		fail("send_raw: %s", g_strerror(-r));
	w.fd = probe_fd;
	if (!spin_until(got_raw, &w, deadline))
		fail("send_raw: nothing arrived");
	if ((size_t) w.len != sizeof(stun) || memcmp(w.buf, stun, sizeof(stun)) != 0 ||
	    ntohs(w.from.in4.sin_port) != wg_port(a))
		fail("send_raw: %zd bytes from port %u, want %zu from %u", w.len,
		     ntohs(w.from.in4.sin_port), sizeof(stun), wg_port(a));
	{
		WrEndpoint derp;

		wr_derp_endpoint_encode(REGION, 1, &derp);
		if (wr_wg_io_send_raw(a->io, &derp, stun, sizeof(stun)) != -EINVAL)
			fail("send_raw to a DERP endpoint was not refused");
	}
	g_print("ok send_raw\n");

	wr_wg_io_get_side_stats(a->io, &stats);
	if (stats.rx_queued != 2 || stats.rx_dropped != 0)
		fail("side stats: rx %" G_GUINT64_FORMAT " dropped %" G_GUINT64_FORMAT,
		     stats.rx_queued, stats.rx_dropped);
	close(probe_fd);
}

/* a socket datagram whose source is inside the DERP endpoint block is dropped before the
 * device: only wr_wg_io_inject() may bring those */
static void
check_derp_source(Side *a)
{
	static const char junk[] = "wireguard to the classifier";
	g_autofree char *cmd = NULL;
	WrDeviceStats before, after;
	WrWgIoSideStats stats;
	WrEndpoint src, to = {0};
	gint64 deadline = g_get_monotonic_time() + TIMEOUT_S * G_USEC_PER_SEC;
	char text[WR_ENDPOINT_STRLEN];
	int fd;

	enter(a->netns_fd);
	wr_derp_endpoint_encode(REGION, 2, &src);
	inet_ntop(AF_INET6, &src.in6.sin6_addr, text, sizeof(text));
	cmd = g_strdup_printf("ip -n %s addr add %s/128 dev lo nodad", a->netns, text);
	run(cmd);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &src.sa, sizeof(src.in6)) != 0)
		fail("bind [%s]: %s", text, g_strerror(errno));
	to.in6.sin6_family = AF_INET6;
	to.in6.sin6_port = htons(wg_port(a));
	to.in6.sin6_addr = src.in6.sin6_addr;
	wr_device_get_stats(a->device, &before);
	if (sendto(fd, junk, sizeof(junk), 0, &to.sa, sizeof(to.in6)) < 0)
		fail("sendto from the DERP block: %s", g_strerror(errno));
	close(fd);
	do {
		if (g_get_monotonic_time() > deadline)
			fail("the datagram from the DERP block was not dropped");
		g_usleep(1000);
		wr_wg_io_get_side_stats(a->io, &stats);
	} while (stats.rx_derp_source == 0);
	wr_device_get_stats(a->device, &after);
	if (stats.rx_derp_source != 1 || after.drop_invalid_message != before.drop_invalid_message)
		fail("DERP-block source: dropped %" G_GUINT64_FORMAT
		     ", device invalid +%" G_GUINT64_FORMAT,
		     stats.rx_derp_source,
		     after.drop_invalid_message - before.drop_invalid_message);
	g_print("ok a socket source in the DERP block is dropped before the device\n");
}

int
main(int argc, char **argv)
{
	Side *a = &sides[0], *b = &sides[1];
	WrWgIoSideChannel funcs = {.received = received_cb, .derp_send = derp_send_cb};
	WrWgIoSideStats sa, sb;
	g_autofree char *ip = NULL;
	const char *derp;

	(void) argc;
	(void) argv;
	if (geteuid() != 0) {
		g_print("SKIP: needs root (network namespaces, TUN)\n");
		return 77;
	}
	ip = g_find_program_in_path("ip");
	if (ip == NULL || access("/dev/net/tun", R_OK | W_OK) != 0) {
		g_print("SKIP: needs ip(8) and /dev/net/tun\n");
		return 77;
	}
	if (!wr_crypto_init())
		fail("wr_crypto_init");
	/* the DERP clients write to sockets the relay may close */
	signal(SIGPIPE, SIG_IGN);
	orig_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	a->other = b;
	b->other = a;
	for (int i = 0; i < 2; i++) {
		sides[i].app_fd = -1;
		sides[i].netns_fd = -1;
		wr_x25519_generate(sides[i].private_key, sides[i].public_key);
	}
	derp = g_getenv("WARREN_DERP");
	if (derp != NULL && derp[0] != '\0') {
		if (!g_file_test(derp, G_FILE_TEST_IS_EXECUTABLE))
			fail("WARREN_DERP=%s is not an executable", derp);
		start_relay(derp);
	}
	setup_side(a, "A", 0, 1);
	setup_side(b, "B", 1, 2);
	add_peer(a);
	add_peer(b);
	{
		/* bad injections are refused with nothing queued */
		static uint8_t big[65536];
		WrEndpoint src;

		wr_derp_endpoint_encode(REGION, 2, &src);
		if (wr_wg_io_inject(a->io, &src, big, 32) != -EINVAL)
			fail("inject without a side channel was not refused");
		wr_wg_io_set_side_channel(a->io, &funcs, a);
		if (wr_wg_io_inject(a->io, &src, big, 0) != -EINVAL ||
		    wr_wg_io_inject(a->io, &src, big, sizeof(big)) != -EINVAL)
			fail("an empty or oversized injection was not refused");
	}
	wr_wg_io_set_side_channel(b->io, &funcs, b);

	for (int round = 0; round < EXCHANGES; round++)
		exchange(a, b, round);
	for (int round = 0; round < EXCHANGES; round++)
		exchange(b, a, round);
	if (a->bad_derp != 0 || b->bad_derp != 0)
		fail("derp_send for the wrong region or peer: A %u, B %u", a->bad_derp,
		     b->bad_derp);
	if (a->derp_wrong_source != 0 || b->derp_wrong_source != 0)
		fail("DERP frames from an unexpected key or not WireGuard: A %u, B %u",
		     a->derp_wrong_source, b->derp_wrong_source);
	if (a->derp != NULL) {
		WrDerpClientStats da, db;

		wr_derp_client_get_stats(a->derp, &da);
		wr_derp_client_get_stats(b->derp, &db);
		if (da.packets_out < 2 * EXCHANGES || db.packets_in < 2 * EXCHANGES)
			fail("the relay did not carry the traffic: A out %" G_GUINT64_FORMAT
			     ", B in %" G_GUINT64_FORMAT,
			     da.packets_out, db.packets_in);
		g_print("relay: A sent %" G_GUINT64_FORMAT " frames, B received %" G_GUINT64_FORMAT
			"; refused A %u, B %u\n",
			da.packets_out, db.packets_in, a->derp_refused, b->derp_refused);
	}
	if (!wr_device_peer_has_session(a->device, b->public_key))
		fail("A has no session with B");
	wr_wg_io_get_side_stats(a->io, &sa);
	wr_wg_io_get_side_stats(b->io, &sb);
	if (sa.derp_tx_queued < 2 * EXCHANGES || sb.injected < 2 * EXCHANGES ||
	    sa.derp_tx_dropped != 0 || sb.inject_dropped != 0)
		fail("side stats: A derp tx %" G_GUINT64_FORMAT ", B injected %" G_GUINT64_FORMAT,
		     sa.derp_tx_queued, sb.injected);
	g_print("A: derp tx %" G_GUINT64_FORMAT ", injected %" G_GUINT64_FORMAT
		"; B: derp tx %" G_GUINT64_FORMAT ", injected %" G_GUINT64_FORMAT "\n",
		sa.derp_tx_queued, sa.injected, sb.derp_tx_queued, sb.injected);

	check_side_rx(a);
	check_derp_source(a);

	if (orig_netns_fd >= 0) {
		enter(orig_netns_fd);
		close(orig_netns_fd);
	}
	cleanup();
	g_print("PASS\n");
	return 0;
}
