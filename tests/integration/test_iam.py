"""The IAM proof: every AWS call each function made in this test session (tests/support/
aws_calls.py) is granted by the role CloudFormation receives for it (SAM's transform: the role SAM
generates, its inline policies and every managed policy attached, as AWS publishes them),
resources and StringEquals conditions included; and every action, resource and service each of
the function's own policy statements grants is used by some call (the managed policies are AWS's,
granting what Lambda does with the role). It runs after every other test of the session
(conftest.py orders it last).

The evaluator is moto's (moto.iam.access_control.IAMPolicy), which the suite already depends on.
What it cannot see, and how that is covered:
- it evaluates StringEquals conditions only (the function policies use no other operator), and
  answers DENIED for an Allow whose condition does not hold (see `permitted`);
- the KMS calls AWS services make with the caller's permissions are not API calls of the function:
  they are added from each service's documentation (IMPLIED below);
- what Lambda does with the role (poll the SQS event sources, write logs and traces) is not a
  call of the function: the polling is checked as requests of its own (`polling`);
- calls made in child processes (test_deadline, test_package, make run) are not recorded;
- key policies, bus and queue resource policies, SCPs and permission boundaries are not evaluated.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from local.stack.backends import LOCAL_ACCOUNT, LOCAL_REGION, LocalBackends
from local.template import Template
from tests.support.aws_calls import AwsCall, AwsCallLog
from tests.support.sam_transform import inline_statements, role_statements

pytestmark = pytest.mark.integration
FUNCTIONS = ("LinkFunction", "ProvisioningFunction", "CheckFunction", "SweepFunction")
# Operations whose IAM action is another's (Service Authorization Reference).
ACTION_OF = {"sqs:SendMessageBatch": "sqs:SendMessage"}


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the condition keys it sets."""

    action: str
    resource: str
    conditions: tuple[tuple[str, str], ...] = ()


def via(service: str) -> tuple[tuple[str, str], ...]:
    return (("kms:ViaService", f"{service}.{LOCAL_REGION}.amazonaws.com"),)


def requests_of(call: AwsCall, key_arn: str, aliased: dict[str, str]) -> Iterator[Request]:
    action = ACTION_OF.get(f"{call.service}:{call.operation}", f"{call.service}:{call.operation}")
    params = call.params
    resource = resource_of(call)
    if call.service == "secretsmanager" and call.operation == "CreateSecret":
        yield Request(action, resource, (("secretsmanager:KmsKeyArn", params["KmsKeyId"]),))
    elif call.operation == "DescribeKey":
        # KMS developer guide, "Controlling access to aliases": a request naming a key by an alias
        # is authorized on the key the alias points to.
        yield Request(action, aliased[resource] if ":alias/" in resource else resource)
    elif call.service == "kms":
        yield Request(action, resource, (("kms:MacAlgorithm", params["MacAlgorithm"]),))
    elif call.service == "events":
        # EventBridge authorizes each entry with its source (events:source).
        for source in {entry["Source"] for entry in params["Entries"]}:
            yield Request(action, resource, (("events:source", source),))
    else:
        yield Request(action, resource)
    yield from IMPLIED.get(action, lambda _call, _key: iter(()))(call, key_arn)


def resource_of(call: AwsCall) -> str:
    params, region, account = call.params, LOCAL_REGION, LOCAL_ACCOUNT
    if call.service == "secretsmanager":
        name = params.get("SecretId") or params["Name"]
        return (
            str(name)
            if str(name).startswith("arn:")
            else f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
        )
    if call.service == "dynamodb":
        table = f"arn:aws:dynamodb:{region}:{account}:table/{params['TableName']}"
        return f"{table}/index/{params['IndexName']}" if "IndexName" in params else table
    if call.service == "sqs":
        queue_account, name = params["QueueUrl"].rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:{region}:{queue_account}:{name}"
    if call.service == "events":
        bus = params["Entries"][0].get("EventBusName", "default")
        return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
    if call.service == "kms":
        return str(params["KeyId"])
    raise AssertionError(f"no resource rule for {call.service}")


