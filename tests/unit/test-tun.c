/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The memory pair, and the Linux backend against the real kernel: each Linux case runs in a
 * subprocess that moves into a network namespace of its own, so nothing outside it changes
 * and everything it made disappears with it.  The test plays the far end of every
 * connection itself, crafting and checking packets at the TUN.
 */

#define G_LOG_DOMAIN "WrTunTest"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wr-crypto.h"
#include "wr-test-util.h"
#include "wr-tun.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* how long a subprocess may take before it counts as hung */
#define SUBPROCESS_TIMEOUT_US (60 * G_USEC_PER_SEC)
/* how long a socket wait may take */
#define POLL_TIMEOUT_MS 10000

static WrPacket *
packets_new(unsigned int n)
{
	WrPacket *pkts = g_new0(WrPacket, n);

	for (unsigned int i = 0; i < n; i++)
		pkts[i].buf = g_malloc0(WR_PACKET_CAPACITY);
	return pkts;
}

static void
packets_free(WrPacket *pkts, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		g_free(pkts[i].buf);
	g_free(pkts);
}

static void
packet_set(WrPacket *pkt, const void *data, size_t len, WrVerdict verdict)
{
	pkt->data = pkt->buf + WR_PACKET_HEADROOM;
	memcpy(pkt->data, data, len);
	pkt->len = (uint32_t) len;
	pkt->verdict = verdict;
}

/* the id of the calling thread, for watching it block */
static gint
thread_id(void)
{
	return (gint) syscall(SYS_gettid);
}

/* spins until the thread sleeps in the kernel (poll, futex): blocked, not merely slow */
static void
wait_until_sleeping(gint *tid)
{
	for (;;) {
		g_autofree char *path = NULL;
		g_autofree char *stat = NULL;
		const char *paren;
		gint id = g_atomic_int_get(tid);

		if (id != 0) {
			path = g_strdup_printf("/proc/self/task/%d/stat", id);
			if (g_file_get_contents(path, &stat, NULL, NULL) &&
			    (paren = strrchr(stat, ')')) != NULL && paren[1] == ' ' &&
			    paren[2] == 'S')
				return;
		}
		g_thread_yield();
	}
}

typedef struct {
	WrTun *tun;
	WrPacket *pkts;
	gint tid;
	int result;
} Reader;

/* reads until an error; stray packets (IPv6 neighbour chatter) are skipped */
static gpointer
reader_thread(gpointer data)
{
	Reader *r = data;
	int n;

	g_atomic_int_set(&r->tid, thread_id());
	do
		n = wr_tun_read_batch(r->tun, r->pkts, 8);
	while (n > 0);
	r->result = n;
	return NULL;
}

static void
test_memory_pair(void)
{
	g_autoptr(WrTun) a = NULL;
	g_autoptr(WrTun) b = NULL;
	WrPacket *pkts = packets_new(8);
	WrTunStats st;
	const char *msg[] = {"first", "not for the TUN", "second packet", "third"};
	WrVerdict verdicts[] = {WR_VERDICT_TUN, WR_VERDICT_SEND, WR_VERDICT_TUN, WR_VERDICT_TUN};

	wr_tun_memory_pair_new(16, &a, &b);
	g_assert_cmpstr(wr_tun_get_name(a), !=, wr_tun_get_name(b));
	g_assert_false(wr_tun_has_offload(a));
	g_assert_cmpint(wr_tun_get_mtu(a), ==, 1420);
	wr_tun_memory_set_mtu(a, 1280);
	g_assert_cmpint(wr_tun_get_mtu(a), ==, 1280);
	g_assert_cmpint(wr_tun_get_mtu(b), ==, 1420);

	for (guint i = 0; i < G_N_ELEMENTS(msg); i++)
		packet_set(&pkts[i], msg[i], strlen(msg[i]), verdicts[i]);
	g_assert_cmpint(wr_tun_write_batch(a, pkts, G_N_ELEMENTS(msg)), ==, 0);
	memset(pkts[0].buf, 0, WR_PACKET_CAPACITY);

	/* what a wrote, b reads, in order, as many as asked for */
	g_assert_cmpint(wr_tun_read_batch(b, pkts, 2), ==, 2);
	g_assert_true(pkts[0].data == pkts[0].buf + WR_PACKET_HEADROOM);
	g_assert_cmpmem(pkts[0].data, pkts[0].len, "first", 5);
	g_assert_cmpmem(pkts[1].data, pkts[1].len, "second packet", 13);
	g_assert_cmpint(wr_tun_read_batch(b, pkts, 8), ==, 1);
	g_assert_cmpmem(pkts[0].data, pkts[0].len, "third", 5);

	/* and the other way */
	packet_set(&pkts[0], "back", 4, WR_VERDICT_TUN);
	g_assert_cmpint(wr_tun_write_batch(b, pkts, 1), ==, 0);
	g_assert_cmpint(wr_tun_read_batch(a, pkts + 1, 8), ==, 1);
	g_assert_cmpmem(pkts[1].data, pkts[1].len, "back", 4);
	g_assert_cmpint(wr_tun_read_batch(a, pkts, 0), ==, 0);

	wr_tun_get_stats(a, &st);
	g_assert_cmpuint(st.written_packets, ==, 3);
	g_assert_cmpuint(st.written_writes, ==, 3);
	g_assert_cmpuint(st.read_packets, ==, 1);
	g_assert_cmpuint(st.dropped_queue_full, ==, 0);
	wr_tun_get_stats(b, &st);
	g_assert_cmpuint(st.read_packets, ==, 3);
	g_assert_cmpuint(st.written_packets, ==, 1);
	packets_free(pkts, 8);
}

