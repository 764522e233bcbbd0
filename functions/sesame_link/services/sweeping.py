"""The scheduled health check's sweep: page through the registry and queue a check of every
connection not checked for `max_age_hours` (all of them with 0). It works within the
invocation's deadline: when time runs short it asks for another run that goes on after the last
connection it queued, so a registry too large for one invocation is continued, not restarted.
No HTTP or AWS here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sesame_link.core import deadline
from sesame_link.core.ports import CheckQueue, Clock, DueConnectionLike, Registry, SweepContinuations, utc_now

PAGE_SIZE = 500  # entries a scan call reads
BATCH_SIZE = 10  # messages a SendMessageBatch call takes
# A scan page or a send may start only if two AWS attempts' worst case (aws.py) fit in the time
# left: the call itself, and the continuation that may follow it.
STEP_WORST_SECONDS = 8.0
# A chain of continuations is bounded by its own count, not by Lambda's recursive-loop detection
# (which stops an SQS -> Lambda -> SQS chain silently after about 16 hops; the sweep function has
# RecursiveLoop: Allow). 96 runs of the function's 300 s are 8 hours, a third of the daily cycle.
MAX_HOPS = 96


@dataclass(frozen=True)
class SweepResult:
    queued: int
    continued: bool
    cut: bool = False  # out of time at the hop bound: the rest of the registry waits for tomorrow


class SweepService:
    def __init__(
        self,
        registry: Registry,
        check_queue: CheckQueue,
        continuations: SweepContinuations,
        max_age_hours: int,
        clock: Clock = utc_now,
    ) -> None:
        self._registry = registry
        self._check_queue = check_queue
        self._continuations = continuations
        self._max_age = timedelta(hours=max_age_hours)
        self._clock = clock

    def sweep(self, after: DueConnectionLike | None = None, hop: int = 0) -> SweepResult:
        """From the start of the registry, or on after the connection `after` (continuation
        number `hop`)."""
        cutoff = self._clock() - self._max_age if self._max_age else None
        queued = 0
        while True:
            if not deadline.allows(STEP_WORST_SECONDS):
                return self._continue(after, queued, hop)
            due, page_end = self._registry.due(cutoff, after, PAGE_SIZE)
            for batch in _batches(due):
                if not deadline.allows(STEP_WORST_SECONDS):
                    return self._continue(after, queued, hop)
                self._check_queue.send(batch)
                queued += len(batch)
                after = batch[-1]
            if page_end is None:
                return SweepResult(queued=queued, continued=False)
            after = page_end

    def _continue(self, after: DueConnectionLike | None, queued: int, hop: int) -> SweepResult:
        if after is None:  # nothing done yet: there is nowhere to go on from but the start
            raise TimeoutError("No time left to start a sweep.")
        if hop >= MAX_HOPS:
            return SweepResult(queued=queued, continued=False, cut=True)
        self._continuations.send(after, hop + 1)
        return SweepResult(queued=queued, continued=True)


def _batches(due: Sequence[DueConnectionLike]) -> list[Sequence[DueConnectionLike]]:
    return [due[start : start + BATCH_SIZE] for start in range(0, len(due), BATCH_SIZE)]
