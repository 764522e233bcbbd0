"""What the local HTTP servers (gateway, Sesame simulator) share."""

from __future__ import annotations

import contextlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets simultaneous connections


class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # a client that hangs up early is normal
            super().handle()
