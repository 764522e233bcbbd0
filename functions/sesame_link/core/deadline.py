"""The invocation's deadline. Each handler starts it from the Lambda context; every Sesame and AWS
call is bounded by it, so a slow dependency gives a retryable problem, never a Lambda timeout
(which loses the answer and the metrics). DESIGN.md, "Deployment rules"."""

from __future__ import annotations

import math
import time
from contextvars import ContextVar
from typing import Protocol

# Kept back from the Lambda timeout to map the failure, log, flush metrics and answer.
ANSWER_RESERVE_SECONDS = 0.5

_deadline: ContextVar[float] = ContextVar("sesame_link_deadline", default=math.inf)


class NotStarted(Exception):
    """Too little time left to start a unit of work: it is handed back untouched (a batch record
    goes back to its queue, reported in batchItemFailures)."""


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def start(context: RemainingTime, at_most_seconds: float = math.inf) -> None:
    """From now on, until the next start, work must be done before the invocation's end (or
    within `at_most_seconds`, if sooner) less the answer reserve."""
    seconds = min(context.get_remaining_time_in_millis() / 1000, at_most_seconds)
    _deadline.set(time.monotonic() + seconds - ANSWER_RESERVE_SECONDS)


def at() -> float:
    """The deadline as a time.monotonic() instant (infinite outside an invocation)."""
    return _deadline.get()


def remaining() -> float:
    return at() - time.monotonic()


def allows(seconds: float) -> bool:
    return remaining() >= seconds
