"""SQS adapters with botocore's Stubber and with transport errors raised where the HTTP request
would go: what SQS does and the emulator never does (entries answered in `Failed`, no answer).
SendMessageBatch may succeed for some entries and fail for others; its answer lists each
(Amazon SQS API Reference, SendMessageBatch: "the result of each message is reported
individually")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from sesame_link.adapters.queues import SqsCheckQueue, SqsSweepContinuations
from sesame_link.core import errors
from tests.support.fakes import Due

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/check"
DUE = [Due("t", f"conn_{index:032x}") for index in range(5)]


@pytest.fixture
def client() -> Any:
    return boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubbed:
        yield stubbed
        stubbed.assert_no_pending_responses()


def entries(indexes: list[int]) -> list[dict[str, str]]:
    return [
        {
            "Id": str(index),
            "MessageBody": json.dumps({"tenant_id": "t", "connection_id": DUE[index].connection_id}),
        }
        for index in indexes
    ]


def answer(succeeded: list[int], failed: list[int]) -> dict[str, Any]:
    return {
        "Successful": [{"Id": str(i), "MessageId": f"m{i}", "MD5OfMessageBody": "0" * 32} for i in succeeded],
        "Failed": [{"Id": str(i), "SenderFault": False, "Code": "InternalError"} for i in failed],
    }


def test_entries_sqs_did_not_take_are_sent_once_more_alone(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "send_message_batch",
        answer([0, 2, 4], [1, 3]),
        {"QueueUrl": QUEUE, "Entries": entries([0, 1, 2, 3, 4])},
    )
    stubber.add_response(
        "send_message_batch", answer([1, 3], []), {"QueueUrl": QUEUE, "Entries": entries([1, 3])}
    )
    SqsCheckQueue(client, QUEUE).send(DUE)


def test_entries_refused_twice_fail_retryably(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "send_message_batch",
        answer([0], [1, 2, 3, 4]),
        {"QueueUrl": QUEUE, "Entries": entries([0, 1, 2, 3, 4])},
    )
    stubber.add_response(
        "send_message_batch", answer([2], [1, 3, 4]), {"QueueUrl": QUEUE, "Entries": entries([1, 2, 3, 4])}
    )
    with pytest.raises(errors.StorageUnavailable, match="refused 3 message"):
        SqsCheckQueue(client, QUEUE).send(DUE)


@pytest.fixture(params=["read-timeout", "connection-error"])
def unanswered(client: Any, request: pytest.FixtureRequest) -> Any:
    """Every request raises as the transport does when SQS does not answer, or cannot be reached."""
    error = (
        ReadTimeoutError(endpoint_url=QUEUE)
        if request.param == "read-timeout"
        else EndpointConnectionError(endpoint_url=QUEUE)
    )

    def no_answer(**_: Any) -> None:
        raise error

    client.meta.events.register_first("before-send", no_answer)
    return client


def test_a_check_batch_with_no_answer_is_retryable(unanswered: Any) -> None:
    with pytest.raises(errors.StorageUnavailable):
        SqsCheckQueue(unanswered, QUEUE).send(DUE)


def test_a_continuation_with_no_answer_is_retryable(unanswered: Any) -> None:
    with pytest.raises(errors.StorageUnavailable):
        SqsSweepContinuations(unanswered, QUEUE).send(DUE[0], 1)


def test_a_refused_continuation_is_storage_failed_without_the_aws_code(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error("send_message", "AccessDenied")
    with pytest.raises(errors.StorageFailed, match=r"^Credential storage refused the request\.$"):
        SqsSweepContinuations(client, QUEUE).send(DUE[0], 1)
