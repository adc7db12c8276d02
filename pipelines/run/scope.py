"""What every run does before its first step and after its last, whoever started it (the command line, the
schedule, the sensor, the UI).

Before: take the warehouse's run lock (a second run stops here, naming the first), finish or roll back an output
swap a crash left half-done (exports, published copy), and report the previous run if it died without finishing.
After: write this run's report, mark the lock file finished, release the lock.

The command line enters the scope before it starts the job, so that a refused run exits with its own code; the
job's resource (``PipelineResource``) enters it for every run Dagster launches, and finds it already held when
the command line is the caller.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.run.context import RunContext, parse_as_of
from pipelines.run.lock import Holder, RunLock
from pipelines.run.recovery import recover_outputs
from pipelines.settings import Settings

if TYPE_CHECKING:  # dagster is imported by the run itself: the lock is taken before that costs a second
    from dagster import DagsterInstance


@dataclass
class RunScope:
    lock: RunLock
    instance: DagsterInstance | None = None  # where the run's events are (the command line sets it late)
    recovered: list[str] = field(default_factory=list)  # what the start of the run repaired
    dead_run_report: Path | None = None  # the report written for a previous run that died
    report: Path | None = None  # this run's report


@contextmanager
def run_scope(
    settings: Settings,
    run_id: str,
    run: RunContext | None,
    command: str,
    instance: DagsterInstance | None = None,
    write_report: bool = True,
    log: Callable[[str], None] = print,
) -> Iterator[RunScope]:
    # run is None for a command that is not a run (refunds docs): it only needs the warehouse to itself
    as_of = run.as_of.isoformat() if run is not None else ""
    lock = RunLock.acquire(settings.warehouse_path, run_id, command, as_of)  # RunLockedError: refused
    scope = RunScope(lock, instance)
    if lock.nested:  # the command line holds it for this very run and does the rest
        yield scope
        return
    started = time.time()
    try:
        scope.recovered = recover_outputs(settings)
        for line in scope.recovered:
            log(f"recovered from an interrupted run: {line}")
        if lock.previous_run_died:
            scope.dead_run_report = _report_dead_run(settings, lock.previous, run_id, instance, log)
        raised = False
        try:
            yield scope
        except BaseException:
            raised = True
            raise
        finally:
            if write_report:
                scope.report = _report(settings, run_id, run, scope.instance, raised, started, log)
    finally:
        lock.release()


def _report(settings, run_id, run, instance, raised, started, log) -> Path | None:
    from pipelines.reports.run_outcome import (
        checks_in_instance,
        failures_in_instance,
        status_in_instance,
        write_run_report,
    )

    try:
        status = status_in_instance(instance, run_id, raised)
        checks, failures = checks_in_instance(instance, run_id), failures_in_instance(instance, run_id)
        return write_run_report(settings, run_id, run.as_of, status, checks, started, time.time(), failures)
    except Exception as error:  # the run's outcome stands; say why its report is missing
        log(f"run report not written: {type(error).__name__}: {error}")
        return None


def _report_dead_run(
    settings: Settings, dead: Holder, run_id: str, instance: DagsterInstance | None, log
) -> Path | None:
    """A run that ended without finishing (its lock file still says running): mark it failed in the instance
    (a killed run would otherwise show as started for ever) and write its report from what it left."""
    from pipelines.reports.run_outcome import checks_in_instance, failures_in_instance, write_run_report

    message = (
        f"run {dead.run_id} (pid {dead.pid} on {dead.host}, started {dead.started_at}) ended without finishing "
        f"(killed or crashed); reported by run {run_id}"
    )
    log(message)
    try:
        run = instance.get_run_by_id(dead.run_id) if instance is not None else None
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, message)
        if not dead.as_of:  # not a run (refunds docs): nothing to report
            return None
        started = dt.datetime.fromisoformat(dead.started_at).timestamp()
        return write_run_report(
            settings,
            dead.run_id,
            parse_as_of(dead.as_of),
            f"DIED (ended without finishing; reported by run {run_id})",
            checks_in_instance(instance, dead.run_id),
            started,
            None,
            failures_in_instance(instance, dead.run_id),
        )
    except Exception as error:
        log(f"report of the run that died not written: {type(error).__name__}: {error}")
        return None
