#!/usr/bin/env python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nsforward.py: a TCP forwarder from this network namespace into another one, for tools/demo:
# the browser on this desktop reaches the OpenID provider and warren-control's sign-in pages,
# which run in the lab's servers' namespace, at http://127.0.0.1:PORT here.  That is the only
# form both ends accept for plain http (control's [oidc] issuer and redirect URI: http only on
# a loopback address), so the provider listens on 127.0.0.1 in its namespace and this
# forwarder on the same port here.
#
#   nsforward.py LISTEN_ADDR:PORT NETNS TARGET_ADDR:PORT READY_FILE [--tls-ca PEM]
#
# The listening socket is made here, then the process enters NETNS (/var/run/netns/NETNS) and
# connects there for every client.  With --tls-ca it speaks TLS to the target and checks its
# certificate against PEM (control serves only https): the browser sees plain http on
# loopback, which is why the page is not a certificate warning.  READY_FILE is created once it
# listens.  Runs until SIGTERM.
import ctypes
import os
import socket
import ssl
import sys
import threading

CLONE_NEWNET = 0x40000000


def split_addr(text):
    host, _, port = text.rpartition(':')
    if not host or not port.isdigit():
        sys.exit(f'nsforward.py: {text!r} is not ADDR:PORT')
    return host, int(port)


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f'/var/run/netns/{name}', os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            sys.exit(f'nsforward.py: setns {name}: {os.strerror(err)}')
    finally:
        os.close(fd)


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # the other direction may still carry an answer: half-close, then let go
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client, target, tls):
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
        if tls is not None:
            upstream = tls.wrap_socket(upstream, server_hostname=target[0])
    except OSError as e:
        print(f'nsforward.py: cannot reach {target[0]}:{target[1]}: {e}', file=sys.stderr, flush=True)
        client.close()
        return
    back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main():
    args = sys.argv[1:]
    ca = None
    if '--tls-ca' in args:
        i = args.index('--tls-ca')
        if i + 1 >= len(args):
            sys.exit('nsforward.py: --tls-ca needs a file')
        ca = args[i + 1]
        del args[i:i + 2]
    if len(args) != 4:
        sys.exit('usage: nsforward.py LISTEN_ADDR:PORT NETNS TARGET_ADDR:PORT READY_FILE [--tls-ca PEM]')
    listen, netns, target, ready = split_addr(args[0]), args[1], split_addr(args[2]), args[3]
    tls = ssl.create_default_context(cafile=ca) if ca is not None else None

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(64)
    # every thread made from here on is in the target's namespace; the socket stays here
    enter_netns(netns)
    with open(ready, 'w', encoding='utf-8'):
        pass
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client, target, tls), daemon=True).start()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
