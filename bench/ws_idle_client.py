"""Opens many idle, authenticated WebSockets to /api/v1/events and measures the server.

Raw asyncio protocols with a minimal RFC 6455 client (handshake, unmasked server frames, masked
client frames, answers pings) keep the client's own memory at a few KiB per connection.

Connections are spread over --workers client processes (a process may hold at most
RLIMIT_NOFILE sockets) and source addresses 127.0.0.2, 127.0.0.3, … (--per-source each).

A connection counts as open once the server's `hello` arrived, the client sent
`{"type":"resume","cursors":{}}` and the server's `resumed` came back.

Prints a JSON summary on stdout (progress on stderr).
"""
import argparse
import asyncio
import base64
import json
import os
import random
import re
import socket
import struct
import sys
import time
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gauge(port, name="tack_websocket_connections"):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", body, re.M)
    return float(m.group(1)) if m else None


def frame(opcode, payload: bytes) -> bytes:
    """A masked client frame (FIN set)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + masked


RESUME = b'{"type":"resume","cursors":{}}'
PING = b'{"type":"ping"}'
PING_INTERVAL = 30.0  # seconds, as the server's hello says; the server closes sockets silent for 75 s


class Stats:
    def __init__(self):
        self.open = 0          # currently open (resumed and not lost)
        self.opened = 0        # ever reached "resumed"
        self.failed = 0        # never reached "resumed"
        self.lost = 0          # closed after being open (by the server or the network)
        self.pings = 0         # WebSocket ping frames answered
        self.pongs = 0         # application pongs received for our {"type":"ping"}
        self.close_codes = {}
        self.errors = {}


class WSClient(asyncio.Protocol):
    __slots__ = ("transport", "buf", "state", "ready", "stats", "request", "was_open", "timer")

    def __init__(self, request: bytes, ready: asyncio.Future, stats: Stats):
        self.transport = None
        self.buf = b""
        self.state = 0  # 0 handshake, 1 waiting hello, 2 waiting resumed, 3 open
        self.ready = ready
        self.stats = stats
        self.request = request
        self.was_open = False
        self.timer = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)
        self.request = None

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        if self.state == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[:buf.find(b"\r\n")]
            if b" 101 " not in status:
                self._fail(f"handshake: {status[:60].decode(errors='replace')}")
                return
            buf = buf[end + 4:]
            self.state = 1
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack_from("!H", buf, 2)[0]
                off = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack_from("!Q", buf, 2)[0]
                off = 10
            if len(buf) < off + n:
                break
            payload = buf[off:off + n]
            buf = buf[off + n:]
            self._on_frame(b0 & 0x0F, payload)
        self.buf = buf

    def _on_frame(self, opcode, payload):
        if opcode == 0x9:  # ping → pong
            self.stats.pings += 1
            self.transport.write(frame(0xA, payload))
        elif opcode == 0x8:  # close
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.stats.close_codes[code] = self.stats.close_codes.get(code, 0) + 1
            try:
                self.transport.write(frame(0x8, payload[:2]))
            finally:
                self.transport.close()
        elif opcode == 0x1:
            if self.state == 1 and b'"hello"' in payload:
                self.state = 2
                self.transport.write(frame(0x1, RESUME))
            elif self.state == 2 and b'"resumed"' in payload:
                self.state = 3
                self.was_open = True
                self.stats.open += 1
                self.stats.opened += 1
                self._arm_ping()
                if not self.ready.done():
                    self.ready.set_result(True)
            elif b'"pong"' in payload:
                self.stats.pongs += 1

    def _arm_ping(self):
        # The protocol's keep-alive (docs/events.md), spread so 20k sockets do not ping at once.
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(PING_INTERVAL * (0.5 + random.random() / 2), self._ping)

    def _ping(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(0x1, PING))
            self.timer = asyncio.get_running_loop().call_later(PING_INTERVAL, self._ping)

    def _fail(self, why):
        self.stats.errors[why] = self.stats.errors.get(why, 0) + 1
        if not self.ready.done():
            self.ready.set_result(False)
        self.transport.close()

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()
        if self.was_open:
            self.stats.open -= 1
            self.stats.lost += 1
        elif not self.ready.done():
            self.ready.set_result(False)
        self.ready = None


def handshake(port, token):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n").encode()


async def open_one(loop, port, token, source, stats, transports, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        # Take the source address now, the port at connect time (more than one 4-tuple per port).
        sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
        sock.bind((source, 0))
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
        ready = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: WSClient(handshake(port, token), ready, stats), sock=sock)
        ok = await asyncio.wait_for(ready, timeout)
        if ok:
            transports.append(transport)
        else:
            stats.failed += 1
            transport.close()
    except Exception as e:  # noqa: BLE001 — every failure is counted and reported
        why = type(e).__name__ + (f": {e.strerror}" if isinstance(e, OSError) and e.strerror else "")
        stats.errors[why] = stats.errors.get(why, 0) + 1
        stats.failed += 1
        sock.close()


# ---------------------------------------------------------------------------------------------
# Worker processes: each opens its share (a process may hold at most RLIMIT_NOFILE sockets, which
# is 20,000 here and cannot be raised without CAP_SYS_RESOURCE), then answers commands.

async def worker_main(a, indices, tokens, pipe):
    loop = asyncio.get_running_loop()
    stats = Stats()
    transports = []
    sem = asyncio.Semaphore(a.concurrency)

    async def one(i):
        async with sem:
            source = f"127.0.0.{2 + i // a.per_source}"
            await open_one(loop, a.port, tokens[i % len(tokens)], source, stats, transports, a.timeout)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in indices))
    pipe.send({"opened": stats.opened, "failed": stats.failed, "errors": stats.errors,
               "seconds": time.monotonic() - t0, "rss_kib": rss_kib(os.getpid())})
    while True:
        while not pipe.poll():
            await asyncio.sleep(0.05)
        cmd = pipe.recv()
        if cmd == "status":
            pipe.send({"open": stats.open, "lost": stats.lost, "pings": stats.pings, "pongs": stats.pongs,
                       "close_codes": stats.close_codes, "rss_kib": rss_kib(os.getpid())})
        elif cmd == "close":
            for t in transports:
                t.close()
            await asyncio.sleep(0.1)
            pipe.send({"closed": len(transports)})
            return


def worker_entry(a, indices, tokens, pipe):
    asyncio.run(worker_main(a, indices, tokens, pipe))


def main(a):
    tokens = json.load(open(a.tokens))["tokens"]
    rounds = []
    for r in range(a.rounds):
        if a.rounds > 1:
            print(f"round {r + 1} of {a.rounds}", file=sys.stderr, flush=True)
        rounds.append(one_round(a, tokens))
    result = dict(rounds[0])
    result["rounds"] = [{k: x[k] for k in ("opened", "failed", "rss_before_kib", "rss_after_open_kib", "rss_after_idle_kib",
                                           "rss_after_close_kib", "kib_per_connection_after_idle", "gauge_after_close",
                                           "connect_rate_per_s")} for x in rounds]
    print(json.dumps(result))


def one_round(a, tokens):
    import multiprocessing as mp
    log = lambda *x: print(*x, file=sys.stderr, flush=True)  # noqa: E731
    out = {"target": a.connections, "people": len(tokens), "workers": a.workers,
           "sources": sorted({f"127.0.0.{2 + i // a.per_source}" for i in range(a.connections)})}
    out["server_threads"] = int(status_field(a.server_pid, "Threads"))
    out["server_nofile"] = open(f"/proc/{a.server_pid}/limits").read().split("Max open files")[1].split()[0]
    out["rss_before_kib"] = rss_kib(a.server_pid)
    out["gauge_before"] = gauge(a.port)
    log(f"server RSS before: {out['rss_before_kib']} KiB; opening {a.connections} connections with {a.workers} "
        f"client processes ({a.concurrency} in flight each, {a.per_source} per source address)")

    ctx = mp.get_context("fork")
    pipes, procs = [], []
    for w in range(a.workers):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=worker_entry, args=(a, range(w, a.connections, a.workers), tokens, child), daemon=True)
        p.start()
        pipes.append(parent)
        procs.append(p)
    cpu0 = cpu_seconds(a.server_pid)
    t0 = time.monotonic()
    next_report = t0 + 5
    opened = []
    pending = set(range(a.workers))
    while pending:
        for w in list(pending):
            if pipes[w].poll(0.2):
                opened.append(pipes[w].recv())
                pending.discard(w)
        if time.monotonic() - t0 > a.timeout * 10:
            sys.exit("workers did not finish opening")
        if time.monotonic() > next_report:
            log(f"  {time.monotonic() - t0:6.1f} s: server gauge {gauge(a.port):.0f} open")
            next_report += 5
    t_open = time.monotonic() - t0
    out["server_cpu_percent_while_opening"] = round(100 * (cpu_seconds(a.server_pid) - cpu0) / t_open)
    out["open_seconds"] = round(t_open, 2)
    out["opened"] = sum(o["opened"] for o in opened)
    out["failed"] = sum(o["failed"] for o in opened)
    errors = {}
    for o in opened:
        for k, v in o["errors"].items():
            errors[k] = errors.get(k, 0) + v
    out["errors"] = errors
    out["connect_rate_per_s"] = round(out["opened"] / t_open, 1)
    out["rss_after_open_kib"] = rss_kib(a.server_pid)
    out["gauge_after_open"] = gauge(a.port)
    out["server_threads_after_open"] = int(status_field(a.server_pid, "Threads"))
    log(f"opened {out['opened']} in {t_open:.1f} s ({out['connect_rate_per_s']}/s); failed {out['failed']} {errors or ''}; "
        f"server RSS {out['rss_after_open_kib']} KiB; gauge {out['gauge_after_open']}")

    def status():
        for p in pipes:
            p.send("status")
        return [p.recv() for p in pipes]

    log(f"idling {a.idle} s …")
    t_idle = time.monotonic()
    samples = []
    while time.monotonic() - t_idle < a.idle:
        time.sleep(min(5, a.idle - (time.monotonic() - t_idle)))
        st = status()
        samples.append((round(time.monotonic() - t_idle, 1), sum(s["open"] for s in st), rss_kib(a.server_pid)))
        log(f"  idle {samples[-1][0]:5.1f} s: {samples[-1][1]} open, server RSS {samples[-1][2]} KiB, "
            f"pongs received {sum(s['pongs'] for s in st)}")
    st = status()
    out["idle_seconds"] = a.idle
    out["idle_samples"] = samples
    out["open_after_idle"] = sum(s["open"] for s in st)
    out["lost_during_idle"] = sum(s["lost"] for s in st)
    out["pings_answered"] = sum(s["pings"] for s in st)
    out["pongs_received"] = sum(s["pongs"] for s in st)
    codes = {}
    for s in st:
        for k, v in s["close_codes"].items():
            codes[str(k)] = codes.get(str(k), 0) + v
    out["close_codes"] = codes
    out["rss_after_idle_kib"] = rss_kib(a.server_pid)
    out["gauge_after_idle"] = gauge(a.port)
    out["client_rss_kib"] = sum(s["rss_kib"] for s in st)
    out["kib_per_connection_after_open"] = round((out["rss_after_open_kib"] - out["rss_before_kib"]) / max(1, out["opened"]), 2)
    out["kib_per_connection_after_idle"] = round((out["rss_after_idle_kib"] - out["rss_before_kib"]) / max(1, out["open_after_idle"]), 2)

    # Close everything; the server must let go of all of them.
    t_close = time.monotonic()
    for p in pipes:
        p.send("close")
    for p in pipes:
        p.recv()
    g = None
    while time.monotonic() - t_close < a.close_timeout:
        g = gauge(a.port)
        if g == 0:
            break
        time.sleep(0.25)
    out["close_seconds"] = round(time.monotonic() - t_close, 2)
    out["gauge_after_close"] = g
    out["rss_after_close_kib"] = rss_kib(a.server_pid)
    log(f"closed all: gauge {g} after {out['close_seconds']} s; server RSS {out['rss_after_close_kib']} KiB")
    for p in procs:
        p.join(10)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--connections", type=int, default=19800)
    p.add_argument("--per-source", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--idle", type=float, default=40)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--close-timeout", type=float, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="open, idle, close this many times on the same server")
    main(p.parse_args())
