"""The service's configuration, read once from the environment (DESIGN.md's contract). Every
function gets the same variables from the template; each part checks those it needs when built."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SESAME_API_URL = "https://api-{region}.sesametime.com"


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
    max_age_hours = int(os.environ.get("HEALTH_CHECK_MAX_AGE_HOURS") or "20")
    if max_age_hours < 0:
        raise RuntimeError("HEALTH_CHECK_MAX_AGE_HOURS must be 0 (every connection) or more")
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
    )