def _secret_key_use(actions: tuple[str, ...]) -> Any:
    """Secrets Manager API reference, "Required permissions": with a customer managed key,
    CreateSecret and PutSecretValue also need kms:GenerateDataKey and kms:Decrypt, GetSecretValue
    kms:Decrypt; CreateSecret with tags also needs secretsmanager:TagResource."""

    def implied(call: AwsCall, key_arn: str) -> Iterator[Request]:
        for action in actions:
            yield Request(action, key_arn, via("secretsmanager"))
        if call.operation == "CreateSecret" and call.params.get("Tags"):
            yield Request("secretsmanager:TagResource", resource_of(call))

    return implied


def _table_key_use(call: AwsCall, key_arn: str) -> Iterator[Request]:
    """AWS KMS developer guide, "How Amazon DynamoDB uses AWS KMS": a table encrypted with a
    customer managed key is read and written with kms:Decrypt of its table key, via DynamoDB."""
    yield Request("kms:Decrypt", key_arn, via("dynamodb"))


def queue_context(queue_arn: str) -> tuple[tuple[str, str], ...]:
    """SQS developer guide, "Encryption at rest", encryption context: SQS names the queue's ARN
    as aws:sqs:arn in every KMS request it makes for the queue."""
    return (*via("sqs"), ("kms:EncryptionContext:aws:sqs:arn", queue_arn))


def _queue_key_use(call: AwsCall, key_arn: str) -> Iterator[Request]:
    """SQS developer guide, "Key management": a producer to a queue encrypted with a customer
    managed key needs kms:GenerateDataKey and kms:Decrypt."""
    yield Request("kms:GenerateDataKey", key_arn, queue_context(resource_of(call)))
    yield Request("kms:Decrypt", key_arn, queue_context(resource_of(call)))


IMPLIED = {
    "secretsmanager:CreateSecret": _secret_key_use(("kms:GenerateDataKey", "kms:Decrypt")),
    "secretsmanager:PutSecretValue": _secret_key_use(("kms:GenerateDataKey", "kms:Decrypt")),
    "secretsmanager:GetSecretValue": _secret_key_use(("kms:Decrypt",)),
    **{
        f"dynamodb:{operation}": _table_key_use
        for operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
    },
    "sqs:SendMessage": _queue_key_use,
}


def all_requests(function: str, calls: list[AwsCall], backends: LocalBackends) -> set[Request]:
    key_arn = backends.resources["LinkKey.Arn"]
    aliased = {
        alias["AliasArn"]: f"{key_arn.rpartition('/')[0]}/{alias['TargetKeyId']}"
        for alias in backends.client("kms").list_aliases()["Aliases"]
        if "TargetKeyId" in alias
    }
    requests = {request for call in calls for request in requests_of(call, key_arn, aliased)}
    if any(call.operation == "DescribeSecret" for call in calls):
        # Storing a secret names its version with a keyed hash whose root key each execution
        # environment derives once (keyed_hash.py). Here the functions share one process, so
        # only the first to store made the call: every function that stores needs it.
        mac_key = backends.resources["MacKey.Arn"]
        requests.add(Request("kms:GenerateMac", mac_key, (("kms:MacAlgorithm", "HMAC_SHA_256"),)))
    for queue_arn in event_source_queues(function, backends):
        # Lambda reads an encrypted queue for its event source with the function's role.
        requests.add(Request("kms:Decrypt", key_arn, queue_context(queue_arn)))
    return requests


def event_source_queues(function: str, backends: LocalBackends) -> list[str]:
    events = backends.template().document["Resources"][function]["Properties"].get("Events", {})
    return [
        backends.resources[".".join(event["Properties"]["Queue"]["Fn::GetAtt"])]
        for event in events.values()
        if event["Type"] == "SQS"
    ]


