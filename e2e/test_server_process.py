"""Tests of the server as a process: graceful shutdown, crash durability, the command line.

Each test starts its own `tack` (TACK_BIN) on a free port, on SQLite in a fresh data folder or,
when TACK_TEST_DATABASE_URL is set, on that PostgreSQL database.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets

TACK_BIN = os.environ.get("TACK_BIN", "")
DATABASE_URL = os.environ.get("TACK_TEST_DATABASE_URL", "")
WORKDIR = os.environ.get("TACK_TEST_WORKDIR", tempfile.gettempdir())

pytestmark = pytest.mark.skipif(not TACK_BIN, reason="set TACK_BIN to the tack executable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `tack serve` process; `restart()` keeps its data."""

    def __init__(self, **env):
        self.extra_env = env
        self.data_dir = tempfile.mkdtemp(dir=WORKDIR, prefix="process-")
        self.port = free_port()
        self.process = None
        self.log_lines = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = dict(os.environ, TACK_PORT=str(self.port), TACK_DATA_DIR=self.data_dir, TACK_DATABASE_URL=DATABASE_URL,
                   TACK_BCRYPT_COST="4", TACK_LOG_LEVEL="warning")
        env.update(self.extra_env)
        self.process = subprocess.Popen([TACK_BIN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # The server prints its address once it listens and its database is migrated.
        line = self.process.stdout.readline().decode()
        assert "Tack is running at" in line, line
        threading.Thread(target=self._keep_log, args=(self.process.stdout,), daemon=True).start()
        return self

    def _keep_log(self, stream):
        # Warnings and errors only (TACK_LOG_LEVEL=warning), kept for a failing test to show.
        for line in stream:
            self.log_lines.append(line.decode(errors="replace").rstrip())

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def call(self, method, path, body=None, token=None, headers=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server():
    s = Server().start()
    yield s
    if s.process.poll() is None:
        s.stop(signal.SIGKILL)


def sign_up(server: Server) -> str:
    status, body = server.call("POST", "/api/v1/auth/signup", {
        "name": "Process test", "login": f"{uuid.uuid4().hex[:12]}@example.test", "password": "correct horse", "mode": "token"})
    assert status == 201, body
    return body["token"]


def test_sigterm_closes_sockets_with_going_away_and_exits_cleanly(server):
    token = sign_up(server)

    async def scenario():
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/api/v1/events",
                                      additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await ws.send(json.dumps({"type": "resume", "cursors": {}}))
            assert json.loads(await ws.recv())["type"] == "resumed"
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), timeout=20)
            return closed.value.rcvd.code if closed.value.rcvd else None

    # Playwright's sync API may own this thread's event loop: run the client on a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scenario()).result() == 1001
    assert server.process.wait(timeout=30) == 0


def test_every_acknowledged_create_survives_kill_9(server):
    token = sign_up(server)
    status, created = server.call("POST", "/api/v1/orgs", {"name": "Crash test"}, token)
    assert status == 201
    org = created["organization"]["id"]
    root = created["member"]["departmentIds"][0]
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()

    def writer(worker: int):
        n = 0
        while not stop.is_set():
            name = f"w{worker}-{n}"
            key = str(uuid.uuid4())
            try:
                status, body = server.call("POST", f"/api/v1/orgs/{org}/departments", {"name": name, "parentId": root},
                                           token, headers={"Idempotency-Key": key})
            except (urllib.error.URLError, ConnectionError, OSError):
                return
            if status == 201:
                with lock:
                    acknowledged.append(body["id"])
                    if len(acknowledged) >= 200:
                        enough.set()
            n += 1

    with ThreadPoolExecutor(8) as pool:
        for w in range(8):
            pool.submit(writer, w)
        assert enough.wait(timeout=120), "the writers did not get 200 departments acknowledged"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        stop.set()

    server.start()
    status, listed = server.call("GET", f"/api/v1/orgs/{org}/departments", token=token)
    assert status == 200
    ids = [d["id"] for d in listed["items"]]
    assert len(ids) == len(set(ids)), "no department is stored twice"
    missing = set(acknowledged) - set(ids)
    assert not missing, f"{len(missing)} acknowledged departments were lost"
    # The event log has one event per stored department, without gaps.
    status, events = server.call("GET", f"/api/v1/orgs/{org}/events?after=0&limit=1000", token=token)
    seqs = [e["seq"] for e in events["items"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(1 for e in events["items"] if e["type"] == "department.created") == len(ids) - 1


def test_every_acknowledged_message_survives_kill_9_exactly_once(server):
    """Messages sent as fast as possible; SIGKILL mid-stream; restart; every acknowledged message
    is there once, sequence numbers have no gaps, and resending the unanswered ones with their
    client keys stores each of them once too."""
    ann = sign_up(server)
    status, org = server.call("POST", "/api/v1/orgs", {"name": "Crash chat"}, ann)
    org_id = org["organization"]["id"]
    status, invitation = server.call("POST", f"/api/v1/orgs/{org_id}/invitations", {}, ann)
    bob = sign_up(server)
    status, joined = server.call("POST", f"/api/v1/invitations/{invitation['code']}/accept", None, bob)
    status, direct = server.call("POST", f"/api/v1/orgs/{org_id}/conversations/direct", {"memberId": joined["member"]["id"]}, ann)
    conversation = direct["id"]
    path = f"/api/v1/orgs/{org_id}/conversations/{conversation}/messages"
    acknowledged, unanswered = {}, {}
    lock = threading.Lock()
    enough = threading.Event()

    def sender(worker: int, token: str):
        n = 0
        while True:
            key = f"w{worker}-{n}"
            text = f"message {key}"
            try:
                status, body = server.call("POST", path, {"clientKey": key, "text": text}, token)
            except (urllib.error.URLError, ConnectionError, OSError):
                with lock:
                    unanswered[key] = (token, text)
                return
            assert status == 201, body
            with lock:
                acknowledged[key] = body["seq"]
                if len(acknowledged) >= 300:
                    enough.set()
            n += 1

    with ThreadPoolExecutor(8) as pool:
        for w in range(8):
            pool.submit(sender, w, ann if w % 2 else bob)
        assert enough.wait(timeout=120), "the senders did not get 300 messages acknowledged"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)

    server.start()
    for key, (token, text) in unanswered.items():
        status, body = server.call("POST", path, {"clientKey": key, "text": text}, token)
        assert status == 201, body
    stored, after = [], 0
    while True:
        status, page = server.call("GET", f"{path}?after={after}&limit=200", token=ann)
        assert status == 200, page
        stored += page["items"]
        if not page["hasMore"]:
            break
        after = page["items"][-1]["seq"]
    texts = [m["text"] for m in stored]
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1)), "sequence numbers without gaps"
    assert len(texts) == len(set(texts)), "no message is stored twice"
    by_text = {m["text"]: m["seq"] for m in stored}
    for key, seq in acknowledged.items():
        assert by_text.get(f"message {key}") == seq, f"acknowledged {key} (seq {seq}) was lost or moved"
    for key in unanswered:
        assert f"message {key}" in by_text


