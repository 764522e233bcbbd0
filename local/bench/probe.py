"""One measurement, in a fresh process (`local/bench/bench.py` drives it). The first lines run before
any import on purpose: a cold start counts every import.

  handler|floor|peer cold N  serve N links after a cold start; print the time to the first answer
                           (floor: the bare I/O; peer: the same I/O behind Powertools' resolver;
                           botocore-floor: the floor's I/O on botocore's session, no boto3 import)
  handler|floor|peer warm N  serve N links in a warm process; print per-link wall and CPU time, peak RSS
  function ID cold ARG     another function's import + first invocation (ARG: its input, see below)
  function-floor ID cold ARG  the same invocation's I/O, bare (FLOORS)
  modules HANDLER          the modules of the card's libraries (Powertools, pydantic) its import loads
  libraries FILE           the import of those modules (listed in FILE), after the floor's imports
  costs N                  Sesame requests and AWS calls per operation; the sweep over N due connections
"""

import time

STARTED = time.perf_counter()

import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

TOKEN = "sesame-demo-token-eu1-00000000000000000000"
LIBRARIES = ("aws_lambda_powertools", "pydantic")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30000


def handler_of(module: str) -> Handler:
    sys.path.insert(0, os.environ["BENCH_CODE_DIR"])
    imported = __import__(f"sesame_link.handlers.{module}", fromlist=["handler"])
    handler: Handler = imported.handler
    return handler


def http_event(
    method: str, path: str, tenant: str, body: str = "", parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    route = {"connection_id": "{connection_id}"}
    route_path = path
    for name, value in (parameters or {}).items():
        route_path = route_path.replace(value, route[name])
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"} if body else {},
        "isBase64Encoded": False,
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route_path}",
            "stage": "$default",
            "authorizer": {"jwt": {"claims": {"sub": tenant}, "scopes": None}},
        },
    }
    if body:
        event["body"] = body
    if parameters:
        event["pathParameters"] = parameters
    return event


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    record = {
        "receiptHandle": "r",
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench",
        "awsRegion": "eu-west-1",
    }
    return {
        "Records": [{**record, "messageId": f"m-{index}", "body": body} for index, body in enumerate(bodies)]
    }


def handler_link() -> Callable[[str], int]:
    handler = handler_of("api")  # the import is what is measured
    body = json.dumps({"token": TOKEN, "region": "eu1"})
    return lambda tenant: int(
        handler(http_event("POST", "/connections", tenant, body), Context())["statusCode"]
    )


def link_io(sdk: str = "boto3") -> Callable[[str, str, str], dict[str, str]]:
    """The physical floor of a link, with only json, hmac, boto3 (or botocore alone: `sdk`, as the
    functions make their clients) and requests: an attempt reserved
    from the tenant's budget; the Sesame check; the tenant's connections counted against the cap;
    once per process the keyed hash's root key; the secret (looked up, then created, its version
    named by the keyed hash, its resource policy written); the registry entry; the attempt given
    back. Answers the Sesame company."""
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    import requests  # noqa: PLC0415

    session = requests.Session()
    client = sdk_clients(sdk)
    secrets, kms, dynamodb = (client(service) for service in ("secretsmanager", "kms", "dynamodb"))
    key, prefix, table, attempts = (
        os.environ["KMS_KEY_ID"],
        os.environ["SECRET_PREFIX"],
        os.environ["CONNECTIONS_TABLE"],
        os.environ["ATTEMPTS_TABLE"],
    )
    reader_policy = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*"}]})
    root: list[bytes] = []

    def budget(tenant: str, change: str, condition: str, bound: str) -> None:
        dynamodb.update_item(
            TableName=attempts,
            Key={"window": {"S": f"link#{int(time.time()) // 86400}#{tenant}"}},
            UpdateExpression="ADD day_attempts :change, q0 :change",
            ConditionExpression=condition,
            ExpressionAttributeValues={":change": {"N": change}, ":bound": {"N": bound}},
        )

    def link(tenant: str, token: str, region: str) -> dict[str, str]:
        budget(tenant, "1", "attribute_not_exists(day_attempts) OR day_attempts < :bound", "20")
        company: dict[str, str] = sesame_info(session, token, region)
        value = json.dumps(
            {"token": token, "region": region, "company_id": company["id"], "company_name": company["name"]}
        )
        if not root:
            root.append(
                kms.generate_mac(
                    KeyId=os.environ["MAC_KEY_ID"], Message=b"root", MacAlgorithm="HMAC_SHA_256"
                )["Mac"]
            )
        dynamodb.query(
            TableName=table,
            IndexName="newest-link-first",
            KeyConditionExpression="tenant = :tenant",
            ExpressionAttributeValues={":tenant": {"S": tenant}},
            Select="COUNT",
            Limit=20,
        )
        name = f"{prefix}/{tenant}/sesame/{company['id']}"
        try:
            secrets.describe_secret(SecretId=name)
        except secrets.exceptions.ResourceNotFoundException:
            version = hmac.new(root[0], value.encode(), hashlib.sha256).hexdigest()
            tags = {"tenant": tenant, "provider": "sesame_hr", "region": region, "company": company["id"]}
            secrets.create_secret(
                Name=name,
                SecretString=value,
                KmsKeyId=key,
                ClientRequestToken=version,
                Description="Sesame HR API token",
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )
        secrets.put_resource_policy(SecretId=name, ResourcePolicy=reader_policy, BlockPublicPolicy=True)
        # The registry entry a link writes, as the service writes it (the emulator parses it).
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        values = {
            **{"region": region, "company_id": company["id"], "company_name": company["name"]},
            **{"token_hint": token[-4:], "secret_arn": name, "status": "active"},
            **{"checked_at": now, "linked_at": now, "linked_order": now},
        }
        dynamodb.update_item(
            TableName=table,
            Key={"tenant": {"S": tenant}, "connection_id": {"S": company["id"]}},
            UpdateExpression="SET #region = :region, company_id = :company_id, company_name = :company_name,"
            " token_hint = :token_hint, secret_arn = :secret_arn, #status = :status,"
            " checked_at = :checked_at, linked_at = if_not_exists(linked_at, :linked_at),"
            " linked_order = if_not_exists(linked_order, :linked_order) REMOVE status_reason",
            ExpressionAttributeNames={"#region": "region", "#status": "status"},
            ExpressionAttributeValues={f":{k}": {"S": v} for k, v in values.items()},
            ReturnValues="ALL_OLD",
        )
        budget(tenant, "-1", "day_attempts > :bound", "0")
        return company

    return link


