"""What the HTTP doors share: a resolver with CORS, the tenant from the JWT authorizer's claims,
errors as RFC 9457 problems in one place, and 404/405 problems for what the API does not have
(on AWS too: the link function also serves the API's $default route)."""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ValidationError

from sesame_link.core import errors
from sesame_link.core.config import Settings
from sesame_link.core.domain import parse_tenant
from sesame_link.core.models import CONNECTION_ID_PATTERN, Problem
from sesame_link.core.observability import logger, record_internal_error
from sesame_link.handlers import cold_start
from sesame_link.handlers.problems import PROBLEM_JSON, headers_for, invalid_request, problem_for

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

Body = TypeVar("Body", bound=BaseModel)
MAX_BODY_BYTES = 8 * 1024

# Every route of the API and the methods it takes, whichever function serves it: a method a
# route does not take is a 405 with `Allow`, anything else a 404.
ROUTES = (
    (re.compile(r"/connections"), "GET, POST"),
    (re.compile(r"/connections/[^/]+"), "GET, DELETE"),
    (re.compile(r"/connections/[^/]+/check"), "POST"),
    (re.compile(r"/connect-sessions"), "POST"),
    (re.compile(r"/connect-sessions/[^/]+"), "GET, DELETE"),
    (re.compile(r"/connect/session"), "GET"),
    (re.compile(r"/connect/session/link"), "POST"),
    (re.compile(r"/connect"), "GET"),
    (re.compile(r"/connect/[^/]+"), "GET"),
)
_CONNECTION_ID = re.compile(CONNECTION_ID_PATTERN)


def problem_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The OpenAPI description of the problems a route can answer."""
    return {
        status: {"description": PROBLEM_DESCRIPTIONS[status], "content": {PROBLEM_JSON: {"model": Problem}}}
        for status in statuses
    }


# API Gateway ends the wait for an integration after 30 s, a cold start's initialization
# included (API Gateway developer guide, "Amazon API Gateway quotas for HTTP APIs": integration
# timeout 30 seconds). The margin covers what happens before the handler's imports and the way back.
API_GATEWAY_SECONDS = 30.0
API_GATEWAY_MARGIN_SECONDS = 1.5


def http_seconds() -> float:
    """How long an HTTP door may work on this request: within API Gateway's limit, whatever the
    function's own timeout (which its queue door may need longer)."""
    return API_GATEWAY_SECONDS - API_GATEWAY_MARGIN_SECONDS - cold_start.initialization_seconds()


PROBLEM_DESCRIPTIONS = {
    400: "invalid_request",
    401: "unauthenticated, session_invalid",
    403: "origin_not_allowed",
    404: "connection_not_found, not_found",
    409: "connection_limit_reached",
    410: "session_expired",
    413: "payload_too_large",
    422: (
        "invalid_token, wrong_region (with suggested_region), token_forbidden, unknown_region,"
        " company_mismatch"
    ),
    429: "link_attempts_exhausted (with Retry-After)",
    500: "storage_failed, internal_error",
    502: "sesame_unavailable",
    503: "sesame_rate_limited (with Retry-After), storage_unavailable",
    504: "sesame_timeout",
}


def http_resolver(settings: Settings) -> APIGatewayHttpResolver:
    # The function answers CORS itself where no API Gateway CORS stands in front (make run); on
    # AWS the HTTP API's CorsConfiguration (template.yaml) says the same.
    cors = (
        CORSConfig(allow_origin=settings.allowed_origin, expose_headers=["Retry-After"], max_age=600)
        if settings.allowed_origin
        else None
    )
    app = APIGatewayHttpResolver(cors=cors)
    _answer_problems(app)
    return app


def current_tenant(app: APIGatewayHttpResolver, settings: Settings) -> str:
    claims = app.current_event.request_context.authorizer.jwt_claim
    return parse_tenant(claims.get(settings.tenant_claim))


def connection_id_of(path_value: str) -> str:
    """A path's connection id, checked before any AWS call: one that cannot exist is not found."""
    if not _CONNECTION_ID.fullmatch(path_value):
        raise errors.ConnectionNotFound()
    return path_value


def validated_body(event: APIGatewayProxyEventV2, model: type[Body]) -> Body:
    """The body as `model`, read as JSON whatever its content type: this API takes JSON only."""
    try:
        body = event.decoded_body or ""
    except (binascii.Error, UnicodeDecodeError):
        raise errors.InvalidRequest("The body must be JSON text.") from None
    if len(body.encode()) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


def json_response(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=body)


def problem_response(exc: errors.LinkError) -> Response[str]:
    return Response(
        status_code=exc.status,
        content_type=PROBLEM_JSON,
        body=problem_for(exc).model_dump_json(exclude_none=True),
        headers=headers_for(exc),
    )


def _answer_problems(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(errors.LinkError)
    def failed(exc: errors.LinkError) -> Response[str]:
        return problem_response(exc)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        path = app.current_event.path
        allow = next((methods for route, methods in ROUTES if route.fullmatch(path)), None)
        if allow is None:
            return problem_response(errors.RouteNotFound("No such route."))
        return problem_response(errors.MethodNotAllowed(f"This route takes {allow}.", f"{allow}, OPTIONS"))

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        # Only the type and place: a foreign exception's message could quote what it was given.
        frame: Any = exc.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "?"
        logger.error("Unexpected failure", extra={"error_type": type(exc).__name__, "where": where})
        record_internal_error()
        return problem_response(errors.LinkError("Something went wrong on our side; try again later."))
