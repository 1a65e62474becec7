"""Real media through Janus, end to end: a page publishes a fake camera and microphone into a
recorded VideoRoom with Public/js/features/live/janus.js, a second page subscribes and decodes
it, and the recording becomes one .webm with video and audio — converted by `tack live-replay
convert`, the server's own converter (so the Swift package must be built first).

The room is created the way Tack will create it (API secret + the VideoRoom admin key, a room
secret, recording locked on); each page uses a token of its own added through the admin API.
A second test checks that a publisher hears of another publisher's feed and of its leaving.
"""

import json
import random

from media_harness import convert_recording, probe

SAMPLE_MS = 2000


def open_page(browser, url: str, janus):
    """A test page in a browser context of its own, connected to Janus with a token of its own."""
    page = browser.new_context().new_page()
    page.goto(url + "/index.html")
    page.wait_for_selector("body[data-ready=true]")
    page.evaluate("([url, token]) => smoke.connect(url, token)", [janus.ws_url, janus.add_token()])
    return page


def test_publish_subscribe_and_record(janus, test_pages, media_browser, tmp_path):
    room = random.randint(1, 2**31)
    created = janus.create_room(room, secret="room-secret", record=True)
    assert created["videoroom"] == "created", created

    publisher = open_page(media_browser, test_pages, janus)
    subscriber = open_page(media_browser, test_pages, janus)

    published = publisher.evaluate("(room) => smoke.publish(room)", room)
    subscribed = subscriber.evaluate("([room, feed]) => smoke.subscribe(room, feed)", [room, published["feed"]])
    watched = subscriber.evaluate("() => smoke.firstFrame()")

    sample = subscriber.evaluate(f"() => smoke.sample({SAMPLE_MS})")
    before, after = sample["before"], sample["after"]
    frames = after["video"]["framesDecoded"] - before["video"]["framesDecoded"]
    audio_packets = after["audio"]["packetsReceived"] - before["audio"]["packetsReceived"]
    # Chromium's fake camera runs at 20 frames/s, Opus at 50 packets/s: half proves media flows.
    assert frames >= SAMPLE_MS / 1000 * published["camera"]["frameRate"] / 2, sample
    assert audio_packets >= SAMPLE_MS / 1000 * 25, sample

    print("media smoke:", json.dumps({
        "publish_to_publisher_webrtcup_ms": published["published"] - published["publishStart"],
        "subscribe_to_webrtcup_ms": watched["webrtcUp"] - subscribed["subscribeStart"],
        "subscribe_to_first_frame_ms": watched["firstFrame"] - subscribed["subscribeStart"],
        "publish_to_first_frame_ms": watched["firstFrame"] - published["publishStart"],
        "decoded_fps": frames / (SAMPLE_MS / 1000),
        "audio_packets_per_s": audio_packets / (SAMPLE_MS / 1000),
        "camera": published["camera"],
        "decoded_resolution": f'{after["video"].get("frameWidth")}x{after["video"].get("frameHeight")}',
    }))

    left = publisher.evaluate("() => smoke.leave()")
    subscriber.evaluate("() => smoke.close()")
    publisher.evaluate("() => smoke.close()")
    janus.stop()  # closes every recording for certain

    replay = convert_recording(janus.recordings, tmp_path / "replay.webm")
    info = probe(replay)
    kinds = sorted((stream["codec_type"], stream["codec_name"]) for stream in info["streams"])
    assert kinds == [("audio", "opus"), ("video", "vp8")], info
    # The recording starts with the first packets (a few tens of ms after publishing) and ends
    # when the publisher leaves.
    published_seconds = (left["left"] - published["publishStart"]) / 1000
    print("replay:", json.dumps({"published_s": round(published_seconds, 2), **info}))
    assert published_seconds - 1.0 <= info["duration"] <= published_seconds + 0.25, (info, published_seconds)


def test_a_publisher_sees_other_feeds_come_and_go(janus, test_pages, media_browser):
    """What the teacher's page relies on when a student is accepted to speak and stops."""
    room = random.randint(1, 2**31)
    janus.create_room(room, secret="room-secret", record=False, publishers=2)
    teacher = open_page(media_browser, test_pages, janus)
    student = open_page(media_browser, test_pages, janus)

    teacher.evaluate("(room) => smoke.publish(room)", room)
    feed = student.evaluate("(room) => smoke.publish(room)", room)["feed"]
    teacher.wait_for_function(
        "(feed) => smoke.events.some((e) => e.type === 'publishers' && e.detail.publishers.some((p) => p.id === feed))",
        arg=feed)
    student.evaluate("() => smoke.leave()")
    teacher.wait_for_function("(feed) => smoke.events.some((e) => e.type === 'unpublished' && e.detail.feed === feed)",
                              arg=feed)
    assert [e["type"] for e in teacher.evaluate("() => smoke.events")] == ["publishers", "unpublished"]
    student.evaluate("() => smoke.close()")
    teacher.evaluate("() => smoke.close()")