def sesame_info(session: Any, token: str, region: str) -> dict[str, str]:
    url = os.environ["SESAME_API_URL"].format(region=region) + "/core/v3/info"
    answer = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    company: dict[str, str] = answer.json()["data"]["company"]
    return company


def sdk_clients(sdk: str) -> Callable[[str], Any]:
    if sdk == "botocore":
        import botocore.session  # noqa: PLC0415

        return botocore.session.Session().create_client
    import boto3  # noqa: PLC0415

    return boto3.client


def floor_link(sdk: str = "boto3") -> Callable[[str], int]:
    link = link_io(sdk)
    return lambda tenant: (link(tenant, TOKEN, "eu1"), 201)[1]


def peer_link() -> Callable[[str], int]:
    """The Powertools peer: the floor's I/O in a handler as a competent user of the card's
    libraries writes it, after Powertools' own examples: the same resolver
    (APIGatewayHttpResolver), the body read into a pydantic model, the tenant from the JWT."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # noqa: PLC0415
    from pydantic import BaseModel, Field  # noqa: PLC0415

    class LinkBody(BaseModel):
        token: str = Field(min_length=20, max_length=256)
        region: str = Field(pattern=r"^[a-z]{2}[0-9]$")

    app = APIGatewayHttpResolver()
    link = link_io()

    @app.post("/connections")
    def create_connection() -> tuple[dict[str, str], int]:
        body = LinkBody.model_validate_json(app.current_event.body or "")
        tenant = app.current_event.request_context.authorizer.jwt_claim["sub"]
        company = link(tenant, body.token, body.region)
        answer = {"connection_id": company["id"], "company": company["name"], "token": f"…{body.token[-4:]}"}
        return answer, 201

    body = json.dumps({"token": TOKEN, "region": "eu1"})
    return lambda tenant: int(
        app.resolve(http_event("POST", "/connections", tenant, body), Context())["statusCode"]
    )


LINKS: dict[str, Callable[[], Callable[[str], int]]] = {
    "handler": handler_link,
    "floor": floor_link,
    "peer": peer_link,
    "botocore-floor": lambda: floor_link("botocore"),
}


def links(kind: str, mode: str, count: int) -> None:
    link = LINKS[kind]()
    tenants = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    if mode == "cold":
        status = link(tenants[0])
        print(json.dumps({"first_answer_seconds": time.perf_counter() - STARTED, "status": status}))
        return
    link(f"bench-warmup-{uuid.uuid4().hex[:12]}")
    wall, cpu = time.perf_counter(), time.process_time()
    statuses = {link(tenant) for tenant in tenants}
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "wall_per_link": wall / count,
                "cpu_per_link": cpu / count,
                "peak_rss_mb": peak_rss_mb,
                "statuses": sorted(statuses),
            }
        )
    )


# Another function's first invocation: (handler module, event from the probe's argument).
FUNCTIONS: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "ProvisioningFunction": (
        "provisioning",
        lambda tenant: sqs_event(
            [
                json.dumps(
                    {
                        "detail-type": "Sesame Credential Submitted",
                        "detail": {"tenant_id": tenant, "token": TOKEN, "region": "eu1"},
                    }
                )
            ]
        ),
    ),
    "CheckFunction": ("check", lambda message: sqs_event([message])),
    "SweepFunction": ("sweep", lambda _: {"source": "aws.scheduler", "detail": {}}),
}


def provisioning_floor() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The floor of the provisioning function: each record's body parsed, then a link's I/O."""
    link = link_io()

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            detail = json.loads(record["body"])["detail"]
            link(detail["tenant_id"], detail["token"], detail["region"])
        return {"batchItemFailures": []}

    return handle


