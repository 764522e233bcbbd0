"""Session-wide local backends (moto's server mode for Secrets Manager + KMS, the Sesame
simulator) and the real HTTP handler, configured from template.yaml as `make run` does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from local.lambda_context import LocalLambdaContext
from local.stack.backends import (
    LocalBackends,
    apply_environment,
    local_function_spec,
    start_local_backends,
)
from local.stack.environments import InProcessEnvironment
from local.stack.gateway import LocalGateway, api_routes, http_api_event, route_for
from local.template import FunctionSpec
from tests.support import canary
from tests.support.aws_calls import AwsCallLog
from tests.support.stack import (
    Account,
    Answer,
    RawBody,
    answer_of,
    assert_no_token_outside_secret_values,
    function_handler,
)

# The in-process functions share one configuration (settings are read once per process). The
# suite checks connections again and again, so its check function has no cooldown; the cooldown's
# own test runs the function as deployed, in a child process.
SUITE_PARAMETERS = {"CheckCooldownSeconds": "0"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The IAM proof reads the AWS calls every other test made: it runs last."""
    items.sort(key=lambda item: item.get_closest_marker("iam_proof") is not None)


@pytest.fixture(scope="session")
def backends() -> Iterator[LocalBackends]:
    started = start_local_backends()
    yield started
    assert_no_token_outside_secret_values(started)
    started.stop()


@pytest.fixture(scope="session")
def aws_calls() -> AwsCallLog:
    """Registered on the functions' botocore session before any of their clients is built."""
    from sesame_link.adapters import aws  # noqa: PLC0415 - the module the handlers import too

    log = AwsCallLog()
    aws.session.register("before-parameter-build", log.record)
    return log


@pytest.fixture(scope="session")
def link_spec(backends: LocalBackends, aws_calls: AwsCallLog) -> FunctionSpec:
    spec = local_function_spec("LinkFunction", backends, SUITE_PARAMETERS)
    apply_environment(spec.environment)
    return spec


@pytest.fixture(scope="session")
def link_handler(link_spec: FunctionSpec) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return function_handler(link_spec)


@pytest.fixture(scope="session")
def gateway(
    link_handler: Any, link_spec: FunctionSpec, check_handler: Any, check_spec: FunctionSpec
) -> Iterator[LocalGateway]:
    functions = {
        "LinkFunction": InProcessEnvironment(link_handler, link_spec),
        "CheckFunction": InProcessEnvironment(check_handler, check_spec),
    }
    started = LocalGateway(functions).start()
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _fresh_sesame_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "backends" in request.fixturenames:
        sim = request.getfixturevalue("backends").sesame
        sim.reset()
        sim.latency_seconds = 0.0


@pytest.fixture
def tenant() -> str:
    return f"auth0|{uuid.uuid4().hex[:24]}"


@pytest.fixture
def new_account(backends: LocalBackends) -> Callable[..., Account]:
    def create(region: str = "eu1", name: str = "Acme Iberia SL") -> Account:
        account = Account(canary.new_token(), region, str(uuid.uuid4()), name)
        backends.sesame.add_account(account.token, region, account.company_id, name)
        return account

    return create


@pytest.fixture
def post_link(link_handler: Any, link_spec: FunctionSpec) -> Callable[..., Answer]:
    """POST /connections through the real handler with an HTTP API v2 event."""

    def post(
        body: Any,
        tenant: str | None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
        claims: dict[str, Any] | None = None,
    ) -> Answer:
        payload = raw if raw is not None else json.dumps(body).encode()
        if claims is None and tenant is not None:
            claims = {"sub": tenant}
        event = http_api_event(
            "POST",
            "/connections",
            {"content-type": "application/json", **(headers or {})},
            payload,
            claims,
            "127.0.0.1",
        )
        return answer_of(link_handler(event, LocalLambdaContext(link_spec, timeout_seconds)))

    return post


