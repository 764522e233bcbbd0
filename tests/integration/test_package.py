"""The deployment package as `make build` assembles it, for this machine's Python: the pinned
dependencies with the SDK (boto3, botocore), less what functions/Makefile removes as unused and
botocore's data for other services, plus bytecode. Each handler runs from it in a process that
sees nothing else but the standard library: a removal that something imports, or a service whose
data was trimmed, fails here; so does an SDK that is not the package's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.build.package import LocalPackage, assemble_local_package
from local.stack.backends import DEMO_ACCOUNTS, LocalBackends, local_function_spec
from local.template import FunctionSpec

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
INVOKE = """
import importlib, importlib.util, json, os, sys
module_name, _, attribute = sys.argv[1].rpartition(".")
module = importlib.import_module(module_name)

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "package", 512, "package-test"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:package"
    get_remaining_time_in_millis = staticmethod(lambda: 15000)

answer = getattr(module, attribute)(json.load(open(sys.argv[2])), Context())
package = sys.argv[3]
files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
loaded = [f for f in files if f.startswith(package) and f.endswith(".py")]
compiled = [f for f in loaded if os.path.exists(importlib.util.cache_from_source(f))]
unused = [name for name in ("boto3", "s3transfer", "multiprocessing") if name in sys.modules]
import boto3, botocore, requests
sdk = {m.__name__: [m.__version__, m.__file__.startswith(package)] for m in (boto3, botocore, requests)}
print(json.dumps({"answer": answer, "loaded": len(loaded), "compiled": len(compiled), "sdk": sdk,
                  "unused": unused}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> LocalPackage:
    return assemble_local_package(tmp_path_factory.mktemp("package"))


def invoke_from_package(
    package: LocalPackage, spec: FunctionSpec, backends: LocalBackends, event: str
) -> Any:
    environment = {
        "PATH": os.environ["PATH"],
        **spec.environment,
        # The simulator by path: the child has no local resolver for api-{region}.sesame.test.
        "SESAME_API_URL": f"http://127.0.0.1:{backends.sesame.port}/{{region}}",
        "PYTHONPATH": package.python_path(),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
    }
    child = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            INVOKE,
            spec.handler,
            str(ROOT / "events" / event),
            str(package.code),
        ],
        cwd=package.code,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = child.stdout + child.stderr
    assert child.returncode == 0, output[-3000:]
    assert not any(token in output for token, *_ in DEMO_ACCOUNTS)
    return json.loads(child.stdout.strip().splitlines()[-1])


PINNED = dict(
    line.split("==")
    for line in (ROOT / "functions" / "requirements.txt").read_text().splitlines()
    if "==" in line
)
HANDLERS = {
    "LinkFunction": ("link-good.json", lambda answer: answer["statusCode"] in (200, 201)),
    "ProvisioningFunction": (
        "eventbridge-submitted.json",
        lambda answer: answer["outcome"] in ("linked", "relinked"),
    ),
    "CheckFunction": ("sqs-check-batch.json", lambda answer: answer == {"batchItemFailures": []}),
    "SweepFunction": ("sweep-scheduled.json", lambda answer: answer["continued"] is False),
}


def test_the_package_leaves_out_what_the_makefile_lists(package: LocalPackage) -> None:
    code = package.code
    assert not (code / "pydantic" / "v1").exists()
    assert not (code / "aws_lambda_powertools" / "utilities" / "idempotency").exists()
    assert sorted(path.name for path in (code / "botocore" / "data").iterdir() if path.is_dir()) == [
        "dynamodb",
        "events",
        "kms",
        "secretsmanager",
        "sqs",
    ]
    assert (code / "sesame_link" / "handlers" / "api.py").exists()


@pytest.mark.parametrize("function", sorted(HANDLERS))
def test_every_handler_runs_from_the_package_alone_on_its_own_sdk(
    function: str, package: LocalPackage, backends: LocalBackends, link_spec: FunctionSpec
) -> None:
    spec = local_function_spec(function, backends)
    event, answered = HANDLERS[function]
    result = invoke_from_package(package, spec, backends, event)
    assert answered(result["answer"]), result["answer"]
    assert result["loaded"] > 100
    assert result["compiled"] == result["loaded"]
    # botocore's session, not boto3's: importing boto3 brings s3transfer, ~100 ms (adapters/aws.py)
    assert result["unused"] == []
    assert result["sdk"] == {
        "boto3": [PINNED["boto3"], True],
        "botocore": [PINNED["botocore"], True],
        "requests": [PINNED["requests"], True],
    }
