"""The provisioning door: EventBridge -> SQS -> the real handler, on moto's server, with the
Lambda SQS poller emulated (delete successes, leave failures to come back)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends
from local.stack.event_source import poll_once, sqs_event_of
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec
from sesame_link.adapters import aws
from sesame_link.core import deadline
from sesame_link.core.domain import tenant_key
from sesame_link.services.linking import SESAME_BUDGET_SECONDS, STORAGE_RESERVE_SECONDS
from tests.support import canary
from tests.support.stack import SECRET_PREFIX, Account, current_token, secret_under_alias, secrets_of

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
NewAccount = Callable[..., Account]
SOURCE = "sesame-link.provisioning"


def submitted(tenant: str, token: str, region: str, request_id: str | None = None) -> dict[str, Any]:
    detail = {"tenant_id": tenant, "token": token, "region": region}
    if request_id:
        detail["request_id"] = request_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Sesame Credential Submitted",
        "source": SOURCE,
        "account": "123456789012",
        "time": "2026-11-28T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def queue(backends: LocalBackends) -> str:
    """A provisioning queue as the template wires it: a rule for submitted events -> the queue."""
    sqs, events = backends.client("sqs"), backends.client("events")
    name = f"provisioning-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [SOURCE], "detail-type": ["Sesame Credential Submitted"]}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    yield str(url)
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)


def put_submission(backends: LocalBackends, event: dict[str, Any]) -> None:
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
    }
    assert backends.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_mixed_batch_stores_one_and_retries_only_the_retryable(
    backends: LocalBackends,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    queue: str,
    tenant: str,
) -> None:
    good = new_account(region="eu1")
    busy = new_account(region="eu2")
    backends.sesame.set_fault("eu2", Fault(status=503))
    sqs = backends.client("sqs")
    put_submission(backends, submitted(tenant, good.token, "eu1"))
    put_submission(backends, submitted(tenant, canary.new_token(), "eu1"))  # Sesame says 401 everywhere
    put_submission(backends, submitted(tenant, busy.token, "eu2"))
    sqs.send_message(
        QueueUrl=queue, MessageBody='{"detail-type": "Sesame Credential Submitted", "detail": 7}'
    )

    polled = poll_once(sqs, queue, provisioning_handler, provisioning_spec)

    assert polled is not None
    event, result = polled
    assert len(event["Records"]) == 4
    busy_ids = [r["messageId"] for r in event["Records"] if busy.token in r["body"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": busy_ids[0]}]}
    assert [s["Name"] for s in secrets_of(backends, tenant_key(tenant))] == [
        f"{SECRET_PREFIX}/{tenant_key(tenant)}/sesame/{good.company_id}"
    ]

    # Sesame recovers; only the retryable record comes back, and is linked.
    backends.sesame.set_fault("eu2", None)
    time.sleep(1.2)
    again = poll_once(sqs, queue, provisioning_handler, provisioning_spec)
    assert again is not None
    assert [r["messageId"] for r in again[0]["Records"]] == busy_ids
    assert again[1] == {"batchItemFailures": []}
    assert len(secrets_of(backends, tenant_key(tenant))) == 2
    time.sleep(1.2)
    assert poll_once(sqs, queue, provisioning_handler, provisioning_spec) is None


@pytest.mark.parametrize(
    ("region_fault", "retryable"),
    [
        (Fault(status=429), True),
        (Fault(delay_seconds=SESAME_BUDGET_SECONDS + 0.5), True),
        (Fault(status=403), False),
    ],
)
def test_retryable_means_reported_and_permanent_means_dropped(
    backends: LocalBackends,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    tenant: str,
    region_fault: Fault,
    retryable: bool,
) -> None:
    account = new_account()
    backends.sesame.set_fault("eu1", region_fault)
    result = provisioning_handler(
        sqs_event_of([json.dumps(submitted(tenant, account.token, "eu1"))]),
        LocalLambdaContext(provisioning_spec),
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}] if retryable else []}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{}",
        json.dumps({"detail-type": "Something Else", "detail": {}}),
        json.dumps(
            {"detail-type": "Sesame Credential Submitted", "detail": {"tenant_id": "t", "region": "eu1"}}
        ),
        json.dumps(submitted("t", "0123456789abcdef0123", "eu1.evil.com")),
        json.dumps(
            {
                **submitted("t", "0123456789abcdef0123", "eu1"),
                "detail": {"tenant_id": "t", "token": "0123456789abcdef0123", "region": "eu1", "extra": 1},
            }
        ),
    ],
)
def test_malformed_records_are_dropped_without_calling_sesame(
    backends: LocalBackends,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    body: str,
) -> None:
    result = provisioning_handler(sqs_event_of([body]), LocalLambdaContext(provisioning_spec))
    assert result == {"batchItemFailures": []}
    assert backends.sesame.seen() == []


def test_outcome_events_from_the_provisioning_door(
    backends: LocalBackends,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    account = new_account(name="Ñandú SA")
    bad_token = canary.new_token()
    submissions = [
        submitted(tenant, account.token, "eu1", request_id="req-good"),
        submitted(tenant, bad_token, "eu1", request_id="req-bad"),
    ]
    provisioning_handler(
        sqs_event_of(list(map(json.dumps, submissions))), LocalLambdaContext(provisioning_spec)
    )
    received = {event["detail-type"]: event for event in read_outcomes()}

    linked = received["Sesame Account Linked"]
    assert linked["source"] == "sesame-link"
    [secret] = secrets_of(backends, tenant_key(tenant))
    assert linked["detail"] == {
        "tenant_id": tenant,
        "connection_id": linked["detail"]["connection_id"],
        "region": "eu1",
        "company": {"id": account.company_id, "name": "Ñandú SA"},
        "created": True,
        "secret_arn": secret["ARN"],
        "request_id": "req-good",
        "via": "provisioning",
        "session_id": None,
    }
    assert received["Sesame Account Link Failed"]["detail"] == {
        "tenant_id": tenant,
        "region": "eu1",
        "code": "invalid_token",
        "retryable": False,
        "request_id": "req-bad",
    }
    everything = json.dumps(list(received.values()))
    assert account.token not in everything
    assert bad_token not in everything


def test_outcome_events_from_the_http_door(
    post_link: Callable[..., Any],
    new_account: NewAccount,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    account = new_account()
    assert post_link({"token": account.token, "region": "eu1"}, tenant).status == 201
    assert post_link({"token": account.token, "region": "eu4"}, tenant).status == 422
    assert post_link({"token": account.token, "region": "bad region"}, tenant).status == 400
    received = read_outcomes()

    assert [event["detail-type"] for event in received] == [
        "Sesame Account Linked",
        "Sesame Account Link Failed",
        "Sesame Account Link Failed",
    ]
    assert received[0]["detail"]["company"]["id"] == account.company_id
    assert received[0]["detail"]["secret_arn"].startswith("arn:aws:secretsmanager:")
    assert (received[0]["detail"]["via"], received[0]["detail"]["session_id"]) == ("jwt", None)
    failed = [(e["detail"]["code"], e["detail"]["region"], e["detail"]["tenant_id"]) for e in received[1:]]
    assert failed == [("wrong_region", "eu4", tenant), ("invalid_request", None, tenant)]
    assert account.token not in json.dumps(received)


def test_a_plain_eventbridge_event_is_linked_directly(
    backends: LocalBackends,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    tenant: str,
) -> None:
    account = new_account()
    result = provisioning_handler(
        submitted(tenant, account.token, "eu1"), LocalLambdaContext(provisioning_spec)
    )
    assert result == {"outcome": "linked"}
    assert len(secrets_of(backends, tenant_key(tenant))) == 1


def test_an_unpublished_outcome_is_counted_and_keeps_the_credential(
    post_link: Callable[..., Any],
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    inject_aws_error: Callable[..., None],
    capfd: pytest.CaptureFixture[str],
) -> None:
    inject_aws_error("InternalException", "eventbridge.PutEvents")
    account = new_account()
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)

    assert answer.status == 201
    assert len(secrets_of(backends, tenant_key(tenant))) == 1
    assert '"OutcomePublishFailures":[1.0]' in capfd.readouterr().out


def test_an_outcome_event_the_time_left_cannot_fit_is_skipped_and_counted(
    post_link: Callable[..., Any],
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The link is stored and registered; the registry write then leaves less than one AWS
    attempt's worst case, so the event is not even tried (an attempt could outlive the deadline)."""
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the clients post_link's handler uses

    lambda_seconds = STORAGE_RESERVE_SECONDS + deadline.ANSWER_RESERVE_SECONDS + 0.2  # Sesame gets 0.2 s
    slow_down = lambda_seconds - deadline.ANSWER_RESERVE_SECONDS - aws.ATTEMPT_WORST_SECONDS + 0.1

    def slow_registry(**_: Any) -> None:
        time.sleep(slow_down)

    dynamodb = runtime.dynamodb_client()
    dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", slow_registry)
    try:
        account = new_account()
        answer = post_link({"token": account.token, "region": "eu1"}, tenant, timeout_seconds=lambda_seconds)
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.UpdateItem", slow_registry)

    assert answer.status == 201
    assert len(secrets_of(backends, tenant_key(tenant))) == 1
    assert read_outcomes() == []
    assert '"OutcomePublishFailures":[1.0]' in capfd.readouterr().out
    [skipped] = [record for record in caplog.records if record.getMessage() == "Outcome event not published"]
    assert skipped.reason == "NoTimeLeft"


