"""``refunds``: the command line for daily use, so nobody needs Dagster internals.

refunds run      [--input DIR] [--as-of YYYY-MM-DD] [--warehouse PATH] [--settle SECONDS] [--re-export] ...
refunds status   [--warehouse PATH] [--tables]
refunds inspect  FILE...
refunds synth    --out DIR [--entries N] [--seed N] [--as-of YYYY-MM-DD] [--xlsx rev613 ...]
refunds sample   (regenerates the bundled sample in data/sample/)
refunds prepare  (parses the dbt project into its manifest; run before `dagster dev`)
refunds docs     [--warehouse PATH]  (writes the dbt docs site into the reports folder)

``refunds --help`` and ``refunds COMMAND --help`` describe every option, the exit codes and the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import textwrap
import time
import traceback
import uuid
from importlib import metadata
from pathlib import Path

from pipelines.run.context import AS_OF_TAG, RunContext, parse_as_of, refuse_future, today
from pipelines.settings import ENV_OVERRIDES, PROJECT_ROOT, SettingsError, load_settings

# Exit codes: the same for every command.
OK, STEP_FAILED, WRONG_SETTING, WAREHOUSE_HELD = 0, 1, 2, 3

# The Dagster instance runs are recorded in when DAGSTER_HOME is not set: the one `make dev` shows.
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"
# Set to 1, runs go to a throwaway in-memory instance instead (the test suite: fast, and nothing recorded anywhere).
EPHEMERAL_ENV = "REFUNDS_DAGSTER_EPHEMERAL"

PINNED = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations")

EPILOG = f"""exit codes:
  {OK}  success
  {STEP_FAILED}  a step of the run failed, or the gate blocked the export (the step, check and error are printed;
     the run report and the run's log say more); `inspect`: a file would be refused
  {WRONG_SETTING}  a wrong setting or argument (the file and the setting are named)
  {WAREHOUSE_HELD}  another run holds the warehouse (it is named: run id, pid, host, start, command), or another
     process has the DuckDB file open

environment:
  REFUNDS_SETTINGS  the settings file (default: refunds.yaml at the project root); a file it names must exist
  {textwrap.fill(", ".join(ENV_OVERRIDES), 100, subsequent_indent="  ")}
                    each overrides one path of the settings file
  DAGSTER_HOME      the Dagster instance folder runs are recorded in (default: .dagster_home/ in the project,
                    the one `make dev` shows in the UI)
  {EPHEMERAL_ENV}=1
                    without DAGSTER_HOME: record runs in a throwaway in-memory instance (tests)
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
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
        return WRONG_SETTING


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="refunds",
        description="IEEPA refund pipeline: ACE report exports in, CAPE upload files, marts for analysts and a run "
        "report for auditors out.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="the package's version and the versions of its pinned libraries"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
        text = textwrap.fill(description or summary, 100)
        return sub.add_parser(name, help=summary, description=text, epilog=EPILOG, formatter_class=formatter)

    run = command(
        "run",
        "run the daily job once: ingest, dbt build, gate, CAPE export, publish, run report",
        "Run the daily job once, in this process: ingest the landing folder, build the marts with dbt (tests as "
        "checks), check them with the Great Expectations gate, write the CAPE upload files, publish the analysts' "
        "copy and write the run report. Prints one line per step and a summary; the full dbt and Dagster log goes "
        "to run.log beside the run report. The run is recorded in the Dagster instance (DAGSTER_HOME, default "
        ".dagster_home/), so the UI shows it.",
    )
    run.add_argument(
        "--input", type=Path, metavar="DIR", help="landing folder to read (default: the settings' landing_dir)"
    )
    run.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="evaluate every rule as of this date (default: today in the settings' time_zone); a date after today "
        "is refused unless --force-future-as-of",
    )
    run.add_argument(
        "--force-future-as-of",
        action="store_true",
        help="accept an --as-of after today (a rehearsal: it writes an export folder dated in the future)",
    )
    run.add_argument(
        "--warehouse", type=Path, metavar="PATH", help="warehouse DuckDB file (default: the settings' one)"
    )
    run.add_argument(
        "--settle",
        type=float,
        metavar="SECONDS",
        help="seconds a landing file must be unchanged before it is loaded (default: landing_settle_seconds)",
    )
    run.add_argument(
        "--re-export", action="store_true", help="export again entries sent earlier that CBP has not answered yet"
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models (ES-003 line tariffs) from every raw row, not only the new loads",
    )
    run.add_argument(
        "--log-level",
        default="DEBUG",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of Dagster's messages in the run's log file (default: DEBUG, every event, as the UI shows)",
    )

    status = command(
        "status",
        "the last run, its gate and exports, the published copy, the ledger",
        "What the pipeline holds: who holds the run lock, the last run (as_of, outcome, gate result, CAPE files, "
        "report), the analysts' published copy, and the file ledger (files loaded and refused, rows read = loaded "
        "+ quarantined, quarantined rows by reason). Reads only; never opens the warehouse while a run holds it.",
    )
    status.add_argument(
        "--warehouse", type=Path, metavar="PATH", help="warehouse DuckDB file (default: the settings' one)"
    )
    status.add_argument(
        "--tables", action="store_true", help="also list every table of the warehouse with its row count"
    )

    synth = command(
        "synth",
        "write a synthetic world of ACE exports (and its truth files)",
        "Write a consistent synthetic world as the six ACE reports show it, with what ACE and Excel do to files; "
        "DIR/truth/ records what was planted.",
    )
    synth.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the report files into")
    synth.add_argument("--entries", type=int, default=400, help="number of entries (default: 400)")
    synth.add_argument(
        "--seed", type=int, default=7, help="random seed: the same seed writes the same world (default: 7)"
    )
    synth.add_argument(
        "--as-of", default="2026-11-20", metavar="YYYY-MM-DD", help="the world's date (default: 2026-11-20)"
    )
    synth.add_argument(
        "--xlsx", nargs="*", default=[], metavar="REPORT", help="reports to write as .xlsx (e.g. rev613)"
    )
    synth.add_argument(
        "--profile",
        default="realistic",
        choices=["realistic", "assumed"],
        help="layouts of the files: as real exports are found to be (realistic, the default), or as first assumed",
    )

    inspect = command(
        "inspect",
        "say what the pipeline makes of export files: report, layout, column mapping, what they lack",
        "Say what the pipeline makes of each file, without loading it: the report and layout it matches, the "
        "header-to-column mapping, the optional columns it lacks and what each costs, the alias line to add for a "
        "header it cannot place. Exit code 1 when a file would be refused.",
    )
    inspect.add_argument("files", nargs="+", type=Path, metavar="FILE", help="export files (.csv, .xlsx, .zip)")

    command("sample", "regenerate the bundled sample (data/sample/)")
    command(
        "prepare",
        "parse the dbt project (writes its manifest)",
        "Parse the dbt project into dbt_project/target/manifest.json, which the Dagster definitions load; run it "
        "after every deploy and before `dagster dev` (make dev does).",
    )
    docs = command(
        "docs",
        "write the dbt docs site to <reports_dir>/dbt_docs/index.html",
        "Write the dbt docs site (models, columns, catalog, lineage; opens offline) to "
        "<reports_dir>/dbt_docs/index.html; every successful run writes it too. Takes the run lock.",
    )
    docs.add_argument("--warehouse", type=Path, help="warehouse DuckDB file (default: the settings' one)")
    return parser


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``refunds <version>`` and the versions of the pinned libraries installed here."""

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return f"refunds {installed('ieepa-refunds')}\n" + "\n".join(f"  {name} {installed(name)}" for name in PINNED)


def dagster_home() -> Path | None:
    """Where runs are recorded: DAGSTER_HOME when set, else the project's .dagster_home/ (the folder `make dev`
    shows), so the UI shows every run; None (a throwaway in-memory instance) when REFUNDS_DAGSTER_EPHEMERAL=1."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).resolve()
    if os.environ.get(EPHEMERAL_ENV) == "1":
        return None
    return DEFAULT_DAGSTER_HOME.resolve()


