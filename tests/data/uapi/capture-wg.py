#!/usr/bin/python3
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerates the wg-*.request and wg-show*.out files in this directory from the real `wg`
# (wireguard-tools), run by hand as root:  python3 tests/data/uapi/capture-wg.py
#
# It serves a fake userspace device on /var/run/wireguard/<name>.sock, the socket `wg` looks
# for before it tries the kernel: each `wg set`/`setconf`/`addconf`/`syncconf` request is
# recorded as sent, and every get=1 is answered with get-reply.txt (the golden reply that
# test-uapi checks wr_uapi_format_get() against), so that `wg show`/`showconf` prove that
# the real tool accepts what the formatter writes.  The keys are fixed test keys.

import os
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SOCK_DIR = '/var/run/wireguard'
IFNAME = 'wrcap%d' % (os.getpid() % 100000)

KEYS = {
    'device': 'eLS6MrcLacIA4oh5e4douL8eXV0G3518EACqKKdyG1o=',
    'device2': '2FhX1qyLHWmrvZjHPM4UgoywClavGCNjmkHaToRY9Fw=',
    'psk': '34LfrWLko2qJ6XbTYG7tFsyKpDrAvHDQxPUS2Iju2Uc=',
}
PEER_A = 'OwasL9H9SrUcWqKJuuCaBe6ojkmPFjUY+snOpocdLU4='
PEER_B = 'tjaf0F+DUn/clwXtvCaCeIZBq3PQo4NJ8L60EShW6VM='
PEER_C = 'SGBTeMbA9tOTWsliD7c4prjHtZTz1phN9dYNoOJM6G0='
PEER_D = 'gmnM2h+tz4QIemao0XDG73Lq9PHTORZxL9JJQkinrU4='

SETCONF = """[Interface]
PrivateKey = {device2}
ListenPort = 4500
FwMark = off

[Peer]
PublicKey = {PEER_A}
PresharedKey = {psk}
AllowedIPs = 100.64.0.2/32, fd7a:115c:a1e0::2/128
Endpoint = 203.0.113.5:41641
PersistentKeepalive = 25

[Peer]
PublicKey = {PEER_C}
AllowedIPs = 100.64.0.3/32
"""

ADDCONF = """[Peer]
PublicKey = {PEER_D}
AllowedIPs = 198.51.100.0/26
Endpoint = [2001:db8::7]:51820
"""

SYNCCONF = """[Interface]
PrivateKey = {device}
ListenPort = 51820

[Peer]
PublicKey = {PEER_A}
AllowedIPs = 10.0.0.0/24
"""


class FakeDevice:
    """one listening socket; records each request text and answers it"""

    def __init__(self, path, get_reply):
        self.path = path
        self.get_reply = get_reply
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.handle(conn)

    def handle(self, conn):
        f = conn.makefile('rwb', buffering=0)
        while True:
            op = f.readline()
            if not op:
                return  # wg probes the socket with an empty connection
            if op == b'get=1\n':
                blank = f.readline()
                with self.lock:
                    self.requests.append(op + blank)
                conn.sendall(self.get_reply)
                continue
            if op != b'set=1\n':
                return
            text = op
            while True:
                line = f.readline()
                if not line:
                    return
                text += line
                if line == b'\n':
                    break
            with self.lock:
                self.requests.append(text)
            conn.sendall(b'errno=0\n\n')

    def take(self):
        with self.lock:
            out, self.requests = self.requests, []
        return out

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def wg(*args):
    res = subprocess.run(['wg'] + list(args), capture_output=True, text=True,
                         env=dict(os.environ, WG_HIDE_KEYS='never', LC_ALL='C'))
    return res.returncode, res.stdout, res.stderr


def main():
    with open(os.path.join(HERE, 'get-reply.txt'), 'rb') as f:
        get_reply = f.read()
    os.makedirs(SOCK_DIR, exist_ok=True)
    path = os.path.join(SOCK_DIR, IFNAME + '.sock')
    tmp = tempfile.mkdtemp()
    files = {}
    for name, key in KEYS.items():
        files[name] = os.path.join(tmp, name)
        with open(files[name], 'w') as f:
            f.write(key + '\n')
    subst = dict(KEYS, PEER_A=PEER_A, PEER_B=PEER_B, PEER_C=PEER_C, PEER_D=PEER_D)
    for name, text in (('setconf', SETCONF), ('addconf', ADDCONF), ('syncconf', SYNCCONF)):
        files[name] = os.path.join(tmp, name + '.conf')
        with open(files[name], 'w') as f:
            f.write(text.format(**subst))

    scenarios = [
        ('set-full', ['set', IFNAME, 'private-key', files['device'], 'listen-port', '51820',
                      'fwmark', '0x1234',
                      'peer', PEER_A, 'preshared-key', files['psk'],
                      'endpoint', '192.0.2.1:51820', 'persistent-keepalive', '25',
                      'allowed-ips', '10.0.0.0/24,fd00::/64',
                      'peer', PEER_B, 'endpoint', '[2001:db8::1]:51821',
                      'allowed-ips', '0.0.0.0/0']),
        ('set-clear', ['set', IFNAME, 'private-key', '/dev/null', 'listen-port', '0',
                       'fwmark', 'off',
                       'peer', PEER_A, 'preshared-key', '/dev/null',
                       'persistent-keepalive', 'off', 'allowed-ips', '']),
        ('set-remove', ['set', IFNAME, 'peer', PEER_B, 'remove']),
        ('set-linklocal', ['set', IFNAME, 'peer', PEER_C, 'endpoint', '[fe80::1%lo]:51820']),
        ('setconf', ['setconf', IFNAME, files['setconf']]),
        ('addconf', ['addconf', IFNAME, files['addconf']]),
        ('syncconf', ['syncconf', IFNAME, files['syncconf']]),
    ]

    dev = FakeDevice(path, get_reply)
    failed = False
    try:
        for name, args in scenarios:
            rc, out, err = wg(*args)
            reqs = [r for r in dev.take() if r.startswith(b'set=1\n')]
            print('wg %s -> rc=%d %s' % (' '.join(args[:1]), rc, err.strip()))
            if rc != 0 or len(reqs) != 1:
                failed = True
                continue
            with open(os.path.join(HERE, 'wg-%s.request' % name), 'wb') as f:
                f.write(reqs[0])
        for name, args in (('show', ['show', IFNAME]), ('showconf', ['showconf', IFNAME]),
                           ('show-dump', ['show', IFNAME, 'dump'])):
            rc, out, err = wg(*args)
            print('wg %s -> rc=%d %s' % (name, rc, err.strip()))
            if rc != 0:
                failed = True
            out = out.replace(IFNAME, 'IFNAME')
            with open(os.path.join(HERE, 'wg-%s.out' % name), 'w') as f:
                f.write(out)
    finally:
        dev.close()
        for p in files.values():
            os.unlink(p)
        os.rmdir(tmp)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
