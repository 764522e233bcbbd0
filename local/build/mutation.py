"""`make mutation [MUTANTS="sesame_link.services.*"]`: mutmut on functions/sesame_link, then the
score by layer and the surviving mutants. Slow (every mutant runs the tests that reach it), so
not part of CI. mutmut runs the suite from a copy of the tree it makes in mutants/.

One adjustment to mutmut: it names mutants by their file path, less a leading `src/`; the code
here lives under functions/, and the tests import `sesame_link`, so without it no test would
ever be attributed to a mutant. Tests that run the code in child processes, in a built package
or in a browser (pyproject.toml's [tool.mutmut] pytest_add_cli_args) are left out of mutation
runs: mutmut's trampolines select a mutant only in its own forked workers."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut import __main__ as mutmut_main
from mutmut.mutation import file_mutation
from mutmut.stats import status_by_exit_code
from mutmut.utils import format_utils

LAYERS = ("handlers", "services", "adapters", "core")
_mutant_name_of_path = format_utils.get_mutant_name


def _import_name(relative_source_path: Path, mutant_method_name: str) -> str:
    return _mutant_name_of_path(relative_source_path, mutant_method_name).removeprefix("functions.")


def _layer(mutant: str) -> str:
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "other"


def report() -> None:
    statuses: dict[str, Counter[str]] = {}
    survivors: list[str] = []
    for meta in sorted(Path("mutants/functions").rglob("*.py.meta")):
        for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            statuses.setdefault(_layer(mutant), Counter())[status] += 1
            if status == "survived":
                survivors.append(mutant)
    print("\nlayer       killed  survived  no tests  timeout  other  score")
    for layer, counts in sorted(statuses.items()):
        if counts["not checked"] == sum(counts.values()):
            continue  # a layer this run left out
        killed, survived = counts["killed"] + counts["timeout"], counts["survived"]
        other = sum(counts.values()) - killed - survived - counts["no tests"]
        tried = killed + survived
        score = f"{100 * killed / tried:.1f} %" if tried else "-"
        no_tests, timeouts = counts["no tests"], counts["timeout"]
        print(f"{layer:10} {killed:7} {survived:9} {no_tests:9} {timeouts:8} {other:6}  {score}")
    print(f"\n{len(survivors)} survivors (`.venv/bin/mutmut show NAME` shows one):")
    for mutant in survivors:
        print(f"  {mutant}")


def main() -> None:
    file_mutation.get_mutant_name = _import_name  # type: ignore[attr-defined]
    mutmut_main.get_mutant_name = _import_name  # type: ignore[attr-defined]
    sys.argv = ["mutmut", "run", *sys.argv[1:]]
    try:
        mutmut_main.cli()
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
    report()


if __name__ == "__main__":
    main()
