"""`make openapi`: write openapi.json, the HTTP API's spec as Powertools' resolver generates it from
the route (response models, problem responses), plus the request model the route validates.
`--check` fails when the committed file differs from what the code generates (CI runs it through
the test suite)."""

from __future__ import annotations

import argparse
import json
import sys

from local.template import ROOT, function_spec, load_handler

SPEC = ROOT / "openapi.json"
# The handler builds its clients at import; nothing is called, but they need a region and a key.
IMPORT_ONLY = {"LinkKey.Arn": "arn:aws:kms:eu-west-1:123456789012:key/openapi", "AWS::Region": "eu-west-1"}


def generate() -> str:
    spec = function_spec("LinkFunction", IMPORT_ONLY)
    import os  # noqa: PLC0415

    os.environ.update({**spec.environment, "AWS_DEFAULT_REGION": "eu-west-1", "EVENT_BUS_NAME": ""})
    load_handler(spec)
    from sesame_link.handlers.api import CONNECTIONS, app  # noqa: PLC0415 - after the environment is set
    from sesame_link.models import LinkRequest  # noqa: PLC0415

    document = json.loads(
        app.get_openapi_json_schema(
            title="sesame-link",
            version="1.0.0",
            summary="Link a Sesame HR account by API token",
            description="Behind an HTTP API with a JWT authorizer: send the user's JWT as a Bearer token.",
            security_schemes={"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            security=[{"jwt": []}],
        )
    )
    # The route validates its body with LinkRequest itself (handlers/api.py), out of Powertools' sight.
    document["components"]["schemas"]["LinkRequest"] = LinkRequest.model_json_schema()
    document["paths"][CONNECTIONS]["post"]["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LinkRequest"}}},
        "required": True,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


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
