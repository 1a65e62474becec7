"""A live class with real media, through Tack and Janus, in the browser.

Tack runs inside the test's network namespace with `TACK_JANUS_DIR` pointing at the throwaway
Janus, so the pages get their rooms and tokens from Tack the way a real installation does. A
teacher and two students (one in each of the class's two groups) use the ordinary web app in
Chromium with a fake camera and microphone:

1. the teacher goes on the air with the camera; both students' pages decode the video (frames
   rising, 640x480) and the teacher sees them counted as watching;
2. a student raises a hand, the teacher lets them speak: their page publishes its microphone and
   the other student's page (and the teacher's) receives that audio (packets rising); the teacher
   mutes everyone and it stops;
3. the watch time of each student is credited from the page's heartbeats, never more than the
   wall-clock time;
4. the teacher ends the class: the pages stop the media;
5. the recording becomes the replay: both groups get the notice, the file has video and audio
   as long as the teacher was on the air, and it plays in the browser.
"""

import json
import time

from playwright.sync_api import expect

from media_harness import load_web_helpers, probe, rising

web = load_web_helpers()


def test_a_teacher_broadcasts_to_two_groups_and_a_student_speaks(new_context, janus, tmp_path):
    owner_page = new_context().new_page()
    _, _, org_id = web.sign_up_with_org(owner_page, kind="school")
    teacher_page = owner_page  # the organisation's owner teaches (owners and admins run classes)
    student_a, a_page = web.join_org(new_context, teacher_page.context, org_id)
    student_b, b_page = web.join_org(new_context, teacher_page.context, org_id)
    groups = []
    for name, student in [("Class 7A", student_a), ("Class 7B", student_b)]:
        created = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/conversations",
                          {"name": name, "memberIds": [web.member_id(teacher_page.context, org_id, student.name)]})
        assert created.ok, created.text()
        groups.append(created.json()["id"])
    made = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/live",
                   {"title": "Fractions", "groupIds": groups, "startNow": True, "maxSpeakers": 2})
    assert made.status == 201, made.text()
    class_id = made.json()["id"]
    assert made.json()["mediaAvailable"] is True

    # The teacher goes on the air with the camera.
    teacher_page.goto(f"/#/org/{org_id}/live/{class_id}")
    teacher_page.get_by_test_id("live-go-on-air").click()
    on_air_at = time.monotonic()
    expect(teacher_page.get_by_test_id("live-preview")).to_be_visible(timeout=20_000)
    expect(teacher_page.get_by_test_id("live-off-air")).to_be_visible()

    # Both students (one from each group) see the picture.
    first_frames = {}
    opened_at = time.monotonic()
    for page in (a_page, b_page):
        page.goto(f"/#/org/{org_id}/live/{class_id}")
    for name, page in (("a", a_page), ("b", b_page)):
        video = page.get_by_test_id("live-video")
        expect(video).to_be_visible(timeout=20_000)
        page.wait_for_function("() => document.querySelector('[data-testid=live-video]')?.videoWidth > 0", timeout=20_000)
        first_frames[name] = time.monotonic() - on_air_at
        fps = rising(page, "live-video", "video", "framesDecoded", minimum=10)
        size = page.evaluate("() => { const v = document.querySelector('[data-testid=live-video]'); return [v.videoWidth, v.videoHeight]; }")
        assert size == [640, 480], size
        assert fps >= 5, fps
    # The teacher's page counts them (it refreshes the count every 15 s).
    expect(teacher_page.get_by_test_id("live-watching")).to_have_attribute("data-count", "2", timeout=40_000)

    # Student A raises a hand; the teacher lets them speak; student B hears them.
    a_page.get_by_test_id("live-raise-hand").click()
    teacher_page.get_by_test_id("live-let-speak").click()
    expect(a_page.get_by_test_id("live-on-mic")).to_be_visible(timeout=20_000)
    expect(b_page.get_by_test_id("live-speaker")).to_have_count(1, timeout=20_000)
    audio_rate = rising(b_page, "live-speaker-media", "audio", "packetsReceived", minimum=25)
    assert audio_rate >= 12, audio_rate
    # The teacher hears them too.
    rising(teacher_page, "live-speaker-media", "audio", "packetsReceived", minimum=25)
    # The teacher mutes everyone: A stops publishing, B stops hearing them.
    teacher_page.get_by_test_id("live-mute-all").click()
    expect(a_page.get_by_test_id("live-on-mic")).to_have_count(0, timeout=20_000)
    expect(b_page.get_by_test_id("live-speaker")).to_have_count(0, timeout=20_000)

    # Nobody publishes what Tack did not name: student B, bypassing the app with their own token,
    # publishes their microphone under a number of their own choosing. Janus reports it, and Tack
    # sends it out of the room (its peer connection is hung up, its slot freed).
    media = web.api(b_page.context, "POST", f"/api/v1/orgs/{org_id}/live/{class_id}/watch", {"mode": "live"}).json()["media"]
    rogue_feed = 4242
    b_page.evaluate("""async ({ url, token, room, feed }) => {
        const { JanusSession } = await import('/js/features/live/janus.js');
        const session = await JanusSession.connect(url, { token });
        window.rogue = { hungUp: false, error: null };
        session.addEventListener('hangup', () => { window.rogue.hungUp = true; });
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        try { await session.publish(room, stream, { display: 'rogue', id: feed }); } catch (error) { window.rogue.error = String(error); }
    }""", {"url": media["url"], "token": media["token"], "room": media["room"], "feed": rogue_feed})
    b_page.wait_for_function("() => window.rogue.hungUp || window.rogue.error", timeout=20_000)
    def participants():
        return {p["id"] for p in janus.videoroom({"request": "listparticipants", "room": media["room"]})["participants"]}
    deadline = time.monotonic() + 20
    while rogue_feed in participants():
        assert time.monotonic() < deadline, "Tack did not send the rogue feed away"
        b_page.wait_for_timeout(200)
    assert participants() == {media["teacherFeed"]}, participants()
    # Student B still watches the teacher.
    rising(b_page, "live-video", "video", "framesDecoded", minimum=5)

    # Heartbeats credit each student's watching, never more than the time they had the page open.
    def seconds_watched():
        stats = web.api(teacher_page.context, "GET", f"/api/v1/orgs/{org_id}/live/{class_id}/statistics").json()
        return {row["person"]["name"]: row["liveSeconds"] for row in stats["items"]}
    deadline = time.monotonic() + 40
    while min(seconds_watched().values()) <= 0 and time.monotonic() < deadline:
        teacher_page.wait_for_timeout(500)
    watched = seconds_watched()
    elapsed = time.monotonic() - opened_at
    for name in (student_a.name, student_b.name):
        assert 0 < watched[name] <= elapsed + 1, (watched, elapsed)

    # The teacher ends the class: everybody's media stops.
    teacher_page.get_by_test_id("live-end").click()
    on_air_seconds = time.monotonic() - on_air_at
    for page in (teacher_page, a_page, b_page):
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "ended", timeout=20_000)
        expect(page.get_by_test_id("live-video")).to_have_count(0)

    # The recording becomes the replay (a job, a few seconds after the end), in both groups.
    for page in (a_page, b_page):
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "replay_ready", timeout=120_000)
    replay = web.api(teacher_page.context, "GET", f"/api/v1/orgs/{org_id}/live/{class_id}").json()["replay"]
    file = tmp_path / "replay.webm"
    file.write_bytes(web.api(b_page.context, "GET", f"/api/v1/orgs/{org_id}/live/{class_id}/replay").body())
    info = probe(file)
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"], info
    # The picture from the teacher going on the air until the end (the press and the end's
    # round trip are not recorded).
    assert on_air_seconds - 4 <= info["duration"] <= on_air_seconds + 1, (info, on_air_seconds)
    assert abs(replay["seconds"] - info["duration"]) < 0.5, (replay, info)
    for name, group in (("Class 7A", groups[0]), ("Class 7B", groups[1])):
        a_page.goto(f"/#/org/{org_id}/chat/{group}") if name == "Class 7A" else b_page.goto(f"/#/org/{org_id}/chat/{group}")
        page = a_page if name == "Class 7A" else b_page
        expect(page.get_by_test_id("message-live-link").last).to_contain_text("replay")
    # It plays in the browser.
    b_page.goto(f"/#/org/{org_id}/live/{class_id}")
    player = b_page.get_by_test_id("live-replay")
    expect(player).to_be_visible()
    player.evaluate("(v) => { v.muted = true; return v.play(); }")
    b_page.wait_for_function("() => document.querySelector('[data-testid=live-replay]').currentTime > 1", timeout=20_000)
    print("live media:", json.dumps({"on_air_to_first_frame_s": first_frames, "audio_packets_per_s": audio_rate, "watched_s": watched,
                                     "on_air_s": on_air_seconds, "replay": info}))
