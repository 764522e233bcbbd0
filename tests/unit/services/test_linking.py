from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from sesame_link.adapters.sesame import SesameCompany
from sesame_link.core import deadline, errors
from sesame_link.core.domain import connection_id, parse_tenant, tenant_key
from sesame_link.core.models import LinkRequest
from sesame_link.services.linking import (
    SESAME_BUDGET_SECONDS,
    STORAGE_RESERVE_SECONDS,
    LinkLimits,
    LinkService,
)
from tests.support import canary
from tests.support.fakes import DEFAULT_COMPANY, Context, FakeBudget, FakeRegistry, FakeSesame, FakeVault

START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def link_request(token: str, region: str = "eu1") -> LinkRequest:
    return LinkRequest.model_validate({"token": token, "region": region})


def minutes() -> object:
    ticks = count()
    return lambda: START + timedelta(minutes=next(ticks))


def service(
    sesame: FakeSesame,
    vault: FakeVault,
    registry: FakeRegistry,
    budget: FakeBudget | None = None,
    max_connections: int = 20,
) -> LinkService:
    limits = LinkLimits(budget or FakeBudget(), max_connections)
    return LinkService(sesame, vault, registry, limits, clock=minutes())  # type: ignore[arg-type]


def test_link_stores_the_credential_and_registers_the_connection_without_the_token() -> None:
    token, sesame, vault, registry = canary.new_token(), FakeSesame(), FakeVault(), FakeRegistry()
    result = service(sesame, vault, registry).link(link_request(token), "tenant-a")

    [stored] = vault.secrets.values()
    assert (stored.token, stored.region, stored.company_name) == (token, "eu1", "Acme")
    [entry] = registry.entries.values()
    assert entry == result.connection
    assert token not in repr(entry)
    assert entry.token_hint == "…" + token[-4:]
    assert (entry.status, entry.status_reason) == ("active", None)
    assert entry.linked_at == entry.checked_at == START
    assert entry.secret_arn == next(iter(vault.secrets))
    assert result.created is True


def test_linking_again_is_the_same_connection_and_keeps_linked_at_when_nothing_changed() -> None:
    token, sesame, vault, registry = canary.new_token(), FakeSesame(), FakeVault(), FakeRegistry()
    links = service(sesame, vault, registry)
    first = links.link(link_request(token), "tenant-a")
    again = links.link(link_request(token), "tenant-a")

    assert again.connection.connection_id == first.connection.connection_id
    assert (first.created, again.created) == (True, False)
    assert again.connection.linked_at == first.connection.linked_at == START
    assert again.connection.checked_at == START + timedelta(minutes=1)


def test_another_token_for_the_company_moves_linked_at() -> None:
    sesame, vault, registry = FakeSesame(), FakeVault(), FakeRegistry()
    links = service(sesame, vault, registry)
    links.link(link_request(canary.new_token()), "tenant-a")
    rotated = links.link(link_request(canary.new_token()), "tenant-a")
    assert rotated.created is False
    assert rotated.connection.linked_at == START + timedelta(minutes=1)


def test_a_link_after_an_unlink_is_created_again() -> None:
    token, sesame, vault, registry = canary.new_token(), FakeSesame(), FakeVault(), FakeRegistry()
    links = service(sesame, vault, registry)
    first = links.link(link_request(token), "tenant-a")
    registry.delete("tenant-a", first.connection.connection_id)
    again = links.link(link_request(token), "tenant-a")
    assert again.created is True
    assert again.connection.connection_id == first.connection.connection_id
    assert again.connection.linked_at == START + timedelta(minutes=1)


def test_nothing_is_stored_when_sesame_says_no() -> None:
    sesame, vault, registry = FakeSesame(error=errors.InvalidToken("no")), FakeVault(), FakeRegistry()
    with pytest.raises(errors.InvalidToken):
        service(sesame, vault, registry).link(link_request(canary.new_token()), "tenant-a")
    assert vault.secrets == {}
    assert registry.entries == {}


@pytest.mark.parametrize(
    ("remaining", "expected_budget"),
    [
        (15.0, SESAME_BUDGET_SECONDS),
        (8.0, 8.0 - deadline.ANSWER_RESERVE_SECONDS - STORAGE_RESERVE_SECONDS),
        (4.0, 4.0 - deadline.ANSWER_RESERVE_SECONDS - STORAGE_RESERVE_SECONDS),
    ],
)
def test_sesame_budget_is_bounded_by_the_time_left(remaining: float, expected_budget: float) -> None:
    sesame = FakeSesame()
    deadline.start(Context(remaining))
    before = time.monotonic()
    service(sesame, FakeVault(), FakeRegistry()).link(link_request(canary.new_token()), "t")
    assert sesame.calls[0][2] - before == pytest.approx(expected_budget, abs=0.05)


def test_connection_id_is_stable_per_tenant_and_company_and_reveals_neither() -> None:
    company = "c0ffee00-0000-4000-8000-000000000001"
    first = connection_id("tenant-a", company)
    assert first == connection_id("tenant-a", company)
    assert first != connection_id("tenant-b", company)
    assert first != connection_id("tenant-a", company[:-1] + "2")
    assert "tenant-a" not in first
    assert company not in first
    assert company.replace("-", "") not in first


