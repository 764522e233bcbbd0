"""What the services need from the outside world, as protocols: the adapters (sesame.py, vault.py,
registry.py, queues.py, keyed_hash.py) fit them, and so do the unit tests' fakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sesame_link.core.domain import (
    ConnectionRecord,
    ConnectSession,
    Credential,
    StoredCredential,
    StoredSecret,
)
from sesame_link.core.models import Status, StatusReason

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class CompanyLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


class TokenChecker(Protocol):
    def check(self, token: str, region: str, deadline: float) -> CompanyLike:
        """A link's check: one request, and the wrong-region probe after a 401."""

    def company(self, token: str, region: str, deadline: float) -> CompanyLike:
        """A health check: one request, no probe."""


class Vault(Protocol):
    def store(self, credential: Credential) -> StoredSecret: ...
    def schedule_deletion(self, secret_arn: str, recovery_days: int) -> None: ...


class SecretReader(Protocol):
    def read(self, secret_arn: str) -> StoredCredential | None: ...


class RegistryPage(Protocol):
    @property
    def records(self) -> list[ConnectionRecord]: ...
    @property
    def last_order(self) -> str | None: ...


class DueConnectionLike(Protocol):
    @property
    def tenant(self) -> str: ...
    @property
    def connection_id(self) -> str: ...


class AttemptBudget(Protocol):
    def reserve(self, tenant: str) -> object | None:
        """Spend one of the tenant's unsuccessful attempts before Sesame is asked, or raise
        LinkAttemptsExhausted; None when the budget could not be asked (the link goes on)."""

    def give_back(self, reservation: object) -> None:
        """Return a reserved attempt: the link succeeded, or failed for no fault of the token."""


class SessionStore(Protocol):
    """Connect sessions, each found by its token's keyed hash (`key`) or by its id."""

    def create(self, session: ConnectSession, key: str) -> None: ...
    def find(self, key: str) -> ConnectSession | None: ...
    def get(self, session_id: str) -> tuple[ConnectSession, str] | None:
        """The session and its key."""

    def claim(self, key: str, now: datetime, until: datetime) -> bool:
        """Take the open, unexpired, unexhausted session for one link attempt until `until`,
        unless another attempt holds it (a conditional write: of two, exactly one claims)."""

    def release(self, key: str, failed: bool) -> None:
        """End a claim without completing; `failed`: a conclusive failure, counted."""

    def complete(self, key: str, connection_id: str, at: datetime) -> None: ...
    def revoke(self, key: str) -> None:
        """Revoke an open session; a completed one stays completed."""


class Registry(Protocol):
    def save_link(self, record: ConnectionRecord, new_version: bool) -> ConnectionRecord | None: ...
    def get(self, tenant: str, connection_id: str) -> ConnectionRecord | None: ...
    def count(self, tenant: str, at_most: int) -> int:
        """The tenant's connections, counted up to `at_most`."""

    def claim_check(self, tenant: str, connection_id: str, at: datetime, since: datetime) -> bool:
        """Mark a live check as started at `at`, unless one started after `since` or there is no
        such connection (then False)."""

    def page(self, tenant: str, limit: int, after_order: str | None) -> RegistryPage: ...
    def delete(self, tenant: str, connection_id: str) -> bool: ...
    def record_check(
        self,
        tenant: str,
        connection_id: str,
        verdict: tuple[Status, StatusReason | None],
        at: datetime,
        linked_at: datetime,
    ) -> ConnectionRecord | None: ...
    def due(
        self, checked_before: datetime | None, after: DueConnectionLike | None, limit: int
    ) -> tuple[Sequence[DueConnectionLike], DueConnectionLike | None]:
        """One page of connections due for a check, scanning on after `after`; with the position
        to go on from, or None at the end."""


class Sealer(Protocol):
    def digest(self, purpose: str, *parts: str) -> bytes: ...


class CheckQueue(Protocol):
    def send(self, connections: Sequence[DueConnectionLike]) -> None:
        """Queue a check of each (at most 10), or raise."""


class SweepContinuations(Protocol):
    def send(self, after: DueConnectionLike, hop: int) -> None:
        """Ask for another sweep run, continuation number `hop`, that goes on after the registry
        key `after`."""
