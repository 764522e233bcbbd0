"""Read a function's handler, code folder, timeout and environment from template.yaml,
as `sam local invoke` does, so local runs cannot drift from what is deployed."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form tags as their long forms."""


def _tag(name: str) -> Callable[[yaml.Loader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short in ("Ref", "Condition"):
    _CfnLoader.add_constructor(f"!{_short}", _tag(_short))
for _fn in (
    "Sub",
    "GetAtt",
    "Join",
    "If",
    "Select",
    "Split",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
):
    _CfnLoader.add_constructor(f"!{_fn}", _tag(f"Fn::{_fn}"))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


def function_spec(
    logical_id: str,
    stand_ins: Mapping[str, str],
    parameters: Mapping[str, str] | None = None,
    template: dict[str, Any] | None = None,
) -> FunctionSpec:
    """`stand_ins` gives the local value of each resource reference (`LinkKey.Arn`, `LinkKey`)
    and pseudo parameter (`AWS::Region`); `parameters` overrides template parameter defaults."""
    template = template or load_template()
    resolver = _Resolver(template, stand_ins, parameters or {})
    globals_ = template.get("Globals", {}).get("Function", {})
    properties = template["Resources"][logical_id]["Properties"]
    merged = {**globals_, **properties}
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=ROOT / resolver.resolve(merged["CodeUri"]),
        handler=resolver.resolve(merged["Handler"]),
        timeout_seconds=int(resolver.resolve(merged.get("Timeout", 3))),
        memory_mb=int(resolver.resolve(merged.get("MemorySize", 128))),
        environment={name: str(resolver.resolve(value)) for name, value in variables.items()},
    )


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    """Import the handler the way the Lambda runtime does: code folder on sys.path, module.attr."""
    if str(spec.code_dir) not in sys.path:
        sys.path.insert(0, str(spec.code_dir))
    module_name, _, attribute = spec.handler.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), attribute)
    return handler


class _Resolver:
    def __init__(self, template: dict[str, Any], stand_ins: Mapping[str, str], parameters: Mapping[str, str]):
        self._parameters = {
            name: str(parameters.get(name, definition.get("Default", "")))
            for name, definition in template.get("Parameters", {}).items()
        }
        self._stand_ins = stand_ins

    def resolve(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._lookup(value["Ref"])
        if "Fn::GetAtt" in value:
            return self._lookup(".".join(value["Fn::GetAtt"]))
        if "Fn::Sub" in value:
            return _SUB_VARIABLE.sub(lambda match: self._lookup(match.group(1)), value["Fn::Sub"])
        raise ValueError(f"unsupported intrinsic function for local runs: {sorted(value)}")

    def _lookup(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._stand_ins:
            return self._stand_ins[name]
        raise KeyError(f"template reference {name!r} has no local stand-in")
