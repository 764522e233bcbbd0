"""Connect sessions (DESIGN.md, "Linking methods"): the product's backend mints one for a tenant;
whoever holds its token completes one link through the link service, with the same validation,
budget and errors as the JWT door. No HTTP or AWS here."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sesame_link.core import errors
from sesame_link.core.domain import ConnectSession, SessionStatus, parse_tenant
from sesame_link.core.models import LinkRequest, SessionMint
from sesame_link.core.ports import Clock, Registry, Sealer, SessionStore, utc_now
from sesame_link.services.linking import LinkResult, LinkService

TOKEN_PREFIX = "cst_"  # noqa: S105 - a marker, not a secret
_TOKEN_SHAPE = re.compile(r"cst_[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url
# How long one completion may hold the session: an attempt that dies mid-way frees it after this.
CLAIM_SECONDS = 60
# Conclusive failures that count towards exhausting the session; transient ones do not.
SESSION_FAILURES = frozenset(
    {"invalid_token", "wrong_region", "token_forbidden", "unknown_region", "company_mismatch"}
)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """Where a session call comes from: the browser's Origin (None: not a browser) and the origin
    of the hosted page, which may always call."""

    origin: str | None
    page_origin: str


@dataclass(frozen=True)
class OpenSession:
    session: ConnectSession
    key: str  # its token's keyed hash, which names it in the store


@dataclass(frozen=True)
class Minted:
    session: ConnectSession
    token: str
    connect_url: str


class ConnectSessionService:
    def __init__(  # noqa: PLR0917 - one collaborator each
        self,
        store: SessionStore,
        registry: Registry,
        links: LinkService,
        keyed_hash: Sealer,
        clock: Clock = utc_now,
        tokens: Callable[[], str] = new_token,
    ) -> None:
        self._store = store
        self._registry = registry
        self._links = links
        self._keyed_hash = keyed_hash
        self._clock = clock
        self._tokens = tokens

    def mint(self, mint: SessionMint, caller: str, page_url: str) -> Minted:
        """`page_url`: the hosted connect page; the session's connect_url is it with the token."""
        try:
            tenant = parse_tenant(mint.tenant_id)
        except errors.Unauthenticated:
            raise errors.InvalidRequest("tenant_id is not a valid tenant.") from None
        company = None
        if mint.connection_id is not None:
            record = self._registry.get(tenant, mint.connection_id)
            if record is None:
                raise errors.ConnectionNotFound()
            company = record.company_id
        now = self._clock()
        session = ConnectSession(
            session_id="cs_" + uuid.uuid4().hex,
            tenant=tenant,
            tenant_name=mint.tenant_name,
            reconnect=mint.connection_id,
            reconnect_company=company,
            region=mint.region,
            allowed_origins=mint.allowed_origins,
            created_at=now,
            expires_at=now + timedelta(seconds=mint.expires_in),
            created_by=caller,
        )
        token = self._tokens()
        self._store.create(session, self._key(token))
        return Minted(session, token, f"{page_url}#{token}")

    def status(self, session: ConnectSession) -> SessionStatus:
        return session.status(self._clock())

    def state(self, session_id: str) -> ConnectSession:
        found = self._store.get(session_id)
        if found is None:
            raise errors.RouteNotFound("No such connect session.")
        return found[0]

    def revoke(self, session_id: str) -> None:
        found = self._store.get(session_id)
        if found is None:
            raise errors.RouteNotFound("No such connect session.")
        self._store.revoke(found[1])

    def open(self, token: str | None, caller: Caller) -> OpenSession:
        """The session a token names: known, called from an origin it allows, still open."""
        if token is None or not _TOKEN_SHAPE.fullmatch(token):
            raise errors.SessionInvalid()
        key = self._key(token)
        session = self._store.find(key)
        if session is None:
            raise errors.SessionInvalid()
        if caller.origin is not None and caller.origin not in {caller.page_origin, *session.allowed_origins}:
            raise errors.OriginNotAllowed("This origin may not use the connect session.")
        if session.status(self._clock()) != "open":
            raise errors.SessionExpired()
        return OpenSession(session, key)

    def link(self, opened: OpenSession, request: LinkRequest) -> LinkResult:
        """One completion of a session `open` gave: it is claimed first (of simultaneous ones
        exactly one goes on), then linked for its tenant, then completed or released."""
        session, key = opened.session, opened.key
        now = self._clock()
        if not self._store.claim(key, now, now + timedelta(seconds=CLAIM_SECONDS)):
            raise errors.SessionExpired()
        try:
            result = self._links.link(request, session.tenant, session.reconnect_company)
        except errors.LinkError as exc:
            self._store.release(key, failed=exc.code in SESSION_FAILURES)
            raise
        except Exception:
            self._store.release(key, failed=False)
            raise
        self._store.complete(key, result.connection.connection_id, self._clock())
        return result

    def _key(self, token: str) -> str:
        return self._keyed_hash.digest("connect-session", token).hex()
