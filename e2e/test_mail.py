"""E-mail against real SMTP servers (aiosmtpd on 127.0.0.1, with a certificate made for the test):
STARTTLS with AUTH PLAIN, implicit TLS with AUTH LOGIN, a plain relay; the admin's test e-mail, a
DING by e-mail and a mention still unread — each arrives with the right headers and body, and the
password is never shown or logged."""

import email
import json
import email.policy
import queue
import socket
import ssl
import subprocess
import uuid

import pytest
from websockets.sync.client import connect as websocket
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from test_server_process import TACK_BIN, Server

pytestmark = pytest.mark.skipif(not TACK_BIN, reason="set TACK_BIN to the tack executable")

USER, PASSWORD = "tack-mailer", "s3cret-smtp-passw0rd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Keeps every message the SMTP servers accept, with how it came (TLS, AUTH)."""

    def __init__(self):
        self.messages = queue.Queue()

    async def handle_DATA(self, server, session, envelope):
        self.messages.put({
            "tls": session.ssl is not None,
            "login": session.auth_data,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message": email.message_from_bytes(envelope.original_content, policy=email.policy.default),
        })
        return "250 OK: queued as " + uuid.uuid4().hex[:8]

    def next(self, server, timeout=30) -> dict:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no e-mail arrived; the server's log:\n" + "\n".join(server.log_lines[-40:])) from None


