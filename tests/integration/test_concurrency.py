"""Simultaneous links through the local gateway with four execution environments (processes),
against the shared local backends: the create/put race is real."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local.stack.backends import DEMO_ACCOUNTS, local_client
from local.stack.sigv4 import sign_as_local_backend
from tests.support import canary
from tests.support.stack import SECRET_PREFIX, local_run, user_jwt

pytestmark = pytest.mark.integration
SIMULTANEOUS = 32


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, str]]:
    with local_run("--concurrency", "4") as endpoints:
        yield endpoints


def all_at_once(authorizations: list[str], url: str) -> list[requests.Response]:
    """The demo account's link POSTed to `url` once per Authorization value, all released together."""
    token, region, _, _ = DEMO_ACCOUNTS[0]
    barrier = threading.Barrier(len(authorizations))

    def post(authorization: str) -> requests.Response:
        barrier.wait()
        return requests.post(
            url, json={"token": token, "region": region}, headers={"Authorization": authorization}, timeout=60
        )

    with ThreadPoolExecutor(len(authorizations)) as pool:
        return list(pool.map(post, authorizations))


def link_all_at_once(url: str, tenants: list[str]) -> list[requests.Response]:
    return all_at_once([f"Bearer {user_jwt(tenant)}" for tenant in tenants], f"{url}/connections")


def secret_names(aws: str, tenant_prefix: str) -> list[str]:
    listed = local_client(aws, "secretsmanager").list_secrets(MaxResults=100)["SecretList"]
    return [
        secret["Name"] for secret in listed if secret["Name"].startswith(f"{SECRET_PREFIX}/{tenant_prefix}")
    ]


def test_one_tenant_linking_one_company_32_times_at_once_gets_one_secret(running: dict[str, str]) -> None:
    answers = link_all_at_once(running["url"], ["same-tenant"] * SIMULTANEOUS)

    assert sorted({answer.status_code for answer in answers}) in ([200, 201], [201])
    assert [answer.status_code for answer in answers].count(201) == 1
    assert len({answer.json()["connection_id"] for answer in answers}) == 1
    assert len(secret_names(running["aws"], "same-tenant/")) == 1


def test_32_tenants_at_once_get_32_secrets(running: dict[str, str]) -> None:
    tenants = [f"tenant-{index:02d}" for index in range(SIMULTANEOUS)]
    answers = link_all_at_once(running["url"], tenants)

    assert [answer.status_code for answer in answers] == [201] * SIMULTANEOUS
    assert len({answer.json()["connection_id"] for answer in answers}) == SIMULTANEOUS
    assert len(secret_names(running["aws"], "tenant-")) == SIMULTANEOUS


def test_of_32_simultaneous_completions_of_one_connect_session_exactly_one_links(
    running: dict[str, str],
) -> None:
    """Each completion claims the session with a conditional write before it links: four execution
    environments race for it, and exactly one wins (DESIGN.md, "Linking methods")."""
    url = f"{running['url']}/connect-sessions"
    body = json.dumps({"tenant_id": "session-race", "tenant_name": "Race Corp"}).encode()
    minted = requests.post(
        url, data=body, headers=sign_as_local_backend("POST", url, body), timeout=60
    ).json()
    canary.register(minted["token"])
    answers = all_at_once(
        [f"ConnectSession {minted['token']}"] * SIMULTANEOUS, f"{running['url']}/connect/session/link"
    )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 410: SIMULTANEOUS - 1}
