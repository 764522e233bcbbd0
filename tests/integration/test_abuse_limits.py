"""DESIGN.md "Abuse limits" through the real handlers and the local DynamoDB: the budget of
unsuccessful link attempts per tenant, the cap on connections, the cooldown of "check now"."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore.exceptions import ReadTimeoutError

from local.lambda_context import LocalLambdaContext
from local.stack.backends import LocalBackends, local_function_spec
from local.stack.environments import ProcessEnvironments
from local.stack.gateway import LocalGateway, http_api_event
from local.stack.sesame_sim import Fault
from local.template import FunctionSpec
from tests.integration.test_provisioning import submitted
from tests.support import canary
from tests.support.child_invoke import invoke_in_child
from tests.support.stack import Account, Answer, assert_problem, user_jwt

pytestmark = pytest.mark.integration
Api = Callable[..., Answer]
NewAccount = Callable[..., Account]
PER_QUARTER_HOUR = 5  # the template's default LinkAttemptsPer15Minutes
MAX_CONNECTIONS = 20  # the template's default MaxConnectionsPerTenant


def link(api: Api, tenant: str, token: str, region: str = "eu1") -> Answer:
    return api("POST", "/connections", tenant, body={"token": token, "region": region})


def link_up_to_the_cap(api: Api, new_account: NewAccount, tenant: str) -> list[Account]:
    accounts = [new_account() for _ in range(MAX_CONNECTIONS)]
    for account in accounts:
        assert link(api, tenant, account.token).status == 201
    return accounts


@pytest.fixture
def provision(provisioning_handler: Any, provisioning_spec: FunctionSpec) -> Callable[[str, Account], Any]:
    """One submitted credential through the provisioning function, as a plain EventBridge event."""

    def submit(tenant: str, account: Account) -> Any:
        event = submitted(tenant, account.token, "eu1")
        return provisioning_handler(event, LocalLambdaContext(provisioning_spec))

    return submit


def spend_the_budget(api: Api, tenant: str) -> None:
    for _ in range(PER_QUARTER_HOUR):
        assert_problem(link(api, tenant, canary.new_token()), 422, "invalid_token")


def test_past_the_budget_a_link_is_429_with_retry_after_and_nothing_reaches_sesame(
    api: Api, backends: LocalBackends, new_account: NewAccount, tenant: str
) -> None:
    spend_the_budget(api, tenant)
    asked = len(backends.sesame.seen())
    good = new_account()

    refused = link(api, tenant, good.token)

    assert_problem(refused, 429, "link_attempts_exhausted", retryable=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert len(backends.sesame.seen()) == asked, "nothing was sent to Sesame"
    assert link(api, f"other-{tenant}", good.token).status == 201, "another tenant's budget is its own"


def test_a_spent_budget_never_blocks_reading_listing_checking_or_unlinking(
    api: Api, new_account: NewAccount, tenant: str
) -> None:
    linked = link(api, tenant, new_account().token).body
    spend_the_budget(api, tenant)
    path = f"/connections/{linked['connection_id']}"

    assert api("GET", "/connections", tenant).status == 200
    assert api("GET", path, tenant).status == 200
    assert api("POST", f"{path}/check", tenant).status == 200
    assert api("DELETE", path, tenant).status == 204


def test_a_success_or_a_transient_failure_spends_nothing(
    api: Api, backends: LocalBackends, new_account: NewAccount, tenant: str
) -> None:
    backends.sesame.set_fault("eu1", Fault(status=503))
    for _ in range(PER_QUARTER_HOUR + 1):
        assert_problem(link(api, tenant, new_account().token), 502, "sesame_unavailable", retryable=True)
    backends.sesame.set_fault("eu1", None)
    for _ in range(PER_QUARTER_HOUR + 1):
        assert link(api, tenant, new_account().token).status == 201
    spend_the_budget(api, tenant)  # the whole budget is still there


@pytest.mark.parametrize(
    "failure",
    [ReadTimeoutError(endpoint_url="http://127.0.0.1"), "ProvisionedThroughputExceededException"],
    ids=["no answer", "throttled"],
)
def test_an_unavailable_budget_lets_the_link_go_on_and_counts_it(
    api: Api,
    new_account: NewAccount,
    tenant: str,
    inject_aws_error: Callable[..., None],
    capfd: pytest.CaptureFixture[str],
    failure: str | Exception,
) -> None:
    inject_aws_error(failure, "budget.UpdateItem")
    assert link(api, tenant, new_account().token).status == 201
    assert '"LinkBudgetUnavailable":[1.0]' in capfd.readouterr().out


def test_the_provisioning_door_has_a_budget_of_its_own(
    api: Api, provision: Callable[[str, Account], Any], new_account: NewAccount, tenant: str
) -> None:
    spend_the_budget(api, tenant)
    assert provision(tenant, new_account()) == {"outcome": "linked"}


def test_a_new_connection_beyond_the_cap_is_409_and_stores_nothing_but_a_relink_is_not_refused(
    api: Api, backends: LocalBackends, new_account: NewAccount, tenant: str
) -> None:
    accounts = link_up_to_the_cap(api, new_account, tenant)

    beyond = link(api, tenant, new_account().token)

    assert_problem(beyond, 409, "connection_limit_reached")
    assert len(api("GET", "/connections?limit=100", tenant).body["connections"]) == MAX_CONNECTIONS
    assert link(api, tenant, accounts[0].token).status == 200, "linking an existing one again"
    assert link(api, f"other-{tenant}", new_account().token).status == 201


def test_the_provisioning_door_keeps_to_the_cap_too(
    api: Api, provision: Callable[[str, Account], Any], new_account: NewAccount, tenant: str
) -> None:
    accounts = link_up_to_the_cap(api, new_account, tenant)

    assert provision(tenant, new_account()) == {"outcome": "connection_limit_reached"}, "dropped, not retried"
    assert provision(tenant, accounts[0]) == {"outcome": "relinked"}


def test_check_now_asks_sesame_once_per_cooldown(
    api: Api, backends: LocalBackends, new_account: NewAccount, tenant: str, check_spec: FunctionSpec
) -> None:
    """The check function as deployed (CheckCooldownSeconds 60), each call in a process of its own:
    the cooldown lives in the registry, not in an execution environment."""
    linked = link(api, tenant, new_account().token).body
    path = f"/connections/{linked['connection_id']}/check"
    event = http_api_event("POST", path, {}, b"", {"sub": tenant}, "::1")
    event["pathParameters"] = {"connection_id": linked["connection_id"]}
    environment = {
        **check_spec.environment,
        "CHECK_COOLDOWN_SECONDS": "60",
        # The simulator by path: the child has no local resolver for api-{region}.sesame.test.
        "SESAME_API_URL": f"http://127.0.0.1:{backends.sesame.port}/{{region}}",
    }
    asked = len(backends.sesame.seen())

    answers = [invoke_in_child(backends, "CheckFunction", event, environment, timeout=15) for _ in range(2)]

    assert [answer["answer"]["statusCode"] for answer in answers] == [200, 200]
    assert len(backends.sesame.seen()) == asked + 1, "the second check within the cooldown asked nothing"


@pytest.fixture(scope="module")
def gateway_of_four(backends: LocalBackends) -> Iterator[LocalGateway]:
    """The link function in four execution environments (processes), as Lambda scales out."""
    spec = local_function_spec("LinkFunction", backends)
    environments = ProcessEnvironments(spec, 4)
    started = LocalGateway({"LinkFunction": environments}).start()
    yield started
    started.stop()
    environments.close()


def test_32_simultaneous_bad_attempts_of_one_tenant_reach_sesame_at_most_the_budget(
    gateway_of_four: LocalGateway, backends: LocalBackends
) -> None:
    tenant, attempts = f"oracle-{uuid.uuid4().hex[:8]}", 32
    barrier = threading.Barrier(attempts)
    before = [seen for seen in backends.sesame.seen() if seen.region == "eu1"]

    def attempt(_: int) -> int:
        barrier.wait()
        return requests.post(
            f"{gateway_of_four.url}/connections",
            json={"token": canary.new_token(), "region": "eu1"},
            headers={"Authorization": f"Bearer {user_jwt(tenant)}"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = sorted(pool.map(attempt, range(attempts)))

    asked = [seen for seen in backends.sesame.seen() if seen.region == "eu1"]
    assert len(asked) - len(before) == PER_QUARTER_HOUR
    assert statuses == [422] * PER_QUARTER_HOUR + [429] * (attempts - PER_QUARTER_HOUR)