def dagster_instance(create: bool = True):
    """The Dagster instance in ``dagster_home()``; None when it does not exist and ``create`` is false."""
    from dagster import DagsterInstance

    home = dagster_home()
    if home is None:
        return DagsterInstance.ephemeral() if create else None
    if not create and not (home / "history").is_dir():
        return None
    home.mkdir(parents=True, exist_ok=True)
    if home == DEFAULT_DAGSTER_HOME.resolve() and not (home / "dagster.yaml").exists():
        # An empty configuration is Dagster's default (SQLite storage in this folder); its presence keeps Dagster
        # from warning that it is missing.
        (home / "dagster.yaml").write_text("# The project's Dagster instance: refunds run and make dev share it.\n")
    return DagsterInstance.from_config(str(home))


def _prepare(_args=None) -> int:
    from pipelines.transform.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    return OK


def _run(args) -> int:
    from pipelines.console import Console

    settings = load_settings()
    as_of = parse_as_of(args.as_of) if args.as_of else today(settings.time_zone)
    if not args.force_future_as_of:
        refuse_future(as_of, settings.time_zone)
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
    run = RunContext(as_of, re_export=args.re_export, full_refresh=args.full_refresh)
    console = Console()
    try:
        return _run_job(args, console, settings, run, resource_config)
    finally:
        console.close()


