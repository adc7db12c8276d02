"""A wrong settings file stops everything at once with exit code 2 and a message naming the file and the setting:
the command line, and the Dagster code location as the UI and the daemon load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.settings import SettingsError, load_settings
from tests.conftest import PROJECT_ROOT

REFUNDS = Path(sys.executable).parent / "refunds"


def test_a_missing_settings_file_stops_the_run_with_exit_2(tmp_path):
    missing = tmp_path / "nowhere" / "refunds.yaml"
    done = subprocess.run(
        [str(REFUNDS), "run", "--settle", "0"],
        capture_output=True,
        text=True,
        env=os.environ | {"REFUNDS_SETTINGS": str(missing)},
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr and "no such settings file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "nowhere").exists() and not list(tmp_path.iterdir()), "nothing created anywhere"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # YAML syntax: the file, the line and the setting on it
        ("paths:\n  landing_dir: data/landing\nduckdb_memory_limit: [3GB\n", ("line 3", "duckdb_memory_limit")),
        ("ingest:\n  landing_settle_seconds: 10\n\tx: 1\n", ("line 3", "not valid YAML")),
        # DuckDB's size syntax: a number and a unit
        ("duckdb_memory_limit: 3XB\n", ("duckdb_memory_limit", "Unknown unit")),
        ("duckdb_memory_limit: 3\n", ("duckdb_memory_limit", "3GB")),
        ("duckdb_memory_limit: lots\n", ("duckdb_memory_limit", "lots")),
    ],
)
def test_a_broken_settings_file_gives_exit_2_naming_file_and_setting(tmp_path, monkeypatch, capsys, text, expected):
    settings = tmp_path / "refunds.yaml"
    settings.write_text(text, encoding="utf-8")
    monkeypatch.setenv("REFUNDS_SETTINGS", str(settings))
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert str(settings) in err and all(e in err for e in expected), err


@pytest.mark.parametrize("limit", ["3GB", "1.5 GiB", "500MB", "75%"])
def test_duckdb_sizes_are_accepted(tmp_path, limit):
    settings = tmp_path / "refunds.yaml"
    settings.write_text(f"duckdb_memory_limit: {limit}\n", encoding="utf-8")
    assert load_settings(settings).duckdb_memory_limit == limit


def test_the_docs_switch_reads_the_file_then_the_environment(tmp_path, monkeypatch):
    settings = tmp_path / "refunds.yaml"
    settings.write_text("dbt_docs_each_run: false\n", encoding="utf-8")
    monkeypatch.delenv("REFUNDS_DBT_DOCS_EACH_RUN", raising=False)
    assert load_settings(settings).dbt_docs_each_run is False
    monkeypatch.setenv("REFUNDS_DBT_DOCS_EACH_RUN", "TRUE")
    assert load_settings(settings).dbt_docs_each_run is True
    monkeypatch.setenv("REFUNDS_DBT_DOCS_EACH_RUN", "sometimes")
    with pytest.raises(SettingsError, match="REFUNDS_DBT_DOCS_EACH_RUN must be true or false"):
        load_settings(settings)
    monkeypatch.delenv("REFUNDS_DBT_DOCS_EACH_RUN")
    settings.write_text("dbt_docs_each_run: sometimes\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="dbt_docs_each_run must be true or false"):
        load_settings(settings)


def test_a_settings_file_named_explicitly_must_exist(tmp_path):
    with pytest.raises(SettingsError, match="no such settings file"):
        load_settings(tmp_path / "absent.yaml")


def test_the_code_location_refuses_to_load_with_the_same_message(tmp_path):
    settings = tmp_path / "refunds.yaml"
    settings.write_text("duckdb_memory_limit: 3XB\n", encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | {"REFUNDS_SETTINGS": str(settings), "DAGSTER_HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode != 0
    assert f"{settings}: duckdb_memory_limit: '3XB' is not a DuckDB size" in done.stdout + done.stderr
