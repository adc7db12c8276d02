"""The Dagster code location: assets, checks, the daily job, its schedule and the landing sensor.

Load it with ``dagster dev -w workspace.yaml``. The dbt manifest must exist first: ``refunds prepare``
(or the command line's ``run``, the tests and CI) prepares it.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from pipelines.export.assets import cape_declaration_files
from pipelines.ingest.assets import ingest_assets, ingest_checks
from pipelines.publish.assets import analyst_copy, dbt_docs
from pipelines.quality.checks import quality_checks
from pipelines.resources import PipelineResource
from pipelines.schedules import build_schedule_and_sensor
from pipelines.transform.dbt import dbt_resource, ieepa_dbt_assets

DAILY_JOB_NAME = "daily_refunds"

# One writer to the warehouse at a time (DuckDB allows one writing process): the in-process executor runs
# the steps one after another in one process, and PipelineResource holds the warehouse's run lock from before
# the first step to after the last, for every run (schedule, sensor, UI, command line), and writes its report.
daily_job = define_asset_job(
    DAILY_JOB_NAME,
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Ingest every new ACE export, rebuild staging and marts with dbt (tests as checks), gate them with "
    "Great Expectations, write the CAPE upload files, as of the run's as_of date (tag refunds/as_of).",
)

daily_schedule, landing_sensor = build_schedule_and_sensor(daily_job)

defs = Definitions(
    assets=[*ingest_assets, ieepa_dbt_assets, cape_declaration_files, analyst_copy, dbt_docs],
    asset_checks=[*ingest_checks, *quality_checks],
    jobs=[daily_job],
    schedules=[daily_schedule],
    sensors=[landing_sensor],
    resources={"pipeline": PipelineResource(), "dbt": dbt_resource()},
    executor=in_process_executor,
)
