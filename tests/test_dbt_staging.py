"""The dbt project's staging layer and its Dagster wiring, run for real: a DuckDB warehouse in tmp_path made by
``ensure_warehouse``, raw rows inserted by SQL (overlapping exports included), the real dbt project built with
``dbt build`` (seeds, models, unit tests, data tests), then Dagster's ``materialize`` of the dbt assets.
"""

import dataclasses
import json
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, materialize

from pipelines.resources import PipelineResource
from pipelines.run.context import RunContext, dbt_environment_set
from pipelines.settings import load_settings
from pipelines.transform.dbt import (
    DbtRunConfig,
    IeepaDbtTranslator,
    dbt_resource,
    get_dbt_project,
    ieepa_dbt_assets,
    prepare_dbt_manifest,
)
from pipelines.warehouse.layouts import REPORTS
from pipelines.warehouse.schema import ensure_warehouse

# Valid entry numbers (CBP's published vectors, docs/DOMAIN.md section 2) and one with a bad check digit.
ENTRY_A = "ABC12345676"
ENTRY_B = "SP700000014"
ENTRY_BAD = "60500000100"

OLD = "2026-05-01 08:00:00"  # modification time of the older exports
NEW = "2026-05-10 08:00:00"  # ... of the newer ones


def _lineage(load_id: int, file: str, line: int, modified: str) -> dict:
    return {
        "_load_id": load_id,
        "_file_sha256": f"sha-{file}",
        "_source_file": file,
        "_source_line": line,
        "_file_modified_at": modified,
    }


def _es003(entry, line, ordinal, hts, duty, lineage, check="valid") -> dict:
    return {
        "entry_summary_number": entry,
        "entry_summary_number_check": check,
        "entry_summary_line_number": line,
        "tariff_ordinal_number": ordinal,
        "entry_type_code": "01",
        "importer_number": "12-345678900",
        "entry_date": "2025-03-05",
        "entry_summary_date": "2025-03-15",
        "hts_number": hts,
        "line_duty_amount": duty,
        **lineage,
    }


def _rev603(refund, status, lineage, **offset) -> dict:
    return {
        "refund_number": refund,
        "refund_date": "2026-05-01",
        "importer_number": "12-345678900",
        "refund_status": status,
        "gross_refund_amount": 100.00,
        **offset,
        **lineage,
    }


RAW_ROWS: dict[str, list[dict]] = {
    # Export 1 (older file, loaded second: load id 2) and export 2 (newer file, loaded first: load id 1) overlap
    # on ENTRY_A line 1; line 2 and ENTRY_BAD are only in the older export.
    "es003_line_tariffs": [
        _es003(ENTRY_A, 1, 1, "99030125", 100.00, _lineage(2, "es003_old.csv", 2, OLD)),
        _es003(ENTRY_A, 1, 2, "8471300100", 50.00, _lineage(2, "es003_old.csv", 3, OLD)),
        _es003(ENTRY_A, 2, 1, "99038815", 25.00, _lineage(2, "es003_old.csv", 4, OLD)),
        _es003(ENTRY_BAD, 1, 1, "99030201", 7.00, _lineage(2, "es003_old.csv", 5, OLD), check="bad_check_digit"),
        _es003(ENTRY_A, 1, 1, "99030125", 120.00, _lineage(1, "es003_new.csv", 2, NEW)),
        _es003(ENTRY_A, 1, 2, "8471300100", 55.00, _lineage(1, "es003_new.csv", 3, NEW)),
    ],
    "es022_cape_entries": [
        {
            "entry_summary_number": ENTRY_A,
            "entry_summary_number_check": "valid",
            "importer_number": "12-345678900",
            "cape_declaration_number": "D-1",
            "declaration_submission_date": "2026-04-21",
            "cape_entry_status": status,
            **lineage,
        }
        for status, lineage in (
            ("Accepted", _lineage(3, "es022_old.csv", 2, OLD)),
            ("Entry Summary Updated", _lineage(4, "es022_new.csv", 2, NEW)),
        )
    ],
    # A suspended entry (no liquidation date, no type) exported twice: NULLs are values of the key.
    "es701_liquidations": [
        {
            "entry_summary_number": ENTRY_B,
            "entry_summary_number_check": "valid",
            "importer_number": "12-345678900",
            "liquidation_date": None,
            "liquidation_type_code": None,
            "liquidation_status": status,
            **lineage,
        }
        for status, lineage in (
            ("Suspended", _lineage(5, "es701_old.csv", 2, OLD)),
            ("Extended", _lineage(6, "es701_new.csv", 2, NEW)),
        )
    ],
    # R-1 without offset detail in two exports (-> one row, the newer), and with one offset (-> its own row).
    "rev603_trade_refunds": [
        _rev603("R-1", "Transmitted", _lineage(7, "rev603_old.csv", 2, OLD)),
        _rev603("R-1", "Sent to Treasury", _lineage(8, "rev603_new.csv", 2, NEW)),
        _rev603(
            "R-1",
            "Sent to Treasury",
            _lineage(8, "rev603_new.csv", 3, NEW),
            offset_type="CBP Debt",
            offset_debt_reference="B-9",
            offset_amount=30.00,
        ),
    ],
    "rev613_ach_returns": [
        {
            "refund_number": "R-2",
            "importer_number": "12-345678900",
            "refund_amount": amount,
            "ach_return_date": "2026-05-05",
            **lineage,
        }
        for amount, lineage in (
            (10.00, _lineage(9, "rev613_a.csv", 2, OLD)),
            (11.00, _lineage(10, "rev613_b.csv", 2, OLD)),
        )
    ],
    "rev615_cape_refund_details": [
        {
            "refund_number": "R-1",
            "cape_declaration_number": "D-1",
            "entry_summary_number": ENTRY_A,
            "entry_summary_number_check": "valid",
            "importer_number": "12-345678900",
            "refund_principal_amount": 120.00,
            "refund_interest_amount": 3.21,
            "refund_total_amount": 123.21,
            **_lineage(11, "rev615.csv", 2, NEW),
        }
    ],
    "importer_profiles": [
        {
            "importer_number": "12-345678900",
            "importer_name": "Acme Imports Inc.",
            "is_corporate": True,
            "ach_enrolled": True,
            "form_4811_payee_number": None,
            "allowed_filer_codes": ["ABC", "SP7"],
            "_source_file": "importer_profiles.csv",
            "_source_line": 2,
        }
    ],
}


