#!/usr/bin/python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# netcfg-state.py IFNAME: what the kernel of this network namespace has, as `ip -j` reports it
# (independent of engine/netcfg, which reads netlink through libnl), one sorted line each:
#   link IFNAME mtu N up|down
#   address A/LEN                      global-scope addresses of IFNAME
#   route DST dev DEV table T proto P metric M
#                                      every route of both families and all tables, except the
#                                      kernel's own (table local, proto kernel)
#   rule ipv4|ipv6 PRIO [fwmark M/MASK] lookup T [suppress_prefixlength N]|unreachable proto P
#                                      every policy rule but the kernel's three
# tests/system/netcfg-netns.sh compares these lines with what it expects.

import json
import subprocess
import sys


def ip_json(*args):
    out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def main():
    ifname = sys.argv[1]
    lines = []
    for link in ip_json("addr", "show", "dev", ifname):
        state = "up" if "UP" in link.get("flags", []) else "down"
        lines.append(f"link {link['ifname']} mtu {link['mtu']} {state}")
        for a in link.get("addr_info", []):
            if a.get("scope") == "global":
                lines.append(f"address {a['local']}/{a['prefixlen']}")
    for family in ("-4", "-6"):
        for r in ip_json(family, "route", "show", "table", "all"):
            table = r.get("table", "main")
            # ip(8) leaves out RTPROT_BOOT, the protocol of `ip route add`
            proto = r.get("protocol", "boot")
            if table == "local" or proto == "kernel":
                continue
            if r.get("type", "unicast") != "unicast":
                continue
            dst = r["dst"]
            if dst == "default":
                dst = "0.0.0.0/0" if family == "-4" else "::/0"
            elif "/" not in dst:
                dst += "/32" if family == "-4" else "/128"
            lines.append(
                f"route {dst} dev {r.get('dev', '?')} table {table} proto {proto} "
                f"metric {r.get('metric', 0)}"
            )
    for family, name in (("-4", "ipv4"), ("-6", "ipv6")):
        for r in ip_json("-d", family, "rule", "show"):
            if r.get("protocol") == "kernel":
                continue
            mark = ""
            if "fwmark" in r:
                mark = f" fwmark {r['fwmark']}/{r.get('fwmask', '0xffffffff')}"
            action = r.get("action")
            action = action if action is not None else f"lookup {r.get('table', '?')}"
            if "suppress_prefixlen" in r:
                action += f" suppress_prefixlength {r['suppress_prefixlen']}"
            lines.append(
                f"rule {name} {r['priority']}{mark} {action} proto {r.get('protocol', '?')}"
            )
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    main()
