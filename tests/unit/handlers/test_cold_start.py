"""A handler module pauses the cyclic collector while it loads: it must resume it, and freeze
what it loaded, or an execution environment would never collect a cycle again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
REPORT = "import gc, json; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"


# What the handlers read at import; nothing is called.
ENVIRONMENT = {
    "KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/import-only",
    "MAC_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/import-only-mac",
    "CONNECTIONS_TABLE": "import-only",
    "ATTEMPTS_TABLE": "import-only-attempts",
    "SESSIONS_TABLE": "import-only-sessions",
    "SECRET_READER_ARNS": "arn:aws:iam::123456789012:role/import-only-check",
    "CHECK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/import-only",
    "SWEEP_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/import-only-sweep",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.mark.parametrize(
    "module",
    [
        "sesame_link.handlers.api",
        "sesame_link.handlers.provisioning",
        "sesame_link.handlers.check",
        "sesame_link.handlers.sweep",
    ],
)
def test_loading_a_handler_leaves_the_collector_running_and_the_loaded_objects_frozen(module: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", f"import {module}; {REPORT}"],
        cwd=FUNCTIONS,
        env={**os.environ, **ENVIRONMENT},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    enabled, frozen = json.loads(child.stdout.strip().splitlines()[-1])
    assert enabled is True
    assert frozen > 10_000


def test_the_first_invocation_is_told_how_long_the_first_handler_modules_imports_took() -> None:
    """What an HTTP door subtracts from API Gateway's 30 s on a cold start (handlers/http.py)."""
    script = (
        "import time, json; from sesame_link.handlers import cold_start as c; time.sleep(0.3); c.loaded(); "
        "time.sleep(0.5); c.loaded(); "
        "print(json.dumps([c.initialization_seconds(), c.initialization_seconds()]))"
    )
    child = subprocess.run(
        [sys.executable, "-c", script], cwd=FUNCTIONS, capture_output=True, text=True, timeout=60, check=True
    )
    first, later = json.loads(child.stdout.strip().splitlines()[-1])
    assert 0.3 <= first < 0.5
    assert later == 0.0
