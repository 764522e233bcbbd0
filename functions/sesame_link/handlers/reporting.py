"""What each operation leaves behind, whichever door it came through: a metric, an event on the
outcome bus, one log line. Never the token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sesame_link.core import errors
from sesame_link.core.observability import logger, record_check, record_outcome, record_unlinked
from sesame_link.handlers import runtime

if TYPE_CHECKING:
    from sesame_link.core.domain import ConnectionRecord
    from sesame_link.services.checking import CheckResult
    from sesame_link.services.linking import LinkResult

outcomes = runtime.outcomes()


def report_linked(
    result: LinkResult, request_id: str | None, via: str, session_id: str | None = None
) -> None:
    connection = result.connection
    record_outcome("linked" if result.created else "relinked")
    outcomes.linked(connection, result.created, request_id, via=via, session_id=session_id)
    logger.info(
        "Sesame account linked",
        extra={
            "connection_id": connection.connection_id,
            "region": connection.region,
            "company_id": connection.company_id,
            "new_connection": result.created,
            "request_id": request_id,
            "via": via,
            "session_id": session_id,
        },
    )


def report_failed(
    exc: errors.LinkError, tenant: str | None, region: str | None, request_id: str | None
) -> None:
    record_outcome(exc.code)
    outcomes.failed(tenant, region, exc, request_id)
    logger.warning(
        "Link failed",
        extra={"code": exc.code, "retryable": exc.retryable, "cause": exc.cause, "request_id": request_id},
    )


def report_unlinked(connection: ConnectionRecord, request_id: str | None) -> None:
    record_unlinked()
    outcomes.unlinked(connection, request_id)
    logger.info(
        "Sesame account unlinked",
        extra={"connection_id": connection.connection_id, "request_id": request_id},
    )


def report_checked(result: CheckResult) -> None:
    """Every check counts by verdict (one refused by the cooldown as `cooldown`); only a
    transition is told to the product."""
    if not result.asked_sesame:
        record_check("cooldown")
        return
    record_check(result.verdict)
    if result.transition:
        outcomes.transition(result.after)
    logger.info(
        "Connection checked",
        extra={
            "connection_id": result.after.connection_id,
            "verdict": result.verdict,
            "transition": result.transition,
        },
    )


def report_check_inconclusive(exc: errors.LinkError, connection_id: str) -> None:
    record_check(exc.code)
    logger.warning("Check inconclusive", extra={"connection_id": connection_id, "code": exc.code})
