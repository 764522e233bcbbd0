"""Health checks through both doors of the check function: POST /connections/{id}/check and the
check queue. DESIGN.md's status model: only conclusive verdicts (200 same company, 200 another
company, 401, 403) change anything; everything else leaves status and checked_at as they were."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from local.lambda_context import LocalLambdaContext
from local.stack.backends import SIMULATED_REGIONS, LocalBackends
from local.stack.dns import install_local_resolver
from local.stack.event_source import sqs_event_of
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec
from sesame_link.core import deadline
from sesame_link.core.domain import tenant_key
from sesame_link.services.linking import SESAME_BUDGET_SECONDS
from tests.support import canary
from tests.support.aws_calls import AwsCallLog
from tests.support.stack import ONE_SECOND_FOR_SESAME, Account, Answer, assert_problem, secrets_of

pytestmark = pytest.mark.integration
Api = Callable[..., Answer]
NewAccount = Callable[..., Account]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
ANOTHER_COMPANY = (
    b'{"data": {"company": {"id": "99999999-0000-4000-8000-000000000000", "name": "Someone else"}}}'
)


@dataclass(frozen=True)
class Verdict:
    fault: Fault | None
    status: str | None  # None: inconclusive, the connection unchanged
    reason: str | None = None
    problem: tuple[int, str] | None = None  # what the HTTP door answers when inconclusive


VERDICTS = {
    "200 same company": Verdict(None, "active"),
    "200 another company": Verdict(Fault(status=200, body=ANOTHER_COMPANY), "broken", "company_changed"),
    "401": Verdict(Fault(status=401), "broken", "invalid_token"),
    "403": Verdict(Fault(status=403), "broken", "token_forbidden"),
    "429": Verdict(
        Fault(status=429, headers={"Retry-After": "3"}), None, problem=(503, "sesame_rate_limited")
    ),
    "500": Verdict(Fault(status=500), None, problem=(502, "sesame_unavailable")),
    "timeout": Verdict(
        Fault(delay_seconds=SESAME_BUDGET_SECONDS + 0.5), None, problem=(504, "sesame_timeout")
    ),
    "reset": Verdict(Fault(reset=True), None, problem=(502, "sesame_unavailable")),
    "HTML 200": Verdict(
        Fault(status=200, body=b"<html>maintenance</html>"), None, problem=(502, "sesame_unavailable")
    ),
}


def linked(api: Api, account: Account, tenant: str) -> dict[str, Any]:
    answer = api("POST", "/connections", tenant, body={"token": account.token, "region": account.region})
    assert answer.status == 201, answer.raw
    return answer.body


def stored(api: Api, tenant: str, connection_id: str) -> dict[str, Any]:
    answer = api("GET", f"/connections/{connection_id}", tenant)
    assert answer.status == 200, answer.raw
    return answer.body


def backdate(
    backends: LocalBackends, tenant: str, connection_id: str, checked_at: str = "2026-01-01T00:00:00Z"
) -> None:
    """A check that changes nothing must leave checked_at where it was: make it recognisable."""
    backends.client("dynamodb").update_item(
        TableName=backends.resources["ConnectionsTable"],
        Key={"tenant": {"S": tenant}, "connection_id": {"S": connection_id}},
        UpdateExpression="SET checked_at = :at",
        ExpressionAttributeValues={":at": {"S": checked_at}},
    )


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_the_check_route(
    name: str, api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    verdict, account = VERDICTS[name], new_account()
    connection = linked(api, account, tenant)
    backdate(backends, tenant, connection["connection_id"])
    backends.sesame.reset()
    if verdict.fault:
        backends.sesame.set_fault("eu1", verdict.fault)

    answer = api(
        "POST",
        f"/connections/{connection['connection_id']}/check",
        tenant,
        timeout_seconds=ONE_SECOND_FOR_SESAME,
    )

    after = stored(api, tenant, connection["connection_id"])
    assert len(backends.sesame.seen()) == 1, "one Sesame request, no wrong-region probe"
    if verdict.status is None:
        assert verdict.problem is not None
        assert_problem(answer, *verdict.problem, retryable=True)
        assert (after["status"], after["checked_at"]) == ("active", "2026-01-01T00:00:00Z")
        return
    assert answer.status == 200
    assert answer.body == after
    assert (after["status"], after["status_reason"]) == (verdict.status, verdict.reason)
    assert after["checked_at"] != "2026-01-01T00:00:00Z"
    assert account.token not in answer.raw


def check_queue_result(check_handler: Handler, check_spec: FunctionSpec, tenant: str, cid: str) -> Any:
    message = json.dumps({"tenant_id": tenant, "connection_id": cid})
    return check_handler(sqs_event_of([message]), LocalLambdaContext(check_spec))


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_the_check_queue(
    name: str,
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
) -> None:
    verdict, account = VERDICTS[name], new_account()
    connection = linked(api, account, tenant)
    backdate(backends, tenant, connection["connection_id"])
    if verdict.fault:
        backends.sesame.set_fault("eu1", verdict.fault)
    result = check_queue_result(check_handler, check_spec, tenant, connection["connection_id"])

    after = stored(api, tenant, connection["connection_id"])
    if verdict.status is None:
        assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
        assert (after["status"], after["checked_at"]) == ("active", "2026-01-01T00:00:00Z")
    else:
        assert result == {"batchItemFailures": []}
        assert (after["status"], after["status_reason"]) == (verdict.status, verdict.reason)


def test_only_inconclusive_records_come_back(
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
) -> None:
    healthy, busy = new_account(region="eu1"), new_account(region="eu2")
    revoked = new_account(region="eu3")
    ids = [linked(api, account, tenant)["connection_id"] for account in (healthy, busy, revoked)]
    backends.sesame.set_fault("eu2", Fault(status=503))
    backends.sesame.set_fault("eu3", Fault(status=401))
    bodies = [json.dumps({"tenant_id": tenant, "connection_id": cid}) for cid in ids]
    bodies += [
        json.dumps({"tenant_id": tenant, "connection_id": "conn_" + "0" * 32}),  # gone: unlinked since
        json.dumps({"tenant_id": tenant}),  # malformed
        "not json",
    ]

    result = check_handler(sqs_event_of(bodies), LocalLambdaContext(check_spec))

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [stored(api, tenant, cid)["status"] for cid in ids] == ["active", "active", "broken"]


def test_events_on_transitions_only(
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    account = new_account()
    connection = linked(api, account, tenant)
    cid = connection["connection_id"]
    read_outcomes()

    def check() -> Answer:
        return api("POST", f"/connections/{cid}/check", tenant)

    check()  # active, still active: nothing
    backends.sesame.set_fault("eu1", Fault(status=401))
    broken = check()
    check()  # broken, still broken for the same reason: nothing
    backends.sesame.set_fault("eu1", Fault(status=403))
    forbidden = check()  # broken for another reason: told
    backends.sesame.set_fault("eu1", None)
    restored = check()

    events = read_outcomes()
    assert [(e["detail-type"], e["detail"].get("reason")) for e in events] == [
        ("Sesame Account Link Broken", "invalid_token"),
        ("Sesame Account Link Broken", "token_forbidden"),
        ("Sesame Account Link Restored", None),
    ]
    expected_common = {
        "tenant_id": tenant,
        "connection_id": cid,
        "region": "eu1",
        "company": connection["company"],
    }
    for event, answer in zip(events, (broken, forbidden, restored), strict=True):
        assert event["source"] == "sesame-link"
        assert {key: event["detail"][key] for key in expected_common} == expected_common
        assert event["detail"]["checked_at"] == answer.body["checked_at"]
    assert account.token not in json.dumps(events)


def test_a_check_of_another_tenants_connection_is_not_found(
    api: Api, new_account: NewAccount, tenant: str
) -> None:
    theirs = linked(api, new_account(), "tenant-check-other")["connection_id"]
    foreign = api("POST", f"/connections/{theirs}/check", tenant)
    missing = api("POST", f"/connections/conn_{'0' * 32}/check", tenant)
    assert_problem(foreign, 404, "connection_not_found")
    assert (foreign.headers, foreign.body) == (missing.headers, missing.body)
    assert_problem(api("POST", "/connections/..%2F/check", tenant), 404, "connection_not_found")


def test_a_check_racing_an_unlink_never_brings_the_connection_back(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str, aws_calls: AwsCallLog
) -> None:
    """The check reads the entry and the token, asks Sesame (slowly); the unlink lands meanwhile;
    the check's registry write then finds no entry and writes nothing."""
    account = new_account()
    cid = linked(api, account, tenant)["connection_id"]
    backends.sesame.reset()
    backends.sesame.set_fault("eu1", Fault(status=401, delay_seconds=1.0))
    answers: list[Answer] = []
    checking = threading.Thread(
        target=lambda: answers.append(api("POST", f"/connections/{cid}/check", tenant))
    )
    checking.start()
    while not backends.sesame.seen():  # the check's request has reached Sesame
        time.sleep(0.01)
    assert api("DELETE", f"/connections/{cid}", tenant).status == 204
    checking.join(timeout=10)

    [check] = answers
    assert_problem(check, 404, "connection_not_found")
    assert api("GET", f"/connections/{cid}", tenant).status == 404
    assert api("GET", "/connections", tenant).body["connections"] == []
    writes = [
        c
        for c in aws_calls.of("CheckFunction")
        if c.operation == "UpdateItem" and c.params["Key"]["connection_id"]["S"] == cid
    ]
    assert writes, "the check did try to write its verdict"
    assert "attribute_exists" in writes[-1].params["ConditionExpression"]


