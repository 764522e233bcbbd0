"""The embedded local backends: AWS (moto's server mode, see local/stack/aws_server.py: Secrets
Manager, KMS, DynamoDB, SQS, EventBridge) and the Sesame simulator, both real HTTP servers on
loopback; the template's own resources, created in the emulator from their declarations in
template.yaml (keys, the connections table, queues, buses and rules: one schema, not a second
hand-written one); and the environment that points a function at them."""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import boto3

from local.stack.aws_server import LocalAwsServer
from local.stack.dns import install_local_resolver, simulated_sesame_url
from local.stack.sesame_sim import SesameSimulator
from local.template import ROOT, FunctionSpec, Template

LOCAL_REGION = "eu-west-1"
LOCAL_ACCOUNT = "123456789012"
LOCAL_STACK = "sesame-link-local"
# The first group of the local stack id's UUID: the default secret prefix names it (template.yaml).
LOCAL_STACK_INSTANCE = "5e1f0c2a"
# Regions that exist in the simulated world; any other region's host does not resolve.
SIMULATED_REGIONS = ("eu1", "eu2", "eu3", "eu4", "eu5", "br1", "br2", "mx1", "demo1")
DEMO_TENANT = "demo-tenant"
DEMO_ACCOUNTS = (
    (
        "sesame-demo-token-eu1-00000000000000000000",
        "eu1",
        "0f8e2a4c-5b1d-4e7a-9c3f-1a2b3c4d5e6f",
        "Acme Iberia SL",
    ),
    (
        "sesame-demo-token-eu4-00000000000000000000",
        "eu4",
        "7c9d1e2f-3a4b-4c5d-8e6f-9a0b1c2d3e4f",
        "Nórdica Café S.L.",
    ),
)
FAKE_AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
}
# Unset so that credentials lying in the environment never reach the local run (or vice versa).
AWS_VARIABLES_TO_CLEAR = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")
# Written by make run while it runs (tests give each run a file of its own).
STACK_FILE = Path(os.environ.get("LOCAL_STACK_FILE") or ROOT / ".local-stack.json")
PSEUDO_PARAMETERS = {
    "AWS::Region": LOCAL_REGION,
    "AWS::AccountId": LOCAL_ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": LOCAL_STACK,
    "AWS::StackId": (
        f"arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stack/{LOCAL_STACK}/"
        f"{LOCAL_STACK_INSTANCE}-0000-4000-8000-000000000000"
    ),
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass
class LocalStack:
    """Where the local stack's parts are: enough for another process to use them (make invoke,
    make sweep beside a running make run)."""

    aws_endpoint: str
    sesame_port: int
    parameters: dict[str, str]
    resources: dict[str, str]  # template reference -> local value

    @property
    def key_arn(self) -> str:
        return self.resources["LinkKey.Arn"]

    def environment(self) -> dict[str, str]:
        return {
            **FAKE_AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "SESAME_API_URL": simulated_sesame_url(self.sesame_port),
        }

    def stand_ins(self) -> dict[str, str]:
        """Local values for the template's resource references and pseudo parameters."""
        return {**PSEUDO_PARAMETERS, **self.resources}

    def template(self, parameters: dict[str, str] | None = None) -> Template:
        return Template(self.stand_ins(), {**self.parameters, **(parameters or {})})

    def client(self, service: str) -> Any:
        return local_client(self.aws_endpoint, service)

    def save(self) -> None:
        STACK_FILE.write_text(
            json.dumps({field.name: getattr(self, field.name) for field in fields(LocalStack)})
        )

    @classmethod
    def running(cls) -> LocalStack | None:
        """The stack of a `make run` going on this machine, if there is one."""
        try:
            stack = cls(**json.loads(STACK_FILE.read_text(encoding="utf-8")))
            host, port = stack.aws_endpoint.removeprefix("http://").split(":")
            socket.create_connection((host, int(port)), timeout=1).close()
        except (OSError, ValueError, TypeError):
            return None
        apply_environment(FAKE_AWS_CREDENTIALS)
        install_local_resolver(SIMULATED_REGIONS)
        return stack


@dataclass
class LocalBackends(LocalStack):
    """The local stack with its servers, running in this process."""

    aws: LocalAwsServer
    sesame: SesameSimulator

    def stop(self) -> None:
        self.sesame.stop()
        self.aws.stop()


def start_local_backends(
    aws_port: int = 0,
    sesame_port: int = 0,
    sesame_latency: float = 0.0,
    parameters: dict[str, str] | None = None,
) -> LocalBackends:
    apply_environment(FAKE_AWS_CREDENTIALS)  # from here on, nothing in this process reaches real AWS
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    aws = LocalAwsServer(port=aws_port)
    aws.start()
    host, port = aws.get_host_and_port()
    sesame = SesameSimulator(port=sesame_port, latency_seconds=sesame_latency).start()
    for token, region, company_id, company_name in DEMO_ACCOUNTS:
        sesame.add_account(token, region, company_id, company_name)
    install_local_resolver(SIMULATED_REGIONS)
    backends = LocalBackends(
        aws_endpoint=f"http://{host}:{port}",
        sesame_port=sesame.port,
        parameters=dict(parameters or {}),
        resources={},
        aws=aws,
        sesame=sesame,
    )
    _create_stack_resources(backends)
    return backends


def _create_stack_resources(backends: LocalBackends) -> None:
    """The template's keys, table, queues, buses and rules, created in the emulator in dependency
    order; each one's references (`X`, `X.Arn`, ...) become stand-ins for what follows."""
    template = Template(backends.resources, backends.parameters)  # sees the stand-ins as they come
    backends.resources.update(PSEUDO_PARAMETERS)
    for logical_id in template.resources("AWS::Serverless::Function"):
        # The execution role SAM generates for each function (named in secrets' resource policies).
        role = f"{logical_id}Role"
        backends.resources[f"{role}.Arn"] = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{LOCAL_STACK}-{role}"
    for logical_id in template.resources("AWS::KMS::Key"):
        _create_key(backends, template, logical_id)
    for logical_id in template.resources("AWS::DynamoDB::Table"):
        _create_table(backends, template, logical_id)
    queues = template.resources("AWS::SQS::Queue")
    for logical_id in sorted(queues, key=lambda name: "RedrivePolicy" in queues[name]["Properties"]):
        _create_queue(backends, template, logical_id)
    for logical_id in template.resources("AWS::Events::EventBus"):
        name = template.properties(logical_id, "Name")["Name"]
        arn = backends.client("events").create_event_bus(Name=name)["EventBusArn"]
        backends.resources.update({logical_id: name, f"{logical_id}.Arn": arn, f"{logical_id}.Name": name})
    for logical_id in template.resources("AWS::Events::Rule"):
        _create_rule(backends, template, logical_id)


def _create_key(backends: LocalBackends, template: Template, logical_id: str) -> None:
    properties = template.properties(logical_id, "KeySpec", "KeyUsage", "Description")
    kms = backends.client("kms")
    metadata = kms.create_key(**properties)["KeyMetadata"]
    if template.properties(logical_id, "EnableKeyRotation").get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["Arn"])
    backends.resources.update({logical_id: metadata["KeyId"], f"{logical_id}.Arn": metadata["Arn"]})


