"""Settings: one YAML file (``refunds.yaml`` at the project root, or the file named by REFUNDS_SETTINGS).

Paths in the file are relative to the file's folder. Environment variables override single values so that the
command line, tests and CI can point the pipeline elsewhere without editing the file (``ENV_OVERRIDES``: one
variable per path setting, e.g. REFUNDS_LANDING_DIR, REFUNDS_WAREHOUSE).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A wrong value in the settings file; the message names the setting and what is expected."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    reference_dir: Path
    header_aliases_file: Path
    importer_profiles_file: Path
    entry_flags_file: Path
    exports_dir: Path
    reports_dir: Path
    published_dir: Path
    # A landing file modified less than this many seconds ago may still be being written: load it next run.
    landing_settle_seconds: float = 10.0
    # Landing files whose size, times, inode and device are unchanged since they were hashed are not read again.
    landing_fingerprint_cache: bool = True
    # Sheets tried first in .xlsx exports; otherwise the first sheet with a recognised header.
    xlsx_sheet_names: tuple[str, ...] = ("Main Report",)
    # Lines searched for the header row (ACE exports may start with title lines).
    header_search_lines: int = 25
    # A record (line) longer than this, in bytes, is quarantined before DuckDB reads the file (4 MiB).
    max_record_bytes: int = 4 * 1024**2
    # ZIP archives in the landing folder: members at most, bytes per member and in all, compression ratio.
    archive_max_members: int = 1000
    archive_max_member_bytes: int = 4 * 1024**3
    archive_max_total_bytes: int = 8 * 1024**3
    archive_max_ratio: int = 100
    duckdb_memory_limit: str = "3GB"
    duckdb_threads: int = 2
    # The daily run: cron expression and time zone of the schedule (as_of = the scheduled date).
    daily_run_cron: str = "0 6 * * *"
    time_zone: str = "America/New_York"
    # How often the landing-folder sensor looks for new files.
    landing_sensor_interval_seconds: int = 60
    # Line ending of the CAPE upload files: CRLF (what Excel's "CSV (Comma delimited)" writes) or LF.
    cape_line_ending: str = "CRLF"
    # Write the dbt docs site at the end of every successful run (about 10 s); `refunds docs` writes it on demand.
    dbt_docs_each_run: bool = True
    source_file: Path | None = field(default=None, compare=False)

    @property
    def line_ending(self) -> str:
        return "\r\n" if self.cape_line_ending == "CRLF" else "\n"

    def run_report_dir(self, as_of, run_id: str) -> Path:
        """Where a run's reports go: data/reports/runs/<as_of>_<run id>/ (Data Docs, run report)."""
        return self.reports_dir / "runs" / f"{as_of.isoformat()}_{run_id[:8]}"

    @property
    def work_dir(self) -> Path:
        """Scratch space for transcoded files; emptied after each load."""
        return self.warehouse_path.parent / ".work"


DEFAULTS = {
    "data_dir": "data",
    "landing_dir": "data/landing",
    "warehouse_path": "data/warehouse/refunds.duckdb",
    "reference_dir": "data/reference",
    "header_aliases_file": "data/reference/header_aliases.csv",
    "importer_profiles_file": "data/reference/importer_profiles.csv",
    "entry_flags_file": "data/reference/entry_flags.csv",
    "exports_dir": "data/exports",
    "reports_dir": "data/reports",
    "published_dir": "data/published",
}

ENV_OVERRIDES = {
    "REFUNDS_DATA_DIR": "data_dir",
    "REFUNDS_LANDING_DIR": "landing_dir",
    "REFUNDS_WAREHOUSE": "warehouse_path",
    "REFUNDS_IMPORTER_PROFILES": "importer_profiles_file",
    "REFUNDS_HEADER_ALIASES": "header_aliases_file",
    "REFUNDS_ENTRY_FLAGS": "entry_flags_file",
    "REFUNDS_EXPORTS_DIR": "exports_dir",
    "REFUNDS_REPORTS_DIR": "reports_dir",
    "REFUNDS_PUBLISHED_DIR": "published_dir",
}

PATH_KEYS = set(DEFAULTS)

# Switches the environment can set too (true or false), e.g. a test run that does not need the docs site.
FLAG_OVERRIDES = {"REFUNDS_DBT_DOCS_EACH_RUN": "dbt_docs_each_run"}


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    return value.strip().lower() == "true"


def settings_file() -> Path:
    return Path(os.environ.get("REFUNDS_SETTINGS", PROJECT_ROOT / "refunds.yaml")).resolve()