def _run_job(args, console, settings, run: RunContext, resource_config: dict) -> int:
    from pipelines.console import capture_output, display_path
    from pipelines.run.lock import RunLockedError
    from pipelines.run.scope import run_scope

    run_id = str(uuid.uuid4())
    as_of = run.as_of
    started = time.monotonic()
    log_path = settings.run_report_dir(as_of, run_id) / "run.log"
    try:
        # The run lock first, before anything else: a second run stops here, at once, naming the first, and
        # leaves nothing behind (its log folder is made only once the lock is held).
        with run_scope(
            settings, run_id, run, args.command_line, log=lambda m: console.line(f"refunds: {m}", error=True)
        ) as scope:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            console.tee_to(log_path)
            console.line(f"refunds run {run_id} as of {as_of}; full log: {display_path(log_path)}")
            with capture_output(log_path):
                try:
                    result = _execute(args, console, resource_config, run_id, run.tags(), scope, log_path)
                    facts = _read_facts(settings, run_id)  # still under the run lock: no other run can be writing
                    console.status(f"{'...':<7}{'':>9}  writing the run report")  # when the scope ends, below
                except Exception:
                    traceback.print_exc()  # into the log; the run's report records the failure
                    raise
    except RunLockedError as exc:
        console.line(f"refunds: {exc}", error=True)
        return WAREHOUSE_HELD
    except Exception as exc:  # outside the job's steps (preparing it): the run stops, its log has the traceback
        console.line(f"refunds: run {run_id} FAILED: {type(exc).__name__}: {exc}", error=True)
        if log_path.exists():
            console.labelled("full log", display_path(log_path))
        else:  # it stopped before the run's log existed
            console.line("".join(traceback.format_exc()), error=True)
        return STEP_FAILED
    return _print_outcome(console, settings, as_of, result, facts, scope.report, log_path, started)


