"""Time to the first frame in a live class, through Tack and Janus (bench/live-join runs this as
root; see bench/README.md).

In a network namespace of its own: Janus (scripts/janus), Tack (TACK_BIN, SQLite, driving that
Janus) and Chromium with a fake 640x480 camera. A teacher and a student, the ordinary web app.

- "go live → first frame": the student's class page is open and waiting; the teacher presses
  "Go on the air"; the time until the student's page shows the first frame of the picture
  (the <video> has a size). Then the teacher goes off the air, and again, JOINS times.
- "open → first frame": the teacher is on the air; the student opens the class page (from
  another page of the app); the time until the first frame. JOINS times.

Both clocks are `Date.now()` of pages in the same browser on the same machine.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "e2e" / "media"))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from media_harness import Janus, Namespace, TackServer, load_web_helpers  # noqa: E402

CHROMIUM_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 "--autoplay-policy=no-user-gesture-required", "--no-sandbox"]
PORT_BASE = 19400

# Resolves with Date.now() when the class page's video has its first frame.
FIRST_FRAME = """() => new Promise((resolve) => {
    const check = () => {
        const v = document.querySelector('[data-testid=live-video]');
        if (v && v.videoWidth > 0) resolve(Date.now()); else setTimeout(check, 5);
    };
    check();
})"""


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values):
    return {"n": len(values), "p50_ms": round(statistics.median(values)), "p99_ms": round(percentile(values, 99)),
            "min_ms": round(min(values)), "max_ms": round(max(values))}


def run(joins: int, tack_bin: str) -> dict:
    web = load_web_helpers()
    work = Path(tempfile.mkdtemp(prefix="tack-live-join-"))
    namespace = Namespace(f"tack-join-{os.getpid()}")
    namespace.start()
    try:
        with namespace.entered():
            # Janus reports publishers to Tack, as in an installation.
            janus = Janus(namespace, work / "janus", PORT_BASE, f"http://127.0.0.1:{PORT_BASE + 5}/api/v1/media/janus-events")
            janus.start()
            tack = TackServer(namespace, janus, work / "tack", PORT_BASE + 5, tack_bin)
            try:
                tack.wait_ready()
                web.BASE_URL = tack.url
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                                                         args=CHROMIUM_ARGS)
                    try:
                        return measure(browser, web, tack.url, joins)
                    finally:
                        browser.close()
            finally:
                tack.stop()
                janus.stop()
    finally:
        namespace.stop()


def measure(browser, web, url, joins):
    def new_context(**options):
        return browser.new_context(base_url=url, locale="en-US", **options)

    teacher_page = new_context().new_page()
    _, _, org_id = web.sign_up_with_org(teacher_page, kind="school")
    student, student_page = web.join_org(new_context, teacher_page.context, org_id)
    group = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/conversations",
                    {"name": "Class 7A", "memberIds": [web.member_id(teacher_page.context, org_id, student.name)]}).json()["id"]
    made = web.api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/live", {"title": "Bench", "groupIds": [group], "startNow": True})
    assert made.status == 201, made.text()
    class_path = f"/#/org/{org_id}/live/{made.json()['id']}"
    teacher_page.goto(class_path)
    student_page.goto(class_path)
    expect(student_page.get_by_test_id("live-waiting")).to_be_visible()

    go_live = []
    for _ in range(joins):
        student_page.evaluate(f"() => {{ window.tackFirstFrame = null; ({FIRST_FRAME})().then((at) => {{ window.tackFirstFrame = at; }}); }}")
        pressed = teacher_page.evaluate("() => { const at = Date.now(); document.querySelector('[data-testid=live-go-on-air]').click(); return at; }")
        go_live.append(student_page.wait_for_function("() => window.tackFirstFrame", timeout=30_000).json_value() - pressed)
        teacher_page.get_by_test_id("live-off-air").click()
        expect(student_page.get_by_test_id("live-video")).to_have_count(0, timeout=20_000)
        expect(teacher_page.get_by_test_id("live-go-on-air")).to_be_visible()

    teacher_page.get_by_test_id("live-go-on-air").click()
    expect(teacher_page.get_by_test_id("live-preview")).to_be_visible(timeout=20_000)
    open_join = []
    chat_path = f"/#/org/{org_id}/chat/{group}"
    for _ in range(joins):
        student_page.goto(chat_path)
        expect(student_page.get_by_test_id("conversation-title")).to_be_visible()
        opened = student_page.evaluate(f"() => {{ const at = Date.now(); location.hash = {json.dumps(class_path[1:])}; return at; }}")
        open_join.append(student_page.evaluate(FIRST_FRAME) - opened)
    return {"go_live_to_first_frame": summary(go_live), "open_to_first_frame": summary(open_join),
            "go_live_ms": go_live, "open_ms": open_join}


def main():
    # A timeout's SIGTERM unwinds like ^C, so the namespace, Janus and Tack are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=20)
    parser.add_argument("--tack-bin", default=os.environ.get("TACK_BIN", str(REPO / ".build" / "release" / "tack")))
    args = parser.parse_args()
    print(json.dumps(run(args.joins, args.tack_bin), indent=2))


if __name__ == "__main__":
    main()
