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
# On a stack of its own (no make run going): an empty registry.
EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "link-good.json": ("LinkFunction", {"statusCode": 201}),
    "link-bad-token.json": ("LinkFunction", {"statusCode": 422}),
    "link-bad-body.json": ("LinkFunction", {"statusCode": 400}),
    "list-connections.json": ("LinkFunction", {"statusCode": 200}),
    "get-connection.json": ("LinkFunction", {"statusCode": 404}),
    "delete-connection.json": ("LinkFunction", {"statusCode": 404}),
    "check-connection.json": ("CheckFunction", {"statusCode": 404}),
    # a connection unlinked since it was queued: nothing to check, nothing to redeliver
    "sqs-check-batch.json": ("CheckFunction", {"batchItemFailures": []}),
    "sweep-scheduled.json": ("SweepFunction", {"queued": 0, "continued": False}),
    # good (linked), bad token and malformed (both permanent: dropped): nothing to redeliver
    "sqs-submitted-batch.json": ("ProvisioningFunction", {"batchItemFailures": []}),
    "eventbridge-submitted.json": ("ProvisioningFunction", {"outcome": "linked"}),
    # the connect sessions: a mint by an IAM caller; the rest name no session of this new stack
    "session-mint.json": ("LinkFunction", {"statusCode": 201}),
    "session-state.json": ("LinkFunction", {"statusCode": 404}),
    "session-page.json": ("LinkFunction", {"statusCode": 401}),
    "session-link.json": ("LinkFunction", {"statusCode": 401}),
    "connect-page.json": ("LinkFunction", {"statusCode": 200}),
}


# Reads answered without a log line (their metrics are API Gateway's).
QUIET = {
    "list-connections.json",
    "get-connection.json",
    "delete-connection.json",
    "check-connection.json",
    "session-mint.json",
    "session-state.json",
    "session-page.json",
    "connect-page.json",
}


def test_every_event_file_has_an_expected_answer() -> None:
    assert sorted(path.name for path in (ROOT / "events").glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("event", sorted(EXPECTED))
def test_invoke_prints_the_functions_answer(event: str) -> None:
    function, expected = EXPECTED[event]
    child = subprocess.run(
        [sys.executable, "-m", "local.tools.invoke", "--function", function, "--event", f"events/{event}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOCAL_STACK_FILE": str(ROOT / "no-such-stack.json")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answer = json.loads(child.stdout)
    assert expected.items() <= answer.items()
    assert "local stack: started for this invoke" in child.stderr
    if event not in QUIET:
        assert '"function_name":"sesame-link-local-' + function in child.stderr
