"""The cold-start module's lazy Powertools packages (handlers/cold_start.py): in a fresh process,
every name of each package's real `__all__` is the very object its real `__init__` gives; the
lazy module is the package (same __path__, __file__, __spec__); and an `__init__` that does
anything else falls back to the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
PACKAGES = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")

# In the child: the lazy module; then the real __init__'s code run in a namespace of its own
# (its imports resolve against the same submodules), name by name compared by identity.
SAME_OBJECTS = """
import importlib.util, json, sys
from sesame_link.handlers import cold_start
name = sys.argv[1]
lazy = sys.modules[name]
assert type(lazy).__name__ == "module" and "__getattr__" in vars(lazy), "not lazy"
spec = importlib.util.find_spec(name)
real = {"__name__": name, "__package__": name, "__spec__": spec, "__path__": spec.submodule_search_locations}
loaded_before = sorted(m for m in sys.modules if m.startswith(name + "."))
exec(compile(open(spec.origin).read(), spec.origin, "exec"), real)
print(json.dumps({
    "all": real["__all__"],
    "different": [n for n in real["__all__"] if getattr(lazy, n) is not real[n]],
    "lazy_all": lazy.__all__,
    "path": list(lazy.__path__) == list(spec.submodule_search_locations),
    "file": lazy.__file__ == spec.origin,
    "spec": lazy.__spec__.name == name,
    "loaded_before": loaded_before,
}))
"""


def child(code: str, *arguments: str, path: str = str(FUNCTIONS)) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_of_the_lazy_package_is_the_real_inits_object(package: str) -> None:
    result = child(SAME_OBJECTS, package)
    assert result["all"], "the real __all__ names something"
    assert result["different"] == []
    assert sorted(result["lazy_all"]) == sorted(result["all"])  # type: ignore[arg-type]
    assert (result["path"], result["file"], result["spec"]) == (True, True, True)
    # Before any name was asked, only a submodule whose name is also one of the package's names.
    assert set(result["loaded_before"]) <= {f"{package}.event_source"}  # type: ignore[arg-type]


FALLBACK = """
import json, sys
from sesame_link.handlers.cold_start import lazy_package
lazy = lazy_package("fakepowertools.handlers")
import fakepowertools.handlers as handlers
real = "__getattr__" not in vars(handlers)
print(json.dumps({"lazy": lazy, "real": real, "value": handlers.Resolver.__name__}))
"""


@pytest.mark.parametrize(
    ("init", "lazy"),
    [
        ('"""Docs."""\nfrom .resolver import Resolver\n\n__all__ = ["Resolver"]\n', True),
        ('"""Docs."""\nfrom .resolver import Resolver\n\nRAN = True\n__all__ = ["Resolver"]\n', False),
        ('from .resolver import Resolver\nimport os\n__all__ = ["Resolver"]\n', False),
        ('from .resolver import *\n__all__ = ["Resolver"]\n', False),
    ],
    ids=["imports only", "an assignment", "a plain import", "a star import"],
)
def test_an_init_that_does_more_than_import_runs_for_real(tmp_path: Path, init: str, lazy: bool) -> None:
    package = tmp_path / "fakepowertools" / "handlers"
    package.mkdir(parents=True)
    (tmp_path / "fakepowertools" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(init)
    (package / "resolver.py").write_text("class Resolver: ...\n")
    result = child(FALLBACK, path=f"{FUNCTIONS}{os.pathsep}{tmp_path}")
    assert result["lazy"] is lazy
    assert result["real"] is not lazy, "the real __init__ ran"
    assert result["value"] == "Resolver"
