"""Run by test_token_never_output.py in a child process whose every byte of output is kept:
local backends, the real handler from template.yaml, and one request for each outcome."""

from __future__ import annotations

import json
import os
import sys

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends, apply_environment, local_function_spec, start_local_backends
from local.stack.event_source import sqs_event_of
from local.stack.gateway import http_api_event
from local.stack.sesame_sim import Fault
from local.template import load_handler
from tests.support.stack import ONE_SECOND_FOR_SESAME


def main() -> None:
    token = os.environ.pop("CANARY_TOKEN")
    backends = start_local_backends()
    spec = local_function_spec("LinkFunction", backends)
    apply_environment(spec.environment)
    handler = load_handler(spec)
    backends.sesame.add_account(token, "eu1", "5d1b2c3a-0000-4000-8000-00000000c0de", "Canary SA")

    def post(body: dict[str, object] | bytes, tenant: str | None = "tenant-canary") -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        claims = {"sub": tenant} if tenant else None
        event = http_api_event(
            "POST", "/connections", {"content-type": "application/json"}, raw, claims, "::1"
        )
        return int(handler(event, LocalLambdaContext(spec, ONE_SECOND_FOR_SESAME))["statusCode"])

    statuses = [
        post({"token": token, "region": "eu1"}),
        post({"token": token, "region": "eu1"}),
        post({"token": token, "region": "eu4"}),
        post({"token": token, "region": "zz9"}),
        post({"token": token, "region": "eu1.evil"}),
        post({"token": token, "region": "eu1", token: token}),
        post(token.encode()),
        post({"token": token, "region": "eu1"}, tenant=None),
    ]
    for fault in (
        Fault(status=429, headers={"Retry-After": "9"}),
        Fault(status=503),
        Fault(reset=True),
        Fault(delay_seconds=1.5),
        Fault(status=200, body=b"<html/>"),
    ):
        backends.sesame.set_fault("eu1", fault)
        statuses.append(post({"token": token, "region": "eu1"}))
    print("statuses", json.dumps(statuses), file=sys.stderr)
    print("batch", json.dumps(provision_batch(backends, token)), file=sys.stderr)
    backends.stop()


def provision_batch(backends: LocalBackends, token: str) -> list[dict[str, str]]:
    """Good, rejected, Sesame 503 and malformed records through the provisioning door."""
    backends.sesame.set_fault("eu1", None)
    backends.sesame.add_account(token[::-1], "eu2", "5d1b2c3a-0000-4000-8000-00000000beef", "Busy SA")
    backends.sesame.set_fault("eu2", Fault(status=503))
    spec = local_function_spec("ProvisioningFunction", backends)
    handler = load_handler(spec)
    details = [
        {"tenant_id": "tenant-batch", "token": token, "region": "eu1"},
        {"tenant_id": "tenant-batch", "token": token[:-1] + "x", "region": "eu1"},
        {"tenant_id": "tenant-batch", "token": token[::-1], "region": "eu2"},
        {"tenant_id": "tenant-batch", "token": token, "region": "eu1", "tenant": token},
    ]
    event = sqs_event_of(
        [json.dumps({"detail-type": "Sesame Credential Submitted", "detail": detail}) for detail in details]
    )
    return list(handler(event, LocalLambdaContext(spec))["batchItemFailures"])


if __name__ == "__main__":
    main()
