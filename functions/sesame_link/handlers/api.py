"""The HTTP door: POST /connections behind an HTTP API with a JWT authorizer."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link import errors
from sesame_link.handlers.problems import PROBLEM_JSON, headers_for, invalid_request, problem_for
from sesame_link.linking import parse_tenant
from sesame_link.models import LinkRequest
from sesame_link.observability import logger, metrics, record_outcome
from sesame_link.runtime import outcomes, service, settings

MAX_BODY_BYTES = 8 * 1024


class _NotFound(errors.LinkError):
    code, status, title = "not_found", 404, "Not found"


cors = CORSConfig(allow_origin=settings.allowed_origin, max_age=600) if settings.allowed_origin else None
app = APIGatewayHttpResolver(cors=cors)


@app.post("/connections")
def create_connection() -> Response[str]:
    event = app.current_event
    tenant = parse_tenant(event.request_context.authorizer.jwt_claim.get(settings.tenant_claim))
    app.append_context(tenant=tenant)
    request = _link_request(event.body, event.is_base64_encoded)
    app.append_context(region=request.region)
    result = service.link(request, tenant, app.lambda_context.get_remaining_time_in_millis() / 1000)
    connection = result.connection
    record_outcome("linked" if connection.created else "relinked")
    outcomes.linked(tenant, result, event.request_context.request_id)
    logger.info(
        "Sesame account linked",
        extra={
            "connection_id": connection.connection_id,
            "region": connection.region,
            "company_id": connection.company.id,
            "new_connection": connection.created,
        },
    )
    return Response(
        status_code=201 if connection.created else 200,
        content_type="application/json",
        body=connection.model_dump_json(),
    )


@app.exception_handler(errors.LinkError)
def link_failed(exc: errors.LinkError) -> Response[str]:
    record_outcome(exc.code)
    outcomes.failed(
        app.context.get("tenant"),
        app.context.get("region"),
        exc,
        app.current_event.request_context.request_id,
    )
    logger.warning("Link failed", extra={"code": exc.code, "retryable": exc.retryable})
    return _problem(exc)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    record_outcome(_NotFound.code)
    return _problem(_NotFound("No such route."))


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response[str]:
    # Only the type and place: a foreign exception's message could quote what it was given.
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "?"
    logger.error("Unexpected failure", extra={"error_type": type(exc).__name__, "where": where})
    record_outcome("internal_error")
    return _problem(errors.LinkError("Something went wrong on our side; try again later."))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def _link_request(body: str | None, is_base64: bool | None) -> LinkRequest:
    if body is None or body == "":
        raise errors.InvalidRequest("The request needs a JSON body with token and region.")
    if len(body) > MAX_BODY_BYTES * 2:
        raise errors.PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    raw = _decode_base64(body) if is_base64 else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        return LinkRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_request(exc) from None


def _decode_base64(body: str) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidRequest("The body is not valid base64.") from None


def _problem(exc: errors.LinkError) -> Response[str]:
    return Response(
        status_code=exc.status,
        content_type=PROBLEM_JSON,
        body=problem_for(exc).model_dump_json(exclude_none=True),
        headers=headers_for(exc),
    )