static void
test_memory_queue_limit(void)
{
	g_autoptr(WrTun) a = NULL;
	g_autoptr(WrTun) b = NULL;
	WrPacket *pkts = packets_new(8);
	WrTunStats st;

	wr_tun_memory_pair_new(3, &a, &b);
	for (int i = 0; i < 5; i++) {
		uint8_t byte = (uint8_t) i;

		packet_set(&pkts[i], &byte, 1, WR_VERDICT_TUN);
	}
	g_assert_cmpint(wr_tun_write_batch(a, pkts, 5), ==, 0);
	wr_tun_get_stats(a, &st);
	g_assert_cmpuint(st.written_packets, ==, 5);
	g_assert_cmpuint(st.written_writes, ==, 3);
	g_assert_cmpuint(st.dropped_queue_full, ==, 2);

	/* the oldest were kept */
	g_assert_cmpint(wr_tun_read_batch(b, pkts, 8), ==, 3);
	for (int i = 0; i < 3; i++) {
		g_assert_cmpuint(pkts[i].len, ==, 1);
		g_assert_cmpuint(pkts[i].data[0], ==, i);
	}
	/* room again */
	g_assert_cmpint(wr_tun_write_batch(a, pkts, 1), ==, 0);
	g_assert_cmpint(wr_tun_read_batch(b, pkts + 4, 8), ==, 1);
	wr_tun_get_stats(a, &st);
	g_assert_cmpuint(st.dropped_queue_full, ==, 2);
	packets_free(pkts, 8);
}

static void
test_memory_close_wakes_reader(void)
{
	g_autoptr(WrTun) a = NULL;
	g_autoptr(WrTun) b = NULL;
	WrPacket *pkts = packets_new(8);
	Reader r = {.pkts = pkts};
	GThread *thread;

	wr_tun_memory_pair_new(4, &a, &b);
	r.tun = b;
	thread = g_thread_new("reader", reader_thread, &r);
	wait_until_sleeping(&r.tid);
	wr_tun_close(b);
	g_thread_join(thread);
	g_assert_cmpint(r.result, ==, -ECANCELED);
	/* and every later read */
	g_assert_cmpint(wr_tun_read_batch(b, pkts, 8), ==, -ECANCELED);
	/* the other end is not affected */
	packet_set(&pkts[0], "x", 1, WR_VERDICT_TUN);
	g_assert_cmpint(wr_tun_write_batch(b, pkts, 1), ==, 0);
	g_assert_cmpint(wr_tun_read_batch(a, pkts, 8), ==, 1);
	packets_free(pkts, 8);
}

/* a blocked reader gets what a writer on another thread sends */
static void
test_memory_wakes_on_write(void)
{
	g_autoptr(WrTun) a = NULL;
	g_autoptr(WrTun) b = NULL;
	WrPacket *pkts = packets_new(8);
	WrPacket *out = packets_new(1);
	Reader r = {.pkts = pkts};
	GThread *thread;
	WrTunStats st;

	wr_tun_memory_pair_new(4, &a, &b);
	r.tun = b;
	thread = g_thread_new("reader", reader_thread, &r);
	wait_until_sleeping(&r.tid);
	packet_set(&out[0], "wake", 4, WR_VERDICT_TUN);
	g_assert_cmpint(wr_tun_write_batch(a, out, 1), ==, 0);
	/* the reader loops on; once it has read the packet, stop it */
	for (;;) {
		wr_tun_get_stats(b, &st);
		if (st.read_packets == 1)
			break;
		g_thread_yield();
	}
	wr_tun_close(b);
	g_thread_join(thread);
	g_assert_cmpint(r.result, ==, -ECANCELED);
	g_assert_cmpmem(pkts[0].data, pkts[0].len, "wake", 4);
	packets_free(pkts, 8);
	packets_free(out, 1);
}

/* Linux backend */

