"""The pieces a media test is made of: a network namespace of its own, a throwaway Janus inside it,
a static file server inside it, and turning a room's recording into one .webm.

Everything runs inside the namespace (scripts/media-netns) because Janus never gathers ICE
candidates on loopback: media needs the namespace's veth address, 10.99.0.1 on t0. The test
process itself enters the namespace (`Namespace.entered`) so that the browser Playwright starts,
and its own HTTP calls to Janus's 127.0.0.1, are in there too. Needs root.
"""

import ctypes
import functools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs)


class Namespace:
    """A network namespace made by scripts/media-netns."""

    def __init__(self, name: str):
        self.name = name
        self.handle = Path("/run/netns") / name

    def start(self) -> None:
        _run(SCRIPTS / "media-netns", "start", self.name)

    def stop(self) -> None:
        """Ends every process inside and removes the namespace. Call it from outside (after
        `entered` is over): the script spares its own caller, not the whole test process."""
        _run(SCRIPTS / "media-netns", "stop", self.name)

    def command(self, *args) -> list[str]:
        """The command line that runs `args` inside the namespace."""
        return [str(SCRIPTS / "media-netns"), "exec", self.name, "--", *map(str, args)]

    @contextmanager
    def entered(self):
        """Moves the calling thread into the namespace for the block: its sockets, and every
        process it starts (Playwright's driver and so the browser), are inside."""
        with open("/proc/thread-self/ns/net") as home, open(self.handle) as target:
            _setns(target.fileno())
            try:
                yield self
            finally:
                _setns(home.fileno())


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def post_json(url: str, body: dict, timeout: float = 10) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class JanusFailure(Exception):
    pass


def check_janus_reply(reply: dict) -> dict:
    """A Janus reply, or JanusFailure for a Janus error or a VideoRoom error in its plugin data."""
    if reply.get("janus") == "error":
        raise JanusFailure(reply["error"])
    data = reply.get("plugindata", {}).get("data", {})
    if "error" in data:
        raise JanusFailure(data)
    return reply


@dataclass
class Janus:
    """A Janus started by scripts/janus in `directory`, inside `namespace`. The HTTP helpers must
    be called from inside the namespace (its 127.0.0.1)."""

    namespace: Namespace
    directory: Path
    port_base: int
    # Where Janus posts its events (a Tack's /api/v1/media/janus-events), or "none".
    events_url: str = "none"

    def start(self) -> None:
        _run(*self.namespace.command(SCRIPTS / "janus", "start", self.directory, self.port_base),
             env={**os.environ, "JANUS_EVENTS_URL": self.events_url})
        self.endpoints = _env_file(self.directory / "endpoints.env")
        self.secrets = _env_file(self.directory / "secrets.env")

    def stop(self) -> None:
        _run(SCRIPTS / "janus", "stop", self.directory)

    @property
    def ws_url(self) -> str:
        return self.endpoints["JANUS_WS_URL"]

    @property
    def ws_port(self) -> int:
        return int(self.ws_url.rsplit(":", 1)[1].split("/")[0])

    @property
    def recordings(self) -> Path:
        return Path(self.endpoints["JANUS_RECORDINGS_DIR"])

    def api(self, body: dict, path: str = "") -> dict:
        """One Janus API request over HTTP with the API secret (as Tack makes them)."""
        body = {**body, "transaction": uuid.uuid4().hex, "apisecret": self.secrets["JANUS_API_SECRET"]}
        return check_janus_reply(post_json(self.endpoints["JANUS_HTTP_URL"] + path, body))

    def admin(self, body: dict) -> dict:
        body = {**body, "transaction": uuid.uuid4().hex, "admin_secret": self.secrets["JANUS_ADMIN_SECRET"]}
        return check_janus_reply(post_json(self.endpoints["JANUS_ADMIN_URL"], body))

    def add_token(self) -> str:
        """A new token for one participant, valid for the VideoRoom plugin only."""
        token = uuid.uuid4().hex
        self.admin({"janus": "add_token", "token": token, "plugins": ["janus.plugin.videoroom"]})
        return token

    def videoroom(self, body: dict) -> dict:
        """Sends one synchronous VideoRoom request on a short-lived session; returns its data."""
        session = self.api({"janus": "create"})["data"]["id"]
        try:
            handle = self.api({"janus": "attach", "plugin": "janus.plugin.videoroom"}, f"/{session}")["data"]["id"]
            reply = self.api({"janus": "message", "body": body}, f"/{session}/{handle}")
            return reply["plugindata"]["data"]
        finally:
            self.api({"janus": "destroy"}, f"/{session}")

    def create_room(self, room: int, *, secret: str, record: bool, publishers: int = 1) -> dict:
        """Creates a VideoRoom as Tack will: with the plugin's admin key, a room secret, and
        recording into the recordings folder that participants cannot switch off."""
        body = {
            "request": "create",
            "room": room,
            "admin_key": self.secrets["JANUS_ROOM_ADMIN_KEY"],
            "secret": secret,
            "description": f"test room {room}",
            "publishers": publishers,
            "videocodec": "vp8",
            "audiocodec": "opus",
            "record": record,
            "rec_dir": str(self.recordings),
            "lock_record": True,
        }
        return self.videoroom(body)

    def rooms(self) -> list[int]:
        """Every VideoRoom (the admin key lists private ones too)."""
        listed = self.videoroom({"request": "list", "admin_key": self.secrets["JANUS_ROOM_ADMIN_KEY"]})
        return [room["room"] for room in listed["list"]]

    def publishers(self, room: int) -> dict[int, str]:
        """The feeds publishing in `room` now: feed id → display name."""
        listed = self.videoroom({"request": "listparticipants", "room": room})
        return {p["id"]: p.get("display", "") for p in listed["participants"] if p.get("publisher")}


