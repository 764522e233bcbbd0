"""`make invoke` on every file of events/: the function's answer, as JSON, on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "link-good.json": ("LinkFunction", {"statusCode": 201}),
    "link-bad-token.json": ("LinkFunction", {"statusCode": 422}),
    "link-bad-body.json": ("LinkFunction", {"statusCode": 400}),
    # good (linked), bad token and malformed (both permanent: dropped): nothing to redeliver
    "sqs-submitted-batch.json": ("ProvisioningFunction", {"batchItemFailures": []}),
    "eventbridge-submitted.json": ("ProvisioningFunction", {"outcome": "linked"}),
}


def test_every_event_file_has_an_expected_answer() -> None:
    assert sorted(path.name for path in (ROOT / "events").glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("event", sorted(EXPECTED))
def test_invoke_prints_the_functions_answer(event: str) -> None:
    function, expected = EXPECTED[event]
    child = subprocess.run(
        [sys.executable, "-m", "local.invoke", "--function", function, "--event", f"events/{event}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answer = json.loads(child.stdout)
    assert expected.items() <= answer.items()
    assert '"function_name":"sesame-link-local-' + function in child.stderr