static bool
netns_usable(void)
{
	g_autofree char *ip = g_find_program_in_path("ip");
	int status = 0;
	pid_t pid;

	if (geteuid() != 0 || ip == NULL || access("/dev/net/tun", R_OK | W_OK) != 0)
		return false;
	/* the probe runs in a child: unsharing would move this process for good */
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct ifreq ifr;
		int fd;

		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		_exit(ioctl(fd, TUNSETIFF, &ifr) == 0 ? 0 : 3);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Runs the current test again in a subprocess; true there (the caller then does the work,
 * now inside a network namespace of its own), false in the parent.
 */
static bool
in_netns_subprocess(void)
{
	if (g_test_subprocess()) {
		g_assert_cmpint(unshare(CLONE_NEWNET), ==, 0);
		return true;
	}
	if (!netns_usable()) {
		g_test_skip("needs root with CAP_NET_ADMIN, network namespaces and iproute2");
		return false;
	}
	g_test_trap_subprocess(NULL, SUBPROCESS_TIMEOUT_US, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
	return false;
}

static void G_GNUC_PRINTF(1, 2) run(const char *format, ...)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cmd = NULL;
	g_autofree char *err = NULL;
	va_list args;
	int status = 0;

	va_start(args, format);
	cmd = g_strdup_vprintf(format, args);
	va_end(args);
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, &error))
		g_printerr("'%s' failed: %s\n", cmd, err);
	g_assert_no_error(error);
}

static void
write_sysctl(const char *path, const char *value)
{
	/* not g_file_set_contents(): /proc takes no temporary file and rename */
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, value, strlen(value)), ==, (ssize_t) strlen(value));
	g_assert_cmpint(close(fd), ==, 0);
}

/* the addresses of one test network: the TUN's own, the far end the test plays, a prefix */
typedef struct {
	const char *name;
	int family;
	const char *local;
	const char *remote;
	unsigned int prefix;
	/* forwarding: a second TUN and a host behind it */
	const char *local2;
	const char *remote2;
} Net;

static const Net nets[] = {
	{"ipv4", AF_INET, "192.0.2.1", "192.0.2.2", 24, "198.51.100.1", "198.51.100.2"},
	{"ipv6", AF_INET6, "2001:db8:1::1", "2001:db8:1::2", 64, "2001:db8:2::1", "2001:db8:2::2"},
};

static size_t
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void
addr_parse(int family, const char *text, void *out)
{
	g_assert_cmpint(inet_pton(family, text, out), ==, 1);
}

static void
net_configure(const Net *net, const char *ifname, const char *local)
{
	if (net->family == AF_INET6)
		run("ip -6 addr add %s/%u dev %s nodad", local, net->prefix, ifname);
	else
		run("ip addr add %s/%u dev %s", local, net->prefix, ifname);
	run("ip link set dev %s up", ifname);
}

/* a parsed IPv4/IPv6 packet without extension headers */
typedef struct {
	int family;
	size_t ip_hlen;
	uint8_t proto;
	const uint8_t *src;
	const uint8_t *dst;
	const uint8_t *l4;
	size_t l4_len;
} Parsed;

static bool
parse(const uint8_t *p, size_t len, Parsed *out)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		out->family = AF_INET;
		out->ip_hlen = (size_t) (p[0] & 0x0f) * 4;
		if (be16(p + 2) != len || out->ip_hlen < 20 || out->ip_hlen > len)
			return false;
		out->proto = p[9];
		out->src = p + 12;
		out->dst = p + 16;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		out->family = AF_INET6;
		out->ip_hlen = 40;
		if ((size_t) be16(p + 4) + 40 != len)
			return false;
		out->proto = p[6];
		out->src = p + 8;
		out->dst = p + 24;
	} else {
		return false;
	}
	out->l4 = p + out->ip_hlen;
	out->l4_len = len - out->ip_hlen;
	return true;
}

static uint64_t
ref_pseudo(const Parsed *p)
{
	size_t alen = addr_len(p->family);
	uint8_t tail[8] = {0};

	put32(tail, (uint32_t) p->l4_len);
	tail[7] = p->proto;
	return ref_sum(tail, 8, ref_sum(p->dst, alen, ref_sum(p->src, alen, 0)));
}

static bool
ref_l4_ok(const Parsed *p)
{
	return ref_fold(ref_sum(p->l4, p->l4_len, ref_pseudo(p))) == 0xffff;
}

static bool
ref_ipv4_ok(const uint8_t *pkt)
{
	return ref_fold(ref_sum(pkt, (size_t) (pkt[0] & 0x0f) * 4, 0)) == 0xffff;
}

