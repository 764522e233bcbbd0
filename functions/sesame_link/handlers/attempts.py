"""What every link attempt leaves behind, whichever door it came through: one `Links` metric by
outcome, one outcome event, one log line. Never the token."""

from __future__ import annotations

from sesame_link import errors
from sesame_link.linking import LinkResult
from sesame_link.observability import logger, record_outcome
from sesame_link.runtime import outcomes


def report_linked(tenant: str, result: LinkResult, request_id: str | None) -> None:
    connection = result.connection
    record_outcome("linked" if connection.created else "relinked")
    outcomes.linked(tenant, result, request_id)
    logger.info(
        "Sesame account linked",
        extra={
            "connection_id": connection.connection_id,
            "region": connection.region,
            "company_id": connection.company.id,
            "new_connection": connection.created,
            "request_id": request_id,
        },
    )


def report_failed(
    exc: errors.LinkError, tenant: str | None, region: str | None, request_id: str | None
) -> None:
    record_outcome(exc.code)
    outcomes.failed(tenant, region, exc, request_id)
    logger.warning(
        "Link failed", extra={"code": exc.code, "retryable": exc.retryable, "request_id": request_id}
    )
