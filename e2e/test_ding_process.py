"""DING and the job queue as processes: a scheduled DING survives kill -9 and fires once; two
nodes on one PostgreSQL database run each due job exactly once, events reach sockets on either
node, and a session ended through one node stops working on the other.

Scheduling is to the minute, so each test waits for the next minute to begin (at most ~70 s).
"""

import asyncio
import contextlib
import datetime
import json
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets

from test_server_process import DATABASE_URL, TACK_BIN, Server

PSQL = "/usr/lib/postgresql/15/bin/psql"

pytestmark = pytest.mark.skipif(not TACK_BIN, reason="set TACK_BIN to the tack executable")


def person(server: Server, name: str):
    status, body = server.call("POST", "/api/v1/auth/signup", {
        "name": name, "login": f"{uuid.uuid4().hex[:12]}@example.test", "password": "correct horse", "mode": "token"})
    assert status == 201, body
    return body["token"], body["user"]["id"]


def organisation(server: Server, owner: str, members: list) -> tuple:
    """Creates an organisation of `owner`; the others join. Returns (org id, member ids)."""
    status, created = server.call("POST", "/api/v1/orgs", {"name": "DING process test"}, owner)
    assert status == 201, created
    org = created["organization"]["id"]
    ids = []
    for token in members:
        status, invitation = server.call("POST", f"/api/v1/orgs/{org}/invitations", {}, owner)
        assert status == 201, invitation
        status, joined = server.call("POST", f"/api/v1/invitations/{invitation['code']}/accept", None, token)
        assert status == 200, joined
        ids.append(joined["member"]["id"])
    return org, ids