def _execute(args, console, resource_config: dict, run_id: str, tags: dict, scope, log_path: Path):
    """The daily job, in this process, as run ``run_id`` (the run lock is already held for it)."""
    from pipelines.console import RunWatcher, Ticker, display_path, phase

    with phase(console, "prepare") as note:
        loading = time.time()
        # Loading the definitions parses the dbt project when its manifest is missing or older than a project file
        # (pipelines/transform/dbt.py), so an unchanged project is not parsed again (about 10 s a run).
        from pipelines.definitions import DAILY_JOB_NAME, defs
        from pipelines.transform.dbt import get_dbt_project

        parsed = get_dbt_project().manifest_path.stat().st_mtime >= loading
        job = defs.resolve_job_def(DAILY_JOB_NAME)
        instance = dagster_instance()
        home = dagster_home()
        note["detail"] = (
            f"dbt manifest {'parsed' if parsed else 'up to date'}, job {DAILY_JOB_NAME}; Dagster instance "
            + (display_path(home) if home else "in memory")
        )
    scope.instance = instance  # the run's report reads its checks and status from it
    # Dagster's console log goes to the run's log file (see capture_output), at the level asked for.
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    if resource_config:
        run_config["resources"] = {"pipeline": {"config": resource_config}}
    watcher = RunWatcher(console, instance, run_id, log_path, describe_step)
    with Ticker(watcher.tick, 0.25 if console.tty else 1.0):
        result = job.execute_in_process(
            run_config=run_config, instance=instance, run_id=run_id, tags=tags, raise_on_error=False
        )
    console.clear_status()
    plan = instance.get_execution_plan_snapshot(result.dagster_run.execution_plan_snapshot_id)
    watcher.report_not_run(plan.step_keys_to_execute)
    return result


def _read_facts(settings, run_id: str):
    import duckdb

    from pipelines.run_summary import warehouse_facts

    if not settings.warehouse_path.exists():
        return None
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return warehouse_facts(con, run_id)
    finally:
        con.close()


def describe_step(step) -> str:
    """A step's counts, from its materializations and checks, for its line."""
    from pipelines.run_summary import CheckTally

    if step.outcome == "FAILED":
        failed = [e for e in step.checks if not e.passed]  # a blocking check: its own finding, not Dagster's wrapper
        return "; ".join(_checked(e) for e in failed) if failed else step.error or "failed"
    if step.outcome == "skipped":
        return "not run: a step or blocking check before it failed"
    parts = [_materialized(step)] if step.materializations else []
    if step.checks and step.materializations:
        parts.append(CheckTally.of(step.checks).tests_text())
    elif step.checks:
        parts.extend(_checked(e) for e in step.checks)
    return "; ".join(p for p in parts if p)


def _materialized(step) -> str:
    keys = [key for key, _ in step.materializations]
    meta = step.materializations[0][1]
    if "files_seen" in meta:  # the landing inventory
        statuses = ", ".join(
            f"{v} {k[6:].replace('_', ' ')}" for k, v in meta.items() if k.startswith("files_") and k != "files_seen"
        )
        return f"{meta['files_seen']} file(s) in the landing folder" + (f": {statuses}" if statuses else "")
    if "rows_read" in meta and keys[0].startswith("raw/"):
        if not meta["files_loaded"] and not meta["files_refused"]:
            return "nothing new"
        text = f"{meta['files_loaded']} file(s), {meta['rows_loaded']:,} rows"
        text += f" loaded, {meta['rows_quarantined']:,} quarantined"
        return text + (f", {meta['files_refused']} file(s) refused" if meta["files_refused"] else "")
    if "rows_read" in meta:  # the ledger, all loads
        loaded, refused = meta["files_loaded"], meta["files_refused"]
        return f"ledger: {loaded} file(s) loaded, {refused} refused, {meta['rows_read']:,} rows read"
    if "entries" in meta and "files" in meta:  # the CAPE export
        awaiting = meta.get("held_back_awaiting_cape_response", 0)
        return f"{meta['files']} file(s), {meta['entries']:,} entries; {awaiting} held back awaiting CBP's answer"
    if "database" in meta:  # the published copy
        tables = str(meta.get("tables", "")).count("\n") - 1
        return f"analysts' copy: {max(tables, 0)} tables"
    if "site" in meta:  # the dbt docs site
        return f"dbt docs site: {meta['bytes']:,} bytes, opens offline"
    if len(keys) > 3:  # dbt
        layers: dict[str, int] = {}
        for key in keys:
            layers[key.split("/")[0]] = layers.get(key.split("/")[0], 0) + 1
        return "built " + ", ".join(f"{n} {layer}" for layer, n in layers.items())
    # Several tables at once (the reference files): their row counts, not the bookkeeping asset named as the step.
    return ", ".join(
        f"{key.split('/')[-1]} {m['dagster/row_count']:,} rows"
        for key, m in step.materializations
        if "dagster/row_count" in m and key.split("/")[-1] != step.key
    )


