"""Events on EventBridge (source `sesame-link`): one per link attempt, one per unlink, one per
status transition; nothing when no bus is configured. Never a token; only internal consumers see
the secret ARN, on a successful link. A publish that fails, or that the time left cannot fit,
is reported through `on_publish_failure` and never undoes what was done."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.core import errors
from sesame_link.core.domain import ConnectionRecord, timestamp

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "sesame-link"
LINKED = "Sesame Account Linked"
LINK_FAILED = "Sesame Account Link Failed"
UNLINKED = "Sesame Account Unlinked"
BROKEN = "Sesame Account Link Broken"
RESTORED = "Sesame Account Link Restored"


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

    def linked(
        self,
        record: ConnectionRecord,
        created: bool,
        request_id: str | None,
        *,
        via: str,
        session_id: str | None = None,
    ) -> None:
        """`via`: the linking method (jwt, session, provisioning); `session_id`: a session's."""
        self._put(
            LINKED,
            {
                **_connection(record),
                "created": created,
                "secret_arn": record.secret_arn,
                "request_id": request_id,
                "via": via,
                "session_id": session_id,
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

    def unlinked(self, record: ConnectionRecord, request_id: str | None) -> None:
        self._put(UNLINKED, {**_connection(record), "request_id": request_id})

    def transition(self, record: ConnectionRecord) -> None:
        """The status a check just gave: broken (with its reason) or restored."""
        checked = {**_connection(record), "checked_at": timestamp(record.checked_at)}
        if record.status == "broken":
            self._put(BROKEN, {**checked, "reason": record.status_reason})
        else:
            self._put(RESTORED, checked)

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


def _connection(record: ConnectionRecord) -> dict[str, Any]:
    return {
        "tenant_id": record.tenant,
        "connection_id": record.connection_id,
        "region": record.region,
        "company": {"id": record.company_id, "name": record.company_name},
    }
