"""`make lint`'s dependency audit: pip-audit on the pinned runtime requirements. Known
vulnerabilities fail; a vulnerability database that cannot be reached (no PyPI JSON API or OSV
from this machine) skips the audit with a clear message instead of passing silently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = Path(".venv-pip-audit/bin/pip-audit")
REQUIREMENTS = "functions/requirements.txt"


def main() -> int:
    child = subprocess.run(
        [
            str(PIP_AUDIT),
            "-r",
            REQUIREMENTS,
            "--no-deps",
            "--disable-pip",
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        dependencies = json.loads(child.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"pip-audit: SKIPPED, it could not run or reach its database:\n{child.stderr.strip()[-500:]}")
        return 0
    vulnerable = [dependency for dependency in dependencies if dependency.get("vulns")]
    audited = [dependency for dependency in dependencies if "skip_reason" not in dependency]
    for dependency in vulnerable:
        ids = ", ".join(vuln["id"] for vuln in dependency["vulns"])
        print(f"pip-audit: {dependency['name']} {dependency['version']}: {ids}")
    if vulnerable:
        return 1
    if not audited:
        print(
            f"pip-audit: SKIPPED, the vulnerability database is not reachable from this machine "
            f"({len(dependencies)} pinned runtime dependencies not audited)"
        )
        return 0
    print(f"pip-audit: {len(audited)} pinned runtime dependencies, no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