/* an IP packet around the transport segment l4, with correct checksums */
static size_t
build_ip(uint8_t *out, int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
	 const uint8_t *l4, size_t l4_len, uint16_t ip_id)
{
	size_t ip_hlen = family == AF_INET ? 20 : 40;
	size_t csum_off = proto == IPPROTO_UDP ? 6 : 16;
	uint8_t *seg = out + ip_hlen;
	Parsed p;
	uint16_t csum;

	memset(out, 0, ip_hlen);
	if (family == AF_INET) {
		out[0] = 0x45;
		put16(out + 2, (uint16_t) (ip_hlen + l4_len));
		put16(out + 4, ip_id);
		put16(out + 6, 0x4000); /* DF */
		out[8] = 64;
		out[9] = proto;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		put16(out + 10, (uint16_t) ~ref_fold(ref_sum(out, 20, 0)));
	} else {
		out[0] = 0x60;
		put16(out + 4, (uint16_t) l4_len);
		out[6] = proto;
		out[7] = 64;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
	}
	memmove(seg, l4, l4_len);
	put16(seg + csum_off, 0);
	g_assert_true(parse(out, ip_hlen + l4_len, &p));
	csum = (uint16_t) ~ref_fold(ref_sum(seg, l4_len, ref_pseudo(&p)));
	if (csum == 0 && proto == IPPROTO_UDP)
		csum = 0xffff;
	put16(seg + csum_off, csum);
	return ip_hlen + l4_len;
}

static size_t
build_udp(uint8_t *out, uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	put16(out, sport);
	put16(out + 2, dport);
	put16(out + 4, (uint16_t) (8 + plen));
	put16(out + 6, 0);
	memcpy(out + 8, payload, plen);
	return 8 + plen;
}

static size_t
build_tcp(uint8_t *out, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
	  const uint8_t *opts, size_t opts_len, const void *payload, size_t plen)
{
	size_t hlen = 20 + opts_len;

	memset(out, 0, 20);
	put16(out, sport);
	put16(out + 2, dport);
	put32(out + 4, seq);
	put32(out + 8, ack);
	out[12] = (uint8_t) ((hlen / 4) << 4);
	out[13] = flags;
	put16(out + 14, 65535);
	if (opts_len > 0)
		memcpy(out + 20, opts, opts_len);
	if (plen > 0)
		memcpy(out + hlen, payload, plen);
	return hlen + plen;
}

static void
sockaddr_make(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss,
	      socklen_t *out_len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *) ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr_parse(AF_INET, addr, (uint8_t *) &sin->sin_addr);
		*out_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr_parse(AF_INET6, addr, (uint8_t *) &sin6->sin6_addr);
		*out_len = sizeof(*sin6);
	}
}

static void
wait_fd(int fd, short events)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	g_assert_cmpint(poll(&pfd, 1, POLL_TIMEOUT_MS), ==, 1);
}

/* a UDP datagram from a socket comes out of the TUN; one written into it reaches a socket */
static void
test_linux_udp(gconstpointer data)
{
	bool offload = GPOINTER_TO_INT(data);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;
	WrPacket *pkts;
	const Net *net = &nets[0];
	uint8_t local[16], remote[16];
	uint8_t payload[1000];
	uint8_t seg[1100];
	struct sockaddr_storage ss;
	socklen_t sslen;
	bool seen = false;
	WrTunStats st;
	int sock;
	size_t len;

	if (!in_netns_subprocess())
		return;
	pkts = packets_new(8);
	tun = wr_tun_linux_open("wrt%d", offload, &error);
	g_assert_no_error(error);
	g_assert_nonnull(tun);
	g_assert_cmpint(wr_tun_has_offload(tun), ==, offload);
	g_assert_true(g_str_has_prefix(wr_tun_get_name(tun), "wrt"));
	g_assert_null(strchr(wr_tun_get_name(tun), '%'));
	net_configure(net, wr_tun_get_name(tun), net->local);
	run("ip link set dev %s mtu 1400", wr_tun_get_name(tun));
	g_assert_cmpint(wr_tun_get_mtu(tun), ==, 1400);
	addr_parse(AF_INET, net->local, local);
	addr_parse(AF_INET, net->remote, remote);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t) (i * 7);

	/* out: a socket sends to the far end, the TUN hands it over with a valid checksum */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(sock, >=, 0);
	sockaddr_make(AF_INET, net->remote, 9, &ss, &sslen);
	g_assert_cmpint(sendto(sock, payload, sizeof(payload), 0, (struct sockaddr *) &ss, sslen),
			==, sizeof(payload));
	while (!seen) {
		int n = wr_tun_read_batch(tun, pkts, 8);

		g_assert_cmpint(n, >, 0);
		for (int i = 0; i < n; i++) {
			Parsed p;

			if (!parse(pkts[i].data, pkts[i].len, &p) || p.family != AF_INET ||
			    p.proto != IPPROTO_UDP || memcmp(p.dst, remote, 4) != 0)
				continue;
			g_assert_true(ref_ipv4_ok(pkts[i].data));
			g_assert_true(ref_l4_ok(&p));
			g_assert_cmpuint(be16(p.l4 + 2), ==, 9);
			g_assert_cmpmem(p.l4 + 8, p.l4_len - 8, payload, sizeof(payload));
			seen = true;
		}
	}
	(void) close(sock);

	/* in: a datagram from the far end, next to one that must not be written */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	sockaddr_make(AF_INET, net->local, 5555, &ss, &sslen);
	g_assert_cmpint(bind(sock, (struct sockaddr *) &ss, sslen), ==, 0);
	len = build_udp(seg, 4000, 5555, "not this one", 12);
	len = build_ip(pkts[0].buf + WR_PACKET_HEADROOM, AF_INET, remote, local, IPPROTO_UDP, seg,
		       len, 1);
	pkts[0].data = pkts[0].buf + WR_PACKET_HEADROOM;
	pkts[0].len = (uint32_t) len;
	pkts[0].verdict = WR_VERDICT_DROP;
	len = build_udp(seg, 4000, 5555, payload, sizeof(payload));
	len = build_ip(pkts[1].buf + WR_PACKET_HEADROOM, AF_INET, remote, local, IPPROTO_UDP, seg,
		       len, 2);
	pkts[1].data = pkts[1].buf + WR_PACKET_HEADROOM;
	pkts[1].len = (uint32_t) len;
	pkts[1].verdict = WR_VERDICT_TUN;
	g_assert_cmpint(wr_tun_write_batch(tun, pkts, 2), ==, 0);
	wait_fd(sock, POLLIN);
	{
		uint8_t buf[2000];
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t r =
			recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *) &from, &fromlen);

		g_assert_cmpint(r, ==, sizeof(payload));
		g_assert_cmpmem(buf, sizeof(payload), payload, sizeof(payload));
		g_assert_cmpmem(&from.sin_addr, 4, remote, 4);
		g_assert_cmpuint(ntohs(from.sin_port), ==, 4000);
		/* the packet that was not for the TUN did not arrive */
		g_assert_cmpint(recv(sock, buf, sizeof(buf), 0), ==, -1);
		g_assert_cmpint(errno, ==, EAGAIN);
	}
	(void) close(sock);

	wr_tun_get_stats(tun, &st);
	g_assert_cmpuint(st.written_packets, ==, 1);
	g_assert_cmpuint(st.written_writes, ==, 1);
	g_assert_cmpuint(st.read_packets, >=, 1);
	g_assert_cmpuint(st.dropped_malformed, ==, 0);
	packets_free(pkts, 8);
}

