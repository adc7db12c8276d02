"""The run's context: the date every rule is evaluated as of, and how the run treats earlier work.

A run's context travels as run tags, because a tag is what every launcher can set (the command line, the
schedule, the landing sensor, the UI's launchpad) and what the Dagster instance keeps with the run:

- ``refunds/as_of`` (ISO date): results must be reproducible, so nothing reads the clock after the run starts;
- ``refunds/re_export`` (``true``): send again entries sent earlier that CBP has not answered yet;
- ``refunds/full_refresh`` (``true``): rebuild the incremental dbt models from every raw row.

``RunContext.of_run`` resolves them once per run; every step reads the same typed object (``PipelineResource``
holds it). A run launched without a date gets the date the run was created on, in the settings' ``time_zone``, so
a run that crosses midnight keeps one date. The time zone comes from the settings only, and dbt gets the date
from ``dbt_environment``: it never guesses one.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pipelines.settings import Settings

AS_OF_TAG = "refunds/as_of"
RE_EXPORT_TAG = "refunds/re_export"
FULL_REFRESH_TAG = "refunds/full_refresh"

# What dbt reads (macros/as_of_date.sql, macros/re_export.sql, profiles.yml, dbt_child.py). The date is an
# environment variable, not `--vars`: dbt discards its whole saved parse when the command-line vars change, and the
# date changes every day; a changed environment variable only makes dbt re-parse the files that read it.
AS_OF_ENV = "REFUNDS_AS_OF"
RE_EXPORT_ENV = "REFUNDS_RE_EXPORT"
PARENT_PID_ENV = "REFUNDS_DBT_PARENT_PID"


def today(time_zone: str) -> dt.date:
    """Today's date in ``time_zone`` (the settings' ``time_zone``: the day a filer there is living)."""
    return dt.datetime.now(ZoneInfo(time_zone)).date()


def parse_as_of(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {value!r}") from exc


def refuse_future(as_of: dt.date, time_zone: str) -> None:
    """A date after today would write CAPE files dated in the future: refused unless the caller forces it."""
    now = today(time_zone)
    if as_of > now:
        raise ValueError(
            f"--as-of {as_of} is after today ({now} in {time_zone}): the run would file as of a day that has not "
            "come and write an export folder dated in the future. Give --force-future-as-of to run it anyway "
            "(a test, a rehearsal)."
        )


def _flag(tags: Mapping[str, str], name: str) -> bool:
    value = (tags.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"run tag {name} must be true or false, got {tags.get(name)!r}")
    return value == "true"


@dataclass(frozen=True)
class RunContext:
    as_of: dt.date
    re_export: bool = False
    full_refresh: bool = False

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], default_as_of: dt.date) -> RunContext:
        """The context the tags give; ``default_as_of`` when they carry no date."""
        value = tags.get(AS_OF_TAG)
        return cls(
            as_of=parse_as_of(value) if value else default_as_of,
            re_export=_flag(tags, RE_EXPORT_TAG),
            full_refresh=_flag(tags, FULL_REFRESH_TAG),
        )

    @classmethod
    def of_run(cls, run, instance, time_zone: str) -> RunContext:
        """A Dagster run's context: its tags, else the date the run was created on in ``time_zone``."""
        default = today(time_zone)
        if AS_OF_TAG not in run.tags and instance is not None:
            record = instance.get_run_record_by_id(run.run_id)
            if record is not None and record.create_timestamp is not None:
                default = record.create_timestamp.astimezone(ZoneInfo(time_zone)).date()
        return cls.from_tags(run.tags, default)

    def tags(self) -> dict[str, str]:
        """The run tags that carry this context (flags only when set, so a plain run's tags stay short)."""
        tags = {AS_OF_TAG: self.as_of.isoformat()}
        if self.re_export:
            tags[RE_EXPORT_TAG] = "true"
        if self.full_refresh:
            tags[FULL_REFRESH_TAG] = "true"
        return tags


def dbt_environment(settings: Settings, run: RunContext | None = None) -> dict[str, str]:
    """The variables a dbt process of this pipeline needs: the warehouse and its limits from the settings, the run's
    date and re-export flag, and the pid dbt must die with (dbt_child.py)."""
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",  # dbt's lines go to logs and files: no colour codes in them
        "REFUNDS_WAREHOUSE": str(settings.warehouse_path),
        "REFUNDS_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "REFUNDS_DUCKDB_THREADS": str(settings.duckdb_threads),
        PARENT_PID_ENV: str(os.getpid()),
    }
    if run is not None:
        env[AS_OF_ENV] = run.as_of.isoformat()
        env[RE_EXPORT_ENV] = "true" if run.re_export else "false"
    return env


@contextmanager
def dbt_environment_set(settings: Settings, run: RunContext) -> Iterator[dict[str, str]]:
    """Set ``dbt_environment`` in this process (dagster-dbt starts dbt with the process's environment) and restore
    every variable afterwards, so nothing of one run leaks into the next run in the same process."""
    env = dbt_environment(settings, run)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
