"""A live class whose connections to Janus drop: the pages reconnect by themselves (issue 6).

Tack, Janus and Chromium run in the test's namespace as in test_live_media.py. The teacher goes on
the air with the camera and a student watches. Then the TCP connections between the pages and
Janus's WebSocket port are destroyed for real with `ss -K` (the browser's socket is aborted, Janus's
end gets a reset, and Janus ends the sessions that came over them), three times: the student's
alone, the teacher's alone, then every one at once. Each time, with nothing pressed:

- the page whose connection was cut notices (its stage says it is reconnecting), the other does
  not;
- the student decodes the teacher's video again (`framesDecoded` rising) within RECOVERY_S, on a
  new peer connection, and the old one is closed;
- when the teacher's connection was cut, Janus drops the teacher's feed, the teacher's page
  publishes again as the same feed (Janus lists it again) with the camera captured afresh, and
  Tack still has the class on the air;
- each page then holds one WebSocket to Janus and one open peer connection, and the teacher's
  page one live camera and microphone: nothing piles up.

At the end, the student's heartbeats are still accepted and their watch time kept counting.
"""

import json
import time

from playwright.sync_api import expect

from media_harness import cut_tcp, load_web_helpers, rising, tcp_clients

web = load_web_helpers()
RECOVERY_S = 20  # from the cut to frames decoded again (the stage retries every 2 s)
RECONNECTING = "The connection to the class dropped: reconnecting…"

# Keeps every RTCPeerConnection a page makes (`tackPeers`) and every stream it captures
# (`tackCaptured`), to count the open ones.
TRACK_MEDIA = """(() => {
    if (window.tackPeers) return;
    const peers = [];
    const captured = [];
    window.tackPeers = peers;
    window.tackCaptured = captured;
    window.RTCPeerConnection = class extends window.RTCPeerConnection {
        constructor(...args) { super(...args); peers.push(this); }
    };
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => { const stream = await getUserMedia(constraints); captured.push(stream); return stream; };
})()"""

# Keeps every text the stage's status line shows (`tackStatusLog`): "reconnecting" may be up for
# a shorter time than a poll takes.
WATCH_STATUS = """() => {
    const status = document.querySelector('[data-testid=live-media-status]');
    window.tackStatusLog = [];
    new MutationObserver(() => window.tackStatusLog.push(status.textContent))
        .observe(status, { childList: true, characterData: true, subtree: true });
}"""

# Marks the student's current picture (its element and peer connection) as the old one.
MARK_PICTURE = """() => {
    window.tackOldVideo = document.querySelector('[data-testid=live-video]');
    window.tackOldPeer = window.tackOldVideo.tackPeer;
}"""

# A new picture on a new peer connection, with its first frame.
NEW_PICTURE = """() => {
    const video = document.querySelector('[data-testid=live-video]');
    return video && video !== window.tackOldVideo && video.tackPeer && video.tackPeer !== window.tackOldPeer && video.videoWidth > 0;
}"""


