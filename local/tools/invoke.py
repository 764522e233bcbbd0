"""`make invoke FUNCTION=LinkFunction EVENT=events/link-good.json`: run a function in-process on an
event file, as `sam local invoke` would: handler, code folder, timeout and environment come from
template.yaml. The stack of a running `make run` if there is one (same registry, same
simulator), else local backends of its own; `--live` uses a deployed stack's resources (a named
profile and the stack's name) and the real Sesame. Prints the function's answer as JSON on
stdout; its logs go to stderr."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalStack, apply_environment, local_function_spec, start_local_backends
from local.stack.live import deployed_stand_ins
from local.template import function_spec, load_handler


def main() -> None:
    arguments = _arguments()
    event = json.loads(Path(arguments.event).read_text(encoding="utf-8"))
    if arguments.live:
        if not arguments.profile or not arguments.stack:
            sys.exit("--live needs AWS_PROFILE=<profile> and STACK=<deployed stack name>")
        spec = function_spec(arguments.function, deployed_stand_ins(arguments.profile, arguments.stack))
        spec.environment["AWS_PROFILE"] = arguments.profile
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        running = LocalStack.running()
        stack = running or start_local_backends()
        print(
            f"local stack: {'the running make run' if running else 'started for this invoke'}",
            file=sys.stderr,
        )
        spec = local_function_spec(arguments.function, stack)
    apply_environment(spec.environment)
    with contextlib.redirect_stdout(sys.stderr):  # the function's logs, as CloudWatch would have them
        handler = load_handler(spec)
        result = handler(event, LocalLambdaContext(spec))
    print(json.dumps(result, indent=2, ensure_ascii=False))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function", default="LinkFunction", help="logical id in template.yaml")
    parser.add_argument("--event", required=True, help="event file, e.g. events/link-good.json")
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE", ""))
    parser.add_argument("--stack", default=os.environ.get("STACK", ""))
    return parser.parse_args()


if __name__ == "__main__":
    main()
