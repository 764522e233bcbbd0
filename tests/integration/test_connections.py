"""The connections a tenant can see and remove: GET /connections (paged, newest link first),
GET and DELETE /connections/{connection_id}, through the real handler, routed as API Gateway routes,
against the local DynamoDB, Secrets Manager and EventBridge."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack.backends import LocalBackends
from local.stack.gateway import http_api_event
from sesame_link.adapters import aws
from sesame_link.core.domain import connection_id, tenant_key
from tests.support import canary
from tests.support.aws_calls import AwsCallLog
from tests.support.child_invoke import invoke_in_child
from tests.support.stack import Account, Answer, assert_problem, registry_item, secrets_of

pytestmark = pytest.mark.integration
Api = Callable[..., Answer]
NewAccount = Callable[..., Account]
CONNECTION_FIELDS = {
    "connection_id",
    "provider",
    "status",
    "status_reason",
    "region",
    "company",
    "token_hint",
    "linked_at",
    "checked_at",
}


def link(api: Api, account: Account, tenant: str) -> dict[str, Any]:
    answer = api("POST", "/connections", tenant, body={"token": account.token, "region": account.region})
    assert answer.status in (200, 201), answer.raw
    return answer.body


def listed(api: Api, tenant: str, query: str = "") -> Answer:
    return api("GET", f"/connections{query}", tenant)


def test_a_tenant_sees_its_connections_newest_link_first(
    api: Api, new_account: NewAccount, tenant: str
) -> None:
    linked = [link(api, new_account(name=f"Company {index}"), tenant) for index in range(3)]
    answer = listed(api, tenant)

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    connections = answer.body["connections"]
    # Links in the same second fall back on the connection id's order; the page is the same set.
    assert {c["connection_id"] for c in connections} == {c["connection_id"] for c in linked}
    assert [c["linked_at"] for c in connections] == sorted(
        (c["linked_at"] for c in connections), reverse=True
    )
    assert all(set(c) == CONNECTION_FIELDS for c in connections)
    assert answer.body["next_cursor"] is None
    read = api("GET", f"/connections/{linked[0]['connection_id']}", tenant)
    assert read.status == 200
    assert read.body == {key: value for key, value in linked[0].items() if key != "created"}


def test_150_connections_paged_at_50_are_three_pages_none_missing_none_twice(
    api: Api, backends: LocalBackends, tenant: str
) -> None:
    """Written straight into the registry (150 links would be 150 Sesame checks), with distinct
    link times so that the order is known."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expected = []
    dynamodb = backends.client("dynamodb")
    for index in range(150):
        company = f"c0ffee00-0000-4000-8000-{index:012d}"
        cid = connection_id(tenant, company)
        linked_at = (start + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        dynamodb.put_item(
            TableName=backends.resources["ConnectionsTable"],
            Item=registry_item(tenant, cid, company, linked_at),
        )
        expected.append(cid)
    expected.reverse()

    pages, cursor = [], ""
    while True:
        answer = listed(api, tenant, f"?limit=50{cursor}")
        assert answer.status == 200, answer.raw
        pages.append([c["connection_id"] for c in answer.body["connections"]])
        if answer.body["next_cursor"] is None:
            break
        cursor = f"&cursor={answer.body['next_cursor']}"
    assert [len(page) for page in pages] == [50, 50, 50]
    assert [cid for page in pages for cid in page] == expected


def test_the_default_page_is_50_and_limits_are_bounded(api: Api, tenant: str) -> None:
    for query in ("?limit=0", "?limit=101", "?limit=-1", "?limit=ten", "?limit=1.5", "?limit=", "?page=2"):
        answer = listed(api, tenant, query)
        assert_problem(answer, 400, "invalid_request")
        assert answer.body["errors"][0]["field"] in ("limit", "(unknown field)"), query
    assert listed(api, tenant, "?limit=1").status == 200
    assert listed(api, tenant, "?limit=100").status == 200


def test_a_cursor_works_only_for_the_tenant_it_was_issued_to(
    api: Api, new_account: NewAccount, tenant: str
) -> None:
    for _ in range(3):
        link(api, new_account(), tenant)
    cursor = listed(api, tenant, "?limit=1").body["next_cursor"]
    assert cursor
    assert listed(api, tenant, f"?limit=1&cursor={cursor}").status == 200

    foreign = listed(api, "someone-else", f"?limit=1&cursor={cursor}")
    assert_problem(foreign, 400, "invalid_request")
    assert foreign.body["errors"] == [{"field": "cursor", "message": "is not a cursor this API gave you"}]
    for forged in (cursor[:-1], cursor[:10], cursor.replace(".", "x"), cursor.split(".")[0], cursor + "A"):
        assert_problem(listed(api, tenant, f"?cursor={forged}"), 400, "invalid_request")


@pytest.fixture
def cursor_and_tenant(api: Api, new_account: NewAccount, tenant: str) -> tuple[str, str]:
    for _ in range(2):
        link(api, new_account(), tenant)
    return str(listed(api, tenant, "?limit=1").body["next_cursor"]), tenant


def test_no_tampered_cursor_is_ever_accepted(api: Api, cursor_and_tenant: tuple[str, str]) -> None:
    cursor, tenant = cursor_and_tenant

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        position=st.integers(0, len(cursor) - 1),
        replacement=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
    )
    def check(position: int, replacement: str) -> None:
        tampered = cursor[:position] + replacement + cursor[position + 1 :]
        answer = listed(api, tenant, f"?limit=1&cursor={tampered}")
        if tampered == cursor:
            assert answer.status == 200
        else:
            assert_problem(answer, 400, "invalid_request")

    check()


