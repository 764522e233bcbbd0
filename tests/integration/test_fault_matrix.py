"""Every fault, through both doors: the documented code, nothing stored, the failure reported as
an outcome event, no token anywhere (the canary watches all captured output)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends
from local.stack.event_source import sqs_event_of
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec
from sesame_link.adapters.sesame import MAX_BODY_BYTES
from sesame_link.core.domain import MAX_TENANT_KEY_CHARS, tenant_key
from sesame_link.services.linking import SESAME_BUDGET_SECONDS
from tests.support.stack import ONE_SECOND_FOR_SESAME, Account, Answer, secrets_of

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    status: int
    code: str
    sesame: Fault | None = None
    aws_error: str | Exception | None = None  # an error code to answer with, or a client-side error

    @property
    def retryable(self) -> bool:
        return self.status in {502, 503, 504}


CASES = {
    "sesame 500": Case(502, "sesame_unavailable", Fault(status=500)),
    "sesame 502": Case(502, "sesame_unavailable", Fault(status=502)),
    "sesame 503": Case(502, "sesame_unavailable", Fault(status=503)),
    "sesame 429 with Retry-After": Case(
        503, "sesame_rate_limited", Fault(status=429, headers={"Retry-After": "7"})
    ),
    "sesame 429 without Retry-After": Case(503, "sesame_rate_limited", Fault(status=429)),
    "sesame 403": Case(422, "token_forbidden", Fault(status=403)),
    "sesame 401": Case(422, "invalid_token", Fault(status=401)),
    # Longer than any door's Sesame budget: the HTTP door's tests leave it 1 s, a batch door has 4 s.
    "sesame timeout": Case(504, "sesame_timeout", Fault(delay_seconds=SESAME_BUDGET_SECONDS + 0.5)),
    "sesame reset mid-response": Case(502, "sesame_unavailable", Fault(reset=True)),
    "sesame 200 with HTML": Case(
        502, "sesame_unavailable", Fault(status=200, body=b"<!doctype html><p>hi</p>")
    ),
    "sesame 200 without company id": Case(
        502, "sesame_unavailable", Fault(status=200, body=b'{"data": {"company": {"name": "x"}}}')
    ),
    "sesame slow trickle": Case(504, "sesame_timeout", Fault(trickle_seconds=0.05)),
    "sesame redirect elsewhere": Case(
        502, "sesame_unavailable", Fault(status=302, headers={"Location": "http://127.0.0.1:9/steal"})
    ),
    "sesame answer too large": Case(
        502,
        "sesame_unavailable",
        Fault(status=200, body=b'{"data": {"company": {"id": "x"}}, "p": "' + b"x" * MAX_BODY_BYTES + b'"}'),
    ),
    "no AWS credentials": Case(500, "storage_failed", aws_error=NoCredentialsError()),
    "secrets manager throttling": Case(503, "storage_unavailable", aws_error="ThrottlingException"),
    "secrets manager unavailable": Case(503, "storage_unavailable", aws_error="ServiceUnavailable"),
    "access denied": Case(500, "storage_failed", aws_error="AccessDeniedException"),
    "kms key disabled or pending deletion": Case(500, "storage_failed", aws_error="EncryptionFailure"),
    "kms key in an invalid state": Case(500, "storage_failed", aws_error="KMSInvalidStateException"),
}


@pytest.fixture
def broken(backends: LocalBackends, inject_aws_error: Callable[..., None]) -> Callable[[Case], None]:
    def apply(case: Case) -> None:
        if case.sesame:
            backends.sesame.set_fault("eu1", case.sesame)
        if case.aws_error:
            inject_aws_error(case.aws_error)

    return apply


@pytest.mark.parametrize("name", sorted(CASES))
def test_http_door(
    name: str,
    broken: Callable[[Case], None],
    post_link: Callable[..., Answer],
    new_account: Callable[..., Account],
    backends: LocalBackends,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    case, account = CASES[name], new_account()
    broken(case)
    answer = post_link(
        {"token": account.token, "region": "eu1"}, tenant, timeout_seconds=ONE_SECOND_FOR_SESAME
    )

    assert (answer.status, answer.body["code"], answer.body["retryable"]) == (
        case.status,
        case.code,
        case.retryable,
    )
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert secrets_of(backends, tenant_key(tenant)) == []
    assert [event["detail"]["code"] for event in read_outcomes()] == [case.code]
    assert account.token not in answer.raw
    if isinstance(
        case.aws_error, str
    ):  # how the account's IAM and keys are set up is not the caller's business
        assert case.aws_error not in answer.raw


@pytest.mark.parametrize("name", sorted(CASES))
def test_provisioning_door(
    name: str,
    broken: Callable[[Case], None],
    provisioning_handler: Callable[..., dict[str, Any]],
    provisioning_spec: FunctionSpec,
    new_account: Callable[..., Account],
    backends: LocalBackends,
    tenant: str,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    case, account = CASES[name], new_account()
    broken(case)
    body = {
        "detail-type": "Sesame Credential Submitted",
        "detail": {"tenant_id": tenant, "token": account.token, "region": "eu1"},
    }
    result = provisioning_handler(sqs_event_of([json.dumps(body)]), LocalLambdaContext(provisioning_spec))

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}] if case.retryable else []}
    assert secrets_of(backends, tenant_key(tenant)) == []
    [event] = read_outcomes()
    assert (event["detail"]["code"], event["detail"]["retryable"]) == (case.code, case.retryable)
    assert account.token not in json.dumps(event)


@pytest.mark.parametrize(("length", "status"), [(MAX_TENANT_KEY_CHARS, 201), (MAX_TENANT_KEY_CHARS + 1, 401)])
def test_a_tenant_at_the_length_limit_links_and_one_over_it_is_unauthenticated(
    length: int, status: int, post_link: Callable[..., Answer], new_account: Callable[..., Account]
) -> None:
    account = new_account()
    tenant = "auth0|" + (uuid.uuid4().hex * 10)[: length - len("auth0_7c")]  # "|" escapes to 3 characters
    assert len(tenant_key(tenant)) == length
    answer = post_link({"token": account.token, "region": "eu1"}, tenant)
    assert answer.status == status, answer.raw
    if status == 401:
        assert answer.body["code"] == "unauthenticated"


@pytest.mark.parametrize("value", ["not json", '{"token": "x"}', '["a list"]', '"a string"'])
def test_a_malformed_stored_secret_is_storage_failed_on_the_check_route(
    value: str,
    post_link: Callable[..., Answer],
    api: Callable[..., Answer],
    new_account: Callable[..., Account],
    backends: LocalBackends,
    tenant: str,
) -> None:
    account = new_account()
    cid = post_link({"token": account.token, "region": "eu1"}, tenant).body["connection_id"]
    [secret] = secrets_of(backends, tenant_key(tenant))
    backends.client("secretsmanager").put_secret_value(SecretId=secret["ARN"], SecretString=value)
    answer = api("POST", f"/connections/{cid}/check", tenant)
    assert (answer.status, answer.body["code"], answer.body["retryable"]) == (500, "storage_failed", False)
