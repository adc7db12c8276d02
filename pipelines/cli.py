"""``refunds``: the command line for daily use, so nobody needs Dagster internals.

refunds run      [--input DIR] [--as-of YYYY-MM-DD] [--warehouse PATH] [--settle SECONDS]
refunds status   [--warehouse PATH]
refunds synth    --out DIR [--entries N] [--seed N] [--as-of YYYY-MM-DD] [--xlsx rev613 ...]
refunds sample   (regenerates the bundled sample in data/sample/)
refunds prepare  (parses the dbt project into its manifest; run before `dagster dev`)
refunds docs     [--warehouse PATH]  (writes the dbt docs site into the reports folder)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import time
import uuid
from pathlib import Path

from pipelines.run_date import AS_OF_TAG, parse_as_of
from pipelines.settings import PROJECT_ROOT, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refunds", description="IEEPA refund pipeline (CAPE)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daily job once: ingest, dbt build, checks")
    run.add_argument("--input", type=Path, help="landing folder to read (default: the settings' landing_dir)")
    run.add_argument("--as-of", help="evaluate every rule as of this date (default: today, America/New_York)")
    run.add_argument("--warehouse", type=Path, help="warehouse DuckDB file (default: the settings' one)")
    run.add_argument("--settle", type=float, help="seconds a file must be unchanged before it is loaded")
    run.add_argument("--log-level", default="WARNING", help="Dagster console log level (DEBUG, INFO, WARNING)")
    run.add_argument(
        "--re-export", action="store_true", help="export again entries sent earlier that CBP has not answered yet"
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models (ES-003 line tariffs) from every raw row, not only the new loads",
    )

    status = sub.add_parser("status", help="what the warehouse holds: files, rows, quarantine")
    status.add_argument("--warehouse", type=Path)

    synth = sub.add_parser("synth", help="write a synthetic world of ACE exports")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--entries", type=int, default=400)
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--as-of", default="2026-11-20")
    synth.add_argument("--xlsx", nargs="*", default=[], help="reports to write as .xlsx (e.g. rev613)")
    synth.add_argument(
        "--profile",
        default="realistic",
        choices=["realistic", "assumed"],
        help="layouts of the files: as real exports are found to be (realistic), or as first assumed",
    )

    inspect = sub.add_parser(
        "inspect",
        help="say what the pipeline makes of export files: report, layout, column mapping, what they lack",
    )
    inspect.add_argument("files", nargs="+", type=Path, metavar="FILE")

    sub.add_parser("sample", help="regenerate the bundled sample (data/sample/)")
    sub.add_parser("prepare", help="parse the dbt project (writes its manifest)")
    docs = sub.add_parser(
        "docs",
        help="write the dbt docs site (models, columns, catalog, lineage; opens offline) to "
        "<reports_dir>/dbt_docs/index.html; every successful run writes it too",
    )
    docs.add_argument("--warehouse", type=Path, help="warehouse DuckDB file (default: the settings' one)")

    args = parser.parse_args(argv)
    args.command_line = " ".join(["refunds", *(sys.argv[1:] if argv is None else argv)])  # for the run lock file
    try:
        commands = {
            "run": _run,
            "status": _status,
            "synth": _synth,
            "sample": _sample,
            "prepare": _prepare,
            "inspect": _inspect,
            "docs": _docs,
        }
        return commands[args.command](args)
    except (SettingsError, ValueError) as exc:
        print(f"refunds: error: {exc}", file=sys.stderr)
        return 2


def _prepare(_args=None) -> int:
    from pipelines.transform.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    return 0


def _run(args) -> int:
    as_of = parse_as_of(args.as_of)
    settings = load_settings()
    resource_config: dict = {}
    if args.input:
        if not args.input.is_dir():
            raise ValueError(f"--input {args.input} is not a folder")
        resource_config["landing_dir"] = str(args.input.resolve())
    if args.warehouse:
        resource_config["warehouse_path"] = str(args.warehouse.resolve())
    if args.settle is not None:
        resource_config["landing_settle_seconds"] = args.settle
    warehouse = Path(resource_config.get("warehouse_path", settings.warehouse_path))
    settings = dataclasses.replace(settings, warehouse_path=warehouse)
    os.environ["REFUNDS_WAREHOUSE"] = str(warehouse)

    from pipelines.run_lock import RunLockedError
    from pipelines.run_scope import run_scope

    run_id = str(uuid.uuid4())
    tags = {AS_OF_TAG: as_of.isoformat()}
    started = time.monotonic()
    try:
        # The run lock first, before anything else: a second run stops here, at once, naming the first.
        with run_scope(settings, run_id, tags, args.command_line, log=_say) as scope:
            result = _execute(args, resource_config, run_id, tags, scope)
    except RunLockedError as exc:
        print(f"refunds: {exc}", file=sys.stderr)
        return 3
    elapsed = time.monotonic() - started
    report = scope.report
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(
                f"refunds: check {check.check_name} on {check.asset_key.to_user_string()} FAILED: "
                f"{check.description or ''}",
                file=sys.stderr,
            )
    if not result.success:
        locked = False
        for event in result.all_events:
            error = getattr(event.event_specific_data, "error", None) if event.is_step_failure else None
            while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
                error = error.cause
            if error is not None:
                locked = locked or error.cls_name == "WarehouseLockedError"
                print(f"refunds: step {event.step_key} failed: {error.message.strip()}", file=sys.stderr)
        print(f"refunds: run {result.run_id} FAILED after {elapsed:.1f} s; run report: {report}", file=sys.stderr)
        return 3 if locked else 1
    print(f"run {result.run_id} succeeded in {elapsed:.1f} s (as_of {as_of})")
    _print_summary(warehouse, landing=Path(resource_config.get("landing_dir", settings.landing_dir)))
    print(f"CAPE files       {settings.exports_dir / as_of.isoformat()}  (manifest.md lists them)")
    print(f"analysts' copy   {settings.published_dir / 'refunds_analytics.duckdb'}  (and parquet/)")
    print(f"run report       {report}")
    if report is not None and (report.parent / "data_docs" / "index.html").exists():
        print(f"data docs        {report.parent / 'data_docs' / 'index.html'}")
    return 0


def _execute(args, resource_config: dict, run_id: str, tags: dict, scope):
    """The daily job, in this process, as run ``run_id`` (the run lock is already held for it)."""
    from dagster import DagsterInstance

    _prepare()
    from pipelines.definitions import DAILY_JOB_NAME, defs
    from pipelines.export.assets import RE_EXPORT_TAG

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    scope.instance = instance  # the run's report reads its checks and status from it
    if args.re_export:
        tags = {**tags, RE_EXPORT_TAG: "true"}
    # Dagster's own console log is for the UI; the command prints warnings and its summary.
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    if resource_config:
        run_config["resources"] = {"pipeline": {"config": resource_config}}
    if args.full_refresh:
        run_config["ops"] = {"ieepa_dbt_assets": {"config": {"full_refresh": True}}}
    return defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, run_id=run_id, tags=tags, raise_on_error=False
    )


def _docs(args) -> int:
    """The dbt docs site of the warehouse, under the run lock (dbt opens the DuckDB file for the catalog)."""
    settings = load_settings()
    if args.warehouse:
        settings = dataclasses.replace(settings, warehouse_path=args.warehouse.resolve())
    if not settings.warehouse_path.exists():
        raise ValueError(f"no warehouse at {settings.warehouse_path}: run `refunds run` first")
    from pipelines.publish.dbt_docs import build_dbt_docs
    from pipelines.run_lock import RunLockedError
    from pipelines.run_scope import run_scope

    try:  # (importing the dbt project above parsed it again if a file of it changed)
        with run_scope(settings, str(uuid.uuid4()), {}, args.command_line, write_report=False, log=_say):
            page = build_dbt_docs(settings)
    except RunLockedError as exc:
        print(f"refunds: {exc}", file=sys.stderr)
        return 3
    print(f"dbt docs site    {page}")
    return 0


def _say(message: str) -> None:
    print(f"refunds: {message}", file=sys.stderr)


def _status(args) -> int:
    from pipelines.run_lock import current_holder, lock_path, read_holder

    settings = load_settings()
    warehouse = args.warehouse.resolve() if args.warehouse else settings.warehouse_path
    _print_summary(warehouse, None)
    holder = current_holder(warehouse)
    if holder is not None:
        print(f"run lock         held by {holder.describe()}")
    else:
        last = read_holder(lock_path(warehouse.resolve())) if lock_path(warehouse.resolve()).exists() else None
        if last is None:
            print("run lock         free")
        elif last.state == "finished":
            print(f"run lock         free; last run {last.run_id} finished {last.finished_at}")
        else:
            print(f"run lock         free; last run {last.run_id} did not finish (killed?): the next run reports it")
    return 0


def _print_summary(warehouse: Path, landing: Path | None) -> None:
    import duckdb

    if not warehouse.exists():
        print(f"no warehouse yet at {warehouse}")
        return
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        files = con.execute(
            """
            select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'refused'),
                coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
            from ingest.file_ledger
            """
        ).fetchone()
        print()
        if landing:
            print(f"landing folder   {landing}  ({_landing_summary(con)})")
        print(f"warehouse        {warehouse}")
        print(
            "ledger           ingest.file_ledger       "
            f"{files[0]} files loaded, {files[1]} refused; rows read {files[2]:,} = loaded {files[3]:,}"
            f" + quarantined {files[4]:,}"
        )
        print("quarantine       quarantine.rejected_rows (reason_code, source_file, source_line, reason, record)")
        for code, n in con.execute(
            "select reason_code, count(*) from quarantine.rejected_rows group by 1 order by 2 desc"
        ).fetchall():
            print(f"                   {n:>8,}  {code}")
        for name, reason in con.execute(
            "select file_name, refusal_reason from ingest.file_ledger where status = 'refused' order by load_id"
        ).fetchall():
            print(f"refused file     {name}: {reason}")
        rows = con.execute(
            """
            select schema_name, table_name, estimated_size from duckdb_tables()
            where schema_name in ('raw', 'staging', 'intermediate', 'marts') order by 1, 2
            """
        ).fetchall()
        print("tables           (query them with: duckdb -readonly " + str(warehouse) + ")")
        for schema, table, n in rows:
            print(f"                   {schema}.{table:<40} {n:>10,} rows")
    finally:
        con.close()


def _landing_summary(con) -> str:
    """What this run found in the landing folder: 'nothing new' on a day without new files."""
    import duckdb

    try:
        counts = dict(con.execute("select status, count(*) from ingest.landing_inventory group by 1").fetchall())
    except duckdb.CatalogException:  # no inventory yet
        return "not read"
    new = counts.pop("new", 0)
    rest = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()))
    return (f"{new} new file(s)" if new else "nothing new") + (f"; {rest}" if rest else "")


def _synth(args) -> int:
    from synth import generate

    started = time.monotonic()
    result = generate(
        args.out,
        entries=args.entries,
        seed=args.seed,
        as_of=dt.date.fromisoformat(args.as_of),
        xlsx_reports=tuple(args.xlsx),
        profile=args.profile,
    )
    print(
        f"wrote {len(result.files)} report files for {result.entries:,} entries to {args.out} "
        f"in {time.monotonic() - started:.1f} s; truth in {result.truth_dir}"
    )
    return 0


def _inspect(args) -> int:
    from pipelines.ingest.inspect import describe, inspect_file

    settings = load_settings()
    refused = 0
    for path in args.files:
        if not path.is_file():
            print(f"{path}\n  refused       not a file")
            refused += 1
            continue
        result = inspect_file(path, settings)
        refused += result.refusal is not None
        print("\n".join(describe(result, settings.header_aliases_file)))
    return 1 if refused else 0


def _sample(_args) -> int:
    from synth import write_sample

    write_sample(PROJECT_ROOT)
    print(f"bundled sample regenerated in {PROJECT_ROOT / 'data' / 'sample'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
