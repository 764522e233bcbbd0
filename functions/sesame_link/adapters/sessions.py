"""Connect sessions in DynamoDB: one item per session keyed by its token's keyed hash
(`token#<hash>`), and one by its id (`id#<session_id>`) naming that hash, for the backend's reads
and revocation. Neither holds the token. Both expire by TTL a day after the session; expiry itself
is checked against the clock on every use (ConnectSession.status)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import error_code, storage_error
from sesame_link.core.domain import MAX_SESSION_FAILURES, ConnectSession, parse_timestamp, timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_AFTER_EXPIRY = timedelta(days=1)  # TTL: the backend can still read how a session ended


class DynamoDbSessionStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, session: ConnectSession, key: str) -> None:
        expires = {"N": str(int((session.expires_at + KEEP_AFTER_EXPIRY).timestamp()))}
        by_id = {"key": {"S": f"id#{session.session_id}"}, "token_key": {"S": key}, "expires": expires}
        # The id first: a session item whose id item failed could never be read or revoked.
        for item in (by_id, {**_item(session, key), "expires": expires}):
            self._call(
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": "key"},
            )

    def find(self, key: str) -> ConnectSession | None:
        item = self._get(f"token#{key}")
        return _session(item) if item else None

    def get(self, session_id: str) -> tuple[ConnectSession, str] | None:
        pointer = self._get(f"id#{session_id}")
        if pointer is None:
            return None
        key = pointer["token_key"]["S"]
        session = self.find(key)
        return (session, key) if session else None

    def claim(self, key: str, now: datetime, until: datetime) -> bool:
        return self._conditional(
            UpdateExpression="SET claimed_until = :until",
            ConditionExpression=(
                "stored_status = :open AND failures < :most AND expires_at > :now"
                " AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)"
            ),
            Key={"key": {"S": f"token#{key}"}},
            ExpressionAttributeValues={
                ":open": {"S": "open"},
                ":most": {"N": str(MAX_SESSION_FAILURES)},
                ":now": {"S": timestamp(now)},
                ":until": {"S": timestamp(until)},
            },
        )

    def release(self, key: str, failed: bool) -> None:
        update = "REMOVE claimed_until" + (" ADD failures :one" if failed else "")
        values = {":one": {"N": "1"}} if failed else {}
        self._call(
            self._client.update_item,
            TableName=self._table,
            Key={"key": {"S": f"token#{key}"}},
            UpdateExpression=update,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def complete(self, key: str, connection_id: str, at: datetime) -> None:
        self._call(
            self._client.update_item,
            TableName=self._table,
            Key={"key": {"S": f"token#{key}"}},
            UpdateExpression=(
                "SET stored_status = :completed, connection_id = :connection, completed_at = :at"
                " REMOVE claimed_until"
            ),
            ExpressionAttributeValues={
                ":completed": {"S": "completed"},
                ":connection": {"S": connection_id},
                ":at": {"S": timestamp(at)},
            },
        )

    def revoke(self, key: str) -> None:
        self._conditional(
            UpdateExpression="SET stored_status = :revoked",
            ConditionExpression="stored_status = :open",
            Key={"key": {"S": f"token#{key}"}},
            ExpressionAttributeValues={":revoked": {"S": "revoked"}, ":open": {"S": "open"}},
        )

    def _get(self, key: str) -> Mapping[str, Any] | None:
        response = self._call(
            self._client.get_item, TableName=self._table, Key={"key": {"S": key}}, ConsistentRead=True
        )
        item: Mapping[str, Any] | None = response.get("Item")
        return item

    def _conditional(self, **parameters: Any) -> bool:
        """False when the condition did not hold."""
        try:
            self._client.update_item(TableName=self._table, **parameters)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise storage_error(exc) from None
        except BotoCoreError as exc:
            raise storage_error(exc) from None
        return True

    @staticmethod
    def _call(operation: Any, **parameters: Any) -> Mapping[str, Any]:
        try:
            response: Mapping[str, Any] = operation(**parameters)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc) from None
        return response


def _item(session: ConnectSession, key: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": {"S": f"token#{key}"},
        "session_id": {"S": session.session_id},
        "tenant": {"S": session.tenant},
        "tenant_name": {"S": session.tenant_name},
        "created_at": {"S": timestamp(session.created_at)},
        "expires_at": {"S": timestamp(session.expires_at)},
        "created_by": {"S": session.created_by},
        "stored_status": {"S": session.stored_status},
        "failures": {"N": str(session.failures)},
    }
    if session.allowed_origins:
        item["allowed_origins"] = {"L": [{"S": origin} for origin in session.allowed_origins]}
    for name in ("reconnect", "reconnect_company", "region"):
        value = getattr(session, name)
        if value is not None:
            item[name] = {"S": value}
    return item


def _session(item: Mapping[str, Any]) -> ConnectSession:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    completed_at = text("completed_at")
    return ConnectSession(
        session_id=item["session_id"]["S"],
        tenant=item["tenant"]["S"],
        tenant_name=item["tenant_name"]["S"],
        reconnect=text("reconnect"),
        reconnect_company=text("reconnect_company"),
        region=text("region"),
        allowed_origins=tuple(origin["S"] for origin in item.get("allowed_origins", {}).get("L", [])),
        created_at=parse_timestamp(item["created_at"]["S"]),
        expires_at=parse_timestamp(item["expires_at"]["S"]),
        created_by=item["created_by"]["S"],
        stored_status=item["stored_status"]["S"],
        failures=int(item["failures"]["N"]),
        connection_id=text("connection_id"),
        completed_at=parse_timestamp(completed_at) if completed_at else None,
    )
