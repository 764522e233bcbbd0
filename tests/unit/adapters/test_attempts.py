"""The attempt budget's DynamoDB calls and its answers, with botocore's Stubber: the windows a
reservation names, Retry-After for a spent quarter hour and a spent day, and a table that cannot
be asked. The concurrency proof against the local DynamoDB is test_abuse_limits.py's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sesame_link.adapters.attempts import DynamoDbAttemptBudget, Reservation
from sesame_link.core import errors
from sesame_link.core.domain import AttemptLimits

DAY = 20_424  # a UTC day, counted from the epoch
NOW = DAY * 86_400 + 1_000.25  # 00:16:40 UTC: the second quarter hour (q1) of the day, ending at 1,800 s
TABLE = "attempts"


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDbAttemptBudget, Stubber, list[str]]]:
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    unavailable: list[str] = []
    budget = DynamoDbAttemptBudget(
        client,
        TABLE,
        "link",
        AttemptLimits(per_quarter_hour=5, per_day=20),
        on_unavailable=lambda: unavailable.append("unavailable"),
        clock=lambda: NOW,
    )
    with Stubber(client) as stubber:
        yield budget, stubber, unavailable
        stubber.assert_no_pending_responses()


def reserve_params() -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "Key": {"window": {"S": f"link#{DAY}#tenant-a"}},
        "UpdateExpression": ANY,
        "ConditionExpression": ANY,
        "ExpressionAttributeNames": {"#quarter": "q1"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":per_day": {"N": "20"},
            ":per_quarter": {"N": "5"},
            ":expires": {"N": str((DAY + 3) * 86_400)},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def test_a_reservation_names_the_tenants_day_and_quarter_hour(
    stubbed: tuple[DynamoDbAttemptBudget, Stubber, list[str]],
) -> None:
    budget, stubber, _ = stubbed
    stubber.add_response("update_item", {}, reserve_params())
    assert budget.reserve("tenant-a") == Reservation(f"link#{DAY}#tenant-a", "q1")


@pytest.mark.parametrize(
    ("spent_today", "retry_after"),
    [(5, 800), (19, 800), (20, 86_400 - 1_000)],
    ids=["the quarter hour is spent", "one left today", "the day is spent"],
)
def test_past_the_budget_retry_after_is_the_time_until_the_spent_window_ends(
    stubbed: tuple[DynamoDbAttemptBudget, Stubber, list[str]], spent_today: int, retry_after: int
) -> None:
    budget, stubber, _ = stubbed
    stubber.add_client_error(
        "update_item",
        "ConditionalCheckFailedException",
        expected_params=reserve_params(),
        response_meta={},
        modeled_fields={"Item": {"day_attempts": {"N": str(spent_today)}, "q1": {"N": "5"}}},
    )
    with pytest.raises(errors.LinkAttemptsExhausted) as refused:
        budget.reserve("tenant-a")
    assert refused.value.retry_after == str(retry_after)


def test_in_the_last_instant_of_a_window_retry_after_is_one_second() -> None:
    """Retry-After is whole seconds (RFC 9110): 0.25 s left is 1, never 0 (a client that retries at
    once would only spend a request)."""
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    last_instant = DAY * 86_400 + 1_799.75
    budget = DynamoDbAttemptBudget(
        client, TABLE, "link", AttemptLimits(5, 20), on_unavailable=lambda: None, clock=lambda: last_instant
    )
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "update_item",
            "ConditionalCheckFailedException",
            modeled_fields={"Item": {"day_attempts": {"N": "5"}, "q1": {"N": "5"}}},
        )
        with pytest.raises(errors.LinkAttemptsExhausted) as refused:
            budget.reserve("tenant-a")
    assert refused.value.retry_after == "1"


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "AccessDeniedException"])
def test_a_budget_that_cannot_be_asked_lets_the_link_go_on_and_says_so(
    stubbed: tuple[DynamoDbAttemptBudget, Stubber, list[str]], code: str
) -> None:
    budget, stubber, unavailable = stubbed
    stubber.add_client_error("update_item", code)
    assert budget.reserve("tenant-a") is None
    assert unavailable == ["unavailable"]


def test_giving_back_takes_one_from_both_windows_of_the_reservation(
    stubbed: tuple[DynamoDbAttemptBudget, Stubber, list[str]],
) -> None:
    budget, stubber, unavailable = stubbed
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"window": {"S": "link#1#tenant-a"}},
            "UpdateExpression": "ADD day_attempts :minus_one, #quarter :minus_one",
            "ConditionExpression": "day_attempts > :zero AND #quarter > :zero",
            "ExpressionAttributeNames": {"#quarter": "q7"},
            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
        },
    )
    budget.give_back(Reservation("link#1#tenant-a", "q7"))
    stubber.add_client_error("update_item", "ThrottlingException")
    budget.give_back(Reservation("link#1#tenant-a", "q7"))
    assert unavailable == ["unavailable"]
