"""SAM's transform of template.yaml, made by the SAM CLI's own environment (local/build/
transform.py): what CloudFormation receives, with the roles and managed policies SAM adds."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
MANAGED_POLICIES = Path(__file__).resolve().parent / "managed_policies"


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


def inline_statements(template: Template, role: str) -> list[dict[str, Any]]:
    """What the role's inline policies grant: the function's own `Policies`, as SAM wrote them."""
    statements: list[dict[str, Any]] = []
    for policy in template.properties(role, "Policies").get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    return statements


def role_statements(template: Template, role: str) -> list[dict[str, Any]]:
    """A role's effective statements: inline policies, customer managed policies of the stack and
    the AWS managed policies as AWS publishes them (managed_policies/)."""
    statements = inline_statements(template, role)
    for arn in template.document["Resources"][role]["Properties"].get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            statements += template.properties(arn["Ref"])["PolicyDocument"]["Statement"]
            continue
        name = template.resolve(arn).rsplit("/", 1)[-1]
        statements += json.loads((MANAGED_POLICIES / f"{name}.json").read_text())["Statement"]
    return statements
