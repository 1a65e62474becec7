"""The load generator of bench/live-viewers: one teacher publishing a 640x480 camera from a headless
Chromium page, and many lightweight subscribers that receive the teacher's feed without decoding it.

Runs inside the bench's network namespace (Janus, Tack, this process and Chromium all reach each
other on 127.0.0.1 there; media goes over the veth address 10.99.0.1). Started by the script:

    python live_viewers.py --tack-port P --janus-dir DIR --steps 10,25,50 --hold 20 --out FILE.json

What a subscriber is (a browser's viewer page without the browser):
- a Tack person who is a member of the class's group: `POST …/live/{id}/watch {"mode":"live"}`
  gives it a Janus token of its own, the room and the teacher's feed; it then sends
  `POST …/live/{id}/heartbeats` every 15 s, as the API asks of a page showing the video;
- a Janus session over the WebSocket API (subprotocol janus-protocol, keepalive every 25 s, the
  token on every request, as Public/js/features/live/janus.js does), one subscriber handle that
  joins the teacher's feed (audio and video);
- an SDP answer of its own (recvonly, the first codec of each m-line, BUNDLE, rtcp-mux), one host
  candidate; it answers Janus's ICE connectivity checks (STUN Binding with MESSAGE-INTEGRITY and
  FINGERPRINT) and makes the DTLS handshake as client (pyOpenSSL, memory BIOs, use_srtp), which is
  what makes Janus send media;
- then it only counts: SRTP leaves the RTP header in the clear, so the sequence number, timestamp,
  marker bit and payload type are read without decrypting. Video frames received = packets with
  the marker bit set (Chromium's VP8 packetiser marks a frame's last packet); losses = gaps in the
  sequence numbers (Janus rewrites them per subscriber, contiguous; no NACK is sent, so nothing is
  retransmitted). No RTCP is sent or decrypted, no jitter buffer, no decoding.

All subscribers share one UDP socket (one candidate address; Janus's handles each send from a
port of their own, so the source address tells them apart once the first STUN request, whose
USERNAME names the subscriber, has been seen). One thread receives on it; asyncio does the
signalling. The socket's kernel drop counter is reported, so a loss caused by this generator
falling behind is told apart from a loss upstream.
"""

import argparse
import asyncio
import binascii
import datetime
import hashlib
import hmac
import json
import os
import random
import secrets
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e" / "media"))
import tackapi  # noqa: E402
from media_harness import JanusFailure, check_janus_reply  # noqa: E402

MEDIA_IP = "10.99.0.1"
HEARTBEAT_S = 15  # openapi.yaml, sendLiveHeartbeat: every 15 s while the video is visible
KEEPALIVE_S = 25  # janus.js KEEPALIVE_MS
STUN_MAGIC = 0x2112A442


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- DTLS certificate (one for all)

def make_certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "live-viewers")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.use_certificate(crypto.X509.from_cryptography(cert))
    ctx.use_privatekey(crypto.PKey.from_cryptography_key(key))
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: True)
    ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
    ctx.set_cipher_list(b"HIGH:!CAMELLIA:!aNULL")
    return ctx, fingerprint


# ---------------------------------------------------------------- one subscriber's media state

class Media:
    """ICE, DTLS and RTP counters of one subscriber. Touched by the receiver thread only, except
    `snapshot` (reads of ints, fine under the GIL)."""

    def __init__(self, index, ctx):
        self.index = index
        self.ufrag = secrets.token_hex(4)
        self.pwd = secrets.token_hex(16)
        self.ctx = ctx
        self.peer = None          # Janus's address for this handle
        self.dtls = None
        self.dtls_started = 0.0
        self.dtls_attempts = 0
        self.nominated_at = 0.0
        self.first_check_at = 0.0
        self.connected_at = 0.0   # DTLS done
        self.first_rtp_at = 0.0
        self.kinds = {}           # payload type -> "audio" | "video"
        # per kind: [received, first_ext, max_ext, last_seq, markers]
        self.counters = {"audio": [0, -1, -1, 0, 0], "video": [0, -1, -1, 0, 0]}
        self.failed = None
        self.remote_ufrag = self.remote_pwd = None
        self.remote_candidate = None  # Janus's host candidate (from its offer)
        self.tiebreaker = secrets.token_bytes(8)
        self.check_txids = set()
        self.checks_sent = 0
        self.next_check = 0.0
        self.check_ok = False

    def snapshot(self):
        out = {}
        for kind, (received, first, top, _, markers) in self.counters.items():
            expected = top - first + 1 if first >= 0 else 0
            out[kind] = (received, expected, markers)
        return out


