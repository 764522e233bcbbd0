"""The HTTP door: POST /connections behind an HTTP API with a JWT authorizer."""

from __future__ import annotations

from sesame_link.handlers import cold_start  # first: see cold_start.py

# isort: split
import binascii
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link import errors
from sesame_link.handlers.attempts import report_failed, report_linked
from sesame_link.handlers.problems import PROBLEM_JSON, headers_for, invalid_request, problem_for
from sesame_link.linking import parse_tenant
from sesame_link.models import Connection, LinkRequest, Problem
from sesame_link.observability import logger, metrics, record_outcome
from sesame_link.runtime import service, settings

CONNECTIONS = "/connections"
MAX_BODY_BYTES = 8 * 1024


class _NotFound(errors.LinkError):
    code, status, title = "not_found", 404, "Not found"


class _MethodNotAllowed(errors.LinkError):
    code, status, title = "method_not_allowed", 405, "Method not allowed"


cors = CORSConfig(allow_origin=settings.allowed_origin, max_age=600) if settings.allowed_origin else None
# The body is validated by the route with the LinkRequest model: Powertools' OpenAPI validation
# would add ~10 ms to every cold start (make bench) and parse form and multipart bodies too.
app = APIGatewayHttpResolver(cors=cors)


def tenant_from_jwt(
    app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[str]]
) -> Response[str]:
    app.append_context(tenant=parse_tenant(_tenant_claim()))
    return next_middleware(app)


def _tenant_claim() -> object:
    return app.current_event.request_context.authorizer.jwt_claim.get(settings.tenant_claim)


PROBLEM_RESPONSES: dict[int, OpenAPIResponse] = {
    status: {"description": description, "content": {PROBLEM_JSON: {"model": Problem}}}
    for status, description in [
        (400, "invalid_request"),
        (401, "unauthenticated"),
        (413, "payload_too_large"),
        (422, "invalid_token, wrong_region (with suggested_region), token_forbidden, unknown_region"),
        (500, "storage_failed, internal_error"),
        (502, "sesame_unavailable"),
        (503, "sesame_rate_limited (with Retry-After), storage_unavailable"),
        (504, "sesame_timeout"),
    ]
}


@app.post(
    CONNECTIONS,
    summary="Link a Sesame HR account",
    description="Checks the token with Sesame in the region, stores it encrypted, and confirms.",
    operation_id="createConnection",
    responses={
        201: {"description": "Linked", "content": {"application/json": {"model": Connection}}},
        200: {
            "description": "Re-linked: a new version of the same connection",
            "content": {"application/json": {"model": Connection}},
        },
        **PROBLEM_RESPONSES,
    },
    middlewares=[tenant_from_jwt],
)
def create_connection() -> Response[str]:
    tenant: str = app.context["tenant"]
    request = _link_request()
    app.append_context(region=request.region)
    result = service.link(request, tenant, app.lambda_context.get_remaining_time_in_millis() / 1000)
    connection = result.connection
    report_linked(tenant, result, app.current_event.request_context.request_id)
    return Response(
        status_code=201 if connection.created else 200,
        content_type="application/json",
        body=connection.model_dump_json(),
    )


def _link_request() -> LinkRequest:
    """The body as a LinkRequest, read as JSON whatever its content type: this API takes JSON only."""
    try:
        body = app.current_event.decoded_body or ""
    except (binascii.Error, UnicodeDecodeError):
        raise errors.InvalidRequest("The body must be JSON text.") from None
    if len(body.encode()) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        return LinkRequest.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


@app.exception_handler(errors.LinkError)
def link_failed(exc: errors.LinkError) -> Response[str]:
    report_failed(
        exc,
        app.context.get("tenant"),
        app.context.get("region"),
        app.current_event.request_context.request_id,
    )
    return _problem(exc)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    if app.current_event.path == CONNECTIONS:
        record_outcome(_MethodNotAllowed.code)
        return _problem(_MethodNotAllowed("POST is the only method here."), {"Allow": "POST, OPTIONS"})
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


def _problem(exc: errors.LinkError, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=exc.status,
        content_type=PROBLEM_JSON,
        body=problem_for(exc).model_dump_json(exclude_none=True),
        headers={**headers_for(exc), **(headers or {})},
    )


cold_start.loaded()
