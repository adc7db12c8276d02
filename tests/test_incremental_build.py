"""The incremental models, run for real: the ES-003 line models (stg_ace__es003_line_tariffs,
int_tariff_rows_classified) and the per-entry sums (int_eligibility__entry_refundable), by entry, and the retracted
rows (stg_ingest__retracted_rows), by group.

Day 1 is the bundled sample through the command line. Day 2 adds a re-export of one sample ES-003 file with a
corrected duty and one row fewer (a newer file, so its rows win and the missing row is retracted) and a new day's
synthetic exports (another seed). The day-2 run recomputes only the entries and groups of the new loads, and its
tables must equal a full rebuild of the same raw rows.
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
ENTRY_SUMS = "intermediate.int_eligibility__entry_refundable"
RETRACTED = "staging.stg_ingest__retracted_rows"
# Each incremental table, its dbt model and the column a run that rebuilt an entry would overwrite.
MARKED = {
    **{t: (m, "filer_name") for t, m in LINE_MODELS.items()},
    ENTRY_SUMS: ("int_eligibility__entry_refundable", "filer_code"),
}
REEXPORTED = "ES-003_2026-01-26_2026-03-31.csv"
CORRECTED = ("44501530693", 1, 2)  # (entry, line, tariff ordinal) whose duty the re-export corrects
DROPPED = ("44501530693", 4, 1)  # a row of the same entry the re-export no longer lists: retracted on day 2


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
    reexport = original[:start] + corrected + original[end:]
    dropped_start = reexport.index(b"\n" + "{},{},{},".format(*DROPPED).encode()) + 1
    reexport = reexport[:dropped_start] + reexport[reexport.index(b"\n", dropped_start) + 1 :]
    (landing / f"re-export {REEXPORTED}").write_bytes(reexport)
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
    for table, (_, column) in MARKED.items():
        _execute(warehouse, f"update {table} set {column} = 'day-1 row' where entry_summary_number = ?", [untouched])
    # Retracted rows planted in two groups: the untouched entry's must stay; the re-exported entry's must go (its
    # group is recomputed whole, so a key a newer export brings back leaves the list).
    for group in (untouched, entry):
        _execute(
            warehouse,
            f"insert into {RETRACTED} by name select 'es003' as report_code, ? as group_key, 'planted' as row_key, "
            "'day-1 row' as source_file, 0 as source_line, 0 as load_id, 'day-1 row' as retracted_by_file, "
            "0 as retracted_by_load_id",
            [group],
        )
    day1_loads = _query(warehouse, "select max(load_id) from ingest.file_ledger")[0][0]
    assert main([*run, "--as-of", "2026-11-21"]) == 0
    return root, warehouse, untouched, day1_loads


def test_incremental_day_recomputes_only_the_new_loads_entries(two_days):
    _, warehouse, untouched, day1_loads = two_days
    for table, (_, column) in MARKED.items():
        sql = f"select distinct {column} from {table} where entry_summary_number = ?"
        marked = _query(warehouse, sql, [untouched])
        assert marked == [("day-1 row",)], f"{table}: an entry without new rows was rebuilt"
    # The per-entry sums rewrote exactly the entries with a raw row from a day-2 load.
    day2_loads = _query(warehouse, "select max(load_id) from ingest.file_ledger")[0][0]
    assert day2_loads > day1_loads
    rewritten = _query(
        warehouse,
        f"select entry_summary_number from {ENTRY_SUMS} where _loads_seen_through = ? order by 1",
        [day2_loads],
    )
    new_entries = _query(
        warehouse,
        "select distinct entry_summary_number from raw.es003_line_tariffs where _load_id > ? order by 1",
        [day1_loads],
    )
    assert rewritten == new_entries and len(rewritten) > 1
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


def test_incremental_day_recomputes_only_the_new_loads_retraction_groups(two_days):
    _, warehouse, untouched, _ = two_days
    # The group without new rows kept its planted row; the re-exported entry's group was replaced whole: its planted
    # row is gone, and the row the re-export no longer lists is retracted by it (both older copies of it).
    planted = _query(warehouse, f"select group_key from {RETRACTED} where row_key = 'planted'")
    assert planted == [(untouched,)]
    entry = DROPPED[0]
    retracted = _query(
        warehouse,
        f"select row_key, source_file, retracted_by_file from {RETRACTED} "
        "where report_code = 'es003' and group_key = ? order by source_file",
        [entry],
    )
    older_copies = _query(
        warehouse,
        "select _source_file from raw.es003_line_tariffs where entry_summary_number = ? "
        "and entry_summary_line_number = ? and tariff_ordinal_number = ? order by 1",
        list(DROPPED),
    )
    assert (REEXPORTED,) in older_copies
    assert retracted == [("{}|{}|{}".format(*DROPPED), f, f"re-export {REEXPORTED}") for (f,) in older_copies]
    state = _query(warehouse, f"select loads_seen_through from {RETRACTED}__build_state")
    assert state == _query(warehouse, "select max(load_id) from ingest.file_ledger")


def test_incremental_day_equals_a_full_rebuild(two_days):
    root, warehouse, untouched, _ = two_days
    full = root / "full.duckdb"
    shutil.copyfile(warehouse, full)
    models = [m for m, _ in MARKED.values()] + ["stg_ingest__retracted_rows"]
    _dbt(full, root / "target_full", "run", "--full-refresh", "--select", " ".join(models))
    # Every row but the marked (untouched) entry's; the newest load a build had seen is bookkeeping, not content.
    compared = {
        **{t: ("*", "entry_summary_number") for t in MARKED},
        "intermediate.int_tariff_rows_classified": ("* exclude (_loads_seen_through)", "entry_summary_number"),
        ENTRY_SUMS: ("* exclude (_loads_seen_through)", "entry_summary_number"),
        RETRACTED: ("*", "group_key"),
    }
    assert _query(full, f"select count(*) from {RETRACTED}")[0][0] > 0
    for table, (columns, entry) in compared.items():
        rows = f"select {columns} from {{}}.{table} where {entry} <> $u"
        with duckdb.connect() as con:
            con.execute(f"attach '{full}' as full_build (read_only)")
            con.execute(f"attach '{warehouse}' as incremental (read_only)")
            counts = [
                con.execute(f"select count(*) from ({rows.format(d)})", {"u": untouched}).fetchone()[0]
                for d in ("full_build", "incremental")
            ]
            assert counts[0] == counts[1] > 0, f"{table}: {counts}"
            for a, b in (("full_build", "incremental"), ("incremental", "full_build")):
                differing = con.execute(
                    f"select count(*) from ({rows.format(a)} except all {rows.format(b)})", {"u": untouched}
                ).fetchone()[0]
                assert differing == 0, f"{table}: incremental and full rebuild differ ({a} minus {b})"


def test_another_fingerprint_or_no_build_state_recomputes_everything(two_days):
    root, warehouse, untouched, _ = two_days
    copy = root / "stale.duckdb"
    shutil.copyfile(warehouse, copy)
    # As if the classification had been made with another heading table, the sums built by another version, and the
    # retracted rows built before their build state was kept: the next run must redo every entry and every group.
    _execute(
        copy,
        "update intermediate.int_tariff_rows_classified set _build_fingerprint = 'other headings', duty_check = 'old'",
    )
    _execute(copy, f"update {ENTRY_SUMS} set _build_fingerprint = 'other version'")
    _execute(copy, f"drop table {RETRACTED}__build_state")
    models = "int_tariff_rows_classified int_eligibility__entry_refundable stg_ingest__retracted_rows"
    _dbt(copy, root / "target_stale", "run", "--select", models)
    left = _query(copy, "select count(*) from intermediate.int_tariff_rows_classified where duty_check = 'old'")
    assert left == [(0,)]
    for table in ("intermediate.int_tariff_rows_classified", ENTRY_SUMS):
        assert _query(copy, f"select count(distinct _build_fingerprint) from {table}") == [(1,)]
    sql = f"select filer_code from {ENTRY_SUMS} where entry_summary_number = ?"
    assert _query(copy, sql, [untouched]) != [("day-1 row",)]
    # The untouched entry's group was recomputed too (its planted row is gone), and the state is kept again.
    assert _query(copy, f"select count(*) from {RETRACTED} where row_key = 'planted'") == [(0,)]
    sql = f"select count(*) from {RETRACTED} where row_key <> 'planted'"
    assert _query(copy, sql) == _query(warehouse, sql)
    assert _query(copy, f"select count(*) from {RETRACTED}__build_state") == [(1,)]


def test_a_table_built_by_an_older_version_rebuilds_itself(two_days):
    root, warehouse, untouched, _ = two_days
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
