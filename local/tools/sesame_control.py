"""`make sesame-token STATE=revoked|forbidden|active [TOKEN=...]`: change a token's state in the
Sesame simulator of the running `make run` (the eu1 demo token by default): revoked answers 401,
forbidden 403 (the API add-on switched off), active the company again."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from local.stack.backends import DEMO_ACCOUNTS, LocalStack
from local.stack.sesame_sim import CONTROL_PATH, TOKEN_STATES


def main() -> None:
    state = sys.argv[1] if len(sys.argv) > 1 else ""
    token = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else DEMO_ACCOUNTS[0][0]
    if state not in TOKEN_STATES:
        sys.exit(f"STATE must be one of: {', '.join(TOKEN_STATES)}")
    stack = LocalStack.running()
    if stack is None:
        sys.exit("make sesame-token needs `make run` going (in another terminal)")
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.sesame_port}{CONTROL_PATH}",
        data=json.dumps({"token": token, "state": state}).encode(),
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - the simulator, on loopback
    except urllib.error.HTTPError:
        sys.exit("the simulator knows no such token")
    print(f"the simulator now answers that token as {state}: {TOKEN_STATES[state] or 200}")


if __name__ == "__main__":
    main()