MARK = "zqxMARKzqx"


@given(halves=st.tuples(st.text(max_size=300), st.text(max_size=300)))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_any_cursor_string_is_a_400_never_a_5xx_nor_an_echo(api: Api, halves: tuple[str, str]) -> None:
    cursor = halves[0] + MARK + halves[1]
    answer = listed(api, "tenant-cursor-fuzz", f"?cursor={quote(cursor, safe='')}")
    assert_problem(answer, 400, "invalid_request")
    assert MARK not in answer.raw


@pytest.mark.parametrize(
    "path_id",
    [
        "..",
        "%2F",
        "a%2Fb",
        "x" * 10_000,
        "conn_" + "é" * 32,
        "conn_" + "0" * 31,
        "CONN_" + "0" * 32,
        "%00",
        "conn_%2e%2e",
    ],
)
def test_hostile_ids_are_not_found_before_any_aws_call(
    api: Api, aws_calls: AwsCallLog, tenant: str, path_id: str
) -> None:
    before = len(aws_calls.of("LinkFunction"))
    for method in ("GET", "DELETE"):
        answer = api(method, f"/connections/{path_id}", tenant)
        assert_problem(answer, 404, "connection_not_found")
        assert path_id not in answer.raw
    assert len(aws_calls.of("LinkFunction")) == before


def test_another_tenants_connection_is_exactly_like_one_that_never_existed(
    api: Api, new_account: NewAccount, tenant: str
) -> None:
    theirs = link(api, new_account(), "tenant-other")["connection_id"]
    never = "conn_" + "0" * 32
    for method in ("GET", "DELETE"):
        foreign, missing = (
            api(method, f"/connections/{theirs}", tenant),
            api(method, f"/connections/{never}", tenant),
        )
        assert (foreign.status, foreign.headers, foreign.body) == (
            missing.status,
            missing.headers,
            missing.body,
        )
        assert foreign.status == 404
    assert api("GET", f"/connections/{theirs}", "tenant-other").status == 200, (
        "the DELETE above removed nothing"
    )


