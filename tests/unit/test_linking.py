from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from sesame_link import errors
from sesame_link.linking import (
    SESAME_BUDGET_SECONDS,
    STORAGE_RESERVE_SECONDS,
    Credential,
    LinkService,
    StoredSecret,
    connection_id,
    parse_tenant,
    tenant_key,
)
from sesame_link.models import LinkRequest
from sesame_link.sesame import SesameCompany
from tests import canary

NOW = datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)


@dataclass
class FakeSesame:
    company: SesameCompany = field(
        default_factory=lambda: SesameCompany(id="c0ffee00-0000-4000-8000-000000000001", name="Acme")
    )
    error: errors.LinkError | None = None
    deadlines: list[float] = field(default_factory=list)

    def check(self, token: str, region: str, deadline: float) -> SesameCompany:
        self.deadlines.append(deadline)
        if self.error:
            raise self.error
        return self.company


@dataclass
class FakeVault:
    stored: dict[tuple[str, str], Credential] = field(default_factory=dict)

    def store(self, credential: Credential) -> StoredSecret:
        key = (credential.tenant, credential.company_id)
        created = key not in self.stored
        self.stored[key] = credential
        return StoredSecret(arn=f"arn:fake:{key}", created=created)


def link_request(token: str, region: str = "eu1") -> LinkRequest:
    return LinkRequest.model_validate({"token": token, "region": region})


def service(sesame: FakeSesame, vault: FakeVault) -> LinkService:
    return LinkService(sesame, vault, clock=lambda: NOW)


def test_link_stores_the_credential_and_confirms_without_the_token() -> None:
    token, sesame, vault = canary.new_token(), FakeSesame(), FakeVault()
    result = service(sesame, vault).link(link_request(token), "tenant-a", remaining_seconds=15)

    stored = vault.stored[("tenant-a", sesame.company.id)]
    assert (stored.token, stored.region, stored.company_name) == (token, "eu1", "Acme")
    assert stored.linked_at == NOW.replace(microsecond=0)
    body = result.connection.model_dump_json()
    assert token not in body
    assert result.connection.token_hint == "…" + token[-4:]
    assert result.connection.created is True
    assert '"linked_at":"2026-11-28T10:00:00Z"' in body


def test_relink_is_the_same_connection_not_a_new_one() -> None:
    sesame, vault = FakeSesame(), FakeVault()
    first = service(sesame, vault).link(link_request(canary.new_token()), "tenant-a", 15)
    second = service(sesame, vault).link(link_request(canary.new_token()), "tenant-a", 15)
    assert second.connection.connection_id == first.connection.connection_id
    assert (first.connection.created, second.connection.created) == (True, False)


def test_nothing_is_stored_when_sesame_says_no() -> None:
    sesame, vault = FakeSesame(error=errors.InvalidToken("no")), FakeVault()
    with pytest.raises(errors.InvalidToken):
        service(sesame, vault).link(link_request(canary.new_token()), "tenant-a", 15)
    assert vault.stored == {}


@pytest.mark.parametrize(
    ("remaining", "expected_budget"),
    [
        (15.0, SESAME_BUDGET_SECONDS),
        (6.0, 6.0 - STORAGE_RESERVE_SECONDS),
        (3.0, 3.0 - STORAGE_RESERVE_SECONDS),
    ],
)
def test_sesame_budget_is_bounded_by_the_remaining_time(remaining: float, expected_budget: float) -> None:
    sesame = FakeSesame()
    before = time.monotonic()
    service(sesame, FakeVault()).link(link_request(canary.new_token()), "t", remaining)
    assert sesame.deadlines[0] - before == pytest.approx(expected_budget, abs=0.05)


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


@pytest.mark.parametrize("claim", [None, "", 42, "line\nbreak", "x" * 300, "é" * 100])
def test_parse_tenant_rejects_what_cannot_name_a_tenant(claim: object) -> None:
    with pytest.raises(errors.Unauthenticated):
        parse_tenant(claim)


def test_parse_tenant_accepts_usual_subjects() -> None:
    assert parse_tenant("auth0|5f7c8ec7c33c6c004bbafe82") == "auth0|5f7c8ec7c33c6c004bbafe82"
