"""The pipeline's Dagster resource: its settings, the one writing connection to the warehouse, and the run lock.

Every step of every run uses this resource, so Dagster initialises it before the first step and tears it down
after the last (the in-process executor initialises resources once per run): that is where a run takes the
warehouse's run lock and, at the end, writes its report (``pipelines/run_scope.py``). A run started while
another holds the lock fails there, before any step, with a message naming the holder.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext

from pipelines.settings import Settings, load_settings
from pipelines.warehouse.connection import open_warehouse

# Dagster's name for the job `materialize()` builds (tests, scripts): such runs take the lock but write no report.
EPHEMERAL_JOB_NAME = "__ephemeral_asset_job__"


class PipelineResource(ConfigurableResource):
    """Settings from refunds.yaml (or ``settings_file``), with optional per-run overrides of the main paths."""

    settings_file: str = ""
    landing_dir: str = ""
    warehouse_path: str = ""
    landing_settle_seconds: float = -1.0  # < 0: keep the settings file's value

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Generator[PipelineResource, None, None]:
        from pipelines.run_scope import run_scope

        run = context.run
        if run is None:  # built outside a run (direct invocation): nothing to guard
            yield self
            return
        with run_scope(
            self.settings(),
            run.run_id,
            run.tags,
            command=f"dagster job {run.job_name}",
            instance=context.instance,
            write_report=run.job_name != EPHEMERAL_JOB_NAME,
            log=context.log.info if context.log else print,
        ):
            yield self

    def settings(self) -> Settings:
        s = load_settings(Path(self.settings_file) if self.settings_file else None)
        overrides = {}
        if self.landing_dir:
            overrides["landing_dir"] = Path(self.landing_dir).resolve()
        if self.warehouse_path:
            overrides["warehouse_path"] = Path(self.warehouse_path).resolve()
        if self.landing_settle_seconds >= 0:
            overrides["landing_settle_seconds"] = self.landing_settle_seconds
        return dataclasses.replace(s, **overrides) if overrides else s

    def export_warehouse_for_dbt(self) -> Settings:
        """dbt runs as a subprocess whose profile reads the warehouse path from the environment."""
        s = self.settings()
        os.environ["REFUNDS_WAREHOUSE"] = str(s.warehouse_path)
        os.environ["REFUNDS_DUCKDB_MEMORY_LIMIT"] = s.duckdb_memory_limit
        os.environ["REFUNDS_DUCKDB_THREADS"] = str(s.duckdb_threads)
        return s

    @contextmanager
    def warehouse(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_warehouse(self.settings(), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
