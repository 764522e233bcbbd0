"""Run by tests in a fresh process, so that a function's module-scope clients are built from the
environment the test gives (an AWS endpoint that never answers, say): one event from stdin through
a function of template.yaml, then one JSON line with its answer and the wall time it took.

  python -m tests.integration.child_invoke FUNCTION LAMBDA_TIMEOUT_SECONDS < event.json
  CHILD_STAND_INS: the local stack's template references (JSON); CHILD_ENVIRONMENT: overrides."""

from __future__ import annotations

import json
import os
import sys
import time

from local.backends import apply_environment
from local.lambda_context import LocalLambdaContext
from local.template import function_spec, load_handler


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
