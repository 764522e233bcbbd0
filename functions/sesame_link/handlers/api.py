"""The HTTP door of the link function, behind an HTTP API with a JWT authorizer: link
(POST /connections), list, read and unlink; the connect sessions and the hosted connect page
(sessions.py); and the API's $default route (404/405 problems)."""

from __future__ import annotations

from sesame_link.handlers import cold_start  # first: see cold_start.py

# isort: split
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sesame_link.core import deadline, errors
from sesame_link.core.models import Connection, ConnectionList, LinkAnswer, LinkRequest, ListQuery
from sesame_link.core.observability import logger, metrics
from sesame_link.handlers import runtime
from sesame_link.handlers.http import (
    connection_id_of,
    current_tenant,
    http_resolver,
    http_seconds,
    json_response,
    problem_responses,
    validated_body,
)
from sesame_link.handlers.problems import invalid_request
from sesame_link.handlers.reporting import report_failed, report_linked, report_unlinked
from sesame_link.handlers.sessions import session_routes
from sesame_link.services.connections import ConnectionsService
from sesame_link.services.linking import LinkLimits, LinkService
from sesame_link.services.sessions import ConnectSessionService

CONNECTIONS = "/connections"
CONNECTION = "/connections/<connection_id>"

settings = runtime.settings
links = LinkService(
    runtime.sesame(),
    runtime.vault(),
    runtime.registry(),
    LinkLimits(runtime.attempt_budget("link", settings.link_attempts), settings.max_connections_per_tenant),
)
sessions = ConnectSessionService(
    runtime.session_store(),
    runtime.registry(),
    links,
    runtime.keyed_hash(),
)
connections = ConnectionsService(
    runtime.registry(), runtime.vault(), runtime.keyed_hash(), settings.unlink_recovery_days
)
# The body is validated by the route with the LinkRequest model: Powertools' OpenAPI validation
# would add ~10 ms to every cold start (make bench) and parse form and multipart bodies too.
app = http_resolver(settings)
app.include_router(session_routes(sessions, settings.connect_page_url, settings.connect_frame_ancestors))


@app.post(
    CONNECTIONS,
    summary="Link a Sesame HR account",
    description="Checks the token with Sesame in the region, stores it encrypted, and confirms.",
    operation_id="createConnection",
    responses={
        201: {"description": "Linked", "content": {"application/json": {"model": LinkAnswer}}},
        200: {
            "description": "Linked again: the same connection, its token replaced if it changed",
            "content": {"application/json": {"model": LinkAnswer}},
        },
        **problem_responses(400, 401, 409, 413, 422, 429, 500, 502, 503, 504),
    },
)
def create_connection() -> Response[str]:
    request_id = app.current_event.request_context.request_id
    tenant = region = None
    try:
        tenant = current_tenant(app, settings)  # a tenantless request is refused before its body is read
        request = validated_body(app.current_event, LinkRequest)
        region = request.region
        result = links.link(request, tenant)
    except errors.LinkError as exc:
        report_failed(exc, tenant, region, request_id)
        raise
    report_linked(result, request_id, "jwt")
    answer = LinkAnswer.of(result.connection, created=result.created)
    return json_response(201 if result.created else 200, answer.model_dump_json())


@app.get(
    CONNECTIONS,
    summary="List the tenant's connections",
    description="Newest link first. `next_cursor`, when not null, fetches the next page.",
    operation_id="listConnections",
    responses={
        200: {
            "description": "A page of connections",
            "content": {"application/json": {"model": ConnectionList}},
        },
        **problem_responses(400, 401, 500, 503),
    },
)
def list_connections() -> Response[str]:
    tenant = current_tenant(app, settings)
    query = _list_query()
    records, next_cursor = connections.list(tenant, query.limit, query.cursor)
    page = ConnectionList(connections=[Connection.of(record) for record in records], next_cursor=next_cursor)
    return json_response(200, page.model_dump_json())


@app.get(
    CONNECTION,
    summary="Read a connection",
    operation_id="getConnection",
    responses={
        200: {"description": "The connection", "content": {"application/json": {"model": Connection}}},
        **problem_responses(401, 404, 500, 503),
    },
)
def get_connection(connection_id: str) -> Response[str]:
    tenant = current_tenant(app, settings)
    record = connections.read(tenant, connection_id_of(connection_id))
    return json_response(200, Connection.of(record).model_dump_json())


@app.delete(
    CONNECTION,
    summary="Unlink a connection",
    description="The stored token is scheduled for deletion and the connection removed.",
    operation_id="deleteConnection",
    responses={204: {"description": "Unlinked"}, **problem_responses(401, 404, 500, 503)},
)
def delete_connection(connection_id: str) -> Response[str]:
    tenant = current_tenant(app, settings)
    record = connections.unlink(tenant, connection_id_of(connection_id))
    report_unlinked(record, app.current_event.request_context.request_id)
    return Response(status_code=204, body="")


def _list_query() -> ListQuery:
    try:
        return ListQuery.model_validate(app.current_event.query_string_parameters or {})
    except ValidationError as exc:
        raise invalid_request(exc.errors(), "The query is not valid.") from None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context, at_most_seconds=http_seconds())
    return app.resolve(event, context)


cold_start.loaded()
