"""A small local HTTP API gateway: turns HTTP requests into API Gateway HTTP API (payload v2)
events for the real handler, as the deployed API does, and serves the connect page at `/`.

The JWT authorizer is emulated for development only: a Bearer JWT's claims are read WITHOUT
checking its signature; with no JWT, `default_claims` stand in (or the request gets API
Gateway's own 401). Never expose this server beyond loopback.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from local.connect_page import page_file
from local.http_server import KeepAliveHandler, LoopbackServer

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit


class LocalGateway:
    def __init__(
        self,
        invoke: Invoke | None = None,
        default_claims: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        serve_page: bool = False,
    ) -> None:
        """`invoke` runs the function on an event (local/environments.py); it may be set after the
        port is bound. `serve_page` serves the connect page at `/`."""
        self.invoke = invoke
        self.default_claims = default_claims
        self.serve_page = serve_page
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


def http_api_event(  # noqa: PLR0917 - one argument per part of the request
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    claims: dict[str, Any] | None,
    source_ip: str,
) -> dict[str, Any]:
    """An HTTP API payload v2 event, shaped as API Gateway sends it."""
    split = urlsplit(target)
    path = split.path or "/"
    now = datetime.now(UTC)
    lowered = {name.lower(): value for name, value in headers.items()}
    is_text = _is_text(lowered.get("content-type", ""), body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
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
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if body:
        event["body"] = body.decode() if is_text else base64.b64encode(body).decode()
    return event


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


def _is_text(content_type: str, body: bytes) -> bool:
    if not (content_type.startswith(("text/", "application/json")) or not content_type):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _request_handler_for(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(KeepAliveHandler):
        def __getattr__(self, name: str) -> Any:
            # Every method goes to the function, as an HTTP API's $default route sends it.
            if name.startswith("do_"):
                return self._proxy
            raise AttributeError(name)

        def _proxy(self) -> None:
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
            claims = jwt_claims(self.headers.get("Authorization")) or gateway.default_claims
            if claims is None and self.command != "OPTIONS":
                self._send(401, {"content-type": "application/json"}, b'{"message":"Unauthorized"}')
                return
            event = http_api_event(
                self.command, self.path, dict(self.headers.items()), body, claims, self.client_address[0]
            )
            started = time.perf_counter()
            assert gateway.invoke is not None, "the gateway has no function to invoke"
            result = gateway.invoke(event)
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
