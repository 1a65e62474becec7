"""The HTTP API answers as openapi.yaml says: Schemathesis generates requests for every operation
(valid and invalid ones) against a server of its own and checks every response against the
document — status codes, content types, headers, body schemas — and that nothing is a 5xx.

Sign-out and password change are left out only because they would end the session the run uses.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from test_server_process import Server

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "unsupported_method",
])

pytestmark = pytest.mark.skipif(not os.environ.get("TACK_BIN"), reason="set TACK_BIN to the tack executable")


def test_every_operation_answers_as_documented():
    server = Server().start()
    try:
        status, body = server.call("POST", "/api/v1/auth/signup", {
            "name": "Contract", "login": f"{uuid.uuid4().hex[:12]}@example.test", "password": "correct horse", "mode": "token"})
        assert status == 201, body
        token = body["token"]
        # A little data for the operations under an organisation to find.
        status, org = server.call("POST", "/api/v1/orgs", {"name": "Contract"}, token)
        assert status == 201, org
        st = Path(sys.executable).with_name("st")
        run = subprocess.run(
            [str(st), "run", f"{server.base}/openapi.yaml", "-H", f"Authorization: Bearer {token}",
             "--checks", CHECKS, "--max-examples", "25", "--seed", "20261130",
             "--exclude-path-regex", "^/api/v1/(auth/signout|me/password)$", "--no-color"],
            capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, (run.stdout[-6000:] + run.stderr[-2000:]
                                     + "\nserver log:\n" + "\n".join(server.log_lines[-40:]))
    finally:
        server.stop()
