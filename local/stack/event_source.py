"""What Lambda's SQS event source mapping does, in-process: receive a batch, hand it to the
function as an SQS event, delete what succeeded (ReportBatchItemFailures), leave the rest to
become visible again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LOCAL_REGION
from local.template import FunctionSpec


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            }
            for message in messages
        ]
    }


def sqs_event_of(bodies: list[str]) -> dict[str, Any]:
    """An SQS event whose messages m-0, m-1, ... carry these bodies, from a stand-in queue."""
    messages = [
        {"MessageId": f"m-{index}", "ReceiptHandle": f"r-{index}", "MD5OfBody": "", "Body": body}
        for index, body in enumerate(bodies)
    ]
    return sqs_event(messages, f"arn:aws:sqs:{LOCAL_REGION}:123456789012:sesame-link-local")


def poll_once(
    sqs: Any,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    spec: FunctionSpec,
    batch_size: int = 10,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """One batch through the function; None when the queue had nothing visible."""
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    if not messages:
        return None
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    event = sqs_event(messages, queue_arn)
    result = handler(event, LocalLambdaContext(spec))
    failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return event, result