def _build_raw_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        ensure_warehouse(con)
        for table, rows in RAW_ROWS.items():
            for row in rows:
                cols = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                con.execute(f"insert into raw.{table} ({cols}) values ({marks})", list(row.values()))
    finally:
        con.close()
    return path


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def manifest() -> Path:
    return prepare_dbt_manifest()


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory, manifest) -> Path:
    """A warehouse with the raw rows above, after a real `dbt build` of the whole project."""
    root = tmp_path_factory.mktemp("dbt_build")
    warehouse = _build_raw_warehouse(root / "refunds.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REFUNDS_WAREHOUSE", str(warehouse))
        invocation = dbt_resource().cli(
            # the unit tests run in the fast tier (tests/test_dbt_unit_tests.py)
            ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps({"as_of": "2026-05-15"})],
            target_path=root / "target",
        )
        invocation.wait()  # raises if anything fails (models, data tests with severity error)
    assert invocation.is_successful()
    return warehouse


@pytest.mark.e2e
def test_es003_newest_export_wins(built_warehouse):
    rows = _query(
        built_warehouse,
        """
        select entry_summary_number, entry_summary_line_number, tariff_ordinal_number, line_duty_amount,
               _source_file, _load_id
        from staging.stg_ace__es003_line_tariffs order by all
        """,
    )
    assert [(r[0], r[1], r[2], float(r[3]), r[4]) for r in rows] == [
        (ENTRY_BAD, 1, 1, 7.00, "es003_old.csv"),
        (ENTRY_A, 1, 1, 120.00, "es003_new.csv"),  # newer file wins although it was loaded first
        (ENTRY_A, 1, 2, 55.00, "es003_new.csv"),
        (ENTRY_A, 2, 1, 25.00, "es003_old.csv"),  # only in the older export: kept
    ]
    assert _query(built_warehouse, "select count(*) from raw.es003_line_tariffs") == [(6,)]


@pytest.mark.e2e
def test_es003_derived_columns(built_warehouse):
    rows = _query(
        built_warehouse,
        """
        select hts_number, filer_code, is_chapter99, hts_chapter99_prefix, is_ieepa, entry_summary_number_check
        from staging.stg_ace__es003_line_tariffs order by entry_summary_number, hts_number
        """,
    )
    assert rows == [
        ("99030201", "605", True, "990302", True, "bad_check_digit"),  # flagged, not dropped
        ("8471300100", "ABC", False, None, False, "valid"),
        ("99030125", "ABC", True, "990301", True, "valid"),
        ("99038815", "ABC", True, "990388", False, "valid"),  # Section 301: Chapter 99 but not IEEPA
    ]