def denied(statements: list[dict[str, Any]], request: Request) -> bool:
    """Some Deny statement names the request: its action, and a resource outside NotResource (the
    only form of Deny the function policies use; moto's evaluator does not know NotResource)."""
    return any(
        statement["Effect"] == "Deny"
        and any(fnmatch.fnmatchcase(request.action, action) for action in _listed(statement["Action"]))
        and not any(fnmatch.fnmatchcase(request.resource, arn) for arn in _listed(statement["NotResource"]))
        for statement in statements
    )


def permitted(statements: list[dict[str, Any]], request: Request) -> bool:
    """Some statement allows the request. Statements are evaluated one by one: moto answers DENIED
    for an Allow statement whose condition does not hold (IAM ignores it), which would let one
    such statement hide another that allows. Deny statements are `denied`'s."""
    return not denied(statements, request) and any(
        IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": [statement]})).is_action_permitted(
            request.action, request.resource, None, dict(request.conditions)
        )
        == PermissionResult.PERMITTED
        for statement in statements
        if statement["Effect"] == "Allow"
    )


def test_the_proof_can_fail() -> None:
    """The evaluator refuses what a statement does not grant: another resource, another
    condition value, another action."""
    statements = [
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k",
            "Condition": {"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}},
        }
    ]
    granted = Request("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k", via("sqs"))
    assert permitted(statements, granted)
    assert not permitted(
        statements, Request("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/other", via("sqs"))
    )
    assert not permitted(statements, Request("kms:Decrypt", granted.resource, via("secretsmanager")))
    assert not permitted(statements, Request("kms:Encrypt", granted.resource, via("sqs")))


class GeneratedNames(dict[str, str]):
    """The local stand-ins, and for what SAM generates (the function roles) an ARN of their shape."""

    def __missing__(self, name: str) -> str:
        logical, _, attribute = name.partition(".")
        if attribute != "Arn":
            raise KeyError(name)
        return f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{logical}"


def deployed(transformed: dict[str, Any], backends: LocalBackends) -> Template:
    """The transformed template, resolved against the local stack's resources and parameters."""
    return Template(GeneratedNames(backends.stand_ins()), backends.parameters, transformed)


@pytest.mark.iam_proof
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_is_granted_and_every_grant_is_used(
    function: str, aws_calls: AwsCallLog, backends: LocalBackends, transformed: dict[str, Any]
) -> None:
    calls = aws_calls.of(function)
    assert calls, f"{function} made no AWS call in this session: run the whole suite"
    template = deployed(transformed, backends)
    statements = role_statements(template, f"{function}Role")
    requests = all_requests(function, calls, backends)

    refused = sorted({(r.action, r.resource, r.conditions) for r in requests if not permitted(statements, r)})
    assert refused == [], f"{function} made calls its role does not grant"
    # Lambda's poller works with the role: SAM's managed policy grants it, no Deny of ours blocks it.
    polling = [
        Request(action, queue_arn)
        for queue_arn in event_source_queues(function, backends)
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
    ]
    assert [request for request in polling if not permitted(statements, request)] == []

    for statement in (s for s in inline_statements(template, f"{function}Role") if s["Effect"] == "Allow"):
        unused = [
            grant
            for grant in grants_of(statement)
            if not any(permitted([narrowed(statement, grant)], r) for r in requests)
        ]
        assert unused == [], f"{function}: {statement.get('Sid')} grants what no call uses"


def grants_of(statement: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """Each (action, resource, via service) a statement grants, to be used one by one."""
    actions = _listed(statement["Action"])
    resources = _listed(statement["Resource"])
    services = _listed(statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", [None]))
    return [
        (action, resource, service) for action in actions for resource in resources for service in services
    ]


def narrowed(statement: dict[str, Any], grant: tuple[str, str, str | None]) -> dict[str, Any]:
    action, resource, service = grant
    conditions = dict(statement.get("Condition", {}).get("StringEquals", {}))
    if service is not None:
        conditions["kms:ViaService"] = service
    return {
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
        "Condition": {"StringEquals": conditions},
    }


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