/* `ip link del` under a reader: reads and writes report it */
static void
test_linux_link_deleted(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;
	WrPacket *pkts;
	Reader r = {0};
	GThread *thread;
	int n;

	if (!in_netns_subprocess())
		return;
	pkts = packets_new(8);
	r.pkts = pkts;
	tun = wr_tun_linux_open("wrdel%d", true, &error);
	g_assert_no_error(error);
	r.tun = tun;
	thread = g_thread_new("reader", reader_thread, &r);
	wait_until_sleeping(&r.tid);
	run("ip link del dev %s", wr_tun_get_name(tun));
	g_thread_join(thread);
	g_assert_true(r.result == -EBADFD || r.result == -ENODEV);

	n = wr_tun_read_batch(tun, pkts, 8);
	g_assert_true(n == -EBADFD || n == -ENODEV);
	packet_set(&pkts[0], "\x45", 1, WR_VERDICT_TUN);
	n = wr_tun_write_batch(tun, pkts, 1);
	g_assert_true(n == -EBADFD || n == -ENODEV);
	packets_free(pkts, 8);
}

static void
test_linux_close_wakes_reader(gconstpointer data)
{
	bool offload = GPOINTER_TO_INT(data);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;
	WrPacket *pkts;
	Reader r = {0};
	GThread *thread;

	if (!in_netns_subprocess())
		return;
	pkts = packets_new(8);
	r.pkts = pkts;
	tun = wr_tun_linux_open("wrclose%d", offload, &error);
	g_assert_no_error(error);
	net_configure(&nets[0], wr_tun_get_name(tun), nets[0].local);
	r.tun = tun;
	thread = g_thread_new("reader", reader_thread, &r);
	wait_until_sleeping(&r.tid);
	wr_tun_close(tun);
	g_thread_join(thread);
	g_assert_cmpint(r.result, ==, -ECANCELED);
	g_assert_cmpint(wr_tun_read_batch(tun, pkts, 8), ==, -ECANCELED);
	packets_free(pkts, 8);
}

/* the far end of one TCP connection, played at the TUN */
typedef struct {
	const Net *net;
	WrTun *tun;
	WrPacket *pkts;
	uint8_t local[16];
	uint8_t remote[16];
	uint16_t local_port;
	uint16_t remote_port;
	uint32_t local_isn; /* the socket's */
	uint32_t remote_isn;
	uint16_t ip_id;
} Peer;