@pytest.mark.e2e
def test_rev603_null_offset_is_a_key_value(built_warehouse):
    rows = _query(
        built_warehouse,
        """
        select refund_number, offset_type, offset_debt_reference, refund_status, has_offset_detail, _source_file
        from staging.stg_ace__rev603_trade_refunds order by offset_type nulls first
        """,
    )
    assert rows == [
        ("R-1", None, None, "Sent to Treasury", False, "rev603_new.csv"),
        ("R-1", "CBP Debt", "B-9", "Sent to Treasury", True, "rev603_new.csv"),
    ]


@pytest.mark.e2e
def test_other_reports_deduplicated(built_warehouse):
    assert _query(built_warehouse, "select cape_entry_status from staging.stg_ace__es022_cape_entries") == [
        ("Entry Summary Updated",)
    ]
    assert _query(
        built_warehouse, "select liquidation_date, liquidation_status from staging.stg_ace__es701_liquidations"
    ) == [(None, "Extended")]
    # same modification time: the later load wins
    assert _query(built_warehouse, "select refund_amount, _load_id from staging.stg_ace__rev613_ach_returns") == [
        (pytest.approx(11.00), 10)
    ]
    assert _query(built_warehouse, "select count(*) from staging.stg_ace__rev615_cape_refund_details") == [(1,)]
    assert _query(
        built_warehouse,
        "select refund_payee_number, is_corporate, allowed_filer_codes from staging.stg_reference__importer_profiles",
    ) == [("12-345678900", True, ["ABC", "SP7"])]


@pytest.mark.e2e
def test_seeds_keep_namibia_and_types(built_warehouse, manifest):
    # `NA` is Namibia (9903.02.44), not a missing value, in the seed and in staging.
    for relation in ("seeds.chapter99_headings", "staging.stg_reference__chapter99_headings"):
        assert _query(built_warehouse, f"select country_iso2 from {relation} where hts8 = '99030244'") == [("NA",)]
    seed_rows = sum(1 for _ in (manifest.parent.parent / "seeds" / "chapter99_headings.csv").open()) - 1
    assert _query(built_warehouse, "select count(*) from seeds.chapter99_headings") == [(seed_rows,)]
    types = dict(
        _query(
            built_warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'seeds' and table_name = 'chapter99_headings'",
        )
    )
    assert types["additional_rate_pct"] == "DECIMAL(9,4)"
    assert types["effective_from"] == "DATE"
    assert types["is_exception"] == "BOOLEAN"
    assert types["hts8"] == "VARCHAR"
    assert _query(
        built_warehouse,
        "select rate_status, rate_needs_verification from staging.stg_reference__interest_rates "
        "where quarter = '2027Q1'",
    ) == [("UNVERIFIED", True)]


def test_staging_keys_match_the_layouts(manifest):
    """The composite-key test of each staging model is the report's business key in layouts.py."""
    nodes = json.loads(manifest.read_text())["nodes"]
    keys = {
        node["attached_node"].split(".")[-1]: node["test_metadata"]["kwargs"]["combination_of_columns"]
        for node in nodes.values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") == "unique_combination"
        and node["config"]["severity"].lower() == "error"
    }
    for report in REPORTS.values():
        assert keys[f"stg_ace__{report.table}"] == list(report.key), report.code


