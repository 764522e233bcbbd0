"""A small local HTTP API gateway: turns HTTP requests into API Gateway HTTP API (payload v2)
events and routes them to the functions as the deployed API does (the routes of template.yaml's
HttpApi events, then the $default route), and serves the connect page at `/`.

The JWT authorizer is emulated for development only: a Bearer JWT's claims are read WITHOUT
checking its signature; with no JWT, `default_claims` stand in (or the request gets API
Gateway's own 401); a route's scopes are required as API Gateway requires them (403). With
`trust_jwts=False` (make run LIVE=1, real AWS behind it) every JWT is ignored and only
`default_claims` name the tenant, so no page can pick the tenant of a request. It answers only a
loopback Host with its own port (no DNS rebinding) and takes only JSON bodies (a cross-site form
or `text/plain` post, which a browser sends without a preflight, is refused). Never expose this
server beyond loopback.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.stack.backends import FAKE_AWS_CREDENTIALS, LOCAL_ACCOUNT, LOCAL_REGION
from local.stack.connect_page import page_file
from local.stack.http_server import KeepAliveHandler, LoopbackServer
from local.stack.sigv4 import verified_key
from local.template import load_template

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Route:
    key: str  # API Gateway's route key: "POST /connections/{connection_id}/check" or "$default"
    function: str  # the logical id of the function it invokes
    authorizer: str = "jwt"  # the API's default (JWT) authorizer, "AWS_IAM" (SigV4) or "NONE"
    scopes: tuple[str, ...] = ()  # the JWT must carry one of them, when there are any

    @property
    def authorized(self) -> bool:
        return self.authorizer == "jwt"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when the route takes this request, else None."""
        if self.key == DEFAULT_ROUTE:
            return {}
        route_method, route_path = self.key.split(" ", 1)
        # {name} is one path segment, {name+} (greedy) the rest of the path.
        pattern = re.sub(r"\\{(\w+)\\\+\\}", r"(?P<\1>.+)", re.escape(route_path))
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found and method == route_method else None


