"""Outcome events: what is published, nothing without a bus, and publish failures reported
(never raised: a stored credential must not be undone by a missing event)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sesame_link.adapters.outcomes import OutcomePublisher
from sesame_link.core import errors
from sesame_link.core.domain import ConnectionRecord

RECORD = ConnectionRecord(
    tenant="tenant-a",
    connection_id="conn_1",
    region="eu1",
    company_id="c-1",
    company_name="Acme",
    token_hint="…abcd",
    status="active",
    status_reason=None,
    linked_at=datetime(2026, 11, 28, tzinfo=UTC),
    checked_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC),
    secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
)
CONNECTION = {
    "tenant_id": "tenant-a",
    "connection_id": "conn_1",
    "region": "eu1",
    "company": {"id": "c-1", "name": "Acme"},
}


@pytest.fixture
def events() -> Any:
    return boto3.client("events", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def expect_put(stubber: Stubber, detail_type: str) -> None:
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]},
        {
            "Entries": [
                {"Source": "sesame-link", "DetailType": detail_type, "Detail": ANY, "EventBusName": "bus"}
            ]
        },
    )


def published_details(events: Any) -> list[Any]:
    """The Detail of every PutEvents entry the client is asked to send (read before the stub)."""
    details: list[Any] = []
    events.meta.events.register(
        "provide-client-params.events.PutEvents",
        lambda params, **_: details.extend(json.loads(entry["Detail"]) for entry in params["Entries"]),
    )
    return details


def test_a_link_publishes_the_connection_and_the_secret_arn(events: Any) -> None:
    sent = published_details(events)
    with Stubber(events) as stubber:
        expect_put(stubber, "Sesame Account Linked")
        OutcomePublisher(events, "bus").linked(RECORD, True, "req-1", via="jwt")
    assert sent == [
        {
            **CONNECTION,
            "created": True,
            "secret_arn": RECORD.secret_arn,
            "request_id": "req-1",
            "via": "jwt",
            "session_id": None,
        }
    ]


def test_an_unlink_publishes_the_connection_without_the_secret(events: Any) -> None:
    sent = published_details(events)
    with Stubber(events) as stubber:
        expect_put(stubber, "Sesame Account Unlinked")
        OutcomePublisher(events, "bus").unlinked(RECORD, "req-9")
    assert sent == [{**CONNECTION, "request_id": "req-9"}]


@pytest.mark.parametrize(
    ("status", "reason", "detail_type"),
    [
        ("broken", "invalid_token", "Sesame Account Link Broken"),
        ("active", None, "Sesame Account Link Restored"),
    ],
)
def test_a_transition_publishes_broken_with_its_reason_or_restored(
    events: Any, status: str, reason: str | None, detail_type: str
) -> None:
    sent = published_details(events)
    with Stubber(events) as stubber:
        expect_put(stubber, detail_type)
        OutcomePublisher(events, "bus").transition(RECORD.checked(status, reason, RECORD.checked_at))  # type: ignore[arg-type]
    expected = {**CONNECTION, "checked_at": "2026-11-28T10:30:00Z"}
    assert sent == [{**expected, "reason": reason} if reason else expected]


def test_a_failure_publishes_the_code_only(events: Any) -> None:
    sent = published_details(events)
    with Stubber(events) as stubber:
        expect_put(stubber, "Sesame Account Link Failed")
        OutcomePublisher(events, "bus").failed("tenant-a", "eu1", errors.SesameTimeout("slow"), "req-2")
    assert sent == [
        {
            "tenant_id": "tenant-a",
            "region": "eu1",
            "code": "sesame_timeout",
            "retryable": True,
            "request_id": "req-2",
        }
    ]


def test_no_bus_no_call(events: Any) -> None:
    with Stubber(events):  # any call would fail: nothing is stubbed
        OutcomePublisher(events, "").linked(RECORD, True, None, via="jwt")
        OutcomePublisher(None, "bus").failed(None, None, errors.InvalidRequest("x"), None)


@pytest.mark.parametrize("failure", ["client error", "failed entry"])
def test_a_publish_failure_is_reported_not_raised(events: Any, failure: str) -> None:
    reasons: list[str] = []
    with Stubber(events) as stubber:
        if failure == "client error":
            stubber.add_client_error("put_events", "AccessDeniedException")
        else:
            stubber.add_response(
                "put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
            )
        OutcomePublisher(events, "bus", on_publish_failure=reasons.append).linked(
            RECORD, False, None, via="jwt"
        )
    assert reasons == ["AccessDeniedException" if failure == "client error" else "InternalFailure"]
