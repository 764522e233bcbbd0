"""`make connect-link TENANT=... NAME="..."`: mint a connect session through the running `make
run`'s gateway, signed with SigV4 as a product's backend signs it (the local stack's credentials),
and print the connect URL to open or send."""

from __future__ import annotations

import argparse
import json
import sys

import requests

from local.stack.backends import LocalStack
from local.stack.sigv4 import sign_as_local_backend


def main() -> None:
    parser = argparse.ArgumentParser(prog="make connect-link")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--name", required=True, help="the tenant's name the page shows")
    parser.add_argument("--expires-in", type=int, default=1800)
    parser.add_argument(
        "--allowed-origin", action="append", default=[], help="an https origin that may embed it"
    )
    arguments = parser.parse_args()
    stack = LocalStack.running()
    if stack is None:
        sys.exit("make connect-link needs `make run` going (in another terminal)")
    api = stack.parameters["FrontendOrigin"]  # make run's gateway: the page's origin is its own
    mint = {"tenant_id": arguments.tenant, "tenant_name": arguments.name, "expires_in": arguments.expires_in}
    if arguments.allowed_origin:
        mint["allowed_origins"] = arguments.allowed_origin
    body = json.dumps(mint).encode()
    url = f"{api}/connect-sessions"
    answer = requests.post(url, data=body, headers=sign_as_local_backend("POST", url, body), timeout=30)
    if answer.status_code != 201:
        sys.exit(f"the mint failed: {answer.status_code} {answer.text}")
    minted = answer.json()
    # The connect URL carries the session token (in its fragment): it is meant to be opened.
    print(f"session {minted['session_id']}, open until {minted['expires_at']}:")
    print(minted["connect_url"])


if __name__ == "__main__":
    main()
