"""The daily schedule, the landing sensor, the settings file and the Dagster UI."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance, SkipReason, build_schedule_context, build_sensor_context

from pipelines.settings import SettingsError, load_settings
from tests.conftest import ES003_HEADERS, PROJECT_ROOT, csv_text, entry_number, es003_row, write


def test_the_definitions_load_with_the_job_its_gate_and_its_outputs():
    """The code location loads (the smoke test of the fast tier): the daily job covers every stage, the gate's
    blocking checks sit on the export candidates, and the export comes after them."""
    from dagster import AssetKey

    from pipelines.definitions import DAILY_JOB_NAME, defs

    job = defs.resolve_job_def(DAILY_JOB_NAME)
    keys = {spec.key for spec in defs.resolve_all_asset_specs()}
    for key in (
        ["raw", "es003_line_tariffs"],
        ["marts", "fct_cape_export_candidates"],
        ["export", "cape_declaration_files"],
        ["reporting", "rpt_key_figures"],
    ):
        assert AssetKey(key) in keys, key
    graph = defs.resolve_asset_graph()
    gate = [graph.get_check_spec(k) for k in graph.asset_check_keys]
    gate = [c for c in gate if c.blocking and c.asset_key == AssetKey(["marts", "fct_cape_export_candidates"])]
    assert gate, "the gate's blocking checks are on the rows the export writes"
    assert job.executor_def.name == "in_process"


def test_schedule_runs_as_of_its_scheduled_date():
    from pipelines.definitions import daily_schedule

    scheduled = dt.datetime(2026, 7, 7, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    with DagsterInstance.ephemeral() as instance:
        request = daily_schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=scheduled)
        ).run_requests[0]
    assert request.tags["refunds/as_of"] == "2026-07-07"
    assert daily_schedule.execution_timezone == "America/New_York"
    assert daily_schedule.job_name == "daily_refunds"


def test_landing_sensor_waits_for_settled_new_files(tmp_path, monkeypatch):
    from pipelines.definitions import landing_sensor

    monkeypatch.setenv("REFUNDS_LANDING_DIR", str(tmp_path))
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance)
        assert isinstance(landing_sensor.evaluate_tick(ctx).skip_message, str)

        f = write(tmp_path / "es003.csv", csv_text(ES003_HEADERS, [es003_row(entry_number("AB1", 1))]))
        # Just written: it may still be growing, so the sensor waits.
        assert landing_sensor.evaluate_tick(build_sensor_context(instance=instance)).run_requests == []

        old = time.time() - 3600
        os.utime(f, (old, old))
        result = landing_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert len(result.run_requests) == 1
        assert result.run_requests[0].tags["refunds/as_of"]
        # Same files again: nothing new.
        again = landing_sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=result.cursor))
        assert again.run_requests == [] or isinstance(again, SkipReason)


def test_settings_file_is_validated(tmp_path):
    good = load_settings(PROJECT_ROOT / "refunds.yaml")
    assert good.warehouse_path == PROJECT_ROOT / "data" / "warehouse" / "refunds.duckdb"
    assert good.time_zone == "America/New_York"
    cases = {
        "ingest:\n  landing_settle_seconds: -1\n": "landing_settle_seconds",
        "schedule:\n  time_zone: Mars/Olympus\n": "time_zone",
        "schedule:\n  daily_run_cron: every day\n": "daily_run_cron",
        "landing_dirr: x\n": "unknown setting",
        "paths:\n  warehouse_path: data/raw.duckdb\n": "named like a schema",
        "- a\n- b\n": "mapping",
    }
    for text, message in cases.items():
        p = tmp_path / "s.yaml"
        p.write_text(text, encoding="utf-8")
        with pytest.raises(SettingsError, match=message):
            load_settings(p)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.e2e
def test_dagster_ui_serves_the_code_location_on_loopback(tmp_path):
    from pipelines.transform.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    port = _free_port()
    env = os.environ | {"DAGSTER_HOME": str(tmp_path)}
    webserver = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        deadline = time.time() + 120
        query = b'{"query": "{ assetNodes { assetKey { path } groupName } }"}'
        while time.time() < deadline:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
                )
                body = urllib.request.urlopen(req, timeout=5).read().decode()
                if "assetNodes" in body and "es003_line_tariffs" in body:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert body and '"groupName":"ingest"' in body.replace(" ", "") and "stg_ace__es003_line_tariffs" in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_dbt_wrapper_loads_nothing_of_the_pipeline():
    """``refunds-dbt`` is the dbt the manifest parse starts: importing the pipeline's dbt assets from it would parse
    again, and again (a fresh clone has no manifest)."""
    import subprocess
    import sys

    code = (
        "import sys, pipelines.transform.dbt_child; "
        "print(sorted(m for m in sys.modules if m.startswith(('dagster', 'pipelines.transform.dbt'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['pipelines.transform.dbt_child']"
