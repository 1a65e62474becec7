"""Fixtures for tests that carry real media through Janus (see README.md here).

Order of setup: a namespace (entered by the test process), Janus inside it, a static server for
the test pages (or Tack) inside it, Chromium inside it. Teardown runs the other way round, also
when the test fails: the browser, the static server (or Tack), Janus, then the test process leaves
the namespace and `scripts/media-netns stop` ends whatever is still inside.
"""

import os
import shutil
import signal

import pytest
from playwright.sync_api import sync_playwright

from media_harness import REPO, Janus, Namespace, StaticServer, TackServer, load_web_helpers, missing_tools

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Every port is inside the test's own namespace; the base only has to avoid clashes in there.
PORT_BASE = int(os.environ.get("TACK_MEDIA_PORT_BASE", "18700"))
TACK_BIN = os.environ.get("TACK_BIN", str(REPO / ".build" / "debug" / "tack"))
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
]


@pytest.fixture
def media_ns():
    if os.geteuid() != 0:
        pytest.fail("media tests need root: they make a network namespace (CI runs as root)")
    if missing := missing_tools():
        pytest.fail(f"missing {', '.join(missing)}: apt-get install janus janus-tools ffmpeg")
    namespace = Namespace(f"tack-media-{os.getpid()}")
    # A SIGTERM (a CI timeout, a cancelled run) would end the test process without teardown and
    # leave Janus and the static server running inside the namespace: turn it into an interrupt.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        namespace.start()
        with namespace.entered():
            yield namespace
    finally:
        namespace.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# Where the live-class tests start Tack (test_live_media.py's `tack` fixture).
TACK_PORT = PORT_BASE + 5


@pytest.fixture
def janus(request, media_ns, tmp_path):
    # Janus reports publishers to the test's Tack, if it has one (undeliverable events would be
    # retried and make Janus slow to stop).
    events = f"http://127.0.0.1:{TACK_PORT}/api/v1/media/janus-events" if "tack" in request.fixturenames else "none"
    server = Janus(media_ns, tmp_path / "janus", PORT_BASE, events)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def test_pages(media_ns, tmp_path):
    """Serves e2e/media/page/ with janus.js at the path Tack serves it from."""
    root = tmp_path / "www"
    shutil.copytree(REPO / "e2e" / "media" / "page", root)
    live = root / "js" / "features" / "live"
    live.mkdir(parents=True)
    shutil.copy(REPO / "Public" / "js" / "features" / "live" / "janus.js", live)
    server = StaticServer(media_ns, root, PORT_BASE + 3)
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def media_browser(media_ns):
    """Chromium with a fake camera (640x480) and microphone, inside the namespace."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tack(media_ns, janus, tmp_path):
    """Tack on 127.0.0.1 inside the namespace, driving the test's Janus; the browser tests'
    helpers (`load_web_helpers()`) talk to it."""
    server = TackServer(media_ns, janus, tmp_path / "tack", TACK_PORT, TACK_BIN, TACK_BCRYPT_COST="4")
    server.wait_ready()
    load_web_helpers().BASE_URL = server.url
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def new_context(media_browser, tack):
    """Makes browser contexts on Tack (`base_url`); what their pages log as errors or warnings
    goes to the test's output (shown when it fails)."""
    contexts = []

    def make(**options):
        options.setdefault("locale", "en-US")
        context = media_browser.new_context(base_url=tack, **options)
        context.on("console", lambda m: m.type in ("error", "warning") and print(f"console {m.type}: {m.text}"))
        context.on("weberror", lambda e: print(f"page error: {e.error}"))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
