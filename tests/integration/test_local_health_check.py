"""What a newcomer does to watch a connection break and recover, with `make run` going: link the
demo account, `make invoke` against the same stack, revoke the demo token in the simulator
(`make sesame-token`), `make sweep`, and back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.stack.backends import DEMO_ACCOUNTS
from sesame_link.core.domain import connection_id
from tests.support.stack import local_run, local_tool

pytestmark = pytest.mark.integration
DEMO_CONNECTION = connection_id("demo-tenant", DEMO_ACCOUNTS[0][2])


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack") / "stack.json"


@pytest.fixture(scope="module")
def running(stack_file: Path) -> Iterator[dict[str, str]]:
    with local_run(stack_file=stack_file) as endpoints:
        yield endpoints


def status_of(running: dict[str, str]) -> tuple[str, str | None]:
    answer = requests.get(f"{running['url']}/connections/{DEMO_CONNECTION}", timeout=15)
    assert answer.status_code == 200, answer.text
    return answer.json()["status"], answer.json()["status_reason"]


def test_a_newcomer_watches_the_demo_connection_break_and_recover(
    running: dict[str, str], stack_file: Path
) -> None:
    token, region, _, company = DEMO_ACCOUNTS[0]
    linked = requests.post(
        f"{running['url']}/connections", json={"token": token, "region": region}, timeout=15
    )
    assert linked.json()["connection_id"] == DEMO_CONNECTION

    invoked = local_tool(
        stack_file,
        "local.tools.invoke",
        "--function",
        "LinkFunction",
        "--event",
        "events/get-connection.json",
    )
    assert invoked.returncode == 0, invoked.stderr[-2000:]
    assert "local stack: the running make run" in invoked.stderr
    assert '"statusCode": 200' in invoked.stdout

    assert local_tool(stack_file, "local.tools.sesame_control", "revoked").returncode == 0
    swept = local_tool(stack_file, "local.tools.sweep_once")
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert f"{DEMO_CONNECTION} {company} ({region}): broken (invalid_token)" in swept.stdout
    assert status_of(running) == ("broken", "invalid_token")

    assert local_tool(stack_file, "local.tools.sesame_control", "active").returncode == 0
    swept = local_tool(stack_file, "local.tools.sweep_once")
    assert f"{DEMO_CONNECTION} {company} ({region}): active" in swept.stdout
    assert status_of(running) == ("active", None)
    assert token not in swept.stdout + swept.stderr


def test_the_tools_say_when_no_make_run_is_going(tmp_path: Path) -> None:
    for arguments in (("local.tools.sweep_once",), ("local.tools.sesame_control", "revoked")):
        child = local_tool(tmp_path / "none.json", *arguments)
        assert child.returncode != 0
        assert "needs `make run` going" in child.stderr