def _docs(args) -> int:
    """The dbt docs site of the warehouse, under the run lock (dbt opens the DuckDB file for the catalog)."""
    settings = load_settings()
    if args.warehouse:
        settings = dataclasses.replace(settings, warehouse_path=args.warehouse.resolve())
    if not settings.warehouse_path.exists():
        raise ValueError(f"no warehouse at {settings.warehouse_path}: run `refunds run` first")
    from pipelines.publish.dbt_docs import build_dbt_docs
    from pipelines.run.lock import RunLockedError
    from pipelines.run.scope import run_scope

    try:  # (importing the dbt project above parsed it again if a file of it changed)
        with run_scope(settings, str(uuid.uuid4()), None, args.command_line, write_report=False, log=_say):
            page, _ = build_dbt_docs(settings)  # always written: the user asked for it
    except RunLockedError as exc:
        print(f"refunds: {exc}", file=sys.stderr)
        return 3
    print(f"dbt docs site    {page}")
    return 0


def _say(message: str) -> None:
    print(f"refunds: {message}", file=sys.stderr)


def _checked(evaluation) -> str:
    meta = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
    if evaluation.passed:
        if "expectations" in meta:
            return f"passed: {meta['expectations']} expectation(s) on {meta['rows_validated']:,} rows"
        return "passed"
    text = " ".join((evaluation.description or "").split())
    return ("warning: " if getattr(evaluation.severity, "value", "") == "WARN" else "FAILED: ") + (
        text[:100] + "..." if len(text) > 100 else text
    )


def _print_outcome(console, settings, as_of, result, facts, report, log_path, started) -> int:
    """The end of the run: what failed or warned, then what matters, then where everything is."""
    from pipelines.console import display_path, root_error, root_error_class
    from pipelines.run_summary import (
        CheckTally,
        check_message,
        export_manifest,
        export_text,
        held_back_text,
        is_warning,
        loads_text,
        read_json,
        review_text,
    )
    from pipelines.transform.dbt import ieepa_dbt_assets

    console.clear_status()
    elapsed = time.monotonic() - started
    tally = CheckTally.of(result.get_asset_check_evaluations())
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for evaluation in failed_checks[:10]:
        label = "warning: " if is_warning(evaluation) else ""
        console.line(f"refunds: {label}{check_message(evaluation)}", error=True)
    if len(failed_checks) > 10:
        console.line(f"refunds: and {len(failed_checks) - 10} more failed checks: see the run report", error=True)
    locked = False
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None) if event.is_step_failure else None
        if error is not None and root_error_class(error) != "DagsterAssetCheckFailedError":  # said above
            locked = locked or root_error_class(error) == "WarehouseLockedError"
            console.line(f"refunds: step {event.step_key} failed: {root_error(error)}", error=True)

    if result.success:
        console.line(f"run {result.run_id} succeeded in {elapsed:.1f} s (as_of {as_of})")
    else:
        console.line(f"run {result.run_id} FAILED after {elapsed:.1f} s (as_of {as_of})", error=True)
    manifest = export_manifest(settings.exports_dir, as_of.isoformat())
    ours = manifest if manifest is not None and manifest.get("run_id") == result.run_id else None
    if facts is not None:
        console.labelled("new files", loads_text(facts))
        for name, reason in facts.refused[:10]:
            console.labelled("refused file", f"{name}: {reason}")
        if len(facts.refused) > 10:
            console.labelled("", f"and {len(facts.refused) - 10} more refused files: refunds status")
    console.labelled("gate", f"{tally.gate_text()}; {tally.tests_text()}")
    export_dir = settings.exports_dir / as_of.isoformat()
    if ours is not None:
        console.labelled("CAPE files", export_text(ours, export_dir, display_path))
    else:
        untouched = " (the earlier files there are untouched)" if manifest is not None else ""
        console.labelled("CAPE files", f"none written by this run{untouched}")
    marts_built = any(e.is_step_success and e.step_key == ieepa_dbt_assets.op.name for e in result.all_events)
    if facts is not None and marts_built:
        awaiting = ours.get("held_back_awaiting_cape_response") if ours else None
        for i, text in enumerate(held_back_text(facts, ours is not None, awaiting)):
            console.labelled("held back" if i == 0 else "", text)
        console.labelled("to review", review_text(facts))
    elif facts is not None:
        console.labelled("held back", "not known: the marts were not rebuilt by this run")
    published = read_json(settings.published_dir / "published.json") or {}
    if published.get("run_id") == result.run_id:
        console.labelled(
            "analysts' copy", f"{display_path(settings.published_dir / 'refunds_analytics.duckdb')} (and parquet/)"
        )
    else:
        console.labelled("analysts' copy", "not refreshed by this run (the previous copy stays)")
    if report is not None:
        console.labelled("run report", display_path(report))
        if (report.parent / "data_docs" / "index.html").exists():
            console.labelled("data docs", display_path(report.parent / "data_docs" / "index.html"))
    console.labelled("full log", display_path(log_path))
    if result.success:
        return OK
    return WAREHOUSE_HELD if locked else STEP_FAILED


