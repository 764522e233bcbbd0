"""The budget of unsuccessful link attempts (DESIGN.md "Abuse limits"), in DynamoDB: one item per
door, tenant and UTC day, with the day's count and each quarter hour's count in an attribute of
its own. One conditional UpdateItem reserves an attempt in both windows at once, so concurrent
attempts never pass the budget together (single-item writes are serialized; a transaction over
two items could fail on contention instead). A window ends with its key: a new day is a new item,
a new quarter hour a new attribute; TTL only cleans up. Nothing here is derived from a token."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import error_code
from sesame_link.core import errors
from sesame_link.core.domain import AttemptLimits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

QUARTER_HOUR_SECONDS = 15 * 60
DAY_SECONDS = 24 * 60 * 60
# Kept a day past its window, for a look at what happened; the windows never depend on it.
KEPT_SECONDS = 2 * DAY_SECONDS


@dataclass(frozen=True)
class Reservation:
    window: str  # the item: door, day, tenant
    quarter: str  # the quarter hour's attribute in it


class DynamoDbAttemptBudget:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        door: str,
        limits: AttemptLimits,
        *,
        on_unavailable: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._door = door
        self._limits = limits
        self._on_unavailable = on_unavailable
        self._clock = clock

    def reserve(self, tenant: str) -> Reservation | None:
        now = self._clock()
        day, second_of_day = divmod(int(now), DAY_SECONDS)
        reservation = Reservation(f"{self._door}#{day}#{tenant}", f"q{second_of_day // QUARTER_HOUR_SECONDS}")
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"window": {"S": reservation.window}},
                UpdateExpression="SET expires_at = :expires ADD day_attempts :one, #quarter :one",
                ConditionExpression=(
                    "(attribute_not_exists(day_attempts) OR day_attempts < :per_day)"
                    " AND (attribute_not_exists(#quarter) OR #quarter < :per_quarter)"
                ),
                ExpressionAttributeNames={"#quarter": reservation.quarter},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":per_day": {"N": str(self._limits.per_day)},
                    ":per_quarter": {"N": str(self._limits.per_quarter_hour)},
                    ":expires": {"N": str((day + 1) * DAY_SECONDS + KEPT_SECONDS)},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException":
                raise self._exhausted(
                    cast("Mapping[str, Any]", exc.response.get("Item", {})), now, day
                ) from None
            self._on_unavailable()
            return None
        return reservation

    def give_back(self, reservation: object) -> None:
        if not isinstance(reservation, Reservation):
            raise TypeError("not a reservation of this budget")
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"window": {"S": reservation.window}},
                UpdateExpression="ADD day_attempts :minus_one, #quarter :minus_one",
                ConditionExpression="day_attempts > :zero AND #quarter > :zero",
                ExpressionAttributeNames={"#quarter": reservation.quarter},
                ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except (ClientError, BotoCoreError):
            self._on_unavailable()  # the tenant is one attempt short until the window ends

    def _exhausted(self, item: Mapping[str, Any], now: float, day: int) -> errors.LinkAttemptsExhausted:
        """Spent for the day, or for this quarter hour: Retry-After is the time until it ends."""
        spent_today = int(item.get("day_attempts", {}).get("N", "0"))
        if spent_today >= self._limits.per_day:
            ends = (day + 1) * DAY_SECONDS
        else:
            ends = (math.floor(now / QUARTER_HOUR_SECONDS) + 1) * QUARTER_HOUR_SECONDS
        return errors.LinkAttemptsExhausted(
            "Too many unsuccessful link attempts for this tenant; try again later.",
            retry_after_seconds=max(1, math.ceil(ends - now)),
        )
