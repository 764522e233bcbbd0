"""Property-based hostile input over both handlers (hypothesis): whatever arrives, the answer is
never a 5xx, always problem+json when it is an error, never an echo of the input, and no request
goes anywhere but the Sesame simulator and the local AWS emulator.

Every generated string carries MARK somewhere, so an echo of any part of the input is visible."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.lambda_context import LocalLambdaContext
from local.stack.event_source import sqs_event_of
from local.stack.gateway import http_api_event
from local.template import FunctionSpec

pytestmark = pytest.mark.integration

HTTP_CASES = 3000
PROVISIONING_CASES = 2000
MARK = "zqxMARKzqx"
ALLOWED_HOST = re.compile(r"^(127\.0\.0\.1|api-[a-z]{2,6}[0-9]{1,2}\.sesame\.test)$")
HOSTILE_REGIONS = [
    "eu1.evil.com",
    "eu1@host",
    "eu1/..",
    "eu1#",
    "eu%31",
    "eu1%2eevil.com",
    "xn--e1-9ka",
    "еu1",
    "eu1\r\nHost: evil",
    "eu1:80",
    "[::1]",
    "eu1?x=1",
    "../../etc",
    "EU1",
    "eu1 ",
]


def budget(cases: int) -> settings:
    return settings(max_examples=cases, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def marked(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(text, text).map(lambda halves: halves[0] + MARK + halves[1])


any_text = st.text(max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | marked(any_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(marked(any_text), inner, max_size=4),
    max_leaves=12,
)
tokens = marked(st.from_regex(r"[0-9a-f]{8,40}", fullmatch=True)) | marked(any_text) | st.integers()
regions = st.sampled_from(HOSTILE_REGIONS).map(lambda region: region + MARK) | marked(any_text) | st.none()
extra_fields = st.dictionaries(marked(st.text(max_size=10)), json_values, max_size=2)
link_bodies = st.tuples(st.fixed_dictionaries({"token": tokens, "region": regions}), extra_fields).map(
    lambda parts: json.dumps({**parts[0], **parts[1]}).encode()
)
nested = st.integers(1, 20000).map(lambda depth: (("[" * depth) + json.dumps(MARK) + ("]" * depth)).encode())
huge = st.integers(8 * 1024, 64 * 1024).map(lambda size: json.dumps({"token": MARK * (size // 10)}).encode())
raw = st.binary(max_size=300).map(lambda data: data + MARK.encode())
bodies = link_bodies | json_values.map(lambda value: json.dumps(value).encode()) | nested | huge | raw
header_names = st.sampled_from(
    [
        "content-type",
        "host",
        "x-forwarded-host",
        "x-forwarded-for",
        "origin",
        "content-length",
        "authorization",
        "x-amz-date",
    ]
)
headers = st.dictionaries(
    header_names, marked(st.text(alphabet=st.characters(min_codepoint=32), max_size=30)), max_size=4
)
tenant_claims = st.fixed_dictionaries({"sub": st.just("tenant-hostile") | marked(any_text)})
claims = st.one_of(
    tenant_claims, tenant_claims, tenant_claims, st.none(), st.dictionaries(any_text, json_values)
)


@pytest.fixture(scope="module")
def resolved_hosts() -> Iterator[list[str]]:
    """Every host name the process resolves while these tests run."""
    seen: list[str] = []
    resolve = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(host))
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = recording
    yield seen
    socket.getaddrinfo = resolve


def assert_not_echoed(text: str) -> None:
    assert MARK not in text
    assert MARK.encode().hex() not in text


def test_http_handler_survives_anything(
    link_handler: Callable[..., dict[str, Any]], link_spec: FunctionSpec, resolved_hosts: list[str]
) -> None:
    @budget(HTTP_CASES)
    @given(body=bodies, extra_headers=headers, token_claims=claims, base64_body=st.booleans())
    def check(
        body: bytes, extra_headers: dict[str, str], token_claims: dict[str, Any] | None, base64_body: bool
    ) -> None:
        content_type = "application/octet-stream" if base64_body else "application/json"
        event = http_api_event(
            "POST",
            "/connections",
            {"content-type": content_type, **extra_headers},
            body,
            token_claims,
            "198.51.100.7",
        )
        result = link_handler(event, LocalLambdaContext(link_spec))
        assert result["statusCode"] < 500, result
        if result["statusCode"] >= 400:
            assert result["headers"]["Content-Type"] == "application/problem+json"
            problem = json.loads(result["body"])
            assert {"type", "title", "status", "detail", "code", "retryable"} <= problem.keys()
        assert_not_echoed(json.dumps(result))

    check()
    assert resolved_hosts, "no request reached the simulator: the generator is too narrow"
    assert all(ALLOWED_HOST.match(host) for host in resolved_hosts), set(resolved_hosts)


def test_provisioning_handler_survives_anything(
    provisioning_handler: Callable[..., dict[str, Any]],
    provisioning_spec: FunctionSpec,
    resolved_hosts: list[str],
) -> None:
    envelopes = st.fixed_dictionaries(
        {
            "detail-type": st.just("Sesame Credential Submitted") | marked(any_text),
            "detail": st.fixed_dictionaries(
                {"tenant_id": marked(any_text) | st.integers(), "token": tokens, "region": regions},
                optional={"request_id": json_values},
            ),
        }
    ).map(json.dumps)
    record_bodies = envelopes | json_values.map(json.dumps) | raw.map(lambda data: data.decode("latin-1"))

    @budget(PROVISIONING_CASES)
    @given(batch=st.lists(record_bodies, min_size=1, max_size=5))
    def check(batch: list[str]) -> None:
        result = provisioning_handler(sqs_event_of(batch), LocalLambdaContext(provisioning_spec))
        assert result == {"batchItemFailures": []}  # nothing retryable can come of hostile input

    check()
    assert all(ALLOWED_HOST.match(host) for host in resolved_hosts), set(resolved_hosts)
