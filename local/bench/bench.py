"""`make bench`: sesame-link against the physical floor on this machine, in one run.

Every figure is the median of repeated runs in fresh processes; the local backends (moto's
server, the Sesame simulator) run in a process of their own, so CPU times are the function's.
The floor is a bare script doing a link's I/O (local/bench/probe.py, link_io) with json, boto3
and requests only; the Powertools peer does the same I/O behind the same resolver, with a pydantic
model for the body (peer_link). Ratios are medians of interleaved pairs, with their interquartile
range and the median's distribution-free 95 % interval; a verdict says "not surely" when that
interval holds the goal. Besides the goals: the other functions' cold starts against floors
doing their I/O (probe.FLOORS), and what each operation costs in Sesame requests and AWS calls,
counted as they happen. Prints the tables and writes bench-results/latest.{md,json}. `--smoke`
runs few repetitions and gives no verdicts (CI keeps it working)."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.build.package import assemble_local_package, compile_bytecode
from local.template import ROOT, FunctionSpec, function_spec

RESULTS = ROOT / "bench-results"
PACKAGE = ROOT / ".aws-sam" / "LinkFunction.zip"
GOALS = {  # figure -> the most it may be
    "cold_start_ratio": 1.25,
    "cold_start_ratio_to_peer": 1.0,
    "warm_ratio": 1.2,
    "wrong_region_ratio": 2.1,
    "peak_rss_mb": 100.0,
    "package_mb": 8.0,
}
RATIO_NAMES = {"cold": "cold_start_ratio", "warm": "warm_ratio"}  # the goals' names
OTHER_FUNCTIONS = ("ProvisioningFunction", "CheckFunction", "SweepFunction")


@contextmanager
def backends_process(sesame_latency: float = 0.0) -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack.backends", str(sesame_latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)


def loopback_sesame_url(backends: dict[str, Any]) -> str:
    """The simulator by path (`127.0.0.1:PORT/{region}`): no local resolver needed in the probes."""
    port = backends["environment"]["SESAME_API_URL"].rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}/{{region}}"


def probe_environment(backends: dict[str, Any], spec: FunctionSpec, code_dir: Path) -> dict[str, str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **base,
        **spec.environment,
        **backends["environment"],
        "SESAME_API_URL": loopback_sesame_url(backends),
        "EVENT_BUS_NAME": "",
        "BENCH_CODE_DIR": str(code_dir),
        "PYTHONPATH": str(ROOT),
    }


def deployed_code(source: Path, root: Path, python: str) -> Path:
    """The function's code with its bytecode, as the package ships it: where writing __pycache__
    is not allowed (PYTHONDONTWRITEBYTECODE), each cold start would otherwise compile it."""
    shutil.copytree(source / "sesame_link", root / "sesame_link")
    compile_bytecode(root, python)
    return root


def probe(environment: dict[str, str], *arguments: object, python: str = sys.executable) -> dict[str, Any]:
    child = subprocess.run(
        [python, "-m", "local.bench.probe", *map(str, arguments)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    linked = result.get("statuses", [result["status"]] if "status" in result else None)
    if linked not in (None, [201]):
        raise RuntimeError(f"the probe did not link: {result}")
    if isinstance(result.get("answer"), dict) and result["answer"].get("batchItemFailures"):
        raise RuntimeError(f"the probe's records failed: {result}")
    return result


def median_of(
    repetitions: int, environment: dict[str, str], *arguments: object, python: str = sys.executable
) -> dict[str, float]:
    return medians([probe(environment, *arguments, python=python) for _ in range(repetitions)])


def interleaved(
    repetitions: int, arguments: dict[str, tuple[object, ...]], environment: dict[str, str], python: str
) -> dict[str, list[dict[str, Any]]]:
    """Each probe's results (by kind), their runs interleaved so that a machine that slows down
    during the run weighs on all alike, each repetition starting one kind further on, so that no
    kind always runs first (after the emulator's idle time) or right after the same one."""
    kinds = list(arguments)
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for repetition in range(repetitions):
        start = repetition % len(kinds)
        for kind in kinds[start:] + kinds[:start]:
            runs[kind].append(probe(environment, *arguments[kind], python=python))
    return runs


def paired(mine: list[dict[str, Any]], other: list[dict[str, Any]], timing: str) -> list[float]:
    """The ratio of each repetition's pair."""
    return [run[timing] / bare[timing] for run, bare in zip(mine, other, strict=True)]


def ratio_figures(name: str, ratios: list[float]) -> dict[str, float]:
    """`name` (the median), `name_iqr`, and `name_low`, `name_high`: the median's interval."""
    median, spread = median_and_iqr(ratios)
    low, high = median_interval(ratios)
    return {name: median, f"{name}_iqr": spread, f"{name}_low": low, f"{name}_high": high}


def links_against_floor_and_peer(
    repetitions: int, environment: dict[str, str], mode: str, links: int, python: str
) -> dict[str, dict[str, float]]:
    """Medians for the handler, the floor and the Powertools peer (cold: also the floor on
    botocore's session, which imports no boto3, as the functions do), and under `ratios` the
    handler's paired ratios to each (ratio_figures), named after RATIO_NAMES[mode]: `cold_start_ratio`
    to the floor, `cold_start_ratio_to_peer`, `cold_start_ratio_to_botocore_floor` (`warm_ratio`,
    ...); by first answer when cold, by wall time per link when warm."""
    kinds = ("handler", "floor", "peer", *(("botocore-floor",) if mode == "cold" else ()))
    runs = interleaved(repetitions, {kind: (kind, mode, links) for kind in kinds}, environment, python)
    figures = {kind: medians(runs[kind]) for kind in kinds}
    timing = "first_answer_seconds" if mode == "cold" else "wall_per_link"
    figures["ratios"] = {}
    for other in kinds[1:]:
        name = RATIO_NAMES[mode] + ("" if other == "floor" else "_to_" + other.replace("-", "_"))
        figures["ratios"] |= ratio_figures(name, paired(runs["handler"], runs[other], timing))
    return figures


def median_and_iqr(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    quartiles = statistics.quantiles(values, n=4)
    return statistics.median(values), quartiles[2] - quartiles[0]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: the order statistics k and n + 1 - k, with k
    the largest whose binomial tail leaves at least `confidence` between them (for 21 values the
    6th and the 16th, 97 %; too few values for it: all of them). Timings are skewed and their
    outliers one-sided, so no normal law."""
    ordered, n = sorted(values), len(values)
    k = 1
    while 1 - 2 * sum(math.comb(n, below) for below in range(k + 1)) / 2**n >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k]


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    names = [name for name, value in runs[0].items() if isinstance(value, float)]
    return {name: statistics.median(run[name] for run in runs) for name in names}


def library_import(repetitions: int, environment: dict[str, str], python: str) -> float:
    """What the card's libraries (Powertools, pydantic) alone add to the floor's imports: the
    modules the HTTP handler's import loads from them, imported without any of our code."""
    modules = probe(environment, "modules", "api", python=python)["modules"]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as listing:
        json.dump(modules, listing)
        listing.flush()
        return median_of(repetitions, environment, "libraries", listing.name, python=python)[
            "library_import_seconds"
        ]


def package_cold_starts(repetitions: int, environment: dict[str, str]) -> tuple[float, float]:
    """Cold start from an assembled package that Python may not write bytecode into, as Lambda
    loads its read-only /var/task: sources only, then with the bytecode `make build` ships."""
    firsts = []
    with tempfile.TemporaryDirectory() as root:
        for bytecode in (False, True):
            package = assemble_local_package(Path(root) / f"bytecode-{bytecode}", bytecode)
            from_package = {
                **environment,
                "BENCH_CODE_DIR": str(package.code),
                "PYTHONPATH": f"{ROOT}{os.pathsep}{package.python_path()}",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            firsts.append(median_of(repetitions, from_package, "handler", "cold", 1)["first_answer_seconds"])
    return firsts[0], firsts[1]


def wrong_region_timing(repetitions: int) -> tuple[float, float]:
    """Wall time of one good check and of a wrong-region answer, with 50 ms per Sesame call."""
    sys.path.insert(0, str(ROOT / "functions"))
    from local.stack.backends import DEMO_ACCOUNTS  # noqa: PLC0415
    from sesame_link.adapters.sesame import SesameClient, new_session  # noqa: PLC0415
    from sesame_link.core import errors  # noqa: PLC0415

    with backends_process(sesame_latency=0.05) as backends:
        client = SesameClient(loopback_sesame_url(backends), new_session())
        good, other = DEMO_ACCOUNTS[0][0], DEMO_ACCOUNTS[1][0]
        checks, probes = [], []
        for _ in range(repetitions):
            started = time.perf_counter()
            client.check(good, "eu1", time.monotonic() + 5)
            checks.append(time.perf_counter() - started)
            started = time.perf_counter()
            try:
                client.check(other, "eu1", time.monotonic() + 5)
            except errors.WrongRegion:
                probes.append(time.perf_counter() - started)
        assert len(probes) == repetitions, "the probe did not find the other region"
    return statistics.median(checks), statistics.median(probes)


def other_cold_starts(repetitions: int, environment: dict[str, str], python: str) -> dict[str, float]:
    """Import + first invocation of each other function, paired with its floor doing the same
    I/O bare (probe.FLOORS): a submitted record linked, a queued check of a connection that
    record linked, a sweep. Per function: `_cold_start_ms`, `_floor_ms`, `_ratio`, `_ratio_iqr`."""
    sys.path.insert(0, str(ROOT / "functions"))
    from local.stack.backends import DEMO_ACCOUNTS  # noqa: PLC0415
    from sesame_link.core.domain import connection_id  # noqa: PLC0415

    seed = "bench-check-seed"
    message = json.dumps({"tenant_id": seed, "connection_id": connection_id(seed, DEMO_ACCOUNTS[0][2])})
    inputs = {"ProvisioningFunction": seed, "CheckFunction": message, "SweepFunction": "-"}
    figures: dict[str, float] = {}
    for function in OTHER_FUNCTIONS:
        runs = interleaved(
            repetitions,
            {kind: (kind, function, "cold", inputs[function]) for kind in ("function", "function-floor")},
            environment,
            python,
        )
        figures[f"{function}_cold_start_ms"] = 1000 * medians(runs["function"])["first_answer_seconds"]
        figures[f"{function}_floor_ms"] = 1000 * medians(runs["function-floor"])["first_answer_seconds"]
        figures |= ratio_figures(
            f"{function}_ratio", paired(runs["function"], runs["function-floor"], "first_answer_seconds")
        )
    return figures


def measure(smoke: bool, probe_python: str) -> tuple[dict[str, float], dict[str, Any]]:
    # 21 interleaved cold pairs at least: enough to tell 1.23 from 1.25 (issue 21).
    cold_runs, warm_links, warm_runs, rss_links = (2, 20, 1, 50) if smoke else (21, 200, 5, 1000)
    with backends_process() as backends, tempfile.TemporaryDirectory() as code_root:
        spec = function_spec("LinkFunction", backends["stand_ins"])
        code_dir = deployed_code(spec.code_dir, Path(code_root), probe_python)
        environment = probe_environment(backends, spec, code_dir)
        # First, while the registry holds next to nothing: a sweep's work grows with it.
        others = other_cold_starts(cold_runs, environment, probe_python)
        cold = links_against_floor_and_peer(cold_runs, environment, "cold", 1, probe_python)
        libraries = library_import(cold_runs, environment, probe_python)
        warm = links_against_floor_and_peer(warm_runs, environment, "warm", warm_links, probe_python)
        rss = probe(environment, "handler", "warm", rss_links, python=probe_python)
        package_sources, package_bytecode = package_cold_starts(cold_runs, environment)
        costs = probe(environment, "costs", 100 if smoke else 1000, python=probe_python)
    check, wrong_region = wrong_region_timing(3 if smoke else 15)
    sweep = costs["sweep"]
    handler_cold, floor_cold, peer_cold = cold["handler"], cold["floor"], cold["peer"]
    handler_warm, floor_warm, peer_warm = warm["handler"], warm["floor"], warm["peer"]
    figures = {
        "cold_start_ms": handler_cold["first_answer_seconds"] * 1000,
        "floor_cold_start_ms": floor_cold["first_answer_seconds"] * 1000,
        "peer_cold_start_ms": peer_cold["first_answer_seconds"] * 1000,
        **cold["ratios"],  # the medians of the paired ratios
        "botocore_floor_cold_start_ms": cold["botocore-floor"]["first_answer_seconds"] * 1000,
        "library_import_ms": libraries * 1000,
        "cold_start_rest_ms": (
            handler_cold["first_answer_seconds"] - floor_cold["first_answer_seconds"] - libraries
        )
        * 1000,
        "warm_link_ms": handler_warm["wall_per_link"] * 1000,
        "warm_link_cpu_ms": handler_warm["cpu_per_link"] * 1000,
        "floor_warm_link_ms": floor_warm["wall_per_link"] * 1000,
        "floor_warm_link_cpu_ms": floor_warm["cpu_per_link"] * 1000,
        "peer_warm_link_ms": peer_warm["wall_per_link"] * 1000,
        **warm["ratios"],
        "package_sources_cold_start_ms": package_sources * 1000,
        "package_bytecode_cold_start_ms": package_bytecode * 1000,
        "check_ms": check * 1000,
        "wrong_region_ms": wrong_region * 1000,
        "wrong_region_ratio": wrong_region / check,
        "links_for_rss": float(rss_links),
        "peak_rss_mb": float(rss["peak_rss_mb"]),
        "package_mb": PACKAGE.stat().st_size / 1e6 if PACKAGE.exists() else float("nan"),
        **others,
        "sweep_queued": float(sweep["queued"]),
        "sweep_per_second": sweep["queued"] / sweep["seconds"],
        "sweep_queued_per_call": sweep["queued"]
        / max(
            1,
            costs["costs"][f"sweep of {sweep['queued']} due connections"]["aws_calls"].get(
                "SendMessageBatch", 0
            ),
        ),
    }
    return figures, costs["costs"]


def verdict_of(figures: dict[str, float], name: str) -> str:
    """On the median, as the goal is set; where the median's interval holds the goal, it says so."""
    goal = GOALS[name]
    met = "met" if figures[name] <= goal else "MISSED"
    if f"{name}_low" in figures and figures[f"{name}_low"] <= goal < figures[f"{name}_high"]:
        return f"{met}, not surely"
    return met


def table(figures: dict[str, float], smoke: bool) -> str:
    def ratio_of(name: str) -> str:
        return (
            f"{figures[name]:.3f} (IQR {figures[f'{name}_iqr']:.3f};"
            f" median within {figures[f'{name}_low']:.3f}-{figures[f'{name}_high']:.3f})"
        )

    def verdict(name: str) -> str:
        return "" if smoke or name not in GOALS else verdict_of(figures, name)

    def ratio_row(figure: str, name: str) -> tuple[str, str, str, str]:
        goal = f"<= {GOALS[name]:.2f}" if name in GOALS else ""
        return (f"{figure} (median of paired runs)", ratio_of(name), goal, verdict(name))

    rows = [
        (
            "Cold start: import + first link",
            f"{figures['cold_start_ms']:.0f} ms",
            f"floor {figures['floor_cold_start_ms']:.0f} ms,"
            f" Powertools peer {figures['peer_cold_start_ms']:.0f} ms",
            "",
        ),
        ratio_row("Cold start vs the floor", "cold_start_ratio"),
        ratio_row("Cold start vs the Powertools peer", "cold_start_ratio_to_peer"),
        ratio_row(
            f"Cold start vs the floor on botocore's session, no boto3 import, as the functions"
            f" (informative; {figures['botocore_floor_cold_start_ms']:.0f} ms)",
            "cold_start_ratio_to_botocore_floor",
        ),
        (
            "Over the floor: importing the card's libraries alone (Powertools, pydantic)",
            f"{figures['library_import_ms']:.0f} ms"
            f" = {figures['library_import_ms'] / figures['floor_cold_start_ms']:.2f} x floor",
            f"all of it: {GOALS['cold_start_ratio'] - 1:.2f} x floor"
            f" = {(GOALS['cold_start_ratio'] - 1) * figures['floor_cold_start_ms']:.0f} ms",
            "",
        ),
        (
            "Over the floor: the rest (own code, first use; less what pausing the collector and not"
            " importing boto3 save)",
            f"{figures['cold_start_rest_ms']:.0f} ms",
            "",
            "",
        ),
        (
            "Cold start from the package, read-only (sources / bytecode)",
            f"{figures['package_sources_cold_start_ms']:.0f}"
            f" / {figures['package_bytecode_cold_start_ms']:.0f} ms",
            "",
            "",
        ),
        (
            "Warm link (wall / CPU)",
            f"{figures['warm_link_ms']:.1f} / {figures['warm_link_cpu_ms']:.1f} ms",
            f"floor {figures['floor_warm_link_ms']:.1f} / {figures['floor_warm_link_cpu_ms']:.1f} ms",
            "",
        ),
        ratio_row("Warm link vs the floor (wall)", "warm_ratio"),
        ratio_row(
            f"Warm link vs the Powertools peer (wall; peer {figures['peer_warm_link_ms']:.1f} ms)",
            "warm_ratio_to_peer",
        ),
        (
            "Wrong region vs one check (50 ms/call)",
            f"{figures['wrong_region_ms']:.0f} / {figures['check_ms']:.0f} ms"
            f" = {figures['wrong_region_ratio']:.2f}",
            f"<= {GOALS['wrong_region_ratio']}",
            verdict("wrong_region_ratio"),
        ),
        (
            f"Peak RSS, {figures['links_for_rss']:.0f} links",
            f"{figures['peak_rss_mb']:.0f} MB",
            "<= 100 MB",
            verdict("peak_rss_mb"),
        ),
        (
            "Package (zipped, make build, SDK and bytecode inside)",
            f"{figures['package_mb']:.2f} MB",
            f"<= {GOALS['package_mb']:.0f} MB",
            verdict("package_mb"),
        ),
        *(
            (
                f"Cold start: {function} (import + first invocation) vs its floor",
                f"{figures[f'{function}_cold_start_ms']:.0f} ms: {ratio_of(f'{function}_ratio')}",
                f"floor {figures[f'{function}_floor_ms']:.0f} ms",
                "",
            )
            for function in OTHER_FUNCTIONS
        ),
        (
            f"Sweep of {figures['sweep_queued']:.0f} due connections (local SQS emulator)",
            f"{figures['sweep_per_second']:.0f} queued/s, {figures['sweep_queued_per_call']:.0f} per call",
            "",
            "",
        ),
    ]
    lines = ["| figure | measured | goal / floor | verdict |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def cost_table(costs: dict[str, Any]) -> str:
    """Sesame requests and AWS calls per operation, as counted while the functions ran."""
    lines = ["| operation | Sesame requests | AWS calls |", "| --- | --- | --- |"]
    for operation, cost in costs.items():
        calls = ", ".join(f"{name} {count}" for name, count in cost["aws_calls"].items()) or "none"
        lines.append(
            f"| {operation} | {cost['sesame_requests']} | {sum(cost['aws_calls'].values())}: {calls} |"
        )
    return "\n".join(lines)


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="few repetitions, no verdicts")
    parser.add_argument(
        "--probe-python",
        default=sys.executable,
        help="interpreter of the cold, warm and memory probes (e.g. a Python 3.13 venv with the"
        " runtime requirements, boto3 and requests); the package figure stays on this one",
    )
    arguments = parser.parse_args()
    smoke = arguments.smoke
    figures, costs = measure(smoke, arguments.probe_python)
    probes_on = python_version(arguments.probe_python)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, probes on Python {probes_on}"
    kind = "smoke run" if smoke else "full run"
    report = f"sesame-link benchmark ({kind}; {machine})\n\n{table(figures, smoke)}\n\n{cost_table(costs)}\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(report, encoding="utf-8")
    (RESULTS / "latest.json").write_text(
        json.dumps({"machine": machine, "smoke": smoke, **figures, "costs": costs}, indent=2)
    )
    missed = [name for name, goal in GOALS.items() if not smoke and not figures[name] <= goal]
    if missed:
        print("goals missed: " + ", ".join(missed))


if __name__ == "__main__":
    main()