static void
peer_send(Peer *peer, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *opts,
	  size_t opts_len, const void *payload, size_t plen)
{
	uint8_t seg[1600];
	size_t len;
	WrPacket *out = &peer->pkts[0];

	len = build_tcp(seg, peer->remote_port, peer->local_port, seq, ack, flags, opts, opts_len,
			payload, plen);
	len = build_ip(out->buf + WR_PACKET_HEADROOM, peer->net->family, peer->remote, peer->local,
		       IPPROTO_TCP, seg, len, peer->ip_id++);
	out->data = out->buf + WR_PACKET_HEADROOM;
	out->len = (uint32_t) len;
	out->verdict = WR_VERDICT_TUN;
	g_assert_cmpint(wr_tun_write_batch(peer->tun, out, 1), ==, 0);
}

/* true for a TCP packet of this connection (socket to far end), checked in full */
static bool
peer_match(Peer *peer, const WrPacket *pkt, Parsed *p)
{
	size_t alen = addr_len(peer->net->family);

	if (!parse(pkt->data, pkt->len, p) || p->family != peer->net->family ||
	    p->proto != IPPROTO_TCP || p->l4_len < 20 || memcmp(p->dst, peer->remote, alen) != 0 ||
	    be16(p->l4 + 2) != peer->remote_port)
		return false;
	if (p->family == AF_INET)
		g_assert_true(ref_ipv4_ok(pkt->data));
	g_assert_true(ref_l4_ok(p));
	return true;
}

/*
 * TSO on read: a socket's stream leaves the kernel as super-packets, which come out of the
 * TUN as valid segments no longer than the MTU; and GRO on write: segments the far end
 * sends in one batch go into the kernel as one write and reach the socket intact.
 */
