"""A handler module pauses the cyclic collector while it loads: it must resume it, and freeze
what it loaded, or an execution environment would never collect a cycle again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
REPORT = "import gc, json; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"


@pytest.mark.parametrize("module", ["sesame_link.handlers.api", "sesame_link.handlers.provisioning"])
def test_loading_a_handler_leaves_the_collector_running_and_the_loaded_objects_frozen(module: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", f"import {module}; {REPORT}"],
        cwd=FUNCTIONS,
        env={**os.environ, "KMS_KEY_ID": "alias/sesame-link", "AWS_DEFAULT_REGION": "eu-west-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    enabled, frozen = json.loads(child.stdout.strip().splitlines()[-1])
    assert enabled is True
    assert frozen > 10_000
