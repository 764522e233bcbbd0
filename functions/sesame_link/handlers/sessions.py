"""The connect-session routes of the link function (DESIGN.md, "Linking methods"): the product's
backend mints, reads and revokes sessions behind the AWS_IAM authorizer; the hosted connect page
(served here too, at /connect) reads its session and completes the link with the session token
in `Authorization: ConnectSession <token>`, through the same link service as the JWT door."""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from sesame_link.core import errors
from sesame_link.core.domain import ConnectSession
from sesame_link.core.models import (
    LinkAnswer,
    LinkRequest,
    SessionCreated,
    SessionMint,
    SessionPage,
    SessionState,
)
from sesame_link.handlers.http import json_response, problem_responses, validated_body
from sesame_link.handlers.reporting import report_failed, report_linked
from sesame_link.services.sessions import Caller, ConnectSessionService

SESSIONS = "/connect-sessions"
SESSION = "/connect-sessions/<session_id>"
AUTHORIZATION_SCHEME = "ConnectSession "
PAGE_FILES = {
    "/connect": ("index.html", "text/html; charset=utf-8"),
    "/connect/hosted.js": ("hosted.js", "text/javascript; charset=utf-8"),
    "/connect/hosted.css": ("hosted.css", "text/css; charset=utf-8"),
}


def session_routes(
    sessions: ConnectSessionService, page_url: str, frame_ancestors: str
) -> APIGatewayHttpRouter:
    """`page_url`: where the hosted page is (ConnectPageUrl), or empty: this API's /connect.
    `frame_ancestors`: the origins that may embed the page (CSP), space separated, or empty."""
    router = APIGatewayHttpRouter()

    def hosted_page() -> str:
        if page_url:
            return page_url
        # The API's own address, as the client reached it (API Gateway adds X-Forwarded-Proto).
        headers = router.current_event.headers
        scheme = headers.get("x-forwarded-proto") or "https"
        return f"{scheme}://{router.current_event.request_context.domain_name}/connect"

    def browser() -> Caller:
        split = urlsplit(hosted_page())
        return Caller(router.current_event.headers.get("origin"), f"{split.scheme}://{split.netloc}")

    def caller() -> str:
        """The IAM principal API Gateway's AWS_IAM authorizer names; a mint without one is refused."""
        iam = router.current_event.request_context.authorizer.get("iam") or {}
        principal = iam.get("userArn") if isinstance(iam, dict) else None
        if not isinstance(principal, str) or not principal.startswith("arn:"):
            raise errors.Unauthenticated("The request names no IAM caller.")
        return principal

    def session_token() -> str | None:
        authorization = router.current_event.headers.get("authorization") or ""
        return (
            authorization[len(AUTHORIZATION_SCHEME) :]
            if authorization.startswith(AUTHORIZATION_SCHEME)
            else None
        )

    @router.post(
        SESSIONS,
        summary="Mint a connect session",
        description="For the product's backend (SigV4). The token is in this answer only.",
        operation_id="createConnectSession",
        responses={
            201: {"description": "Minted", "content": {"application/json": {"model": SessionCreated}}},
            **problem_responses(400, 401, 404, 500, 503),
        },
    )
    def create_session() -> Response[str]:
        principal = caller()
        minted = sessions.mint(validated_body(router.current_event, SessionMint), principal, hosted_page())
        answer = SessionCreated(
            session_id=minted.session.session_id,
            token=minted.token,
            connect_url=minted.connect_url,
            expires_at=minted.session.expires_at,
        )
        return json_response(201, answer.model_dump_json())

    @router.get(
        SESSION,
        summary="Read a connect session",
        operation_id="getConnectSession",
        responses={
            200: {"description": "The session", "content": {"application/json": {"model": SessionState}}},
            **problem_responses(401, 404, 500, 503),
        },
    )
    def get_session(session_id: str) -> Response[str]:
        caller()
        return json_response(200, _state(sessions, sessions.state(session_id)).model_dump_json())

    @router.delete(
        SESSION,
        summary="Revoke a connect session",
        operation_id="deleteConnectSession",
        responses={204: {"description": "Revoked"}, **problem_responses(401, 404, 500, 503)},
    )
    def delete_session(session_id: str) -> Response[str]:
        caller()
        sessions.revoke(session_id)
        return Response(status_code=204, body="")

    @router.get(
        "/connect/session",
        summary="What the connect page shows",
        operation_id="getConnectPageSession",
        responses={
            200: {"description": "The session", "content": {"application/json": {"model": SessionPage}}},
            **problem_responses(401, 403, 410, 500, 503),
        },
    )
    def page_session() -> Response[str]:
        session = sessions.open(session_token(), browser()).session
        page = SessionPage(
            session_id=session.session_id,
            tenant_name=session.tenant_name,
            region=session.region,
            reconnect=session.reconnect is not None,
            expires_at=session.expires_at,
            allowed_origins=list(session.allowed_origins),
        )
        return json_response(200, page.model_dump_json())

    @router.post(
        "/connect/session/link",
        summary="Complete a connect session",
        description="Body exactly {token, region}; answered as POST /connections is.",
        operation_id="completeConnectSession",
        responses={
            201: {"description": "Linked", "content": {"application/json": {"model": LinkAnswer}}},
            200: {"description": "Linked again", "content": {"application/json": {"model": LinkAnswer}}},
            **problem_responses(400, 401, 403, 409, 410, 413, 422, 429, 500, 502, 503, 504),
        },
    )
    def complete_session() -> Response[str]:
        request_id = router.current_event.request_context.request_id
        session: ConnectSession | None = None
        region = None
        try:
            opened = sessions.open(session_token(), browser())
            session = opened.session
            request = validated_body(router.current_event, LinkRequest)
            region = request.region
            result = sessions.link(opened, request)
        except errors.LinkError as exc:
            report_failed(exc, session.tenant if session else None, region, request_id)
            raise
        report_linked(result, request_id, "session", session.session_id)
        answer = LinkAnswer.of(result.connection, created=result.created)
        return json_response(201 if result.created else 200, answer.model_dump_json())

    @router.get("/connect", include_in_schema=False)
    def page() -> Response[str]:
        return _page_file("/connect", frame_ancestors)

    @router.get("/connect/<asset>", include_in_schema=False)
    def page_asset(asset: str) -> Response[str]:
        return _page_file(f"/connect/{asset}", frame_ancestors)

    return router


def _state(sessions: ConnectSessionService, session: ConnectSession) -> SessionState:
    return SessionState(
        session_id=session.session_id,
        tenant_id=session.tenant,
        tenant_name=session.tenant_name,
        status=sessions.status(session),
        reconnect=session.reconnect,
        expires_at=session.expires_at,
        attempts=session.failures,
        connection_id=session.connection_id,
        completed_at=session.completed_at,
    )


def _page_file(path: str, frame_ancestors: str) -> Response[str]:
    """The hosted page and its assets, with DESIGN.md's headers: only its own scripts and calls,
    embedded only by the configured origins, no referrer, never cached."""
    if path not in PAGE_FILES:
        raise errors.RouteNotFound("No such route.")
    name, content_type = PAGE_FILES[path]
    body = resources.files("sesame_link.handlers.connect_page").joinpath(name).read_text(encoding="utf-8")
    ancestors = frame_ancestors or "'none'"
    policy = f"default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    return Response(
        status_code=200,
        content_type=content_type,
        body=body,
        headers={
            "Content-Security-Policy": policy,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