class Receiver(threading.Thread):
    """The one UDP socket every subscriber's candidate names, and the thread that reads it."""

    def __init__(self, port):
        super().__init__(daemon=True, name="rtp-receiver")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # root: beyond net.core.rmem_max
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        self.sock.bind((MEDIA_IP, port))
        self.sock.settimeout(0.05)
        self.port = port
        self.by_ufrag = {}
        self.by_addr = {}
        self.running = True
        self.packets = 0
        self.lock = threading.Lock()

    def register(self, media):
        self.by_ufrag[media.ufrag] = media

    def stop(self):
        self.running = False

    def socket_drops(self):
        """The kernel's drop counter of this socket (/proc/net/udp, last column)."""
        inode = str(os.fstat(self.sock.fileno()).st_ino)
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] == inode:
                    return int(fields[-1])
        return -1

    def run(self):
        buf = bytearray(2048)
        view = memoryview(buf)
        sock = self.sock
        by_addr = self.by_addr
        last_timer = time.monotonic()
        while self.running:
            try:
                n, addr = sock.recvfrom_into(buf)
            except socket.timeout:
                n = 0
            except OSError:
                if not self.running:
                    return
                raise
            if n:
                b0 = buf[0]
                if 128 <= b0 < 192:
                    m = by_addr.get(addr)
                    if m is not None:
                        b1 = buf[1]
                        pt = b1 & 0x7F
                        if not (72 <= pt <= 79):  # RTCP (SR 200 … = 72 … with the marker bit)
                            self.packets += 1
                            kind = m.kinds.get(pt)
                            if kind is not None:
                                c = m.counters[kind]
                                seq = (buf[2] << 8) | buf[3]
                                if c[1] < 0:
                                    c[1] = c[2] = seq
                                    c[3] = seq
                                    if not m.first_rtp_at:
                                        m.first_rtp_at = time.monotonic()
                                else:
                                    d = (seq - c[3]) & 0xFFFF
                                    if d < 0x8000:
                                        c[2] += d
                                        c[3] = seq
                                c[0] += 1
                                if b1 & 0x80:
                                    c[4] += 1
                elif b0 < 4:
                    self.stun(bytes(view[:n]), addr)
                elif 20 <= b0 < 64:
                    m = by_addr.get(addr)
                    if m is not None and m.dtls is not None and not m.connected_at:
                        self.dtls_in(m, bytes(view[:n]))
            now = time.monotonic()
            if now - last_timer > 0.1:
                last_timer = now
                self.timers(now)

    # ---- ICE: answer Janus's Binding requests

    def stun(self, data, addr):
        if len(data) < 20:
            return
        mtype, length, magic = struct.unpack_from("!HHI", data)
        if magic != STUN_MAGIC:
            return
        txid = data[8:20]
        if mtype == 0x0101:  # the answer to one of our checks
            m = self.by_addr.get(addr)
            if m is not None and txid in m.check_txids:
                m.check_ok = True
            return
        if mtype != 0x0001:
            return
        username, use_candidate = None, False
        pos = 20
        while pos + 4 <= 20 + length:
            atype, alen = struct.unpack_from("!HH", data, pos)
            if atype == 0x0006:
                username = data[pos + 4:pos + 4 + alen].decode(errors="replace")
            elif atype == 0x0025:
                use_candidate = True
            pos += 4 + alen + (-alen % 4)
        if not username:
            return
        m = self.by_ufrag.get(username.split(":", 1)[0])
        if m is None:
            return
        now = time.monotonic()
        if m.peer != addr:
            m.peer = addr
            self.by_addr[addr] = m
        if not m.first_check_at:
            m.first_check_at = now
        if use_candidate and not m.nominated_at:
            m.nominated_at = now
        self.sock.sendto(binding_success(txid, addr, m.pwd), addr)

    # ---- DTLS: we are the client (a=setup:active)

    def dtls_start(self, m, now):
        m.dtls = SSL.Connection(m.ctx)
        m.dtls.set_connect_state()
        m.dtls_started = now
        m.dtls_attempts += 1
        self.dtls_in(m, None)

    def dtls_in(self, m, data):
        conn = m.dtls
        try:
            if data is not None:
                conn.bio_write(data)
            conn.do_handshake()
            m.connected_at = time.monotonic()
        except SSL.WantReadError:
            pass
        except SSL.Error as error:
            # e.g. a flight of an earlier handshake: start afresh (timers), at most 3 times
            m.dtls = None
            if m.dtls_attempts >= 3:
                m.failed = f"DTLS: {error}"
                log(f"subscriber {m.index}: DTLS failed: {error}")
            return
        self.flush(m, conn)

    def flush(self, m, conn):
        while True:
            try:
                out = conn.bio_read(4096)
            except SSL.WantReadError:
                break
            if not out:
                break
            self.sock.sendto(out, m.peer)

    def timers(self, now):
        for m in list(self.by_ufrag.values()):
            if m.connected_at or m.failed:
                continue
            if m.remote_candidate and not m.check_ok and now >= m.next_check and m.checks_sent < 12:
                if m.peer is None:
                    m.peer = m.remote_candidate
                    self.by_addr[m.peer] = m
                self.sock.sendto(binding_request(m), m.remote_candidate)
                m.checks_sent += 1
                m.next_check = now + min(0.1 * 2 ** m.checks_sent, 1.6)
            if m.peer is None or not m.first_check_at:
                continue
            if m.dtls is None:
                # Janus makes its DTLS side once ICE has selected a pair (after the nominating
                # check); before that its answer would be dropped. OpenSSL retransmits.
                if (m.nominated_at and now - m.nominated_at > 0.05) or now - m.first_check_at > 0.5:
                    self.dtls_start(m, now)
            elif now - m.dtls_started > 30:
                m.failed = "DTLS: no handshake within 30 s"
                log(f"subscriber {m.index}: {m.failed}")
            else:
                try:
                    m.dtls.DTLSv1_handle_timeout()  # retransmits our last flight once its timer ran out
                except SSL.Error:
                    m.dtls = None
                    continue
                self.flush(m, m.dtls)


