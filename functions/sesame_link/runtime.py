"""What both doors share, built once per execution environment: settings, AWS and HTTP clients
at module scope, the link service and the outcome publisher."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from botocore.config import Config
from botocore.session import get_session

from sesame_link.config import load_settings
from sesame_link.linking import LinkService
from sesame_link.observability import record_publish_failure, record_sesame_latency
from sesame_link.outcomes import OutcomePublisher
from sesame_link.sesame import SesameClient
from sesame_link.vault import SecretsManagerVault

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

AWS_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

settings = load_settings()
# botocore rather than boto3: importing boto3 (s3transfer, resources) adds ~25 ms to a cold start
# and nothing this service uses.
botocore_session = get_session()
secrets_client = cast(
    "SecretsManagerClient", botocore_session.create_client("secretsmanager", config=AWS_CLIENT_CONFIG)
)
service = LinkService(
    sesame=SesameClient(settings.sesame_api_url, on_latency=record_sesame_latency),
    vault=SecretsManagerVault(secrets_client, settings.kms_key_id, settings.secret_prefix),
)
events_client = (
    cast("EventBridgeClient", botocore_session.create_client("events", config=AWS_CLIENT_CONFIG))
    if settings.event_bus_name
    else None
)
outcomes = OutcomePublisher(events_client, settings.event_bus_name, on_publish_failure=record_publish_failure)
