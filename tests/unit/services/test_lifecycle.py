"""The lifecycle services with in-memory adapters: connections (cursors, unlink order), checks
(the verdict table), the sweep (batches, the deadline, continuations)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from sesame_link.adapters.sesame import SesameCompany
from sesame_link.core import deadline, errors
from sesame_link.core.domain import ConnectionRecord, Credential
from sesame_link.core.ports import DueConnectionLike
from sesame_link.services.checking import CheckService
from sesame_link.services.connections import ConnectionsService
from sesame_link.services.sweeping import (
    BATCH_SIZE,
    MAX_HOPS,
    PAGE_SIZE,
    STEP_WORST_SECONDS,
    SweepResult,
    SweepService,
)
from tests.support.fakes import (
    DEFAULT_COMPANY,
    Context,
    Due,
    FakeCheckQueue,
    FakeContinuations,
    FakeRegistry,
    FakeSealer,
    FakeSesame,
    FakeVault,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def record(tenant: str, index: int, checked_hours_ago: float = 0, secret: str = "") -> ConnectionRecord:
    return ConnectionRecord(
        tenant=tenant,
        connection_id=f"conn_{index:032x}",
        region="eu1",
        company_id=DEFAULT_COMPANY.id,
        company_name="Acme",
        token_hint="…abcd",
        status="active",
        status_reason=None,
        linked_at=NOW - timedelta(minutes=index),
        checked_at=NOW - timedelta(hours=checked_hours_ago),
        secret_arn=secret or f"arn:fake:{tenant}/{index}",
    )


def registry_of(*records: ConnectionRecord) -> FakeRegistry:
    return FakeRegistry({(r.tenant, r.connection_id): r for r in records})


def test_pages_follow_sealed_cursors_to_the_end() -> None:
    registry = registry_of(*(record("t", index) for index in range(7)))
    service = ConnectionsService(registry, FakeVault(), FakeSealer(), recovery_days=7)
    seen, cursor = [], None
    while True:
        page, cursor = service.list("t", 3, cursor)
        seen += [r.connection_id for r in page]
        if cursor is None:
            break
    assert seen == [f"conn_{index:032x}" for index in range(7)]


def test_a_cursor_of_another_tenant_is_invalid() -> None:
    registry = registry_of(*(record(tenant, index) for tenant in ("a", "b") for index in range(3)))
    service = ConnectionsService(registry, FakeVault(), FakeSealer(), recovery_days=7)
    _, cursor = service.list("a", 1, None)
    assert cursor is not None
    with pytest.raises(errors.InvalidRequest):
        service.list("b", 1, cursor)


def test_unlink_deletes_the_secret_before_the_entry() -> None:
    vault = FakeVault()
    entry = record("t", 1)
    registry = registry_of(entry)
    ConnectionsService(registry, vault, FakeSealer(), recovery_days=12).unlink("t", entry.connection_id)
    assert vault.deleted == {entry.secret_arn: 12}
    assert registry.entries == {}


def test_an_unlink_whose_secret_deletion_fails_leaves_the_connection_listed() -> None:
    class FailingVault(FakeVault):
        def schedule_deletion(self, secret_arn: str, recovery_days: int) -> None:
            raise errors.StorageUnavailable("throttled")

    entry = record("t", 1)
    registry = registry_of(entry)
    with pytest.raises(errors.StorageUnavailable):
        ConnectionsService(registry, FailingVault(), FakeSealer(), recovery_days=7).unlink(
            "t", entry.connection_id
        )
    assert list(registry.entries.values()) == [entry]


def checked(answer: SesameCompany | None = None, error: errors.LinkError | None = None) -> ConnectionRecord:
    vault = FakeVault()
    stored = vault.store(Credential("t", "eu1", DEFAULT_COMPANY.id, "Acme", "token-" + "0" * 20))
    entry = record("t", 1, secret=stored.arn)
    registry = registry_of(entry)
    sesame = FakeSesame(answer=answer or DEFAULT_COMPANY, error=error)
    result = CheckService(sesame, vault, registry, clock=lambda: NOW).check("t", entry.connection_id)
    assert len(sesame.calls) == 1
    return result.after


def test_check_now_asks_sesame_once_per_cooldown_and_answers_the_connection_within_it() -> None:
    vault = FakeVault()
    stored = vault.store(Credential("t", "eu1", DEFAULT_COMPANY.id, "Acme", "token-" + "0" * 20))
    entry = record("t", 1, secret=stored.arn)
    registry, sesame = registry_of(entry), FakeSesame()
    # One reading to claim, one for the verdict; the last for the unknown connection.
    clock = iter([NOW, NOW, *[NOW + timedelta(seconds=s) for s in (59, 60, 60, 61)]])
    checks = CheckService(sesame, vault, registry, cooldown_seconds=60, clock=lambda: next(clock))
    first = checks.check_on_request("t", entry.connection_id)
    within = checks.check_on_request("t", entry.connection_id)
    after = checks.check_on_request("t", entry.connection_id)
    assert (first.asked_sesame, within.asked_sesame, after.asked_sesame) == (True, False, True)
    assert within.after == first.after, "the connection as the last live check left it"
    assert len(sesame.calls) == 2
    with pytest.raises(errors.ConnectionNotFound):
        checks.check_on_request("t", "conn_" + "f" * 32)


def test_a_cooldown_of_zero_checks_every_time_and_the_queue_door_has_none() -> None:
    vault = FakeVault()
    stored = vault.store(Credential("t", "eu1", DEFAULT_COMPANY.id, "Acme", "token-" + "0" * 20))
    entry = record("t", 1, secret=stored.arn)
    registry, sesame = registry_of(entry), FakeSesame()
    CheckService(sesame, vault, registry, clock=lambda: NOW).check_on_request("t", entry.connection_id)
    CheckService(sesame, vault, registry, clock=lambda: NOW).check_on_request("t", entry.connection_id)
    cooled = CheckService(sesame, vault, registry, cooldown_seconds=60, clock=lambda: NOW)
    cooled.check_on_request("t", entry.connection_id)
    cooled.check("t", entry.connection_id)
    assert len(sesame.calls) == 4


@pytest.mark.parametrize(
    ("answer", "error", "status", "reason"),
    [
        (None, None, "active", None),
        (SesameCompany(id="another", name="Other"), None, "broken", "company_changed"),
        (None, errors.InvalidToken("401"), "broken", "invalid_token"),
        (None, errors.TokenForbidden("403"), "broken", "token_forbidden"),
    ],
)
def test_conclusive_verdicts(
    answer: SesameCompany | None, error: errors.LinkError | None, status: str, reason: str | None
) -> None:
    after = checked(answer, error)
    assert (after.status, after.status_reason, after.checked_at) == (status, reason, NOW)


@pytest.mark.parametrize(
    "error",
    [
        errors.SesameRateLimited("429", "3"),
        errors.SesameUnavailable("500"),
        errors.SesameTimeout("slow"),
        errors.UnknownRegion("no such name"),
    ],
)
def test_inconclusive_answers_raise_retryable_errors(error: errors.LinkError) -> None:
    with pytest.raises(errors.LinkError) as caught:
        checked(error=error)
    assert caught.value.retryable


def sweep(
    registry: FakeRegistry, queue: FakeCheckQueue, continuations: FakeContinuations, hours: int
) -> SweepService:
    return SweepService(registry, queue, continuations, max_age_hours=hours, clock=lambda: NOW)


def test_the_sweep_queues_due_connections_in_batches_of_ten() -> None:
    registry = registry_of(*(record("t", index, checked_hours_ago=index % 48) for index in range(1200)))
    queue, continuations = FakeCheckQueue(), FakeContinuations()
    result = sweep(registry, queue, continuations, hours=20).sweep()

    due = {Due("t", f"conn_{index:032x}") for index in range(1200) if index % 48 > 20}
    assert set(queue.sent) == due
    assert len(queue.sent) == len(due) == result.queued
    # Full batches but for the last of each scan page (1,200 entries: three pages of at most 500).
    assert max(queue.batch_sizes) == BATCH_SIZE
    assert sum(size < BATCH_SIZE for size in queue.batch_sizes) <= registry.scans
    assert (result.continued, continuations.sent) == (False, [])


def test_zero_hours_sweeps_every_connection() -> None:
    registry = registry_of(*(record("t", index) for index in range(15)))
    queue = FakeCheckQueue()
    assert sweep(registry, queue, FakeContinuations(), hours=0).sweep().queued == 15


def test_a_sweep_without_time_for_a_step_asks_to_go_on_after_the_last_one_queued() -> None:
    registry = registry_of(*(record("t", index, checked_hours_ago=30) for index in range(40)))
    queue, continuations = FakeCheckQueue(), FakeContinuations()
    service = sweep(registry, queue, continuations, hours=20)
    deadline.start(Context(STEP_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS - 0.1))
    with pytest.raises(TimeoutError):
        service.sweep()  # not even the first step fits, and there is nowhere to go on from
    last = Due("t", f"conn_{5:032x}")
    result = service.sweep(last)
    assert result.continued is True
    assert continuations.sent == [last]
    assert continuations.hops == [1]
    assert queue.sent == []


def test_each_continuation_counts_its_hop_and_the_last_allowed_one_cuts_the_sweep() -> None:
    """Lambda stops an SQS -> Lambda -> SQS chain after about 16 invocations unless the function
    allows recursive loops (Lambda developer guide, "Use Lambda recursive loop detection to
    prevent infinite loops"): the sweep allows them and bounds the chain itself, loudly."""
    registry = registry_of(*(record("t", index, checked_hours_ago=30) for index in range(40)))
    queue, continuations = FakeCheckQueue(), FakeContinuations()
    service = sweep(registry, queue, continuations, hours=20)
    deadline.start(Context(STEP_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS - 0.1))
    last = Due("t", f"conn_{5:032x}")

    assert service.sweep(last, hop=MAX_HOPS - 1) == SweepResult(queued=0, continued=True)
    assert continuations.hops == [MAX_HOPS]
    assert service.sweep(last, hop=MAX_HOPS) == SweepResult(queued=0, continued=False, cut=True)
    assert continuations.hops == [MAX_HOPS]


class ShortOfTimeAfter(FakeCheckQueue):
    """A check queue after whose `sends`-th batch no step of the sweep fits in the time left."""

    def __init__(self, sends: int) -> None:
        super().__init__()
        self._sends = sends

    def send(self, connections: Sequence[DueConnectionLike]) -> None:
        super().send(connections)
        if len(self.batch_sizes) == self._sends:
            deadline.start(Context(STEP_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS - 0.1))


def test_a_sweep_out_of_time_between_two_scan_pages_goes_on_after_the_first_page() -> None:
    """The first page's last entry is not due: the sweep goes on after it, not after the last one
    it queued (which would scan that stretch again)."""
    entries = [
        record("t", index, checked_hours_ago=30 if index < PAGE_SIZE - 1 else 1) for index in range(700)
    ]
    registry = registry_of(*entries)
    first_page_batches = -(-(PAGE_SIZE - 1) // BATCH_SIZE)
    queue, continuations = ShortOfTimeAfter(first_page_batches), FakeContinuations()
    deadline.start(Context(900))

    result = sweep(registry, queue, continuations, hours=20).sweep()

    assert (result.queued, result.continued) == (PAGE_SIZE - 1, True)
    assert len(queue.sent) == PAGE_SIZE - 1
    page_end = sorted(registry.entries)[PAGE_SIZE - 1]
    assert continuations.sent == [Due(*page_end)]
    assert registry.scans == 1
