"""Logger and metrics shared by the handlers. The service name is distinctive on purpose:
a name that is a substring of a library's logger name would silence that library."""

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "sesame-link"

# A CORS preflight or an unknown route records nothing: that is not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="SesameLink", service=SERVICE)


def record_sesame_latency(milliseconds: float) -> None:
    metrics.add_metric(name="SesameLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def record_outcome(code: str) -> None:
    metrics.add_dimension(name="outcome", value=code)
    metrics.add_metric(name="Links", unit=MetricUnit.Count, value=1)
