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
