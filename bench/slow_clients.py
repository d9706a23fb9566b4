#!/usr/bin/env python3
# slow_clients.py - slow clients against a running server (docs/benchmarks.md).
#
#   bench/slow_clients.py PORT ADDRESSES CONNECTIONS INTERVAL SECONDS [USER PASSWORD]
#
# ADDRESSES loopback addresses (127.0.1.2, 127.0.1.3, ...) each keep CONNECTIONS
# connections whose request never ends: the request line, then a header line every
# INTERVAL seconds (a connection the server closes is opened again at once).
# Meanwhile a client at 127.0.250.1 asks GET /api/v1/health every half second and,
# given USER and PASSWORD, signs in every 5 seconds (POST /api/v1/sessions), each
# with a 5 s (health) or 10 s (sign-in) timeout. Prints one JSON line: health and
# sign-ins answered and not, the longest time without a health answer, and how many
# slow connections the server held (open for over a second) at most and on average. Loopback only; Linux answers on all of
# 127.0.0.0/8.
import json
import socket
import sys
import threading
import time

port = int(sys.argv[1])
addresses = int(sys.argv[2])
per_address = int(sys.argv[3])
interval = float(sys.argv[4])
duration = float(sys.argv[5])
user = sys.argv[6] if len(sys.argv) > 6 else None
password = sys.argv[7] if len(sys.argv) > 7 else None

sources = ['127.0.%d.%d' % (1 + i // 200, 2 + i % 200) for i in range(addresses)]
stop_at = time.time() + duration
held = {'max': 0, 'sum': 0, 'samples': 0, 'opened': 0, 'closed': 0}


def open_slow(source):
    s = socket.socket()
    try:
        s.bind((source, 0))
        s.settimeout(2)
        s.connect(('127.0.0.1', port))
        s.sendall(b'GET /api/v1/health HTTP/1.1\r\nHost: x\r\n')
        s.setblocking(False)
        held['opened'] += 1
        return (s, time.time())
    except OSError:
        s.close()
        return None


def closed(s):
    try:
        return s.recv(1024) == b''
    except BlockingIOError:
        return False
    except OSError:
        return True


def attack():
    socks = {a: [] for a in sources}
    sent = time.time()
    while time.time() < stop_at:
        for a in sources:
            alive = []
            for s, since in socks[a]:
                if closed(s):
                    held['closed'] += 1
                    s.close()
                else:
                    alive.append((s, since))
            socks[a] = alive
            while len(socks[a]) < per_address and time.time() < stop_at:
                s = open_slow(a)
                if not s:
                    break
                socks[a].append(s)
        if time.time() - sent >= interval:
            sent = time.time()
            for a in sources:
                for s, _ in socks[a]:
                    try:
                        s.send(b'X-Slow: 1\r\n')
                    except OSError:
                        pass
        now = time.time()
        n = sum(1 for v in socks.values() for _, since in v if now - since > 1)
        held['max'] = max(held['max'], n)
        held['sum'] += n
        held['samples'] += 1
        time.sleep(0.05)
    for a in sources:
        for s, _ in socks[a]:
            s.close()


def ask(request, timeout, want):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                     source_address=('127.0.250.1', 0))
        s.sendall(request)
        got = s.recv(100)
        s.close()
        return got.startswith(want)
    except OSError:
        return False


thread = threading.Thread(target=attack)
thread.start()
time.sleep(1)  # the slow connections first
result = {'health_ok': 0, 'health_failed': 0, 'signin_ok': 0, 'signin_failed': 0}
last_ok = time.time()
gap = 0.0
next_signin = time.time()
while time.time() < stop_at:
    t = time.time()
    if ask(b'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 5,
           b'HTTP/1.1 200'):
        result['health_ok'] += 1
        gap = max(gap, time.time() - last_ok)
        last_ok = time.time()
    else:
        result['health_failed'] += 1
    if user and t >= next_signin:
        next_signin = t + 5
        body = json.dumps({'username': user, 'password': password}).encode()
        req = (b'POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
               b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body)) + body
        result['signin_ok' if ask(req, 10, b'HTTP/1.1 201') else 'signin_failed'] += 1
    time.sleep(max(0.0, 0.5 - (time.time() - t)))
gap = max(gap, time.time() - last_ok)
thread.join()
result['longest_without_health_s'] = round(gap, 1)
result['slow_held_max'] = held['max']
result['slow_held_mean'] = round(held['sum'] / max(1, held['samples']))
result['slow_opened'] = held['opened']
result['slow_closed_by_server'] = held['closed']
print(json.dumps(result))