def next_minute(margin_seconds: int = 8) -> str:
    """The next whole minute at least `margin_seconds` away, as RFC 3339."""
    now = datetime.datetime.now(datetime.timezone.utc)
    at = (now + datetime.timedelta(seconds=margin_seconds)).replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def own_database() -> str:
    """A fresh PostgreSQL database for this test's servers alone (the browser tests' server shares
    TACK_TEST_DATABASE_URL and would run these jobs too); "" on SQLite."""
    if not DATABASE_URL:
        return ""
    name = f"ding_{uuid.uuid4().hex[:12]}"
    subprocess.run([PSQL, DATABASE_URL, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return DATABASE_URL.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def two_nodes(a_env: dict | None = None, b_env: dict | None = None):
    """Two servers on one fresh PostgreSQL database; both are killed afterwards."""
    database = own_database()
    a = Server(TACK_DATABASE_URL=database, **(a_env or {})).start()
    b = Server(TACK_DATABASE_URL=database, **(b_env or {})).start()
    try:
        yield a, b
    finally:
        for s in (a, b):
            if s.process.poll() is None:
                s.stop(signal.SIGKILL)


async def await_ding(port: int, token: str, ding_id: str, timeout: float) -> dict:
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/events",
                                  additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await ws.send(json.dumps({"type": "resume", "cursors": {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
            except asyncio.TimeoutError:
                # The protocol's keep-alive, as the web app sends it every 30 s.
                await ws.send(json.dumps({"type": "ping"}))
                continue
            if event["type"] == "ding.received" and event["data"]["id"] == ding_id:
                return event["data"]
        raise AssertionError(f"no ding.received for {ding_id} within {timeout} s")


async def collect_dings(sockets, timeout: float) -> list:
    """For each (port, token, count): the ids of the first `count` ding.received events on a socket
    opened to that node."""
    async def one(port, token, count):
        ids = []
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/events",
                                      additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await ws.send(json.dumps({"type": "resume", "cursors": {}}))
            deadline = time.monotonic() + timeout
            while len(ids) < count:
                assert time.monotonic() < deadline, f"{len(ids)} of {count} DINGs arrived"
                try:
                    event = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                except asyncio.TimeoutError:
                    await ws.send(json.dumps({"type": "ping"}))
                    continue
                if event["type"] == "ding.received":
                    ids.append(event["data"]["id"])
        return ids
    return await asyncio.gather(*(one(*s) for s in sockets))


def run_async(coroutine):
    # Playwright's sync API may own this thread's event loop: run the client on a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_scheduled_ding_survives_kill_9_and_fires_once():
    server = Server(TACK_DATABASE_URL=own_database()).start()
    try:
        ann, _ = person(server, "Ann")
        bob, bob_user = person(server, "Bob")
        org, (bob_member,) = organisation(server, ann, [bob])
        status, ding = server.call("POST", f"/api/v1/orgs/{org}/dings",
                                   {"memberIds": [bob_member], "text": "Scheduled drill", "scheduledAt": next_minute()}, ann)
        assert status == 201, ding
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        server.start()
        received = run_async(await_ding(server.port, bob, ding["id"], timeout=100))
        assert received["text"] == "Scheduled drill"
        # Once: one in-app attempt, one DING in Bob's inbox, and nothing left to run.
        status, view = server.call("GET", f"/api/v1/orgs/{org}/dings/{ding['id']}", None, ann)
        assert status == 200
        attempts = view["recipients"][0]["attempts"]
        assert [(a["channel"], a["status"]) for a in attempts] == [("app", "delivered")]
        status, inbox = server.call("GET", f"/api/v1/orgs/{org}/dings?unconfirmed=true", None, bob)
        assert [d["id"] for d in inbox["items"]] == [ding["id"]]
        # Killed again and restarted: still once.
        server.stop(signal.SIGKILL)
        server.start()
        status, view = server.call("GET", f"/api/v1/orgs/{org}/dings/{ding['id']}", None, ann)
        assert len(view["recipients"][0]["attempts"]) == 1
        assert view["sentAt"]
    finally:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


@pytest.mark.skipif(not DATABASE_URL, reason="two nodes share a PostgreSQL database")
def test_two_nodes_run_each_due_job_exactly_once():
    # Small batches so that both nodes take part.
    with two_nodes({"TACK_JOB_BATCH": "4"}, {"TACK_JOB_BATCH": "4"}) as (a, b):
        ann, _ = person(a, "Ann")
        people = [person(a, f"Member {i}") for i in range(6)]
        org, members = organisation(a, ann, [token for token, _ in people])
        at = next_minute()
        dings = []
        for i in range(30):
            recipients = [members[i % 6], members[(i + 1) % 6]]
            node = a if i % 2 == 0 else b
            status, ding = node.call("POST", f"/api/v1/orgs/{org}/dings",
                                     {"memberIds": recipients, "text": f"Drill {i}", "scheduledAt": at}, ann)
            assert status == 201, ding
            dings.append(ding["id"])
        # Every DING reaches its recipients' sockets — on whichever node they are connected to — once.
        expected = {token: [] for token, _ in people}
        for i, ding in enumerate(dings):
            for k in (i % 6, (i + 1) % 6):
                expected[people[k][0]].append(ding)
        received = run_async(collect_dings([((a, b)[i % 2].port, token, len(ids)) for i, (token, ids) in enumerate(expected.items())],
                                           timeout=110))
        for (token, ids), got in zip(expected.items(), received):
            assert sorted(got) == sorted(ids), (len(got), len(ids))
        views = [a.call("GET", f"/api/v1/orgs/{org}/dings/{d}", None, ann)[1] for d in dings]
        for view in views:
            assert view["sentAt"]
            for recipient in view["recipients"]:
                assert [(x["channel"], x["status"]) for x in recipient["attempts"]] == [("app", "delivered")], view
        # Both nodes claimed some of them, and no job is left or failed.
        rows = subprocess.run([PSQL, a.extra_env["TACK_DATABASE_URL"], "-tAc",
                               f"SELECT claimed_by, state, count(*) FROM jobs WHERE org_id = '{org}' GROUP BY 1, 2"],
                              capture_output=True, text=True, check=True).stdout.split()
        states = {row.split("|")[1] for row in rows}
        workers = {row.split("|")[0] for row in rows}
        assert states == {"done"}, rows
        assert len(workers) >= 2, rows


@pytest.mark.skipif(not DATABASE_URL, reason="two nodes share a PostgreSQL database")
def test_events_reach_sockets_connected_to_the_other_node():
    # Jobs run on node A only, so a DING's in-app delivery starts there.
    with two_nodes(b_env={"TACK_RUN_JOBS": "0"}) as (a, b):
        ann, _ = person(a, "Ann")
        bob, bob_user = person(a, "Bob")
        org, (bob_member,) = organisation(a, ann, [bob])
        status, direct = a.call("POST", f"/api/v1/orgs/{org}/conversations/direct", {"memberId": bob_member}, ann)
        assert status in (200, 201), direct
        long_text = "长消息" * 3000  # far over one notification's 8,000 bytes

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{b.port}/api/v1/events",
                                          additional_headers={"Authorization": f"Bearer {bob}"}) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await ws.send(json.dumps({"type": "resume", "cursors": {}}))
                # Sent through node A; Bob is connected to node B.
                loop = asyncio.get_running_loop()
                for i, text in enumerate(["short hello", long_text]):
                    status, sent = await loop.run_in_executor(None, lambda: a.call(
                        "POST", f"/api/v1/orgs/{org}/conversations/{direct['id']}/messages", {"clientKey": f"k{i}", "text": text}, ann))
                    assert status == 201, sent
                status, ding = await loop.run_in_executor(None, lambda: a.call(
                    "POST", f"/api/v1/orgs/{org}/dings", {"memberIds": [bob_member], "text": "Across nodes"}, ann))
                assert status == 201, ding
                texts, ding_ids = [], []
                while len(texts) < 2 or not ding_ids:
                    event = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                    if event["type"] == "message.created":
                        texts.append(event["data"]["text"])
                    elif event["type"] == "ding.received":
                        ding_ids.append(event["data"]["id"])
                return texts, ding_ids, ding["id"]

        try:
            texts, ding_ids, ding_id = run_async(scenario())
        except BaseException:
            print("node A:", *a.log_lines[-20:], "node B:", *b.log_lines[-20:], sep="\n")
            raise
        assert texts == ["short hello", long_text]
        assert ding_ids == [ding_id]


@pytest.mark.skipif(not DATABASE_URL, reason="two nodes share a PostgreSQL database")
def test_signing_out_through_one_node_ends_the_session_on_the_other():
    with two_nodes(b_env={"TACK_RUN_JOBS": "0"}) as (a, b):
        ann, _ = person(a, "Ann")
        # Node B has read the session and keeps it for a few seconds (its session cache).
        assert b.call("GET", "/api/v1/me", None, ann)[0] == 200

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{b.port}/api/v1/events",
                                          additional_headers={"Authorization": f"Bearer {ann}"}) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await ws.send(json.dumps({"type": "resume", "cursors": {}}))
                while json.loads(await asyncio.wait_for(ws.recv(), timeout=30))["type"] != "resumed":
                    pass
                status, _ = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: a.call("POST", "/api/v1/auth/signout", None, ann))
                assert status == 204
                # Node B learns of the end from node A's notification: it closes the session's
                # socket — and forgets the session — as it arrives.
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), timeout=30)
                return closed.value.rcvd.code if closed.value.rcvd else None

        try:
            code = run_async(scenario())
        except BaseException:
            print("node A:", *a.log_lines[-20:], "node B:", *b.log_lines[-20:], sep="\n")
            raise
        assert code == 4001
        status, problem = b.call("GET", "/api/v1/me", None, ann)
        assert status == 401, problem
