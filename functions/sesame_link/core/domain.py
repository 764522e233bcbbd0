"""The domain's plain values and rules, shared by the services and the adapters (which import
nothing from the services): credentials, connections, tenants and their names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from sesame_link.core import errors
from sesame_link.core.models import UTC_TIMESTAMP, Status, StatusReason

MAX_TENANT_KEY_CHARS = 256
_TENANT_KEY_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@-+=")
_CONNECTION_NAMESPACE = uuid.UUID("6f1c1f7e-4f5b-4d43-9a57-2b1d1bb6a7c1")


@dataclass(frozen=True)
class Credential:
    """What a link stores: never logged, never in an answer (see `token_hint`)."""

    tenant: str
    region: str
    company_id: str
    company_name: str
    token: str


@dataclass(frozen=True)
class StoredCredential:
    """What a check reads back from the vault."""

    token: str
    region: str
    company_id: str


@dataclass(frozen=True)
class StoredSecret:
    arn: str
    changed: bool  # a new version was written (a first link, or another token)


@dataclass(frozen=True)
class ConnectionRecord:
    """A registry entry: what the API shows, plus the secret's ARN. Never the token."""

    tenant: str
    connection_id: str
    region: str
    company_id: str
    company_name: str
    token_hint: str
    status: Status
    status_reason: StatusReason | None
    linked_at: datetime
    checked_at: datetime
    secret_arn: str

    def checked(self, status: Status, reason: StatusReason | None, at: datetime) -> ConnectionRecord:
        return replace(self, status=status, status_reason=reason, checked_at=at)


def connection_id(tenant: str, company_id: str) -> str:
    """Stable for tenant + company; a one-way name, so it reveals neither."""
    return "conn_" + uuid.uuid5(_CONNECTION_NAMESPACE, f"{tenant}\x00{company_id}").hex


def token_hint(token: str) -> str:
    return "…" + token[-4:]


def parse_tenant(claim: object) -> str:
    """The tenant named by the authorizer (or a trusted event): a short printable string."""
    if not isinstance(claim, str) or not claim or not claim.isprintable():
        raise errors.Unauthenticated("The credentials name no tenant.")
    if len(tenant_key(claim)) > MAX_TENANT_KEY_CHARS:
        raise errors.Unauthenticated("The tenant named by the credentials is too long.")
    return claim


def tenant_key(tenant: str) -> str:
    """Injective encoding of a tenant into secret-name characters (`_xx` escapes, `_` included)."""
    return "".join(
        char if char in _TENANT_KEY_SAFE else "".join(f"_{byte:02x}" for byte in char.encode())
        for char in tenant
    )


def timestamp(moment: datetime) -> str:
    """The one text form of an instant, in answers, events and the registry (sortable)."""
    return moment.astimezone(UTC).strftime(UTC_TIMESTAMP)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, UTC_TIMESTAMP).replace(tzinfo=UTC)


@dataclass(frozen=True)
class AttemptLimits:
    """A door's budget of unsuccessful link attempts per tenant, in fixed UTC windows."""

    per_quarter_hour: int
    per_day: int


MAX_SESSION_FAILURES = 5  # conclusive failed attempts that exhaust a connect session
SessionStatus = Literal["open", "completed", "expired", "revoked", "exhausted"]


@dataclass(frozen=True)
class ConnectSession:
    """A connect session as stored: never its token, which is kept only as a keyed hash."""

    session_id: str
    tenant: str
    tenant_name: str
    reconnect: str | None  # the connection a reconnect relinks
    reconnect_company: str | None  # its Sesame company: only a token of it may relink
    region: str | None  # the page's prefill
    allowed_origins: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    created_by: str  # the IAM principal that minted it
    stored_status: Literal["open", "completed", "revoked"] = "open"
    failures: int = 0
    connection_id: str | None = None
    completed_at: datetime | None = None

    def status(self, now: datetime) -> SessionStatus:
        """Expiry against the clock on every use: DynamoDB's TTL deletes days late."""
        if self.stored_status != "open":
            return self.stored_status
        if self.failures >= MAX_SESSION_FAILURES:
            return "exhausted"
        return "expired" if now >= self.expires_at else "open"
