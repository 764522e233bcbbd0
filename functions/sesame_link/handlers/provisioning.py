"""The provisioning door: SQS messages carrying "Sesame Credential Submitted" EventBridge events.

Each record is linked on its own. A retryable failure is reported in batchItemFailures, so SQS
delivers it again (and to the DLQ after the queue's maxReceiveCount); a permanent one is
reported as an outcome event and dropped. A record that one link's worst case would not fit in
the time left is not started: it goes back to the queue as it came."""

from __future__ import annotations

from sesame_link.handlers import cold_start  # first: see cold_start.py

# isort: split
import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link.core import deadline, errors
from sesame_link.core.domain import parse_tenant
from sesame_link.core.models import CredentialSubmitted, ProvisioningDetail
from sesame_link.core.observability import logger, metrics
from sesame_link.handlers import runtime
from sesame_link.handlers.problems import invalid_request
from sesame_link.handlers.reporting import report_failed, report_linked
from sesame_link.services.linking import LINK_WORST_SECONDS, LinkLimits, LinkService

settings = runtime.settings
links = LinkService(
    runtime.sesame(),
    runtime.vault(),
    runtime.registry(),
    LinkLimits(
        runtime.attempt_budget("provisioning", settings.provisioning_link_attempts),
        settings.max_connections_per_tenant,
    ),
)
# A batch that failed whole is reported item by item too: same redelivery, no invocation error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def link_record(record: SQSRecord) -> str:
    """Link one submission; return its outcome code, or raise when it is worth retrying."""
    if not deadline.allows(LINK_WORST_SECONDS):
        raise deadline.NotStarted
    detail: ProvisioningDetail | None = None
    try:
        detail = _submission(record.body)
        tenant = parse_tenant(detail.tenant_id)
        result = links.link(detail.link_request(), tenant)
    except errors.LinkError as exc:
        _failed(exc, detail, record.message_id)
        if exc.retryable:
            raise
        return exc.code
    report_linked(result, detail.request_id or record.message_id, "provisioning")
    return "linked" if result.created else "relinked"


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, str]:
    deadline.start(context)
    if "Records" not in event:
        return _link_one_event(event, context)
    return process_partial_response(
        event=event, record_handler=link_record, processor=processor, context=context
    )


def _link_one_event(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """A plain EventBridge event (a rule that targets the function, or a manual invoke): a
    retryable failure raises, so EventBridge's asynchronous retries apply. An event without an
    `id` (a manual invoke) is named by the invocation's request id."""
    message_id = str(event.get("id") or context.aws_request_id)
    record = SQSRecord({"messageId": message_id, "body": json.dumps(event)})
    return {"outcome": link_record(record)}


def _submission(body: str) -> ProvisioningDetail:
    try:
        return CredentialSubmitted.model_validate_json(body).detail
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


def _failed(exc: errors.LinkError, detail: ProvisioningDetail | None, message_id: str) -> None:
    """A malformed record has no detail: its failure names no tenant and no region."""
    tenant, region = (detail.tenant_id, detail.region) if detail else (None, None)
    request_id = (detail.request_id if detail else None) or message_id
    report_failed(exc, tenant, region, request_id)


cold_start.loaded()
