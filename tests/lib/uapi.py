#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sends one raw request on a WireGuard UAPI socket and prints the answer verbatim, so that the
# tests can send what wg(8) never would.
#   uapi.py SOCKET REQUEST     REQUEST may use \n escapes; it is sent as given
# Prints the bytes received until the blank line that ends an answer, EOF, or a 5 s timeout.

import socket
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: uapi.py SOCKET REQUEST")
    request = sys.argv[2].replace("\\n", "\n").encode()
    answer = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sys.argv[1])
        s.sendall(request)
        try:
            while not answer.endswith(b"\n\n"):
                b = s.recv(4096)
                if not b:
                    break
                answer += b
        except socket.timeout:
            pass
    sys.stdout.write(answer.decode(errors="replace"))


if __name__ == "__main__":
    main()
