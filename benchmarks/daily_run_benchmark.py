"""Full daily run benchmark: the whole job (ingest, dbt build with its data tests, GX gate, export, publish) on
synthetic worlds of several sizes, then an incremental day on top of the largest, measured.

    python benchmarks/daily_run_benchmark.py [--entries 10000 100000 1000000] [--no-incremental]

For each size: per-step wall time, total wall time, peak resident memory (the Dagster process and the dbt
subprocess, which run one after the other), rows per second (rows read from the ACE files / total time), the
warehouse size, and the floor: DuckDB alone reading the same files once, so the overhead is a ratio. The
incremental run drops one new day's exports (a world of N/300 entries with another seed) beside the files already
loaded and runs the job again on the same warehouse, as of the next day. Each run is a child process (its peak
memory is its own). Generated inputs are kept under --work and reused. Not part of the tests: the figures go to
BENCHMARKS.md; --json writes them to a file as well.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

AS_OF = "2026-11-20"
NEXT_DAY = "2026-11-21"


def _child(landing: str, work: str, as_of: str) -> None:
    os.environ |= {
        "REFUNDS_EXPORTS_DIR": f"{work}/exports",
        "REFUNDS_REPORTS_DIR": f"{work}/reports",
        "REFUNDS_PUBLISHED_DIR": f"{work}/published",
        "REFUNDS_WAREHOUSE": f"{work}/warehouse/refunds.duckdb",
    }
    import duckdb
    from dagster import DagsterInstance

    from pipelines.definitions import DAILY_JOB_NAME, defs
    from pipelines.run.context import AS_OF_TAG

    config = {
        "resources": {
            "pipeline": {
                "config": {
                    "landing_dir": landing,
                    "landing_settle_seconds": 0,
                    "warehouse_path": f"{work}/warehouse/refunds.duckdb",
                }
            }
        },
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
    }
    started = time.monotonic()
    result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
        run_config=config, instance=DagsterInstance.ephemeral(), tags={AS_OF_TAG: as_of}, raise_on_error=False
    )
    total = time.monotonic() - started
    steps = {
        ev.step_key: ev.event_specific_data.duration_ms / 1000
        for ev in result.all_events
        if ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE")
    }
    failures = [ev.message for ev in result.all_events if ev.event_type_value == "STEP_FAILURE"]
    with duckdb.connect(f"{work}/warehouse/refunds.duckdb", read_only=True) as con:
        rows_read, files = con.execute(
            "select coalesce(sum(rows_read), 0), count(*) from ingest.file_ledger where run_id = ?", [result.run_id]
        ).fetchone()
        entries = con.execute("select count(*) from marts.fct_entry_eligibility").fetchone()[0]
    print(
        json.dumps(
            {
                "ok": result.success,
                "failures": failures[:3],
                "total_s": total,
                "steps": steps,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "dbt_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "rows_read": int(rows_read),
                "files_loaded": int(files),
                "entries_in_marts": int(entries),
            }
        )
    )


def _run_child(landing: Path, work: Path, as_of: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(landing), str(work), as_of],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"DAGSTER_HOME": ""},
    )
    last = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not last:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SystemExit("the run did not report")
    r = json.loads(last[-1])
    r["warehouse_mb"] = (work / "warehouse" / "refunds.duckdb").stat().st_size / 1e6
    return r


def _print_run(title: str, r: dict, floor_s: float | None = None) -> None:
    print(f"\n{title}: run {'succeeded' if r['ok'] else 'FAILED ' + '; '.join(r['failures'])}")
    for step, secs in sorted(r["steps"].items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {step:<62} {secs:8.1f} s")
    print(
        f"  total wall time {r['total_s']:.1f} s; "
        f"peak RSS {r['peak_mb']:.0f} MB (dagster), {r['dbt_peak_mb']:.0f} MB (dbt)"
    )
    rate = r["rows_read"] / r["total_s"] if r["total_s"] else 0
    print(
        f"  {r['files_loaded']} files, {r['rows_read']:,} rows read: {rate:,.0f} rows/s; "
        f"{r['entries_in_marts']:,} entries in the marts; warehouse {r['warehouse_mb']:,.0f} MB"
    )
    if floor_s:
        print(f"  floor (DuckDB reads every file once) {floor_s:.1f} s: overhead {r['total_s'] / floor_s:.1f}x")


def _next_day(entries: int, work: Path, big_landing: Path) -> Path:
    """The landing folder of the next day: yesterday's files (already loaded) plus one day's new exports."""
    from ingest_benchmark import _generate

    day = _generate(max(1000, entries // 300), 8, work)
    landing = work / f"landing_next_day_{entries}"
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir()
    for f in big_landing.glob("*.csv"):
        (landing / f.name).symlink_to(f)
    for f in day.glob("*.csv"):
        (landing / f"next_day_{f.name}").symlink_to(f)
    return landing


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "bench")
    ap.add_argument("--no-incremental", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    from ingest_benchmark import _floor, _generate

    from pipelines.transform.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    figures: dict = {}
    for n in sorted(args.entries):
        landing = _generate(n, args.seed, args.work)
        work = args.work / f"daily_{n}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "warehouse").mkdir(parents=True)
        floor_s, _ = _floor(landing, work / "floor.duckdb")
        r = _run_child(landing, work, AS_OF)
        r["floor_s"] = floor_s
        figures[n] = r
        _print_run(f"{n:,} entries", r, floor_s)
    sizes = sorted(figures)
    for small, large in zip(sizes, sizes[1:], strict=False):
        ratio = figures[large]["total_s"] / figures[small]["total_s"]
        print(f"\ngrowth {small:,} -> {large:,} entries ({large // small}x data): {ratio:.1f}x time")
    if not args.no_incremental:
        n = sizes[-1]
        landing = _next_day(n, args.work, _generate(n, args.seed, args.work))
        r = _run_child(landing, args.work / f"daily_{n}", NEXT_DAY)
        figures["incremental"] = r
        _print_run(f"incremental day on {n:,} entries", r)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
