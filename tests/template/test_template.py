"""What the emulators never enforce, asserted on template.yaml itself as CloudFormation would
resolve it: condition keys, hand-built ARNs and names against AWS's real formats and limits,
quotas a new account may not have, the log level Lambda filters with, what API Gateway answers
without the function, CORS, alarms. Each test names the AWS documentation it follows."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from local.template import Template, load_template
from sesame_link.core import deadline
from sesame_link.handlers.http import ROUTES
from sesame_link.services.linking import LINK_WORST_SECONDS

DOCUMENT = load_template()
LONGEST_STACK = "s" + "-x" * 63 + "z"  # CloudFormation allows stack names of up to 128 characters
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
FUNCTIONS = sorted(
    logical_id
    for logical_id, resource in DOCUMENT["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
)


class Refs(dict[str, str]):
    """Stand-ins for every resource reference: `X` -> `X-physical`, `X.Arn` -> an ARN-shaped name."""

    def __missing__(self, name: str) -> str:
        logical, _, attribute = name.partition(".")
        return (
            f"arn:aws:test:eu-west-1:123456789012:{logical}" if attribute == "Arn" else f"{logical}-physical"
        )

    def __contains__(self, name: object) -> bool:
        logical = name.split(".")[0] if isinstance(name, str) else ""
        # SAM generates a role `<function>Role` for each function without one of its own.
        generated = logical.removesuffix("Role") in FUNCTIONS and logical.endswith("Role")
        return isinstance(name, str) and (
            name in PSEUDO or logical in DOCUMENT["Resources"] or generated or super().__contains__(name)
        )


def template(stack: str = "sesame-link-prod", instance: str = "0f1e2d3c", **parameters: str) -> Template:
    """The template as CloudFormation resolves it for one stack instance: `instance` is the first
    group of the UUID that ends its stack id (arn:...:stack/<name>/<uuid>)."""
    stack_id = (
        f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/{instance}-9a8b-4c7d-8e6f-5a4b3c2d1e0f"
    )
    refs = Refs({**PSEUDO, "AWS::StackName": stack, "AWS::StackId": stack_id})
    return Template(refs, parameters, DOCUMENT)


def statements_with(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    def actions(statement: dict[str, Any]) -> list[str]:
        listed = statement["Action"]
        return [listed] if isinstance(listed, str) else listed

    return [statement for statement in statements if action in actions(statement)]


def key_policy_statement(sid: str) -> dict[str, Any]:
    statements = template().properties("LinkKey", "KeyPolicy")["KeyPolicy"]["Statement"]
    return next(statement for statement in statements if statement["Sid"] == sid)


# Secrets Manager's condition keys (Service Authorization Reference): secretsmanager:KmsKeyId is
# deprecated; secretsmanager:KmsKeyArn names the key of a CreateSecret request.
def test_creating_a_secret_is_conditioned_on_the_key_arn() -> None:
    [create] = statements_with(template().policy_statements("LinkFunction"), "secretsmanager:CreateSecret")
    assert create["Condition"] == {
        "StringEquals": {"secretsmanager:KmsKeyArn": "arn:aws:test:eu-west-1:123456789012:LinkKey"}
    }
    assert "secretsmanager:KmsKeyId" not in str(DOCUMENT)


# EventBridge: "Permissions for event buses" - in one account, IAM alone can allow PutEvents, so
# the bus's resource policy needs a deny to keep unnamed principals out.
def test_provisioning_events_arrive_on_a_dedicated_encrypted_bus() -> None:
    bus = template().properties("ProvisioningBus")
    assert bus["KmsKeyIdentifier"] == "arn:aws:test:eu-west-1:123456789012:LinkKey"
    rule = template().properties("CredentialSubmittedRule", "EventBusName", "EventPattern")
    assert rule["EventBusName"] == "ProvisioningBus-physical"
    assert rule["EventPattern"]["source"] == ["sesame-link.provisioning"]


@pytest.mark.parametrize(
    ("publishers", "principal", "denies"),
    [
        ("", "arn:aws:iam::123456789012:root", False),
        (
            "arn:aws:iam::123456789012:role/onboarding,arn:aws:iam::123456789012:role/migration",
            ["arn:aws:iam::123456789012:role/onboarding", "arn:aws:iam::123456789012:role/migration"],
            True,
        ),
    ],
)
def test_the_bus_policy_names_who_may_put_submitted_credentials(
    publishers: str, principal: Any, denies: bool
) -> None:
    policy = template(ProvisioningPublisherArns=publishers).properties("ProvisioningBus", "Policy")["Policy"]
    allow, *deny = policy["Statement"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"AWS": principal}
    assert allow["Condition"]["StringEquals"]["events:source"] == "sesame-link.provisioning"
    assert allow["Condition"]["StringEquals"]["events:detail-type"] == "Sesame Credential Submitted"
    assert bool(deny) is denies
    if denies:
        assert deny[0]["Effect"] == "Deny"
        assert deny[0]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": principal}}


# EventBridge ARN formats (Service Authorization Reference): a rule's ARN is
# arn:${Partition}:events:${Region}:${Account}:rule/[${EventBusName}/]${RuleName} - no bus segment
# for the default bus, the bus's name for any other; a bus is ...:event-bus/${EventBusName}.
@pytest.mark.parametrize("stack", ["sesame-link-prod", LONGEST_STACK])
def test_hand_built_arns_match_the_real_format_of_the_resources_they_name(stack: str) -> None:
    resolved = template(stack)
    bus_name = resolved.properties("ProvisioningBus", "Name")["Name"]
    real_rule_arn = (
        f"arn:aws:events:eu-west-1:123456789012:rule/{bus_name}/{stack[:20]}-CredentialSubmittedRule-AbC123"
    )
    real_bus_arn = f"arn:aws:events:eu-west-1:123456789012:event-bus/{bus_name}"
    statements = {s["Sid"]: s for s in resolved.properties("LinkKey", "KeyPolicy")["KeyPolicy"]["Statement"]}

    senders = statements["EventBridgeSendsToTheEncryptedQueues"]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert any(fnmatch.fnmatchcase(real_rule_arn, pattern) for pattern in senders)
    assert any(fnmatch.fnmatchcase(real_bus_arn, pattern) for pattern in senders), (
        "the bus's own dead letters"
    )
    another_bus_rule = f"arn:aws:events:eu-west-1:123456789012:rule/default/{stack}-submitted"
    assert not any(fnmatch.fnmatchcase(another_bus_rule, pattern) for pattern in senders), (
        "another bus's rule"
    )
    context = statements["EventBridgeEncryptsTheProvisioningBus"]["Condition"]["StringEquals"]
    assert context["kms:EncryptionContext:aws:events:event-bus:arn"] == real_bus_arn
    bus_policy = resolved.properties("ProvisioningBus", "Policy")["Policy"]["Statement"]
    assert {statement["Resource"] for statement in bus_policy} == {real_bus_arn}


# Service quotas: event bus names up to 256 characters, log group names 512, KMS alias names 256,
# Secrets Manager names 512 (prefix + the longest tenant key, 256, + /sesame/ + a company id, 64).
def test_names_built_from_the_stack_name_fit_any_stack_name() -> None:
    resolved = template(LONGEST_STACK)
    assert len(resolved.properties("ProvisioningBus", "Name")["Name"]) <= 256
    assert len(resolved.properties("LinkKeyAlias", "AliasName")["AliasName"]) <= 256
    for logical_id in resolved.resources("AWS::Logs::LogGroup"):
        assert len(resolved.properties(logical_id, "LogGroupName")["LogGroupName"]) <= 512
    prefix = resolved.function("LinkFunction").environment["SECRET_PREFIX"]
    assert len(f"{prefix}/{'x' * 256}/sesame/{'c' * 64}") <= 512
    named = [
        logical_id
        for logical_id in resolved.resources("AWS::Events::Rule") | resolved.resources("AWS::SQS::Queue")
        if "Name" in DOCUMENT["Resources"][logical_id]["Properties"]
        or "QueueName" in DOCUMENT["Resources"][logical_id]["Properties"]
    ]
    assert named == [], "rules and queues are named by CloudFormation (64 / 80 characters at most)"


# Lambda quotas: reserving concurrency fails when it would leave the account fewer than 100
# unreserved executions; a new account's quota can be as low as 10.
def test_reserved_concurrency_is_optional_and_off_by_default() -> None:
    default = template().properties("LinkFunction", "ReservedConcurrentExecutions")
    assert default == {}
    assert template(LinkConcurrency="20").properties("LinkFunction", "ReservedConcurrentExecutions") == {
        "ReservedConcurrentExecutions": "20"
    }
    for function in FUNCTIONS:
        if function != "LinkFunction":
            assert "ReservedConcurrentExecutions" not in DOCUMENT["Resources"][function]["Properties"]


def test_a_stack_created_again_under_a_deleted_ones_name_never_meets_its_secrets() -> None:
    """CloudFormation user guide, "DeletionPolicy attribute": the retained key (and secrets, which
    no stack deletes) outlive the stack; a new stack of the same name gets a new stack id (its
    UUID), so its default prefix, and the IAM scoped to it, are new too: a re-link never finds a
    secret under the old key (storage_failed for good)."""
    first, again = template("prod", "0f1e2d3c"), template("prod", "7a6b5c4d")
    prefixes = [t.function("LinkFunction").environment["SECRET_PREFIX"] for t in (first, again)]
    assert prefixes == ["sesame-link/prod/0f1e2d3c", "sesame-link/prod/7a6b5c4d"]
    for statement in again.policy_statements("LinkFunction"):
        if str(statement["Action"]).count("secretsmanager:"):
            assert statement["Resource"].endswith(":secret:sesame-link/prod/7a6b5c4d/*")


def test_each_stack_writes_under_a_prefix_of_its_own() -> None:
    prefixes = {
        stack: template(stack).function("LinkFunction").environment["SECRET_PREFIX"] for stack in ("a", "b")
    }
    assert prefixes == {"a": "sesame-link/a/0f1e2d3c", "b": "sesame-link/b/0f1e2d3c"}
    assert (
        template("a", SecretPrefix="custom/x").function("LinkFunction").environment["SECRET_PREFIX"]
        == "custom/x"
    )
    for function in FUNCTIONS:
        for statement in template("a").policy_statements(function):
            if str(statement["Action"]).count("secretsmanager:"):
                assert (
                    statement["Resource"]
                    == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sesame-link/a/0f1e2d3c/*"
                )


# Lambda developer guide, "Log-level filtering": with LogFormat JSON, Lambda filters application
# lines at ApplicationLogLevel and takes a line without a `level` field for INFO; EMF metric lines
# have none, so at WARNING or ERROR every metric would vanish. Text format filters nothing: the
# level is Powertools' own (POWERTOOLS_LOG_LEVEL), and metrics are written at every level.
@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
def test_the_log_level_is_powertools_and_lambda_filters_no_metric_line(level: str) -> None:
    for function in FUNCTIONS:
        resolved = template(LogLevel=level)
        logging = resolved.properties(function, "LoggingConfig")["LoggingConfig"]
        assert logging["LogFormat"] == "Text"
        assert "ApplicationLogLevel" not in logging
        assert logging["LogGroup"] == f"{function}Logs-physical"
        assert resolved.function(function).environment["POWERTOOLS_LOG_LEVEL"] == level


def http_api_routes() -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for resource in DOCUMENT["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                properties = event["Properties"]
                routes.setdefault(properties.get("Path", "$default"), set()).add(
                    properties.get("Method", "ANY")
                )
    return routes


# API Gateway HTTP APIs: a request no route matches is answered {"message":"Not Found"} by API
# Gateway itself, unless a $default route takes it.
def test_every_other_route_and_method_reaches_the_link_function() -> None:
    default = DOCUMENT["Resources"]["LinkFunction"]["Properties"]["Events"]["Default"]
    assert default["Type"] == "HttpApi"
    assert "Path" not in default["Properties"]
    assert "Method" not in default["Properties"]


def test_the_405_table_is_the_templates_routes() -> None:
    declared = {
        re.sub(r"\{\w+\}", "[^/]+", path): methods
        for path, methods in http_api_routes().items()
        if path != "$default" and methods != {"OPTIONS"}  # the preflight route (test_transformed.py)
    }
    assert {route.pattern: set(methods.split(", ")) for route, methods in ROUTES} == declared


# Fetch standard: Retry-After is not a CORS-safelisted response header; a browser script reads it
# only if Access-Control-Expose-Headers names it. API Gateway's CORS answers replace the function's.
def test_cors_exposes_retry_after_and_allows_every_method() -> None:
    cors = DOCUMENT["Resources"]["LinkApi"]["Properties"]["CorsConfiguration"]
    assert "retry-after" in [header.lower() for header in cors["ExposeHeaders"]]
    methods = {method for methods in http_api_routes().values() for method in methods} - {"ANY"}
    assert methods <= set(cors["AllowMethods"])


@pytest.mark.parametrize("topic", ["", "arn:aws:sns:eu-west-1:123456789012:ops"])
def test_every_dead_letter_queue_and_every_function_has_an_alarm(topic: str) -> None:
    resolved = template(AlarmTopicArn=topic)
    every = [resolved.properties(logical_id) for logical_id in resolved.resources("AWS::CloudWatch::Alarm")]
    watched_queues = {alarm["Dimensions"][0]["Value"] for alarm in every if alarm["Namespace"] == "AWS/SQS"}
    dead_letter_queues = {
        f"{logical_id}-physical"
        for logical_id in resolved.resources("AWS::SQS::Queue")
        if "DeadLetter" in logical_id
    }
    assert watched_queues == dead_letter_queues
    assert len(dead_letter_queues) == 4
    watched_functions = {
        alarm["Dimensions"][0]["Value"] for alarm in every if alarm["Namespace"] == "AWS/Lambda"
    }
    assert watched_functions == {f"{function}-physical" for function in FUNCTIONS}
    for alarm in every:
        assert alarm.get("AlarmActions", []) == ([topic] if topic else [])


# SQS: a dead-letter queue keeps a message's original enqueue time, so its retention must outlast
# the source queue's; and records that carry tokens are kept days, not the 14-day maximum.
def test_dead_letter_retention_is_short_but_outlasts_the_source_queue() -> None:
    queues = {
        logical_id: template().properties(logical_id)
        for logical_id in template().resources("AWS::SQS::Queue")
    }
    provisioning, dead = queues["ProvisioningQueue"], queues["ProvisioningDeadLetterQueue"]
    assert int(dead["MessageRetentionPeriod"]) <= 4 * 86400
    for source in queues.values():
        if "RedrivePolicy" in source:
            target = source["RedrivePolicy"]["deadLetterTargetArn"].rsplit(":", 1)[-1]
            assert int(queues[target]["MessageRetentionPeriod"]) > int(source["MessageRetentionPeriod"])
    assert int(provisioning["MessageRetentionPeriod"]) < int(dead["MessageRetentionPeriod"])


# Lambda with SQS: set the queue's visibility timeout to at least six times the function's timeout.
def test_queue_visibility_is_six_times_the_consumers_timeout() -> None:
    for function in FUNCTIONS:
        timeout = template().function(function).timeout_seconds
        for event in DOCUMENT["Resources"][function]["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                assert int(template().properties(queue)["VisibilityTimeout"]) >= 6 * timeout, (
                    function,
                    queue,
                )


# Secrets Manager, DynamoDB: the key has automatic rotation and outlives the stack; the registry
# has point-in-time recovery and is encrypted with it.
def test_the_key_rotates_and_is_retained_and_the_registry_is_recoverable_and_encrypted() -> None:
    key = DOCUMENT["Resources"]["LinkKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    table = DOCUMENT["Resources"]["ConnectionsTable"]
    assert table["DeletionPolicy"] == "Retain"
    properties = template().properties("ConnectionsTable")
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["KMSMasterKeyId"] == "arn:aws:test:eu-west-1:123456789012:LinkKey"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


# DynamoDB developer guide, "Using time to live (TTL)": items are deleted within a few days of
# their expiry, so the session's own expires_at is checked on every use (test_connect_sessions).
def test_the_sessions_table_is_on_demand_encrypted_with_the_key_and_cleared_by_ttl() -> None:
    properties = template().properties("ConnectSessionsTable")
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["KMSMasterKeyId"] == "arn:aws:test:eu-west-1:123456789012:LinkKey"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}


# EventBridge API reference, PutEvents: EventBusName is "the name or ARN of the event bus"; the
# events:source condition key names each entry's source (EventBridge user guide, "Using IAM
# policy conditions in Amazon EventBridge").
@pytest.mark.parametrize(
    ("bus", "arn"),
    [
        ("", "arn:aws:events:eu-west-1:123456789012:event-bus/sesame-link-sesame-link-prod-outcomes"),
        ("default", "arn:aws:events:eu-west-1:123456789012:event-bus/default"),
        ("product-events", "arn:aws:events:eu-west-1:123456789012:event-bus/product-events"),
        (
            "arn:aws:events:eu-west-1:210987654321:event-bus/central",
            "arn:aws:events:eu-west-1:210987654321:event-bus/central",
        ),
    ],
)
def test_outcome_events_go_to_the_bus_named_or_given_by_arn_with_their_own_source_only(
    bus: str, arn: str
) -> None:
    resolved = template(OutcomeBusName=bus)
    for function in ("LinkFunction", "CheckFunction"):
        [publish] = statements_with(resolved.policy_statements(function), "events:PutEvents")
        assert publish["Resource"] == arn
        assert publish["Condition"] == {"StringEquals": {"events:source": "sesame-link"}}


# Lambda developer guide, "Using Lambda with Amazon SQS": records of a batch that the invocation
# cannot reach before its timeout are received again, using up their receive count, and reach
# the dead-letter queue untried under a slow dependency. A batch must fit at its worst case.
@pytest.mark.parametrize(
    ("function", "batch_size"),
    [("CheckFunction", 10), ("ProvisioningFunction", 10)],
)
def test_a_batch_fits_its_functions_timeout_at_its_worst_case(function: str, batch_size: int) -> None:
    [event] = [
        e for e in DOCUMENT["Resources"][function]["Properties"]["Events"].values() if e["Type"] == "SQS"
    ]
    configured = int(template().resolve(event["Properties"]["BatchSize"]))
    largest = (
        int(DOCUMENT["Parameters"]["ProvisioningBatchSize"]["MaxValue"])
        if function == "ProvisioningFunction"
        else configured
    )
    assert largest == batch_size
    worst = batch_size * LINK_WORST_SECONDS + deadline.ANSWER_RESERVE_SECONDS
    assert template().function(function).timeout_seconds >= worst


def test_by_default_outcome_events_go_to_the_stacks_own_bus_that_only_its_functions_may_use() -> None:
    """EventBridge user guide, "Permissions for Amazon EventBridge event buses": in one account,
    IAM alone can allow PutEvents on a bus, so only the bus policy's deny keeps every other
    principal from putting a forged "Sesame Account Linked" there."""
    resolved = template()
    bus = resolved.properties("OutcomeBus")
    assert bus["Name"] == "sesame-link-sesame-link-prod-outcomes"
    variables = resolved.function("LinkFunction").environment
    assert variables["EVENT_BUS_NAME"] == bus["Name"]
    [deny] = bus["Policy"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "events:PutEvents")
    assert deny["Resource"] == f"arn:aws:events:eu-west-1:123456789012:event-bus/{bus['Name']}"
    assert deny["Condition"]["StringEquals"] == {"events:source": "sesame-link"}
    allowed = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    publishers = ("LinkFunction", "ProvisioningFunction", "CheckFunction")
    assert allowed == [f"arn:aws:test:eu-west-1:123456789012:{name}Role" for name in publishers]
    assert DOCUMENT["Resources"]["OutcomeBus"]["Condition"] == "HasOwnOutcomeBus"
