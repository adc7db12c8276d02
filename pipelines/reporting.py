"""The run report is written after every run, successful or not: auditors need to see a blocked gate too.

Every run writes its own report when it ends, from within the run (``pipelines/run_scope.py``), whoever started
it: the command line, the schedule, the sensor or the UI. A run that died before it could (killed, power cut) is
reported by the next run, from what its lock file and the Dagster instance say. The report reads the warehouse
through a read-only connection while the run still holds the run lock, so no other run competes with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from pipelines.run_date import AS_OF_TAG, parse_as_of
from pipelines.settings import Settings

_FINAL_STATUSES = {DagsterRunStatus.SUCCESS: "SUCCESS", DagsterRunStatus.FAILURE: "FAILURE"}


def check_rows(evaluations) -> list[dict]:
    return [
        {
            "name": e.check_name,
            "asset": e.asset_key.to_user_string(),
            "passed": e.passed,
            "description": e.description or "",
            "failing_rows": (
                e.metadata.get("failed_expectations").value if e.metadata.get("failed_expectations") else None
            ),
        }
        for e in evaluations
    ]


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
    tags: dict,
    status: str,
    checks: list[dict],
    started_at: float | None = None,
    finished_at: float | None = None,
) -> Path | None:
    """Write data/reports/runs/<as_of>_<run>/run_report.html; returns its path (None without a warehouse)."""
    from pipelines.reports.run_report import build_run_report

    if not settings.warehouse_path.exists():
        return None
    as_of = parse_as_of(tags.get(AS_OF_TAG))
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
    }
    return build_run_report(settings.warehouse_path, out_dir, run, docs if docs.exists() else None)


def _time(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else None