def test_an_earlier_token_submitted_again_becomes_current_again(
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
) -> None:
    first, second = new_account(), new_account()
    backends.sesame.add_account(second.token, "eu1", first.company_id, first.company_name)
    for account in (first, second, first):
        event = sqs_event_of([json.dumps(submitted(tenant, account.token, "eu1"))])
        assert provisioning_handler(event, LocalLambdaContext(provisioning_spec)) == {"batchItemFailures": []}

    assert current_token(backends, tenant) == first.token


def test_a_submission_for_a_secret_scheduled_for_deletion_restores_it(
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
) -> None:
    account = new_account()
    event = sqs_event_of([json.dumps(submitted(tenant, account.token, "eu1"))])
    provisioning_handler(event, LocalLambdaContext(provisioning_spec))
    [secret] = secrets_of(backends, tenant_key(tenant))
    secrets = backends.client("secretsmanager")
    secrets.delete_secret(SecretId=secret["ARN"], RecoveryWindowInDays=7)

    assert provisioning_handler(event, LocalLambdaContext(provisioning_spec)) == {"batchItemFailures": []}
    assert "DeletedDate" not in secrets.describe_secret(SecretId=secret["ARN"])


def test_a_submission_for_a_secret_under_an_alias_of_the_key_writes_it(
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
) -> None:
    """DescribeSecret may name the key by an alias ARN (Secrets Manager API reference,
    DescribeSecret, KmsKeyId): it is this key if KMS says so."""
    account = new_account()
    name = f"{SECRET_PREFIX}/{tenant_key(tenant)}/sesame/{account.company_id}"
    secret_under_alias(backends, name, backends.resources["LinkKey.Arn"])

    event = submitted(tenant, account.token, "eu1")
    assert provisioning_handler(event, LocalLambdaContext(provisioning_spec)) == {"outcome": "linked"}
    assert current_token(backends, tenant) == account.token


@pytest.mark.parametrize("outcome", ["linked", "invalid_token"])
def test_an_event_without_an_id_is_named_by_the_invocation(
    outcome: str,
    provisioning_handler: Handler,
    provisioning_spec: FunctionSpec,
    new_account: NewAccount,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    token = new_account().token if outcome == "linked" else canary.new_token()
    event = submitted(tenant, token, "eu1")
    del event["id"]
    context = LocalLambdaContext(provisioning_spec)
    assert provisioning_handler(event, context) == {"outcome": outcome}
    [published] = read_outcomes()
    assert published["detail"]["request_id"] == context.aws_request_id
