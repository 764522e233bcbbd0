"""Helpers of the integration tests that are not fixtures: the local stack's processes and tools,
what the emulators hold, answers as the tests read them."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.stack.backends import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    LOCAL_STACK,
    LOCAL_STACK_INSTANCE,
    LocalBackends,
)
from local.template import FunctionSpec, load_handler
from sesame_link.core import deadline
from sesame_link.core.domain import tenant_key
from sesame_link.services.linking import STORAGE_RESERVE_SECONDS
from tests.support import canary
from tests.support.aws_calls import attributed

ROOT = Path(__file__).resolve().parents[2]

# The template's default: one prefix per stack, so that two stacks never share secrets.
SECRET_PREFIX = f"sesame-link/{LOCAL_STACK}/{LOCAL_STACK_INSTANCE}"

# Lambda time that leaves a link's Sesame check a 1 s budget (the rest is kept for storage).
ONE_SECOND_FOR_SESAME = 1.0 + STORAGE_RESERVE_SECONDS + deadline.ANSWER_RESERVE_SECONDS


@contextmanager
def local_run(
    *arguments: str, environment: dict[str, str] | None = None, stack_file: Path | None = None
) -> Iterator[dict[str, str]]:
    """`make run`'s entry point in a process of its own, on ephemeral ports; yields its endpoints.
    Its output is drained all along (a full pipe would stall it) and checked for tokens at the end."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "local.stack.run",
            "--port",
            "0",
            "--aws-port",
            "0",
            "--sesame-port",
            "0",
            *arguments,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            # Never the developer's own make run: each run tells where its stack is in a file of its own.
            "LOCAL_STACK_FILE": str(stack_file or Path(tempfile.mkdtemp()) / "stack.json"),
            **(environment or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    banner = ""
    for line in process.stdout:  # the banner shows the demo tokens on purpose; the rest must not
        banner += line
        if line.startswith("Try a wrong region"):
            break
    output: list[str] = []
    drain = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    drain.start()
    found = {
        "url": re.search(r"running locally on (http://\S+)", banner),
        "aws": re.search(r"Secrets Manager \+ KMS: (http://\S+)", banner),
        "key": re.search(r"key (arn:aws:kms:\S+)\)", banner),
    }
    try:
        assert all(found.values()), banner
        yield {name: match.group(1) for name, match in found.items() if match}
    finally:
        process.terminate()
        process.wait(timeout=10)
        drain.join(timeout=10)
    assert output, "the local run logged nothing"
    assert canary.leaked_in("".join(output)) == 0, "a token reached the local run's output"


def local_tool(stack_file: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m <arguments>` as a newcomer runs a make target beside a make run whose stack file
    is `stack_file`."""
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOCAL_STACK_FILE": str(stack_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_no_token_outside_secret_values(backends: LocalBackends) -> None:
    """Session end: of all that the tests left behind, only secret values may hold a token: not a
    secret's name, description or tags, not the registry, not a message left in any queue."""
    client = backends.client("secretsmanager")
    listed = [
        secret
        for page in client.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
        for secret in page["SecretList"]
    ]
    visible = json.dumps(
        [{key: secret.get(key) for key in ("Name", "Description", "Tags", "ARN")} for secret in listed]
    )
    assert canary.leaked_in(visible) == 0, "a token is in a secret's name, description or tags"
    registry = registry_items(backends)
    assert registry or not listed, "secrets were stored but nothing registered: the scan proves nothing"
    assert canary.leaked_in(json.dumps(registry, default=str)) == 0, "a token is in the registry"
    attempts = table_items(backends, "LinkAttemptsTable")
    assert attempts, "no link attempt was counted: the scan proves nothing"
    assert canary.leaked_in(json.dumps(attempts)) == 0, "a token is in the attempt budget"
    for queue in ("CheckQueue", "SweepQueue", "CheckDeadLetterQueue", "SweepDeadLetterQueue"):
        assert canary.leaked_in(json.dumps(peek(backends, queue))) == 0, f"a token is in {queue}"


def registry_items(backends: LocalBackends) -> list[dict[str, Any]]:
    return table_items(backends, "ConnectionsTable")


def table_items(backends: LocalBackends, table_id: str) -> list[dict[str, Any]]:
    dynamodb, table = backends.client("dynamodb"), backends.resources[table_id]
    return [
        item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]
    ]


def peek(backends: LocalBackends, queue: str) -> list[str]:
    """The bodies of the messages visible in a queue of the local stack, left in place."""
    sqs = backends.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=backends.resources[queue], MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [message["Body"] for message in messages]


def function_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The function's handler as Lambda would load it, its AWS calls attributed to it."""
    return attributed(spec.logical_id, load_handler(spec))


@dataclass(frozen=True)
class Account:
    token: str
    region: str
    company_id: str
    company_name: str


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str


def answer_of(result: dict[str, Any]) -> Answer:
    text = result.get("body") or ""
    # Every answer, whatever its status: no registered token may come back in a body.
    assert canary.leaked_in(text) == 0, "a token came back in an answer body"
    body_json = json.loads(text) if text else {}
    return Answer(result["statusCode"], result.get("headers") or {}, body_json, text)


def secrets_of(backends: LocalBackends, tenant_key: str) -> list[dict[str, Any]]:
    pages = (
        backends.client("secretsmanager")
        .get_paginator("list_secrets")
        .paginate(IncludePlannedDeletion=True, PaginationConfig={"PageSize": 100})
    )
    return [secret for page in pages for secret in page["SecretList"] if f"/{tenant_key}/" in secret["Name"]]


class RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code", "retryable"}


def assert_problem(answer: Answer, status: int, code: str, retryable: bool = False) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.body.keys() >= PROBLEM_MEMBERS
    assert (answer.body["status"], answer.body["code"], answer.body["retryable"]) == (status, code, retryable)


def current_token(backends: LocalBackends, tenant: str) -> str:
    [secret] = secrets_of(backends, tenant_key(tenant))
    current = backends.client("secretsmanager").get_secret_value(
        SecretId=secret["ARN"], VersionStage="AWSCURRENT"
    )
    return str(json.loads(current["SecretString"])["token"])


# The scopes template.yaml's routes require by default (ReadScope, WriteScope).
USER_SCOPES = "sesame-link/connections.read sesame-link/connections.write"


def user_jwt(tenant: str, scope: str = USER_SCOPES) -> str:
    """A product user's access token, as the local gateway reads it (unsigned)."""
    return unsigned_jwt({"sub": tenant, "scope": scope})


def unsigned_jwt(claims: dict[str, object]) -> str:
    def part(document: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.signature"


def registry_item(tenant: str, cid: str, company: str, linked_at: str) -> dict[str, Any]:
    return {
        "tenant": {"S": tenant},
        "connection_id": {"S": cid},
        "region": {"S": "eu1"},
        "company_id": {"S": company},
        "company_name": {"S": "Paged SA"},
        "token_hint": {"S": "…beef"},
        "secret_arn": {"S": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:paged/{company}-AbCdEf"},
        "status": {"S": "active"},
        "checked_at": {"S": linked_at},
        "linked_at": {"S": linked_at},
        "linked_order": {"S": f"{linked_at}#{cid}"},
    }


def secret_under_alias(backends: LocalBackends, name: str, key_arn: str) -> str:
    """A secret `name` whose DescribeSecret names its key by an alias ARN of `key_arn` (what
    Secrets Manager answers when the secret was created with the alias); its value."""
    kms = backends.client("kms")
    alias = f"alias/test-{uuid.uuid4().hex[:12]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_arn)
    value = "a value stored before"
    backends.client("secretsmanager").create_secret(
        Name=name, SecretString=value, KmsKeyId=f"arn:aws:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{alias}"
    )
    return value
