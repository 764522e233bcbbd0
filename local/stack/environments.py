"""Lambda execution environments for the local gateway: each handles one event at a time.

`InProcessEnvironment` is one environment in this process (easy to debug). `ProcessEnvironments`
is N environments in N processes, each with its own module state and clients, as Lambda scales
out: concurrent requests really run concurrently."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.stack.backends import SIMULATED_REGIONS, apply_environment
from local.stack.dns import install_local_resolver
from local.template import FunctionSpec, load_handler

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class InProcessEnvironment:
    def __init__(self, handler: Handler, spec: FunctionSpec) -> None:
        self._handler = handler
        self._spec = spec
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._handler(event, LocalLambdaContext(self._spec))

    def close(self) -> None:
        """Nothing to stop."""


class ProcessEnvironments:
    def __init__(self, spec: FunctionSpec, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(count, initializer=_start_environment, initargs=(spec,))

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._pool.apply(_invoke, (event,))
        return result

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


Environments = InProcessEnvironment | ProcessEnvironments
_environment: dict[str, Any] = {}


def _start_environment(spec: FunctionSpec) -> None:
    apply_environment(spec.environment)
    install_local_resolver(SIMULATED_REGIONS)
    _environment.update(spec=spec, handler=load_handler(spec))


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _environment["handler"](event, LocalLambdaContext(_environment["spec"]))
    return result
