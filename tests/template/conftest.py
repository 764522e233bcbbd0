"""SAM's transform of template.yaml, made once per session by the SAM CLI's own environment
(local/build/transform.py): what CloudFormation receives."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


def transform(template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    assert SAM_PYTHON.exists(), "SAM's environment is missing: run the tests through `make test`"
    done = subprocess.run(
        [str(SAM_PYTHON), "-m", "local.build.transform", str(template)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "SAM_CLI_TELEMETRY": "0",
            "PYTHONPATH": str(ROOT),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    transformed: dict[str, Any] = json.loads(done.stdout)
    return transformed


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    return transform()
