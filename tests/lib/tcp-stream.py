#!/usr/bin/python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tcp-stream.py: one TCP stream with a checker, for a transfer that must survive something
# (tests/system/tailnet.sh keyrot: a node-key rotation under a running transfer).
#
#   tcp-stream.py serve ADDR PORT REPORT   accept one connection, read it to its end, check every
#                                          byte (byte i of the stream is i % 251), answer the
#                                          byte count, and write REPORT (JSON): bytes, the longest
#                                          gap between two arrivals of data (ms, after the first),
#                                          when it was (Unix time), when the sender's end came
#                                          (eof_at), and "end": "fin" or what broke the stream
#                                          ("reset", "corrupt at N", ...)
#   tcp-stream.py send ADDR PORT SECONDS KBPS
#                                          send the pattern for SECONDS at about KBPS KiB/s, close
#                                          the sending side, and check the receiver's count;
#                                          exit 0 when all arrived, 1 with why otherwise (a reset
#                                          shows as one)
#   tcp-stream.py watch-rst IFNAME OUT     print to OUT every TCP segment with RST that IFNAME
#                                          carries, either way (time, addresses, ports, flags,
#                                          sequence), until killed: what a failed run shows
#
# Only the standard library: it runs in any namespace with python3.

import json
import socket
import sys
import time

MOD = 251
CHUNK = 16384


def pattern(offset, length):
    start = offset % MOD
    reps = (start + length) // MOD + 1
    return (bytes(range(MOD)) * reps)[start : start + length]


def serve(addr, port, report):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    lst = socket.socket(family, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((addr, port))
    lst.listen(1)
    # the caller waits for this line before it starts the sender
    print("listening", flush=True)
    conn, _ = lst.accept()
    total = 0
    last = None
    gap = 0.0
    gap_at = 0.0
    eof_at = 0.0
    end = "fin"
    try:
        while True:
            data = conn.recv(65536)
            now = time.monotonic()
            if not data:
                eof_at = time.time()
                break
            if last is not None and now - last > gap:
                gap = now - last
                gap_at = time.time()
            last = now
            if data != pattern(total, len(data)):
                end = "corrupt at byte %d" % total
                break
            total += len(data)
        if end == "fin":
            conn.sendall(b"%d\n" % total)
            conn.shutdown(socket.SHUT_WR)
            # the sender's last ACKs and window updates find the socket still open: closed at
            # once, the kernel would answer them with a reset nobody needs to see
            time.sleep(0.5)
    except ConnectionResetError:
        end = "reset"
    except OSError as e:
        end = "error: %s" % e
    conn.close()
    with open(report, "w") as f:
        json.dump(
            {"bytes": total, "max_gap_ms": round(gap * 1000), "gap_at": gap_at, "eof_at": eof_at, "end": end},
            f,
        )
    return 0 if end == "fin" else 1


def send(addr, port, seconds, kbps):
    s = socket.create_connection((addr, port), timeout=10)
    s.settimeout(30)
    sent = 0
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            s.sendall(pattern(sent, CHUNK))
            sent += CHUNK
            # pace: where the stream should be by now
            ahead = sent / (kbps * 1024.0) - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        # the answer, then the receiver's end: closing before that could leave a late
        # retransmission of it to a closed socket, which the kernel answers with a reset
        answer = b""
        while True:
            data = s.recv(64)
            if not data:
                break
            answer += data
    except ConnectionResetError:
        print("send: the connection was reset after %d bytes" % sent, file=sys.stderr)
        return 1
    except OSError as e:
        print("send: %s after %d bytes" % (e, sent), file=sys.stderr)
        return 1
    s.close()
    if answer.strip() != str(sent).encode():
        print("send: sent %d bytes, the receiver counted %r" % (sent, answer), file=sys.stderr)
        return 1
    print("sent %d bytes in %.1f s" % (sent, time.monotonic() - t0))
    return 0


def watch_rst(ifname, out):
    import struct

    eth_p_all = 0x0003
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(eth_p_all))
    s.bind((ifname, eth_p_all))
    with open(out, "w", buffering=1) as f:
        print("watching", flush=True)
        while True:
            pkt, addr = s.recvfrom(65535)
            if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
                continue
            ihl = (pkt[0] & 15) * 4
            if len(pkt) < ihl + 14 or not pkt[ihl + 13] & 0x04:
                continue
            sport, dport, seq = struct.unpack("!HHI", pkt[ihl : ihl + 8])
            f.write(
                "%.3f %s %s:%d > %s:%d flags 0x%02x seq %d len %d\n"
                % (
                    time.time(),
                    "out" if addr[2] == socket.PACKET_OUTGOING else "in",
                    socket.inet_ntoa(pkt[12:16]),
                    sport,
                    socket.inet_ntoa(pkt[16:20]),
                    dport,
                    pkt[ihl + 13],
                    seq,
                    len(pkt),
                )
            )


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        return serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if len(sys.argv) == 4 and sys.argv[1] == "watch-rst":
        return watch_rst(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 6 and sys.argv[1] == "send":
        return send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    print(
        "usage: tcp-stream.py serve ADDR PORT REPORT | send ADDR PORT SECONDS KBPS | watch-rst IFNAME OUT",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
