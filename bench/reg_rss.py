#!/usr/bin/env python3
"""reg_rss.py - RSS per registered client of a running pulsemqd, and the
full-registration round trip p50/p99 (issue 12's measurement).

  bench/reg_rss.py PID PORT [CLIENTS] [GROUPS]

Opens CLIENTS connections (10000; raise `ulimit -n` and the daemon's
max_connections), first idle, then each sends one full registration
(`consumer rssG rsstopic`, G in 0..GROUPS-1, 50 groups) and waits for its
answer. Prints the daemon's VmRSS before, with the idle connections and
with them registered, per connection and per registration.
"""
import socket, sys, time

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def read_result(s):
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n", 1)
    parts = head.split()
    if parts[0] == b"notify":  # a push: skip it, read on
        return read_result_rest(s, rest)
    length = int(parts[2])
    while len(rest) < length:
        rest += s.recv(4096)
    return int(parts[1])

def read_result_rest(s, rest):
    while b"\r\n" not in rest:
        rest += s.recv(4096)
    head, rest = rest.split(b"\r\n", 1)
    parts = head.split()
    if parts[0] == b"notify":
        return read_result_rest(s, rest)
    length = int(parts[2])
    while len(rest) < length:
        rest += s.recv(4096)
    return int(parts[1])

def main():
    pid, port = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    groups = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    r0 = rss_kb(pid)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    time.sleep(0.5)
    r1 = rss_kb(pid)
    rtts, bad = [], 0
    for i, s in enumerate(socks):
        body = f"consumer rss{i % groups} rsstopic\n".encode()
        t0 = time.perf_counter()
        s.sendall(b"heartbeat rss-%d %d %d\r\n" % (i, len(body), i) + body)
        code = read_result(s)
        rtts.append(time.perf_counter() - t0)
        bad += code != 200
    time.sleep(0.5)
    r2 = rss_kb(pid)
    rtts.sort()
    print(f"clients {n} groups {groups} not_200 {bad}")
    print(f"rss_kb before {r0} connected {r1} registered {r2}")
    print(f"per_connection_bytes {(r1 - r0) * 1024 / n:.0f} "
          f"per_registration_bytes {(r2 - r1) * 1024 / n:.0f}")
    print(f"registration_rtt_us p50 {rtts[n // 2] * 1e6:.0f} p99 {rtts[n * 99 // 100] * 1e6:.0f}")

main()
