"""Logger and metrics shared by the handlers. The service name is distinctive on purpose:
a name that is a substring of a library's logger name would silence that library."""

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "sesame-link"
NAMESPACE = "SesameLink"

# A CORS preflight or an unknown route records nothing: that is not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# Below INFO these libraries log what they send and receive: botocore every request's parameters
# (CreateSecret's SecretString) and every response body (GetSecretValue's), Powertools the events
# it routes. The runtime sets the root logger to the function's level, DEBUG included, so they are
# held at INFO at least, whatever that level. (Every handler also passes log_event=False, so
# POWERTOOLS_LOGGER_LOG_EVENT cannot log an event with its token or JWT.)
CHATTY_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer", "requests", "aws_lambda_powertools")
for _library in CHATTY_LIBRARIES:
    _library_logger = logging.getLogger(_library)
    _library_logger.setLevel(max(logging.INFO, _library_logger.getEffectiveLevel()))

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_sesame_latency(milliseconds: float) -> None:
    metrics.add_metric(name="SesameLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def record_outcome(code: str) -> None:
    """One `Links` count per link attempt, by outcome."""
    _count_by("Links", "outcome", code)


def record_check(verdict: str) -> None:
    """One `Checks` count per check, by verdict: active, a broken reason, or the inconclusive code."""
    _count_by("Checks", "verdict", verdict)


def record_unlinked() -> None:
    metrics.add_metric(name="Unlinks", unit=MetricUnit.Count, value=1)


def record_queued(count: int) -> None:
    metrics.add_metric(name="ChecksQueued", unit=MetricUnit.Count, value=count)


def record_sweep_cut() -> None:
    """A sweep reached its bound of continuations (sweeping.MAX_HOPS) with connections left."""
    metrics.add_metric(name="SweepsCut", unit=MetricUnit.Count, value=1)


def record_internal_error() -> None:
    metrics.add_metric(name="InternalErrors", unit=MetricUnit.Count, value=1)


def record_budget_unavailable() -> None:
    """The attempt budget could not be asked (or given back to): the link went on regardless."""
    logger.warning("Link attempt budget unavailable")
    metrics.add_metric(name="LinkBudgetUnavailable", unit=MetricUnit.Count, value=1)


def record_publish_failure(reason: str) -> None:
    logger.warning("Outcome event not published", extra={"reason": reason})
    metrics.add_metric(name="OutcomePublishFailures", unit=MetricUnit.Count, value=1)


def _count_by(name: str, dimension: str, value: str) -> None:
    """A batch mixes values, so each count is a metric of its own with its dimension."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