def stun_message(mtype, txid, attrs, key):
    """A STUN message with MESSAGE-INTEGRITY (HMAC-SHA1 keyed with `key`) and FINGERPRINT."""
    body = b"".join(struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attrs)
    header = struct.pack("!HHI", mtype, len(body) + 24, STUN_MAGIC) + txid
    body += struct.pack("!HH", 0x0008, 20) + hmac.new(key.encode(), header + body, hashlib.sha1).digest()
    header = struct.pack("!HHI", mtype, len(body) + 8, STUN_MAGIC) + txid
    crc = (binascii.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF
    return header + body + struct.pack("!HHI", 0x8028, 4, crc)


def binding_success(txid, addr, pwd):
    ip = struct.unpack("!I", socket.inet_aton(addr[0]))[0]
    xor = struct.pack("!BBHI", 0, 0x01, addr[1] ^ (STUN_MAGIC >> 16), ip ^ STUN_MAGIC)  # XOR-MAPPED-ADDRESS
    return stun_message(0x0101, txid, [(0x0020, xor)], pwd)


def binding_request(m):
    """Our own connectivity check towards Janus's candidate, as a browser (a full ICE agent, the
    controlled side) sends: it lets libnice answer with a triggered check of its own."""
    txid = secrets.token_bytes(12)
    m.check_txids.add(txid)
    attrs = [(0x0006, f"{m.remote_ufrag}:{m.ufrag}".encode()), (0x0024, struct.pack("!I", 1853817087)),
             (0x8029, m.tiebreaker)]
    return stun_message(0x0001, txid, attrs, m.remote_pwd)


# ---------------------------------------------------------------- SDP

def answer_sdp(offer, media, fingerprint, port):
    """A recvonly answer to Janus's subscriber offer: the first codec of each m-line."""
    lines = offer.replace("\r\n", "\n").strip().split("\n")
    sections, current = [], None
    for line in lines:
        if line.startswith("m="):
            current = {"m": line, "attrs": []}
            sections.append(current)
        elif current is not None and line.startswith("a="):
            current["attrs"].append(line[2:])
    for line in lines:
        if line.startswith("a=ice-ufrag:") and media.remote_ufrag is None:
            media.remote_ufrag = line.split(":", 1)[1].strip()
        elif line.startswith("a=ice-pwd:") and media.remote_pwd is None:
            media.remote_pwd = line.split(":", 1)[1].strip()
        elif line.startswith("a=candidate:") and media.remote_candidate is None:
            f = line.split()
            if f[2].lower() == "udp" and f[7] == "host":
                media.remote_candidate = (f[4], int(f[5]))
    mids = []
    body = []
    for i, s in enumerate(sections):
        kind, _port, proto, *fmts = s["m"][2:].split()
        mid = next((a[4:] for a in s["attrs"] if a.startswith("mid:")), str(i))
        mids.append(mid)
        if _port == "0" or not fmts:
            body += [f"m={kind} 0 {proto} {fmts[0] if fmts else 0}", f"a=mid:{mid}", "a=inactive"]
            continue
        pt = fmts[0]
        rtpmap = next((a for a in s["attrs"] if a.startswith(f"rtpmap:{pt} ")), None)
        if kind in ("audio", "video"):
            media.kinds[int(pt)] = kind
        body += [f"m={kind} 9 {proto} {pt}", "c=IN IP4 0.0.0.0", f"a=mid:{mid}", "a=recvonly", "a=rtcp-mux",
                 f"a=ice-ufrag:{media.ufrag}", f"a=ice-pwd:{media.pwd}", f"a=fingerprint:sha-256 {fingerprint}",
                 "a=setup:active"]
        if rtpmap:
            body.append(f"a={rtpmap}")
        if i == 0:
            body += [f"a=candidate:1 1 udp 2130706431 {MEDIA_IP} {port} typ host", "a=end-of-candidates"]
    head = ["v=0", f"o=- {random.randint(1, 2**31)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
            "a=group:BUNDLE " + " ".join(mids), "a=msid-semantic: WMS"]
    return "\r\n".join(head + body) + "\r\n"


# ---------------------------------------------------------------- Janus over WebSocket

class JanusWS:
    """The Janus JSON API over one WebSocket, as janus.js speaks it."""

    def __init__(self, url, token):
        self.url, self.token = url, token
        self.pending = {}
        self.events = []
        self.next = 1
        self.session = None
        self.reader = None
        self.keepalive = None
        self.closed = False

    async def connect(self):
        self.ws = await websockets.connect(self.url, subprotocols=["janus-protocol"], max_size=2**22,
                                           ping_interval=None, open_timeout=15)
        self.reader = asyncio.create_task(self.read())
        self.session = (await self.request({"janus": "create"}))["data"]["id"]
        self.keepalive = asyncio.create_task(self.keep())

    async def keep(self):
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            try:
                await self.request({"janus": "keepalive"})
            except Exception:
                pass

    async def read(self):
        try:
            async for text in self.ws:
                msg = json.loads(text)
                tx = msg.get("transaction")
                kind = msg.get("janus")
                if tx in self.pending:
                    future, is_message = self.pending[tx]
                    if kind == "ack" and is_message:
                        continue
                    del self.pending[tx]
                    if not future.done():
                        future.set_result(msg)
                else:
                    self.events.append((time.monotonic(), msg))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            for future, _ in self.pending.values():
                if not future.done():
                    future.set_exception(JanusFailure("connection closed"))

    async def request(self, body, handle=None, is_message=False, timeout=20):
        tx = str(self.next)
        self.next += 1
        body = {**body, "transaction": tx, "token": self.token}
        if self.session is not None:
            body["session_id"] = self.session
        if handle is not None:
            body["handle_id"] = handle
        future = asyncio.get_running_loop().create_future()
        self.pending[tx] = (future, is_message)
        await self.ws.send(json.dumps(body))
        return check_janus_reply(await asyncio.wait_for(future, timeout))

    async def close(self):
        for task in (self.keepalive, ):
            if task:
                task.cancel()
        try:
            if not self.closed:
                await asyncio.wait_for(self.request({"janus": "destroy"}), 3)
        except Exception:
            pass
        try:
            await self.ws.close()
        except Exception:
            pass


# ---------------------------------------------------------------- Tack

class Tack:
    def __init__(self, port):
        self.port = port

    async def call(self, method, path, body=None, token=None):
        return await asyncio.to_thread(tackapi.request, self.port, method, path, body, token)


class Subscriber:
    def __init__(self, index, token, receiver, ctx, fingerprint):
        self.index, self.token = index, token
        self.media = Media(index, ctx)
        self.receiver, self.fingerprint = receiver, fingerprint
        self.janus = None
        self.heartbeats = 0
        self.heartbeat_errors = 0
        self.heartbeat_ms = []
        self.error = None
        self.joined_at = None
        self.task = None

    async def join(self, tack, org, class_id):
        start = time.monotonic()
        joined = await tack.call("POST", f"/api/v1/orgs/{org}/live/{class_id}/watch", {"mode": "live"}, self.token)
        await self.join_janus(joined["media"])
        self.signalling_ms = (self.joined_at - start) * 1000

    async def join_janus(self, media):
        self.janus = JanusWS(media["url"], media["token"])
        await self.janus.connect()
        handle = (await self.janus.request({"janus": "attach", "plugin": "janus.plugin.videoroom"}))["data"]["id"]
        reply = await self.janus.request({"janus": "message", "body": {
            "request": "join", "ptype": "subscriber", "room": media["room"], "streams": [{"feed": media["teacherFeed"]}]}},
            handle, is_message=True)
        offer = reply["jsep"]["sdp"]
        answer = answer_sdp(offer, self.media, self.fingerprint, self.receiver.port)
        self.receiver.register(self.media)
        await self.janus.request({"janus": "message", "body": {"request": "start"},
                                  "jsep": {"type": "answer", "sdp": answer}}, handle, is_message=True)
        await self.janus.request({"janus": "trickle", "candidate": {"completed": True}}, handle)
        self.joined_at = time.monotonic()

    async def heartbeat_loop(self, tack, org, class_id):
        await asyncio.sleep(random.uniform(0, HEARTBEAT_S))
        while True:
            t = time.monotonic()
            try:
                await tack.call("POST", f"/api/v1/orgs/{org}/live/{class_id}/heartbeats", {"mode": "live"}, self.token)
                self.heartbeats += 1
                self.heartbeat_ms.append((time.monotonic(), (time.monotonic() - t) * 1000))
            except Exception as error:
                self.heartbeat_errors += 1
                log(f"subscriber {self.index}: heartbeat failed: {error}")
            await asyncio.sleep(HEARTBEAT_S)


# ---------------------------------------------------------------- CPU

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def descendants(pid):
    """pid and every process below it (Chromium's are under Playwright's driver, under us)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        pass
    return None


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class CpuMeter:
    def __init__(self, pids):
        self.pids = pids  # name -> pid or callable returning pids

    def sample(self):
        out = {}
        for name, pid in self.pids.items():
            pids = pid() if callable(pid) else [pid]
            out[name] = sum(cpu_seconds(p) for p in pids)
        out["_machine"] = machine_busy()
        out["_t"] = time.monotonic()
        return out

    @staticmethod
    def percent(a, b):
        dt = b["_t"] - a["_t"]
        out = {name: round(100 * (b[name] - a[name]) / dt, 1) for name in a if not name.startswith("_")}
        busy = b["_machine"][0] - a["_machine"][0]
        total = b["_machine"][1] - a["_machine"][1]
        out["machine"] = round(100 * os.cpu_count() * busy / total, 1) if total else 0.0
        return out


# ---------------------------------------------------------------- the run

async def publisher_page(pages_url, media, chromium):
    from playwright.async_api import async_playwright
    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path=chromium, args=[
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
    page = await (await browser.new_context()).new_page()
    await page.goto(pages_url + "/index.html")
    await page.wait_for_selector("body[data-ready=true]")
    await page.evaluate("([url, token]) => smoke.connect(url, token)", [media["url"], media["token"]])
    published = await page.evaluate("([room, feed]) => smoke.publish(room, { feed })", [media["room"], media["teacherFeed"]])
    return pw, browser, page, published


async def run(a):
    tack = Tack(a.tack_port)
    janus_pid = int(Path(a.janus_dir, "janus.pid").read_text())
    steps = [int(s) for s in a.steps.split(",")]
    people = max(steps) + 1
    out = {"steps": [], "config": vars(a)}

    log(f"setting up {people} people (1 teacher + {people - 1} students) …")
    t = time.monotonic()
    setup_file = Path(a.work, "setup.json")
    await asyncio.to_thread(tackapi.setup, a.tack_port, people, 0, str(setup_file))
    s = json.loads(setup_file.read_text())
    org, tokens = s["org"], s["tokens"]
    teacher = tokens[0]
    convs = (await tack.call("GET", f"/api/v1/orgs/{org}/conversations", token=teacher))["items"]
    group = max((c for c in convs if c["kind"] == "department"), key=lambda c: c["memberCount"])
    created = await tack.call("POST", f"/api/v1/orgs/{org}/live",
                              {"title": "Bench class", "groupIds": [group["id"]], "startNow": True}, teacher)
    class_id = created["id"]
    log(f"organisation {org}, group of {group['memberCount']} members, class {class_id} ({created['state']}, "
        f"media {created['mediaAvailable']}), set-up {time.monotonic() - t:.1f} s")

    teacher_media = (await tack.call("POST", f"/api/v1/orgs/{org}/live/{class_id}/watch", {"mode": "live"}, teacher))["media"]
    pw, browser, page, published = await publisher_page(a.pages_url, teacher_media, a.chromium)
    await tack.call("PUT", f"/api/v1/orgs/{org}/live/{class_id}/on-air", {"onAir": True}, teacher)
    log(f"teacher publishes feed {published['feed']} in room {teacher_media['room']}: camera {published['camera']}")
    out["camera"] = published["camera"]
    await asyncio.sleep(a.ramp)  # the encoder's bitrate ramps up (Chromium starts low)
    out["publisher_at_start"] = await page.evaluate("() => smoke.outbound()")
    log(f"publisher sends: {out['publisher_at_start']}")

    deadline = time.monotonic() + a.time_limit  # for the steps (the set-up is not counted)
    for name, pid in (("janus", janus_pid), ("tack", a.tack_pid), ("generator", os.getpid())):
        log(f"{name}: pid {pid} ({Path(f'/proc/{pid}/comm').read_text().strip()})")
    ctx, fingerprint = make_certificate()
    receiver = Receiver(a.udp_port)
    receiver.start()
    meter = CpuMeter({"janus": janus_pid, "tack": a.tack_pid, "generator": os.getpid(),
                      "publisher": lambda: [p for p in descendants(os.getpid()) if p != os.getpid()]})
    subs = []
    heartbeat_tasks = []
    sem = asyncio.Semaphore(a.concurrency)

    async def add(i):
        sub = Subscriber(i, tokens[i], receiver, ctx, fingerprint)
        subs.append(sub)
        async with sem:
            try:
                await sub.join(tack, org, class_id)
            except Exception as error:
                sub.error = f"{type(error).__name__}: {error}"
                log(f"subscriber {i} failed to join: {sub.error}")
                return
        heartbeat_tasks.append(asyncio.create_task(sub.heartbeat_loop(tack, org, class_id)))

    stop_reason = None
    try:
        for target in steps:
            if time.monotonic() + a.hold + 30 > deadline:
                stop_reason = f"time bound ({a.time_limit} s) reached before the step to {target}"
                break
            t0 = time.monotonic()
            await asyncio.gather(*(add(i) for i in range(len(subs) + 1, target + 1)))
            joined_s = time.monotonic() - t0
            # wait until every joined subscriber receives video (or 20 s)
            wait_until = time.monotonic() + 20
            while time.monotonic() < wait_until:
                pending = [x for x in subs if not x.error and not x.media.failed and x.media.counters["video"][0] == 0]
                if not pending:
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(a.settle)
            live = [x for x in subs if not x.error and not x.media.failed]
            snap0 = {x.index: x.media.snapshot() for x in live}
            cpu0 = meter.sample()
            pub0 = await page.evaluate("() => smoke.outbound()")
            drops0, packets0 = receiver.socket_drops(), receiver.packets
            t_hold = time.monotonic()
            await asyncio.sleep(a.hold)
            dt = time.monotonic() - t_hold
            snap1 = {x.index: x.media.snapshot() for x in live}
            cpu1 = meter.sample()
            pub1 = await page.evaluate("() => smoke.outbound()")
            drops1, packets1 = receiver.socket_drops(), receiver.packets
            cpu = CpuMeter.percent(cpu0, cpu1)

            sent_fps = (pub1["framesSent"] - pub0["framesSent"]) / ((pub1["at"] - pub0["at"]) / 1000)
            sent_kbps = 8 * (pub1["bytesSent"] - pub0["bytesSent"]) / (pub1["at"] - pub0["at"])
            fps, losses, zero = [], [], 0
            recv = exp = 0
            for x in live:
                r0, e0, m0 = snap0[x.index]["video"]
                r1, e1, m1 = snap1[x.index]["video"]
                a0, ae0, _ = snap0[x.index]["audio"]
                a1, ae1, _ = snap1[x.index]["audio"]
                f = (m1 - m0) / dt
                fps.append(f)
                if r1 == r0:
                    zero += 1
                got, expected = (r1 - r0) + (a1 - a0), (e1 - e0) + (ae1 - ae0)
                recv += got
                exp += expected
                losses.append(100 * max(expected - got, 0) / expected if expected else 100.0)
            hb = [ms for x in subs for (when, ms) in x.heartbeat_ms if when >= t_hold]
            failed = [x for x in subs if x.error or x.media.failed]
            hangups = {}
            for x in subs:
                for _, event in (x.janus.events if x.janus else []):
                    if event.get("janus") == "hangup":
                        hangups[event.get("reason")] = hangups.get(event.get("reason"), 0) + 1
            row = {
                "target": target,
                "joined": len(subs) - len([x for x in subs if x.error]),
                "failed": len(failed),
                "receiving": len(live) - zero,
                "janus_hangups": hangups,
                "not_connected": sum(1 for x in live if not x.media.connected_at),
                "join_s": round(joined_s, 1),
                "sent_fps": round(sent_fps, 2),
                "sent_kbps": round(sent_kbps),
                "sent_size": f"{pub1['frameWidth']}x{pub1['frameHeight']}",
                "sent_size_before": f"{pub0['frameWidth']}x{pub0['frameHeight']}",
                "quality_limitation": pub1.get("qualityLimitationReason"),
                "fps_min": round(min(fps), 2) if fps else 0,
                "fps_median": round(statistics.median(fps), 2) if fps else 0,
                "fps_p10": round(sorted(fps)[len(fps) // 10], 2) if fps else 0,
                "loss_pct": round(100 * max(exp - recv, 0) / exp, 3) if exp else 100.0,
                "loss_max_pct": round(max(losses), 2) if losses else 0,
                "rx_pkts_per_s": round((packets1 - packets0) / dt),
                "socket_drops": drops1 - drops0,
                "heartbeats": len(hb),
                "heartbeat_p50_ms": round(statistics.median(hb), 1) if hb else None,
                "heartbeat_max_ms": round(max(hb), 1) if hb else None,
                "heartbeat_errors": sum(x.heartbeat_errors for x in subs),
                "cpu": cpu,
                "janus_rss_mib": rss_mib(janus_pid),
                "tack_rss_mib": rss_mib(a.tack_pid),
                "generator_rss_mib": rss_mib(os.getpid()),
                "hold_s": round(dt, 1),
            }
            out["steps"].append(row)
            log("step " + json.dumps(row))
            reasons = []
            if row["fps_median"] < 0.95 * sent_fps:
                reasons.append(f"median received {row['fps_median']} fps < 95% of sent {sent_fps:.2f}")
            if row["loss_pct"] > 1:
                reasons.append(f"loss {row['loss_pct']}% > 1%")
            if row["failed"] or row["receiving"] < len(live):
                reasons.append(f"{row['failed']} subscribers failed, {len(live) - row['receiving']} received nothing")
            # The teacher's stream itself: Chromium lowers resolution and frame rate when its
            # bandwidth estimate falls (Janus's transport-cc feedback arrives late when Janus is
            # short of CPU), so viewers would get every frame sent and still not 640x480 at the
            # camera's rate.
            camera_fps = published["camera"]["frameRate"]
            if (pub1["frameWidth"], pub1["frameHeight"]) != (640, 480) or (pub0["frameWidth"], pub0["frameHeight"]) != (640, 480):
                reasons.append(f"the teacher's page sent {row['sent_size_before']} → {row['sent_size']} "
                               f"({pub1.get('qualityLimitationReason')})")
            if sent_fps < 0.9 * camera_fps:
                reasons.append(f"the teacher's page sent {sent_fps:.1f} fps < 90% of the camera's {camera_fps}")
            if reasons:
                stop_reason = f"frames dropped at {target}: " + "; ".join(reasons)
                row["dropped"] = True
                break
        else:
            stop_reason = f"every step passed (up to {steps[-1]})"
    finally:
        out["stop_reason"] = stop_reason
        log(f"stopping: {stop_reason}")
        Path(a.out).write_text(json.dumps(out, indent=1))
        for task in heartbeat_tasks:
            task.cancel()
        await asyncio.gather(*(x.janus.close() for x in subs if x.janus), return_exceptions=True)
        receiver.stop()
        try:
            await page.evaluate("() => smoke.leave()")
            await tack.call("PUT", f"/api/v1/orgs/{org}/live/{class_id}/on-air", {"onAir": False}, teacher)
            await tack.call("POST", f"/api/v1/orgs/{org}/live/{class_id}/transition", {"action": "end"}, teacher)
        except Exception as error:
            log(f"ending the class: {error}")
        await browser.close()
        await pw.stop()
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tack-port", type=int, required=True)
    p.add_argument("--tack-pid", type=int, required=True)
    p.add_argument("--janus-dir", required=True)
    p.add_argument("--pages-url", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", default="10,25,50,100,150,200,250,300,400,500,600,800,1000")
    p.add_argument("--hold", type=float, default=20)
    p.add_argument("--settle", type=float, default=8)
    p.add_argument("--ramp", type=float, default=15)
    p.add_argument("--time-limit", type=float, default=480)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--udp-port", type=int, default=19290)
    p.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    a = p.parse_args()
    # The receiver thread needs the GIL promptly while the event loop signals a burst of joins.
    sys.setswitchinterval(0.0005)
    asyncio.run(run(a))


if __name__ == "__main__":
    main()