def check_floor() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The floor of a queued check: the registry entry read, the secret read, the Sesame check,
    the verdict written on the condition that the entry is still the one read."""
    import boto3  # noqa: PLC0415
    import requests  # noqa: PLC0415

    session = requests.Session()
    secrets, dynamodb = boto3.client("secretsmanager"), boto3.client("dynamodb")
    table = os.environ["CONNECTIONS_TABLE"]

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            message = json.loads(record["body"])
            key = {"tenant": {"S": message["tenant_id"]}, "connection_id": {"S": message["connection_id"]}}
            entry = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
            secret = secrets.get_secret_value(SecretId=entry["secret_arn"]["S"], VersionStage="AWSCURRENT")
            credential = json.loads(secret["SecretString"])
            sesame_info(session, credential["token"], credential["region"])
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET #status = :status, checked_at = :checked_at REMOVE status_reason",
                ConditionExpression="attribute_exists(connection_id) AND linked_at = :linked_at",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": "active"},
                    ":checked_at": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                    ":linked_at": entry["linked_at"],
                },
            )
        return {"batchItemFailures": []}

    return handle


def sweep_floor() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The floor of a sweep: the registry scanned by pages for entries checked before the cutoff,
    each page's due entries queued for a check, ten a call."""
    import boto3  # noqa: PLC0415

    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table, queue = os.environ["CONNECTIONS_TABLE"], os.environ["CHECK_QUEUE_URL"]
    max_age = float(os.environ["HEALTH_CHECK_MAX_AGE_HOURS"]) * 3600

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - max_age))
        scan: dict[str, Any] = {
            "TableName": table,
            "ProjectionExpression": "tenant, connection_id",
            "FilterExpression": "checked_at < :cutoff",
            "ExpressionAttributeValues": {":cutoff": {"S": cutoff}},
            "Limit": 500,
        }
        queued = 0
        while True:
            page = dynamodb.scan(**scan)
            due = [
                json.dumps({"tenant_id": item["tenant"]["S"], "connection_id": item["connection_id"]["S"]})
                for item in page.get("Items", [])
            ]
            for start in range(0, len(due), 10):
                batch = due[start : start + 10]
                entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(batch)]
                sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            queued += len(due)
            if "LastEvaluatedKey" not in page:
                return {"queued": queued}
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return handle