static void
test_linux_tcp(gconstpointer data)
{
	const Net *net = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;
	const size_t total = 1024 * 1024;
	g_autofree uint8_t *tx = NULL;
	g_autofree uint8_t *rx = NULL;
	size_t sent = 0, received = 0;
	Peer peer = {.net = net, .remote_port = 80, .remote_isn = 0x7ffff000U, .ip_id = 1};
	/* MSS 1300, NOP, window scale 7 */
	const uint8_t synack_opts[] = {2, 4, 0x05, 0x14, 1, 3, 3, 7};
	struct sockaddr_storage ss;
	socklen_t sslen;
	WrTunStats st0, st;
	int mtu;
	int sock;
	bool have_syn = false;

	if (!in_netns_subprocess())
		return;
	tx = g_malloc(total);
	rx = g_malloc0(total);
	tun = wr_tun_linux_open("wrtcp%d", true, &error);
	g_assert_no_error(error);
	g_assert_true(wr_tun_has_offload(tun));
	net_configure(net, wr_tun_get_name(tun), net->local);
	mtu = wr_tun_get_mtu(tun);
	g_assert_cmpint(mtu, ==, 1500);
	peer.tun = tun;
	peer.pkts = packets_new(64);
	addr_parse(net->family, net->local, peer.local);
	addr_parse(net->family, net->remote, peer.remote);
	for (size_t i = 0; i < total; i++)
		tx[i] = (uint8_t) g_test_rand_int();

	sock = socket(net->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	g_assert_cmpint(sock, >=, 0);
	sockaddr_make(net->family, net->remote, peer.remote_port, &ss, &sslen);
	g_assert_cmpint(connect(sock, (struct sockaddr *) &ss, sslen), ==, -1);
	g_assert_cmpint(errno, ==, EINPROGRESS);

	/* SYN; SYN-ACK */
	while (!have_syn) {
		int n = wr_tun_read_batch(tun, peer.pkts, 64);

		g_assert_cmpint(n, >, 0);
		for (int i = 0; i < n && !have_syn; i++) {
			Parsed p;

			if (!peer_match(&peer, &peer.pkts[i], &p) ||
			    (p.l4[13] & (TCP_SYN | TCP_ACK)) != TCP_SYN)
				continue;
			peer.local_port = be16(p.l4);
			peer.local_isn = be32(p.l4 + 4);
			have_syn = true;
		}
	}
	peer_send(&peer, peer.remote_isn, peer.local_isn + 1, TCP_SYN | TCP_ACK, synack_opts,
		  sizeof(synack_opts), NULL, 0);
	wait_fd(sock, POLLOUT);
	{
		int soerr = -1;
		socklen_t soerr_len = sizeof(soerr);

		g_assert_cmpint(getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len), ==, 0);
		g_assert_cmpint(soerr, ==, 0);
	}

	/* upload: read what the socket sends, acknowledge each batch */
	wr_tun_get_stats(tun, &st0);
	while (received < total) {
		int n;

		while (sent < total) {
			ssize_t r = send(sock, tx + sent, total - sent, MSG_DONTWAIT);

			if (r < 0) {
				g_assert_cmpint(errno, ==, EAGAIN);
				break;
			}
			sent += (size_t) r;
		}
		n = wr_tun_read_batch(tun, peer.pkts, 64);
		g_assert_cmpint(n, >, 0);
		for (int i = 0; i < n; i++) {
			Parsed p;
			size_t hlen;
			size_t plen;
			size_t off;

			if (!peer_match(&peer, &peer.pkts[i], &p))
				continue;
			g_assert_cmpuint(peer.pkts[i].len, <=, (unsigned int) mtu);
			hlen = (size_t) (p.l4[12] >> 4) * 4;
			plen = p.l4_len - hlen;
			if (plen == 0)
				continue;
			g_assert_cmpuint(plen, <=, 1300);
			g_assert_cmphex(p.l4[13] & ~TCP_PSH, ==, TCP_ACK);
			off = (uint32_t) (be32(p.l4 + 4) - peer.local_isn - 1);
			g_assert_cmpuint(off + plen, <=, total);
			memcpy(rx + off, p.l4 + hlen, plen);
			/* in order on a lossless link; a retransmission may repeat old data */
			g_assert_cmpuint(off, <=, received);
			received = MAX(received, off + plen);
		}
		peer_send(&peer, peer.remote_isn + 1, peer.local_isn + 1 + (uint32_t) received,
			  TCP_ACK, NULL, 0, NULL, 0);
	}
	g_assert_cmpmem(rx, total, tx, total);
	wr_tun_get_stats(tun, &st);
	g_assert_cmpuint(st.read_superpackets, >, st0.read_superpackets);
	g_assert_cmpuint(st.read_packets - st0.read_packets, >=, total / 1300);
	g_assert_cmpuint(st.dropped_malformed, ==, 0);

	/* download: 20 segments in one batch become one write */
	{
		const unsigned int n_segs = 20;
		const size_t seg_len = 1200;
		uint8_t buf[4096];
		size_t got = 0;
		WrTunStats before;
		WrPacket *out = packets_new(n_segs);

		for (unsigned int i = 0; i < n_segs; i++) {
			uint8_t seg[1600];
			size_t len;

			len = build_tcp(seg, peer.remote_port, peer.local_port,
					peer.remote_isn + 1 + i * (uint32_t) seg_len,
					peer.local_isn + 1 + (uint32_t) total,
					i == n_segs - 1 ? (TCP_ACK | TCP_PSH) : TCP_ACK, NULL, 0,
					tx + i * seg_len, seg_len);
			len = build_ip(out[i].buf + WR_PACKET_HEADROOM, net->family, peer.remote,
				       peer.local, IPPROTO_TCP, seg, len, peer.ip_id++);
			out[i].data = out[i].buf + WR_PACKET_HEADROOM;
			out[i].len = (uint32_t) len;
			out[i].verdict = WR_VERDICT_TUN;
		}
		wr_tun_get_stats(tun, &before);
		g_assert_cmpint(wr_tun_write_batch(tun, out, n_segs), ==, 0);
		wr_tun_get_stats(tun, &st);
		g_assert_cmpuint(st.written_packets - before.written_packets, ==, n_segs);
		g_assert_cmpuint(st.written_writes - before.written_writes, ==, 1);
		while (got < n_segs * seg_len) {
			ssize_t r;

			wait_fd(sock, POLLIN);
			r = recv(sock, buf, sizeof(buf), 0);
			g_assert_cmpint(r, >, 0);
			g_assert_cmpuint(got + (size_t) r, <=, n_segs * seg_len);
			g_assert_cmpmem(buf, (size_t) r, tx + got, (size_t) r);
			got += (size_t) r;
		}
		packets_free(out, n_segs);
	}
	(void) close(sock);
	packets_free(peer.pkts, 64);
}

/*
 * A coalesced write forwarded by the kernel out of a second TUN without offloads: the kernel
 * cuts it up itself and finishes each checksum from the pseudo-header sum we left, so valid
 * segments on the far side prove the CHECKSUM_PARTIAL convention, not just our own reading.
 */
