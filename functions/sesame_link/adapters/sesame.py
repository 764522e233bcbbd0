"""Sesame HR client (requests): one token check, and the wrong-region probe after a 401."""

from __future__ import annotations

import json
import socket
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_errors

from sesame_link.core import errors
from sesame_link.core.config import MAX_PROBE_REGIONS

# What the wrong-region probe asks by default: the regions reference/sesame-api.md confirms (eu1)
# or observed (eu4). A probe sends the customer's token to another host: never a demo environment
# or a region only third parties report, unless the stack's ProbeRegions says so.
DEFAULT_PROBE_REGIONS = ("eu1", "eu4")
INFO_PATH = "/core/v3/info"
MAX_BODY_BYTES = 256 * 1024
CONNECT_TIMEOUT_SECONDS = 3.05
# Identity: the body is read raw, under the size cap, so it must not arrive compressed.
_HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity", "User-Agent": "sesame-link/1"}
_COMPANY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_NOT_DISPLAYABLE = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
# getaddrinfo's definite "no such name": anything else (EAI_AGAIN, EAI_FAIL, ...) may pass.
_NO_SUCH_NAME = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)


@dataclass(frozen=True)
class SesameCompany:
    id: str
    name: str


def new_session() -> requests.Session:
    """A session that nothing in the environment can redirect or listen in on: no proxy, no .netrc,
    no CA bundle override (trust_env off; certificates are checked against certifi's bundle),
    no cookies carried from one customer's request to another's, no retries."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=MAX_PROBE_REGIONS + 1, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SesameClient:
    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        on_latency: Callable[[float], None] = lambda milliseconds: None,
        probe_regions: tuple[str, ...] = DEFAULT_PROBE_REGIONS,
    ) -> None:
        self._base_url = base_url
        self._session = session
        self._on_latency = on_latency
        self._probe_regions = probe_regions[:MAX_PROBE_REGIONS]

    def check(self, token: str, region: str, deadline: float) -> SesameCompany:
        """The company the token belongs to in `region`; after a 401, the one other probe region
        that accepts it is suggested. `deadline` is a time.monotonic() instant no call outlives."""
        started = time.monotonic()
        try:
            return self.company(token, region, deadline)
        except errors.InvalidToken:
            suggested = self._probe_other_regions(token, region, deadline)
            if suggested:
                raise errors.WrongRegion(
                    f"The token is not valid in {region} but is in {suggested}.", suggested
                ) from None
            raise
        finally:
            self._on_latency((time.monotonic() - started) * 1000)

    def company(self, token: str, region: str, deadline: float) -> SesameCompany:
        """One request: the token's company in `region`, or the LinkError Sesame's answer means."""
        with self._get_info(token, region, deadline) as response:
            status = response.status_code
            if status == 200:
                return _parse_company(_read_body(response, deadline))
            if status == 401:
                raise errors.InvalidToken(f"Sesame does not accept the token in {region}.")
            if status == 403:
                raise errors.TokenForbidden("Sesame refused access: is the API add-on active?")
            if status == 429:
                raise errors.SesameRateLimited(
                    "Sesame is rate limiting this company; try again later.",
                    _retry_after(response.headers.get("Retry-After")),
                )
            raise errors.SesameUnavailable(f"Sesame answered HTTP {status}.")

    def _get_info(self, token: str, region: str, deadline: float) -> requests.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.SesameTimeout("No time left to ask Sesame.")
        try:
            return self._session.get(
                self._base_url.format(region=region) + INFO_PATH,
                headers={**_HEADERS, "Authorization": f"Bearer {token}"},
                timeout=(min(CONNECT_TIMEOUT_SECONDS, remaining), remaining),
                allow_redirects=False,
                stream=True,
            )
        except requests.ConnectionError as exc:
            if _is_no_such_name(exc):
                raise errors.UnknownRegion(f"There is no Sesame host for region {region}.") from None
            if isinstance(exc, requests.ConnectTimeout):
                raise errors.SesameTimeout("Sesame did not answer in time.") from None
            raise errors.SesameUnavailable("The connection to Sesame failed.") from None
        except requests.Timeout:
            raise errors.SesameTimeout("Sesame did not answer in time.") from None
        except requests.RequestException:
            raise errors.SesameUnavailable("The request to Sesame failed.") from None

    def _probe_other_regions(self, token: str, region: str, deadline: float) -> str | None:
        others = [other for other in self._probe_regions if other != region]
        if not others:
            return None
        with ThreadPoolExecutor(max_workers=len(others)) as pool:
            accepted = list(pool.map(lambda other: self._accepts(token, other, deadline), others))
        matches = [other for other, ok in zip(others, accepted, strict=True) if ok]
        return matches[0] if len(matches) == 1 else None

    def _accepts(self, token: str, region: str, deadline: float) -> bool:
        try:
            self.company(token, region, deadline)
        except errors.LinkError:
            return False
        return True


def _is_no_such_name(exc: BaseException) -> bool:
    """requests wraps urllib3's MaxRetryError, which wraps NameResolutionError, which wraps the
    resolver's gaierror: follow the chain to it."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return cause.errno in _NO_SUCH_NAME
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
    return False


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """Read the body within the deadline and a size cap: a trickling server cannot hold us.
    read1 returns whatever has arrived, so the deadline is checked between reads."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise errors.SesameUnavailable("Sesame's answer is too large.")
    body = bytearray()
    try:
        while chunk := response.raw.read1(16384):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise errors.SesameUnavailable("Sesame's answer is too large.")
            if time.monotonic() > deadline:
                raise errors.SesameTimeout("Sesame did not finish answering in time.")
    except urllib3_errors.TimeoutError:
        raise errors.SesameTimeout("Sesame did not finish answering in time.") from None
    except (urllib3_errors.HTTPError, OSError):
        raise errors.SesameUnavailable("The connection to Sesame broke mid-answer.") from None
    return bytes(body)


def _parse_company(body: bytes) -> SesameCompany:
    try:
        document = json.loads(body)
        company = document["data"]["company"]
        company_id = company["id"]
        name = company.get("name") or ""
    except (ValueError, TypeError, KeyError, AttributeError):
        raise errors.SesameUnavailable("Sesame's answer is not the documented shape.") from None
    if not _is_company_id(company_id) or not isinstance(name, str):
        raise errors.SesameUnavailable("Sesame's answer is not the documented shape.")
    return SesameCompany(id=company_id, name=displayable(name)[:256])


def displayable(text: str) -> str:
    """Sesame's text without control, format (bidirectional overrides and isolates, zero-width
    characters), private-use or surrogate characters, nor line or paragraph separators: a company
    name must not reorder or hide what a page or a log line shows around it."""
    return "".join(char for char in text if unicodedata.category(char) not in _NOT_DISPLAYABLE).strip()


def _is_company_id(value: object) -> bool:
    # The id becomes part of a secret name: accept only what a UUID-like id is made of.
    return isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _COMPANY_ID_CHARS


def _retry_after(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if value.isdigit() and len(value) <= 6 else None
