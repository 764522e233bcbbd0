"""Pydantic models at the edges: what comes in, what goes out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator

REGION_PATTERN = r"^[a-z]{2,6}[0-9]{1,2}$"
_TOKEN = re.compile(r"[!-~]{16,512}")


class LinkRequest(BaseModel):
    """What a customer submits. The region becomes part of a hostname: nothing else may pass."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)

    token: SecretStr
    region: str = Field(pattern=REGION_PATTERN)

    @field_validator("token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if not isinstance(value, str) or not _TOKEN.fullmatch(value):
            raise ValueError("must be 16 to 512 printable characters without spaces")
        return value


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
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")


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
