"""The metrics contract: dashboards and alarms (template.yaml's among them) read these names,
units and dimensions from the Embedded Metric Format lines the functions print. EMF as CloudWatch
documents it: each line's `_aws.CloudWatchMetrics` names the namespace, the dimension sets and
each metric's unit; the values are top-level members (CloudWatch User Guide, "Specification:
Embedded metric format")."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends
from local.stack.event_source import sqs_event_of
from local.stack.gateway import http_api_event
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec
from tests.support import canary
from tests.support.child_invoke import invoke_in_child
from tests.support.stack import Account, Answer

pytestmark = pytest.mark.integration
Api = Callable[..., Answer]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Datum:
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]


def emitted(output: str) -> list[Datum]:
    data = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "SesameLink"
        [dimension_names] = directive["Dimensions"]
        dimensions = {name: document[name] for name in dimension_names}
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            data.append(
                Datum(
                    metric["Name"],
                    metric["Unit"],
                    dimensions,
                    values if isinstance(values, list) else [values],
                )
            )
    return data


def named(data: list[Datum], name: str) -> list[Datum]:
    return [datum for datum in data if datum.name == name]


SERVICE = {"service": "sesame-link"}


def test_every_operation_publishes_its_documented_metric(
    api: Api,
    new_account: Callable[..., Account],
    backends: LocalBackends,
    tenant: str,
    inject_aws_error: Callable[..., None],
    capfd: pytest.CaptureFixture[str],
) -> None:
    account = new_account()
    link = {"token": account.token, "region": "eu1"}
    capfd.readouterr()
    backends.sesame.latency_seconds = 0.05
    try:
        cid = api("POST", "/connections", tenant, body=link).body["connection_id"]
        linking = emitted(capfd.readouterr().out)
    finally:
        backends.sesame.latency_seconds = 0.0
    backends.sesame.add_account(second := canary.new_token(), "eu1", account.company_id, account.company_name)
    api("POST", "/connections", tenant, body={"token": second, "region": "eu1"})
    api("POST", "/connections", tenant, body={"token": canary.new_token(), "region": "eu1"})
    api("POST", f"/connections/{cid}/check", tenant)
    backends.sesame.set_fault("eu1", Fault(status=401))
    api("POST", f"/connections/{cid}/check", tenant)
    backends.sesame.set_fault("eu1", None)
    inject_aws_error("InternalException", "eventbridge.PutEvents")
    assert api("DELETE", f"/connections/{cid}", tenant).status == 204
    rest = emitted(capfd.readouterr().out)

    [latency] = named(linking, "SesameLatency")
    assert (latency.unit, latency.dimensions) == ("Milliseconds", SERVICE)
    assert 50 <= latency.values[0] < 2000, "a real duration of the check, in milliseconds"
    links = named(linking, "Links") + named(rest, "Links")
    assert [(d.unit, d.dimensions, d.values) for d in links] == [
        ("Count", {**SERVICE, "outcome": outcome}, [1.0])
        for outcome in ("linked", "relinked", "invalid_token")
    ]
    checks = named(rest, "Checks")
    assert [(d.unit, d.dimensions, d.values) for d in checks] == [
        ("Count", {**SERVICE, "verdict": verdict}, [1.0]) for verdict in ("active", "invalid_token")
    ]
    [unlinks] = named(rest, "Unlinks")
    assert (unlinks.unit, unlinks.dimensions, unlinks.values) == ("Count", SERVICE, [1.0])
    [publish_failure] = named(rest, "OutcomePublishFailures")
    assert (publish_failure.unit, publish_failure.dimensions) == ("Count", SERVICE)


def test_the_sweep_publishes_how_many_checks_it_queued(
    sweep_handler: Handler, sweep_spec: FunctionSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    result = sweep_handler({}, LocalLambdaContext(sweep_spec))
    [queued] = named(emitted(capfd.readouterr().out), "ChecksQueued")
    assert (queued.unit, queued.dimensions, queued.values) == ("Count", SERVICE, [float(result["queued"])])


def test_a_check_from_the_queue_counts_by_verdict_once(
    api: Api,
    new_account: Callable[..., Account],
    tenant: str,
    check_handler: Handler,
    check_spec: FunctionSpec,
    capfd: pytest.CaptureFixture[str],
) -> None:
    account = new_account()
    cid = api("POST", "/connections", tenant, body={"token": account.token, "region": "eu1"}).body[
        "connection_id"
    ]
    capfd.readouterr()
    message = json.dumps({"tenant_id": tenant, "connection_id": cid})
    check_handler(sqs_event_of([message]), LocalLambdaContext(check_spec))
    checks = named(emitted(capfd.readouterr().out), "Checks")
    assert [(d.dimensions, d.values) for d in checks] == [({**SERVICE, "verdict": "active"}, [1.0])]


def test_metrics_are_written_at_every_log_level(
    backends: LocalBackends, new_account: Callable[..., Account], link_spec: FunctionSpec
) -> None:
    """LogLevel ERROR as deployed (POWERTOOLS_LOG_LEVEL): no log line below ERROR, and the EMF line
    all the same (template.yaml's LogFormat Text: Lambda filters no line by level)."""
    account = new_account()
    event = http_api_event(
        "POST", "/connections", {"content-type": "application/json"},
        json.dumps({"token": account.token, "region": "eu1"}).encode(), {"sub": "tenant-quiet"}, "::1",
    )  # fmt: skip
    environment = {
        **link_spec.environment,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        # The simulator by path: the child has no local resolver for api-{region}.sesame.test.
        "SESAME_API_URL": f"http://127.0.0.1:{backends.sesame.port}/{{region}}",
    }
    result = invoke_in_child(backends, "LinkFunction", event, environment, timeout=15)
    assert result["answer"]["statusCode"] == 201
    output = "\n".join(result["logs"])
    assert '"Links":[1.0]' in output
    assert '"Sesame account linked"' not in output, "INFO lines are filtered at ERROR"
