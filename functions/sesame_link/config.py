"""The service's configuration, read once from the environment (DESIGN.md's contract)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SESAME_API_URL = "https://api-{region}.sesametime.com"


@dataclass(frozen=True)
class Settings:
    sesame_api_url: str
    kms_key_id: str
    secret_prefix: str
    tenant_claim: str
    event_bus_name: str
    allowed_origin: str


def load_settings() -> Settings:
    sesame_api_url = os.environ.get("SESAME_API_URL") or DEFAULT_SESAME_API_URL
    if "{region}" not in sesame_api_url:
        raise RuntimeError("SESAME_API_URL must contain a {region} placeholder")
    return Settings(
        sesame_api_url=sesame_api_url.rstrip("/"),
        kms_key_id=os.environ["KMS_KEY_ID"],
        secret_prefix=os.environ.get("SECRET_PREFIX", "sesame-link").strip("/"),
        tenant_claim=os.environ.get("TENANT_CLAIM") or "sub",
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        allowed_origin=os.environ.get("ALLOWED_ORIGIN", ""),
    )
