"""The template CloudFormation receives: SAM's transform of template.yaml, with the roles, managed
policies, routes, authorizers and names SAM adds and template.yaml never shows. Each test names
the AWS documentation it follows."""

from __future__ import annotations

import fnmatch
from typing import Any

from local.template import Template
from tests.support.sam_transform import role_statements

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
SERVICE_OF = {"AWS::SQS::Queue": "sqs", "AWS::Lambda::Function": "lambda", "AWS::KMS::Key": "kms"}
FOREIGN_QUEUE = "arn:aws:sqs:eu-west-1:123456789012:someone-elses-queue"


class StandIns(dict[str, str]):
    """Every reference of the transformed template, in the shape of the real ARN of its type."""

    def __init__(self, document: dict[str, Any], stack: str) -> None:
        super().__init__(
            {
                **PSEUDO,
                "AWS::StackName": stack,
                "AWS::StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/0f1e",
            }
        )
        self._resources = document["Resources"]

    def __missing__(self, name: str) -> str:
        logical, _, attribute = name.partition(".")
        resource_type = self._resources[logical]["Type"]
        if attribute == "Arn":
            service = SERVICE_OF.get(resource_type, "test")
            return f"arn:aws:{service}:eu-west-1:123456789012:{logical}"
        return f"{logical}-physical"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (super().__contains__(name) or name.split(".")[0] in self._resources)


def resolved(document: dict[str, Any], stack: str = "sesame-link-prod") -> Template:
    return Template(StandIns(document, stack), {}, document)


def of_type(document: dict[str, Any], resource_type: str) -> list[str]:
    return sorted(
        name for name, resource in document["Resources"].items() if resource["Type"] == resource_type
    )


# --- Names ---------------------------------------------------------------------------------


