#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One TCP transfer of random bytes, checked end to end with SHA-256, for the namespace tests.
#   xfer.py recv ADDR PORT READYFILE   accept one connection, read to EOF
#   xfer.py send ADDR PORT BYTES       connect, send BYTES random bytes, close
# Both print "BYTES SHA256HEX" on success; the caller compares the two lines.

import hashlib
import os
import socket
import sys

TIMEOUT = 30
CHUNK = 1 << 16


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(addr, port, readyfile):
    with socket.socket(family(addr), socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        s.settimeout(TIMEOUT)
        with open(readyfile, "w", encoding="ascii") as f:
            f.write("ready\n")
        conn, _ = s.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            h = hashlib.sha256()
            n = 0
            while True:
                b = conn.recv(CHUNK)
                if not b:
                    break
                h.update(b)
                n += len(b)
    print(n, h.hexdigest())


def send(addr, port, nbytes):
    h = hashlib.sha256()
    n = 0
    with socket.create_connection((addr, port), timeout=TIMEOUT) as s:
        while n < nbytes:
            b = os.urandom(min(CHUNK, nbytes - n))
            s.sendall(b)
            h.update(b)
            n += len(b)
        s.shutdown(socket.SHUT_WR)
        # wait for the receiver's close so that every byte was read before we report
        while s.recv(CHUNK):
            pass
    print(n, h.hexdigest())


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: xfer.py recv ADDR PORT READYFILE | send ADDR PORT BYTES")


if __name__ == "__main__":
    main()
