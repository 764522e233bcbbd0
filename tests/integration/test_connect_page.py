"""The connect page in a real browser (Debian's Chromium, headless, driven by Playwright) against
`make run`: a link, a wrong region fixed in one click, a bad token. Screenshots of each state go
to test-output/browser/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from local.stack.backends import DEMO_ACCOUNTS
from tests.support import canary
from tests.support.stack import ROOT, local_run, local_tool

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "browser"
# No calls home: this machine's network is closed (and a test must not touch the internet).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, str]]:
    with local_run() as endpoints:
        yield endpoints


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, running: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 720, "height": 760})
    opened = context.new_page()
    opened.goto(running["url"] + "/")
    yield opened
    context.close()


def connect(page: Page, token: str, region: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_label("Region").fill(region)
    page.get_by_role("button", name="Connect", exact=True).click()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_a_customer_links_their_account(page: Page) -> None:
    token, region, _, company_name = DEMO_ACCOUNTS[0]
    api = page.locator('meta[name="sesame-link-api"]').get_attribute("content") or ""
    assert api.startswith("http://localhost:"), "the page must call the API cross-origin, as deployed"
    assert not page.url.startswith(api)
    screenshot(page, "0-empty-form")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("API token")).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide").click()
    expect(page.get_by_label("API token")).to_have_attribute("type", "password")
    connect(page, token, region)

    outcome = page.locator("#outcome")
    expect(outcome).to_have_class("ok")
    expect(outcome).to_contain_text(company_name)
    expect(outcome).to_contain_text("…" + token[-4:])
    expect(outcome).to_contain_text("conn_")
    expect(page.get_by_label("API token")).to_have_value("")
    assert token not in outcome.inner_text()
    screenshot(page, "1-linked")


def test_a_wrong_region_is_fixed_in_one_click(page: Page) -> None:
    token, region, _, company_name = DEMO_ACCOUNTS[1]
    connect(page, token, "eu1")
    outcome = page.locator("#outcome")
    expect(outcome).to_have_attribute("data-code", "wrong_region")
    expect(outcome).to_contain_text(f"belongs to region {region}")
    screenshot(page, "2-wrong-region")

    page.get_by_role("button", name=f"Use region {region}").click()
    expect(outcome).to_have_class("ok")
    expect(outcome).to_contain_text(company_name)
    expect(page.get_by_label("Region")).to_have_value(region)
    screenshot(page, "3-wrong-region-fixed")


def test_a_bad_token_says_so(page: Page) -> None:
    token = canary.new_token()
    connect(page, token, "eu1")
    outcome = page.locator("#outcome")
    expect(outcome).to_have_class("bad")
    expect(outcome).to_have_attribute("data-code", "invalid_token")
    expect(outcome).to_contain_text("Sesame did not accept this token")
    assert token not in outcome.inner_text()
    screenshot(page, "4-bad-token")


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lifecycle") / "stack.json"


@pytest.fixture
def lifecycle_page(browser: Browser, stack_file: Path) -> Iterator[Page]:
    """The page against a make run of its own: a tenant with no connection yet."""
    with local_run(stack_file=stack_file) as endpoints:
        context = browser.new_context(viewport={"width": 720, "height": 900})
        opened = context.new_page()
        opened.goto(endpoints["url"] + "/")
        yield opened
        context.close()


def simulator(stack_file: Path, state: str) -> None:
    child = local_tool(stack_file, "local.tools.sesame_control", state)
    assert child.returncode == 0, child.stderr


def test_a_customer_sees_a_connection_and_unlinks_it_after_confirming(lifecycle_page: Page) -> None:
    page = lifecycle_page
    expect(page.locator("#linked-empty")).to_be_visible()
    token, region, _, company_name = DEMO_ACCOUNTS[0]
    connect(page, token, region)

    item = page.locator("#connections li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(company_name)
    expect(item).to_contain_text(f"Region {region}")
    expect(item).to_contain_text("token …" + token[-4:])
    expect(item.locator(".status")).to_have_text("Working")
    expect(item).to_contain_text("linked ")
    expect(item).to_contain_text("checked ")
    screenshot(page, "5-connections")

    item.get_by_role("button", name="Unlink").click()
    expect(item).to_contain_text(f"Unlink {company_name}? Its stored token will be deleted.")
    screenshot(page, "6-unlink-confirmation")
    item.get_by_role("button", name="Cancel").click()
    expect(page.locator("#connections li")).to_have_count(1)

    page.locator("#connections li").get_by_role("button", name="Unlink").click()
    page.get_by_role("button", name="Yes, unlink").click()
    expect(page.locator("#connections li")).to_have_count(0)
    expect(page.locator("#linked-empty")).to_be_visible()


def test_a_broken_connection_is_found_by_check_now_and_reconnected(
    lifecycle_page: Page, stack_file: Path
) -> None:
    page = lifecycle_page
    token, region, _, company_name = DEMO_ACCOUNTS[0]
    connect(page, token, region)
    item = page.locator("#connections li")
    expect(item.locator(".status")).to_have_text("Working")

    simulator(stack_file, "revoked")  # an admin revoked the token in Sesame
    item.get_by_role("button", name="Check now").click()
    expect(item).to_have_class("broken")
    expect(item.locator(".status")).to_have_text("Needs attention: Sesame no longer accepts the token")
    screenshot(page, "7-broken")

    page.get_by_label("Region").fill("eu4")
    item.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_label("Region")).to_have_value(region)
    expect(page.locator("#reconnecting")).to_contain_text(f"Reconnecting {company_name}")
    expect(page.get_by_label("API token")).to_be_focused()
    screenshot(page, "8-reconnect")

    simulator(stack_file, "active")  # the admin made a token that works (here: the same, again)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#outcome")).to_have_class("ok")
    expect(page.locator("#connections li .status")).to_have_text("Working")
    expect(page.locator("#reconnecting")).to_be_hidden()
    assert token not in page.locator("#connections").inner_text()
    screenshot(page, "9-reconnected")
