"""Outcome events on EventBridge, one per link attempt; nothing when no bus is configured.
Failures never carry the token; only internal consumers see the secret ARN, on success."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link import errors
from sesame_link.linking import LinkResult

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "sesame-link"
LINKED = "Sesame Account Linked"
LINK_FAILED = "Sesame Account Link Failed"


class OutcomePublisher:
    def __init__(
        self,
        client: EventBridgeClient | None,
        bus_name: str,
        on_publish_failure: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._on_publish_failure = on_publish_failure

    def linked(self, tenant: str, result: LinkResult, request_id: str | None) -> None:
        connection = result.connection
        self._put(
            LINKED,
            {
                "tenant_id": tenant,
                "connection_id": connection.connection_id,
                "region": connection.region,
                "company": connection.company.model_dump(),
                "created": connection.created,
                "secret_arn": result.secret_arn,
                "request_id": request_id,
            },
        )

    def failed(
        self, tenant: str | None, region: str | None, error: errors.LinkError, request_id: str | None
    ) -> None:
        self._put(
            LINK_FAILED,
            {
                "tenant_id": tenant,
                "region": region,
                "code": error.code,
                "retryable": error.retryable,
                "request_id": request_id,
            },
        )

    def _put(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self._client is None or not self._bus_name:
            return
        try:
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, ensure_ascii=False),
                        "EventBusName": self._bus_name,
                    }
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            self._on_publish_failure(type(exc).__name__)
            return
        if response.get("FailedEntryCount"):
            self._on_publish_failure(str(response["Entries"][0].get("ErrorCode", "FailedEntry")))