# The property that names each resource that has a physical name of its own.
NAME_PROPERTY = {
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


def physical_names(template: Template) -> dict[str, str]:
    names = {}
    for logical_id, resource in template.document["Resources"].items():
        name_property = NAME_PROPERTY.get(resource["Type"])
        if name_property and name_property in resource.get("Properties", {}):
            names[logical_id] = template.properties(logical_id, name_property)[name_property]
    return names


def test_no_physical_name_is_the_same_for_two_stacks(transformed: dict[str, Any]) -> None:
    """A name such as a schedule's, a rule's or a bus's is unique in an account and region
    (CloudFormation user guide, "Name type": a custom name blocks a second stack and any
    replacement). SAM names a ScheduleV2 schedule after its logical id unless OmitName is set
    (serverless-application-model issue 3109)."""
    first = physical_names(resolved(transformed, "sesame-link-prod"))
    second = physical_names(resolved(transformed, "sesame-link-staging"))
    assert first.keys() == second.keys()
    shared = sorted(key for key in first if first[key] == second[key])
    assert shared == []


# --- The scheduled sweep -------------------------------------------------------------------


def test_a_failed_sweep_is_not_retried_from_the_start_by_lambda(transformed: dict[str, Any]) -> None:
    """Scheduler invokes Lambda asynchronously; Lambda retries a failed asynchronous invocation
    twice by default (Lambda developer guide, "Error handling and automatic retries in Lambda")."""
    template = resolved(transformed)
    configs = [
        template.properties(name)
        for name in of_type(transformed, "AWS::Lambda::EventInvokeConfig")
        if transformed["Resources"][name]["Properties"]["FunctionName"] == {"Ref": "SweepFunction"}
    ]
    assert [config["MaximumRetryAttempts"] for config in configs] == [0]


def test_a_long_chain_of_sweep_continuations_is_not_stopped_by_lambda(transformed: dict[str, Any]) -> None:
    """Lambda stops an SQS -> Lambda -> SQS loop after about 16 invocations unless the function's
    RecursiveLoop is Allow (Lambda developer guide, "Use Lambda recursive loop detection to prevent
    infinite loops"); the sweep bounds the chain itself, and its cut has an alarm."""
    sweep = transformed["Resources"]["SweepFunction"]
    assert sweep["Type"] == "AWS::Lambda::Function"
    assert sweep["Properties"]["RecursiveLoop"] == "Allow"
    others = [name for name in of_type(transformed, "AWS::Lambda::Function") if name != "SweepFunction"]
    assert all("RecursiveLoop" not in transformed["Resources"][name]["Properties"] for name in others)
    metrics = {
        transformed["Resources"][name]["Properties"].get("MetricName")
        for name in of_type(transformed, "AWS::CloudWatch::Alarm")
    }
    assert "SweepsCut" in metrics


def test_a_schedule_that_cannot_deliver_leaves_a_message_with_an_alarm(transformed: dict[str, Any]) -> None:
    """Scheduler user guide, "Configuring a dead-letter queue for EventBridge Scheduler"."""
    [schedule] = of_type(transformed, "AWS::Scheduler::Schedule")
    target = transformed["Resources"][schedule]["Properties"]["Target"]
    queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert transformed["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    alarmed = [
        dimension["Value"]["Fn::GetAtt"][0]
        for name in of_type(transformed, "AWS::CloudWatch::Alarm")
        for dimension in transformed["Resources"][name]["Properties"].get("Dimensions", [])
        if isinstance(dimension["Value"], dict) and "Fn::GetAtt" in dimension["Value"]
    ]
    assert queue in alarmed
    role = resolved(transformed).properties(target["RoleArn"]["Fn::GetAtt"][0])
    granted = allows(
        role_statements(resolved(transformed), target["RoleArn"]["Fn::GetAtt"][0]),
        "sqs:SendMessage",
        f"arn:aws:sqs:eu-west-1:123456789012:{queue}",
        {},
    )
    assert granted, "the schedule's role may send to its dead-letter queue"
    assert role["AssumeRolePolicyDocument"]["Statement"]


def test_only_scheduler_of_this_account_can_assume_the_schedules_role(transformed: dict[str, Any]) -> None:
    """Scheduler user guide, "Setting up the execution role": aws:SourceAccount prevents the
    confused deputy."""
    [schedule] = of_type(transformed, "AWS::Scheduler::Schedule")
    role = transformed["Resources"][schedule]["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    [trust] = resolved(transformed).properties(role)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# --- Routes --------------------------------------------------------------------------------


def routes(transformed: dict[str, Any]) -> dict[tuple[str, str], Any]:
    body = transformed["Resources"]["LinkApi"]["Properties"]["Body"]
    return {
        (path, method): operation
        for path, methods in body["paths"].items()
        for method, operation in methods.items()
    }


# The routes that take no gateway authorizer: the preflight, and the hosted page's (the function
# authenticates the connect session itself); and the product backend's, behind AWS_IAM.
UNAUTHORIZED = {
    ("/{proxy+}", "options"),
    ("/connect", "get"),
    ("/connect/{asset}", "get"),
    ("/connect/session", "get"),
    ("/connect/session/link", "post"),
}
SIGNED = {
    ("/connect-sessions", "post"),
    ("/connect-sessions/{session_id}", "get"),
    ("/connect-sessions/{session_id}", "delete"),
}


def test_every_route_has_its_authorizer_and_the_preflight_none(transformed: dict[str, Any]) -> None:
    """HTTP API developer guide, "Configuring CORS for an HTTP API": a $default route with an
    authorizer also receives CORS preflights, which carry no Authorization header; an OPTIONS
    route without authorization takes them first. "Using IAM authorization": the connect-session
    routes of the product's backend take only SigV4-signed requests (AWS_IAM, which SAM enables
    with EnableIamAuthorizer). Every other route is the JWT authorizer's."""
    secured = {key: operation.get("security") for key, operation in routes(transformed).items()}
    for key in UNAUTHORIZED:
        assert secured.pop(key) in (None, [], [{"NONE": []}]), key
    for key in SIGNED:
        assert secured.pop(key) == [{"AWS_IAM": []}], key
    assert secured, "the API has JWT routes"
    assert all(list(security[0]) == ["OidcJwt"] and len(security) == 1 for security in secured.values())
    schemes = transformed["Resources"]["LinkApi"]["Properties"]["Body"]["components"]["securitySchemes"]
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_every_connections_route_requires_its_scope(transformed: dict[str, Any]) -> None:
    """HTTP API developer guide, "Controlling access to HTTP APIs with JWT authorizers": with
    authorization scopes on a route, API Gateway lets a token through only if its `scope` (or
    `scp`) claim has at least one of them; without, any token of the issuer and audience passes,
    ID tokens and other apps' tokens included. Only the $default route (404/405 problems) has none."""
    template = resolved(transformed)
    scopes = {
        key: template.resolve(operation["security"][0]["OidcJwt"])
        for key, operation in routes(transformed).items()
        if key not in UNAUTHORIZED | SIGNED
    }
    read, write = ["sesame-link/connections.read"], ["sesame-link/connections.write"]
    assert scopes == {
        ("/connections", "get"): read,
        ("/connections/{connection_id}", "get"): read,
        ("/connections", "post"): write,
        ("/connections/{connection_id}", "delete"): write,
        ("/connections/{connection_id}/check", "post"): write,
        ("$default", "x-amazon-apigateway-any-method"): [],
    }


# --- Generated roles -----------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    actions = [a.lower() for a in _listed(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in actions):
        return False
    if "NotResource" in statement:
        if any(fnmatch.fnmatchcase(resource, pattern) for pattern in _listed(statement["NotResource"])):
            return False
    elif not any(fnmatch.fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        assert operator == "StringEquals", f"this evaluator knows StringEquals only, not {operator}"
        if not all(context.get(key) in _listed(values) for key, values in conditions.items()):
            return False
    return True


def allows(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM policy evaluation within one account, identity policies only (IAM user guide, "Policy
    evaluation logic"): an explicit deny wins, else some allow must match."""
    matching = [statement for statement in statements if _matches(statement, action, resource, context)]
    return not any(s["Effect"] == "Deny" for s in matching) and any(s["Effect"] == "Allow" for s in matching)


def event_queues(transformed: dict[str, Any]) -> dict[str, list[str]]:
    """Each function's SQS event source queues (logical ids)."""
    queues: dict[str, list[str]] = {}
    for name in of_type(transformed, "AWS::Lambda::EventSourceMapping"):
        properties = transformed["Resources"][name]["Properties"]
        queues.setdefault(properties["FunctionName"]["Ref"], []).append(
            properties["EventSourceArn"]["Fn::GetAtt"][0]
        )
    return queues


def test_sam_attaches_the_sqs_execution_role_to_every_queue_consumer(transformed: dict[str, Any]) -> None:
    """SAM's SQS event source adds AWSLambdaSQSQueueExecutionRole (sqs actions on `*`) to the
    function's role (AWS SAM developer guide, "SQS" event source type)."""
    for function in event_queues(transformed):
        arns = resolved(transformed).properties(f"{function}Role")["ManagedPolicyArns"]
        assert any(str(arn).endswith("/AWSLambdaSQSQueueExecutionRole") for arn in arns)


def test_each_function_receives_only_from_its_own_event_source_queues(transformed: dict[str, Any]) -> None:
    """The provisioning queue carries plaintext tokens: no other function may read it. SQS API
    reference: ReceiveMessage, DeleteMessage, ChangeMessageVisibility are authorized on the queue."""
    all_queues = of_type(transformed, "AWS::SQS::Queue")
    consumers = event_queues(transformed)
    assert set(consumers) == {"CheckFunction", "ProvisioningFunction", "SweepFunction"}
    for function, own in consumers.items():
        statements = role_statements(resolved(transformed), f"{function}Role")
        for queue in [*all_queues, FOREIGN_QUEUE.rsplit(":", 1)[-1]]:
            arn = f"arn:aws:sqs:eu-west-1:123456789012:{queue}"
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
                assert allows(statements, action, arn, {}) == (queue in own), (function, action, queue)
            if queue not in own:
                assert not allows(statements, "sqs:ChangeMessageVisibility", arn, {}), (function, queue)


def test_sqs_decrypts_only_for_the_queues_a_function_uses(transformed: dict[str, Any]) -> None:
    """SQS uses the encryption context aws:sqs:arn, the queue's ARN (SQS developer guide,
    "Encryption at rest: key terms", encryption context): a kms:Decrypt through SQS names the queue."""
    key = "arn:aws:kms:eu-west-1:123456789012:LinkKey"
    via_sqs = {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}
    for function, own in event_queues(transformed).items():
        statements = role_statements(resolved(transformed), f"{function}Role")
        for queue in own:
            context = {
                **via_sqs,
                "kms:EncryptionContext:aws:sqs:arn": f"arn:aws:sqs:eu-west-1:123456789012:{queue}",
            }
            assert allows(statements, "kms:Decrypt", key, context), (function, queue)
        provisioning = {
            **via_sqs,
            "kms:EncryptionContext:aws:sqs:arn": "arn:aws:sqs:eu-west-1:123456789012:ProvisioningQueue",
        }
        assert allows(statements, "kms:Decrypt", key, provisioning) == (function == "ProvisioningFunction")
        assert not allows(
            statements, "kms:Decrypt", key, {**via_sqs, "kms:EncryptionContext:aws:sqs:arn": FOREIGN_QUEUE}
        )


def test_only_the_check_function_and_the_break_glass_role_may_read_stored_tokens(
    transformed: dict[str, Any],
) -> None:
    """The functions that store tokens name who may read them in each secret's resource policy:
    the role SAM generates for the check function, and BreakGlassRoleArn when it is set."""
    check_role = {"Fn::GetAtt": ["CheckFunctionRole", "Arn"]}
    assert transformed["Resources"]["CheckFunctionRole"]["Type"] == "AWS::IAM::Role"
    for function in ("LinkFunction", "ProvisioningFunction"):
        variables = transformed["Resources"][function]["Properties"]["Environment"]["Variables"]
        condition, with_break_glass, without = variables["SECRET_READER_ARNS"]["Fn::If"]
        assert condition == "HasBreakGlassRole"
        assert without == check_role
        assert with_break_glass == {"Fn::Join": [",", [check_role, {"Ref": "BreakGlassRoleArn"}]]}
