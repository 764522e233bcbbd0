"""The scheduled health check's sweep: it queues a check of exactly the connections due, once
each, whatever its event says, and a sweep that runs out of time goes on where it stopped."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends
from local.stack.event_source import sqs_event, sqs_event_of
from local.template import FunctionSpec
from sesame_link.core import deadline, errors
from sesame_link.services.sweeping import MAX_HOPS, STEP_WORST_SECONDS
from tests.support import canary
from tests.support.stack import RawBody, registry_item, registry_items

pytestmark = pytest.mark.integration
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_AGE = timedelta(hours=20)  # the template's HealthCheckMaxAgeHours
Key = tuple[str, str]


def drain(backends: LocalBackends, queue: str) -> list[dict[str, Any]]:
    """Every message of a queue of the local stack, removed from it."""
    sqs, url = backends.client("sqs"), backends.resources[queue]
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages"
    ):
        messages += batch
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return messages


def queued_checks(backends: LocalBackends) -> list[Key]:
    return check_keys([message["Body"] for message in drain(backends, "CheckQueue")])


def check_keys(bodies: list[str]) -> list[Key]:
    checks = [json.loads(body) for body in bodies]
    assert all(set(check) == {"tenant_id", "connection_id"} for check in checks), "ids only, never a token"
    return [(check["tenant_id"], check["connection_id"]) for check in checks]


@contextmanager
def checks_accepted() -> Iterator[list[str]]:
    """The bodies of the check messages the queue accepted from the sweep's own client: each
    SendMessageBatch's entries as sent, kept when the emulator's answer lists them as Successful.
    Reading hundreds of messages back costs the emulator about a second a ReceiveMessage (moto
    rescans the queue for every message it hands out)."""
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the sweep handler sends with

    accepted: list[str] = []

    def keep_entries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["sweep_test_entries"] = {entry["Id"]: entry["MessageBody"] for entry in params["Entries"]}

    def keep_accepted(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        entries = context["sweep_test_entries"]
        accepted.extend(entries[success["Id"]] for success in parsed.get("Successful", []))

    events = runtime.sqs_client().meta.events
    events.register("provide-client-params.sqs.SendMessageBatch", keep_entries)
    events.register("after-call.sqs.SendMessageBatch", keep_accepted)
    try:
        yield accepted
    finally:
        events.unregister("provide-client-params.sqs.SendMessageBatch", keep_entries)
        events.unregister("after-call.sqs.SendMessageBatch", keep_accepted)


def messages_in(backends: LocalBackends, queue: str) -> int:
    attributes = backends.client("sqs").get_queue_attributes(
        QueueUrl=backends.resources[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def due_now(backends: LocalBackends) -> set[Key]:
    cutoff = (datetime.now(UTC) - MAX_AGE).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        (item["tenant"]["S"], item["connection_id"]["S"])
        for item in registry_items(backends)
        if item["checked_at"]["S"] < cutoff
    }


@pytest.fixture
def connections(backends: LocalBackends, request: pytest.FixtureRequest) -> Iterator[set[Key]]:
    """`request.param` registry entries (default 100), two in three checked long enough ago to be
    due; yields the due ones."""
    tenant = f"tenant-sweep-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    ages = [timedelta(days=3), MAX_AGE + timedelta(minutes=5), timedelta(hours=1)]
    items = []
    for index in range(getattr(request, "param", 100)):
        age = ages[index % 3]
        checked_at = (now - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        item = registry_item(
            tenant, f"conn_{index:032x}", f"c0ffee00-0000-4000-8000-{index:012d}", checked_at
        )
        items.append(item)
    dynamodb, table = backends.client("dynamodb"), backends.resources["ConnectionsTable"]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    drain(backends, "CheckQueue")
    drain(backends, "SweepQueue")
    yield {(tenant, item["connection_id"]["S"]) for index, item in enumerate(items) if index % 3 != 2}
    drain(backends, "CheckQueue")
    for start in range(0, len(items), 25):
        keys = [
            {"DeleteRequest": {"Key": {k: item[k] for k in ("tenant", "connection_id")}}}
            for item in items[start : start + 25]
        ]
        dynamodb.batch_write_item(RequestItems={table: keys})


@pytest.mark.parametrize(
    ("connections", "event"),
    [
        (30, {}),
        (30, {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}),
        (30, {"Records": "not a list", "detail": "anything"}),
    ],
    indirect=["connections"],
    ids=["an empty event", "a scheduler notification", "an odd event"],
)
def test_a_sweep_queues_exactly_the_due_connections_once_each(
    event: dict[str, Any],
    connections: set[Key],
    backends: LocalBackends,
    sweep_handler: Handler,
    sweep_spec: FunctionSpec,
) -> None:
    due = due_now(backends)
    assert connections <= due
    result = sweep_handler(event, LocalLambdaContext(sweep_spec))

    assert_queued_once_each(queued_checks(backends), due)
    assert result == {"queued": len(due), "continued": False}


@pytest.mark.parametrize("connections", [1000], indirect=True, ids=["1,000 connections"])
def test_a_sweep_of_a_large_registry_queues_each_due_connection_once(
    connections: set[Key], backends: LocalBackends, sweep_handler: Handler, sweep_spec: FunctionSpec
) -> None:
    due = due_now(backends)
    assert connections <= due
    with checks_accepted() as accepted:
        result = sweep_handler({}, LocalLambdaContext(sweep_spec))

    assert messages_in(backends, "CheckQueue") == len(accepted), "the queue holds what it accepted"
    # The one purge of this queue in the suite: SQS allows one a minute per queue.
    backends.client("sqs").purge_queue(QueueUrl=backends.resources["CheckQueue"])
    assert_queued_once_each(check_keys(accepted), due)
    assert result == {"queued": len(due), "continued": False}


def assert_queued_once_each(queued: list[Key], due: set[Key]) -> None:
    assert Counter(queued).most_common(1)[0][1] == 1, "once each"
    assert set(queued) == due


def test_a_sweep_that_runs_out_of_time_goes_on_where_it_stopped(
    connections: set[Key], backends: LocalBackends, sweep_handler: Handler, sweep_spec: FunctionSpec
) -> None:
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the sweep handler sends with

    due = due_now(backends)

    def slow_send(**_: Any) -> None:
        time.sleep(0.1)

    sqs = runtime.sqs_client()
    sqs.meta.events.register("before-send.sqs.SendMessageBatch", slow_send)
    try:
        # Time for a few sends only: the sweep must stop, and say where it stopped.
        short = STEP_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS + 0.35
        first = sweep_handler({}, LocalLambdaContext(sweep_spec, short))
    finally:
        sqs.meta.events.unregister("before-send.sqs.SendMessageBatch", slow_send)
    assert first["continued"] is True
    assert 0 < first["queued"] < len(due)
    [continuation] = drain(backends, "SweepQueue")
    assert canary.leaked_in(continuation["Body"]) == 0
    assert json.loads(continuation["Body"])["hop"] == 1

    queue_arn = backends.resources["SweepQueue.Arn"]
    second = sweep_handler(sqs_event([continuation], queue_arn), LocalLambdaContext(sweep_spec))

    assert second["continued"] is False
    queued = queued_checks(backends)
    assert len(queued) == first["queued"] + second["queued"]
    assert Counter(queued).most_common(1)[0][1] == 1, "nothing queued twice: not restarted"
    assert set(queued) == due


@pytest.mark.parametrize("connections", [12], indirect=True)
def test_a_continuation_at_the_hop_bound_that_runs_out_of_time_is_cut_loudly(
    connections: set[Key],
    backends: LocalBackends,
    sweep_handler: Handler,
    sweep_spec: FunctionSpec,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sweep bounds its chain itself (it has RecursiveLoop: Allow; Lambda developer guide,
    "Use Lambda recursive loop detection to prevent infinite loops"): at the bound it sends no
    continuation, and says so in a metric with an alarm and an error log."""
    start = min(connections)
    body = json.dumps({"tenant": start[0], "connection_id": start[1], "hop": MAX_HOPS})
    event = sqs_event_of([body])
    capfd.readouterr()

    # Time for no step: the chain is out of time, at its last allowed hop.
    result = sweep_handler(event, LocalLambdaContext(sweep_spec, STEP_WORST_SECONDS))

    assert result == {"queued": 0, "continued": False}
    assert drain(backends, "SweepQueue") == []
    output = capfd.readouterr().out
    metric = next(json.loads(line) for line in output.splitlines() if '"SweepsCut"' in line)
    assert metric["SweepsCut"] == [1.0]
    assert [r.levelname for r in caplog.records if r.getMessage().startswith("Sweep cut")] == ["ERROR"]


def test_a_batch_sqs_keeps_refusing_is_sent_twice_then_the_sweep_fails_retryably(
    connections: set[Key], sweep_handler: Handler, sweep_spec: FunctionSpec
) -> None:
    """SendMessageBatch answers 200 with every entry in `Failed` (the emulator never does)."""
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the sweep handler sends with

    attempts: list[int] = []

    def all_failed(request: Any, **_: Any) -> AWSResponse:
        sent = json.loads(request.body)["Entries"]
        attempts.append(len(sent))
        failed = [{"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"} for entry in sent]
        body = json.dumps({"Successful": [], "Failed": failed}).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, RawBody(body))

    sqs = runtime.sqs_client()
    sqs.meta.events.register_first("before-send.sqs.SendMessageBatch", all_failed)
    try:
        with pytest.raises(errors.StorageUnavailable) as caught:
            sweep_handler({}, LocalLambdaContext(sweep_spec))
    finally:
        sqs.meta.events.unregister("before-send.sqs.SendMessageBatch", all_failed)
    assert caught.value.retryable
    # The first batch of the due ones (other tests' entries may be due too), then the same again.
    [first, again] = attempts
    assert first == again
    assert 8 <= first <= 10
