"""The health check of a connection: one Sesame request with the stored token, and DESIGN.md's
status model. Only conclusive verdicts change anything (200 for the same company, 200 for
another, 401, 403); anything else raises Sesame's retryable error and leaves the connection as it
was. No HTTP or AWS here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sesame_link.core import errors
from sesame_link.core.domain import ConnectionRecord, StoredCredential
from sesame_link.core.models import Status, StatusReason
from sesame_link.core.ports import Clock, Registry, SecretReader, TokenChecker, utc_now
from sesame_link.services.linking import sesame_deadline

Verdict = tuple[Status, StatusReason | None]


@dataclass(frozen=True)
class CheckResult:
    before: ConnectionRecord
    after: ConnectionRecord
    asked_sesame: bool = True  # False within the cooldown: the connection as it stood

    @property
    def transition(self) -> bool:
        """The status (or the reason it is broken) changed: worth an event."""
        return (self.before.status, self.before.status_reason) != (
            self.after.status,
            self.after.status_reason,
        )

    @property
    def verdict(self) -> str:
        return self.after.status_reason or self.after.status


class CheckService:
    def __init__(
        self,
        sesame: TokenChecker,
        secrets: SecretReader,
        registry: Registry,
        cooldown_seconds: int = 0,
        clock: Clock = utc_now,
    ) -> None:
        self._sesame = sesame
        self._secrets = secrets
        self._registry = registry
        self._cooldown = timedelta(seconds=cooldown_seconds)
        self._clock = clock

    def check_on_request(self, tenant: str, connection_id: str) -> CheckResult:
        """A caller's "check now": at most one live check per connection and cooldown (a
        company's Sesame budget is shared by all its integrations); within it, the connection as
        it stands, and nothing sent to Sesame."""
        now = self._clock()
        if self._cooldown and not self._registry.claim_check(
            tenant, connection_id, now, now - self._cooldown
        ):
            current = self._registry.get(tenant, connection_id)
            if current is None:
                raise errors.ConnectionNotFound()
            return CheckResult(before=current, after=current, asked_sesame=False)
        return self.check(tenant, connection_id)

    def check(self, tenant: str, connection_id: str) -> CheckResult:
        """Raises ConnectionNotFound when the connection is not the tenant's, or is being
        unlinked (its secret gone, or its entry removed while Sesame was asked)."""
        record = self._registry.get(tenant, connection_id)
        stored = self._secrets.read(record.secret_arn) if record is not None else None
        if record is None or stored is None:
            raise errors.ConnectionNotFound()
        status, reason = self._verdict(stored)
        now = self._clock()
        before = self._registry.record_check(tenant, connection_id, (status, reason), now, record.linked_at)
        if before is not None:
            return CheckResult(before=before, after=before.checked(status, reason, now))
        current = self._registry.get(tenant, connection_id)
        if current is None:
            raise errors.ConnectionNotFound("The connection was unlinked while it was checked.")
        # Linked again with another token while the old one was checked: that verdict is moot.
        return CheckResult(before=current, after=current)

    def _verdict(self, stored: StoredCredential) -> Verdict:
        try:
            company = self._sesame.company(stored.token, stored.region, sesame_deadline())
        except errors.InvalidToken:
            return "broken", "invalid_token"
        except errors.TokenForbidden:
            return "broken", "token_forbidden"
        except errors.UnknownRegion:
            # The region's host resolved when the connection was linked: not a verdict on the token.
            raise errors.SesameUnavailable("Sesame's host for the region did not resolve.") from None
        if company.id != stored.company_id:
            return "broken", "company_changed"
        return "active", None