FLOORS: dict[str, Callable[[], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "ProvisioningFunction": provisioning_floor,
    "CheckFunction": check_floor,
    "SweepFunction": sweep_floor,
}


def function_cold(kind: str, logical_id: str, argument: str) -> None:
    """Another function's import + first invocation (kind `function`), or its floor's (`floor`)."""
    module, event_of = FUNCTIONS[logical_id]
    if kind == "function":
        handler = handler_of(module)
        answer = handler(event_of(argument), Context())
    else:
        answer = FLOORS[logical_id]()(event_of(argument))
    print(json.dumps({"first_answer_seconds": time.perf_counter() - STARTED, "answer": answer}))


def library_modules(module: str) -> None:
    handler_of(module)
    names = [name for name in sys.modules if name.partition(".")[0] in LIBRARIES]
    print(json.dumps({"modules": names}))


def library_import(listing: str) -> None:
    """The card's libraries alone: imported after what the floor imports, with the cyclic collector
    paused as the handlers pause it, in the order the handler imported them."""
    import boto3  # noqa: F401, PLC0415
    import requests  # noqa: F401, PLC0415

    with open(listing, encoding="utf-8") as modules:
        names = json.load(modules)
    gc.disable()
    started = time.perf_counter()
    for name in names:
        importlib.import_module(name)
    print(json.dumps({"library_import_seconds": time.perf_counter() - started}))


class Meter:
    """Counts the AWS calls (by operation) and the Sesame requests the functions make."""

    def __init__(self) -> None:
        self.aws: Counter[str] = Counter()
        self.sesame = 0

    def install_before_clients(self) -> None:
        """On the functions' botocore session, before their clients exist (each copies its hooks)."""
        sys.path.insert(0, os.environ["BENCH_CODE_DIR"])
        from sesame_link.adapters import aws  # noqa: PLC0415

        aws.session.register("before-parameter-build", lambda model, **_: self.aws.update([model.name]))

    def install_on_sesame(self) -> None:
        from sesame_link.handlers import runtime  # noqa: PLC0415

        runtime.sesame()._session.hooks["response"].append(self.count_sesame)  # the client's own session

    def count_sesame(self, response: Any, **_: Any) -> None:
        self.sesame += 1

    def measure(self, operation: Callable[[], Any]) -> dict[str, Any]:
        self.aws.clear()
        self.sesame = 0
        operation()
        return {"sesame_requests": self.sesame, "aws_calls": dict(sorted(self.aws.items()))}


def costs(due: int) -> None:
    meter = Meter()
    meter.install_before_clients()
    api, check, sweep = handler_of("api"), handler_of("check"), handler_of("sweep")
    meter.install_on_sesame()
    tenant = f"bench-costs-{uuid.uuid4().hex[:8]}"
    link_body = json.dumps({"token": TOKEN, "region": "eu1"})
    first = meter.measure(lambda: api(http_event("POST", "/connections", tenant, link_body), Context()))
    connection = json.loads(api(http_event("GET", "/connections", tenant), Context())["body"])["connections"][
        0
    ]["connection_id"]
    path = f"/connections/{connection}"
    params = {"connection_id": connection}
    table = {
        "link (first in an execution environment)": first,
        "link again, same token": meter.measure(
            lambda: api(http_event("POST", "/connections", tenant, link_body), Context())
        ),
        "list (one page)": meter.measure(lambda: api(http_event("GET", "/connections", tenant), Context())),
        "read": meter.measure(lambda: api(http_event("GET", path, tenant, parameters=params), Context())),
        "check (HTTP door)": meter.measure(
            lambda: check(http_event("POST", f"{path}/check", tenant, parameters=params), Context())
        ),
        "check (queue door, one message)": meter.measure(
            lambda: check(
                sqs_event([json.dumps({"tenant_id": tenant, "connection_id": connection})]), Context()
            )
        ),
        "unlink": meter.measure(
            lambda: api(http_event("DELETE", path, tenant, parameters=params), Context())
        ),
        "link after an unlink (restores)": meter.measure(
            lambda: api(http_event("POST", "/connections", tenant, link_body), Context())
        ),
    }
    seed_due(due)
    started = time.perf_counter()
    answers: list[dict[str, Any]] = []
    swept = meter.measure(lambda: answers.append(sweep({}, Context())))
    seconds = time.perf_counter() - started
    table[f"sweep of {answers[0]['queued']} due connections"] = swept
    print(
        json.dumps(
            {
                "costs": table,
                "sweep": {
                    "queued": answers[0]["queued"],
                    "seconds": seconds,
                    "calls": sum(swept["aws_calls"].values()),
                },
            }
        )
    )


def seed_due(count: int) -> None:
    """`count` registry entries checked long ago, written straight into the table."""
    import boto3  # noqa: PLC0415

    dynamodb, table = boto3.client("dynamodb"), os.environ["CONNECTIONS_TABLE"]
    tenant = f"bench-sweep-{uuid.uuid4().hex[:8]}"
    items = [
        {
            "tenant": {"S": tenant},
            "connection_id": {"S": f"conn_{index:032x}"},
            "checked_at": {"S": "2026-01-01T00:00:00Z"},
        }
        for index in range(count)
    ]
    for start in range(0, count, 25):
        dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )


def main() -> None:
    if sys.argv[1] in ("function", "function-floor"):
        function_cold(sys.argv[1], sys.argv[2], sys.argv[4])
    elif sys.argv[1] == "costs":
        costs(int(sys.argv[2]))
    elif sys.argv[1] == "modules":
        library_modules(sys.argv[2])
    elif sys.argv[1] == "libraries":
        library_import(sys.argv[2])
    else:
        links(sys.argv[1], sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    main()
