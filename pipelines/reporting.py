"""The run report is written after every run, successful or not: auditors need to see a blocked gate too.

The command line writes it when its in-process run ends; for runs launched by the schedule or the sensor, run
status sensors (success and failure) write it from the run's events. The warehouse is read read-only once the
run has ended, so the report never competes with the pipeline for the write lock.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventRecordsFilter,
    RunStatusSensorContext,
    run_status_sensor,
)

from pipelines.run_date import AS_OF_TAG, parse_as_of
from pipelines.settings import Settings, load_settings


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


def _report_from_instance(context: RunStatusSensorContext, status: str) -> None:
    run = context.dagster_run
    instance: DagsterInstance = context.instance
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), limit=1000
    )
    evaluations = [
        r.event_log_entry.dagster_event.event_specific_data for r in records if r.event_log_entry.run_id == run.run_id
    ]
    stats = instance.get_run_stats(run.run_id)
    path = write_run_report(
        load_settings(), run.run_id, run.tags, status, check_rows(evaluations), stats.start_time, stats.end_time
    )
    context.log.info(f"run report: {path}")


def build_report_sensors(job):
    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        description="Writes the auditors' run report after a successful run.",
    )
    def run_report_on_success(context: RunStatusSensorContext):
        _report_from_instance(context, "SUCCESS")

    @run_status_sensor(
        run_status=DagsterRunStatus.FAILURE,
        monitored_jobs=[job],
        description="Writes the auditors' run report after a failed run (a blocked gate included).",
    )
    def run_report_on_failure(context: RunStatusSensorContext):
        _report_from_instance(context, "FAILURE")

    return [run_report_on_success, run_report_on_failure]
