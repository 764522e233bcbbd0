"""Every AWS call is bounded by the invocation's remaining time (DESIGN.md, "Deployment rules").
moto always answers at once, so AWS here is a loopback TCP server that accepts connections and
never answers. Each door must give its retryable answer before the Lambda timeout, which would
lose the answer and the metrics: botocore's own defaults (60 s read timeout, retries) would hang.

Each function runs in a child process so that its module-scope clients point at the black hole."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from local.stack.backends import DEMO_ACCOUNTS, FAKE_AWS_CREDENTIALS, LocalBackends
from local.stack.event_source import sqs_event_of
from local.stack.gateway import http_api_event
from sesame_link.adapters import aws
from sesame_link.core import deadline
from tests.support.child_invoke import invoke_in_child
from tests.support.fakes import Context

pytestmark = pytest.mark.integration
MARGIN_SECONDS = 0.25  # the answer must come this much before the Lambda timeout at least


@dataclass
class BlackHole:
    url: str
    held: list[socket.socket]


@pytest.fixture(scope="module")
def hole() -> Iterator[BlackHole]:
    """An endpoint that accepts every connection and never says a word."""
    server = socket.create_server(("127.0.0.1", 0), backlog=128)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield BlackHole(f"http://127.0.0.1:{server.getsockname()[1]}", held)
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


@pytest.fixture
def black_hole(hole: BlackHole) -> str:
    return hole.url


@pytest.fixture
def client_of_the_hole(hole: BlackHole, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of the functions' own kind (aws.client) whose endpoint is the black hole."""
    for name, value in {**FAKE_AWS_CREDENTIALS, "AWS_ENDPOINT_URL": hole.url}.items():
        monkeypatch.setenv(name, value)
    return aws.client("dynamodb")


def test_an_attempt_that_could_outlive_the_deadline_is_not_made(
    hole: BlackHole, client_of_the_hole: Any
) -> None:
    client = client_of_the_hole
    before = len(hole.held)
    deadline.start(Context(aws.ATTEMPT_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS - 0.5))
    started = time.monotonic()
    with pytest.raises(aws.NoTimeLeft):
        client.list_tables()
    assert time.monotonic() - started < 0.5
    assert len(hole.held) == before, "no connection was even opened"


def test_a_call_that_hangs_is_cut_off_by_its_timeouts_and_retry_budget(
    hole: BlackHole, client_of_the_hole: Any
) -> None:
    client = client_of_the_hole
    before = len(hole.held)
    deadline.start(Context(60))
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client.list_tables()
    elapsed = time.monotonic() - started
    expected = aws.MAX_ATTEMPTS * aws.READ_TIMEOUT_SECONDS
    assert expected <= elapsed <= expected + aws.MAX_BACKOFF_SECONDS + 0.5
    assert len(hole.held) - before == aws.MAX_ATTEMPTS


def invoke(
    backends: LocalBackends, black_hole: str, function: str, event: dict[str, Any], timeout: float
) -> dict[str, Any]:
    environment = {
        **backends.environment(),
        "AWS_ENDPOINT_URL": black_hole,
        # The simulator by path: the child has no local resolver for api-{region}.sesame.test.
        "SESAME_API_URL": f"http://127.0.0.1:{backends.sesame.port}/{{region}}",
    }
    return invoke_in_child(backends, function, event, environment, timeout)


def submitted(token: str) -> str:
    detail = {"tenant_id": f"tenant-{uuid.uuid4().hex[:8]}", "token": token, "region": "eu1"}
    return json.dumps({"detail-type": "Sesame Credential Submitted", "detail": detail})


def test_a_link_answers_storage_unavailable_before_the_lambda_timeout(
    backends: LocalBackends, black_hole: str
) -> None:
    token = DEMO_ACCOUNTS[0][0]
    event = http_api_event(
        "POST", "/connections", {"content-type": "application/json"},
        json.dumps({"token": token, "region": "eu1"}).encode(), {"sub": "tenant-deadline"}, "::1",
    )  # fmt: skip
    result = invoke(backends, black_hole, "LinkFunction", event, timeout=8)

    assert result["answer"]["statusCode"] == 503
    assert json.loads(result["answer"]["body"])["code"] == "storage_unavailable"
    assert 2.0 < result["seconds"] < 8 - MARGIN_SECONDS


def test_a_list_answers_storage_unavailable_before_the_lambda_timeout(
    backends: LocalBackends, black_hole: str
) -> None:
    event = http_api_event("GET", "/connections", {}, b"", {"sub": "tenant-deadline"}, "::1")
    result = invoke(backends, black_hole, "LinkFunction", event, timeout=6)

    assert result["answer"]["statusCode"] == 503
    assert result["seconds"] < 6 - MARGIN_SECONDS


def test_a_provisioning_batch_stops_taking_records_and_returns_them_all(
    backends: LocalBackends, black_hole: str
) -> None:
    event = sqs_event_of([submitted(DEMO_ACCOUNTS[0][0]) for _ in range(3)])
    result = invoke(backends, black_hole, "ProvisioningFunction", event, timeout=10)

    assert result["answer"] == {"batchItemFailures": [{"itemIdentifier": f"m-{index}"} for index in range(3)]}
    assert result["seconds"] < 10 - MARGIN_SECONDS
    failures = [line for line in result["logs"] if '"message":"Link failed"' in line]
    assert len(failures) == 1, "only the first record was started; the others were not tried, nor reported"
    assert '"code":"storage_unavailable"' in failures[0]


def test_a_check_batch_returns_every_message_before_the_lambda_timeout(
    backends: LocalBackends, black_hole: str
) -> None:
    bodies = [
        json.dumps({"tenant_id": "tenant-deadline", "connection_id": "conn_" + "0" * 32}) for _ in range(2)
    ]
    result = invoke(backends, black_hole, "CheckFunction", sqs_event_of(bodies), timeout=10)

    assert result["answer"] == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert result["seconds"] < 10 - MARGIN_SECONDS
    assert sum('"message":"Check inconclusive"' in line for line in result["logs"]) == 1, (
        "the second was not started"
    )


def test_a_sweep_fails_before_the_lambda_timeout(backends: LocalBackends, black_hole: str) -> None:
    result = invoke(backends, black_hole, "SweepFunction", {}, timeout=10)

    assert result["error"] == "StorageUnavailable"
    assert result["seconds"] < 10 - MARGIN_SECONDS
