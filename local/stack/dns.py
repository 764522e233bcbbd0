"""Local name resolution for the Sesame simulator: `api-{region}.sesame.test` resolves to
loopback for the simulated regions and fails, like a real unknown host, for any other region.
Other names go to the system resolver untouched."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from typing import Any

SIMULATED_DOMAIN = "sesame.test"
_SIMULATED_HOST = re.compile(r"^api-([a-z0-9]+)\." + re.escape(SIMULATED_DOMAIN) + r"\.?$")
_system_getaddrinfo = socket.getaddrinfo


def install_local_resolver(regions: Iterable[str]) -> None:
    known = frozenset(regions)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        match = _SIMULATED_HOST.match(host) if isinstance(host, str) else None
        if match is None:
            return _system_getaddrinfo(host, *args, **kwargs)
        if match.group(1) not in known:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _system_getaddrinfo("127.0.0.1", *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def simulated_sesame_url(port: int) -> str:
    return f"http://api-{{region}}.{SIMULATED_DOMAIN}:{port}"
