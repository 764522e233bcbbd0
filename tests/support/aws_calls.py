"""Every AWS call the functions make in this test process, and which function made it.
botocore's `before-parameter-build` event (the API parameters as called) is registered on the
functions' boto3 session before any client exists (each client copies the session's hooks); the
handler fixtures set a context variable around each invocation. Read by test_iam.py, which
checks the calls against template.yaml."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_function: ContextVar[str | None] = ContextVar("function_under_test", default=None)


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str  # the IAM service prefix
    operation: str
    params: dict[str, Any]


class AwsCallLog:
    def __init__(self) -> None:
        self.calls: list[AwsCall] = []
        self._lock = threading.Lock()

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        function = _function.get()
        if function is None:  # a test's own client, or a function outside any invocation
            return
        call = AwsCall(function, model.service_model.signing_name, model.name, dict(params))
        with self._lock:
            self.calls.append(call)

    def of(self, function: str) -> list[AwsCall]:
        with self._lock:
            return [call for call in self.calls if call.function == function]


@contextmanager
def invoking(function: str) -> Iterator[None]:
    token = _function.set(function)
    try:
        yield
    finally:
        _function.reset(token)


def attributed(
    function: str, handler: Callable[[dict[str, Any], Any], Any]
) -> Callable[[dict[str, Any], Any], Any]:
    """The handler, with the AWS calls it makes attributed to `function`."""

    def invoke(event: dict[str, Any], context: Any) -> Any:
        with invoking(function):
            return handler(event, context)

    return invoke