def wait_until(condition, within: float, what: str, page):
    """Polls `condition()` (every 100 ms) until it is true, for at most `within` s; returns its value."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        page.wait_for_timeout(100)
    return value


def media_held(page) -> dict:
    """What a page holds open: its peer connections that are not closed (their states) and the
    live tracks it captured."""
    return page.evaluate("""() => ({
        peers: window.tackPeers.filter((p) => p.connectionState !== 'closed').map((p) => p.connectionState),
        tracks: window.tackCaptured.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').map((t) => t.kind).sort(),
    })""")


def status_log(page) -> list[str]:
    return page.evaluate("() => window.tackStatusLog")


def test_a_dropped_connection_reconnects_by_itself(new_context, janus, tack):
    teacher_page = new_context().new_page()
    _, _, org_id = web.sign_up_with_org(teacher_page, kind="school")
    student, student_page = web.join_org(new_context, teacher_page.context, org_id)
    group = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/conversations",
                    {"name": "Class 7A", "memberIds": [web.member_id(teacher_page.context, org_id, student.name)]})
    assert group.ok, group.text()
    made = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/live",
                   {"title": "Fractions", "groupIds": [group.json()["id"]], "startNow": True})
    assert made.status == 201, made.text()
    class_id = made.json()["id"]
    class_path = f"/#/org/{org_id}/live/{class_id}"
    pages = {"teacher": teacher_page, "student": student_page}
    for page in pages.values():
        page.add_init_script(TRACK_MEDIA)  # for a reload
        page.evaluate(TRACK_MEDIA)  # the class page opens below without one (the address's #)
    ws_port = janus.ws_port
    assert tcp_clients(ws_port) == set()

    # The teacher goes on the air; the student watches.
    teacher_page.goto(class_path)
    teacher_page.get_by_test_id("live-go-on-air").click()
    expect(teacher_page.get_by_test_id("live-preview")).to_be_visible(timeout=20_000)
    [teacher_port] = tcp_clients(ws_port)
    [room] = janus.rooms()
    publishers = janus.publishers(room)
    assert list(publishers.values()) == ["teacher"], publishers
    [teacher_feed] = publishers
    student_page.goto(class_path)
    opened_at = time.monotonic()
    expect(student_page.get_by_test_id("live-video")).to_be_visible(timeout=20_000)
    rising(student_page, "live-video", "video", "framesDecoded", minimum=10)
    [student_port] = tcp_clients(ws_port) - {teacher_port}
    known = {"teacher": teacher_port, "student": student_port}  # each page's WebSocket to Janus (local port)
    for page in pages.values():
        page.evaluate(WATCH_STATUS)

    # The student's heartbeats, as Tack answered them: (when, status).
    heartbeats = []
    student_page.on("response", lambda r: r.url.endswith(f"/live/{class_id}/heartbeats")
                    and heartbeats.append((time.monotonic(), r.status)))

    def seconds_watched() -> float:
        stats = web.api(teacher_page.context, "GET", f"/api/v1/orgs/{org_id}/live/{class_id}/statistics").json()
        return next(row["liveSeconds"] for row in stats["items"] if row["person"]["name"] == student.name)

    def reconnected(whose: list[str]) -> None:
        """Each page holds one WebSocket to Janus again: the one of a page not cut is the same,
        the new one belongs to the page that was cut (when both were, they are not told apart)."""
        kept = {known[who] for who in pages if who not in whose}
        def one_each():
            found = tcp_clients(ws_port)
            return found if len(found) == 2 and kept <= found else None
        ports = wait_until(one_each, 10, f"one WebSocket to Janus for each page, {kept} kept", teacher_page)
        fresh = ports - kept
        for who in whose:
            known[who] = fresh.pop() if len(whose) == 1 else None

    timings = {}

    def cut(whose: list[str]) -> None:
        label = "+".join(whose)
        student_page.evaluate(MARK_PICTURE)
        teacher_page.evaluate("() => { window.tackOldPreview = document.querySelector('[data-testid=live-preview]').srcObject; }")
        for page in pages.values():
            page.evaluate("() => { window.tackStatusLog.length = 0; }")
        cut_at = time.monotonic()
        cut_tcp(ws_port, {known[who] for who in whose})

        # The pages whose connection was cut notice; the other does not.
        for who in whose:
            pages[who].wait_for_function(f"() => window.tackStatusLog.includes({json.dumps(RECONNECTING)})", timeout=10_000)
        if "teacher" in whose:
            # Janus ends the teacher's session, and with it the feed; the page publishes it again.
            wait_until(lambda: teacher_feed not in janus.publishers(room), 10, "Janus drops the teacher's feed", teacher_page)
            wait_until(lambda: janus.publishers(room) == {teacher_feed: "teacher"}, RECOVERY_S,
                       "the teacher publishes the same feed again", teacher_page)
            teacher_page.wait_for_function("""() => {
                const preview = document.querySelector('[data-testid=live-preview]');
                return preview && preview.srcObject !== window.tackOldPreview && preview.videoWidth > 0;
            }""", timeout=RECOVERY_S * 1000)
            expect(teacher_page.get_by_test_id("live-off-air")).to_be_visible()
        else:
            assert janus.publishers(room) == {teacher_feed: "teacher"}

        # The student watches again, on a new peer connection; the old one is closed.
        student_page.wait_for_function(NEW_PICTURE, timeout=max(1, RECOVERY_S - (time.monotonic() - cut_at)) * 1000)
        back = time.monotonic() - cut_at
        fps = rising(student_page, "live-video", "video", "framesDecoded", minimum=10)
        assert fps >= 5, fps
        student_page.wait_for_function("() => window.tackOldPeer.connectionState === 'closed'", timeout=5_000)
        timings[label] = {"first_frame_s": round(back, 2), "fps": round(fps, 1)}

        # Nothing piles up, and the stages say nothing is wrong any more.
        reconnected(whose)
        for who, page in pages.items():
            held = media_held(page)
            assert held["peers"] == ["connected"], (who, held)
            assert held["tracks"] == (["audio", "video"] if who == "teacher" else []), (who, held)
            expect(page.get_by_test_id("live-media-status")).to_have_text("")
            if who not in whose:
                assert RECONNECTING not in status_log(page), (who, status_log(page))
        assert web.api(teacher_page.context, "GET", f"/api/v1/orgs/{org_id}/live/{class_id}").json()["onAir"] is True

    cut(["student"])
    cut(["teacher"])
    cut(["teacher", "student"])

    # Tack kept counting the student's watching: a heartbeat after the last reconnection is
    # accepted (they come every 15 s), and the time grew, never beyond the time the page was open.
    recovered_at = time.monotonic()
    watched_then = seconds_watched()
    wait_until(lambda: any(at > recovered_at and status == 200 for at, status in heartbeats), 40,
               "a heartbeat accepted after reconnecting", student_page)
    assert all(status == 200 for _, status in heartbeats), heartbeats
    watched = seconds_watched()
    assert watched_then < watched <= time.monotonic() - opened_at + 1, (watched_then, watched, time.monotonic() - opened_at)
    print("live reconnect:", json.dumps({"cut_to_first_frame": timings, "watched_s": watched, "open_s": round(time.monotonic() - opened_at, 1)}))
