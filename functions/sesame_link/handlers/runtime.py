"""The adapters the functions share, built once per execution environment: a handler module calls
the builders it needs at import and puts its services together itself, so its clients live at
module scope, and a function imports no service and creates no client it does not use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, cast

from sesame_link.adapters import aws
from sesame_link.adapters.attempts import DynamoDbAttemptBudget
from sesame_link.adapters.keyed_hash import KeyedHash
from sesame_link.adapters.outcomes import OutcomePublisher
from sesame_link.adapters.registry import DynamoDbRegistry
from sesame_link.adapters.sesame import SesameClient, new_session
from sesame_link.adapters.sessions import DynamoDbSessionStore
from sesame_link.adapters.vault import SecretsManagerVault
from sesame_link.core.config import load_settings
from sesame_link.core.domain import AttemptLimits
from sesame_link.core.observability import (
    record_budget_unavailable,
    record_publish_failure,
    record_sesame_latency,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

settings = load_settings()


@cache
def sesame() -> SesameClient:
    return SesameClient(
        settings.sesame_api_url,
        new_session(),
        on_latency=record_sesame_latency,
        probe_regions=settings.probe_regions,
    )


@cache
def secrets_client() -> SecretsManagerClient:
    return cast("SecretsManagerClient", aws.client("secretsmanager"))


@cache
def dynamodb_client() -> DynamoDBClient:
    return cast("DynamoDBClient", aws.client("dynamodb"))


@cache
def sqs_client() -> SQSClient:
    return cast("SQSClient", aws.client("sqs"))


@cache
def events_client() -> EventBridgeClient | None:
    return cast("EventBridgeClient", aws.client("events")) if settings.event_bus_name else None


@cache
def kms_client() -> KMSClient:
    return cast("KMSClient", aws.client("kms"))


@cache
def keyed_hash() -> KeyedHash:
    settings.require("mac_key_id")
    return KeyedHash(kms_client(), settings.mac_key_id)


@cache
def vault() -> SecretsManagerVault:
    settings.require("kms_key_id", "secret_prefix", "secret_readers")
    return SecretsManagerVault(
        secrets_client(),
        settings.kms_key_id,
        settings.secret_prefix,
        keyed_hash(),
        settings.secret_readers,
        kms=kms_client(),
    )


@cache
def registry() -> DynamoDbRegistry:
    settings.require("connections_table")
    return DynamoDbRegistry(dynamodb_client(), settings.connections_table)


@cache
def session_store() -> DynamoDbSessionStore:
    settings.require("sessions_table")
    return DynamoDbSessionStore(dynamodb_client(), settings.sessions_table)


@cache
def budget_client() -> DynamoDBClient:
    """A client of its own: a link goes on without its budget, so the budget waits for little."""
    return cast("DynamoDBClient", aws.client("dynamodb", aws.QUICK_CONFIG))


def attempt_budget(door: str, limits: AttemptLimits) -> DynamoDbAttemptBudget:
    settings.require("attempts_table")
    return DynamoDbAttemptBudget(
        budget_client(), settings.attempts_table, door, limits, on_unavailable=record_budget_unavailable
    )


@cache
def outcomes() -> OutcomePublisher:
    return OutcomePublisher(
        events_client(), settings.event_bus_name, on_publish_failure=record_publish_failure
    )
