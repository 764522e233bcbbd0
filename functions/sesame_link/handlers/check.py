"""The check function, the only one that may read secrets. Two doors:
- POST /connections/{connection_id}/check on the HTTP API: a live check, answered with the
  connection as it now stands (Sesame's transient failures as problems, the status unchanged);
- the check queue the sweep fills (BatchProcessor): an inconclusive check goes back to the queue
  through batchItemFailures, a conclusive one, a connection gone or a malformed message does not.
"""

from __future__ import annotations

from sesame_link.handlers import cold_start  # first: see cold_start.py

# isort: split
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link.adapters.vault import SecretsManagerReader
from sesame_link.core import deadline, errors
from sesame_link.core.models import CheckRequested, Connection
from sesame_link.core.observability import logger, metrics
from sesame_link.handlers import runtime
from sesame_link.handlers.http import (
    connection_id_of,
    current_tenant,
    http_resolver,
    http_seconds,
    json_response,
    problem_responses,
)
from sesame_link.handlers.reporting import report_check_inconclusive, report_checked
from sesame_link.services.checking import CheckService
from sesame_link.services.linking import LINK_WORST_SECONDS

settings = runtime.settings
# The only function that reads secrets, and it writes none.
checks = CheckService(
    runtime.sesame(),
    SecretsManagerReader(runtime.secrets_client()),
    runtime.registry(),
    cooldown_seconds=settings.check_cooldown_seconds,
)
app = http_resolver(settings)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A check is one secret read, one Sesame request and one registry write: a link's worst case bounds it.
CHECK_WORST_SECONDS = LINK_WORST_SECONDS


@app.post(
    "/connections/<connection_id>/check",
    summary="Check a connection now",
    description=(
        "Asks Sesame with the stored token and answers the connection with its new status; at most"
        " once per cooldown and connection, and within it the connection as it stands."
    ),
    operation_id="checkConnection",
    responses={
        200: {
            "description": "The connection, checked",
            "content": {"application/json": {"model": Connection}},
        },
        **problem_responses(401, 404, 500, 502, 503, 504),
    },
)
def check_connection(connection_id: str) -> Response[str]:
    tenant = current_tenant(app, settings)
    checked = connection_id_of(connection_id)
    try:
        result = checks.check_on_request(tenant, checked)
    except errors.LinkError as exc:
        if exc.retryable:
            report_check_inconclusive(exc, checked)
        raise
    report_checked(result)
    return json_response(200, Connection.of(result.after).model_dump_json())


def check_record(record: SQSRecord) -> str:
    """Check one queued connection; raise when it is worth trying again later."""
    if not deadline.allows(CHECK_WORST_SECONDS):
        raise deadline.NotStarted
    try:
        requested = CheckRequested.model_validate_json(record.body)
    except ValidationError:
        logger.warning("Malformed check message dropped", extra={"message_id": record.message_id})
        return "malformed"
    try:
        result = checks.check(requested.tenant_id, requested.connection_id)
    except errors.ConnectionNotFound:
        # Unlinked since it was queued: nothing to check, nothing to bring back.
        logger.info("Check skipped: the connection is gone", extra={"connection_id": requested.connection_id})
        return "gone"
    except errors.LinkError as exc:
        report_check_inconclusive(exc, requested.connection_id)
        if exc.retryable:
            raise
        return exc.code
    report_checked(result)
    return result.verdict


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        deadline.start(context)
        return dict(
            process_partial_response(
                event=event, record_handler=check_record, processor=processor, context=context
            )
        )
    deadline.start(context, at_most_seconds=http_seconds())
    return app.resolve(event, context)


cold_start.loaded()
