"""Cold start: a handler module's imports make the objects that live as long as the execution
environment (Powertools, pydantic's validators, botocore's service models). Collecting cycles
while they are made is wasted work (about 40 ms on Python 3.11, 20 ms on 3.13), so importing
this module pauses the cyclic collector, and `loaded()` at the end of the handler module freezes
what was made, so that later collections never scan it again, and resumes collecting.

It also makes two Powertools packages lazy (`lazy_package`): their `__init__` does nothing but
import every resolver (AppSync's brings asyncio) and every event data class, and importing any
submodule runs it. Built from their real specs, the lazy modules import a name's submodule on
first access, as PEP 562 allows and as Powertools did for the parser's envelopes (#8405): about
22-27 ms of a cold start (issue 21, make bench). Delete `lazy_package` and LAZY_PACKAGES when
Powertools ships lazy `__init__`s for event_handler and utilities.data_classes."""

import gc
import importlib
import importlib.util
import re
import sys
import time
from pathlib import Path

gc.disable()
_imports_started: float | None = time.monotonic()
_initialization_seconds = 0.0

LAZY_PACKAGES = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")
_DOCSTRING = re.compile(r'\A\s*(?:"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\')')
_IMPORT = re.compile(r"^from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n(]+)$", re.MULTILINE)
_ALL = re.compile(r"^__all__[ \t]*=[ \t]*\[[^\]]*\]", re.MULTILINE)
_NAME = re.compile(r"^(\w+)(?:\s+as\s+(\w+))?$")


def lazy_package(name: str) -> bool:
    """Put a lazy `name` in sys.modules, unless its `__init__` holds anything but a docstring,
    `from ... import` lines and `__all__` (then the real one runs when imported: an upgrade can
    only make it slower, never break it). True when it is lazy."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        return False
    names = _imported_names(Path(spec.origin).read_text(encoding="utf-8"))
    if names is None:
        return False
    module = importlib.util.module_from_spec(spec)  # the real __path__, __file__, __spec__
    module.__all__ = list(names)  # type: ignore[attr-defined]

    def resolve(attribute: str) -> object:
        if attribute not in names:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        source, original = names[attribute]
        value = getattr(importlib.import_module(source, name), original)
        setattr(module, attribute, value)
        return value

    module.__getattr__ = resolve  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    # A name that is also its submodule's (data_classes' event_source) would be shadowed by the
    # submodule once anything imports it, as the real __init__ rebinds it after the import: now.
    for attribute, (source, _original) in names.items():
        if source == f".{attribute}":
            resolve(attribute)
    return True


def _imported_names(source: str) -> dict[str, tuple[str, str]] | None:
    """Each name the `__init__` imports: (module, name in it); None if it does anything else."""
    rest = _DOCSTRING.sub("", source, count=1)
    rest = re.sub(r"#[^\n]*", "", rest)
    names: dict[str, tuple[str, str]] = {}
    for found in _IMPORT.finditer(rest):
        module = found[1]
        for item in found[2].strip("()").replace("\n", " ").split(","):
            parsed = _NAME.fullmatch(item.strip())
            if item.strip() and parsed is None:
                return None
            if parsed and module != "__future__":
                names[parsed[2] or parsed[1]] = (module, parsed[1])
    rest = _ALL.sub("", _IMPORT.sub("", rest))
    return names if not rest.strip() else None


def loaded() -> None:
    """The end of the handler module's imports (of the first one, where a process imports several)."""
    global _imports_started, _initialization_seconds
    gc.freeze()
    gc.enable()
    if _imports_started is not None:
        _initialization_seconds, _imports_started = time.monotonic() - _imports_started, None


def initialization_seconds() -> float:
    """On the execution environment's first invocation, how long the handler module's imports
    took (Lambda invokes right after them); 0 on every later invocation."""
    global _initialization_seconds
    seconds, _initialization_seconds = _initialization_seconds, 0.0
    return seconds


for _package in LAZY_PACKAGES:
    lazy_package(_package)
