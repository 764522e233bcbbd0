"""The token is radioactive: a whole process's output, every outcome, no token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import canary
from tests.support.stack import unsigned_jwt

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_no_outcome_of_any_function_writes_the_token_to_any_output_at_any_log_level(tmp_path: Path) -> None:
    token = canary.new_token()
    session_token_file = tmp_path / "session-token"
    jwt = unsigned_jwt({"sub": "tenant-canary", "jti": uuid.uuid4().hex})
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.link_everything"],
        cwd=ROOT,
        env={
            **os.environ,
            "CANARY_TOKEN": token,
            "CANARY_JWT": jwt,
            "SESSION_TOKEN_FILE": str(session_token_file),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'functions'}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = child.stdout + child.stderr
    assert child.returncode == 0, canary.redact(output[-3000:])
    statuses = json.loads(output.split("statuses ", 1)[1].splitlines()[0])
    assert statuses == [201, 200, 422, 422, 400, 400, 400, 401, 503, 502, 502, 504, 502]
    sessions = json.loads(output.split("sessions ", 1)[1].splitlines()[0])
    assert sessions == [201, 200, 422, 201, 410, 401], "minted, read, refused token, linked, used, tampered"
    session_token = session_token_file.read_text()
    assert session_token.startswith("cst_")
    assert session_token not in output, "a connect session token was written out"
    assert session_token[4:20] not in output
    batch = json.loads(output.split("batch ", 1)[1].splitlines()[0])
    assert batch == [{"itemIdentifier": "m-2"}]
    checks = json.loads(output.split("checks ", 1)[1].splitlines()[0])
    assert checks == [200, [], 3], "checked by route and by queue; the sweep queued the three tenants"
    # Not vacuous: the handler logged and emitted metrics for these outcomes.
    for expected in (
        '"code":"sesame_unavailable","retryable":true',
        '"Sesame account linked"',
        '"code":"wrong_region"',
        '"outcome":"sesame_rate_limited"',
        '"SesameLatency"',
        '"code":"invalid_request"',
        '"Connection checked"',
        '"Sweep done"',
        "DEBUG:botocore.endpoint:Sending http request",  # the root logger was at DEBUG
    ):
        assert expected in output
    assert token not in output, "the token was written to stdout or stderr"
    assert jwt.rsplit(".", 1)[0] not in output, "the product's JWT was written out"
    assert token[:16] not in output
    assert token[-16:] not in output
