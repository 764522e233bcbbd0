"""Run by test_token_never_output.py in a child process whose every byte of output is kept:
local backends, the real handlers from template.yaml, one request for each outcome of a link,
and every other function (check through both doors, sweep, provisioning). Logging as loud as a
deployment can make it: the root logger at DEBUG (Lambda's runtime sets it to the function's
level), AWS_LAMBDA_LOG_LEVEL and Powertools at DEBUG, POWERTOOLS_LOGGER_LOG_EVENT on."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends, apply_environment, local_function_spec, start_local_backends
from local.stack.event_source import sqs_event_of
from local.stack.gateway import http_api_event, iam_caller
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec, load_handler
from sesame_link.core.domain import connection_id
from tests.support.stack import ONE_SECOND_FOR_SESAME

CANARY_COMPANY = "5d1b2c3a-0000-4000-8000-00000000c0de"


LOUDEST = {
    "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
    "POWERTOOLS_LOGGER_LOG_EVENT": "true",
}
headers: dict[str, str] = {}
# The emulators' own loggers: what moto and werkzeug print is the local stack's, not a function's.
EMULATORS = ("moto", "werkzeug")


def loudest(spec: FunctionSpec) -> FunctionSpec:
    spec.environment.update(LOUDEST)
    apply_environment(spec.environment)
    return spec


def main() -> None:
    token = os.environ.pop("CANARY_TOKEN")
    headers["authorization"] = f"Bearer {os.environ.pop('CANARY_JWT')}"  # as API Gateway passes it on
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    backends = start_local_backends()
    for emulator in EMULATORS:
        logging.getLogger(emulator).setLevel(logging.WARNING)
    # Settings are read once per process: the sweep (in the same process) queues every connection.
    spec = loudest(local_function_spec("LinkFunction", backends, {"HealthCheckMaxAgeHours": "0"}))
    handler = load_handler(spec)
    backends.sesame.add_account(token, "eu1", CANARY_COMPANY, "Canary SA")

    def post(body: dict[str, object] | bytes, tenant: str | None = "tenant-canary") -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        claims = {"sub": tenant} if tenant else None
        event = http_api_event(
            "POST", "/connections", {"content-type": "application/json", **headers}, raw, claims, "::1"
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
    backends.sesame.set_fault("eu1", None)
    print("sessions", json.dumps(complete_sessions(handler, spec, token)), file=sys.stderr)
    print("batch", json.dumps(provision_batch(backends, token)), file=sys.stderr)
    print(
        "checks",
        json.dumps(check_and_sweep(backends, connection_id("tenant-canary", CANARY_COMPANY))),
        file=sys.stderr,
    )
    backends.stop()


def complete_sessions(handler: Any, spec: FunctionSpec, token: str) -> list[int]:
    """A connect session minted, read and completed: bad token, good token, used again, tampered.
    Its token goes to the file the parent names (never to an output), for the parent to look for."""
    iam = {"iam": iam_caller("testing")}
    mint = http_api_event(
        "POST",
        "/connect-sessions",
        {"content-type": "application/json"},
        json.dumps({"tenant_id": "tenant-session", "tenant_name": "Canary Corp"}).encode(),
        None,
        "::1",
    )
    mint["requestContext"]["authorizer"] = iam
    minted = handler(mint, LocalLambdaContext(spec))
    session_token = json.loads(minted["body"])["token"]
    Path(os.environ.pop("SESSION_TOKEN_FILE")).write_text(session_token)

    def call(method: str, path: str, body: dict[str, str] | None, bearer: str) -> int:
        raw = json.dumps(body).encode() if body is not None else b""
        event = http_api_event(
            method,
            path,
            {"content-type": "application/json", "authorization": f"ConnectSession {bearer}"},
            raw,
            None,
            "::1",
        )
        return int(handler(event, LocalLambdaContext(spec, ONE_SECOND_FOR_SESAME))["statusCode"])

    link = "/connect/session/link"
    return [
        int(minted["statusCode"]),
        call("GET", "/connect/session", None, session_token),
        call("POST", link, {"token": token[:-1] + "x", "region": "eu1"}, session_token),
        call("POST", link, {"token": token, "region": "eu1"}, session_token),
        call("POST", link, {"token": token, "region": "eu1"}, session_token),
        call("POST", link, {"token": token, "region": "eu1"}, session_token[:-1] + "x"),
    ]


def check_and_sweep(backends: LocalBackends, linked: str) -> list[object]:
    """The check function reads the token back (GetSecretValue's answer holds it): through its
    HTTP door and its queue door; then the sweep, which queues every connection."""
    backends.sesame.set_fault("eu1", None)
    spec = loudest(local_function_spec("CheckFunction", backends))
    check = load_handler(spec)
    event = http_api_event(
        "POST", f"/connections/{linked}/check", headers, b"", {"sub": "tenant-canary"}, "::1"
    )
    event["pathParameters"] = {"connection_id": linked}
    by_route = check(event, LocalLambdaContext(spec))["statusCode"]
    queued = sqs_event_of([json.dumps({"tenant_id": "tenant-canary", "connection_id": linked})])
    by_queue = check(queued, LocalLambdaContext(spec))["batchItemFailures"]
    sweep_spec = loudest(local_function_spec("SweepFunction", backends))
    swept = load_handler(sweep_spec)({}, LocalLambdaContext(sweep_spec))
    return [by_route, by_queue, swept["queued"]]


def provision_batch(backends: LocalBackends, token: str) -> list[dict[str, str]]:
    """Good, rejected, Sesame 503 and malformed records through the provisioning door."""
    backends.sesame.set_fault("eu1", None)
    backends.sesame.add_account(token[::-1], "eu2", "5d1b2c3a-0000-4000-8000-00000000beef", "Busy SA")
    backends.sesame.set_fault("eu2", Fault(status=503))
    spec = loudest(local_function_spec("ProvisioningFunction", backends))
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
