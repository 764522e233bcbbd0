"""The hosted connect page in a real browser (Debian's Chromium, headless, Playwright) against
`make run`: a session minted by `make connect-link`'s tool, opened from its connect URL as the
customer's admin would open a link; embedded in an iframe, what the embedding window hears.
Screenshots go to test-output/browser/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from local.stack.backends import DEMO_ACCOUNTS, local_client
from tests.integration.test_connect_page import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.support import canary
from tests.support.stack import local_run, local_tool, user_jwt

pytestmark = pytest.mark.integration
EMBEDDER = "https://embedder.example"  # the session allows it
OTHER = "https://other.example"  # the stack lets it embed the page; the session does not allow it


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hosted") / "stack.json"


@pytest.fixture(scope="module")
def running(stack_file: Path) -> Iterator[dict[str, str]]:
    with local_run("--embedding-origins", f"{EMBEDDER},{OTHER}", stack_file=stack_file) as endpoints:
        yield endpoints


def connect_link(stack_file: Path, tenant: str, *extra: str) -> str:
    """`make connect-link`: the connect URL it prints (the token in its fragment)."""
    child = local_tool(
        stack_file, "local.tools.connect_link", "--tenant", tenant, "--name", "Acme Corp", *extra
    )
    assert child.returncode == 0, child.stderr
    url = child.stdout.strip().splitlines()[-1]
    canary.register(url.partition("#")[2])
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, with one check off: the embedders below are pages the browser serves itself under
    public https origins, and Local Network Access would refuse them an iframe of the loopback
    gateway (on AWS the page is public too, and the check does not apply)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run does)")
    with sync_playwright() as playwright:
        arguments = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, running: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 720, "height": 760})
    yield context.new_page()
    context.close()


def connect(page: Page, token: str, region: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_label("Region").fill(region)
    page.get_by_role("button", name="Connect", exact=True).click()


def test_a_connect_link_names_the_tenant_and_links_the_demo_account(
    page: Page, stack_file: Path, running: dict[str, str]
) -> None:
    url = connect_link(stack_file, "hosted-tenant-1")
    assert url.startswith(running["url"] + "/connect#cst_")
    page.goto(url)

    expect(page.get_by_role("heading", name="Connect Sesame HR for Acme Corp")).to_be_visible()
    assert "#" not in page.url, "the token is gone from the address bar"
    token, region, _, company_name = DEMO_ACCOUNTS[0]
    connect(page, token, region)
    expect(page.locator("#outcome.ok")).to_contain_text(company_name)
    expect(page.locator("#outcome.ok")).to_contain_text("…" + token[-4:])
    screenshot(page, "hosted-1-connected")
    listed = requests.get(
        f"{running['url']}/connections",
        headers={"authorization": f"Bearer {user_jwt('hosted-tenant-1')}"},
        timeout=30,
    ).json()
    assert [c["company"]["name"] for c in listed["connections"]] == [company_name], "in the tenant's list"

    page.reload()  # the fragment is gone: the page has no session any more
    expect(page.locator("#outcome")).to_have_attribute("data-code", "session_invalid")


@pytest.mark.parametrize(
    ("token", "region", "code"),
    [
        (DEMO_ACCOUNTS[1][0], "eu1", "wrong_region"),
        ("not-a-real-sesame-token-0000", "eu1", "invalid_token"),
    ],
    ids=["wrong region", "bad token"],
)
def test_a_wrong_region_or_a_bad_token_says_so(
    page: Page, stack_file: Path, token: str, region: str, code: str
) -> None:
    page.goto(connect_link(stack_file, f"hosted-tenant-{code}"))
    connect(page, token, region)
    expect(page.locator("#outcome")).to_have_attribute("data-code", code)
    expect(page.locator("#connect")).to_be_visible()
    screenshot(page, f"hosted-2-{code}")


def expire_sessions(stack_file: Path) -> None:
    """Every session of the run's table expired a second ago, as one left behind by DynamoDB's TTL
    (which deletes days late)."""
    stack = json.loads(stack_file.read_text())
    dynamodb = local_client(stack["aws_endpoint"], "dynamodb")
    table = stack["resources"]["ConnectSessionsTable"]
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for item in dynamodb.scan(TableName=table)["Items"]:
        if item["key"]["S"].startswith("token#"):
            dynamodb.update_item(
                TableName=table,
                Key={"key": item["key"]},
                UpdateExpression="SET expires_at = :past",
                ExpressionAttributeValues={":past": {"S": past}},
            )


@pytest.mark.parametrize("used", [True, False], ids=["used", "expired"])
def test_a_used_or_expired_link_says_so(page: Page, stack_file: Path, used: bool) -> None:
    url = connect_link(stack_file, "hosted-tenant-used" if used else "hosted-tenant-expired")
    if used:
        page.goto(url)
        connect(page, *DEMO_ACCOUNTS[0][:2])
        expect(page.locator("#outcome.ok")).to_be_visible()
    else:
        expire_sessions(stack_file)
    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("#outcome")).to_have_attribute("data-code", "session_expired")
    expect(page.locator("#connect")).to_be_hidden()
    screenshot(page, f"hosted-3-{'used' if used else 'expired'}")


def embedding(page: Page, origin: str, connect_url: str) -> list[Any]:
    """A page of `origin` (served by the browser itself) that embeds the connect URL and records
    every message it receives."""
    html = f"""<!doctype html><title>Embedder</title>
<script>
  window.received = [];
  addEventListener("message", (event) => received.push({{origin: event.origin, data: event.data}}));
</script>
<iframe id="connect" src="{connect_url}" width="700" height="700"></iframe>"""
    page.context.route(
        f"{origin}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
    )
    page.goto(f"{origin}/app")
    frame = page.frame_locator("#connect")
    frame.get_by_label("API token").fill(DEMO_ACCOUNTS[0][0])
    frame.get_by_label("Region").fill(DEMO_ACCOUNTS[0][1])
    frame.get_by_role("button", name="Connect", exact=True).click()
    expect(frame.locator("#outcome.ok")).to_be_visible()
    page.wait_for_timeout(300)
    received: list[Any] = page.evaluate("window.received")
    return received


def test_embedded_in_an_allowed_origin_the_parent_hears_of_the_completion(
    page: Page, stack_file: Path
) -> None:
    url = connect_link(stack_file, "hosted-tenant-embedded", "--allowed-origin", EMBEDDER)
    received = embedding(page, EMBEDDER, url)
    assert len(received) == 1
    [message] = received
    assert message["data"]["type"] == "sesame-link:completed"
    assert message["data"]["connection_id"].startswith("conn_")
    assert message["data"]["session_id"].startswith("cs_")


def test_embedded_in_an_origin_the_session_does_not_allow_the_parent_hears_nothing(
    page: Page, stack_file: Path
) -> None:
    url = connect_link(stack_file, "hosted-tenant-foreign", "--allowed-origin", EMBEDDER)
    assert embedding(page, OTHER, url) == []
