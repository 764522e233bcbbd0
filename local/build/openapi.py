"""`make openapi`: write openapi.json, the HTTP API's spec as Powertools' resolvers generate it from
the routes of the functions behind the API (response models, problem responses), plus the request
model the link route validates itself. `--check` fails when the committed file differs from what
the code generates (CI runs it through the test suite)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from local.stack.backends import PSEUDO_PARAMETERS
from local.stack.gateway import api_routes
from local.template import ROOT, function_spec, load_handler

SPEC = ROOT / "openapi.json"
# The handlers build their clients at import; nothing is called, but they need names to hold.
IMPORT_ONLY = {
    **PSEUDO_PARAMETERS,
    "LinkKey.Arn": "arn:aws:kms:eu-west-1:123456789012:key/openapi",
    "MacKey.Arn": "arn:aws:kms:eu-west-1:123456789012:key/openapi-mac",
    "ConnectionsTable": "openapi",
    "LinkAttemptsTable": "openapi-attempts",
    "ConnectSessionsTable": "openapi-sessions",
    "CheckFunctionRole.Arn": "arn:aws:iam::123456789012:role/openapi-check",
    "CheckQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/openapi-check",
    "SweepQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/openapi-sweep",
}
INFO = {
    "title": "sesame-link",
    "version": "1.0.0",
    "summary": "Link a Sesame HR account by API token; see, check and unlink connections",
    "description": (
        "Behind an HTTP API. The connections routes take the user's JWT as a Bearer token; the "
        "connect-sessions routes are for the product's backend, signed with AWS SigV4 (execute-api); "
        "the connect page's routes take `Authorization: ConnectSession <token>`."
    ),
    "security_schemes": {
        "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "AWS Signature Version 4 for execute-api (the AWS_IAM authorizer)",
        },
        "connectSession": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "`ConnectSession <token>`: the session token from the mint's answer",
        },
    },
    "security": [{"jwt": []}],
}


def generate() -> str:
    documents = [_spec_of(function) for function in sorted({route.function for route in api_routes()})]
    document = documents[0]
    for other in documents[1:]:
        document["paths"].update(other["paths"])
        document["components"]["schemas"].update(other["components"]["schemas"])
    # The link and list routes validate their body and query with models themselves
    # (handlers/api.py), out of Powertools' sight.
    from sesame_link.core.models import LinkRequest, ListQuery  # noqa: PLC0415
    from sesame_link.handlers.api import CONNECTIONS  # noqa: PLC0415 - imported by _spec_of first

    document["components"]["schemas"]["LinkRequest"] = LinkRequest.model_json_schema()
    document["paths"][CONNECTIONS]["post"]["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LinkRequest"}}},
        "required": True,
    }
    _session_routes(document)
    query = ListQuery.model_json_schema()["properties"]
    document["paths"][CONNECTIONS]["get"]["parameters"] = [
        {"name": name, "in": "query", "required": False, "schema": schema} for name, schema in query.items()
    ]
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _session_routes(document: dict[str, Any]) -> None:
    """The connect-session routes' bodies (validated by the routes, as the link's) and security."""
    from sesame_link.core.models import SessionMint  # noqa: PLC0415
    from sesame_link.handlers.sessions import SESSION, SESSIONS  # noqa: PLC0415

    document["components"]["schemas"]["SessionMint"] = SessionMint.model_json_schema()
    for path, method, model in (
        (SESSIONS, "post", "SessionMint"),
        ("/connect/session/link", "post", "LinkRequest"),
    ):
        document["paths"][path][method]["requestBody"] = {
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
            "required": True,
        }
    backend = SESSION.replace("<session_id>", "{session_id}")
    for path in (SESSIONS, backend):
        for operation in document["paths"][path].values():
            operation["security"] = [{"sigv4": []}]
    for path in ("/connect/session", "/connect/session/link"):
        for operation in document["paths"][path].values():
            operation["security"] = [{"connectSession": []}]


def _spec_of(function: str) -> dict[str, Any]:
    spec = function_spec(function, IMPORT_ONLY)
    os.environ.update({**spec.environment, "AWS_DEFAULT_REGION": "eu-west-1", "EVENT_BUS_NAME": ""})
    module = sys.modules.get(spec.handler.rpartition(".")[0])
    if module is None:
        load_handler(spec)
        module = sys.modules[spec.handler.rpartition(".")[0]]
    document: dict[str, Any] = json.loads(module.app.get_openapi_json_schema(**INFO))
    return document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if openapi.json is stale")
    generated = generate()
    if parser.parse_args().check:
        if not SPEC.exists() or SPEC.read_text(encoding="utf-8") != generated:
            print("openapi.json is stale: run `make openapi` and commit it", file=sys.stderr)
            return 1
        return 0
    SPEC.write_text(generated, encoding="utf-8")
    print(f"wrote {SPEC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