def _create_table(backends: LocalBackends, template: Template, logical_id: str) -> None:
    declared = template.properties(
        logical_id, "AttributeDefinitions", "KeySchema", "LocalSecondaryIndexes", "BillingMode"
    )
    name = f"{LOCAL_STACK}-{logical_id}"
    description = backends.client("dynamodb").create_table(TableName=name, **declared)["TableDescription"]
    backends.resources.update({logical_id: name, f"{logical_id}.Arn": description["TableArn"]})


def _create_queue(backends: LocalBackends, template: Template, logical_id: str) -> None:
    declared = template.properties(logical_id, "VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
    attributes = {
        name: json.dumps(value) if isinstance(value, dict) else str(value) for name, value in declared.items()
    }
    sqs = backends.client("sqs")
    url = sqs.create_queue(QueueName=f"{LOCAL_STACK}-{logical_id}", Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    backends.resources.update(
        {logical_id: url, f"{logical_id}.Arn": arn, f"{logical_id}.QueueName": arn.rsplit(":", 1)[-1]}
    )


def _create_rule(backends: LocalBackends, template: Template, logical_id: str) -> None:
    declared = template.properties(logical_id, "EventBusName", "EventPattern", "Targets")
    events = backends.client("events")
    name = f"{LOCAL_STACK}-{logical_id}"
    arn = events.put_rule(
        Name=name, EventBusName=declared["EventBusName"], EventPattern=json.dumps(declared["EventPattern"])
    )["RuleArn"]
    targets = [{"Id": target["Id"], "Arn": target["Arn"]} for target in declared["Targets"]]
    events.put_targets(Rule=name, EventBusName=declared["EventBusName"], Targets=targets)
    backends.resources.update({logical_id: name, f"{logical_id}.Arn": arn})


def local_function_spec(
    logical_id: str, backends: LocalStack, parameters: dict[str, str] | None = None
) -> FunctionSpec:
    """The function as template.yaml declares it, pointed at the local backends."""
    spec = backends.template(parameters).function(logical_id)
    spec.environment.update(backends.environment())
    return spec


def local_client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=FAKE_AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def apply_environment(variables: dict[str, str]) -> None:
    for name in AWS_VARIABLES_TO_CLEAR:
        os.environ.pop(name, None)
    os.environ.update(variables)


def serve() -> None:
    """`python -m local.stack.backends [sesame_latency_seconds]`: start the local backends, print the
    environment that points a function at them (one JSON line), and serve until killed."""
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415

    backends = start_local_backends(sesame_latency=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    print(json.dumps({"environment": backends.environment(), "stand_ins": backends.stand_ins()}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    serve()
