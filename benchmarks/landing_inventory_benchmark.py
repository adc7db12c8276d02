"""The landing inventory's time with and without the fingerprint cache, on a folder of already-loaded exports.

    python benchmarks/landing_inventory_benchmark.py --world data/bench/entries_1000000_seed_7 --work /tmp/inv

The world's files are copied into <work>/landing (the world is never touched) and a scratch warehouse is made in
<work>. The ledger is given a 'loaded' row per file, as after the daily run that loaded them, so the inventory
classifies them as a daily run does the day after. Then ``take_inventory`` runs: with the cache off (every file
read in full: the time before the cache), with the cache on and empty (cold), warm, and warm after one file's
mtime was changed (that file alone is read again). Not part of the tests: the figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.ingest.fingerprint_cache import RACY_SECONDS  # noqa: E402
from pipelines.ingest.headers import load_aliases  # noqa: E402
from pipelines.ingest.load import take_inventory  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from pipelines.warehouse.connection import open_warehouse  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True, help="a folder of ACE export files (only read)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder: landing copy and warehouse")
    args = parser.parse_args()
    landing = args.work / "landing"
    if args.work.exists():
        shutil.rmtree(args.work)
    landing.mkdir(parents=True)
    for f in sorted(args.world.iterdir()):
        if f.is_file():
            shutil.copy2(f, landing / f.name)  # the world's mtimes: long settled
    size = sum(f.stat().st_size for f in landing.iterdir())
    print(f"{len(list(landing.iterdir()))} files, {size / 1e9:.2f} GB in {landing}")
    base = dataclasses.replace(
        load_settings(), landing_dir=landing, warehouse_path=args.work / "warehouse" / "refunds.duckdb"
    )
    aliases = load_aliases(base.header_aliases_file)
    time.sleep(RACY_SECONDS)  # the copies' ctimes are now; a file changed in the last RACY_SECONDS is not cached

    def inventory(label: str, cache: bool) -> list:
        settings = dataclasses.replace(base, landing_fingerprint_cache=cache)
        with open_warehouse(settings) as con:
            start = time.perf_counter()
            items = take_inventory(con, settings, aliases, f"bench-{label}")
            took = time.perf_counter() - start
        statuses: dict[str, int] = {}
        for i in items:
            statuses[i.status] = statuses.get(i.status, 0) + 1
        cached = sum(i.file is not None and i.file.from_cache for i in items)
        print(f"{label:<34} {took:7.3f} s   {len(items) - cached:>3} read, {cached:>3} from cache   {statuses}")
        return items

    items = inventory("first day (files new, no cache)", cache=False)
    with open_warehouse(base) as con:  # the day they were loaded: one 'loaded' ledger row per file
        for n, i in enumerate(items, start=1):
            con.execute(
                "insert into ingest.file_ledger (load_id, file_sha256, file_name, file_size_bytes, file_modified_at, "
                "report_code, status, rows_read, rows_loaded, rows_quarantined, loaded_at) "
                "values (?, ?, ?, ?, ?, ?, 'loaded', 0, 0, 0, current_timestamp)",
                [n, i.file.sha256, i.name, i.file.size, i.file.modified_at, i.report_code],
            )
    inventory("next day, cache off (before)", cache=False)
    inventory("next day, cache on, cold", cache=True)
    inventory("next day, cache on, warm", cache=True)
    touched = sorted(landing.iterdir(), key=lambda f: f.stat().st_size)[-1]  # the largest: the worst case
    os.utime(touched, (time.time() - 3600, time.time() - 3600))
    time.sleep(RACY_SECONDS)
    print(f"touched {touched.name} ({touched.stat().st_size / 1e6:.0f} MB): its mtime is an hour ago")
    inventory("next day, warm, one file touched", cache=True)
    inventory("next day, warm again", cache=True)


if __name__ == "__main__":
    main()