def _status(args) -> int:
    from pipelines.console import Console

    settings = load_settings()
    if args.warehouse:
        settings = dataclasses.replace(settings, warehouse_path=args.warehouse.resolve())
    console = Console()
    try:
        _print_status(console, settings, args.tables)
    finally:
        console.close()
    return OK


def _print_status(console, settings, tables: bool) -> None:
    """Who holds the warehouse, the last run and what it left, the published copy, the ledger. Reads only."""
    from pipelines.console import display_path
    from pipelines.run.lock import current_holder, lock_path, read_holder
    from pipelines.run_summary import CheckTally, evaluations_in_instance, read_json

    warehouse = settings.warehouse_path
    lock_file = lock_path(warehouse.resolve())
    holder = current_holder(warehouse)
    console.labelled("warehouse", display_path(warehouse) + ("" if warehouse.exists() else " (none yet)"))
    console.labelled("run lock", f"held by {holder.describe()}" if holder else "free")
    instance, instance_note = _instance_for_reading()

    last = read_holder(lock_file) if lock_file.exists() else None
    if holder is not None:  # a run is on: the last one that ended is in the instance
        console.labelled("running", f"run {holder.run_id} as of {holder.as_of}, since {holder.started_at}")
        last = _last_finished_run(instance)
    if last is None:
        console.labelled("last run", "none yet" + (f" ({instance_note})" if instance_note else ""))
    else:
        run = instance.get_run_by_id(last.run_id) if instance is not None else None
        console.labelled("last run", f"{last.run_id} as of {last.as_of}: {_outcome(last, run, instance_note)}")
        if run is not None:
            console.labelled("gate", _gate_line(CheckTally.of(evaluations_in_instance(instance, last.run_id))))
        report = settings.run_report_dir(dt.date.fromisoformat(last.as_of), last.run_id) / "run_report.html"
        if report.exists():
            console.labelled("run report", display_path(report))
        if (report.parent / "run.log").exists():
            console.labelled("full log", display_path(report.parent / "run.log"))
    _print_exports(console, settings, last.run_id if last else None, last.as_of if last else None)

    published = read_json(settings.published_dir / "published.json")
    database = display_path(settings.published_dir / "refunds_analytics.duckdb")
    console.labelled(
        "published copy",
        f"{database}, published {published.get('published_at')} by run {published.get('run_id')}"
        if published
        else "none yet (a successful run publishes it)",
    )
    if holder is not None:
        console.labelled("ledger", "not read while a run holds the warehouse (opening it would block the run)")
    else:
        _print_ledger(console, warehouse, tables)


def _instance_for_reading():
    """The Dagster instance when it exists (it is not created by a read), with a note when it cannot be read."""
    home = dagster_home()
    try:
        instance = dagster_instance(create=False)
    except Exception as error:  # a broken instance folder: say so, show the rest
        return None, f"Dagster instance at {home} unreadable: {type(error).__name__}: {error}"
    if instance is None:
        return None, f"no Dagster instance at {home}" if home else f"no Dagster instance ({EPHEMERAL_ENV}=1)"
    return instance, None


