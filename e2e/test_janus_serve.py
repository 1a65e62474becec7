"""`scripts/janus serve`: Janus for a real installation, and a Tack driving it.

The script runs Janus in the foreground with its configuration written from the variables the
README lists, and secrets made once and kept in its folder; a Tack given `TACK_JANUS_DIR` then
runs live classes with video through it. Media itself is tested in `e2e/media/` (it needs a
network namespace); here the addresses, the secrets, the event handler's wiring and Tack's
control of the rooms are checked. Needs `janus` (scripts/test installs it) and TACK_BIN.
"""

import base64
import os
import shutil
import signal
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from test_server_process import TACK_BIN, Server, free_port, sign_up

pytestmark = pytest.mark.skipif(not TACK_BIN, reason="set TACK_BIN to the tack executable")

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "janus"


def env_file(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


class Serving:
    """`scripts/janus serve DIR` as a child process (it becomes Janus)."""

    def __init__(self, directory: Path, env: dict):
        self.directory, self.env = directory, env
        self.log = open(directory.parent / "janus-serve.log", "ab")
        self.process = subprocess.Popen([str(SCRIPT), "serve", str(directory)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{env['JANUS_HTTP_PORT']}/janus/info"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("Janus did not start:\n" + (directory.parent / "janus-serve.log").read_text())
                time.sleep(0.1)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def test_serve_runs_janus_for_an_installation_and_tack_drives_it(tmp_path):
    if shutil.which("janus") is None:
        pytest.fail("janus is not installed (scripts/test installs it: apt-get install janus)")
    directory = tmp_path / "janus"
    tack = Server()
    env = {**os.environ, "JANUS_HTTP_PORT": str(free_port()), "JANUS_ADMIN_PORT": str(free_port()), "JANUS_WS_PORT": str(free_port()),
           "JANUS_WS_IP": "127.0.0.1", "JANUS_PUBLIC_URL": "wss://media.example.org/janus", "JANUS_PUBLIC_IP": "203.0.113.7",
           "JANUS_RTP_PORT_RANGE": "30000-30100", "TACK_PORT": str(tack.port)}
    janus = Serving(directory, env)
    try:
        # What it wrote: Tack's addresses, browsers' address, the NAT mapping, events to Tack.
        endpoints = env_file(directory / "endpoints.env")
        assert endpoints["JANUS_WS_URL"] == "wss://media.example.org/janus"
        assert endpoints["JANUS_HTTP_URL"] == f"http://127.0.0.1:{env['JANUS_HTTP_PORT']}/janus"
        assert endpoints["JANUS_ADMIN_URL"] == f"http://127.0.0.1:{env['JANUS_ADMIN_PORT']}/admin"
        assert stat.S_IMODE((directory / "secrets.env").stat().st_mode) == 0o600
        config = (directory / "janus.jcfg").read_text()
        assert 'nat_1_1_mapping = "203.0.113.7"' in config and '"30000-30100"' in config
        assert "ice_enforce_list" not in config and "10.99.0.1" not in config, "nothing of the test namespace"
        events = (directory / "janus.eventhandler.sampleevh.jcfg").read_text()
        assert f'backend = "http://127.0.0.1:{tack.port}/api/v1/media/janus-events"' in events and "enabled = true" in events
        secrets = env_file(directory / "secrets.env")

        # Tack, given the folder, runs a class with video through it.
        tack.extra_env = {"TACK_JANUS_DIR": str(directory)}
        tack.start()
        token = sign_up(tack)
        status, org = tack.call("POST", "/api/v1/orgs", {"name": "School", "kind": "school"}, token)
        assert status == 201, org
        org_id = org["organization"]["id"]
        status, group = tack.call("POST", f"/api/v1/orgs/{org_id}/conversations", {"name": "7A", "memberIds": []}, token)
        assert status == 201, group

        def start_class(title):
            status, made = tack.call("POST", f"/api/v1/orgs/{org_id}/live", {"title": title, "groupIds": [group["id"]], "startNow": True}, token)
            assert status == 201 and made["mediaAvailable"] is True, made
            status, opened = tack.call("POST", f"/api/v1/orgs/{org_id}/live/{made['id']}/watch", {"mode": "live"}, token)
            assert status == 200, opened
            assert opened["media"]["url"] == "wss://media.example.org/janus" and opened["media"]["publish"] is True
            assert secrets["JANUS_API_SECRET"] not in str(opened)
            return opened["media"]

        start_class("Maths")
        # Janus's events reach Tack with the credentials the script gave it, and only with them.
        def post_events(password):
            auth = base64.b64encode(f"janus:{password}".encode()).decode()
            return tack.call("POST", "/api/v1/media/janus-events", [], headers={"Authorization": "Basic " + auth})[0]
        assert post_events(secrets["JANUS_API_SECRET"]) == 204
        assert post_events("guess") == 401

        # A restart (an upgrade, a reboot) keeps the secrets: the running Tack still drives it.
        janus.stop()
        janus = Serving(directory, env)
        assert env_file(directory / "secrets.env") == secrets
        start_class("Art")
    finally:
        janus.stop()
        if tack.process and tack.process.poll() is None:
            tack.stop()
