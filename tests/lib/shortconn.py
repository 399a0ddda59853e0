#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Many short TCP connections, one after the other, for the flow log's ring test: each sends one
# byte and is closed by both sides (so that every one ends with FIN both ways).
#   shortconn.py serve ADDR PORT READYFILE COUNT   accept COUNT connections, echo, close
#   shortconn.py dial ADDR PORT COUNT              open COUNT connections in turn
# Both print how many connections they completed.

import socket
import sys

TIMEOUT = 30


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port, readyfile, count):
    done = 0
    with socket.socket(family(addr), socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        s.settimeout(TIMEOUT)
        with open(readyfile, "w", encoding="ascii") as f:
            f.write("ready\n")
        while done < count:
            conn, _ = s.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                b = conn.recv(1)
                if b:
                    conn.sendall(b)
            done += 1
    print(done)


def dial(addr, port, count):
    done = 0
    for _ in range(count):
        with socket.create_connection((addr, port), timeout=TIMEOUT) as s:
            s.sendall(b"x")
            s.recv(1)
            s.shutdown(socket.SHUT_WR)
            while s.recv(64):
                pass
        done += 1
    print(done)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) == 5 and sys.argv[1] == "dial":
        dial(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: shortconn.py serve ADDR PORT READYFILE COUNT | dial ADDR PORT COUNT")


if __name__ == "__main__":
    main()
