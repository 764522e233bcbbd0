"""POST /connections end to end: the real handler, moto's Secrets Manager + KMS over HTTP,
and the Sesame simulator. One test per row of DESIGN.md's error table that the HTTP door has."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends
from local.stack.gateway import http_api_event
from local.stack.sesame_sim import Fault
from sesame_link.core.domain import tenant_key
from tests.support.stack import (
    ONE_SECOND_FOR_SESAME,
    SECRET_PREFIX,
    Account,
    Answer,
    assert_problem,
    current_token,
    secret_under_alias,
    secrets_of,
)

pytestmark = pytest.mark.integration

Post = Callable[..., Answer]
NewAccount = Callable[..., Account]


def assert_nothing_stored(backends: LocalBackends, tenant: str) -> None:
    assert secrets_of(backends, tenant_key(tenant)) == []


def test_a_good_token_is_stored_encrypted_and_confirmed(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)

    assert answer.status == 201, answer.raw
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.body["provider"] == "sesame_hr"
    assert answer.body["status"] == "active"
    assert answer.body["region"] == "eu1"
    assert answer.body["company"] == {"id": account.company_id, "name": account.company_name}
    assert answer.body["token_hint"] == "…" + account.token[-4:]
    assert answer.body["created"] is True
    assert answer.body["status_reason"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer.body["linked_at"])
    assert answer.body["checked_at"] == answer.body["linked_at"]
    assert re.fullmatch(r"conn_[0-9a-f]{32}", answer.body["connection_id"])
    assert account.token not in answer.raw
    assert "arn:" not in answer.raw

    [secret] = secrets_of(backends, tenant_key(tenant))
    assert secret["Name"] == f"{SECRET_PREFIX}/{tenant_key(tenant)}/sesame/{account.company_id}"
    assert secret["KmsKeyId"] == backends.key_arn
    assert {tag["Key"]: tag["Value"] for tag in secret["Tags"]} == {
        "sesame-link:tenant": tenant_key(tenant),
        "sesame-link:provider": "sesame_hr",
        "sesame-link:region": "eu1",
        "sesame-link:company": account.company_id,
    }
    stored = json.loads(
        backends.client("secretsmanager").get_secret_value(SecretId=secret["ARN"])["SecretString"]
    )
    # Only what is stable: the same link again gives the same value (and version).
    assert stored == {
        "token": account.token,
        "region": "eu1",
        "company_id": account.company_id,
        "company_name": account.company_name,
    }


def versions_of(backends: LocalBackends, tenant: str) -> dict[str, list[str]]:
    [secret] = secrets_of(backends, tenant_key(tenant))
    listed = backends.client("secretsmanager").list_secret_version_ids(SecretId=secret["ARN"])["Versions"]
    return {version["VersionId"]: version["VersionStages"] for version in listed}


def test_linking_again_with_the_same_token_writes_no_new_version(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    answers = [post_link({"token": account.token, "region": "eu1"}, tenant) for _ in range(3)]

    assert [answer.status for answer in answers] == [201, 200, 200]
    assert {answer.body["connection_id"] for answer in answers} == {answers[0].body["connection_id"]}
    assert {answer.body["linked_at"] for answer in answers} == {answers[0].body["linked_at"]}
    [(version, stages)] = versions_of(backends, tenant).items()
    assert stages == ["AWSCURRENT"]
    assert account.token not in version


def test_a_new_token_for_the_same_company_replaces_the_stored_one(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    post_link({"token": account.token, "region": "eu1"}, tenant)
    rotated = new_account()
    backends.sesame.add_account(rotated.token, "eu1", account.company_id, account.company_name)
    answer = post_link({"token": rotated.token, "region": "eu1"}, tenant)

    assert (answer.status, answer.body["created"]) == (200, False)
    assert current_token(backends, tenant) == rotated.token
    assert sorted(versions_of(backends, tenant).values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]]


def test_an_earlier_token_linked_again_becomes_current_without_a_new_version(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    first = new_account()
    second = new_account()
    backends.sesame.add_account(second.token, "eu1", first.company_id, first.company_name)
    for account in (first, second, first):
        assert post_link({"token": account.token, "region": "eu1"}, tenant).status in (200, 201)

    assert current_token(backends, tenant) == first.token
    assert len(versions_of(backends, tenant)) == 2


def test_a_secret_of_that_name_under_another_key_is_never_written(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str, link_spec: Any
) -> None:
    account = new_account()
    name = f"{link_spec.environment['SECRET_PREFIX']}/{tenant_key(tenant)}/sesame/{account.company_id}"
    other_key = backends.client("kms").create_key(Description="someone else's key")["KeyMetadata"]["Arn"]
    secrets = backends.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString="someone else's value", KmsKeyId=other_key)

    answer = post_link({"token": account.token, "region": "eu1"}, tenant)

    assert_problem(answer, 500, "storage_failed")
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "someone else's value"
    assert len(versions_of(backends, tenant)) == 1


def test_a_secret_of_that_name_under_an_alias_of_the_key_is_written(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str, link_spec: Any
) -> None:
    """DescribeSecret names a key the secret was created with by its alias ARN (Secrets Manager
    API reference, DescribeSecret, KmsKeyId): KMS says which key that is. (An alias of another key
    is refused: tests/unit/adapters/test_vault.py; on AWS, DescribeKey on it is also denied.)"""
    account = new_account()
    name = f"{link_spec.environment['SECRET_PREFIX']}/{tenant_key(tenant)}/sesame/{account.company_id}"
    secret_under_alias(backends, name, backends.resources["LinkKey.Arn"])

    answer = post_link({"token": account.token, "region": "eu1"}, tenant)

    assert answer.status == 201
    assert current_token(backends, tenant) == account.token


def test_tenants_are_isolated(post_link: Post, new_account: NewAccount, backends: LocalBackends) -> None:
    account = new_account()
    first = post_link({"token": account.token, "region": "eu1"}, "tenant-one")
    second = post_link({"token": account.token, "region": "eu1"}, "tenant-two")

    assert (first.status, second.status) == (201, 201)
    assert first.body["connection_id"] != second.body["connection_id"]
    names = {
        secret["Name"] for tenant in ("tenant-one", "tenant-two") for secret in secrets_of(backends, tenant)
    }
    assert names == {
        f"{SECRET_PREFIX}/tenant-one/sesame/{account.company_id}",
        f"{SECRET_PREFIX}/tenant-two/sesame/{account.company_id}",
    }


def test_unicode_company_names_survive(post_link: Post, new_account: NewAccount, tenant: str) -> None:
    account = new_account(name="Nórdica Café 株式会社 — Ñandú 🚀")
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)
    assert answer.status == 201
    assert answer.body["company"]["name"] == "Nórdica Café 株式会社 — Ñandú 🚀"


def test_a_base64_encoded_json_body_is_accepted(
    post_link: Post, new_account: NewAccount, tenant: str, link_handler: Any, link_spec: Any
) -> None:
    account = new_account()
    event = http_api_event(
        "POST",
        "/connections",
        {"content-type": "application/json; charset=utf-8"},
        json.dumps({"token": account.token, "region": "eu1"}).encode(),
        {"sub": tenant},
        "::1",
    )
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert link_handler(event, LocalLambdaContext(link_spec))["statusCode"] == 201


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "token={token}&region=eu1"),
        ("multipart/form-data", "--b\r\nContent-Disposition: form-data; name=token\r\n\r\n{token}\r\n--b--"),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nContent-Disposition: form-data; name=token\r\n\r\n{token}\r\n--b--",
        ),
    ],
)
def test_only_json_bodies_are_read(
    post_link: Post, new_account: NewAccount, tenant: str, content_type: str, body: str
) -> None:
    account = new_account()
    raw = body.format(token=account.token).encode()
    answer = post_link(None, tenant, raw=raw, headers={"content-type": content_type})
    assert_problem(answer, 400, "invalid_request")
    assert account.token not in answer.raw


def test_the_tenant_claim_comes_from_the_jwt_not_the_body(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    answer = post_link({"token": account.token, "region": "eu1", "tenant": "someone-else"}, tenant)
    assert_problem(answer, 400, "invalid_request")
    assert {"field": "tenant", "message": "is not a known field"} in answer.body["errors"]
    assert_nothing_stored(backends, tenant)
    assert_nothing_stored(backends, "someone-else")


@pytest.mark.parametrize(
    "claims", [{}, {"email": "a@example.com"}, {"sub": ""}, {"sub": 12345}, {"sub": "x\ny"}]
)
def test_no_usable_tenant_claim_is_unauthenticated(
    post_link: Post, new_account: NewAccount, claims: dict[str, Any], backends: LocalBackends
) -> None:
    account = new_account()
    answer = post_link({"token": account.token, "region": "eu1"}, None, claims=claims)
    assert_problem(answer, 401, "unauthenticated")
    assert backends.sesame.seen() == []


def test_no_authorizer_at_all_is_unauthenticated(post_link: Post, new_account: NewAccount) -> None:
    account = new_account()
    assert_problem(post_link({"token": account.token, "region": "eu1"}, None), 401, "unauthenticated")


def test_a_request_without_a_tenant_is_refused_before_its_body_is_read(post_link: Post) -> None:
    assert_problem(post_link(None, None, raw=b"{not json"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (b"not json at all", {}),
        (b"", {}),
        (b"[]", {}),
        (b'{"token": null, "region": "eu1"}', {}),
        (b'{"token": "0123456789abcdef0123", "region": "eu1.evil.com"}', {}),
        (b'{"token": "0123456789abcdef0123", "region": "eu1/.."}', {}),
        (b'{"token": "short", "region": "eu1"}', {}),
        (b"\xff\xfe{}", {"content-type": "application/octet-stream"}),
        (b"!!not base64!!", {"content-type": "application/octet-stream"}),
    ],
)
def test_bad_bodies_are_invalid_requests(
    post_link: Post, raw: bytes, headers: dict[str, str], backends: LocalBackends, tenant: str
) -> None:
    answer = post_link(None, tenant, raw=raw, headers=headers)
    assert_problem(answer, 400, "invalid_request")
    assert_nothing_stored(backends, tenant)
    assert backends.sesame.seen() == []
    for fragment in ("evil.com", "0123456789abcdef0123", "short", "not json"):
        assert fragment not in answer.raw


def test_a_body_over_the_limit_is_too_large(post_link: Post, new_account: NewAccount, tenant: str) -> None:
    account = new_account()
    answer = post_link({"token": account.token, "region": "eu1", "padding": "x" * 9000}, tenant)
    assert_problem(answer, 413, "payload_too_large")


def test_a_rejected_token_is_invalid(
    post_link: Post, backends: LocalBackends, tenant: str, new_account: NewAccount
) -> None:
    token = new_account(region="eu1").token + "0"  # same shape, unknown to Sesame
    answer = post_link({"token": token, "region": "eu1"}, tenant)
    assert_problem(answer, 422, "invalid_token")
    assert_nothing_stored(backends, tenant)


def test_a_token_of_another_region_suggests_it(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account(region="eu4")
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)
    assert_problem(answer, 422, "wrong_region")
    assert answer.body["suggested_region"] == "eu4"
    assert_nothing_stored(backends, tenant)
    again = post_link({"token": account.token, "region": "eu4"}, tenant)
    assert again.status == 201


def test_a_region_without_a_host_is_unknown(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    answer = post_link({"token": new_account().token, "region": "zz9"}, tenant)
    assert_problem(answer, 422, "unknown_region")
    assert_nothing_stored(backends, tenant)


@pytest.mark.parametrize(
    ("fault", "status", "code", "retryable"),
    [
        (Fault(status=403), 422, "token_forbidden", False),
        (Fault(status=429), 503, "sesame_rate_limited", True),
        (Fault(status=500), 502, "sesame_unavailable", True),
        (Fault(status=503), 502, "sesame_unavailable", True),
        (Fault(status=200, body=b'{"data": {"company": {}}}'), 502, "sesame_unavailable", True),
        (Fault(status=200, body=b"<html>oops</html>"), 502, "sesame_unavailable", True),
        (Fault(reset=True), 502, "sesame_unavailable", True),
        (Fault(delay_seconds=1.5), 504, "sesame_timeout", True),
    ],
)
def test_sesame_failures_give_their_code_and_store_nothing(
    post_link: Post,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    fault: Fault,
    status: int,
    code: str,
    retryable: bool,
) -> None:
    account = new_account()
    backends.sesame.set_fault("eu1", fault)
    answer = post_link(
        {"token": account.token, "region": "eu1"}, tenant, timeout_seconds=ONE_SECOND_FOR_SESAME
    )
    assert_problem(answer, status, code, retryable)
    assert_nothing_stored(backends, tenant)


def test_retry_after_is_passed_on(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    backends.sesame.set_fault("eu1", Fault(status=429, headers={"Retry-After": "42"}))
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)
    assert_problem(answer, 503, "sesame_rate_limited", retryable=True)
    assert answer.headers["Retry-After"] == "42"


def test_a_secret_scheduled_for_deletion_is_restored_and_rotated(
    post_link: Post, new_account: NewAccount, backends: LocalBackends, tenant: str
) -> None:
    account = new_account()
    first = post_link({"token": account.token, "region": "eu1"}, tenant)
    [secret] = secrets_of(backends, tenant_key(tenant))
    client = backends.client("secretsmanager")
    client.delete_secret(SecretId=secret["ARN"], RecoveryWindowInDays=7)

    answer = post_link({"token": account.token, "region": "eu1"}, tenant)

    assert answer.status == 200, answer.raw
    assert answer.body["connection_id"] == first.body["connection_id"]
    assert "DeletedDate" not in client.describe_secret(SecretId=secret["ARN"])


@pytest.mark.parametrize(
    ("error_code", "status", "code", "retryable"),
    [
        ("ThrottlingException", 503, "storage_unavailable", True),
        ("InternalServiceError", 503, "storage_unavailable", True),
        ("AccessDeniedException", 500, "storage_failed", False),
        ("KMSDisabledException", 500, "storage_failed", False),
    ],
)
def test_storage_failures_after_a_good_check_store_nothing(
    post_link: Post,
    new_account: NewAccount,
    backends: LocalBackends,
    tenant: str,
    inject_aws_error: Callable[[str], None],
    error_code: str,
    status: int,
    code: str,
    retryable: bool,
) -> None:
    account = new_account()
    inject_aws_error(error_code)
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)
    assert_problem(answer, status, code, retryable)
    assert_nothing_stored(backends, tenant)


def test_no_answer_echoes_the_token(post_link: Post, new_account: NewAccount, tenant: str) -> None:
    account = new_account()
    answers = [
        post_link({"token": account.token, "region": "eu1"}, tenant),
        post_link({"token": account.token, "region": "eu4"}, tenant),
        post_link({"token": account.token, "region": "eu1.x"}, tenant),
        post_link({"token": account.token, "region": "eu1", "x": 1}, tenant),
        post_link(
            None, tenant, raw=base64.b64encode(account.token.encode()), headers={"content-type": "x/y"}
        ),
    ]
    assert [answer.status for answer in answers] == [201, 422, 400, 400, 400]
    for answer in answers:
        assert account.token not in answer.raw
