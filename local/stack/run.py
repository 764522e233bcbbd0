"""`make run`: the HTTP API on http://127.0.0.1:3000 (the functions its routes invoke, as in
template.yaml) with embedded local backends, and the connect page at `/`.

Local (default): moto (Secrets Manager, KMS, DynamoDB, SQS, EventBridge) and the Sesame simulator
on loopback, fake AWS credentials, whatever AWS credentials lie in the environment notwithstanding.
Live (`--live`): a deployed stack's resources (a named profile and the stack's name are required)
and the real Sesame.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import sys

from local.stack.backends import (
    DEMO_ACCOUNTS,
    DEMO_TENANT,
    LOCAL_REGION,
    STACK_FILE,
    apply_environment,
    local_function_spec,
    start_local_backends,
)
from local.stack.environments import Environments, InProcessEnvironment, ProcessEnvironments
from local.stack.gateway import LocalGateway, all_scopes, api_routes
from local.stack.live import deployed_stand_ins
from local.template import FunctionSpec, function_spec, load_handler


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop as on Ctrl-C: clean up
    arguments = _arguments()
    routes = api_routes()
    # The stand-in user: the tenant of --tenant, with every scope the routes require. With LIVE=1
    # (real AWS, real Sesame behind) no JWT is trusted: the tenant is --tenant's, whatever is sent.
    gateway = LocalGateway(
        default_claims={"sub": arguments.tenant, "scope": all_scopes(routes)},
        port=arguments.port,
        serve_page=True,
        trust_jwts=not arguments.live,
    )
    # The connect page at / is the frontend: its origin is the one CORS allows.
    page_origin = {"FrontendOrigin": gateway.url, "ConnectEmbeddingOrigins": arguments.embedding_origins}
    functions = sorted({route.function for route in gateway.routes})
    if arguments.live:
        specs, banner = _live_specs(arguments, functions, page_origin)
    else:
        specs, banner = _local_specs(arguments, functions, page_origin)
    apply_environment(specs[0].environment)  # the functions' environments differ in nothing AWS reads
    environments = {spec.logical_id: _environments(spec, arguments.concurrency) for spec in specs}
    gateway.functions = environments
    print(banner.replace("{url}", gateway.url), flush=True)
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        for environment in environments.values():
            environment.close()


def _environments(spec: FunctionSpec, concurrency: int) -> Environments:
    if concurrency > 1:
        return ProcessEnvironments(spec, concurrency)
    return InProcessEnvironment(load_handler(spec), spec)


def _local_specs(arguments: argparse.Namespace, functions: list[str], parameters: dict[str, str]):  # type: ignore[no-untyped-def]
    backends = start_local_backends(
        aws_port=arguments.aws_port, sesame_port=arguments.sesame_port, parameters=parameters
    )
    backends.save()  # for make invoke and make sweep, in other terminals
    atexit.register(STACK_FILE.unlink, missing_ok=True)
    specs = [local_function_spec(function, backends) for function in functions]
    spec = specs[0]
    token, region, _, company = DEMO_ACCOUNTS[0]
    other_token, other_region, _, _ = DEMO_ACCOUNTS[1]
    banner = f"""sesame-link is running locally on {{url}}  (Ctrl-C stops it)
  connect page:               {{url}}/   (the product's own form, with the JWT)
  hosted connect page:        {{url}}/connect   (a session's link: `make connect-link`)
  local Secrets Manager + KMS: {backends.aws_endpoint}  (region {LOCAL_REGION}, key {backends.key_arn})
  (and DynamoDB, SQS, EventBridge: the template's table, queues and buses)
  Sesame simulator:           {spec.environment["SESAME_API_URL"]}
  tenant (no JWT sent):       {arguments.tenant}

Link the demo account ({company}, region {region}), then see your connections:
  curl -s -X POST {{url}}/connections -H 'content-type: application/json' \\
       -d '{{"token":"{token}","region":"{region}"}}'
  curl -s {{url}}/connections
See the stored secret:
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {LOCAL_REGION} \\
       --endpoint-url {backends.aws_endpoint} secretsmanager list-secrets
Watch it break and recover (in another terminal):
  make sesame-token STATE=revoked && make sweep;  make sesame-token STATE=active && make sweep
Try a wrong region: the token {other_token} lives in {other_region}.
"""
    return specs, banner


def _live_specs(arguments: argparse.Namespace, functions: list[str], parameters: dict[str, str]):  # type: ignore[no-untyped-def]
    if not arguments.profile or not arguments.stack:
        sys.exit("make run LIVE=1 needs AWS_PROFILE=<profile> and STACK=<stack name> (real AWS, real Sesame)")
    stand_ins = deployed_stand_ins(arguments.profile, arguments.stack)
    specs = [function_spec(function, stand_ins, parameters) for function in functions]
    os.environ.pop("AWS_ENDPOINT_URL", None)
    for spec in specs:
        spec.environment["AWS_PROFILE"] = arguments.profile
    banner = f"""sesame-link is running on {{url}} against REAL AWS and REAL Sesame.
  WARNING: every request is the tenant {arguments.tenant!r} (JWTs are ignored): anything that can
  reach this port links and unlinks as that tenant. Keep it on this machine, stop it when done.
  AWS profile: {arguments.profile}, stack {arguments.stack}
  secrets are written under {specs[0].environment["SECRET_PREFIX"]}/ with key {stand_ins["LinkKey.Arn"]}
"""
    return specs, banner


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
    parser.add_argument(
        "--embedding-origins",
        default="",
        help="https origins that may embed the hosted connect page, separated by commas",
    )
    parser.add_argument("--live", action="store_true", help="real AWS and real Sesame")
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE", ""))
    parser.add_argument("--stack", default=os.environ.get("STACK", ""), help="deployed stack (with --live)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
