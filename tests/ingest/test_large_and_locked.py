"""A 100 MB export loads whole, with exact line numbers for the rows it refuses; a held warehouse lock gives
a clear message."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from dagster import materialize

from pipelines.ingest.assets import ingest_assets
from pipelines.warehouse.connection import WarehouseLockedError, open_warehouse
from tests.conftest import ES003_HEADERS

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

BAD_DATE_ROW = 123_456  # 1-based data row with an impossible date
SHORT_ROW = 400_000  # 1-based data row cut short (missing columns)


def _write_100mb_es003(path, rows: int) -> None:
    """Written by DuckDB itself (set-based), with a few planted bad rows at known positions."""
    con = duckdb.connect()
    header = ",".join(f'"{h}"' for h in ES003_HEADERS)
    con.execute(
        f"""
        copy (
          select case when i = {SHORT_ROW} then 'AB1-' || lpad(i::varchar, 7, '0') || '-0,1'
            else concat_ws(',',
              'AB1-' || lpad(i::varchar, 7, '0') || '-0', (i % 7 + 1)::varchar, '1', '01', '"12-345678900"',
              case when i = {BAD_DATE_ROW} then '02/30/2025' else '03/05/2025' end, '03/15/2025', '99030125',
              '"$' || format('{{:,.2f}}', (i % 100000) / 100.0 + 1000) || '"',
              '"$' || format('{{:,.2f}}', (i % 100000) / 10.0 + 10000) || '"')
            end as line
          from range(1, {rows} + 1) t(i)
        ) to '{path}' (header false, quote '', delimiter '\x01', new_line '\r\n')
        """
    )
    body = path.read_bytes()
    path.write_bytes(header.encode() + b"\r\n" + body)


@pytest.mark.slow
def test_a_100_mb_file_loads_whole(workspace):
    rows = 1_150_000
    target = workspace.landing / "ES-003 big.csv"
    _write_100mb_es003(target, rows)
    assert target.stat().st_size > 100 * 1024 * 1024
    assert materialize([*ingest_assets], resources={"pipeline": workspace.resource}).success
    con = duckdb.connect(str(workspace.warehouse), read_only=True)
    ledger = con.execute("select rows_read, rows_loaded, rows_quarantined from ingest.file_ledger").fetchall()
    assert ledger == [(rows, rows - 2, 2)]
    kept = con.execute("select source_line, reason_code from quarantine.rejected_rows order by source_line").fetchall()
    assert kept == [(BAD_DATE_ROW + 1, "bad_date"), (SHORT_ROW + 1, "csv_structure")]
    # Lines of loaded rows around the refused ones are exact, across DuckDB's parallel reader.
    lines = dict(
        con.execute(
            "select entry_summary_number, _source_line from raw.es003_line_tariffs "
            "where entry_summary_number in ('AB10123455' || '0', 'AB10123457' || '0', 'AB10400001' || '0', "
            "'AB11150000' || '0')"
        ).fetchall()
    )
    assert lines == {"AB101234550": 123_456, "AB101234570": 123_458, "AB104000010": 400_002, "AB111500000": 1_150_001}
    total = con.execute("select sum(line_duty_amount) from raw.es003_line_tariffs").fetchone()[0]
    con.close()
    # Independent total: the same arithmetic in Python integers (cents), minus the two refused rows.
    cents = sum((i % 100000) + 100000 for i in range(1, rows + 1) if i not in (BAD_DATE_ROW, SHORT_ROW))
    assert total * 100 == cents


def test_a_held_lock_gives_a_clear_message(workspace):
    settings = workspace.resource.settings()
    open_warehouse(settings).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(settings.warehouse_path)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError, match="in use by another process"):
            open_warehouse(settings)
    finally:
        holder.kill()
        holder.wait()
