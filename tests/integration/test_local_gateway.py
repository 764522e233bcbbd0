"""Through the local gateway over real HTTP, as a frontend calls the deployed API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import requests

from local.stack.environments import InProcessEnvironment
from local.stack.gateway import LocalGateway
from local.template import FunctionSpec, load_template
from tests.support.stack import USER_SCOPES, Account, unsigned_jwt, user_jwt

pytestmark = pytest.mark.integration
ORIGIN = "http://127.0.0.1:3000"  # the template's FrontendOrigin default


def test_a_link_with_a_jwt_is_created_with_cors_headers(
    gateway: LocalGateway, new_account: Callable[..., Account], tenant: str
) -> None:
    account = new_account()
    response = requests.post(
        f"{gateway.url}/connections",
        json={"token": account.token, "region": "eu1"},
        headers={"Authorization": f"Bearer {user_jwt(tenant)}", "Origin": ORIGIN},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.json()["company"]["id"] == account.company_id


def test_a_preflight_allows_the_frontend_origin(gateway: LocalGateway) -> None:
    response = requests.options(
        f"{gateway.url}/connections",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_no_jwt_is_refused_by_the_gateway_like_api_gateway(gateway: LocalGateway) -> None:
    response = requests.post(f"{gateway.url}/connections", json={}, timeout=10)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_a_jwt_without_the_tenant_claim_is_unauthenticated(gateway: LocalGateway) -> None:
    response = requests.post(
        f"{gateway.url}/connections",
        json={"token": "0123456789abcdef0123", "region": "eu1"},
        headers={"Authorization": f"Bearer {unsigned_jwt({'email': 'a@example.com', 'scope': USER_SCOPES})}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"


def test_an_unknown_route_is_a_problem_too(gateway: LocalGateway) -> None:
    response = requests.get(
        f"{gateway.url}/secrets",
        headers={"Authorization": f"Bearer {user_jwt('t')}"},
        timeout=10,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_without_its_preflight_route_the_template_fails_every_browser_on_aws(
    gateway: LocalGateway, link_handler: Any, link_spec: FunctionSpec
) -> None:
    """The template before its OPTIONS route: the $default route's JWT authorizer takes the
    preflight, which has no Authorization header, and answers 401 (HTTP API developer guide,
    "Configuring CORS for an HTTP API with a $default route and an authorizer")."""
    document = copy.deepcopy(load_template())
    del document["Resources"]["LinkFunction"]["Properties"]["Events"]["Preflight"]
    functions = {"LinkFunction": InProcessEnvironment(link_handler, link_spec)}
    old = LocalGateway(functions, template=document).start()
    try:
        preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        refused = requests.options(f"{old.url}/connections", headers=preflight, timeout=5)
        answered = requests.options(f"{gateway.url}/connections", headers=preflight, timeout=5)
    finally:
        old.stop()
    assert refused.status_code == 401
    assert "access-control-allow-origin" not in refused.headers
    assert answered.status_code in (200, 204)
    assert answered.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("claims", "method", "status"),
    [
        ({"scope": "sesame-link/connections.read"}, "GET", 200),
        ({"scope": "sesame-link/connections.read"}, "POST", 403),
        ({"scope": "openid profile"}, "GET", 403),
        ({}, "GET", 403),
        ({"scp": ["sesame-link/connections.write"]}, "POST", 422),
    ],
    ids=["read can list", "read cannot link", "an ID token", "no scope", "scp list can link"],
)
def test_each_route_requires_its_scope_like_api_gateway(
    gateway: LocalGateway, tenant: str, claims: dict[str, Any], method: str, status: int
) -> None:
    """HTTP API developer guide, "Controlling access to HTTP APIs with JWT authorizers": a token
    without one of the route's scopes gets API Gateway's own 403."""
    response = requests.request(
        method,
        f"{gateway.url}/connections",
        json={"token": "0123456789abcdef0123", "region": "eu1"} if method == "POST" else None,
        headers={"Authorization": f"Bearer {unsigned_jwt({'sub': tenant, **claims})}"},
        timeout=10,
    )
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == {"message": "Forbidden"}


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", "localhost:1", "attacker.test:{port}"])
def test_only_a_loopback_host_with_the_gateways_port_is_answered(gateway: LocalGateway, host: str) -> None:
    """A page whose own name resolves to 127.0.0.1 (DNS rebinding) sends that name in Host."""
    response = requests.get(
        f"{gateway.url}/connections",
        headers={"Host": host.format(port=gateway.port), "Authorization": f"Bearer {user_jwt('t')}"},
        timeout=10,
    )
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_the_loopback_names_are_answered(gateway: LocalGateway, name: str) -> None:
    response = requests.get(
        f"{gateway.url}/connections",
        headers={"Host": f"{name}:{gateway.port}", "Authorization": f"Bearer {user_jwt('t')}"},
        timeout=10,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_415(gateway: LocalGateway, content_type: str) -> None:
    """What a cross-site page can post without a CORS preflight never reaches a function."""
    response = requests.post(
        f"{gateway.url}/connections",
        data=b'{"token":"0123456789abcdef0123","region":"eu1"}',
        headers={"Content-Type": content_type, "Authorization": f"Bearer {user_jwt('t')}"},
        timeout=10,
    )
    assert response.status_code == 415


def test_a_gateway_that_trusts_no_jwt_links_as_its_own_tenant_only(
    link_handler: Any, link_spec: FunctionSpec, new_account: Callable[..., Account], tenant: str, api: Any
) -> None:
    """make run LIVE=1: real AWS behind it, so a JWT (anyone can write an unsigned one) names no
    tenant; the gateway's own --tenant does."""
    functions = {"LinkFunction": InProcessEnvironment(link_handler, link_spec)}
    default_claims = {"sub": tenant, "scope": USER_SCOPES}
    live = LocalGateway(functions, default_claims=default_claims, trust_jwts=False).start()
    try:
        response = requests.post(
            f"{live.url}/connections",
            json={"token": new_account().token, "region": "eu1"},
            headers={"Authorization": f"Bearer {user_jwt('someone-else')}"},
            timeout=10,
        )
    finally:
        live.stop()
    assert response.status_code == 201, response.text
    assert [c["connection_id"] for c in api("GET", "/connections", tenant).body["connections"]] == [
        response.json()["connection_id"]
    ]
    assert api("GET", "/connections", "someone-else").body["connections"] == []