def load_settings(path: Path | None = None) -> Settings:
    """The settings from ``path``, else REFUNDS_SETTINGS, else refunds.yaml (defaults when that one is absent).

    A file named explicitly (argument or REFUNDS_SETTINGS) must exist: silently using defaults would point the run
    at other folders, even a new empty warehouse. Every error names the file, and the setting when there is one.
    """
    if path is not None:
        path = Path(path).resolve()
        if not path.is_file():
            raise SettingsError(f"{path}: no such settings file")
    else:
        path = settings_file()
        if os.environ.get("REFUNDS_SETTINGS") and not path.is_file():
            raise SettingsError(f"{path}: no such settings file (named by REFUNDS_SETTINGS)")
    try:
        return _load(path)
    except SettingsError as exc:
        message = str(exc)
        raise SettingsError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _load(path: Path) -> Settings:
    values: dict = {}
    if path.exists():
        loaded = _read_yaml(path) or {}
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: expected a mapping of setting: value at the top level")
        sections = ("paths", "ingest", "schedule", "export", "publish")
        for section in sections:
            if not isinstance(loaded.get(section, {}), dict):
                raise SettingsError(f"{path}: section {section!r} must be a mapping of setting: value")
            values |= loaded.get(section) or {}
        values |= {k: v for k, v in loaded.items() if k not in sections}
    known = {f.name for f in fields(Settings)} - {"source_file"}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    base = path.parent
    resolved: dict = {}
    for key in known:
        if key in PATH_KEYS:
            raw = next((os.environ[e] for e, k in ENV_OVERRIDES.items() if k == key and os.environ.get(e)), None)
            raw = raw or values.get(key, DEFAULTS[key])
            resolved[key] = (base / Path(str(raw))).resolve()
        elif key in FLAG_OVERRIDES.values():
            env = next((e for e, k in FLAG_OVERRIDES.items() if k == key and os.environ.get(e)), None)
            resolved[key] = _flag(env, os.environ[env]) if env else values.get(key, True)
        elif key in values:
            resolved[key] = values[key]
    return _validate(Settings(**resolved, source_file=path))


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        # The context mark is where the broken construct (often the setting's value) starts; the problem mark is
        # where the parser gave up, which can be the end of the file.
        mark = exc.context_mark or exc.problem_mark
        where = ""
        if mark is not None:
            text = path.read_text(encoding="utf-8").splitlines()[mark.line : mark.line + 1]
            where = f", line {mark.line + 1}" + (f" ({text[0].strip()!r})" if text and text[0].strip() else "")
        what = "; ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SettingsError(f"{path}{where}: not valid YAML: {what}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None


@cache
def _duckdb_memory_limit_error(value: str) -> str | None:
    """DuckDB's own verdict on a memory limit (its size syntax: 3GB, 3 GiB, 75%, ...): None when it accepts it."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def _validate(s: Settings) -> Settings:
    if not isinstance(s.duckdb_memory_limit, str):
        raise SettingsError(
            f"duckdb_memory_limit must be a size with its unit, such as 3GB, got {s.duckdb_memory_limit!r}"
        )
    error = _duckdb_memory_limit_error(s.duckdb_memory_limit)
    if error:
        raise SettingsError(f"duckdb_memory_limit: {s.duckdb_memory_limit!r} is not a DuckDB size: {error}")
    if not isinstance(s.landing_settle_seconds, int | float) or s.landing_settle_seconds < 0:
        raise SettingsError(f"landing_settle_seconds must be a number >= 0, got {s.landing_settle_seconds!r}")
    if not isinstance(s.header_search_lines, int) or not 1 <= s.header_search_lines <= 1000:
        raise SettingsError(f"header_search_lines must be a whole number from 1 to 1000, got {s.header_search_lines!r}")
    if not isinstance(s.max_record_bytes, int) or not 1024 <= s.max_record_bytes <= 256 * 1024**2:
        raise SettingsError(
            f"max_record_bytes must be a whole number from 1024 to 268435456, got {s.max_record_bytes!r}"
        )
    for name in ("archive_max_members", "archive_max_member_bytes", "archive_max_total_bytes", "archive_max_ratio"):
        if not isinstance(getattr(s, name), int) or getattr(s, name) < 1:
            raise SettingsError(f"{name} must be a whole number >= 1, got {getattr(s, name)!r}")
    if not isinstance(s.duckdb_threads, int) or s.duckdb_threads < 1:
        raise SettingsError(f"duckdb_threads must be a whole number >= 1, got {s.duckdb_threads!r}")
    if isinstance(s.xlsx_sheet_names, str) or not all(isinstance(n, str) for n in s.xlsx_sheet_names):
        raise SettingsError("xlsx_sheet_names must be a list of sheet names")
    object.__setattr__(s, "xlsx_sheet_names", tuple(s.xlsx_sheet_names))
    try:
        ZoneInfo(s.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"time_zone: unknown time zone {s.time_zone!r} (e.g. America/New_York)") from exc
    if s.cape_line_ending not in ("CRLF", "LF"):
        raise SettingsError(f"cape_line_ending must be CRLF or LF, got {s.cape_line_ending!r}")
    if not isinstance(s.landing_fingerprint_cache, bool):
        raise SettingsError(f"landing_fingerprint_cache must be true or false, got {s.landing_fingerprint_cache!r}")
    if not isinstance(s.dbt_docs_each_run, bool):
        raise SettingsError(f"dbt_docs_each_run must be true or false, got {s.dbt_docs_each_run!r}")
    if not isinstance(s.daily_run_cron, str) or len(s.daily_run_cron.split()) != 5:
        raise SettingsError(f"daily_run_cron must be a 5-field cron expression, got {s.daily_run_cron!r}")
    if s.warehouse_path.stem in ("raw", "staging", "intermediate", "marts", "quarantine", "ingest", "seeds"):
        # a known pitfall of this stack: a database file named like one of its schemas makes references ambiguous.
        raise SettingsError(f"warehouse_path: the file must not be named like a schema ({s.warehouse_path.name})")
    return s
