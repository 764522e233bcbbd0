"""SQS: the check queue the sweep fills (one message per connection, never a token), and the
sweep queue that carries where an interrupted sweep goes on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import storage_error
from sesame_link.core import errors
from sesame_link.core.ports import DueConnectionLike

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


class SqsCheckQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, connections: Sequence[DueConnectionLike]) -> None:
        """One SendMessageBatch; the entries SQS could not take are sent once more, then it raises."""
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {
                "Id": str(index),
                "MessageBody": json.dumps(
                    {"tenant_id": connection.tenant, "connection_id": connection.connection_id}
                ),
            }
            for index, connection in enumerate(connections)
        ]
        for _ in range(2):
            failed = {failure["Id"] for failure in self._send_batch(entries)}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
        raise errors.StorageUnavailable(f"The check queue refused {len(entries)} message(s).")

    def _send_batch(self, entries: list[SendMessageBatchRequestEntryTypeDef]) -> list[Any]:
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc) from None
        return list(response.get("Failed", []))


class SqsSweepContinuations:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, after: DueConnectionLike, hop: int) -> None:
        body = {"tenant": after.tenant, "connection_id": after.connection_id, "hop": hop}
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body))
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc) from None
