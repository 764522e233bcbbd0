"""The connections registry: one DynamoDB item per tenant and Sesame company, keyed (tenant,
connection_id), with a local secondary index that lists a tenant's connections newest link first
(strongly consistent, unlike a global index). It never holds a token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import error_code, storage_error
from sesame_link.core.domain import ConnectionRecord, parse_timestamp, timestamp
from sesame_link.core.models import Status, StatusReason
from sesame_link.core.ports import DueConnectionLike

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NEWEST_FIRST_INDEX = "newest-link-first"
Key = dict[str, Any]


@dataclass(frozen=True)
class Page:
    records: list[ConnectionRecord]
    last_order: str | None  # the sort position after which the next page starts, if there is one


@dataclass(frozen=True)
class DueConnection:
    tenant: str
    connection_id: str


class DynamoDbRegistry:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def save_link(self, record: ConnectionRecord, new_version: bool) -> ConnectionRecord | None:
        """Upsert after a link: active, checked now. `linked_at` moves only when another token
        was stored (or the entry is new). Returns the entry as it was before, or None."""
        linked_at = ":linked_at" if new_version else "if_not_exists(linked_at, :linked_at)"
        order = ":order" if new_version else "if_not_exists(linked_order, :order)"
        response = self._call(
            self._client.update_item,
            TableName=self._table,
            Key=_key(record.tenant, record.connection_id),
            UpdateExpression=(
                "SET #region = :region, company_id = :company_id, company_name = :company_name,"
                " token_hint = :token_hint, secret_arn = :secret_arn, #status = :active,"
                f" checked_at = :checked_at, linked_at = {linked_at}, linked_order = {order}"
                " REMOVE status_reason"
            ),
            ExpressionAttributeNames={"#region": "region", "#status": "status"},
            ExpressionAttributeValues={
                ":region": {"S": record.region},
                ":company_id": {"S": record.company_id},
                ":company_name": {"S": record.company_name},
                ":token_hint": {"S": record.token_hint},
                ":secret_arn": {"S": record.secret_arn},
                ":active": {"S": "active"},
                ":checked_at": {"S": timestamp(record.checked_at)},
                ":linked_at": {"S": timestamp(record.linked_at)},
                ":order": {"S": _order(record.linked_at, record.connection_id)},
            },
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes")
        return _record(old) if old else None

    def get(self, tenant: str, connection_id: str) -> ConnectionRecord | None:
        response = self._call(
            self._client.get_item,
            TableName=self._table,
            Key=_key(tenant, connection_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _record(item) if item else None

    def count(self, tenant: str, at_most: int) -> int:
        """Counted on the index the list reads (a Limit bounds what the query evaluates)."""
        response = self._call(
            self._client.query,
            TableName=self._table,
            IndexName=NEWEST_FIRST_INDEX,
            KeyConditionExpression="tenant = :tenant",
            ExpressionAttributeValues={":tenant": {"S": tenant}},
            Select="COUNT",
            ConsistentRead=True,
            Limit=at_most,
        )
        return int(response.get("Count", 0))

    def claim_check(self, tenant: str, connection_id: str, at: datetime, since: datetime) -> bool:
        """A conditional write, so two simultaneous requests never both claim the check."""
        return (
            self._conditional(
                self._client.update_item,
                TableName=self._table,
                Key=_key(tenant, connection_id),
                UpdateExpression="SET check_started_at = :at",
                ConditionExpression=(
                    "attribute_exists(connection_id)"
                    " AND (attribute_not_exists(check_started_at) OR check_started_at <= :since)"
                ),
                ExpressionAttributeValues={":at": {"S": timestamp(at)}, ":since": {"S": timestamp(since)}},
            )
            is not None
        )

    def page(self, tenant: str, limit: int, after_order: str | None) -> Page:
        """Up to `limit` connections, newest link first, after the sort position `after_order`."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": NEWEST_FIRST_INDEX,
            "KeyConditionExpression": "tenant = :tenant",
            "ExpressionAttributeValues": {":tenant": {"S": tenant}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            # One more than asked: a next page is promised only when it has something on it.
            "Limit": limit + 1,
        }
        if after_order is not None:
            query["ExclusiveStartKey"] = {
                "tenant": {"S": tenant},
                "connection_id": {"S": after_order.rsplit("#", 1)[-1]},
                "linked_order": {"S": after_order},
            }
        items = self._call(self._client.query, **query).get("Items", [])
        records = [_record(item) for item in items[:limit]]
        last_order = items[limit - 1]["linked_order"]["S"] if len(items) > limit else None
        return Page(records=records, last_order=last_order)

    def delete(self, tenant: str, connection_id: str) -> bool:
        """Remove the entry; False when it was already gone."""
        return (
            self._conditional(
                self._client.delete_item,
                TableName=self._table,
                Key=_key(tenant, connection_id),
                ConditionExpression="attribute_exists(connection_id)",
            )
            is not None
        )

    def record_check(
        self,
        tenant: str,
        connection_id: str,
        verdict: tuple[Status, StatusReason | None],
        at: datetime,
        linked_at: datetime,
    ) -> ConnectionRecord | None:
        """Write a conclusive verdict, only if the connection still exists as it was linked when
        the check read it (`linked_at`): a check that races an unlink never brings the connection
        back, and one that races a re-link never writes the old token's verdict over the new
        token's connection. Returns the entry as it was, or None if gone or linked again."""
        status, reason = verdict
        update = "SET #status = :status, checked_at = :checked_at"
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":checked_at": {"S": timestamp(at)},
            ":linked_at": {"S": timestamp(linked_at)},
        }
        if reason is None:
            update += " REMOVE status_reason"
        else:
            update += ", status_reason = :reason"
            values[":reason"] = {"S": reason}
        response = self._conditional(
            self._client.update_item,
            TableName=self._table,
            Key=_key(tenant, connection_id),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(connection_id) AND linked_at = :linked_at",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        return _record(response["Attributes"]) if response is not None else None

    def due(
        self, checked_before: datetime | None, after: DueConnectionLike | None, limit: int
    ) -> tuple[list[DueConnection], DueConnection | None]:
        """One scan page of the connections not checked since `checked_before` (all when None),
        going on after the entry `after`; with the entry to go on from, or None at the end."""
        scan: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": "tenant, connection_id",
            "Limit": limit,
        }
        if checked_before is not None:
            scan["FilterExpression"] = "checked_at < :cutoff"
            scan["ExpressionAttributeValues"] = {":cutoff": {"S": timestamp(checked_before)}}
        if after is not None:
            scan["ExclusiveStartKey"] = _key(after.tenant, after.connection_id)
        response = self._call(self._client.scan, **scan)
        last = response.get("LastEvaluatedKey")
        return [_due(item) for item in response.get("Items", [])], _due(last) if last else None

    def _call(self, operation: Any, **parameters: Any) -> Mapping[str, Any]:
        try:
            return cast("Mapping[str, Any]", operation(**parameters))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _EntryGone from None
            raise storage_error(exc) from None
        except BotoCoreError as exc:
            raise storage_error(exc) from None

    def _conditional(self, operation: Any, **parameters: Any) -> Mapping[str, Any] | None:
        """The call's answer, or None when its condition failed (the entry is gone)."""
        try:
            return self._call(operation, **parameters)
        except _EntryGone:
            return None


class _EntryGone(Exception):
    """A conditional write found no entry."""


def _key(tenant: str, connection_id: str) -> Key:
    return {"tenant": {"S": tenant}, "connection_id": {"S": connection_id}}


def _due(key: Mapping[str, Any]) -> DueConnection:
    return DueConnection(tenant=key["tenant"]["S"], connection_id=key["connection_id"]["S"])


def _order(linked_at: datetime, connection_id: str) -> str:
    return f"{timestamp(linked_at)}#{connection_id}"


def _record(item: Mapping[str, Any]) -> ConnectionRecord:
    reason = item.get("status_reason")
    return ConnectionRecord(
        tenant=item["tenant"]["S"],
        connection_id=item["connection_id"]["S"],
        region=item["region"]["S"],
        company_id=item["company_id"]["S"],
        company_name=item["company_name"]["S"],
        token_hint=item["token_hint"]["S"],
        status=item["status"]["S"],
        status_reason=reason["S"] if reason else None,
        linked_at=parse_timestamp(item["linked_at"]["S"]),
        checked_at=parse_timestamp(item["checked_at"]["S"]),
        secret_arn=item["secret_arn"]["S"],
    )
