"""The canary itself can fail: a test that prints a registered token is turned red."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_test_that_prints_a_registered_token_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{ROOT / 'functions'}")
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(
        """
        import logging
        from tests.support import canary

        def test_leaks_through_print():
            print("oops", canary.register("leaky-token-0123456789abcdef"))

        def test_leaks_through_logging():
            logging.getLogger("x").warning("oops %s", canary.register("leaky-token-fedcba9876543210"))

        def test_clean():
            canary.register("quiet-token-0123456789abcdef")
            print("nothing secret here")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*TOKEN LEAK: 1 registered test token(s)*"])
    # The report shows what leaked where, with the token itself redacted.
    result.stdout.fnmatch_lines(["oops [[]LEAKED TOKEN[]]"])
    assert "leaky-token-" not in result.stdout.str()
