"""Ingestion benchmark: synthetic ACE exports (all six reports) into a fresh warehouse, measured.

    python benchmarks/ingest_benchmark.py [--entries 1000000] [--work data/bench]

Prints wall time per ingest asset and in total, peak resident memory of the ingesting process, rows per
second, the warehouse size, and the floor: DuckDB alone reading the same files once (all columns as text).
The generated files are kept under --work and reused when the same size and seed are asked again.
Not part of the test suite: figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generate(entries: int, seed: int, work: Path) -> Path:
    landing = work / f"entries_{entries}_seed_{seed}"
    done = landing / ".complete"
    if done.exists():
        return landing
    from synth import generate

    started = time.monotonic()
    generate(landing, entries=entries, seed=seed)
    done.write_text(f"{time.monotonic() - started:.1f}\n")
    print(f"generated {entries:,} entries in {time.monotonic() - started:.1f} s -> {landing}")
    return landing


def _ingest_child(landing: str, warehouse: str) -> None:
    """Runs in a child process so that its peak memory is its own."""
    from dagster import materialize

    from pipelines.ingest.assets import ingest_assets
    from pipelines.resources import PipelineResource

    res = PipelineResource(landing_dir=landing, warehouse_path=warehouse, landing_settle_seconds=0)
    started = time.monotonic()
    result = materialize(ingest_assets, resources={"pipeline": res})
    total = time.monotonic() - started
    steps = {}
    for ev in result.all_events:
        if ev.event_type_value == "STEP_SUCCESS":
            steps[ev.step_key] = ev.event_specific_data.duration_ms / 1000
    import duckdb

    con = duckdb.connect(warehouse, read_only=True)
    read, loaded, kept = con.execute(
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ingest.file_ledger"
    ).fetchone()
    con.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "ok": result.success,
                "total_s": total,
                "steps": steps,
                "rows_read": read,
                "rows_loaded": loaded,
                "rows_quarantined": kept,
                "peak_rss_mb": peak_kb / 1024,
            }
        )
    )


def _floor(landing: Path, scratch: Path) -> tuple[float, int]:
    """DuckDB alone: every field of every CSV read once into a table (as text: no parsing, no checks)."""
    import duckdb

    scratch.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    con.execute("set threads = 2")
    started = time.monotonic()
    rows = 0
    for i, f in enumerate(sorted(landing.glob("*.csv"))):
        con.execute(
            f"create table t{i} as select * from read_csv(?, all_varchar = true, header = true, auto_detect = true)",
            [str(f)],
        )
        rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    elapsed = time.monotonic() - started
    con.close()
    scratch.unlink(missing_ok=True)
    return elapsed, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "bench")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _ingest_child(*args.child)
        return

    landing = _generate(args.entries, args.seed, args.work)
    input_mb = sum(f.stat().st_size for f in landing.iterdir() if f.is_file()) / 1e6
    warehouse = args.work / f"warehouse_{args.entries}" / "refunds.duckdb"
    if warehouse.parent.exists():
        for f in warehouse.parent.iterdir():
            f.unlink()
    warehouse.parent.mkdir(parents=True, exist_ok=True)

    floor_s, floor_rows = _floor(landing, warehouse.parent / "floor.duckdb")
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(landing), str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"DAGSTER_HOME": ""},
    )
    last = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not last:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SystemExit("ingestion failed")
    r = json.loads(last[-1])
    size_mb = warehouse.stat().st_size / 1e6
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"input: {args.entries:,} entries, {input_mb:,.0f} MB in {sum(1 for _ in landing.glob('*.*'))} files")
    print("per asset (s):")
    for step, secs in r["steps"].items():
        print(f"  {step:<40} {secs:8.2f}")
    print(f"ingest total wall time     {r['total_s']:8.1f} s")
    print(f"peak resident memory       {r['peak_rss_mb']:8.0f} MB")
    print(
        f"rows read                  {r['rows_read']:>12,} (loaded {r['rows_loaded']:,}, "
        f"quarantined {r['rows_quarantined']:,})"
    )
    print(f"rows per second            {r['rows_read'] / r['total_s']:>12,.0f}")
    print(f"warehouse size             {size_mb:8.0f} MB")
    print(
        f"floor (DuckDB loads every CSV field once, as text) {floor_s:.1f} s for {floor_rows:,} rows; "
        f"overhead {r['total_s'] / floor_s:.1f}x"
    )


if __name__ == "__main__":
    main()
