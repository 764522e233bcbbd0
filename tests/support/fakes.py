"""In-memory stand-ins for the adapters, for unit tests of the services. They behave like the
real ones where the services depend on it (created or not, conditional writes, paging order)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sesame_link.adapters.sesame import SesameCompany
from sesame_link.core import errors
from sesame_link.core.domain import ConnectionRecord, Credential, StoredCredential, StoredSecret, timestamp
from sesame_link.core.models import Status, StatusReason
from sesame_link.core.ports import DueConnectionLike

DEFAULT_COMPANY = SesameCompany(id="c0ffee00-0000-4000-8000-000000000001", name="Acme")


class Context:
    """A Lambda context with `seconds` left, for deadline.start()."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@dataclass
class FakeSesame:
    """Answers every token with `answer`, or raises `error`; records each call."""

    answer: SesameCompany = DEFAULT_COMPANY
    error: errors.LinkError | None = None
    calls: list[tuple[str, str, float]] = field(default_factory=list)

    def check(self, token: str, region: str, deadline: float) -> SesameCompany:
        return self.company_of(token, region, deadline)

    def company(self, token: str, region: str, deadline: float) -> SesameCompany:
        return self.company_of(token, region, deadline)

    def company_of(self, token: str, region: str, deadline: float) -> SesameCompany:
        self.calls.append((token, region, deadline))
        if self.error:
            raise self.error
        return self.answer


@dataclass
class FakeVault:
    secrets: dict[str, Credential] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)  # arn -> recovery days

    def store(self, credential: Credential) -> StoredSecret:
        arn = f"arn:fake:{credential.tenant}/{credential.company_id}"
        changed = self.secrets.get(arn) != credential
        self.secrets[arn] = credential
        self.deleted.pop(arn, None)
        return StoredSecret(arn=arn, changed=changed)

    def read(self, secret_arn: str) -> StoredCredential | None:
        stored = self.secrets.get(secret_arn)
        if stored is None or secret_arn in self.deleted:
            return None
        return StoredCredential(token=stored.token, region=stored.region, company_id=stored.company_id)

    def schedule_deletion(self, secret_arn: str, recovery_days: int) -> None:
        self.deleted[secret_arn] = recovery_days


@dataclass(frozen=True)
class FakePage:
    records: list[ConnectionRecord]
    last_order: str | None


@dataclass(frozen=True)
class Due:
    tenant: str
    connection_id: str


@dataclass
class FakeRegistry:
    entries: dict[tuple[str, str], ConnectionRecord] = field(default_factory=dict)
    checks_started: dict[tuple[str, str], datetime] = field(default_factory=dict)
    scans: int = 0

    def save_link(self, record: ConnectionRecord, new_version: bool) -> ConnectionRecord | None:
        key = (record.tenant, record.connection_id)
        before = self.entries.get(key)
        kept = before is not None and not new_version
        self.entries[key] = replace(record, linked_at=before.linked_at) if kept and before else record
        return before

    def get(self, tenant: str, connection_id: str) -> ConnectionRecord | None:
        return self.entries.get((tenant, connection_id))

    def count(self, tenant: str, at_most: int) -> int:
        return min(at_most, sum(owner == tenant for owner, _ in self.entries))

    def claim_check(self, tenant: str, connection_id: str, at: datetime, since: datetime) -> bool:
        if (tenant, connection_id) not in self.entries:
            return False
        started = self.checks_started.get((tenant, connection_id))
        if started is not None and started > since:
            return False
        self.checks_started[(tenant, connection_id)] = at
        return True

    def page(self, tenant: str, limit: int, after_order: str | None) -> FakePage:
        ordered = sorted((_order(r), r) for (owner, _), r in self.entries.items() if owner == tenant)
        ordered.reverse()
        remaining = [(order, r) for order, r in ordered if after_order is None or order < after_order]
        page = remaining[:limit]
        return FakePage([r for _, r in page], page[-1][0] if len(remaining) > limit else None)

    def delete(self, tenant: str, connection_id: str) -> bool:
        return self.entries.pop((tenant, connection_id), None) is not None

    def record_check(
        self,
        tenant: str,
        connection_id: str,
        verdict: tuple[Status, StatusReason | None],
        at: datetime,
        linked_at: datetime,
    ) -> ConnectionRecord | None:
        before = self.entries.get((tenant, connection_id))
        if before is None or before.linked_at != linked_at:
            return None
        self.entries[(tenant, connection_id)] = before.checked(*verdict, at)
        return before

    def due(
        self, checked_before: datetime | None, after: DueConnectionLike | None, limit: int
    ) -> tuple[list[Due], Due | None]:
        self.scans += 1
        keys = sorted(self.entries)
        start = 0 if after is None else keys.index((after.tenant, after.connection_id)) + 1
        window = keys[start : start + limit]
        due = [
            Due(*key)
            for key in window
            if checked_before is None or self.entries[key].checked_at < checked_before
        ]
        return due, Due(*window[-1]) if start + limit < len(keys) else None


@dataclass
class FakeBudget:
    """`limit` unsuccessful attempts per tenant, in one window that never ends."""

    limit: int = 5
    spent: dict[str, int] = field(default_factory=dict)
    unavailable: bool = False

    def reserve(self, tenant: str) -> str | None:
        if self.unavailable:
            return None
        if self.spent.get(tenant, 0) >= self.limit:
            raise errors.LinkAttemptsExhausted("spent", retry_after_seconds=60)
        self.spent[tenant] = self.spent.get(tenant, 0) + 1
        return tenant

    def give_back(self, reservation: object) -> None:
        assert isinstance(reservation, str)
        self.spent[reservation] -= 1


@dataclass
class FakeSealer:
    def digest(self, purpose: str, *parts: str) -> bytes:
        return hashlib.sha256("\x00".join((purpose, *parts)).encode()).digest()


@dataclass
class FakeCheckQueue:
    sent: list[Due] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)

    def send(self, connections: Sequence[DueConnectionLike]) -> None:
        assert 0 < len(connections) <= 10, "SendMessageBatch takes 1 to 10 entries"
        self.batch_sizes.append(len(connections))
        self.sent += [Due(c.tenant, c.connection_id) for c in connections]


@dataclass
class FakeContinuations:
    sent: list[Due] = field(default_factory=list)
    hops: list[int] = field(default_factory=list)

    def send(self, after: DueConnectionLike, hop: int) -> None:
        self.sent.append(Due(after.tenant, after.connection_id))
        self.hops.append(hop)


def _order(record: ConnectionRecord) -> str:
    return f"{timestamp(record.linked_at)}#{record.connection_id}"