@pytest.fixture
def api(
    link_handler: Any, link_spec: FunctionSpec, check_handler: Any, check_spec: FunctionSpec
) -> Callable[..., Answer]:
    """Any request to the HTTP API, routed as API Gateway routes it (template.yaml's routes, then
    $default) to the real handler, in this process."""
    routes = api_routes()
    functions = {"LinkFunction": (link_handler, link_spec), "CheckFunction": (check_handler, check_spec)}

    def call(
        method: str,
        target: str,
        tenant: str | None,
        *,
        body: Any = None,
        timeout_seconds: float | None = None,
    ) -> Answer:
        route, parameters = route_for(routes, method, target.split("?", 1)[0])
        payload = json.dumps(body).encode() if body is not None else b""
        claims = {"sub": tenant} if tenant is not None else None
        headers = {"content-type": "application/json"} if payload else {}
        event = http_api_event(method, target, headers, payload, claims, "127.0.0.1", route, parameters)
        handler, spec = functions[route.function]
        return answer_of(handler(event, LocalLambdaContext(spec, timeout_seconds)))

    return call


@pytest.fixture
def inject_aws_error(link_handler: Any) -> Iterator[Callable[..., None]]:
    """Make an AWS operation answer with a real error response (status 400, JSON protocol),
    parsed by botocore as any other: moto cannot fail on throttling, KMS state or EventBridge."""
    from sesame_link.handlers import runtime  # noqa: PLC0415 - imported by link_handler first

    clients = {
        "secrets-manager": runtime.secrets_client(),
        "eventbridge": runtime.events_client(),
        "dynamodb": runtime.dynamodb_client(),
        "budget": runtime.budget_client(),
        "sqs": runtime.sqs_client(),
        "kms": runtime.keyed_hash()._kms,
    }
    injected: list[tuple[Any, str, Callable[..., AWSResponse]]] = []

    def inject(code: str | Exception, operation: str = "secrets-manager.CreateSecret") -> None:
        """`code`: an error code to answer with, or an exception to raise as the transport would;
        `operation`: a client of `clients` and one of its operations ("budget" is the attempt
        budget's own DynamoDB client)."""

        def answer(request: Any, **_: Any) -> AWSResponse:
            if isinstance(code, Exception):
                raise code
            body = json.dumps({"__type": code, "message": "injected by the test"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1"}
            return AWSResponse(request.url, 400, headers, RawBody(body))

        name, _, action = operation.partition(".")
        client = clients[name]
        assert client is not None
        event_name = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{action}"
        client.meta.events.register_first(event_name, answer)
        injected.append((client, event_name, answer))

    yield inject
    for client, event_name, answer in injected:
        client.meta.events.unregister(event_name, answer)


@pytest.fixture(scope="session")
def provisioning_spec(backends: LocalBackends, link_spec: FunctionSpec) -> FunctionSpec:
    # link_spec applied the shared environment first: both functions share one runtime module.
    return local_function_spec("ProvisioningFunction", backends)


@pytest.fixture(scope="session")
def provisioning_handler(provisioning_spec: FunctionSpec) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return function_handler(provisioning_spec)


@pytest.fixture(scope="session")
def check_spec(backends: LocalBackends, link_spec: FunctionSpec) -> FunctionSpec:
    return local_function_spec("CheckFunction", backends, SUITE_PARAMETERS)


@pytest.fixture(scope="session")
def check_handler(check_spec: FunctionSpec) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return function_handler(check_spec)


@pytest.fixture(scope="session")
def sweep_spec(backends: LocalBackends, link_spec: FunctionSpec) -> FunctionSpec:
    return local_function_spec("SweepFunction", backends)


@pytest.fixture(scope="session")
def sweep_handler(sweep_spec: FunctionSpec) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return function_handler(sweep_spec)


@pytest.fixture(scope="session")
def outcome_queue(backends: LocalBackends) -> tuple[str, str]:
    sqs = backends.client("sqs")
    queue_url = sqs.create_queue(QueueName="outcomes-under-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(queue_url), str(queue_arn)


@pytest.fixture
def read_outcomes(
    backends: LocalBackends, outcome_queue: tuple[str, str], link_spec: FunctionSpec
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A rule on the outcome bus (the template's default: the stack's own) -> a queue, for this
    test only; reads back the outcome events published since the test started (and since the
    last call)."""
    sqs, events = backends.client("sqs"), backends.client("events")
    queue_url, queue_arn = outcome_queue
    bus = link_spec.environment["EVENT_BUS_NAME"]

    def read() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received

    read()
    rule = {"Name": "outcomes-under-test", "EventBusName": bus}
    events.put_rule(**rule, EventPattern=json.dumps({"source": ["sesame-link"]}))
    events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    yield read
    events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=["queue"])
    events.delete_rule(**rule)
