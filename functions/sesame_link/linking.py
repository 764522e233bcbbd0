"""The link service: check a token with Sesame, store it, confirm. No HTTP or AWS here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sesame_link import errors
from sesame_link.models import Company, Connection, LinkRequest

# Time kept back from the Sesame check for storing the secret and answering.
STORAGE_RESERVE_SECONDS = 4.0
SESAME_BUDGET_SECONDS = 8.0
MAX_TENANT_KEY_CHARS = 256
_TENANT_KEY_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@-+=")
_CONNECTION_NAMESPACE = uuid.UUID("6f1c1f7e-4f5b-4d43-9a57-2b1d1bb6a7c1")


@dataclass(frozen=True)
class Credential:
    tenant: str
    region: str
    company_id: str
    company_name: str
    token: str
    linked_at: datetime


@dataclass(frozen=True)
class StoredSecret:
    arn: str
    created: bool


class CompanyLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


class TokenChecker(Protocol):
    def check(self, token: str, region: str, deadline: float) -> CompanyLike: ...


class Vault(Protocol):
    def store(self, credential: Credential) -> StoredSecret: ...


@dataclass(frozen=True)
class LinkResult:
    connection: Connection
    secret_arn: str


class LinkService:
    def __init__(
        self,
        sesame: TokenChecker,
        vault: Vault,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sesame = sesame
        self._vault = vault
        self._clock = clock

    def link(self, request: LinkRequest, tenant: str, remaining_seconds: float) -> LinkResult:
        token = request.token.get_secret_value()
        budget = min(SESAME_BUDGET_SECONDS, remaining_seconds - STORAGE_RESERVE_SECONDS)
        company = self._sesame.check(token, request.region, time.monotonic() + budget)
        linked_at = self._clock().replace(microsecond=0)
        stored = self._vault.store(
            Credential(tenant, request.region, company.id, company.name, token, linked_at)
        )
        connection = Connection(
            connection_id=connection_id(tenant, company.id),
            region=request.region,
            company=Company(id=company.id, name=company.name),
            token_hint=token_hint(token),
            created=stored.created,
            linked_at=linked_at,
        )
        return LinkResult(connection=connection, secret_arn=stored.arn)


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