class Mechanisms:
    """Accepts USER/PASSWORD and records the mechanism used."""

    def __init__(self):
        self.used = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.used.append(mechanism)
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def smtp(certificate):
    """Three SMTP servers sharing one sink: STARTTLS (AUTH required after TLS), implicit TLS
    (AUTH LOGIN only), and a plain relay without TLS or AUTH."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink, auth = Sink(), Mechanisms()
    ports = {"starttls": free_port(), "tls": free_port(), "none": free_port()}
    controllers = [
        Controller(sink, hostname="127.0.0.1", port=ports["starttls"], tls_context=context, require_starttls=True,
                   authenticator=auth, auth_required=True, auth_require_tls=True),
        # aiosmtpd does not count implicit TLS as TLS for AUTH; this port speaks nothing else.
        Controller(sink, hostname="127.0.0.1", port=ports["tls"], ssl_context=context, authenticator=auth,
                   auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["PLAIN"], server_hostname="localhost"),
        Controller(sink, hostname="127.0.0.1", port=ports["none"]),
    ]
    for c in controllers:
        c.start()
    yield sink, auth, ports
    for c in controllers:
        c.stop()


@pytest.fixture(scope="module")
def server(certificate):
    s = Server(TACK_SMTP_CA_FILE=str(certificate[0]), TACK_MENTION_EMAIL_DELAY="1",
               TACK_PUBLIC_URL="https://tack.example.test").start()
    yield s
    s.stop()


def person(server, name):
    login = f"{uuid.uuid4().hex[:10]}@example.test"
    status, body = server.call("POST", "/api/v1/auth/signup", {"name": name, "login": login, "password": "correct horse", "mode": "token"})
    assert status == 201, body
    return {"token": body["token"], "user": body["user"]["id"], "email": login, "name": name}


@pytest.fixture
def org(server):
    """An owner and two members, each with an e-mail address."""
    owner = person(server, "Olga Owner")
    status, created = server.call("POST", "/api/v1/orgs", {"name": "Mail test"}, owner["token"])
    assert status == 201, created
    org_id = created["organization"]["id"]
    people = [owner]
    for name in ["Mia 米娅", "Ned"]:
        p = person(server, name)
        status, invitation = server.call("POST", f"/api/v1/orgs/{org_id}/invitations", {}, owner["token"])
        assert status == 201, invitation
        status, joined = server.call("POST", f"/api/v1/invitations/{invitation['code']}/accept", None, p["token"])
        assert status == 200, joined
        p["member"] = joined["member"]["id"]
        people.append(p)
    return org_id, people


def configure(server, org_id, owner, security, port, **extra):
    body = {"host": "localhost" if security != "none" else "127.0.0.1", "port": port, "security": security,
            "fromAddress": "tack@school.example", "fromName": "Tack 通知", **extra}
    return server.call("PUT", f"/api/v1/orgs/{org_id}/mail-settings", body, owner["token"])


def body_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_starttls_with_auth_plain_sends_the_admins_test_email(server, smtp, org):
    sink, auth, ports = smtp
    org_id, (owner, _, _) = org
    status, settings = configure(server, org_id, owner, "starttls", ports["starttls"], username=USER, password=PASSWORD)
    assert status == 200, settings
    assert settings["configured"] and settings["passwordSet"] and "password" not in settings
    status, got = server.call("GET", f"/api/v1/orgs/{org_id}/mail-settings", None, owner["token"])
    assert status == 200 and got["passwordSet"] and PASSWORD not in str(got)

    status, result = server.call("POST", f"/api/v1/orgs/{org_id}/mail-settings/test", None, owner["token"])
    assert status == 200, result
    assert result["to"] == owner["email"] and result["reply"].startswith("250")
    got = sink.next(server)
    assert got["tls"] and got["login"] == USER and auth.used[-1] == "PLAIN"
    assert got["mail_from"] == "tack@school.example" and got["rcpt_tos"] == [owner["email"]]
    message = got["message"]
    assert message["Subject"] == "Tack: test e-mail"
    assert message["From"].addresses[0].display_name == "Tack 通知"
    assert message["From"].addresses[0].addr_spec == "tack@school.example"
    assert message["To"].addresses[0].addr_spec == owner["email"]
    assert message["Date"] and message["Message-ID"].endswith("@school.example>")
    assert "The SMTP settings work." in body_text(message)
    # Neither the answers nor the server's log ever show the password.
    assert not any(PASSWORD in line for line in server.log_lines)


def test_wrong_password_is_reported_and_security_none_refuses_credentials(server, smtp, org):
    sink, auth, ports = smtp
    org_id, (owner, member, _) = org
    status, _ = configure(server, org_id, owner, "starttls", ports["starttls"], username=USER, password="wrong password")
    assert status == 200
    status, problem = server.call("POST", f"/api/v1/orgs/{org_id}/mail-settings/test", None, owner["token"])
    assert status == 502 and problem["code"] == "mail_failed" and "535" in problem["detail"], problem
    assert "wrong password" not in str(problem) and not any("wrong password" in line for line in server.log_lines)

    # Credentials in the clear are refused, and nothing changes.
    status, problem = configure(server, org_id, owner, "none", ports["none"], username=USER, password=PASSWORD)
    assert status == 422 and problem["code"] == "validation_failed", problem
    assert problem["errors"][0]["code"] == "insecure_auth"
    status, got = server.call("GET", f"/api/v1/orgs/{org_id}/mail-settings", None, owner["token"])
    assert got["security"] == "starttls" and got["port"] == ports["starttls"]
    # Members neither see nor change the settings.
    assert server.call("GET", f"/api/v1/orgs/{org_id}/mail-settings", None, member["token"])[0] == 403
    assert configure(server, org_id, member, "none", ports["none"])[0] == 403
    # STARTTLS demanded of a server that does not offer it fails plainly rather than sending in the clear.
    assert configure(server, org_id, owner, "starttls", ports["none"])[0] == 200
    status, problem = server.call("POST", f"/api/v1/orgs/{org_id}/mail-settings/test", None, owner["token"])
    assert status == 502 and "STARTTLS" in problem["detail"], problem


def test_a_ding_arrives_by_email_over_implicit_tls_with_auth_login(server, smtp, org):
    sink, auth, ports = smtp
    org_id, (owner, mia, ned) = org
    status, _ = configure(server, org_id, owner, "tls", ports["tls"], username=USER, password=PASSWORD)
    assert status == 200
    status, policy = server.call("GET", f"/api/v1/orgs/{org_id}/ding-policy", None, owner["token"])
    assert {p["channel"]: p["available"] for p in policy["providers"]}["email"] is True
    # Ned wants no DING e-mails.
    status, prefs = server.call("PUT", f"/api/v1/orgs/{org_id}/me/email-preferences",
                                {"dings": False, "mentions": True, "announcements": True}, ned["token"])
    assert status == 200 and prefs == {"dings": False, "mentions": True, "announcements": True, "available": True, "address": ned["email"]}

    with websocket(f"ws://127.0.0.1:{server.port}/api/v1/events",
                   additional_headers={"Authorization": "Bearer " + owner["token"]}) as events:
        assert json.loads(events.recv(timeout=10))["type"] == "hello"
        events.send(json.dumps({"type": "resume", "cursors": {}}))
        status, ding = server.call("POST", f"/api/v1/orgs/{org_id}/dings",
                                   {"memberIds": [mia["member"], ned["member"]], "text": "请确认：明天 8 点全员会议", "channel": "app"},
                                   owner["token"], headers={"Idempotency-Key": uuid.uuid4().hex})
        assert status == 201, ding
        got = sink.next(server)
        assert got["login"] == USER and auth.used[-1] == "LOGIN"
        assert got["rcpt_tos"] == [mia["email"]]
        message = got["message"]
        assert message["Subject"] == "DING from Olga Owner"
        assert message["To"].addresses[0].display_name == "Mia 米娅"
        assert message["Auto-Submitted"] == "auto-generated"
        text = body_text(message)
        assert "Olga Owner: 请确认：明天 8 点全员会议" in text and "https://tack.example.test/" in text

        # The sender sees the e-mail attempt and its outcome, live and beside the in-app one.
        while True:
            event = json.loads(events.recv(timeout=30))
            if event["type"] == "ding.attempt" and event["data"]["channel"] == "email" and event["data"]["status"] != "pending":
                assert event["data"]["status"] == "delivered" and event["data"]["userId"] == mia["user"], event
                break
    status, view = server.call("GET", f"/api/v1/orgs/{org_id}/dings/{ding['id']}", None, owner["token"])
    attempts = {r["person"]["name"]: {a["channel"]: a["status"] for a in r["attempts"]} for r in view["recipients"]}
    assert attempts["Mia 米娅"] == {"app": "delivered", "email": "delivered"}
    assert "email" not in attempts["Ned"]


def test_an_unread_mention_is_emailed_and_a_read_one_is_not(server, smtp, org):
    sink, _, ports = smtp
    org_id, (owner, mia, ned) = org
    assert configure(server, org_id, owner, "none", ports["none"])[0] == 200
    status, group = server.call("POST", f"/api/v1/orgs/{org_id}/conversations",
                                {"name": "Grade 8", "memberIds": [mia["member"], ned["member"]]}, owner["token"],
                                headers={"Idempotency-Key": uuid.uuid4().hex})
    assert status == 201, group
    conversation = group["id"]

    def mention(text):
        status, sent = server.call("POST", f"/api/v1/orgs/{org_id}/conversations/{conversation}/messages",
                                   {"clientKey": uuid.uuid4().hex, "text": text, "mentions": [mia["user"]]}, owner["token"])
        assert status in (200, 201), sent
        return sent["seq"]

    # Read at once: no e-mail. (The mention e-mail waits TACK_MENTION_EMAIL_DELAY = 1 s here.)
    seq = mention("@Mia first question")
    status, _ = server.call("POST", f"/api/v1/orgs/{org_id}/conversations/{conversation}/read", {"seq": seq}, mia["token"])
    assert status in (200, 204)
    mention("@Mia second question, still unread")
    got = sink.next(server)
    assert got["rcpt_tos"] == [mia["email"]] and not got["tls"] and got["login"] is None
    assert got["message"]["Subject"] == "Olga Owner mentioned you in “Grade 8”"
    assert "second question, still unread" in body_text(got["message"])
    assert sink.messages.empty()


def test_an_announcement_is_emailed_to_those_who_want_it(server, smtp, org):
    sink, _, ports = smtp
    org_id, (owner, mia, ned) = org
    assert configure(server, org_id, owner, "none", ports["none"])[0] == 200
    status, _ = server.call("PUT", f"/api/v1/orgs/{org_id}/me/email-preferences",
                            {"dings": True, "mentions": True, "announcements": False}, ned["token"])
    assert status == 200
    status, created = server.call("POST", f"/api/v1/orgs/{org_id}/announcements",
                                  {"title": "停课通知 School closed", "body": "<p>Classes move <b>online</b> from Monday.</p>",
                                   "wholeOrganization": True, "requireConfirmation": True},
                                  owner["token"], headers={"Idempotency-Key": uuid.uuid4().hex})
    assert status == 201, created
    got = sink.next(server)
    assert got["rcpt_tos"] == [mia["email"]], "Ned turned announcement e-mails off; the author gets none"
    message = got["message"]
    assert message["Subject"] == "Announcement: 停课通知 School closed"
    text = body_text(message)
    assert "Classes move online from Monday." in text and "<b>" not in text
    assert "confirm" in text
    assert sink.messages.empty()
