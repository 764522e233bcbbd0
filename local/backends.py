"""The embedded local backends: Secrets Manager + KMS (moto's server mode) and the Sesame
simulator, both real HTTP servers on loopback, plus the environment that points a function at them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.dns import install_local_resolver, simulated_sesame_url
from local.sesame_sim import SesameSimulator
from local.template import FunctionSpec, function_spec

LOCAL_REGION = "eu-west-1"
LOCAL_ACCOUNT = "123456789012"
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


@dataclass
class LocalBackends:
    aws: ThreadedMotoServer
    sesame: SesameSimulator
    aws_endpoint: str
    key_arn: str

    def environment(self) -> dict[str, str]:
        return {
            **FAKE_AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "SESAME_API_URL": simulated_sesame_url(self.sesame.port),
        }

    def stand_ins(self) -> dict[str, str]:
        """Local values for the template's resource references and pseudo parameters."""
        return {
            "LinkKey": self.key_arn.rsplit("/", 1)[-1],
            "LinkKey.Arn": self.key_arn,
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": "sesame-link-local",
        }

    def client(self, service: str) -> Any:
        return local_client(self.aws_endpoint, service)

    def stop(self) -> None:
        self.sesame.stop()
        self.aws.stop()


def start_local_backends(
    aws_port: int = 0, sesame_port: int = 0, sesame_latency: float = 0.0
) -> LocalBackends:
    apply_environment(FAKE_AWS_CREDENTIALS)  # from here on, nothing in this process reaches real AWS
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    aws = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
    aws.start()
    host, port = aws.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    sesame = SesameSimulator(port=sesame_port, latency_seconds=sesame_latency).start()
    for token, region, company_id, company_name in DEMO_ACCOUNTS:
        sesame.add_account(token, region, company_id, company_name)
    install_local_resolver(SIMULATED_REGIONS)
    kms = local_client(endpoint, "kms")
    key_arn = kms.create_key(Description="sesame-link local key")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)
    return LocalBackends(aws=aws, sesame=sesame, aws_endpoint=endpoint, key_arn=key_arn)


def local_function_spec(
    logical_id: str, backends: LocalBackends, parameters: dict[str, str] | None = None
) -> FunctionSpec:
    """The function as template.yaml declares it, pointed at the local backends."""
    spec = function_spec(logical_id, backends.stand_ins(), parameters)
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
    """`python -m local.backends [sesame_latency_seconds]`: start the local backends, print the
    environment that points a function at them (one JSON line), and serve until killed."""
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415

    backends = start_local_backends(sesame_latency=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    print(json.dumps({"environment": backends.environment(), "stand_ins": backends.stand_ins()}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    serve()
