#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# delayline.py: a delay line between two network namespaces, for kernels without sch_netem
# (tests/lib/natlab.sh).  It attaches to two existing TUN devices (IFF_TUN, no packet info),
# one in each namespace, and copies IP packets between them unchanged; packets going from A to
# B whose source or destination address is one of ADDR wait DELAY_MS first (all of them when no
# ADDR is given), in order, as netem on A's egress would make them.  Packets from B to A pass at
# once.  It creates READY_FILE once both devices are open and runs until killed.
#
#   delayline.py [--loss=PCT] NS_A TUN_A NS_B TUN_B DELAY_MS READY_FILE [ADDR...]
#
# --loss=PCT drops that share (0-100, a decimal) of the packets from A to B that the delay
# applies to, at random, as `netem loss PCT%` would (tests/lib/tailnet.sh's lossy WAN links).

import ctypes
import fcntl
import heapq
import ipaddress
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU_MAX = 65535
# the bound on packets waiting in the line: a test never comes close
MAX_QUEUED = 10000


def setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/var/run/netns/" + name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def open_tun(ns, dev):
    setns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def addresses(pkt):
    """source and destination of an IPv4 or IPv6 packet, or None"""
    if len(pkt) >= 20 and pkt[0] >> 4 == 4:
        return ipaddress.ip_address(pkt[12:16]), ipaddress.ip_address(pkt[16:20])
    if len(pkt) >= 40 and pkt[0] >> 4 == 6:
        return ipaddress.ip_address(pkt[8:24]), ipaddress.ip_address(pkt[24:40])
    return None


def main():
    usage = "usage: delayline.py [--loss=PCT] NS_A TUN_A NS_B TUN_B DELAY_MS READY_FILE [ADDR...]"
    loss = 0.0
    args = []
    for arg in sys.argv[1:]:
        if arg.startswith("--loss="):
            loss = float(arg[len("--loss="):]) / 100.0
            if not 0.0 <= loss <= 1.0:
                sys.exit("delayline.py: --loss must be 0..100, not %s" % arg[len("--loss="):])
        elif arg.startswith("--"):
            sys.exit("delayline.py: unknown option %s\n%s" % (arg, usage))
        else:
            args.append(arg)
    if len(args) < 6:
        sys.exit(usage)
    ns_a, tun_a, ns_b, tun_b = args[0:4]
    delay = float(args[4]) / 1000.0
    ready = args[5]
    slow = {ipaddress.ip_address(a) for a in args[6:]}

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fd_a = open_tun(ns_a, tun_a)
    fd_b = open_tun(ns_b, tun_b)
    with open(ready, "w") as f:
        f.write("%d\n" % os.getpid())

    queue = []  # (due, seq, packet) for A -> B
    seq = 0
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, pkt = heapq.heappop(queue)
            try:
                os.write(fd_b, pkt)
            except BlockingIOError:
                pass  # a full device queue loses the packet, as a wire would
        timeout = max(0.0, queue[0][0] - now) if queue else None
        readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        for fd in readable:
            while True:
                try:
                    pkt = os.read(fd, MTU_MAX)
                except BlockingIOError:
                    break
                if fd == fd_b:
                    try:
                        os.write(fd_a, pkt)
                    except BlockingIOError:
                        pass
                    continue
                addrs = addresses(pkt)
                applies = not slow or (addrs and (addrs[0] in slow or addrs[1] in slow))
                if applies and loss > 0 and random.random() < loss:
                    continue
                if delay > 0 and applies:
                    if len(queue) < MAX_QUEUED:
                        seq += 1
                        heapq.heappush(queue, (time.monotonic() + delay, seq, pkt))
                    continue
                try:
                    os.write(fd_b, pkt)
                except BlockingIOError:
                    pass


if __name__ == "__main__":
    main()
