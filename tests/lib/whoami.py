#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# whoami.py: "what is my IP" for the NAT lab's internet (tools/demo): answers every HTTP GET
# with the address the request came from, and whose it is, one line of text.  Through an exit
# node it is the exit node's public address, so a switch shows in `curl`.
#
#   whoami.py ADDR PORT READY_FILE [ADDRESS=NAME ...]
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    names = {}

    def do_GET(self):
        addr = self.client_address[0]
        who = self.names.get(addr)
        body = f'you came from {addr}{f" ({who})" if who else ""}\n'.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write('whoami.py: %s %s\n' % (self.client_address[0], fmt % args))


def main():
    if len(sys.argv) < 4:
        sys.exit('usage: whoami.py ADDR PORT READY_FILE [ADDRESS=NAME ...]')
    for pair in sys.argv[4:]:
        addr, _, name = pair.partition('=')
        Handler.names[addr] = name
    server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    with open(sys.argv[3], 'w', encoding='utf-8'):
        pass
    server.serve_forever()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
