"""Connect sessions (DESIGN.md, "Linking methods"), through the local gateway over HTTP: the
backend routes behind its AWS_IAM emulation (SigV4 with the local stack's credentials), the
session routes authenticated by the function, the hosted page's headers. Every rule of the
section, each with the answer API Gateway and the function give."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local.stack.backends import LOCAL_REGION, LocalBackends
from local.stack.gateway import LocalGateway
from local.stack.sigv4 import sign, sign_as_local_backend
from tests.support import canary
from tests.support.stack import Account, table_items, user_jwt

pytestmark = pytest.mark.integration
NewAccount = Callable[..., Account]


def backend(gateway: LocalGateway, method: str, path: str, body: Any = None) -> requests.Response:
    """A call of the product's backend: SigV4, as botocore signs for execute-api."""
    url = f"{gateway.url}{path}"
    data = json.dumps(body).encode() if body is not None else b""
    return requests.request(
        method, url, data=data, headers=sign_as_local_backend(method, url, data), timeout=30
    )


def mint(gateway: LocalGateway, tenant: str, **fields: Any) -> dict[str, Any]:
    answer = backend(
        gateway, "POST", "/connect-sessions", {"tenant_id": tenant, "tenant_name": "Acme Corp", **fields}
    )
    assert answer.status_code == 201, answer.text
    minted: dict[str, Any] = answer.json()
    canary.register(minted["token"])  # a session token is as radioactive as a Sesame token
    return minted


def page_call(
    gateway: LocalGateway,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    origin: str | None = None,
) -> requests.Response:
    headers = {"content-type": "application/json"} if body is not None else {}
    if token is not None:
        headers["authorization"] = f"ConnectSession {token}"
    if origin is not None:
        headers["origin"] = origin
    data = json.dumps(body).encode() if body is not None else None
    return requests.request(method, f"{gateway.url}{path}", data=data, headers=headers, timeout=30)


def complete(gateway: LocalGateway, token: str, account: Account, **options: Any) -> requests.Response:
    body = options.pop("body", {"token": account.token, "region": account.region})
    return page_call(gateway, "POST", "/connect/session/link", token, body, **options)


# --- Minting, behind AWS_IAM -----------------------------------------------------------------


def test_a_minted_session_opens_the_page_for_its_tenant(gateway: LocalGateway, tenant: str) -> None:
    minted = mint(gateway, tenant, region="eu4")

    assert minted["status"] == "open"
    assert minted["connect_url"] == f"{gateway.url}/connect#{minted['token']}"
    assert minted["token"] not in minted["session_id"]
    page = page_call(gateway, "GET", "/connect/session", minted["token"])
    assert page.status_code == 200
    assert page.json()["tenant_name"] == "Acme Corp"
    assert (page.json()["region"], page.json()["reconnect"]) == ("eu4", False)
    state = backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()
    assert (state["tenant_id"], state["status"], state["attempts"]) == (tenant, "open", 0)
    assert minted["token"] not in json.dumps(state)


def test_the_backend_routes_take_only_a_good_signature(gateway: LocalGateway, tenant: str) -> None:
    """HTTP API developer guide, "Using IAM authorization": without a valid SigV4 signature API
    Gateway answers 403 and never invokes the function."""
    url = f"{gateway.url}/connect-sessions"
    body = json.dumps({"tenant_id": tenant, "tenant_name": "Acme"}).encode()
    unsigned = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=30)
    assert unsigned.status_code == 403
    tampered = requests.post(
        url, data=body.replace(b"Acme", b"Evil"), headers=sign_as_local_backend("POST", url, body), timeout=30
    )
    assert tampered.status_code == 403
    other_key = sign("POST", url, body, access_key="someone", secret_key="else", region=LOCAL_REGION)
    assert requests.post(url, data=body, headers=other_key, timeout=30).status_code == 403
    assert (
        requests.post(
            url, data=body, headers=sign_as_local_backend("POST", url, body), timeout=30
        ).status_code
        == 201
    )


