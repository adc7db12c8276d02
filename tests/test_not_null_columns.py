"""The generic test not_null_columns (dbt_project/tests/generic/): one test per model in place of one not_null per
column. Run by dbt on a real DuckDB file, in a tiny project that uses the project's own test SQL: it fails on a NULL
in any listed column and names each such column with its count of NULL rows; it passes otherwise; `where` and
`severity` work as for any dbt test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import PROJECT_ROOT

GENERIC_TEST = PROJECT_ROOT / "dbt_project" / "tests" / "generic" / "not_null_columns.sql"

# every column NULL in exactly one row, each in a different one; then NULLs in two columns, one of them twice
MODELS = {
    "one_null_each": "select * from (values (null, 'a', 1), (2, null, 2), (3, 'c', null)) as t(id, name, score)",
    "two_columns": "select * from (values (1, 'a', 10), (2, null, 20), (3, null, null)) as t(id, name, score)",
    "no_nulls": "select * from (values (1, 'a', 10), (2, 'b', 20)) as t(id, name, score)",
}

SCHEMA_YML = """\
version: 2
models:
  - name: one_null_each
    data_tests:
      - not_null_columns:
          name: nulls_one_null_each
          arguments:
            column_names: [id, name, score]
      - not_null_columns:
          name: nulls_one_null_each_where
          arguments:
            column_names: [id, name, score]
          config:
            where: "name is not null and score is not null"
      - not_null_columns:
          name: nulls_one_null_each_not_listed
          arguments:
            column_names: [id]
          config:
            where: "id <> 2 or id is null"
            severity: warn
  - name: two_columns
    data_tests:
      - not_null_columns:
          name: nulls_two_columns
          arguments:
            column_names: [id, name, score]
      - not_null_columns:
          name: nulls_two_columns_id_only
          arguments:
            column_names: [id]
  - name: no_nulls
    data_tests:
      - not_null_columns:
          name: nulls_no_nulls
          arguments:
            column_names: [id, name, score]
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, Path]:
    """One dbt build of the tiny project (failures stored): the tests' results by name, and the warehouse."""
    root = tmp_path_factory.mktemp("not_null_columns")
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "tests" / "generic").mkdir(parents=True)
    shutil.copyfile(GENERIC_TEST, project / "tests" / "generic" / GENERIC_TEST.name)
    for name, sql in MODELS.items():
        (project / "models" / f"{name}.sql").write_text(sql + "\n")
    (project / "models" / "schema.yml").write_text(SCHEMA_YML)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0.0'\nconfig-version: 2\nprofile: tiny\n"
        "models:\n  tiny:\n    +materialized: table\ndata_tests:\n  tiny:\n    +store_failures: true\n"
    )
    warehouse = root / "tiny.duckdb"
    (project / "profiles.yml").write_text(
        textwrap.dedent(
            f"""\
            tiny:
              target: dev
              outputs:
                dev: {{type: duckdb, path: "{warehouse}", threads: 1}}
            """
        )
    )
    dbt = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    target = root / "target"
    cmd = [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project)]
    cmd += ["--target-path", str(target), "--log-path", str(target)]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, "a failing test makes the build fail\n" + (done.stdout + done.stderr)[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}, warehouse


def _failing_rows(warehouse: Path, test_name: str) -> list[tuple[str, int]]:
    """The rows the test returned, as dbt stored them (store_failures): what an auditor reads."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (schema,) = con.execute(
            "select table_schema from information_schema.tables where table_name = ?", [test_name]
        ).fetchone()
        return con.execute(f'select column_name, null_rows from "{schema}"."{test_name}" order by 1').fetchall()


def test_a_null_in_any_listed_column_fails_and_names_it(built):
    results, warehouse = built
    assert results["nulls_one_null_each"]["status"] == "fail"
    assert _failing_rows(warehouse, "nulls_one_null_each") == [("id", 1), ("name", 1), ("score", 1)]
    assert results["nulls_two_columns"]["status"] == "fail"
    assert results["nulls_two_columns"]["failures"] == 2, "one row per column that has NULLs"
    assert _failing_rows(warehouse, "nulls_two_columns") == [("name", 2), ("score", 1)]


def test_no_null_in_the_listed_columns_passes(built):
    results, _ = built
    assert results["nulls_no_nulls"]["status"] == "pass"
    assert results["nulls_two_columns_id_only"]["status"] == "pass", "NULLs in columns not listed are not its concern"


def test_where_and_severity_are_honoured(built):
    results, warehouse = built
    # where keeps the row (NULL, 'a', 1) only: the id column alone fails
    assert results["nulls_one_null_each_where"]["status"] == "fail"
    assert _failing_rows(warehouse, "nulls_one_null_each_where") == [("id", 1)]
    assert results["nulls_one_null_each_not_listed"]["status"] == "warn"
    assert _failing_rows(warehouse, "nulls_one_null_each_not_listed") == [("id", 1)]
