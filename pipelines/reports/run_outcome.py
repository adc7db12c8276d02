"""The run report is written after every run, successful or not: auditors need to see a blocked gate too.

Every run writes its own report when it ends, from within the run (``pipelines/run/scope.py``), whoever started
it: the command line, the schedule, the sensor or the UI. A run that died before it could (killed, power cut) is
reported by the next run, from what its lock file and the Dagster instance say. The report reads the warehouse
through a read-only connection while the run still holds the run lock, so no other run competes with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from pipelines.settings import Settings

_FINAL_STATUSES = {DagsterRunStatus.SUCCESS: "SUCCESS", DagsterRunStatus.FAILURE: "FAILURE"}


def check_rows(evaluations) -> list[dict]:
    """The report's view of asset check evaluations: ``blocking`` (a failure stops what is downstream), ``gate``
    (a blocking check of the project's own, i.e. not a dbt test: the GX suites and the ledger's reconciliation),
    ``severity`` (``ERROR`` or ``WARN``), and for a failure the rows it found: ``failing_rows`` and ``failures``
    (the GX check's failed expectations, each with its failing rows' keys)."""
    rows = []
    for e in evaluations:
        failures = _gx_failures(e.metadata.get("failures"))
        dbt_failed = e.metadata.get("dagster_dbt/failed_row_count")
        rows.append(
            {
                "name": e.check_name,
                "asset": e.asset_key.to_user_string(),
                "passed": e.passed,
                "blocking": bool(e.blocking),
                "gate": bool(e.blocking) and "unique_id" not in e.metadata,  # dbt tests carry their unique_id
                "severity": e.severity.value,
                "description": e.description or "",
                "failing_rows": (
                    sum(f["rows"] or 0 for f in failures) if failures else dbt_failed.value if dbt_failed else None
                ),
                "failures": failures,
            }
        )
    return rows


def _gx_failures(table) -> list[dict]:
    """The rows of the markdown table a GX check attaches as ``failures`` (pipelines/quality/checks.py):
    ``| expectation | column | failing rows | e.g. |``; the last cell lists the failing rows' keys."""
    if table is None:
        return []
    found = []
    for line in str(table.value).splitlines()[2:]:
        cells = line.strip().removeprefix("|").removesuffix("|").split(" | ", 3)
        if len(cells) == 4:
            expectation, column, count, examples = (c.strip() for c in cells)
            found.append(
                {
                    "expectation": expectation,
                    "column": column,
                    "rows": int(count) if count.isdigit() else None,
                    "examples": examples,
                }
            )
    return found


def failures_in_instance(instance: DagsterInstance | None, run_id: str) -> dict:
    """What stopped a run, from its events: the steps that failed with their error (the root cause, not Dagster's
    wrapper; a step that failed only because its blocking check did is the check's, reported with it), the run's
    own failure message, and the steps of the job that never started."""
    found: dict = {"steps": [], "run": None, "not_run": []}
    run = instance.get_run_by_id(run_id) if instance is not None else None
    if run is None:
        return found
    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE, DagsterEventType.STEP_START}
    started = set()
    for record in instance.get_records_for_run(run_id, of_type=kinds).records:
        event = record.event_log_entry.dagster_event
        if event.event_type == DagsterEventType.STEP_START:
            started.add(event.step_key)
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            if error is None or error.cls_name != "DagsterAssetCheckFailedError":
                found["steps"].append({"step": event.step_key, "message": (error.message if error else "").strip()})
        else:
            found["run"] = (event.message or record.event_log_entry.message or "").strip()
    if run.execution_plan_snapshot_id and started:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        found["not_run"] = sorted(step.key for step in plan.steps if step.key not in started)
    return found


def checks_in_instance(instance: DagsterInstance | None, run_id: str) -> list[dict]:
    """The asset check evaluations a run recorded in the Dagster instance (none when it is not there)."""
    if instance is None:
        return []
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    return check_rows([r.event_log_entry.dagster_event.event_specific_data for r in records])


def status_in_instance(instance: DagsterInstance | None, run_id: str, raised: bool) -> str:
    """SUCCESS or FAILURE: the run's final status when the instance has it, else (the run is ending now) FAILURE
    when a step failed or the run is ending on an exception."""
    run = instance.get_run_by_id(run_id) if instance is not None else None
    if run is not None and run.status in _FINAL_STATUSES:
        return _FINAL_STATUSES[run.status]
    if raised:
        return "FAILURE"
    if instance is not None:
        failures = instance.get_records_for_run(
            run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}, limit=1
        ).records
        if failures:
            return "FAILURE"
    return "SUCCESS"


def write_run_report(
    settings: Settings,
    run_id: str,
    as_of: dt.date,
    status: str,
    checks: list[dict],
    started_at: float | None = None,
    finished_at: float | None = None,
    failures: dict | None = None,
) -> Path | None:
    """Write data/reports/runs/<as_of>_<run>/run_report.html; returns its path (None without a warehouse).

    ``failures`` (``failures_in_instance``) says what stopped a failed run, for the banner at the top."""
    from pipelines.reports.run_report import build_run_report

    if not settings.warehouse_path.exists():
        return None
    out_dir = settings.run_report_dir(as_of, run_id)
    manifest = settings.exports_dir / as_of.isoformat() / "manifest.json"
    exports = []
    if manifest.exists():
        body = json.loads(manifest.read_text(encoding="utf-8"))
        if body.get("run_id") == run_id:  # this run's export, not an earlier one of the same day
            exports = body["files"]
    docs = out_dir / "data_docs" / "index.html"
    run = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "status": status,
        "started_at": _time(started_at),
        "finished_at": _time(finished_at),
        "checks": checks,
        "exports": exports,
        "failures": failures or {},
        "published": _published_run(settings),
    }
    return build_run_report(settings.warehouse_path, out_dir, run, docs if docs.exists() else None)


def _published_run(settings: Settings) -> str | None:
    """The run the analysts' copy in place comes from (a failed run leaves the previous one)."""
    manifest = settings.published_dir / "published.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError):
        return None


def _time(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else None
