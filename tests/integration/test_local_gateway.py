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
from tests.support.stack import Account, unsigned_jwt

pytestmark = pytest.mark.integration
ORIGIN = "http://127.0.0.1:3000"  # the template's FrontendOrigin default


def test_a_link_with_a_jwt_is_created_with_cors_headers(
    gateway: LocalGateway, new_account: Callable[..., Account], tenant: str
) -> None:
    account = new_account()
    response = requests.post(
        f"{gateway.url}/connections",
        json={"token": account.token, "region": "eu1"},
        headers={"Authorization": f"Bearer {unsigned_jwt({'sub': tenant})}", "Origin": ORIGIN},
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
        headers={"Authorization": f"Bearer {unsigned_jwt({'email': 'a@example.com'})}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"


def test_an_unknown_route_is_a_problem_too(gateway: LocalGateway) -> None:
    response = requests.get(
        f"{gateway.url}/secrets",
        headers={"Authorization": f"Bearer {unsigned_jwt({'sub': 't'})}"},
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
