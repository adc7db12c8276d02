"""The dbt project's unit tests (beside the models, in their YAML), in the fast tier: one `dbt build --empty`
without the data tests builds every model with no rows (a unit test needs its parents' columns, not their rows)
and runs every unit test before the model it tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from pipelines.transform.dbt import PARTIAL_PARSE_FILE, dbt_executable, get_dbt_project
from pipelines.warehouse.schema import ensure_warehouse


def _dbt(args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    project = get_dbt_project()
    cmd = [dbt_executable(), *args, "--project-dir", str(project.project_dir)]
    cmd += ["--profiles-dir", str(project.profiles_dir), "--target-path", str(target), "--log-path", str(target)]
    env = {**os.environ, "REFUNDS_WAREHOUSE": str(warehouse), "REFUNDS_AS_OF": "2026-05-15"}
    return subprocess.run(cmd, cwd=project.project_dir, env=env, capture_output=True, text=True, check=False)


def test_every_dbt_unit_test_passes(tmp_path):
    warehouse, target = tmp_path / "refunds.duckdb", tmp_path / "target"
    saved_parse = get_dbt_project().project_dir / "target" / PARTIAL_PARSE_FILE
    if saved_parse.exists():  # dbt then re-parses only what changed since the last parse (seconds)
        target.mkdir()
        shutil.copyfile(saved_parse, target / PARTIAL_PARSE_FILE)
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con)  # the raw tables the sources name, empty
    ran = _dbt(["build", "--empty", "--exclude-resource-type", "test"], warehouse, target)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    failed = [f"{r['unique_id']}: {r['message']}" for r in results if r["status"] not in ("pass", "success")]
    assert ran.returncode == 0 and not failed, "\n".join(failed) or ran.stdout[-4000:]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))  # the project as this build read it
    unit = {r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert unit == set(manifest["unit_tests"]), "every unit test of the project ran"
    assert len(manifest["unit_tests"]) >= 30
