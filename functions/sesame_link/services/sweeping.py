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


@dataclass(frozen=True)
class SweepResult:
    queued: int
    continued: bool


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

    def sweep(self, after: DueConnectionLike | None = None) -> SweepResult:
        """From the start of the registry, or on after the connection `after`."""
        cutoff = self._clock() - self._max_age if self._max_age else None
        queued = 0
        while True:
            if not deadline.allows(STEP_WORST_SECONDS):
                return self._continue(after, queued)
            due, page_end = self._registry.due(cutoff, after, PAGE_SIZE)
            for batch in _batches(due):
                if not deadline.allows(STEP_WORST_SECONDS):
                    return self._continue(after, queued)
                self._check_queue.send(batch)
                queued += len(batch)
                after = batch[-1]
            if page_end is None:
                return SweepResult(queued=queued, continued=False)
            after = page_end

    def _continue(self, after: DueConnectionLike | None, queued: int) -> SweepResult:
        if after is None:  # nothing done yet: there is nowhere to go on from but the start
            raise TimeoutError("No time left to start a sweep.")
        self._continuations.send(after)
        return SweepResult(queued=queued, continued=True)


def _batches(due: Sequence[DueConnectionLike]) -> list[Sequence[DueConnectionLike]]:
    return [due[start : start + BATCH_SIZE] for start in range(0, len(due), BATCH_SIZE)]