def _last_finished_run(instance):
    """The newest finished run in the instance, as a run-lock holder (run id, as_of, times)."""
    from dagster import DagsterRunStatus, RunsFilter

    from pipelines.run.lock import FINISHED, Holder

    if instance is None:
        return None
    done = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    runs = instance.get_runs(RunsFilter(statuses=done), limit=1)
    if not runs:
        return None
    record = instance.get_run_record_by_id(runs[0].run_id)
    return Holder(
        runs[0].run_id,
        0,
        "",
        _iso(record.start_time) if record else "",
        "",
        runs[0].tags.get(AS_OF_TAG),
        FINISHED,
        _iso(record.end_time) if record else None,
    )


def _outcome(last, run, instance_note: str | None) -> str:
    from pipelines.run.lock import RUNNING

    if last.state == RUNNING:
        return f"DIED (started {last.started_at}, ended without finishing: killed?); the next run reports it"
    times = f"started {last.started_at}, ended {last.finished_at}"
    if run is None:
        return (
            f"ended ({times}); its outcome is not in the Dagster instance ({instance_note or 'another DAGSTER_HOME'})"
        )
    return f"{run.status.value} ({times})"


def _gate_line(tally) -> str:
    return f"{tally.gate_text()}; {tally.tests_text()}"


def _print_exports(console, settings, run_id: str | None, as_of: str | None) -> None:
    from pipelines.console import display_path
    from pipelines.run_summary import export_manifest, export_text, latest_export

    manifest = export_manifest(settings.exports_dir, as_of) if as_of else None
    if manifest is not None:
        folder = settings.exports_dir / as_of
    else:
        found = latest_export(settings.exports_dir)
        folder, manifest = found if found else (None, None)
    if manifest is None:
        console.labelled("CAPE files", "none yet")
        return
    text = export_text(manifest, folder, display_path)
    if manifest.get("run_id") != run_id:
        text += f"; written by run {manifest.get('run_id')} at {manifest.get('generated_at')}"
    console.labelled("CAPE files", text)


def _iso(timestamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds") if timestamp else None


def _print_ledger(console, warehouse: Path, tables: bool) -> None:
    import duckdb

    from pipelines.console import LABEL_WIDTH, counts

    if not warehouse.exists():
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
        console.labelled(
            "ledger",
            f"{files[0]} files loaded, {files[1]} refused; rows read {files[2]:,} = loaded {files[3]:,} + "
            f"quarantined {files[4]:,} (ingest.file_ledger)",
        )
        quarantined = con.execute("select reason_code, count(*) from quarantine.rejected_rows group by 1").fetchall()
        if quarantined:
            console.labelled("quarantine", counts(quarantined, limit=20) + " (quarantine.rejected_rows)")
        for name, reason in con.execute(
            "select file_name, refusal_reason from ingest.file_ledger where status = 'refused' order by load_id"
        ).fetchall():
            console.labelled("refused file", f"{name}: {reason}")
        if not tables:
            return
        rows = con.execute(
            """
            select schema_name, table_name, estimated_size from duckdb_tables()
            where schema_name in ('raw', 'staging', 'intermediate', 'marts') order by 1, 2
            """
        ).fetchall()
        console.labelled("tables", f"(query them with: duckdb -readonly {warehouse})")
        for schema, table, n in rows:
            console.line(f"{'':<{LABEL_WIDTH}}{schema}.{table:<48} {n:>10,} rows")
    finally:
        con.close()


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
    return OK


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
    return STEP_FAILED if refused else OK


def _sample(_args) -> int:
    from synth import write_sample

    write_sample(PROJECT_ROOT)
    print(f"bundled sample regenerated in {PROJECT_ROOT / 'data' / 'sample'}")
    return OK


if __name__ == "__main__":
    sys.exit(main())
