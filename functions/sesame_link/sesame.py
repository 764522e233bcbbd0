"""Sesame HR client: one token check, and the wrong-region probe after a 401."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3
from urllib3 import exceptions as urllib3_errors

from sesame_link import errors

# Regions seen or reported (reference/sesame-api.md); used only for hints and probing.
KNOWN_REGIONS = ("eu1", "eu2", "eu3", "eu4", "eu5", "br1", "br2", "mx1", "demo1")
INFO_PATH = "/core/v3/info"
MAX_BODY_BYTES = 256 * 1024
CONNECT_TIMEOUT = 3.05
_HEADERS = {"Accept": "application/json", "User-Agent": "sesame-link/1"}
_COMPANY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class SesameCompany:
    id: str
    name: str


class SesameClient:
    def __init__(
        self,
        base_url: str,
        on_latency: Callable[[float], None] = lambda milliseconds: None,
    ) -> None:
        self._base_url = base_url
        self._on_latency = on_latency
        # urllib3 reads no proxy or .netrc from the environment (unlike requests): the token goes
        # straight to Sesame. No retries and no redirects: each request is one decision of ours.
        self._http = urllib3.PoolManager(
            num_pools=len(KNOWN_REGIONS) + 1,
            retries=False,
        )

    def check(self, token: str, region: str, deadline: float) -> SesameCompany:
        """Return the company the token belongs to in `region`, or raise a LinkError.

        `deadline` is a time.monotonic() instant: no call outlives it.
        """
        started = time.monotonic()
        try:
            return self._company(token, region, deadline)
        except errors.InvalidToken:
            suggested = self._probe_other_regions(token, region, deadline)
            if suggested:
                raise errors.WrongRegion(
                    f"The token is not valid in {region} but is in {suggested}.", suggested
                ) from None
            raise
        finally:
            self._on_latency((time.monotonic() - started) * 1000)

    def _company(self, token: str, region: str, deadline: float) -> SesameCompany:
        response = self._get_info(token, region, deadline)
        try:
            status = response.status
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
        finally:
            # A body read to its end has already given the connection back to the pool.
            response.close()
            response.release_conn()

    def _get_info(self, token: str, region: str, deadline: float) -> urllib3.BaseHTTPResponse:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.SesameTimeout("No time left to ask Sesame.")
        url = self._base_url.format(region=region) + INFO_PATH
        try:
            return self._http.request(
                "GET",
                url,
                headers={**_HEADERS, "Authorization": f"Bearer {token}"},
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining),
                redirect=False,
                preload_content=False,
            )
        except urllib3_errors.NameResolutionError:
            raise errors.UnknownRegion(f"There is no Sesame host for region {region}.") from None
        except urllib3_errors.NewConnectionError:  # a ConnectTimeoutError subclass, yet not a timeout
            raise errors.SesameUnavailable("The connection to Sesame failed.") from None
        except urllib3_errors.TimeoutError:
            raise errors.SesameTimeout("Sesame did not answer in time.") from None
        except (urllib3_errors.HTTPError, OSError):
            raise errors.SesameUnavailable("The connection to Sesame failed.") from None

    def _probe_other_regions(self, token: str, region: str, deadline: float) -> str | None:
        others = [other for other in KNOWN_REGIONS if other != region]
        with ThreadPoolExecutor(max_workers=len(others)) as pool:
            accepted = list(pool.map(lambda other: self._accepts(token, other, deadline), others))
        matches = [other for other, ok in zip(others, accepted, strict=True) if ok]
        return matches[0] if len(matches) == 1 else None

    def _accepts(self, token: str, region: str, deadline: float) -> bool:
        try:
            self._company(token, region, deadline)
        except errors.LinkError:
            return False
        return True


def _read_body(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """Read the body within the deadline and a size cap: a trickling server cannot hold us.

    read1 returns whatever has arrived, so the deadline is checked between reads."""
    body = bytearray()
    try:
        while chunk := response.read1(16384):
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
    return SesameCompany(id=company_id, name=name[:256])


def _is_company_id(value: object) -> bool:
    # The id becomes part of a secret name: accept only what a UUID-like id is made of.
    return isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _COMPANY_ID_CHARS


def _retry_after(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if value.isdigit() and len(value) <= 6 else None
