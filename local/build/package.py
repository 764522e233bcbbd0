"""A deployment package assembled for this machine's Python, with no pip and no download: the
pinned distributions (the SDK included) are copied from this environment, then functions/
Makefile's `assemble` adds the code, removes what no handler imports and botocore's data for the
services the code does not call, and compiles bytecode, as `make build` does for Lambda."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local.template import ROOT


@dataclass(frozen=True)
class LocalPackage:
    code: Path

    def python_path(self) -> str:
        return str(self.code)


def assemble_local_package(root: Path, bytecode: bool = True) -> LocalPackage:
    package = LocalPackage(code=root / "task")
    for name in pinned_distributions():
        copy_distribution(name, package.code)
    subprocess.run(
        [
            shutil.which("make") or "make",
            "-C",
            "functions",
            "--no-print-directory",
            "assemble",
            f"ARTIFACTS_DIR={package.code}",
            f"LAMBDA_PYTHON={sys.executable if bytecode else ''}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return package


def compile_bytecode(folder: Path, python: str = sys.executable) -> None:
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(folder),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def pinned_distributions() -> list[str]:
    lines = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [re.split(r"[=<>\[ ]", line, maxsplit=1)[0] for line in lines if line and not line.startswith("#")]


def copy_distribution(name: str, target: Path) -> None:
    """The installed files of a distribution, laid out as `pip install -t target` would."""
    distribution = importlib.metadata.distribution(name)
    for file in distribution.files or []:
        source = Path(str(distribution.locate_file(file)))
        if ".." in file.parts or "__pycache__" in file.parts or not source.is_file():
            continue
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / file)