def test_a_mint_whose_event_names_no_iam_caller_is_refused(api: Callable[..., Any], tenant: str) -> None:
    answer = api("POST", "/connect-sessions", tenant, body={"tenant_id": tenant, "tenant_name": "Acme"})
    assert (answer.status, answer.body["code"]) == (401, "unauthenticated")


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_in": 59},
        {"expires_in": 604801},
        {"tenant_name": ""},
        {"tenant_name": "x" * 101},
        {"tenant_name": "Acme\n"},
        {"allowed_origins": ["http://app.example.com"]},
        {"allowed_origins": ["https://app.example.com/path"]},
        {"allowed_origins": [f"https://app{index}.example.com" for index in range(6)]},
        {"region": "eu 1"},
        {"connection_id": "not-a-connection"},
        {"scopes": ["all"]},
    ],
    ids=lambda fields: next(iter(fields)) + "=" + str(next(iter(fields.values())))[:20],
)
def test_a_mint_out_of_range_is_an_invalid_request(
    gateway: LocalGateway, tenant: str, fields: dict[str, Any]
) -> None:
    answer = backend(
        gateway, "POST", "/connect-sessions", {"tenant_id": tenant, "tenant_name": "Acme", **fields}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


def test_the_bounds_of_a_mint_are_accepted(gateway: LocalGateway, tenant: str) -> None:
    for expires_in in (60, 604800):
        assert mint(gateway, tenant, expires_in=expires_in)["status"] == "open"
    origins = [f"https://app{index}.example.com" for index in range(5)]
    assert mint(gateway, tenant, allowed_origins=origins, tenant_name="x" * 100)["status"] == "open"


def test_a_reconnect_of_another_tenants_connection_is_not_found(
    gateway: LocalGateway, tenant: str, new_account: NewAccount
) -> None:
    account = new_account()
    linked = complete(gateway, mint(gateway, f"{tenant}-other")["token"], account).json()
    answer = backend(
        gateway,
        "POST",
        "/connect-sessions",
        {"tenant_id": tenant, "tenant_name": "Acme", "connection_id": linked["connection_id"]},
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "connection_not_found")


# --- Completing --------------------------------------------------------------------------------


def test_a_completed_session_links_for_its_tenant_once(
    gateway: LocalGateway,
    tenant: str,
    new_account: NewAccount,
    read_outcomes: Callable[[], list[dict[str, Any]]],
) -> None:
    minted, account = mint(gateway, tenant), new_account()

    linked = complete(gateway, minted["token"], account)

    assert linked.status_code == 201
    assert linked.json()["company"]["id"] == account.company_id
    listed = requests.get(
        f"{gateway.url}/connections", headers={"authorization": f"Bearer {user_jwt(tenant)}"}, timeout=30
    ).json()
    assert [c["connection_id"] for c in listed["connections"]] == [linked.json()["connection_id"]]
    state = backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()
    assert (state["status"], state["connection_id"]) == ("completed", linked.json()["connection_id"])
    assert state["completed_at"] is not None
    again = complete(gateway, minted["token"], account)
    assert (again.status_code, again.json()["code"]) == (410, "session_expired")
    [event] = [e for e in read_outcomes() if e["detail-type"] == "Sesame Account Linked"]
    assert (event["detail"]["via"], event["detail"]["session_id"]) == ("session", minted["session_id"])
    assert minted["token"] not in json.dumps(event)


@pytest.mark.parametrize(
    "authorization",
    [None, "ConnectSession", "ConnectSession cst_short", "Bearer x", "tampered"],
    ids=["none", "empty", "malformed", "another scheme", "tampered"],
)
def test_no_or_a_wrong_session_token_is_invalid(
    gateway: LocalGateway, tenant: str, new_account: NewAccount, authorization: str | None
) -> None:
    token = mint(gateway, tenant)["token"]
    headers = {} if authorization is None else {"authorization": authorization}
    if authorization == "tampered":
        headers = {"authorization": f"ConnectSession {token[:-1]}{'A' if token[-1] != 'A' else 'B'}"}
    for method, path in (("GET", "/connect/session"), ("POST", "/connect/session/link")):
        account = new_account()
        answer = requests.request(
            method,
            f"{gateway.url}{path}",
            json={"token": account.token, "region": "eu1"} if method == "POST" else None,
            headers=headers,
            timeout=30,
        )
        assert (answer.status_code, answer.json()["code"]) == (401, "session_invalid"), path


def test_the_body_of_a_completion_is_exactly_token_and_region(
    gateway: LocalGateway, tenant: str, new_account: NewAccount
) -> None:
    token, account = mint(gateway, tenant)["token"], new_account()
    for body in ({"token": account.token, "region": "eu1", "tenant_id": "another"}, {"token": account.token}):
        answer = complete(gateway, token, account, body=body)
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")
    assert complete(gateway, token, account).status_code == 201


def test_five_conclusive_failures_exhaust_a_session_and_transient_ones_do_not(
    gateway: LocalGateway, backends: LocalBackends, tenant: str, new_account: NewAccount
) -> None:
    minted, account = mint(gateway, tenant), new_account()
    backends.sesame.latency_seconds = 0.0
    for _ in range(4):
        bad = complete(gateway, minted["token"], account, body={"token": canary.new_token(), "region": "eu1"})
        assert bad.json()["code"] == "invalid_token"
    state = backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()
    assert (state["status"], state["attempts"]) == ("open", 4)
    fifth = complete(gateway, minted["token"], account, body={"token": canary.new_token(), "region": "eu1"})
    assert fifth.json()["code"] == "invalid_token"
    refused = complete(gateway, minted["token"], account)
    assert (refused.status_code, refused.json()["code"]) == (410, "session_expired")
    state = backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()
    assert (state["status"], state["attempts"]) == ("exhausted", 5)


def test_a_reconnect_links_only_the_same_sesame_company(
    gateway: LocalGateway, tenant: str, new_account: NewAccount
) -> None:
    first = new_account()
    linked = complete(gateway, mint(gateway, tenant)["token"], first).json()
    reconnect = mint(gateway, tenant, connection_id=linked["connection_id"])
    assert page_call(gateway, "GET", "/connect/session", reconnect["token"]).json()["reconnect"] is True

    other = complete(gateway, reconnect["token"], new_account())
    assert (other.status_code, other.json()["code"]) == (422, "company_mismatch")
    listed = requests.get(
        f"{gateway.url}/connections", headers={"authorization": f"Bearer {user_jwt(tenant)}"}, timeout=30
    ).json()
    assert len(listed["connections"]) == 1, "nothing written"
    same = complete(gateway, reconnect["token"], first)
    assert (same.status_code, same.json()["connection_id"]) == (200, linked["connection_id"])


def test_an_expired_session_still_in_the_table_is_refused(
    gateway: LocalGateway, backends: LocalBackends, tenant: str, new_account: NewAccount
) -> None:
    minted = mint(gateway, tenant, expires_in=60)
    table = backends.resources["ConnectSessionsTable"]
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dynamodb = backends.client("dynamodb")
    [item] = [
        i
        for i in table_items(backends, "ConnectSessionsTable")
        if i.get("session_id", {}).get("S") == minted["session_id"]
    ]
    dynamodb.update_item(
        TableName=table,
        Key={"key": item["key"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )
    for answer in (
        page_call(gateway, "GET", "/connect/session", minted["token"]),
        complete(gateway, minted["token"], new_account()),
    ):
        assert (answer.status_code, answer.json()["code"]) == (410, "session_expired")
    assert backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()["status"] == "expired"


def test_a_revoked_session_is_refused(gateway: LocalGateway, tenant: str, new_account: NewAccount) -> None:
    minted = mint(gateway, tenant)
    assert backend(gateway, "DELETE", f"/connect-sessions/{minted['session_id']}").status_code == 204
    answer = complete(gateway, minted["token"], new_account())
    assert (answer.status_code, answer.json()["code"]) == (410, "session_expired")
    assert backend(gateway, "GET", f"/connect-sessions/{minted['session_id']}").json()["status"] == "revoked"
    missing = backend(gateway, "GET", "/connect-sessions/cs_" + "0" * 32)
    assert missing.status_code == 404


def test_a_browser_origin_must_be_the_pages_or_one_the_session_allows(
    gateway: LocalGateway, tenant: str
) -> None:
    token = mint(gateway, tenant, allowed_origins=["https://app.example.com"])["token"]
    for origin, status in (
        (None, 200),
        (gateway.url, 200),
        ("https://app.example.com", 200),
        ("https://evil.example.com", 403),
        ("https://app.example.com.evil.example", 403),
    ):
        answer = page_call(gateway, "GET", "/connect/session", token, origin=origin)
        assert answer.status_code == status, origin
        if status == 403:
            assert answer.json()["code"] == "origin_not_allowed"


def test_sessions_count_against_the_tenants_link_budget(
    gateway: LocalGateway, tenant: str, new_account: NewAccount
) -> None:
    """DESIGN.md, "Abuse limits": every link door counts, sessions included (5 per 15 minutes)."""
    for _ in range(5):
        token = mint(gateway, tenant)["token"]
        answer = complete(gateway, token, new_account(), body={"token": canary.new_token(), "region": "eu1"})
        assert answer.json()["code"] == "invalid_token"
    answer = complete(gateway, mint(gateway, tenant)["token"], new_account())
    assert (answer.status_code, answer.json()["code"]) == (429, "link_attempts_exhausted")


def test_no_session_token_is_kept_in_the_table(
    gateway: LocalGateway, backends: LocalBackends, tenant: str, new_account: NewAccount
) -> None:
    minted = mint(gateway, tenant)
    complete(gateway, minted["token"], new_account())
    mine = [
        item
        for item in table_items(backends, "ConnectSessionsTable")
        if minted["session_id"] in json.dumps(item)
    ]
    assert len(mine) == 2, "the session, and its id's pointer"
    # The template's TTL attribute: both leave a day after the session expires.
    assert all(int(item["expires"]["N"]) > datetime.now(UTC).timestamp() + 86000 for item in mine)
    items = json.dumps(table_items(backends, "ConnectSessionsTable"))
    assert minted["session_id"] in items
    assert minted["token"] not in items
    assert minted["token"].removeprefix("cst_") not in items


# --- The hosted page ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/connect", "/connect/hosted.js", "/connect/hosted.css"])
def test_the_hosted_page_is_served_with_its_security_headers(gateway: LocalGateway, path: str) -> None:
    answer = requests.get(f"{gateway.url}{path}", timeout=30)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy  # no embedding origins configured
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert requests.get(f"{gateway.url}/connect/other.js", timeout=30).status_code == 404
