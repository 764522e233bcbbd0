from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import settings

from local.stack.backends import DEMO_ACCOUNTS
from sesame_link.core import deadline
from tests.support import canary
from tests.support.sam_transform import transform

pytest_plugins = ["pytester"]

# Generated cases are the same on every run: a red CI is reproducible, never a roll of the dice.
# To explore new inputs locally, load a profile without derandomize.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.load_profile("reproducible")

for _token, *_ in DEMO_ACCOUNTS:
    canary.register(_token)


@pytest.fixture(autouse=True)
def _no_deadline_left_over() -> Generator[None, None, None]:
    """Each test starts outside any invocation: a deadline one test started never bounds another."""
    token = deadline._deadline.set(math.inf)
    yield
    deadline._deadline.reset(token)


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    """SAM's transform of template.yaml, made once per session: what CloudFormation receives."""
    return transform()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    # Sections accumulate over setup, call and teardown: look at this phase's only.
    phase = [content for title, content in report.sections if title.endswith(report.when)]
    captured = "\n".join(phase) + report.longreprtext
    leaks = canary.leaked_in(captured)
    if leaks:
        report.outcome = "failed"
        report.sections = [(title, canary.redact(content)) for title, content in report.sections]
        report.longrepr = (
            f"TOKEN LEAK: {leaks} registered test token(s) in the captured output of {report.when}\n"
            + canary.redact(report.longreprtext)
        )
