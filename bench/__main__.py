"""``make bench``: the warehouse measured against its baselines, each taken in the same run.

Stages, each in a process and state folder of its own under ``.local/bench`` (wiped first):
1. generate the year's sample feeds at scale 1 (the landing folder the other stages share);
2. ``bench.ingest``: December's deliveries against a plain ``COPY``, ``to_sql`` and a bare calamine parse;
3. ``bench.year``: the twelve months under the scheduler, as ``make run`` runs them, then the gate against
   one sequential scan of what its rules read, and a full rebuild of the monthly models;
4. ``bench.scale``: December alone at 1x and at 10x (a province), each generated into a landing folder and
   run on a warehouse of its own, with the peak memory of every process.
Writes ``bench/results/latest.json`` and ``latest.md`` (the table the README's Performance section shows),
with the machine's cores and memory. Every goal is a ratio; the absolute seconds are context.
``python -m bench --render`` writes them again from the last run's stages, without measuring;
``python -m bench --only scale1,scale10`` runs just those stages again (generate, ingest, year, scale1, scale10).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from include import config

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local" / "bench"
RESULTS = ROOT / "bench" / "results"
MACHINES = STATE / "machines.json"
SCALES = (1, 10)  # the city, and about a province


def _env(stage: str, landing: str) -> dict[str, str]:
    return {**os.environ, "SQW_STATE_DIR": str(STATE / stage), "SQW_LANDING_DIR": str(STATE / landing)}


def _stage(stage: str, *argv: str, landing: str = "landing", **env_vars: str) -> float:
    print(f"» bench: {stage}", flush=True)
    MACHINES.write_text(json.dumps({**_machines(), stage: _machine()}), encoding="utf-8")
    started = time.monotonic()
    env = {**_env(stage, landing), **env_vars}
    try:
        subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, check=True)
    finally:
        subprocess.run([sys.executable, "-m", "include.cli", "stop"], cwd=ROOT, env=env, check=False)
    return time.monotonic() - started


def _machines() -> dict[str, Any]:
    """Each stage run so far -> the commit and date it was measured at."""
    return json.loads(MACHINES.read_text(encoding="utf-8")) if MACHINES.exists() else {}


def _machine() -> dict[str, Any]:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory.split()[1]) / 2**20, 1),
        "python": sys.version.split()[0],
        "commit": commit.stdout.strip(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def goals(
    ingest: list[dict[str, Any]], year: dict[str, Any], generate_s: float, scales: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each goal of issue 12 with what was measured: (goal, measured ratio, limit, whether it holds)."""
    csv = [e for e in ingest if "copy_rows_s" in e]
    xlsx = [e for e in ingest if "calamine_rows_s" in e]

    def pooled(entries: list[dict[str, Any]], key: str) -> float:  # rows/s over all files of a kind
        return sum(e["rows"] for e in entries) / sum(e["rows"] / e[key] for e in entries)

    def per_row(month: dict[str, Any], stage: str) -> float:  # at the same volume: December holds more rows
        return month[stage] / month["detail_rows"]

    ingest_csv = pooled(csv, "ingest_rows_s") if csv else 0
    months = year["months"]
    first, last = months[min(months)], months[max(months)]
    orchestration = [m["wall"] / m["busy"] for m in months.values() if m.get("busy")]
    december_scans = sum(year["scan_s"].values())
    city, province = scales[0], scales[-1]
    rows = [
        ("CSV ingestion / plain COPY", _ratio(ingest_csv, pooled(csv, "copy_rows_s")) if csv else None, ">=", 0.5),
        ("CSV ingestion / pandas.to_sql", _ratio(ingest_csv, pooled(csv, "to_sql_rows_s")) if csv else None, ">=", 10),
        (
            "xlsx ingestion / bare calamine parse",
            _ratio(pooled(xlsx, "ingest_rows_s"), pooled(xlsx, "calamine_rows_s")) if xlsx else None,
            ">=",
            0.7,
        ),
        ("dbt: month 12 / month 1, per detail row", _ratio(per_row(last, "dbt"), per_row(first, "dbt")), "<=", 1.1),
        ("gate: month 12 / month 1, per detail row", _ratio(per_row(last, "gate"), per_row(first, "gate")), "<=", 1.1),
        (
            "ingestion: task seconds / wall span (worst month; 2: two feeds at once all along)",
            round(min(m["ingest"] / m["ingest_span"] for m in months.values() if m.get("ingest_span")), 3),
            ">=",
            1.5,
        ),
        ("month wall / busy (worst month)", round(max(orchestration), 3) if orchestration else None, "<=", 1.5),
        ("December validate / one scan of what it reads", _ratio(last["validate"], december_scans), "<=", 3),
        ("year after generation (s)", year["year_wall_s"], "<=", 300),
        ("generation at 1x (s)", round(generate_s, 1), "<=", 60),
        ("10x month / 1x month, end to end", _ratio(province["wall"], city["wall"]), "<=", 11),
        (
            "peak memory of every process, 10x month / 1x month",
            _ratio(province["month_peak_mib"], city["month_peak_mib"]),
            "<=",
            1.25,
        ),
        (
            "peak memory, 10x generation / 1x generation",
            _ratio(province["generate_peak_mib"], city["generate_peak_mib"]),
            "<=",
            1.25,
        ),
    ]
    return [
        {
            "goal": goal,
            "measured": value,
            "limit": f"{op} {limit}",
            "holds": None if value is None else (value >= limit if op == ">=" else value <= limit),
        }
        for goal, value, op, limit in rows
    ]


