"""One event through a function of template.yaml in a fresh process, so that its module-scope
clients are built from the environment a test gives (an AWS endpoint that never answers, a
setting read once): `invoke_in_child` runs this module, which prints one JSON line with the
function's answer (or the type of what it raised) and the wall time it took.

  python -m tests.support.child_invoke FUNCTION LAMBDA_TIMEOUT_SECONDS < event.json
  CHILD_STAND_INS: the local stack's template references (JSON); CHILD_ENVIRONMENT: the function's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends, apply_environment
from local.template import function_spec, load_handler
from tests.support import canary

ROOT = Path(__file__).resolve().parents[2]


def invoke_in_child(
    backends: LocalBackends, function: str, event: dict[str, Any], environment: dict[str, str], timeout: float
) -> dict[str, Any]:
    """The function's answer, `error`, `seconds`, and the lines it logged (`logs`)."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.child_invoke", function, str(timeout)],
        cwd=ROOT,
        input=json.dumps(event),
        env={
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'functions'}",
            "CHILD_STAND_INS": json.dumps(backends.stand_ins()),
            "CHILD_ENVIRONMENT": json.dumps(environment),
        },
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )
    assert child.returncode == 0, canary.redact(child.stderr[-3000:])
    assert canary.leaked_in(child.stdout + child.stderr) == 0
    *logs, last = child.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(last)
    result["logs"] = logs
    return result


def main() -> None:
    function, timeout = sys.argv[1], float(sys.argv[2])
    spec = function_spec(function, json.loads(os.environ["CHILD_STAND_INS"]))
    spec.environment.update(json.loads(os.environ["CHILD_ENVIRONMENT"]))
    apply_environment(spec.environment)
    handler = load_handler(spec)
    event = json.load(sys.stdin)
    started = time.monotonic()
    try:
        answer, error = handler(event, LocalLambdaContext(spec, timeout)), None
    except Exception as exc:
        answer, error = None, type(exc).__name__
    print(json.dumps({"answer": answer, "error": error, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