def test_every_raw_table_is_a_source(tmp_path, manifest):
    """Every table the pipeline writes for dbt to read (landed rows, the ledger, the export register) is a source."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    raw_tables = {
        (schema, table)
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'ingest', 'export')"
        ).fetchall()
    }
    con.close()
    sources = json.loads(manifest.read_text())["sources"].values()
    assert {(s["schema"], s["identifier"]) for s in sources} == raw_tables


def test_translator_keys_and_groups():
    specs = {spec.key: spec for spec in ieepa_dbt_assets.specs}
    assert specs[AssetKey(["staging", "stg_ace__es003_line_tariffs"])].group_name == "staging"
    assert specs[AssetKey(["staging", "stg_reference__interest_rates"])].group_name == "reference"
    assert specs[AssetKey(["seeds", "chapter99_headings"])].group_name == "reference"
    deps = {dep.asset_key for spec in specs.values() for dep in spec.deps}
    assert {AssetKey(["raw", r.table]) for r in REPORTS.values()} <= deps
    assert AssetKey(["raw", "importer_profiles"]) in deps
    assert AssetKey(["raw", "es003_line_tariffs"]) in {
        d.asset_key for d in specs[AssetKey(["staging", "stg_ace__es003_line_tariffs"])].deps
    }
    translator = IeepaDbtTranslator()
    source_props = {"resource_type": "source", "source_name": "ingest", "name": "file_ledger", "schema": "ingest"}
    assert translator.get_asset_key(source_props) == AssetKey(["ingest", "file_ledger"])
    # dbt tests are asset checks of the model they test
    check_keys = {check.asset_key for check in ieepa_dbt_assets.check_specs}
    assert AssetKey(["staging", "stg_ace__rev603_trade_refunds"]) in check_keys


def test_run_context_is_resolved_from_tags_once():
    tags = {"refunds/as_of": "2026-05-15", "refunds/re_export": "true"}
    run = RunContext.from_tags(tags, default_as_of=date(2026, 1, 2))
    assert run == RunContext(date(2026, 5, 15), re_export=True, full_refresh=False)
    assert RunContext.from_tags({}, default_as_of=date(2026, 1, 2)).as_of == date(2026, 1, 2)
    assert RunContext.from_tags(run.tags(), date(2000, 1, 1)) == run, "the tags carry the whole context"
    with pytest.raises(ValueError, match="ISO date"):
        RunContext.from_tags({"refunds/as_of": "15/05/2026"}, date(2026, 1, 2))
    with pytest.raises(ValueError, match="true or false"):
        RunContext.from_tags({"refunds/full_refresh": "yes"}, date(2026, 1, 2))
    assert "unit_test" in DbtRunConfig().build_args(run)
    assert "unit_test" not in DbtRunConfig(unit_tests=True).build_args(run)
    assert "--full-refresh" in DbtRunConfig().build_args(RunContext(date(2026, 5, 15), full_refresh=True))
    assert "--full-refresh" not in DbtRunConfig().build_args(run)


def test_dbt_environment_is_set_for_dbt_and_restored(tmp_path, monkeypatch):
    monkeypatch.delenv("REFUNDS_AS_OF", raising=False)
    monkeypatch.setenv("REFUNDS_WAREHOUSE", "before")
    settings = dataclasses.replace(load_settings(), warehouse_path=tmp_path / "w.duckdb")
    with dbt_environment_set(settings, RunContext(date(2026, 5, 15))) as env:
        assert os.environ["REFUNDS_AS_OF"] == env["REFUNDS_AS_OF"] == "2026-05-15"
        assert os.environ["REFUNDS_RE_EXPORT"] == "false"
        assert os.environ["REFUNDS_WAREHOUSE"] == str(tmp_path / "w.duckdb")
    assert "REFUNDS_AS_OF" not in os.environ and os.environ["REFUNDS_WAREHOUSE"] == "before"


@pytest.mark.e2e
def test_materialize_dbt_assets(tmp_path, monkeypatch, manifest):
    warehouse = _build_raw_warehouse(tmp_path / "refunds.duckdb")
    monkeypatch.setenv("REFUNDS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))  # run artifacts and logs out of the repo
    result = materialize(
        [ieepa_dbt_assets],
        resources={"dbt": dbt_resource(), "pipeline": PipelineResource(warehouse_path=str(warehouse))},
        tags={"refunds/as_of": "2026-05-15"},
    )
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert AssetKey(["staging", "stg_ace__es003_line_tariffs"]) in materialized
    assert AssetKey(["seeds", "chapter99_headings"]) in materialized
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks if c.severity.value == "ERROR")
    assert _query(warehouse, "select count(*) from staging.stg_ace__es003_line_tariffs") == [(4,)]
    # the run's date reached dbt (through REFUNDS_AS_OF, not --vars: a changed var would discard dbt's saved parse),
    # and the process's environment is as it was
    assert "REFUNDS_AS_OF" not in os.environ
    assert _query(warehouse, "select distinct as_of_date from marts.fct_entry_eligibility") == [(date(2026, 5, 15),)]
    run_results = next((tmp_path / "dbt_target").rglob("run_results.json"))
    ran = json.loads(run_results.read_text())
    assert ran["args"]["vars"] == {}
    # the daily run leaves the unit tests to the test suite; the data tests still gate it
    assert not [r for r in ran["results"] if r["unique_id"].startswith("unit_test.")]
    assert [r for r in ran["results"] if r["unique_id"].startswith("test.")]
    assert get_dbt_project().manifest_path.exists()