def tcp_clients(port: int) -> set[int]:
    """The local ports of the established TCP connections to `port` on this namespace's addresses
    (the clients' ends; call from inside the namespace)."""
    out = _run("ss", "-Htn", "state", "established", f"( dport = :{port} )").stdout
    return {int(line.split()[2].rsplit(":", 1)[1]) for line in out.splitlines() if line.strip()}


def cut_tcp(port: int, clients: set[int]) -> None:
    """Destroys the connections to `port` from the local ports `clients` (`ss -K`, which needs a
    kernel with CONFIG_INET_DIAG_DESTROY): the client's socket is aborted and the server's end
    gets a reset, as when a network drops a connection. Call from inside the namespace."""
    assert clients
    match = " or ".join(f"sport = :{client}" for client in sorted(clients))
    killed = _run("ss", "-HKtn", f"( dport = :{port} ) and ( {match} )").stdout
    gone = {int(line.split()[3].rsplit(":", 1)[1]) for line in killed.splitlines() if line.strip()}
    assert gone == clients, f"ss -K destroyed {gone or 'nothing'}, not {clients}: {killed!r}"


class StaticServer:
    """`python3 -m http.server` on 127.0.0.1:`port` inside the namespace, serving `root`."""

    def __init__(self, namespace: Namespace, root: Path, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(root.parent / "http-server.log", "w")
        command = namespace.command(sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", root)
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        """Call from inside the namespace."""
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the static server did not start; see http-server.log")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class TackServer:
    """`tack serve` on 127.0.0.1:`port` inside the namespace, on SQLite in `data_dir`, driving
    `janus` (TACK_JANUS_DIR). Start it from inside the namespace (it waits for /readyz there)."""

    def __init__(self, namespace: Namespace, janus: Janus, data_dir: Path, port: int, binary: str, **env):
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = data_dir.parent / "tack.log"
        self.log = open(self.log_path, "w")
        # The web app of this tree (whatever the binary was built from or the working folder is).
        environment = {**os.environ, "TACK_PORT": str(port), "TACK_DATA_DIR": str(data_dir), "TACK_JANUS_DIR": str(janus.directory),
                       "TACK_PUBLIC_DIR": str(REPO / "Public"), "TACK_LOG_LEVEL": "warning", **env}
        environment.pop("TACK_DATABASE_URL", None)
        self.process = subprocess.Popen(namespace.command(binary, "serve"), env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/readyz", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("Tack did not start:\n" + self.log_path.read_text())
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@functools.cache
def load_web_helpers():
    """The browser tests' helpers (e2e/conftest.py: sign-up, invitations, API calls) as a module
    of its own name (this folder's conftest is the one pytest knows as `conftest`); one module for
    every caller. Set its `BASE_URL` to the server under test (the `tack` fixture does)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("tack_e2e", REPO / "e2e" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inbound(page, testid: str, kind: str) -> dict | None:
    """The inbound-rtp statistics of `kind` (audio|video) of the media element `testid` (from the
    `getStats()` of its `tackPeer`, the RTCPeerConnection the stage keeps on it)."""
    return page.evaluate("""async ([testid, kind]) => {
        const el = document.querySelector(`[data-testid="${testid}"]`);
        if (!el?.tackPeer) return null;
        const stats = await el.tackPeer.getStats();
        for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.kind === kind) return s;
        return null;
    }""", [testid, kind])


def rising(page, testid: str, kind: str, field: str, minimum: float, seconds: float = 2.0, within: float = 20.0) -> float:
    """Waits until `field` of the inbound `kind` stream has grown by `minimum` within `seconds`
    (polling the statistics, which change as media arrives; at most `within` seconds in all);
    returns the growth per second."""
    first = None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stats = inbound(page, testid, kind)
        if stats and field in stats:
            if first is None:
                first = (time.monotonic(), stats[field])
            elif time.monotonic() - first[0] >= seconds:
                growth = stats[field] - first[1]
                if growth >= minimum:
                    return growth / (time.monotonic() - first[0])
                first = (time.monotonic(), stats[field])
        page.wait_for_timeout(250)
    raise AssertionError(f"{kind} {field} did not rise by {minimum} in {seconds} s on {testid}: {inbound(page, testid, kind)}")


def mjr_header(path: Path) -> dict:
    """The JSON header of a Janus recording: t (a|v), c (codec), s (created, µs since the epoch),
    u (first packet written, µs)."""
    return json.loads(_run("janus-pp-rec", "-j", path).stdout)


def tack_binary() -> Path:
    """The `tack` executable to convert with: TACK_BIN, or the debug build of this tree."""
    return Path(os.environ.get("TACK_BIN", REPO / ".build" / "debug" / "tack"))


def convert_recording(recordings: Path, out: Path) -> Path:
    """Turns the room's .mjr files into `out` (.webm, VP8 + Opus) with the server's own converter,
    `tack live-replay convert` (janus-pp-rec per file, then ffmpeg: the teacher's picture, every
    voice mixed, each placed by its first packet)."""
    tack = tack_binary()
    assert tack.exists(), f"{tack} is missing: swift build (or set TACK_BIN)"
    _run(str(tack), "live-replay", "convert", recordings, out)
    return out


def probe(path: Path) -> dict:
    """ffprobe's view of a file: {"duration": seconds, "streams": [{codec_type, codec_name, …}]}."""
    out = _run("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name,width,height",
               "-of", "json", path).stdout
    info = json.loads(out)
    return {"duration": float(info["format"]["duration"]), "streams": info["streams"]}


def missing_tools() -> list[str]:
    return [tool for tool in ("janus", "janus-pp-rec", "ffmpeg", "ffprobe", "nsenter", "ip") if not shutil.which(tool)]
