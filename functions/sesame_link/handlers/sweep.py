"""The sweep function. Started by the health check's schedule (EventBridge Scheduler), whose
event it ignores: it sweeps the registry from the start. Started by a message on its own sweep
queue, it goes on after the connection the message names (a sweep that ran out of time)."""

from __future__ import annotations

from sesame_link.handlers import cold_start  # first: see cold_start.py

# isort: split
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link.adapters.queues import SqsCheckQueue, SqsSweepContinuations
from sesame_link.core import deadline
from sesame_link.core.models import SweepContinuation
from sesame_link.core.observability import logger, metrics, record_queued, record_sweep_cut
from sesame_link.handlers import runtime
from sesame_link.services.sweeping import SweepService

settings = runtime.settings
settings.require("check_queue_url", "sweep_queue_url")
sweeps = SweepService(
    runtime.registry(),
    SqsCheckQueue(runtime.sqs_client(), settings.check_queue_url),
    SqsSweepContinuations(runtime.sqs_client(), settings.sweep_queue_url),
    settings.health_check_max_age_hours,
)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context)
    results = [sweeps.sweep(after, after.hop if after else 0) for after in _starting_points(event)]
    queued = sum(result.queued for result in results)
    record_queued(queued)
    if any(result.cut for result in results):
        record_sweep_cut()
        logger.error("Sweep cut at its bound of continuations: the rest waits for the next run")
    summary = {"queued": queued, "continued": any(result.continued for result in results)}
    logger.info("Sweep done", extra=summary)
    return summary


def _starting_points(event: dict[str, Any]) -> list[SweepContinuation | None]:
    """Where to sweep from: the start, unless the event is a batch of sweep queue messages."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return [None]
    points: list[SweepContinuation | None] = []
    for record in records:
        try:
            points.append(SweepContinuation.model_validate_json(record.get("body", "")))
        except (ValidationError, AttributeError):
            logger.warning("Malformed sweep message dropped")
    return points


cold_start.loaded()
