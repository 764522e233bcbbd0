"""`make run`: the HTTP door on http://127.0.0.1:3000 with embedded local backends.

Local (default): moto's Secrets Manager/KMS and the Sesame simulator on loopback, fake AWS
credentials, whatever AWS credentials lie in the environment notwithstanding.
Live (`--live`): real AWS (a named profile and an existing key are required) and real Sesame.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.backends import (
    DEMO_ACCOUNTS,
    DEMO_TENANT,
    LOCAL_REGION,
    apply_environment,
    local_function_spec,
    start_local_backends,
)
from local.environments import InProcessEnvironment, ProcessEnvironments
from local.gateway import LocalGateway
from local.template import function_spec, load_handler

FUNCTION = "LinkFunction"


def main() -> None:
    arguments = _arguments()
    gateway = LocalGateway(default_claims={"sub": arguments.tenant}, port=arguments.port, serve_page=True)
    # The connect page at / is the frontend: its origin is the one CORS allows.
    page_origin = {"FrontendOrigin": gateway.url}
    if arguments.live:
        spec, banner = _live_spec(arguments, page_origin)
    else:
        spec, banner = _local_spec(arguments, page_origin)
    apply_environment(spec.environment)
    environments = (
        ProcessEnvironments(spec, arguments.concurrency)
        if arguments.concurrency > 1
        else InProcessEnvironment(load_handler(spec), spec)
    )
    gateway.invoke = environments
    print(banner.replace("{url}", gateway.url), flush=True)
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        environments.close()


def _local_spec(arguments: argparse.Namespace, parameters: dict[str, str]):  # type: ignore[no-untyped-def]
    backends = start_local_backends(aws_port=arguments.aws_port, sesame_port=arguments.sesame_port)
    spec = local_function_spec(FUNCTION, backends, parameters)
    token, region, _, company = DEMO_ACCOUNTS[0]
    other_token, other_region, _, _ = DEMO_ACCOUNTS[1]
    banner = f"""sesame-link is running locally on {{url}}  (Ctrl-C stops it)
  connect page:               {{url}}/
  local Secrets Manager + KMS: {backends.aws_endpoint}  (region {LOCAL_REGION}, key {backends.key_arn})
  Sesame simulator:           {spec.environment["SESAME_API_URL"]}
  tenant (no JWT sent):       {arguments.tenant}

Link the demo account ({company}, region {region}):
  curl -s -X POST {{url}}/connections -H 'content-type: application/json' \\
       -d '{{"token":"{token}","region":"{region}"}}'
See the stored secret:
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {LOCAL_REGION} \\
       --endpoint-url {backends.aws_endpoint} secretsmanager list-secrets
Try a wrong region: the token {other_token} lives in {other_region}.
"""
    return spec, banner


def _live_spec(arguments: argparse.Namespace, parameters: dict[str, str]):  # type: ignore[no-untyped-def]
    if not arguments.profile or not arguments.kms_key_id:
        sys.exit(
            "make run LIVE=1 needs AWS_PROFILE=<profile> and KMS_KEY_ID=<key arn> (real AWS, real Sesame)"
        )
    spec = function_spec(
        FUNCTION, {"LinkKey.Arn": arguments.kms_key_id, "LinkKey": arguments.kms_key_id}, parameters
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    spec.environment["AWS_PROFILE"] = arguments.profile
    banner = f"""sesame-link is running on {{url}} against REAL AWS and REAL Sesame.
  AWS profile: {arguments.profile}
  secrets are written under {spec.environment["SECRET_PREFIX"]}/ with key {arguments.kms_key_id}
"""
    return spec, banner


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument("--sesame-port", type=int, default=4577)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="execution environments: 1 runs in this process, more run in processes of their own",
    )
    parser.add_argument("--tenant", default=DEMO_TENANT, help="tenant claim used when no JWT is sent")
    parser.add_argument("--live", action="store_true", help="real AWS and real Sesame")
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE", ""))
    parser.add_argument("--kms-key-id", default=os.environ.get("KMS_KEY_ID", ""))
    return parser.parse_args()


if __name__ == "__main__":
    main()
