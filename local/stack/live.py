"""`LIVE=1`: the functions run here against a deployed stack's real resources and the real Sesame.
The template's references resolve to that stack's resources, read from CloudFormation."""

from __future__ import annotations

from typing import Any

import boto3

# How each resource type's physical id becomes the template's `X` and `X.Arn` references.
_ARN_FORMATS = {
    "AWS::KMS::Key": "arn:{partition}:kms:{region}:{account}:key/{physical}",
    "AWS::DynamoDB::Table": "arn:{partition}:dynamodb:{region}:{account}:table/{physical}",
    "AWS::Events::EventBus": "arn:{partition}:events:{region}:{account}:event-bus/{physical}",
}


def deployed_stand_ins(profile: str, stack: str) -> dict[str, str]:
    session = boto3.session.Session(profile_name=profile)
    identity = session.client("sts").get_caller_identity()
    partition = identity["Arn"].split(":")[1]
    pseudo = {
        "AWS::Region": session.region_name or "",
        "AWS::AccountId": identity["Account"],
        "AWS::Partition": partition,
        "AWS::StackName": stack,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resources = session.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    pseudo["AWS::StackId"] = resources[0]["StackId"]
    stand_ins = dict(pseudo)
    for resource in resources:
        stand_ins.update(_references(resource, pseudo))
    return stand_ins


def _references(resource: dict[str, Any], pseudo: dict[str, str]) -> dict[str, str]:
    logical, physical, kind = (
        resource["LogicalResourceId"],
        resource["PhysicalResourceId"],
        resource["ResourceType"],
    )
    names = {
        "partition": pseudo["AWS::Partition"],
        "region": pseudo["AWS::Region"],
        "account": pseudo["AWS::AccountId"],
    }
    if kind == "AWS::SQS::Queue":  # the physical id is the queue's URL
        name = physical.rsplit("/", 1)[-1]
        arn = f"arn:{names['partition']}:sqs:{names['region']}:{names['account']}:{name}"
        return {logical: physical, f"{logical}.Arn": arn, f"{logical}.QueueName": name}
    if kind in _ARN_FORMATS:
        return {logical: physical, f"{logical}.Arn": _ARN_FORMATS[kind].format(physical=physical, **names)}
    return {logical: physical}
