"""`make sweep`: one health check against the running `make run`, as the schedule and the check
queue would run it on AWS: the sweep function, then the check function on the check queue until
nothing is left to take. Locally the sweep takes every connection, whatever its age (on AWS,
HealthCheckMaxAgeHours spares those checked recently, such as one linked a minute ago).
Prints what each checked connection became; the functions' logs go to stderr."""

from __future__ import annotations

import contextlib
import json
import sys

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalStack, apply_environment, local_function_spec
from local.stack.event_source import poll_once
from local.template import load_handler

SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}


def main() -> None:
    stack = LocalStack.running()
    if stack is None:
        sys.exit("make sweep needs `make run` going (in another terminal)")
    sweep_spec = local_function_spec("SweepFunction", stack, {"HealthCheckMaxAgeHours": "0"})
    check_spec = local_function_spec("CheckFunction", stack)
    apply_environment(sweep_spec.environment)
    sqs = stack.client("sqs")
    with contextlib.redirect_stdout(sys.stderr):  # the functions' logs, as CloudWatch would have them
        swept = load_handler(sweep_spec)(SCHEDULED, LocalLambdaContext(sweep_spec))
        check = load_handler(check_spec)
        batches = []
        while polled := poll_once(sqs, stack.resources["CheckQueue"], check, check_spec):
            batches.append(polled)
    print(f"sweep: {swept['queued']} connection(s) queued for a check")
    for event, result in batches:
        retried = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        for record in event["Records"]:
            print(_outcome(stack, json.loads(record["body"]), record["messageId"] in retried))


def _outcome(stack: LocalStack, message: dict[str, str], inconclusive: bool) -> str:
    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.resources["ConnectionsTable"],
            Key={"tenant": {"S": message["tenant_id"]}, "connection_id": {"S": message["connection_id"]}},
        )
        .get("Item")
    )
    if item is None:
        return f"  {message['connection_id']}: gone (unlinked)"
    status = item["status"]["S"] + (f" ({item['status_reason']['S']})" if "status_reason" in item else "")
    suffix = " - inconclusive, back in the queue for a later try" if inconclusive else ""
    return (
        f"  {message['connection_id']} {item['company_name']['S']} ({item['region']['S']}): {status}{suffix}"
    )


if __name__ == "__main__":
    main()
