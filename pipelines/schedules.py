"""The daily schedule and the landing-folder sensor: both launch the same job, tagged with its as_of date."""

import hashlib
import json
import time

from dagster import (
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from pipelines.ingest.files import scan_landing
from pipelines.run.context import AS_OF_TAG, today
from pipelines.run.lock import current_holder
from pipelines.settings import load_settings


def build_schedule_and_sensor(job):
    settings = load_settings()

    @schedule(
        job=job,
        cron_schedule=settings.daily_run_cron,
        execution_timezone=settings.time_zone,
        description="The daily run: ingest what landed, rebuild the marts, gate and export, as of the scheduled date.",
    )
    def daily_refunds_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        as_of = context.scheduled_execution_time.date().isoformat()
        return RunRequest(run_key=f"daily-{as_of}", tags={AS_OF_TAG: as_of})

    @sensor(
        job=job,
        minimum_interval_seconds=settings.landing_sensor_interval_seconds,
        description="Launches the daily job when new, settled files appear in the landing folder.",
    )
    def landing_folder_sensor(context: SensorEvaluationContext):
        s = load_settings()
        holder = current_holder(s.warehouse_path)
        if holder is not None:  # a run is on: it would refuse a second one; the files wait for the next tick
            return SkipReason(f"the warehouse is in use by {holder.describe()}")
        now = time.time()
        signatures = {}
        for p in scan_landing(s.landing_dir):
            st = p.lstat()
            if now - st.st_mtime >= s.landing_settle_seconds:  # a file still being written waits
                signatures[p.name] = hashlib.sha1(
                    f"{p.name}|{st.st_size}|{st.st_mtime_ns}".encode("utf-8", "surrogateescape")
                ).hexdigest()[:12]
        seen = set(json.loads(context.cursor)) if context.cursor else set()
        new = sorted(n for n, sig in signatures.items() if sig not in seen)
        if not new:
            return SkipReason("no new settled files in the landing folder")
        context.update_cursor(json.dumps(sorted(signatures.values())))
        key = hashlib.sha1("|".join(sorted(signatures[n] for n in new)).encode()).hexdigest()[:16]
        return RunRequest(
            run_key=f"landing-{key}",
            tags={AS_OF_TAG: today(s.time_zone).isoformat(), "refunds/new_files": str(len(new))},
        )

    return daily_refunds_schedule, landing_folder_sensor