def test_unlink_schedules_the_secret_removes_the_connection_and_a_link_restores_it(
    api: Api,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    account = new_account()
    linked = link(api, account, tenant)
    read_outcomes()
    cid = linked["connection_id"]

    removed = api("DELETE", f"/connections/{cid}", tenant)
    assert (removed.status, removed.raw) == (204, "")
    [secret] = secrets_of(backends, tenant_key(tenant))
    deleted_at = backends.client("secretsmanager").describe_secret(SecretId=secret["ARN"])["DeletedDate"]
    window = deleted_at - datetime.now(deleted_at.tzinfo)
    assert timedelta(days=6, hours=23) < window <= timedelta(days=7), "the template's UnlinkRecoveryDays, 7"
    assert api("GET", f"/connections/{cid}", tenant).status == 404
    assert listed(api, tenant).body["connections"] == []
    assert_problem(api("DELETE", f"/connections/{cid}", tenant), 404, "connection_not_found")
    [unlinked] = read_outcomes()
    assert unlinked["detail-type"] == "Sesame Account Unlinked"
    assert unlinked["detail"] == {
        "tenant_id": tenant,
        "connection_id": cid,
        "region": "eu1",
        "company": linked["company"],
        "request_id": unlinked["detail"]["request_id"],
    }
    assert account.token not in json.dumps(unlinked)

    again = api("POST", "/connections", tenant, body={"token": account.token, "region": "eu1"})
    assert (again.status, again.body["connection_id"], again.body["created"]) == (201, cid, True)
    assert "DeletedDate" not in backends.client("secretsmanager").describe_secret(SecretId=secret["ARN"])
    assert [c["connection_id"] for c in listed(api, tenant).body["connections"]] == [cid]


def test_unlink_with_no_recovery_window_deletes_at_once(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str, link_spec: Any
) -> None:
    """UnlinkRecoveryDays=0: a function configured so (its own process: settings are read once)."""
    linked = link(api, new_account(), tenant)
    event = http_api_event(
        "DELETE", f"/connections/{linked['connection_id']}", {}, b"", {"sub": tenant}, "::1"
    )
    event["pathParameters"] = {"connection_id": linked["connection_id"]}
    environment = {**link_spec.environment, "UNLINK_RECOVERY_DAYS": "0"}
    result = invoke_in_child(backends, "LinkFunction", event, environment, timeout=15)
    assert result["answer"]["statusCode"] == 204
    assert secrets_of(backends, tenant_key(tenant)) == []


def test_a_registry_write_that_fails_after_the_secret_is_stored_is_retryable_and_the_retry_agrees(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the link handler uses

    dynamodb = runtime.dynamodb_client()
    throttled = FailFirst(aws.MAX_ATTEMPTS)  # every attempt of the first link's registry write
    dynamodb.meta.events.register_first("before-send.dynamodb.UpdateItem", throttled)
    try:
        first = api("POST", "/connections", tenant, body={"token": account.token, "region": "eu1"})
        assert_problem(first, 503, "storage_unavailable", retryable=True)
        assert len(secrets_of(backends, tenant_key(tenant))) == 1
        assert listed(api, tenant).body["connections"] == []
        retry = api("POST", "/connections", tenant, body={"token": account.token, "region": "eu1"})
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb.UpdateItem", throttled)
    assert (retry.status, retry.body["created"]) == (201, True)
    [secret] = secrets_of(backends, tenant_key(tenant))
    versions = backends.client("secretsmanager").list_secret_version_ids(SecretId=secret["ARN"])["Versions"]
    assert len(versions) == 1, "the retry stored nothing new"
    assert [c["connection_id"] for c in listed(api, tenant).body["connections"]] == [
        retry.body["connection_id"]
    ]


class FailFirst:
    """A before-send hook that answers the first `count` requests with a throttling error, then
    lets the rest through."""

    def __init__(self, count: int) -> None:
        self.left = count

    def __call__(self, request: Any, **_: Any) -> Any:
        if not self.left:
            return None
        self.left -= 1
        body = json.dumps({"__type": "ThrottlingException", "message": "injected"}).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def backdate_link(backends: LocalBackends, tenant: str, cid: str, linked_at: str) -> None:
    backends.client("dynamodb").update_item(
        TableName=backends.resources["ConnectionsTable"],
        Key={"tenant": {"S": tenant}, "connection_id": {"S": cid}},
        UpdateExpression="SET linked_at = :at, linked_order = :order",
        ExpressionAttributeValues={":at": {"S": linked_at}, ":order": {"S": f"{linked_at}#{cid}"}},
    )


def test_a_relink_with_another_token_of_the_company_moves_linked_at_and_the_list_order(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    first, second = new_account(), new_account()
    first_id, second_id = (
        link(api, first, tenant)["connection_id"],
        link(api, second, tenant)["connection_id"],
    )
    backdate_link(backends, tenant, first_id, "2026-01-01T00:00:00Z")
    backdate_link(backends, tenant, second_id, "2026-02-01T00:00:00Z")
    assert [c["connection_id"] for c in listed(api, tenant).body["connections"]] == [second_id, first_id]

    new_token = canary.new_token()
    backends.sesame.add_account(new_token, "eu1", first.company_id, first.company_name)
    relinked = api("POST", "/connections", tenant, body={"token": new_token, "region": "eu1"})

    assert (relinked.status, relinked.body["connection_id"], relinked.body["created"]) == (
        200,
        first_id,
        False,
    )
    assert relinked.body["linked_at"] > "2026-02-01T00:00:00Z"
    assert [c["connection_id"] for c in listed(api, tenant).body["connections"]] == [first_id, second_id]
    read = api("GET", f"/connections/{first_id}", tenant).body
    assert read == {key: value for key, value in relinked.body.items() if key != "created"}


def test_two_unlinks_racing_past_their_read_unlink_once(
    api: Api,
    new_account: NewAccount,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    from sesame_link.handlers import runtime  # noqa: PLC0415 - the client the link handler uses

    cid = link(api, new_account(), tenant)["connection_id"]
    read_outcomes()
    both_read = threading.Barrier(2, timeout=10)

    def after_read(**_: Any) -> None:
        both_read.wait()

    dynamodb = runtime.dynamodb_client()
    dynamodb.meta.events.register("after-call.dynamodb.GetItem", after_read)
    answers: list[Answer] = []
    try:
        unlinks = [
            threading.Thread(target=lambda: answers.append(api("DELETE", f"/connections/{cid}", tenant)))
            for _ in range(2)
        ]
        for unlink in unlinks:
            unlink.start()
        for unlink in unlinks:
            unlink.join(timeout=20)
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.GetItem", after_read)

    assert sorted(answer.status for answer in answers) == [204, 404]
    assert [event["detail-type"] for event in read_outcomes()] == ["Sesame Account Unlinked"]


@pytest.mark.parametrize(
    "transport_error",
    [
        ReadTimeoutError(endpoint_url="http://127.0.0.1/"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1/"),
    ],
    ids=["read-timeout", "connection-error"],
)
def test_an_unlink_whose_secret_deletion_gets_no_answer_is_503_and_keeps_the_connection(
    transport_error: Exception,
    api: Api,
    new_account: NewAccount,
    tenant: str,
    inject_aws_error: Callable[..., None],
) -> None:
    cid = link(api, new_account(), tenant)["connection_id"]
    inject_aws_error(transport_error, "secrets-manager.DeleteSecret")
    assert_problem(api("DELETE", f"/connections/{cid}", tenant), 503, "storage_unavailable", retryable=True)
    assert api("GET", f"/connections/{cid}", tenant).status == 200


def test_a_stored_token_can_be_read_by_the_check_function_only(
    api: Api, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    """Each secret's resource policy (Secrets Manager user guide, "Resource-based policies"): an
    explicit deny of GetSecretValue to every principal but the check function's role wins over
    any identity policy of the account (the key policy delegates to IAM). The emulator enforces
    no policy: the deny is evaluated here, as IAM evaluates ArnNotEquals on aws:PrincipalArn."""
    link(api, new_account(), tenant)
    [secret] = secrets_of(backends, tenant_key(tenant))
    policy = json.loads(
        backends.client("secretsmanager").get_resource_policy(SecretId=secret["ARN"])["ResourcePolicy"]
    )
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "secretsmanager:GetSecretValue",
    )
    readers = statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]

    def denied(principal: str) -> bool:
        return principal not in readers

    role = "arn:aws:iam::123456789012:role/sesame-link-local-{}"
    assert not denied(backends.resources["CheckFunctionRole.Arn"])
    assert denied(role.format("LinkFunctionRole")), "the link function writes tokens, never reads them"
    assert denied("arn:aws:iam::123456789012:role/Admin")
