"""One measurement, in a fresh process (`local/bench.py` drives it). The first lines run before
any import on purpose: a cold start counts every import.

  handler|floor cold N   serve N links after a cold start; print the process's time to the first answer
  handler|floor warm N   serve N links in a warm process; print per-link wall and CPU time
  handler rss N          serve N links; print the peak RSS
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402

TOKEN = "sesame-demo-token-eu1-00000000000000000000"


def handler_link() -> Callable[[str], int]:
    sys.path.insert(0, os.environ["BENCH_CODE_DIR"])
    from sesame_link.handlers.api import handler  # noqa: PLC0415 - the import is what is measured

    body = json.dumps({"token": TOKEN, "region": "eu1"})

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 15000

    def link(tenant: str) -> int:
        event = {
            "version": "2.0",
            "routeKey": "POST /connections",
            "rawPath": "/connections",
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "body": body,
            "isBase64Encoded": False,
            "requestContext": {
                "http": {
                    "method": "POST",
                    "path": "/connections",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "bench",
                },
                "requestId": tenant,
                "routeKey": "POST /connections",
                "stage": "$default",
                "authorizer": {"jwt": {"claims": {"sub": tenant}, "scopes": None}},
            },
        }
        return int(handler(event, Context())["statusCode"])

    return link


def floor_link() -> Callable[[str], int]:
    """The physical floor: the same two calls with only json, boto3 and requests."""
    import boto3  # noqa: PLC0415
    import requests  # noqa: PLC0415

    session = requests.Session()
    secrets = boto3.client("secretsmanager")
    url = os.environ["SESAME_API_URL"].format(region="eu1") + "/core/v3/info"
    key, prefix = os.environ["KMS_KEY_ID"], os.environ["SECRET_PREFIX"]

    def link(tenant: str) -> int:
        company = session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()["data"][
            "company"
        ]
        value = json.dumps({"token": TOKEN, "region": "eu1", "company_id": company["id"]})
        secrets.create_secret(
            Name=f"{prefix}/{tenant}/sesame/{company['id']}",
            SecretString=value,
            KmsKeyId=key,
            Tags=[{"Key": "tenant", "Value": tenant}],
        )
        return 201

    return link


def main() -> None:
    kind, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    link = handler_link() if kind == "handler" else floor_link()
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


if __name__ == "__main__":
    main()