static void
test_linux_forward(gconstpointer data)
{
	const Net *net = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) in = NULL;
	g_autoptr(WrTun) out = NULL;
	const unsigned int n_segs = 24;
	const size_t seg_len = 1400;
	size_t alen = addr_len(net->family);
	g_autofree uint8_t *payload = NULL;
	g_autofree uint8_t *rx = NULL;
	uint8_t src[16], dst[16];
	WrPacket *pkts;
	WrPacket *rpkts;
	unsigned int seen = 0;
	uint32_t isn = 0xfffff000U;
	WrTunStats st;

	if (!in_netns_subprocess())
		return;
	payload = g_malloc(n_segs * seg_len);
	rx = g_malloc0(n_segs * seg_len);
	pkts = packets_new(n_segs);
	rpkts = packets_new(64);
	in = wr_tun_linux_open("wrin%d", true, &error);
	g_assert_no_error(error);
	g_assert_true(wr_tun_has_offload(in));
	out = wr_tun_linux_open("wrout%d", false, &error);
	g_assert_no_error(error);
	g_assert_false(wr_tun_has_offload(out));
	net_configure(net, wr_tun_get_name(in), net->local);
	net_configure(net, wr_tun_get_name(out), net->local2);
	if (net->family == AF_INET)
		write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	else
		write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	addr_parse(net->family, net->remote, src);
	addr_parse(net->family, net->remote2, dst);
	for (size_t i = 0; i < n_segs * seg_len; i++)
		payload[i] = (uint8_t) g_test_rand_int();

	for (unsigned int i = 0; i < n_segs; i++) {
		uint8_t seg[1600];
		size_t len;

		len = build_tcp(seg, 33333, 80, isn + i * (uint32_t) seg_len, 12345,
				i == n_segs - 1 ? (TCP_ACK | TCP_PSH) : TCP_ACK, NULL, 0,
				payload + i * seg_len, seg_len);
		len = build_ip(pkts[i].buf + WR_PACKET_HEADROOM, net->family, src, dst, IPPROTO_TCP,
			       seg, len, (uint16_t) (500 + i));
		pkts[i].data = pkts[i].buf + WR_PACKET_HEADROOM;
		pkts[i].len = (uint32_t) len;
		pkts[i].verdict = WR_VERDICT_TUN;
	}
	g_assert_cmpint(wr_tun_write_batch(in, pkts, n_segs), ==, 0);
	wr_tun_get_stats(in, &st);
	g_assert_cmpuint(st.written_packets, ==, n_segs);
	g_assert_cmpuint(st.written_writes, ==, 1);

	while (seen < n_segs) {
		int n = wr_tun_read_batch(out, rpkts, 64);

		g_assert_cmpint(n, >, 0);
		for (int i = 0; i < n; i++) {
			Parsed p;
			size_t off;
			size_t plen;

			if (!parse(rpkts[i].data, rpkts[i].len, &p) || p.proto != IPPROTO_TCP ||
			    p.family != net->family || memcmp(p.dst, dst, alen) != 0)
				continue;
			/* forwarded: one hop less */
			if (p.family == AF_INET) {
				g_assert_true(ref_ipv4_ok(rpkts[i].data));
				g_assert_cmpuint(rpkts[i].data[8], ==, 63);
			} else {
				g_assert_cmpuint(rpkts[i].data[7], ==, 63);
			}
			g_assert_true(ref_l4_ok(&p));
			plen = p.l4_len - 20;
			g_assert_cmpuint(plen, ==, seg_len);
			off = (uint32_t) (be32(p.l4 + 4) - isn);
			g_assert_cmpuint(off % seg_len, ==, 0);
			g_assert_cmpuint(off / seg_len, ==, seen);
			g_assert_cmphex(p.l4[13], ==,
					seen == n_segs - 1 ? (TCP_ACK | TCP_PSH) : TCP_ACK);
			memcpy(rx + off, p.l4 + 20, plen);
			seen++;
		}
	}
	g_assert_cmpmem(rx, n_segs * seg_len, payload, n_segs * seg_len);
	packets_free(pkts, n_segs);
	packets_free(rpkts, 64);
}

static void
test_linux_open_errors(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrTun) tun = NULL;

	/* refused before the kernel is asked, so no privileges are needed */
	tun = wr_tun_linux_open("a-name-much-too-long-for-linux", true, &error);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_null(tun);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/tun/memory/pair", test_memory_pair);
	g_test_add_func("/warren/tun/memory/queue-limit", test_memory_queue_limit);
	g_test_add_func("/warren/tun/memory/close-wakes-reader", test_memory_close_wakes_reader);
	g_test_add_func("/warren/tun/memory/wakes-on-write", test_memory_wakes_on_write);
	g_test_add_func("/warren/tun/linux/open-errors", test_linux_open_errors);
	g_test_add_data_func("/warren/tun/linux/udp-offload", GINT_TO_POINTER(TRUE),
			     test_linux_udp);
	g_test_add_data_func("/warren/tun/linux/udp-plain", GINT_TO_POINTER(FALSE), test_linux_udp);
	g_test_add_func("/warren/tun/linux/link-deleted", test_linux_link_deleted);
	g_test_add_data_func("/warren/tun/linux/close-wakes-reader-offload", GINT_TO_POINTER(TRUE),
			     test_linux_close_wakes_reader);
	g_test_add_data_func("/warren/tun/linux/close-wakes-reader-plain", GINT_TO_POINTER(FALSE),
			     test_linux_close_wakes_reader);
	for (guint i = 0; i < G_N_ELEMENTS(nets); i++) {
		g_autofree char *tcp = g_strdup_printf("/warren/tun/linux/tcp-%s", nets[i].name);
		g_autofree char *fwd =
			g_strdup_printf("/warren/tun/linux/forward-%s", nets[i].name);

		g_test_add_data_func(tcp, &nets[i], test_linux_tcp);
		g_test_add_data_func(fwd, &nets[i], test_linux_forward);
	}
	return g_test_run();
}
