#!/usr/bin/env python3
"""client_fleet.py: client_fleet.c in Python: one threading.Thread per
client, each connects to an echo server, makes ROUNDS blocking
sendall/recv round trips of 64 bytes and checks every byte.

    python3 client_fleet.py PORT THREADS [ROUNDS=100]

Prints the same "name value unit" lines as client_fleet.c (wall time
from the first start to the last join, failed clients, peak RSS from
/proc/self/status VmHWM). Exit status 0 when every client passed."""
import socket
import sys
import threading
import time

MSG = 64


def client(port, ident, rounds, failed):
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for r in range(rounds):
                out = bytes((ident * 31 + r * 7 + i) & 255 for i in range(MSG))
                s.sendall(out)
                got = b""
                while len(got) < MSG:
                    chunk = s.recv(MSG - len(got))
                    if not chunk:
                        raise ConnectionError("early EOF")
                    got += chunk
                if got != out:
                    raise ValueError("wrong bytes")
    except Exception:
        failed.append(ident)


def vmhwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: client_fleet.py PORT THREADS [ROUNDS=100]")
    port, n = int(sys.argv[1]), int(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    failed = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(port, i, rounds, failed))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = (time.monotonic() - t0) * 1000
    print(f"fleet_threads {n} threads\nfleet_failed {len(failed)} clients")
    print(f"fleet_wall_ms {ms:.1f} ms\nfleet_hwm_kib {vmhwm_kib()} KiB")
    sys.exit(1 if failed else 0)


main()
