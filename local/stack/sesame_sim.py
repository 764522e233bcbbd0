"""A Sesame HR public API simulator for tests and `make run`: GET /core/v3/info on loopback.

It follows reference/sesame-api.md: Bearer auth, 401 for an unknown token or a token of another
region, the documented 200 shape. The region comes from the Host (`api-eu1.sesame.test`, with
local/stack/dns.py) or from a path prefix (`http://127.0.0.1:PORT/eu1/core/v3/info`).
Faults are set per region, in-process, for tests of what goes wrong. A token can be revoked (401)
or lose its API access (403), in-process or by `POST /_simulator/tokens` with
{"token": ..., "state": "revoked" | "forbidden" | "active"} (`make sesame-token`).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from local.stack.http_server import KeepAliveHandler, LoopbackServer

INFO_PATH = "/core/v3/info"
CONTROL_PATH = "/_simulator/tokens"
TOKEN_STATES = {"active": None, "revoked": 401, "forbidden": 403}
_HOST_REGION = re.compile(r"^api-([a-z0-9]+)\.")
_PATH_REGION = re.compile(r"^/([a-z0-9]+)" + re.escape(INFO_PATH) + "$")


@dataclass(frozen=True)
class Account:
    region: str
    company_id: str
    company_name: str


@dataclass(frozen=True)
class Fault:
    """What a region answers instead of the truth. `status=None` keeps the normal answer."""

    status: int | None = None
    body: bytes = b'{"error":"simulated"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    trickle_seconds: float = 0.0  # a pause after each byte (or each piece, with piece_bytes)
    reset: bool = False
    # The body in pieces of this many bytes, each flushed on its own (0: in one write).
    piece_bytes: int = 0
    # Transfer-Encoding: chunked, with no Content-Length.
    chunked: bool = False


@dataclass(frozen=True)
class SeenRequest:
    region: str | None
    status: int
    cookie: str | None = None


class SesameSimulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_seconds: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.latency_seconds = latency_seconds
        self._accounts: dict[str, Account] = {}
        self._states: dict[str, str] = {}
        self._faults: dict[str, Fault] = {}
        self._seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer((host, port), _handler_for(self))
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SesameSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_account(self, token: str, region: str, company_id: str, company_name: str) -> None:
        with self._lock:
            self._accounts[token] = Account(region, company_id, company_name)

    def set_token_state(self, token: str, state: str) -> bool:
        """Revoke a token, take its API access away, or make it active again; False if unknown."""
        if state not in TOKEN_STATES:
            raise ValueError(f"a token state is one of {sorted(TOKEN_STATES)}")
        with self._lock:
            if token not in self._accounts:
                return False
            self._states[token] = state
            return True

    def set_fault(self, region: str, fault: Fault | None) -> None:
        with self._lock:
            if fault is None:
                self._faults.pop(region, None)
            else:
                self._faults[region] = fault

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._states.clear()
            self._seen.clear()

    def seen(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._seen)

    def answer(
        self, region: str | None, authorization: str | None, cookie: str | None = None
    ) -> tuple[int, bytes, Fault | None]:
        token = _bearer(authorization) or ""
        with self._lock:
            fault = self._faults.get(region or "")
            account = self._accounts.get(token)
            refusal = TOKEN_STATES[self._states.get(token, "active")]
        if fault is not None and fault.status is not None:
            status, body = fault.status, fault.body
        elif region is None:
            status, body = 404, b'{"error":"Not Found"}'
        elif account is None or account.region != region or refusal == 401:
            status, body = 401, b'{"error":"Unauthorized"}'
        elif refusal == 403:
            status, body = 403, b'{"error":"Forbidden"}'
        else:
            status, body = 200, _info_body(account)
        with self._lock:
            self._seen.append(SeenRequest(region, status, cookie))
        return status, body, fault


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :]
    return None


def _info_body(account: Account) -> bytes:
    document = {
        "data": {
            "company": {
                "id": account.company_id,
                "name": account.company_name,
                "notificationEmail": "admin@example.com",
                "language": "es-ES",
                "createdAt": "2020-01-01T10:00:00+01:00",
                "updatedAt": "2020-01-01T10:00:00+01:00",
            }
        },
        "meta": {"currentPage": 1, "lastPage": 1, "total": 1, "perPage": 1},
    }
    return json.dumps(document, ensure_ascii=False).encode()


def _handler_for(simulator: SesameSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(KeepAliveHandler):
        def do_GET(self) -> None:
            # The target as sent: http.server folds a leading "//" into "/", which Sesame may not.
            region = _region(self.headers.get("Host", ""), self.requestline.split(" ")[1])
            status, body, fault = simulator.answer(
                region, self.headers.get("Authorization"), self.headers.get("Cookie")
            )
            fault = fault or Fault()
            time.sleep(simulator.latency_seconds + fault.delay_seconds)
            if fault.reset:
                self._reset_mid_response()
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if fault.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            # As a web front end would: a cookie that no other customer's request may carry.
            self.send_header("Set-Cookie", f"session={uuid.uuid4().hex}; Path=/; HttpOnly")
            for name, value in fault.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self._write(body, fault)

        def do_POST(self) -> None:
            """The control endpoint: change a token's state."""
            try:
                order = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                token, state = order["token"], order["state"]
                status = 204 if self.path == CONTROL_PATH and simulator.set_token_state(token, state) else 404
            except (ValueError, KeyError, TypeError):
                status = 400
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _reset_mid_response(self) -> None:
            self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{"data": {"comp')
            self.wfile.flush()
            # Linger 0: closing sends a TCP RST instead of a clean FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _write(self, body: bytes, fault: Fault) -> None:
            size = fault.piece_bytes or (1 if fault.trickle_seconds else len(body)) or 1
            for offset in range(0, len(body), size):
                piece = body[offset : offset + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if fault.chunked else piece)
                self.wfile.flush()
                time.sleep(fault.trickle_seconds)
            if fault.chunked:
                self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
            """Quiet: requests are recorded in `seen()`, not printed."""

    return Handler


def _region(host: str, path: str) -> str | None:
    path_match = _PATH_REGION.match(path)
    if path_match:
        return path_match.group(1)
    host_match = _HOST_REGION.match(host)
    if host_match and path == INFO_PATH:
        return host_match.group(1)
    return None
