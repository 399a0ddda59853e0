#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prints a wg(8) configuration file in a canonical form so that two configurations can be
# compared as sets: peers sorted by public key, AllowedIPs one per line in sorted order,
# comments and blank lines dropped, key names as written.  The order in which a daemon lists
# its peers and allowed IPs is its own business, not a difference.
#   wgconf.py FILE...     each FILE in turn ("-" is stdin), concatenated as one configuration

import fileinput
import sys


def main():
    interface = []
    peers = {}
    current = None
    for raw in fileinput.input(sys.argv[1:]):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "[Interface]":
            current = interface
            continue
        if line == "[Peer]":
            current = []
            peers[len(peers)] = current
            continue
        if current is None or "=" not in line:
            sys.exit(f"wgconf.py: unexpected line: {line}")
        key, value = (part.strip() for part in line.split("=", 1))
        if key == "AllowedIPs":
            current.extend((key, ip.strip()) for ip in value.split(",") if ip.strip())
        else:
            current.append((key, value))
    for key, value in sorted(interface):
        print(f"Interface {key} = {value}")
    byname = {}
    for fields in peers.values():
        pub = [v for k, v in fields if k == "PublicKey"]
        if len(pub) != 1:
            sys.exit("wgconf.py: a peer without exactly one PublicKey")
        byname.setdefault(pub[0], []).extend(fields)
    for pub in sorted(byname):
        for key, value in sorted(set(byname[pub])):
            print(f"Peer {pub} {key} = {value}")


if __name__ == "__main__":
    main()