def markdown(result: dict[str, Any]) -> str:
    machine = result["machine"]
    lines = [
        f"Measured {machine['date']} at `{machine['commit']}`: {machine['cores']} cores, {machine['memory_gib']} GiB,"
        f" Python {machine['python']}.",
        *[
            f"The stage {stage} was measured again at `{again['commit']}`, {again['date']}."
            for stage, again in result.get("machines", {}).items()
            if again["commit"] != machine["commit"]
        ],
        "",
        "| goal | measured | limit | holds |",
        "|---|---:|---|---|",
    ]
    for goal in result["goals"]:
        holds = {True: "yes", False: "**no**", None: "not measured"}[goal["holds"]]
        lines.append(f"| {goal['goal']} | {goal['measured']} | {goal['limit']} | {holds} |")
    lines += [
        "",
        "| month | detail rows | wall s | busy s | ingest | ingest span | dbt | gate | validate | report"
        " | queued→start (sum) | tasks |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for month, m in result["year"]["months"].items():
        lines.append(
            f"| {month} | {m['detail_rows']:,} | {m['wall']:.0f} | {m['busy']:.0f} | {m['ingest']:.0f}"
            f" | {m['ingest_span']:.0f} | {m['dbt']:.0f} | {m['gate']:.0f} | {m['validate']:.0f} | {m['report']:.0f}"
            f" | {m['queued_to_start']:.0f} | {m['tasks']} |"
        )
    lines += [
        "",
        "| December at | detail rows | generate s | generate peak MiB | month wall s | ingest | dbt | gate | report"
        " | month peak MiB | full rebuild s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in result["scales"]:
        lines.append(
            f"| {m['scale']:g}x | {m['detail_rows']:,} | {m['generate_s']} | {m['generate_peak_mib']:,}"
            f" | {m['wall']:.0f} | {m['ingest']:.0f} | {m['dbt']:.0f} | {m['gate']:.0f} | {m['report']:.0f}"
            f" | {m['month_peak_mib']:,} | {m['full_rebuild_s']} |"
        )
    months = result["year"]["months"]
    dbt_growth = _ratio(months[max(months)]["dbt"], months[min(months)]["dbt"])
    rebuild_growth = _ratio(result["year"]["full_rebuild_s"], result["scales"][0]["full_rebuild_s"])
    lines += [
        "",
        f"History, for contrast: a full rebuild of the monthly models over the year's 12 months takes"
        f" {result['year']['full_rebuild_s']} s, {rebuild_growth}× the rebuild over December alone"
        f" ({result['scales'][0]['full_rebuild_s']} s); the incremental month 12 costs {dbt_growth}× month 1 in dbt.",
    ]
    lines += ["", "| feed | format | rows | ingest rows/s | baseline rows/s | ratio |", "|---|---|---:|---:|---:|---:|"]
    for e in result["ingest"]:
        if "copy_rows_s" in e:
            base, ratio = f"COPY {e['copy_rows_s']:,} · to_sql {e['to_sql_rows_s']:,}", e["vs_copy"]
        elif "calamine_rows_s" in e:
            base, ratio = f"calamine {e['calamine_rows_s']:,}", e["vs_calamine"]
        else:
            base, ratio = e["status"], ""
        lines.append(f"| {e['feed']} | {e['format']} | {e['rows']:,} | {e['ingest_rows_s']:,} | {base} | {ratio} |")
    return "\n".join(lines) + "\n"


def measure(only: set[str] | None = None) -> None:
    """Run every stage afresh (``only``: just these, keeping the other stages' results); each stage leaves its
    JSON in ``STATE``. The scale stages need no other stage."""
    if only is None:
        shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True, exist_ok=True)
    if only is None or "generate" in only:
        generate = "import samples; from include import config; "
        generate_s = _stage("generate", "-c", generate + "samples.generate(config.LANDING_DIR)")
        generated = {"generate_s": round(generate_s, 1), "machine": _machine()}  # the commit and date of the run
        (STATE / "generate.json").write_text(json.dumps(generated), encoding="utf-8")
    for stage in ("ingest", "year"):
        if only is None or stage in only:
            _stage(stage, "-m", f"bench.{stage}", str(STATE / f"{stage}.json"))
    for scale in SCALES:
        if only is None or f"scale{scale}" in only:
            _stage(
                f"scale{scale}",
                *("-m", "bench.scale", str(STATE / f"scale{scale}.json"), str(scale)),
                landing=f"landing{scale}",
                SQW_MAX_FILE_BYTES=str(scale * config.MAX_FILE_BYTES),  # the guard against oversized files, scaled
            )


def render() -> None:
    """``bench/results/latest.{json,md}`` from the stages' JSON in ``STATE``."""

    def stage(name: str) -> Any:
        return json.loads((STATE / f"{name}.json").read_text(encoding="utf-8"))

    generated, ingest, year = stage("generate"), stage("ingest"), stage("year")
    generate_s, scales = generated["generate_s"], [stage(f"scale{scale}") for scale in SCALES]
    result = {"machine": generated["machine"], "generate_s": generate_s, "ingest": ingest, "year": year}
    result["scales"] = scales
    result["machines"] = _machines()
    result["goals"] = goals(ingest, year, generate_s, scales)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    (RESULTS / "latest.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    # --render: write the results again from the last run's stages; --only a,b: run just these stages first
    if "--render" not in sys.argv:
        names = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
        measure(set(names) if names else None)
    render()
    sys.exit(0)
