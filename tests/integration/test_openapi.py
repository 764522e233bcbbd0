"""The committed OpenAPI spec is what the resolver generates, and the API keeps to it:
schemathesis against the local gateway finds no 5xx and only problem+json errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from schemathesis.checks import positive_data_acceptance

from local.stack.gateway import LocalGateway
from local.stack.sigv4 import sign_as_local_backend
from tests.support.stack import user_jwt

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_path(ROOT / "openapi.json")
# What the gateway answers itself, before the function runs: API Gateway's JWT authorizer, and the
# local gateway's refusal of a body that is not JSON (local/stack/gateway.py).
GATEWAY_REJECTIONS = (
    {"message": "Unauthorized"},
    {"message": "Forbidden"},  # the AWS_IAM authorizer: no valid SigV4 signature
    {"message": "Unsupported Media Type"},
)


@schema.auth()
class UnsignedJwt:
    """A JWT the local gateway reads (it does not check signatures) naming a tenant."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return user_jwt("api-fuzz")

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def test_the_committed_spec_is_what_the_code_generates() -> None:
    child = subprocess.run(
        [sys.executable, "-m", "local.build.openapi", "--check"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr


class SignedForTheBackendRoutes(requests.auth.AuthBase):
    """The connect-session routes take SigV4 (AWS_IAM): a request carrying the valid credentials
    schemathesis was given (UnsignedJwt's) is signed as the product's backend signs it; one whose
    credentials a check removed or spoilt goes unsigned, and API Gateway refuses it (403)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        given = request.headers.get("Authorization") == f"Bearer {user_jwt('api-fuzz')}"
        if given and urlsplit(request.url or "").path.startswith("/connect-sessions"):
            body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
            request.headers.pop("Authorization", None)
            request.headers.update(sign_as_local_backend(request.method or "GET", request.url or "", body))
        return request


@schema.parametrize()
def test_the_api_keeps_to_its_spec(case: schemathesis.Case, gateway: LocalGateway) -> None:
    session = requests.Session()
    session.auth = SignedForTheBackendRoutes()
    response = case.call(base_url=gateway.url, session=session)
    assert response.status_code < 500, response.text
    if response.status_code in (401, 403, 415) and json.loads(response.text) in GATEWAY_REJECTIONS:
        return
    if response.status_code >= 400:
        content_type = {name.lower(): value for name, value in response.headers.items()}["content-type"]
        assert content_type in ("application/problem+json", ["application/problem+json"])
        problem = json.loads(response.text)
        assert {"type", "title", "status", "detail", "code", "retryable"} <= problem.keys()
    # A schema-valid body with a made-up token is rightly refused by Sesame (422).
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
