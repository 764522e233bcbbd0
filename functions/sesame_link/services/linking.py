"""The link service: check a token with Sesame, store it, register the connection. No HTTP or
AWS here; the adapters come in through the protocols below."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sesame_link.core import deadline, errors
from sesame_link.core.domain import ConnectionRecord, Credential, connection_id, token_hint
from sesame_link.core.models import LinkRequest
from sesame_link.core.ports import AttemptBudget, Clock, Registry, TokenChecker, Vault, utc_now

# The Sesame check of a link gets at most this, and leaves the storage reserve to what follows:
# one AWS attempt's worst case (aws.ATTEMPT_WORST_SECONDS, 4 s) and the usual calls after it.
SESAME_BUDGET_SECONDS = 4.0
STORAGE_RESERVE_SECONDS = 5.0
# What one link can take at worst: a batch door starts a record only if this much time is left.
LINK_WORST_SECONDS = SESAME_BUDGET_SECONDS + STORAGE_RESERVE_SECONDS


def sesame_deadline() -> float:
    """When a Sesame call must be over: within its budget, and leaving the storage reserve."""
    return min(time.monotonic() + SESAME_BUDGET_SECONDS, deadline.at() - STORAGE_RESERVE_SECONDS)


@dataclass(frozen=True)
class LinkResult:
    connection: ConnectionRecord
    created: bool  # the connection did not exist (first link, or linked again after an unlink)


@dataclass(frozen=True)
class LinkLimits:
    budget: AttemptBudget  # unsuccessful attempts, per tenant
    max_connections: int  # per tenant; a re-link is never refused


class LinkService:
    def __init__(
        self,
        sesame: TokenChecker,
        vault: Vault,
        registry: Registry,
        limits: LinkLimits,
        clock: Clock = utc_now,
    ) -> None:
        self._sesame = sesame
        self._vault = vault
        self._registry = registry
        self._limits = limits
        self._clock = clock

    def link(self, request: LinkRequest, tenant: str, company_id: str | None = None) -> LinkResult:
        """An attempt of the tenant's budget is reserved before Sesame is asked, and given back
        unless the token is refused (or is one connection too many). `company_id`: a reconnect,
        which links only a token of that Sesame company."""
        reservation = self._limits.budget.reserve(tenant)
        spent = False
        try:
            return self._link(request, tenant, company_id)
        except errors.LinkError as exc:
            spent = exc.spends_attempt
            raise
        finally:
            if reservation is not None and not spent:
                self._limits.budget.give_back(reservation)

    def _link(self, request: LinkRequest, tenant: str, company_id: str | None) -> LinkResult:
        """Nothing is stored unless Sesame says 200. Safe to retry: a stored secret whose
        registry write failed is made to agree by the next attempt."""
        token = request.token.get_secret_value()
        company = self._sesame.check(token, request.region, sesame_deadline())
        if company_id is not None and company.id != company_id:
            raise errors.CompanyMismatch("The token belongs to another Sesame company than the connection's.")
        linked = connection_id(tenant, company.id)
        self._refuse_beyond_cap(tenant, linked)
        stored = self._vault.store(Credential(tenant, request.region, company.id, company.name, token))
        now = self._clock()
        record = ConnectionRecord(
            tenant=tenant,
            connection_id=linked,
            region=request.region,
            company_id=company.id,
            company_name=company.name,
            token_hint=token_hint(token),
            status="active",
            status_reason=None,
            linked_at=now,
            checked_at=now,
            secret_arn=stored.arn,
        )
        before = self._registry.save_link(record, new_version=stored.changed)
        if before is not None and not stored.changed:
            record = replace(record, linked_at=before.linked_at)
        return LinkResult(connection=record, created=before is None)

    def _refuse_beyond_cap(self, tenant: str, linked: str) -> None:
        cap = self._limits.max_connections
        if self._registry.count(tenant, at_most=cap) >= cap and self._registry.get(tenant, linked) is None:
            raise errors.ConnectionLimitReached(
                f"The tenant already has {cap} connections; unlink one to link another."
            )
