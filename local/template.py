"""Read template.yaml as SAM and CloudFormation would for a local stack: a function's handler, code
folder, timeout and environment (Globals merged), its policies, any resource's properties, with
the intrinsic functions resolved against local stand-ins, so local runs cannot drift from what is
deployed."""

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
_NO_VALUE = object()


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


class Template:
    """`stand_ins` gives the local value of each resource reference (`LinkKey.Arn`, `CheckQueue`)
    and pseudo parameter (`AWS::Region`); `parameters` overrides template parameter defaults."""

    def __init__(
        self,
        stand_ins: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
        document: dict[str, Any] | None = None,
    ) -> None:
        self.document = document or load_template()
        self._stand_ins = stand_ins
        self._parameters = {
            name: self._parameter(definition, (parameters or {}).get(name, definition.get("Default", "")))
            for name, definition in self.document.get("Parameters", {}).items()
        }

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.document["Resources"].items()
            if resource["Type"] == resource_type
        }

    def properties(self, logical_id: str, *names: str) -> dict[str, Any]:
        """A resource's properties (only `names`, if given), resolved; for a function merged with
        Globals first, as SAM does."""
        resource = self.document["Resources"][logical_id]
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties = _merge(self.document.get("Globals", {}).get("Function", {}), properties)
        if names:
            properties = {name: value for name, value in properties.items() if name in names}
        resolved: dict[str, Any] = self.resolve(properties)
        return resolved

    def function(self, logical_id: str) -> FunctionSpec:
        properties = self.properties(logical_id, "CodeUri", "Handler", "Timeout", "MemorySize", "Environment")
        return FunctionSpec(
            logical_id=logical_id,
            code_dir=ROOT / properties["CodeUri"],
            handler=properties["Handler"],
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            environment={name: str(value) for name, value in properties["Environment"]["Variables"].items()},
        )

    def policy_statements(self, logical_id: str) -> list[dict[str, Any]]:
        """Every statement a function's Policies grant: inline ones and referenced managed policies."""
        statements: list[dict[str, Any]] = []
        for policy in self.document["Resources"][logical_id]["Properties"].get("Policies", []):
            is_reference = isinstance(policy, dict) and "Ref" in policy
            document = (
                self.document["Resources"][policy["Ref"]]["Properties"]["PolicyDocument"]
                if is_reference
                else policy
            )
            statements += self.resolve(document)["Statement"]
        return statements

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._intrinsic(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.document["Conditions"][name]))

    def _intrinsic(self, name: str, argument: Any) -> Any:  # noqa: PLR0911 - one branch per function
        if name == "Ref":
            return _NO_VALUE if argument == "AWS::NoValue" else self._lookup(argument)
        if name == "Fn::GetAtt":
            return self._lookup(".".join(argument))
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            own = {key: str(self.resolve(item)) for key, item in variables.items()}
            return _SUB_VARIABLE.sub(
                lambda match: (
                    own[match.group(1)] if match.group(1) in own else str(self._lookup(match.group(1)))
                ),
                text,
            )
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(map(str, self.resolve(items)))
        if name == "Fn::Split":
            delimiter, text = argument
            return str(self.resolve(text)).split(delimiter)
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::FindInMap":
            mapping, first, second = (self.resolve(item) for item in argument)
            return self.document["Mappings"][mapping][first][second]
        raise ValueError(f"unsupported intrinsic function for local runs: {name}")

    def _lookup(self, name: str) -> Any:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._stand_ins:
            return self._stand_ins[name]
        raise KeyError(f"template reference {name!r} has no local stand-in")

    @staticmethod
    def _parameter(definition: dict[str, Any], value: Any) -> Any:
        if definition.get("Type") == "CommaDelimitedList":
            return [item for item in str(value).split(",") if item] if isinstance(value, str) else value
        return str(value)


def function_spec(
    logical_id: str, stand_ins: Mapping[str, str], parameters: Mapping[str, str] | None = None
) -> FunctionSpec:
    return Template(stand_ins, parameters).function(logical_id)


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    """Import the handler the way the Lambda runtime does: code folder on sys.path, module.attr."""
    if str(spec.code_dir) not in sys.path:
        sys.path.insert(0, str(spec.code_dir))
    module_name, _, attribute = spec.handler.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), attribute)
    return handler


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: maps are merged (recursively), anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and not _is_intrinsic(value):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))
