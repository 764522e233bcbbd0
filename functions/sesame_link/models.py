"""Pydantic models at the edges: what comes in, what goes out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    field_serializer,
)

REGION_PATTERN = r"^[a-z]{2,6}[0-9]{1,2}$"
UTC_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"  # linked_at, in answers and in stored secrets alike
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
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


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

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, hide_input_in_errors=True)

    detail_type: Literal["Sesame Credential Submitted"] = Field(alias="detail-type")
    detail: ProvisioningDetail


class Company(BaseModel):
    id: str
    name: str


class Connection(BaseModel):
    """The confirmation a customer sees: never the token, never the secret's ARN."""

    connection_id: str
    provider: Literal["sesame_hr"] = "sesame_hr"
    status: Literal["active"] = "active"
    region: str
    company: Company
    token_hint: str
    created: bool
    linked_at: datetime

    @field_serializer("linked_at")
    def _utc_z(self, value: datetime) -> str:
        return value.strftime(UTC_TIMESTAMP)


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the service's `code` and `retryable` members."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    retryable: bool
    suggested_region: str | None = None
    errors: list[FieldProblem] | None = None
