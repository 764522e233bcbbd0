"""`make run` as a newcomer uses it: the demo token through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from local.stack.backends import DEMO_ACCOUNTS, local_client
from tests.support.stack import ROOT, SECRET_PREFIX, local_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, str]]:
    # AWS credentials lying in the environment must not switch the local run to real AWS.
    lying_around = {
        "AWS_PROFILE": "someone-real",
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKING00000",
        "AWS_SECRET_ACCESS_KEY": "real-looking",
    }
    with local_run(environment=lying_around) as endpoints:
        yield endpoints


def test_the_demo_token_links_then_relinks_into_the_local_secrets_manager(running: dict[str, str]) -> None:
    token, region, company_id, company_name = DEMO_ACCOUNTS[0]
    body = {"token": token, "region": region}
    first = requests.post(f"{running['url']}/connections", json=body, timeout=15)
    second = requests.post(f"{running['url']}/connections", json=body, timeout=15)

    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert first.json()["company"] == {"id": company_id, "name": company_name}
    assert second.json()["connection_id"] == first.json()["connection_id"]
    secrets = local_client(running["aws"], "secretsmanager").list_secrets()["SecretList"]
    assert [(secret["Name"], secret["KmsKeyId"]) for secret in secrets] == [
        (f"{SECRET_PREFIX}/demo-tenant/sesame/{company_id}", running["key"])
    ]
    value = local_client(running["aws"], "secretsmanager").get_secret_value(SecretId=secrets[0]["ARN"])
    assert json.loads(value["SecretString"])["token"] == token


def test_the_wrong_region_demo_suggests_the_right_one(running: dict[str, str]) -> None:
    token, region, _, _ = DEMO_ACCOUNTS[1]
    answer = requests.post(
        f"{running['url']}/connections", json={"token": token, "region": "eu1"}, timeout=15
    )
    assert answer.status_code == 422
    assert answer.json()["suggested_region"] == region


@pytest.mark.parametrize("given", [{}, {"AWS_PROFILE": "prod"}, {"STACK": "sesame-link-prod"}])
def test_live_mode_needs_a_named_profile_and_a_stack(given: dict[str, str]) -> None:
    environment = {name: value for name, value in os.environ.items() if name not in ("AWS_PROFILE", "STACK")}
    child = subprocess.run(
        [sys.executable, "-m", "local.stack.run", "--live", "--port", "0"],
        cwd=ROOT,
        env={**environment, **given, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode != 0
    assert "needs AWS_PROFILE=<profile> and STACK=<stack name>" in child.stderr
