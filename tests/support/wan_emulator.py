#!/usr/bin/env python3
"""A WAN between this host and a network namespace, emulated in user space.

Makes the namespace NS (its own loopback and a TUN device with FAR/32) and a TUN device here
(NEAR/32): every IP packet between NEAR and FAR passes through this process, which drops
each with probability LOSS and delays each by DELAY +- JITTER ms (uniform, so packets reorder),
as `tc qdisc add ... netem loss 5% delay 40ms 30ms` would; the kernels here lack sch_netem.
Both directions are impaired independently. Runs until SIGTERM/SIGINT or --seconds, then
removes the namespace and prints one JSON line of what it did.

Usage (root): wan_emulator.py --ns NAME --near 10.77.0.1 --far 10.77.0.2 [--loss 0.05]
              [--delay-ms 40] [--jitter-ms 30] [--seed 1] [--ready FILE] [--seconds 600]
Then: ip netns exec NAME <a program that talks to NEAR>.
"""
import argparse
import ctypes
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def sh(*cmd):
    subprocess.run(cmd, check=True)


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ns', required=True)
    ap.add_argument('--near', required=True)
    ap.add_argument('--far', required=True)
    ap.add_argument('--loss', type=float, default=0.05)
    ap.add_argument('--delay-ms', type=float, default=40)
    ap.add_argument('--jitter-ms', type=float, default=30)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--ready')
    ap.add_argument('--seconds', type=float, default=600)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    near_if, far_if = 'wn' + a.ns[-8:], 'wf' + a.ns[-8:]

    subprocess.run(['ip', 'netns', 'del', a.ns], stderr=subprocess.DEVNULL)
    sh('ip', 'netns', 'add', a.ns)
    try:
        near = open_tun(near_if)
        sh('ip', 'addr', 'add', a.near + '/32', 'peer', a.far + '/32', 'dev', near_if)
        sh('ip', 'link', 'set', near_if, 'up')
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        home = os.open('/proc/self/ns/net', os.O_RDONLY)
        ns = os.open('/run/netns/' + a.ns, os.O_RDONLY)
        if libc.setns(ns, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns')
        far = open_tun(far_if)  # bound to the namespace it was opened in
        sh('ip', 'link', 'set', 'lo', 'up')
        sh('ip', 'addr', 'add', a.far + '/32', 'peer', a.near + '/32', 'dev', far_if)
        sh('ip', 'link', 'set', far_if, 'up')
        libc.setns(home, CLONE_NEWNET)
        os.close(ns)
        os.close(home)

        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        if a.ready:
            with open(a.ready, 'w') as f:
                f.write('ready\n')
        stats = {'to_far': [0, 0], 'to_near': [0, 0]}  # passed, dropped
        queue = []  # (due, seq, fd, packet)
        seq = 0
        end = time.monotonic() + a.seconds
        while not stop and time.monotonic() < end:
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                _, _, out, pkt = heapq.heappop(queue)
                try:
                    os.write(out, pkt)
                except OSError:
                    pass
            timeout = max(0.0, min(0.05, (queue[0][0] - now) if queue else 0.05))
            ready, _, _ = select.select([near, far], [], [], timeout)
            for fd in ready:
                while True:
                    try:
                        pkt = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    key, out = ('to_far', far) if fd == near else ('to_near', near)
                    if rng.random() < a.loss:
                        stats[key][1] += 1
                        continue
                    stats[key][0] += 1
                    delay = max(0.0, a.delay_ms + rng.uniform(-a.jitter_ms, a.jitter_ms)) / 1000.0
                    seq += 1
                    heapq.heappush(queue, (time.monotonic() + delay, seq, out, pkt))
        print(json.dumps({'passed_to_far': stats['to_far'][0], 'dropped_to_far': stats['to_far'][1],
                          'passed_to_near': stats['to_near'][0], 'dropped_to_near': stats['to_near'][1]}))
    finally:
        subprocess.run(['ip', 'netns', 'del', a.ns], stderr=subprocess.DEVNULL)
        subprocess.run(['ip', 'link', 'del', near_if], stderr=subprocess.DEVNULL)


if __name__ == '__main__':
    sys.exit(main())
