"""Pydantic models at the edges: what comes in, what goes out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    field_serializer,
)

if TYPE_CHECKING:
    from sesame_link.core.domain import ConnectionRecord

REGION_PATTERN = r"^[a-z]{2,6}[0-9]{1,2}$"
CONNECTION_ID_PATTERN = r"^conn_[0-9a-f]{32}$"
UTC_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
_TOKEN = re.compile(r"[!-~]{16,512}")


def _token_shape(value: object) -> object:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ValueError("must be 16 to 512 printable characters without spaces")
    return value


# Opaque, never parsed (not even as the JWT the spec claims it is); kept out of reprs and dumps.
Token = Annotated[
    SecretStr,
    BeforeValidator(_token_shape),
    WithJsonSchema(
        {
            "type": "string",
            "format": "password",
            "writeOnly": True,
            "minLength": 16,
            "maxLength": 512,
            "pattern": "^[!-~]+$",
        }
    ),
]
# The region becomes part of a hostname: nothing else may pass.
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
ConnectionId = Annotated[str, Field(pattern=CONNECTION_ID_PATTERN)]
Status = Literal["active", "broken"]
# The conclusive verdicts of a check that break a connection (DESIGN.md's status model).
StatusReason = Literal["invalid_token", "token_forbidden", "company_changed"]
# defer_build: a model's validator and serializer are built on its first use, not at import: each
# function builds only the models it uses (the cold start, make bench).
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True, defer_build=True)


class LinkRequest(BaseModel):
    """What a customer submits through the HTTP door."""

    model_config = _STRICT

    token: Token
    region: Region


class ProvisioningDetail(BaseModel):
    """The `detail` of a "Sesame Credential Submitted" event: the bus is internal, so the tenant
    comes from the event."""

    model_config = _STRICT

    tenant_id: str = Field(min_length=1, max_length=256)
    token: Token
    region: Region
    request_id: str | None = Field(default=None, max_length=128, pattern=r"^[!-~]+$")

    def link_request(self) -> LinkRequest:
        return LinkRequest(token=self.token.get_secret_value(), region=self.region)


class CredentialSubmitted(BaseModel):
    """The EventBridge event that an SQS message body carries (envelope fields are ignored)."""

    model_config = ConfigDict(
        extra="ignore", strict=True, frozen=True, hide_input_in_errors=True, defer_build=True
    )

    detail_type: Literal["Sesame Credential Submitted"] = Field(alias="detail-type")
    detail: ProvisioningDetail


def _printable(value: object) -> object:
    if not isinstance(value, str) or not value.isprintable():
        raise ValueError("must be printable characters")
    return value


Printable = Annotated[str, BeforeValidator(_printable)]
# An origin a browser sends: https, a host name, an optional port; no path.
HttpsOrigin = Annotated[str, Field(pattern=r"^https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")]
SESSION_ID_PATTERN = r"^cs_[0-9a-f]{32}$"
SessionId = Annotated[str, Field(pattern=SESSION_ID_PATTERN)]
MIN_SESSION_SECONDS, MAX_SESSION_SECONDS = 60, 7 * 24 * 3600


class SessionMint(BaseModel):
    """POST /connect-sessions: what the product's backend asks for (DESIGN.md, "Linking methods")."""

    model_config = _STRICT

    tenant_id: Printable = Field(min_length=1, max_length=256)
    tenant_name: Printable = Field(min_length=1, max_length=100)
    connection_id: ConnectionId | None = None
    region: Region | None = None
    expires_in: int = Field(default=1800, ge=MIN_SESSION_SECONDS, le=MAX_SESSION_SECONDS)
    allowed_origins: tuple[HttpsOrigin, ...] = Field(default=(), max_length=5)


class SessionCreated(BaseModel):
    """The mint's answer: the only one that ever carries the session token."""

    model_config = ConfigDict(defer_build=True)

    session_id: str
    token: str
    connect_url: str
    expires_at: datetime
    status: Literal["open"] = "open"

    @field_serializer("expires_at")
    def _utc_z(self, value: datetime) -> str:
        return value.strftime(UTC_TIMESTAMP)


class SessionState(BaseModel):
    """GET /connect-sessions/{session_id}: what the backend reads; never the token."""

    model_config = ConfigDict(defer_build=True)

    session_id: str
    tenant_id: str
    tenant_name: str
    status: Literal["open", "completed", "expired", "revoked", "exhausted"]
    reconnect: str | None
    expires_at: datetime
    attempts: int
    connection_id: str | None
    completed_at: datetime | None

    @field_serializer("expires_at", "completed_at")
    def _utc_z(self, value: datetime | None) -> str | None:
        return value.strftime(UTC_TIMESTAMP) if value else None


class SessionPage(BaseModel):
    """GET /connect/session: what the hosted page shows; nothing else of the tenant. With the
    session's id and the origins that may embed it: the page tells only those of a completion."""

    model_config = ConfigDict(defer_build=True)

    session_id: str
    allowed_origins: list[str]
    tenant_name: str
    region: str | None
    reconnect: bool
    expires_at: datetime

    @field_serializer("expires_at")
    def _utc_z(self, value: datetime) -> str:
        return value.strftime(UTC_TIMESTAMP)


class CheckRequested(BaseModel):
    """A check queue message, as the sweep sends it: which connection, never a token."""

    model_config = _STRICT

    tenant_id: str = Field(min_length=1, max_length=256)
    connection_id: ConnectionId


class SweepContinuation(BaseModel):
    """A sweep queue message: where an interrupted sweep goes on (a registry key, no token)."""

    model_config = _STRICT

    tenant: str = Field(min_length=1, max_length=256)
    connection_id: ConnectionId
    hop: int = Field(default=1, ge=1)  # how many continuations led here


class ListQuery(BaseModel):
    """GET /connections' query string."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, defer_build=True)

    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_.-]+$")


class Company(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    name: str


class Connection(BaseModel):
    """A connection as the API shows it: never the token, never the secret's ARN."""

    model_config = ConfigDict(defer_build=True)

    connection_id: str
    provider: Literal["sesame_hr"] = "sesame_hr"
    status: Status
    status_reason: StatusReason | None
    region: str
    company: Company
    token_hint: str
    linked_at: datetime
    checked_at: datetime

    @field_serializer("linked_at", "checked_at")
    def _utc_z(self, value: datetime) -> str:
        return value.strftime(UTC_TIMESTAMP)

    @classmethod
    def of(cls, record: ConnectionRecord, **extra: bool) -> Self:
        """The record as the API shows it; `extra`: the fields of a subclass (LinkAnswer's created)."""
        return cls(
            **extra,
            connection_id=record.connection_id,
            status=record.status,
            status_reason=record.status_reason,
            region=record.region,
            company=Company(id=record.company_id, name=record.company_name),
            token_hint=record.token_hint,
            linked_at=record.linked_at,
            checked_at=record.checked_at,
        )


class LinkAnswer(Connection):
    """The confirmation of a link: the connection, and whether it is new (201) or not (200)."""

    created: bool


class ConnectionList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    connections: list[Connection]
    next_cursor: str | None


class FieldProblem(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the service's `code` and `retryable` members."""

    model_config = ConfigDict(defer_build=True)

    type: str
    title: str
    status: int
    detail: str
    code: str
    retryable: bool
    suggested_region: str | None = None
    errors: list[FieldProblem] | None = None