def api_routes(template: Mapping[str, Any] | None = None) -> list[Route]:
    """The HttpApi routes of template.yaml, the $default one last (API Gateway tries it last)."""
    document = template or load_template()
    routes = []
    for logical_id, resource in document["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                method, path = event["Properties"].get("Method"), event["Properties"].get("Path")
                auth = event["Properties"].get("Auth", {})
                scopes = tuple(_default_of(document, scope) for scope in auth.get("AuthorizationScopes", []))
                key = f"{method} {path}" if method else DEFAULT_ROUTE
                authorizer = auth.get("Authorizer")
                routes.append(
                    Route(key, logical_id, authorizer if authorizer in {"NONE", "AWS_IAM"} else "jwt", scopes)
                )
    return sorted(routes, key=lambda route: route.key == DEFAULT_ROUTE)


def all_scopes(routes: list[Route]) -> str:
    """A `scope` claim that every route accepts (make run's stand-in user)."""
    return " ".join(sorted({scope for route in routes for scope in route.scopes}))


def _default_of(document: Mapping[str, Any], value: Any) -> str:
    """A scope as written, or the default of the parameter it refers to."""
    if isinstance(value, dict) and "Ref" in value:
        return str(document["Parameters"][value["Ref"]]["Default"])
    return str(value)


def has_scope(claims: Mapping[str, Any], scopes: tuple[str, ...]) -> bool:
    """As API Gateway's JWT authorizer: the `scope` (space separated) or `scp` claim holds at least
    one of the route's scopes (HTTP API developer guide, "Controlling access to HTTP APIs with JWT
    authorizers")."""
    granted: set[str] = set()
    for claim in (claims.get("scope"), claims.get("scp")):
        if isinstance(claim, str):
            granted.update(claim.split())
        elif isinstance(claim, list):
            granted.update(str(scope) for scope in claim)
    return not scopes or bool(granted.intersection(scopes))


def route_for(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route API Gateway picks for a request, and its path parameters."""
    for route in routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    raise LookupError("the template has no $default route")


class LocalGateway:
    def __init__(
        self,
        functions: Mapping[str, Invoke] | None = None,
        default_claims: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        serve_page: bool = False,
        *,
        template: Mapping[str, Any] | None = None,
        trust_jwts: bool = True,
    ) -> None:
        """`functions` runs each function (by logical id) on an event (local/stack/environments.py); it
        may be set after the port is bound. `serve_page` serves the connect page at `/`. `template`:
        another template's routes than template.yaml's."""
        self.functions = dict(functions or {})
        self.routes = api_routes(template)
        self.default_claims = default_claims
        self.serve_page = serve_page
        self.trust_jwts = trust_jwts
        # The local stack's credentials: what a local backend signs its connect-session calls with.
        self.iam_secrets = {
            FAKE_AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"]: FAKE_AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        }
        self._server = LoopbackServer((host, port), _request_handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalGateway:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        return route_for(self.routes, method, path)

    def serves_host(self, host: str | None) -> bool:
        """Only this server's own loopback names: a page on another site whose name resolves to
        127.0.0.1 (DNS rebinding) sends its own name in Host."""
        return host in {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")}

    def claims(self, authorization: str | None) -> dict[str, Any] | None:
        claims = jwt_claims(authorization) if self.trust_jwts else None
        return claims or self.default_claims


def http_api_event(  # noqa: PLR0917 - one argument per part of the request
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    claims: dict[str, Any] | None,
    source_ip: str,
    route: Route | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload v2 event, shaped as API Gateway sends it."""
    split = urlsplit(target)
    path = split.path or "/"
    now = datetime.now(UTC)
    # API Gateway adds X-Forwarded-For, -Port and -Proto (https on AWS; this gateway is http).
    lowered = {"x-forwarded-proto": "http", **{name.lower(): value for name, value in headers.items()}}
    is_text = _is_text(lowered.get("content-type", ""), body)
    route_key = route.key if route else f"{method} {path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": split.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if split.query:
        event["queryStringParameters"] = _query_parameters(split.query)
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = body.decode() if is_text else base64.b64encode(body).decode()
    return event


def iam_caller(access_key: str) -> dict[str, Any]:
    """requestContext.authorizer.iam as API Gateway gives it for a signed request (HTTP API
    developer guide, "Working with AWS Lambda proxy integrations for HTTP APIs", payload 2.0)."""
    return {
        "accessKey": access_key,
        "accountId": LOCAL_ACCOUNT,
        "callerId": "AIDALOCALPRODUCTBACKEND",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-product-backend",
        "userId": "AIDALOCALPRODUCTBACKEND",
    }


def jwt_claims(authorization: str | None) -> dict[str, Any] | None:
    """Claims of a Bearer JWT, signature NOT checked (development only)."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    parts = authorization[len("Bearer ") :].split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _query_parameters(query: str) -> dict[str, str]:
    """As API Gateway gives them: decoded, a repeated name's values joined with commas."""
    parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in parameters.items()}


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _is_text(content_type: str, body: bytes) -> bool:
    if not (content_type.startswith(("text/", "application/json")) or not content_type):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _jwt_refusal(route: Route, claims: dict[str, Any] | None) -> tuple[int, bytes] | None:
    """API Gateway's answer when a JWT route's authorizer refuses the request: no JWT, or none of
    the route's scopes."""
    if route.authorized and claims is None:
        return 401, b'{"message":"Unauthorized"}'
    if route.authorized and claims is not None and not has_scope(claims, route.scopes):
        return 403, b'{"message":"Forbidden"}'
    return None


def _request_handler_for(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(KeepAliveHandler):
        def __getattr__(self, name: str) -> Any:
            # Every method goes to the function, as an HTTP API's $default route sends it.
            if name.startswith("do_"):
                return self._proxy
            raise AttributeError(name)

        def _proxy(self) -> None:
            if not gateway.serves_host(self.headers.get("Host")):
                self._send(403, {"content-type": "application/json"}, b'{"message":"Forbidden"}')
                return
            page = page_file(urlsplit(self.path).path, gateway.port) if gateway.serve_page else None
            if page and self.command == "GET":
                self._send(200, {"content-type": page[0], "cache-control": "no-store"}, page[1])
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self._send(
                    413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}'
                )
                return
            body = self.rfile.read(length) if length else b""
            if body and not _is_json(self.headers.get("Content-Type", "")):
                message = b'{"message":"Unsupported Media Type"}'
                self._send(415, {"content-type": "application/json"}, message)
                return
            route, parameters = gateway.route(self.command, urlsplit(self.path).path)
            # As API Gateway does: the route is chosen first, then its authorizer runs, whatever
            # the method. A CORS preflight carries no Authorization header, so it passes only a
            # route without authorizer (HTTP API developer guide, "Configuring CORS for an HTTP
            # API with a $default route and an authorizer").
            if route.authorizer == "AWS_IAM":
                self._proxy_signed(route, parameters, body)
                return
            claims = gateway.claims(self.headers.get("Authorization"))
            refused = _jwt_refusal(route, claims)
            if refused:
                self._send(refused[0], {"content-type": "application/json"}, refused[1])
                return
            event = http_api_event(
                self.command,
                self.path,
                dict(self.headers.items()),
                body,
                claims,
                self.client_address[0],
                route,
                parameters,
            )
            self._invoke(route, event)

        def _proxy_signed(self, route: Route, parameters: dict[str, str], body: bytes) -> None:
            """As API Gateway's AWS_IAM authorizer: a SigV4 signature of the local stack's
            credentials, or 403; the function is told the caller (requestContext.authorizer.iam)."""
            headers = {name.lower(): value for name, value in self.headers.items()}
            key = verified_key(
                self.command,
                f"http://{headers.get('host')}{self.path}",
                headers,
                body,
                gateway.iam_secrets,
                LOCAL_REGION,
            )
            if key is None:
                self._send(403, {"content-type": "application/json"}, b'{"message":"Forbidden"}')
                return
            event = http_api_event(
                self.command,
                self.path,
                dict(self.headers.items()),
                body,
                None,
                self.client_address[0],
                route,
                parameters,
            )
            event["requestContext"]["authorizer"] = {"iam": iam_caller(key)}
            self._invoke(route, event)

        def _invoke(self, route: Route, event: dict[str, Any]) -> None:
            started = time.perf_counter()
            result = gateway.functions[route.function](event)
            self._send_result(result)
            self.log_message(
                '"%s %s" %s %.0fms',
                self.command,
                urlsplit(self.path).path,
                result.get("statusCode"),
                (time.perf_counter() - started) * 1000,
            )

        def _send_result(self, result: dict[str, Any]) -> None:
            body = result.get("body") or ""
            raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
            headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
            self._send(int(result.get("statusCode", 200)), headers, raw, result.get("cookies") or [])

        def _send(
            self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name != "content-length":
                    self.send_header(name, value)
            for cookie in cookies or []:
                self.send_header("set-cookie", cookie)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        # Logged: method, path, status and time only, never headers, bodies or raw request lines.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Replaced by the line `_proxy` logs."""

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            super().log_message("rejected a malformed request")

    return RequestHandler
