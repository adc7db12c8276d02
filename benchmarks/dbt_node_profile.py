"""Where a daily dbt build's time goes on a small warehouse: dbt's process start, its SQL, and its own work per node.

    make run                                        # the sample warehouse, data/warehouse/refunds.duckdb
    python benchmarks/dbt_node_profile.py --as-of 2026-11-20

The warehouse is copied to a scratch folder, where dbt also keeps its artifacts (the original warehouse and the
project's target/ are not touched), and the daily run's build (`dbt build` without the unit tests) runs on the copy
twice: once to save dbt's parse, as the daily run always has it, then measured, with dbt's debug log as JSON. On a
warehouse where every query takes milliseconds, what is not SQL is dbt's own work for each node (compiling, its
materialization's steps, events, artifacts): the fixed cost of a day (BENCHMARKS.md, "The floor of this
architecture"). Not part of the tests: the figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.transform.dbt import DBT_PROJECT_DIR as DBT_PROJECT  # noqa: E402
from pipelines.transform.dbt import dbt_executable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "data" / "warehouse" / "refunds.duckdb")
    parser.add_argument("--as-of", required=True, help="the date the warehouse was last built as of (YYYY-MM-DD)")
    parser.add_argument("--threads", type=int, help="dbt's threads (default: the profile's, as the daily run)")
    parser.add_argument(
        "--without-tests", action="store_true", help="models and seeds only: the least a build of this DAG can cost"
    )
    args = parser.parse_args()
    if not args.warehouse.is_file():
        sys.exit(f"no warehouse at {args.warehouse}: `make run` builds the sample's")

    with tempfile.TemporaryDirectory(prefix="dbt_node_profile_") as scratch:
        warehouse = Path(scratch) / "refunds.duckdb"
        shutil.copyfile(args.warehouse, warehouse)
        env = {**os.environ, "REFUNDS_WAREHOUSE": str(warehouse), "REFUNDS_AS_OF": args.as_of}
        skipped = ["unit_test", "test"] if args.without_tests else ["unit_test"]
        build = [dbt_executable(), "build", "--exclude-resource-type", *skipped, "--quiet"]
        build += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
        # dbt's artifacts and saved parse in the scratch folder: the project's target/ (whose saved parse the daily
        # run reuses) is not touched
        build += ["--target-path", str(Path(scratch) / "target")]
        build += ["--threads", str(args.threads)] if args.threads else []
        subprocess.run(build, env=env, check=True, cwd=DBT_PROJECT)  # saves the parse, as yesterday's run did

        log_dir = Path(scratch) / "log"
        started = time.perf_counter()
        subprocess.run(
            [*build, "--log-format-file", "json", "--log-level-file", "debug", "--log-path", str(log_dir)],
            env=env,
            check=True,
            cwd=DBT_PROJECT,
        )
        process_s = time.perf_counter() - started
        events = [json.loads(line) for line in (log_dir / "dbt.log").read_text().splitlines() if line.strip()]
        results = json.loads((Path(scratch) / "target" / "run_results.json").read_text())
    report(process_s, events, results, f"{args.threads} thread(s)" if args.threads else "the profile's threads")


def report(process_s: float, events: list[dict], results: dict, threads: str) -> None:
    """Print the build's time from the process down to its SQL statements."""
    nodes = Counter(r["unique_id"].split(".")[0] for r in results["results"])
    node_s = sum(r["execution_time"] for r in results["results"])
    statements = [e["data"] for e in events if e["info"]["name"] == "SQLQueryStatus"]
    sql_s = sum(float(s["elapsed"]) for s in statements)
    usage = next(e["data"] for e in events if e["info"]["name"] == "ResourceReport")
    n_nodes = sum(nodes.values())
    print(f"dbt process, start to exit:             {process_s:6.1f} s")
    print(f"... inside dbt (after its imports):     {usage['command_wall_clock_time']:6.1f} s")
    print(f"... running the nodes (dbt's elapsed):  {results['elapsed_time']:6.1f} s on {threads}")
    print(f"nodes: {n_nodes} ({', '.join(f'{n} {kind}s' for kind, n in sorted(nodes.items()))})")
    print(f"node-seconds (sum over nodes):          {node_s:6.1f} s")
    print(f"... SQL: {len(statements):,} statements        {sql_s:6.1f} s")
    print(f"... dbt's own work per node:            {(node_s - sql_s) / n_nodes * 1000:6.0f} ms")
    print(f"dbt's CPU time (user):                  {usage['process_user_time']:6.1f} s")


if __name__ == "__main__":
    main()
