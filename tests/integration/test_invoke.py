"""`make invoke` on every file of events/: the function's answer, as JSON, on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXPECTED_STATUS = {"link-good.json": 201, "link-bad-token.json": 422, "link-bad-body.json": 400}


def test_every_event_file_has_an_expected_answer() -> None:
    assert sorted(path.name for path in (ROOT / "events").glob("*.json")) == sorted(EXPECTED_STATUS)


@pytest.mark.parametrize("event", sorted(EXPECTED_STATUS))
def test_invoke_prints_the_functions_answer(event: str) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "local.invoke", "--event", f"events/{event}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answer = json.loads(child.stdout)
    assert answer["statusCode"] == EXPECTED_STATUS[event]
    assert json.loads(answer["body"])
    assert '"correlation_id":"' + event.removesuffix(".json") + '-request-id"' in child.stderr
