"""The incremental ES-003 line models (stg_ace__es003_line_tariffs, int_tariff_rows_classified), run for real.

Day 1 is the bundled sample through the command line. Day 2 adds a re-export of one sample ES-003 file with a
corrected duty (a newer file, so its rows win) and a new day's synthetic exports (another seed). The day-2 run
recomputes only the entries of the new loads, and its tables must equal a full rebuild of the same raw rows.
"""

from __future__ import annotations

import os
import shutil
import time

import duckdb
import pytest

from pipelines.cli import main
from pipelines.transform.dbt import dbt_resource
from tests.conftest import copy_sample_exports

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

LINE_MODELS = {
    "staging.stg_ace__es003_line_tariffs": "stg_ace__es003_line_tariffs",
    "intermediate.int_tariff_rows_classified": "int_tariff_rows_classified",
}
REEXPORTED = "ES-003_2026-01-26_2026-03-31.csv"
CORRECTED = ("44501530693", 1, 2)  # (entry, line, tariff ordinal) whose duty the re-export corrects


def _query(warehouse, sql, params=None):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _execute(warehouse, sql, params=None):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql, params or [])


def _dbt(warehouse, target, *args):
    os.environ["REFUNDS_WAREHOUSE"] = str(warehouse)  # restored after each test (conftest)
    invocation = dbt_resource().cli(list(args), target_path=target)
    invocation.wait()
    assert invocation.is_successful()


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    landing, warehouse = root / "landing", root / "warehouse" / "refunds.duckdb"
    landing.mkdir()
    as_of = copy_sample_exports(landing)
    run = ["run", "--input", str(landing), "--settle", "0", "--warehouse", str(warehouse)]
    assert main([*run, "--as-of", as_of]) == 0
    # Day 2: the broker re-exports a period with one duty corrected, and a new day's reports arrive.
    original = (landing / REEXPORTED).read_bytes()
    entry, line, ordinal = CORRECTED
    old_row = f"{entry},{line},{ordinal},".encode()
    start = original.index(old_row)
    end = original.index(b"\n", start)
    corrected = original[start:end].replace(b"$320.00", b"$321.00", 1)
    assert corrected != original[start:end]
    (landing / f"re-export {REEXPORTED}").write_bytes(original[:start] + corrected + original[end:])
    assert main(["synth", "--out", str(root / "day2"), "--entries", "60", "--seed", "8", "--as-of", "2026-11-21"]) == 0
    for f in (root / "day2").glob("*.csv"):
        shutil.copyfile(f, landing / f"day2 {f.name}")
    stamp = time.time()
    day2_text = ""
    for f in landing.glob("*"):
        if f.name.startswith(("re-export", "day2")):
            os.utime(f, (stamp, stamp))
            day2_text += f.read_text(encoding="utf-8-sig").replace("-", "")
    # An entry no day-2 file has; its rows are marked: a run that rebuilt them would lose the marks.
    untouched = next(
        e
        for (e,) in _query(warehouse, "select distinct entry_summary_number from raw.es003_line_tariffs order by 1")
        if e not in day2_text
    )
    for table in LINE_MODELS:
        _execute(warehouse, f"update {table} set filer_name = 'day-1 row' where entry_summary_number = ?", [untouched])
    assert main([*run, "--as-of", "2026-11-21"]) == 0
    return root, warehouse, untouched


def test_incremental_day_recomputes_only_the_new_loads_entries(two_days):
    _, warehouse, untouched = two_days
    for table in LINE_MODELS:
        sql = f"select distinct filer_name from {table} where entry_summary_number = ?"
        marked = _query(warehouse, sql, [untouched])
        assert marked == [("day-1 row",)], f"{table}: an entry without new rows was rebuilt"
    # The re-exported entry was recomputed: the newer file's corrected duty won, in both models.
    entry, line, ordinal = CORRECTED
    for table in LINE_MODELS:
        duty = _query(
            warehouse,
            f"select line_duty_amount, _source_file from {table} "
            "where entry_summary_number = ? and entry_summary_line_number = ? and tariff_ordinal_number = ?",
            [entry, line, ordinal],
        )
        assert [(float(d), f) for d, f in duty] == [(321.00, f"re-export {REEXPORTED}")]
    # The day-2 synthetic entries are there.
    sql = "select count(*) from staging.stg_ace__es003_line_tariffs where _source_file like 'day2%'"
    assert _query(warehouse, sql)[0][0] > 0


def test_incremental_day_equals_a_full_rebuild(two_days):
    root, warehouse, untouched = two_days
    full = root / "full.duckdb"
    shutil.copyfile(warehouse, full)
    _dbt(full, root / "target_full", "run", "--full-refresh", "--select", " ".join(LINE_MODELS.values()))
    for table in LINE_MODELS:
        assert _query(full, f"select count(*) from {table}") == _query(warehouse, f"select count(*) from {table}")
        with duckdb.connect() as con:
            con.execute(f"attach '{full}' as full_build (read_only)")
            con.execute(f"attach '{warehouse}' as incremental (read_only)")
            for a, b in (("full_build", "incremental"), ("incremental", "full_build")):
                differing = con.execute(
                    f"select count(*) from (select * from {a}.{table} where entry_summary_number <> $u "
                    f"except all select * from {b}.{table} where entry_summary_number <> $u)",
                    {"u": untouched},
                ).fetchone()[0]
                assert differing == 0, f"{table}: incremental and full rebuild differ ({a} minus {b})"


def test_changed_headings_or_vars_reclassify_every_row(two_days):
    root, warehouse, _ = two_days
    copy = root / "stale.duckdb"
    shutil.copyfile(warehouse, copy)
    # As if the table had been classified with another heading table: the next run must redo every entry.
    _execute(
        copy,
        "update intermediate.int_tariff_rows_classified set _build_fingerprint = 'other headings', duty_check = 'old'",
    )
    _dbt(copy, root / "target_stale", "run", "--select", "int_tariff_rows_classified")
    left = _query(copy, "select count(*) from intermediate.int_tariff_rows_classified where duty_check = 'old'")
    assert left == [(0,)]
    sql = "select count(distinct _build_fingerprint) from intermediate.int_tariff_rows_classified"
    assert _query(copy, sql) == [(1,)]


def test_a_table_built_by_an_older_version_rebuilds_itself(two_days):
    root, warehouse, untouched = two_days
    copy = root / "older.duckdb"
    shutil.copyfile(warehouse, copy)
    # As if an earlier version of the pipeline had built the table: no fingerprint column.
    _execute(copy, "alter table staging.stg_ace__es003_line_tariffs drop column _build_fingerprint")
    _dbt(copy, root / "target_older", "run", "--select", "stg_ace__es003_line_tariffs")
    sql = "select distinct filer_name from staging.stg_ace__es003_line_tariffs where entry_summary_number = ?"
    assert _query(copy, sql, [untouched]) != [("day-1 row",)]  # every entry was rebuilt, the marked one too
    sql = "select count(*), count(_build_fingerprint) from staging.stg_ace__es003_line_tariffs"
    rows, fingerprinted = _query(copy, sql)[0]
    assert rows == fingerprinted == _query(warehouse, "select count(*) from staging.stg_ace__es003_line_tariffs")[0][0]