def test_every_acknowledged_health_report_survives_kill_9(server):
    """Eight members correct their daily health report as fast as they can (reports of many people
    share group commits); SIGKILL mid-stream; after a restart each one's report is the last
    acknowledged one (or the one after, if it committed unanswered)."""
    ann = sign_up(server)
    status, org = server.call("POST", "/api/v1/orgs", {"name": "Crash health"}, ann)
    org_id = org["organization"]["id"]
    question = {"id": "temp", "kind": "temperature", "title": "Temperature", "required": True}
    status, report = server.call("POST", f"/api/v1/orgs/{org_id}/health/reports", {
        "title": "Daily", "wholeOrganization": True, "questions": [question], "opensAt": "00:00", "closesAt": "24:00",
        "skipWeekends": False}, ann)
    assert status == 201, report
    path = f"/api/v1/orgs/{org_id}/health/reports/{report['id']}/submission"
    tokens = []
    for _ in range(8):
        status, invitation = server.call("POST", f"/api/v1/orgs/{org_id}/invitations", {}, ann)
        token = sign_up(server)
        status, joined = server.call("POST", f"/api/v1/invitations/{invitation['code']}/accept", None, token)
        assert status == 200, joined
        tokens.append(token)
    status, today = server.call("GET", f"/api/v1/orgs/{org_id}/health/today", token=tokens[0])
    day = today["items"][0]["day"]
    acknowledged = {}  # worker -> (revision, temperature) of the last acknowledged report
    lock = threading.Lock()
    enough = threading.Event()

    def reporter(worker: int):
        n = 0
        while True:
            temperature = round(36.0 + (n % 20) / 10, 1)
            try:
                status, body = server.call("PUT", path, {"day": day, "answers": [{"questionId": "temp", "temperature": temperature}]},
                                           tokens[worker])
            except (urllib.error.URLError, ConnectionError, OSError):
                return
            assert status == 200, body
            with lock:
                acknowledged[worker] = (body["submission"]["revision"], temperature)
                if sum(r for r, _ in acknowledged.values()) >= 300:
                    enough.set()
            n += 1

    with ThreadPoolExecutor(8) as pool:
        for w in range(8):
            pool.submit(reporter, w)
        assert enough.wait(timeout=120), "the members did not get 300 reports acknowledged"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)

    server.start()
    for worker, (revision, temperature) in acknowledged.items():
        status, history = server.call("GET", f"/api/v1/orgs/{org_id}/health/reports/{report['id']}/history?days=1", token=tokens[worker])
        assert status == 200, history
        stored = history["days"][0]["submission"]
        assert stored["revision"] in (revision, revision + 1), f"worker {worker}: acknowledged revision {revision}, stored {stored['revision']}"
        if stored["revision"] == revision:
            assert stored["temperature"] == temperature, f"worker {worker}: the acknowledged answer was lost"
    status, dashboard = server.call("GET", f"/api/v1/orgs/{org_id}/health/reports/{report['id']}/dashboard", token=ann)
    assert dashboard["totals"]["reported"] == len(acknowledged)


def test_migrate_and_reset_password_commands(server):
    token = sign_up(server)
    status, me = server.call("GET", "/api/v1/me", token=token)
    login = me["user"]["email"]
    env = dict(os.environ, TACK_DATA_DIR=server.data_dir, TACK_DATABASE_URL=DATABASE_URL, TACK_BCRYPT_COST="4",
               TACK_LOG_LEVEL="warning")
    migrate = subprocess.run([TACK_BIN, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    assert "up to date" in migrate.stdout
    reset = subprocess.run([TACK_BIN, "admin", "reset-password", "--login", login, "--password", "a new password"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert server.call("GET", "/api/v1/me", token=token)[0] == 401, "the old session ended"
    status, _ = server.call("POST", "/api/v1/auth/signin", {"login": login, "password": "a new password", "mode": "token"})
    assert status == 200
    bad = subprocess.run([TACK_BIN, "admin", "reset-password", "--login", "nobody@example.test", "--password", "whatever1"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