@pytest.mark.parametrize("removal", ["deleted", "scheduled for deletion"])
def test_a_connection_whose_secret_is_gone_is_not_found_and_never_retried(
    removal: str,
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
) -> None:
    """The registry entry is still there (an unlink half-way, or a secret removed by hand)."""
    cid = linked(api, new_account(), tenant)["connection_id"]
    [secret] = secrets_of(backends, tenant_key(tenant))
    force = removal == "deleted"
    secrets = backends.client("secretsmanager")
    if force:
        secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    else:
        secrets.delete_secret(SecretId=secret["ARN"], RecoveryWindowInDays=7)
    backends.sesame.reset()

    assert_problem(api("POST", f"/connections/{cid}/check", tenant), 404, "connection_not_found")
    assert check_queue_result(check_handler, check_spec, tenant, cid) == {"batchItemFailures": []}
    assert backends.sesame.seen() == [], "no token was read, so Sesame was not asked"


def test_a_refused_secret_read_on_the_queue_is_reported_with_its_code_and_dropped(
    api: Api,
    new_account: NewAccount,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
    inject_aws_error: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cid = linked(api, new_account(), tenant)["connection_id"]
    inject_aws_error("AccessDeniedException", "secrets-manager.GetSecretValue")
    capfd.readouterr()

    assert check_queue_result(check_handler, check_spec, tenant, cid) == {"batchItemFailures": []}
    [report] = [record for record in caplog.records if record.getMessage() == "Check inconclusive"]
    assert (report.code, report.connection_id) == ("storage_failed", cid)  # type: ignore[attr-defined]
    assert '"verdict":"storage_failed","Checks":[1.0]' in capfd.readouterr().out


@pytest.mark.parametrize(
    "transport_error",
    [
        ReadTimeoutError(endpoint_url="http://127.0.0.1/secrets"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1/secrets"),
    ],
    ids=["read-timeout", "connection-error"],
)
def test_a_secret_read_that_gets_no_answer_is_retryable_through_both_doors(
    transport_error: Exception,
    api: Api,
    new_account: NewAccount,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
    inject_aws_error: Callable[..., None],
) -> None:
    cid = linked(api, new_account(), tenant)["connection_id"]
    inject_aws_error(transport_error, "secrets-manager.GetSecretValue")

    assert_problem(
        api("POST", f"/connections/{cid}/check", tenant), 503, "storage_unavailable", retryable=True
    )
    result = check_queue_result(check_handler, check_spec, tenant, cid)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}


def test_a_host_that_stops_resolving_after_the_link_is_sesame_unavailable_not_a_500(
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
) -> None:
    account = new_account(region="eu2")
    cid = linked(api, account, tenant)["connection_id"]
    install_local_resolver(region for region in SIMULATED_REGIONS if region != "eu2")
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the check handler uses

    # As a check a day later would, in an execution environment with no open connection to Sesame.
    runtime.sesame()._session.close()
    try:
        answer = api("POST", f"/connections/{cid}/check", tenant)
        queued = check_queue_result(check_handler, check_spec, tenant, cid)
    finally:
        install_local_resolver(SIMULATED_REGIONS)
    assert_problem(answer, 502, "sesame_unavailable", retryable=True)
    assert queued == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert stored(api, tenant, cid)["status"] == "active"


def test_a_check_racing_a_relink_never_writes_the_old_tokens_verdict(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    """The check reads the old token; before it asks Sesame, the customer links a new token of
    the same company; the old token is revoked. Its 401 must not break the new connection."""
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the check handler reads with

    old = new_account()
    cid = linked(api, old, tenant)["connection_id"]
    backends.client("dynamodb").update_item(
        TableName=backends.resources["ConnectionsTable"],
        Key={"tenant": {"S": tenant}, "connection_id": {"S": cid}},
        UpdateExpression="SET linked_at = :at, linked_order = :order",
        ExpressionAttributeValues={
            ":at": {"S": "2026-01-01T00:00:00Z"},
            ":order": {"S": f"2026-01-01T00:00:00Z#{cid}"},
        },
    )
    new_token = canary.new_token()
    backends.sesame.add_account(new_token, "eu1", old.company_id, old.company_name)
    relinked: list[Answer] = []

    def relink_meanwhile(**_: Any) -> None:
        relink = threading.Thread(
            target=lambda: relinked.append(
                api("POST", "/connections", tenant, body={"token": new_token, "region": "eu1"})
            )
        )
        relink.start()
        relink.join(timeout=20)
        backends.sesame.set_token_state(old.token, "revoked")

    secrets = runtime.secrets_client()
    secrets.meta.events.register("after-call.secrets-manager.GetSecretValue", relink_meanwhile)
    try:
        checked = api("POST", f"/connections/{cid}/check", tenant)
    finally:
        secrets.meta.events.unregister("after-call.secrets-manager.GetSecretValue", relink_meanwhile)

    [relink] = relinked
    assert relink.status == 200, relink.raw
    assert checked.status == 200, checked.raw
    assert (checked.body["status"], checked.body["token_hint"]) == ("active", relink.body["token_hint"])
    after = stored(api, tenant, cid)
    assert (after["status"], after["status_reason"], after["linked_at"]) == (
        "active",
        None,
        relink.body["linked_at"],
    )


def test_the_http_door_keeps_to_api_gateways_30_seconds_whatever_the_functions_timeout(
    api: Api, new_account: NewAccount, tenant: str, check_spec: FunctionSpec
) -> None:
    """The check function's timeout fits a queue batch (95 s); API Gateway stops waiting after
    30 s, a cold start's initialization included (API Gateway developer guide, "Amazon API
    Gateway quotas for HTTP APIs"). What the HTTP door may spend is read at its first AWS call."""
    from sesame_link.handlers import http, runtime  # noqa: PLC0415 - the handler's own modules

    assert check_spec.timeout_seconds > http.API_GATEWAY_SECONDS
    cid = linked(api, new_account(), tenant)["connection_id"]
    seen: list[float] = []

    def time_left(**_: Any) -> None:
        seen.append(deadline.remaining())

    dynamodb = runtime.dynamodb_client()
    dynamodb.meta.events.register("before-send.dynamodb.GetItem", time_left)
    try:
        assert api("POST", f"/connections/{cid}/check", tenant).status == 200
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb.GetItem", time_left)
    limit = http.API_GATEWAY_SECONDS - http.API_GATEWAY_MARGIN_SECONDS - deadline.ANSWER_RESERVE_SECONDS
    assert seen
    assert 20 < seen[0] <= limit
