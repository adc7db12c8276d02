"""The pipeline's Dagster resource: its settings, the one writing connection to the warehouse, and the run lock.

Every step of every run uses this resource, so Dagster initialises it before the first step and tears it down
after the last (the in-process executor initialises resources once per run): that is where a run takes the
warehouse's run lock and, at the end, writes its report (``pipelines/run/scope.py``); there too the settings are
read and the run's context resolved, once. A run started while another holds the lock fails there, before any
step, with a message naming the holder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines.run.context import RunContext
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.connection import open_warehouse

# Dagster's name for the job `materialize()` builds (tests, scripts): such runs take the lock but write no report.
EPHEMERAL_JOB_NAME = "__ephemeral_asset_job__"


class PipelineResource(ConfigurableResource):
    """Settings from refunds.yaml (or ``settings_file``), with optional per-run overrides of the main paths.

    In a run, the settings are read and the run's context (``RunContext``) resolved once, when Dagster initialises
    the resource; every step then reads the same objects."""

    settings_file: str = ""
    landing_dir: str = ""
    warehouse_path: str = ""
    landing_settle_seconds: float = -1.0  # < 0: keep the settings file's value

    _settings: Settings | None = PrivateAttr(default=None)
    _run: RunContext | None = PrivateAttr(default=None)
    # Work a later step will need, started when a run begins (e.g. the GX import, in a background thread): the
    # steps register it, so this module knows none of them (quality/checks.py).
    _at_run_start: ClassVar[list[Callable[[], None]]] = []

    @classmethod
    def at_run_start(cls, warm_up: Callable[[], None]) -> None:
        if warm_up not in cls._at_run_start:
            cls._at_run_start.append(warm_up)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Generator[PipelineResource, None, None]:
        from pipelines.run.scope import run_scope

        self._settings, self._run = self._read_settings(), None  # nothing of an earlier run kept
        run = context.run
        if run is None:  # built outside a run (direct invocation): nothing to guard
            yield self
            return
        self._run = RunContext.of_run(run, context.instance, self._settings.time_zone)
        for warm_up in self._at_run_start:
            warm_up()
        with run_scope(
            self._settings,
            run.run_id,
            self._run,
            command=f"dagster job {run.job_name}",
            instance=context.instance,
            write_report=run.job_name != EPHEMERAL_JOB_NAME,
            log=context.log.info if context.log else print,
        ):
            yield self

    def settings(self) -> Settings:
        return self._settings if self._settings is not None else self._read_settings()

    def run_context(self, context) -> RunContext:
        """The run's context, resolved when the run started (``context``: a step's, used outside a run scope)."""
        if self._run is not None:
            return self._run
        return RunContext.of_run(context.run, context.instance, self.settings().time_zone)

    def _read_settings(self) -> Settings:
        s = load_settings(Path(self.settings_file) if self.settings_file else None)
        overrides = {}
        if self.landing_dir:
            overrides["landing_dir"] = Path(self.landing_dir).resolve()
        if self.warehouse_path:
            overrides["warehouse_path"] = Path(self.warehouse_path).resolve()
        if self.landing_settle_seconds >= 0:
            overrides["landing_settle_seconds"] = self.landing_settle_seconds
        return dataclasses.replace(s, **overrides) if overrides else s

    @contextmanager
    def warehouse(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_warehouse(self.settings(), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
