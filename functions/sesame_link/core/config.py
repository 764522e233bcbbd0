"""The service's configuration, read once from the environment (DESIGN.md's contract). Every
function gets the same variables from the template; each part checks those it needs when built."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sesame_link.core.domain import AttemptLimits
from sesame_link.core.models import REGION_PATTERN

DEFAULT_SESAME_API_URL = "https://api-{region}.sesametime.com"
MAX_PROBE_REGIONS = 10


@dataclass(frozen=True)
class Settings:
    sesame_api_url: str
    kms_key_id: str
    mac_key_id: str
    secret_prefix: str
    tenant_claim: str
    event_bus_name: str
    allowed_origin: str
    connections_table: str
    check_queue_url: str
    sweep_queue_url: str
    health_check_max_age_hours: int
    unlink_recovery_days: int
    attempts_table: str
    link_attempts: AttemptLimits  # the JWT door's (and the connect sessions')
    provisioning_link_attempts: AttemptLimits
    max_connections_per_tenant: int
    check_cooldown_seconds: int
    probe_regions: tuple[str, ...]
    secret_readers: tuple[str, ...]  # role ARNs: the check function's, and a break-glass role's
    sessions_table: str
    connect_page_url: str  # the hosted connect page; a connect_url is it with the token as fragment
    connect_frame_ancestors: str  # the origins that may embed the page (CSP frame-ancestors)

    def require(self, *names: str) -> None:
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise RuntimeError("missing configuration: " + ", ".join(name.upper() for name in missing))


def load_settings() -> Settings:
    sesame_api_url = os.environ.get("SESAME_API_URL") or DEFAULT_SESAME_API_URL
    if "{region}" not in sesame_api_url:
        raise RuntimeError("SESAME_API_URL must contain a {region} placeholder")
    recovery_days = int(os.environ.get("UNLINK_RECOVERY_DAYS") or "7")
    if recovery_days != 0 and not 7 <= recovery_days <= 30:
        raise RuntimeError("UNLINK_RECOVERY_DAYS must be 0 (delete at once) or 7 to 30")
    max_age_hours = _whole("HEALTH_CHECK_MAX_AGE_HOURS", 20)  # 0: every connection
    provisioning_per_day = _positive("PROVISIONING_LINK_ATTEMPTS_PER_DAY", 200)
    return Settings(
        sesame_api_url=sesame_api_url.rstrip("/"),
        kms_key_id=os.environ.get("KMS_KEY_ID", ""),
        mac_key_id=os.environ.get("MAC_KEY_ID", ""),
        secret_prefix=os.environ.get("SECRET_PREFIX", "sesame-link").strip("/"),
        tenant_claim=os.environ.get("TENANT_CLAIM") or "sub",
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        allowed_origin=os.environ.get("ALLOWED_ORIGIN", ""),
        connections_table=os.environ.get("CONNECTIONS_TABLE", ""),
        check_queue_url=os.environ.get("CHECK_QUEUE_URL", ""),
        sweep_queue_url=os.environ.get("SWEEP_QUEUE_URL", ""),
        health_check_max_age_hours=max_age_hours,
        unlink_recovery_days=recovery_days,
        attempts_table=os.environ.get("ATTEMPTS_TABLE", ""),
        link_attempts=AttemptLimits(
            per_quarter_hour=_positive("LINK_ATTEMPTS_PER_15_MINUTES", 5),
            per_day=_positive("LINK_ATTEMPTS_PER_DAY", 20),
        ),
        provisioning_link_attempts=AttemptLimits(provisioning_per_day, provisioning_per_day),
        max_connections_per_tenant=_positive("MAX_CONNECTIONS_PER_TENANT", 20),
        check_cooldown_seconds=_whole("CHECK_COOLDOWN_SECONDS", 60),
        probe_regions=_regions("PROBE_REGIONS", "eu1,eu4"),
        secret_readers=tuple(arn for arn in os.environ.get("SECRET_READER_ARNS", "").split(",") if arn),
        sessions_table=os.environ.get("SESSIONS_TABLE", ""),
        connect_page_url=os.environ.get("CONNECT_PAGE_URL", ""),
        connect_frame_ancestors=" ".join(
            origin for origin in os.environ.get("CONNECT_EMBEDDING_ORIGINS", "").split(",") if origin
        ),
    )


def _whole(name: str, default: int) -> int:
    value = int(os.environ.get(name) or default)
    if value < 0:
        raise RuntimeError(f"{name} must be 0 or more")
    return value


def _positive(name: str, default: int) -> int:
    value = _whole(name, default)
    if value == 0:
        raise RuntimeError(f"{name} must be 1 or more")
    return value


def _regions(name: str, default: str) -> tuple[str, ...]:
    regions = tuple(
        region.strip() for region in (os.environ.get(name) or default).split(",") if region.strip()
    )
    if (
        not all(re.fullmatch(REGION_PATTERN, region) for region in regions)
        or len(regions) > MAX_PROBE_REGIONS
    ):
        raise RuntimeError(
            f"{name} must list at most {MAX_PROBE_REGIONS} regions such as eu1, separated by commas"
        )
    return regions
