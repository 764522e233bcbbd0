"""SAM's transform of template.yaml: what CloudFormation receives from `sam deploy`, with the
roles, policies, routes, authorizers and names SAM generates. Run by the SAM CLI's own virtual
environment (.venv-sam: samtranslator pins a pydantic the functions' cannot share), as
`.venv-sam/bin/python -m local.build.transform`; prints the transformed template as JSON.

`sam deploy` uploads the code and points CodeUri at the upload; an S3 URI stands in for it here,
as `sam package` would write it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
PACKAGED_CODE = "s3://sesame-link-artifacts/sesame-link.zip"


class NoAccountPolicies:
    """The template names no customer-managed policy by name: nothing to look up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(template_path: Path = TEMPLATE) -> dict[str, Any]:
    template = yaml_parse(template_path.read_text(encoding="utf-8"))
    template["Globals"]["Function"]["CodeUri"] = PACKAGED_CODE
    return dict(transform(template, {"AWS::Region": "eu-west-1"}, NoAccountPolicies()))


if __name__ == "__main__":
    json.dump(transformed(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE), sys.stdout, indent=1)