def test_tenant_key_is_injective_and_name_safe() -> None:
    tenants = ["auth0|123", "auth0_7c123", "a/b", "a_2fb", "émile", "x y", "plain-Tenant.1@corp"]
    keys = [tenant_key(tenant) for tenant in tenants]
    assert len(set(keys)) == len(tenants)
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@-+=_")
    assert all(set(key) <= allowed for key in keys)
    assert tenant_key("plain-Tenant.1@corp") == "plain-Tenant.1@corp"


def test_names_already_deployed_never_change() -> None:
    """Golden values: secret names and connection ids of linked accounts are built from these, so
    a change would orphan every stored secret and rename every connection on the next deploy."""
    assert tenant_key("auth0|5f7c_é x/y") == "auth0_7c5f7c_5f_c3_a9_20x_2fy"
    company = "c0ffee00-0000-4000-8000-000000000001"
    assert connection_id("auth0|1", company) == "conn_9324a7c661335be7a8f19b28df7d2047"


@pytest.mark.parametrize("claim", [None, "", 42, "line\nbreak", "x" * 300, "é" * 100])
def test_parse_tenant_rejects_what_cannot_name_a_tenant(claim: object) -> None:
    with pytest.raises(errors.Unauthenticated):
        parse_tenant(claim)


def test_parse_tenant_accepts_usual_subjects() -> None:
    assert parse_tenant("auth0|5f7c8ec7c33c6c004bbafe82") == "auth0|5f7c8ec7c33c6c004bbafe82"


@pytest.mark.parametrize(
    "refusal",
    [
        errors.InvalidToken("no"),
        errors.WrongRegion("no", "eu4"),
        errors.TokenForbidden("no"),
        errors.UnknownRegion("no"),
    ],
)
def test_a_refused_token_spends_an_attempt_and_past_the_budget_sesame_is_not_asked(
    refusal: errors.LinkError,
) -> None:
    sesame, budget = FakeSesame(error=refusal), FakeBudget(limit=2)
    links = service(sesame, FakeVault(), FakeRegistry(), budget)
    for _ in range(2):
        with pytest.raises(type(refusal)):
            links.link(link_request(canary.new_token()), "tenant-a")
    with pytest.raises(errors.LinkAttemptsExhausted):
        links.link(link_request(canary.new_token()), "tenant-a")
    assert len(sesame.calls) == 2
    assert budget.spent == {"tenant-a": 2}


@pytest.mark.parametrize(
    "failure",
    [
        None,
        errors.SesameUnavailable("down"),
        errors.SesameTimeout("slow"),
        errors.SesameRateLimited("busy", None),
        errors.StorageUnavailable("later"),
    ],
)
def test_a_success_or_a_transient_failure_gives_the_attempt_back(failure: errors.LinkError | None) -> None:
    budget = FakeBudget(limit=1)
    links = service(FakeSesame(error=failure), FakeVault(), FakeRegistry(), budget)
    for _ in range(3):  # more than the budget: each attempt came back
        if failure is None:
            links.link(link_request(canary.new_token()), "tenant-a")
            continue
        with pytest.raises(type(failure)):
            links.link(link_request(canary.new_token()), "tenant-a")
    assert budget.spent == {"tenant-a": 0}


def test_one_tenant_never_spends_another_tenants_budget() -> None:
    budget = FakeBudget(limit=1)
    links = service(FakeSesame(error=errors.InvalidToken("no")), FakeVault(), FakeRegistry(), budget)
    with pytest.raises(errors.InvalidToken):
        links.link(link_request(canary.new_token()), "tenant-a")
    with pytest.raises(errors.InvalidToken):
        links.link(link_request(canary.new_token()), "tenant-b")


def test_an_unavailable_budget_lets_the_link_go_on() -> None:
    budget = FakeBudget(limit=0, unavailable=True)
    result = service(FakeSesame(), FakeVault(), FakeRegistry(), budget).link(
        link_request(canary.new_token()), "tenant-a"
    )
    assert result.created


def test_a_new_connection_beyond_the_cap_is_refused_and_nothing_stored_but_a_relink_is_not() -> None:
    registry, vault, budget = FakeRegistry(), FakeVault(), FakeBudget()
    first_company, second_company = DEFAULT_COMPANY, SesameCompany(id="c0ffee00-2", name="Other")
    token = canary.new_token()
    service(FakeSesame(answer=first_company), vault, registry, budget, max_connections=1).link(
        link_request(token), "tenant-a"
    )
    beyond = service(FakeSesame(answer=second_company), vault, registry, budget, max_connections=1)
    with pytest.raises(errors.ConnectionLimitReached):
        beyond.link(link_request(canary.new_token()), "tenant-a")
    assert len(vault.secrets) == 1
    assert budget.spent == {"tenant-a": 1}, "one connection too many spends an attempt"
    again = service(FakeSesame(answer=first_company), vault, registry, budget, max_connections=1)
    assert again.link(link_request(canary.new_token()), "tenant-a").created is False
    other_tenant = service(FakeSesame(answer=second_company), vault, registry, budget, max_connections=1)
    assert other_tenant.link(link_request(canary.new_token()), "tenant-b").created
