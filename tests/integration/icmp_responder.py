"""A userspace ICMP echo responder that answers late, for latency and jitter tests.

The kernel here has no netem, so delay comes from here: run it in a namespace where
net.ipv4.icmp_echo_ignore_all=1 (the kernel stays silent) and it answers each echo request
after the next delay of a cycle, e.g. `--delays 20,100` answers 20 ms, 100 ms, 20 ms, ...
Replies are scheduled, not slept on in turn, so a long delay does not hold back later echoes.
Prints "ready" once its raw socket is open. Run with root inside the namespace.
"""

import argparse
import heapq
import itertools
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reply_for(packet):
    """The echo reply to an IPv4 packet holding an echo request, or None."""
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != 8 or icmp[1] != 0:
        return None
    rest = icmp[4:]  # identifier, sequence, payload: echoed unchanged
    return b"\0\0" + struct.pack("!H", checksum(b"\0\0\0\0" + rest)) + rest


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delays", default="100",
                        help="milliseconds, comma-separated, used in turn")
    args = parser.parse_args()
    delays = itertools.cycle(float(d) / 1000 for d in args.delays.split(","))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    print("ready", flush=True)
    pending = []  # (due, order, reply, address)
    order = itertools.count()
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        readable, _, _ = select.select([sock], [], [], timeout)
        if readable:
            while True:
                try:
                    packet, (address, _) = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                reply = reply_for(packet)
                if reply is not None:
                    heapq.heappush(pending, (time.monotonic() + next(delays), next(order),
                                             reply, address))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, reply, address = heapq.heappop(pending)
            sock.sendto(reply, (address, 0))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
