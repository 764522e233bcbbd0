"""Logger and metrics shared by the handlers. The service name is distinctive on purpose:
a name that is a substring of a library's logger name would silence that library."""

import warnings

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "sesame-link"
NAMESPACE = "SesameLink"

# A CORS preflight or an unknown route records nothing: that is not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_sesame_latency(milliseconds: float) -> None:
    metrics.add_metric(name="SesameLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def record_outcome(code: str) -> None:
    """One `Links` count per attempt, by outcome; a batch mixes outcomes, so each is its own metric."""
    with single_metric(
        name="Links",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="outcome", value=code)


def record_publish_failure(reason: str) -> None:
    logger.warning("Outcome event not published", extra={"reason": reason})
    metrics.add_metric(name="OutcomePublishFailures", unit=MetricUnit.Count, value=1)
