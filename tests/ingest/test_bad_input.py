"""Bad input gets a clear error and loses nothing.

One landing folder holds every kind of bad file at once, ingested by the real Dagster assets into a real
DuckDB file; then each case is checked, and for every file: rows read = rows loaded + rows quarantined, equal
to the rows actually in raw and quarantine, and equal to the data rows the test wrote.
"""

from __future__ import annotations

import os
import time

import duckdb
import openpyxl
import pytest
from dagster import materialize

from pipelines.ingest.assets import ingest_assets, ingest_checks
from pipelines.resources import PipelineResource
from tests.conftest import ES003_HEADERS, csv_text, entry_number, es003_row, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

BAD_CHECK = entry_number("AB2", 6)[:-1] + str((int(entry_number("AB2", 6)[-1]) + 1) % 10)
GOOD = [es003_row(entry_number("AB1", 10 + i), line=1, ordinal=1) for i in range(3)]


def _build_landing(landing):
    """Write the bad files; return {file name: (data rows written, expected loaded, expected quarantined)}."""
    expected = {}

    write(landing / "good.csv", csv_text(ES003_HEADERS, GOOD))
    expected["good.csv"] = (3, 3, 0)

    write(landing / "empty.csv", "")
    write(landing / "header only.csv", csv_text(ES003_HEADERS, []))
    expected["header only.csv"] = (0, 0, 0)

    write(landing / "not an ace report.csv", "Name,Colour\r\nalpha,red\r\n")
    write(
        landing / "missing duty column.csv",
        csv_text([h for h in ES003_HEADERS if h != "Line Tariff Duty Amount"], GOOD),
    )

    rows = [
        es003_row(entry_number("AB2", 1), **{"Entry Date": "13/45/2025"}),  # bad date
        es003_row(entry_number("AB2", 2), **{"Line Tariff Duty Amount": "12.345"}),  # 3 decimals
        es003_row(entry_number("AB2", 3), **{"Line Tariff Duty Amount": "twelve"}),  # not an amount
        es003_row(entry_number("AB2", 4), **{"Line Tariff Duty Amount": "(1,234.50)"}),  # negative, fine
        es003_row(entry_number("AB2", 5), **{"Entry Summary Line Number": ""}),  # required value empty
        es003_row(BAD_CHECK),  # bad check digit: kept and flagged, not quarantined
        es003_row("AB2-000006-1"),  # malformed: kept and flagged
        es003_row(entry_number("AB2", 7), **{"Entry Date": "2025-03-05"}),  # ISO date, fine
    ]
    write(landing / "bad values.csv", csv_text(ES003_HEADERS, rows))
    expected["bad values.csv"] = (8, 4, 4)

    # Windows-1252 text (a curly apostrophe and an e-acute in the importer number field) with a BOM-less CRLF file
    cp = [es003_row(entry_number("AB3", 1), **{"Importer Number": "Café’s-01"})]
    write(landing / "cp1252.csv", csv_text(ES003_HEADERS, cp), encoding="cp1252")
    expected["cp1252.csv"] = (1, 1, 0)

    write(landing / "bom.csv", csv_text(ES003_HEADERS, [es003_row(entry_number("AB4", 1))]), bom=True)
    expected["bom.csv"] = (1, 1, 0)

    lf = [es003_row(entry_number("AB5", i)) for i in range(2)]
    write(landing / "lf only.csv", csv_text(ES003_HEADERS, lf, line_ending="\n"))
    expected["lf only.csv"] = (2, 2, 0)

    # Quoted fields holding the delimiter and a line break (an extended-export text column).
    quoted_headers = ES003_HEADERS + ["Filer Name"]
    quoted = [
        es003_row(entry_number("AB6", 1), **{"Filer Name": "Smith, Jones & Co"}),
        es003_row(entry_number("AB6", 2), **{"Filer Name": "Line one\r\nline two"}),
        es003_row(entry_number("AB6", 3), **{"Filer Name": 'He said "ok"'}),
    ]
    write(landing / "quoted.csv", csv_text(quoted_headers, quoted))
    expected["quoted.csv"] = (3, 3, 0)

    # Truncated last line: the export was cut off mid-row.
    text = csv_text(ES003_HEADERS, [es003_row(entry_number("AB7", i)) for i in range(3)])
    write(landing / "truncated.csv", text[: text.rstrip().rfind(",") - 5])
    expected["truncated.csv"] = (3, 2, 1)

    # The same content twice under another name, and names with quotes and spaces.
    write(landing / "z good copy.csv", csv_text(ES003_HEADERS, GOOD))
    write(landing / 'it\'s "quoted"; drop table x.csv', csv_text(ES003_HEADERS, [es003_row(entry_number("AB8", 1))]))
    expected['it\'s "quoted"; drop table x.csv'] = (1, 1, 0)

    # An Excel export: title rows, then the header, data on the 'Main Report' sheet, real dates and numbers.
    wb = openpyxl.Workbook()
    wb.active.title = "Cover"
    ws = wb.create_sheet("Main Report")
    import datetime as dt

    ws.append(["ES-003 Entry Summary Line Tariff Details"])
    ws.append(["Run date", dt.datetime(2026, 5, 1)])
    ws.append(ES003_HEADERS)
    ws.append(
        [
            entry_number("AB9", 1),
            1,
            1,
            1,
            "12-345678900",
            dt.datetime(2025, 3, 5),
            dt.datetime(2025, 3, 15),
            "99030125",
            1000.5,
            10005,
        ]
    )
    ws.append(
        [entry_number("AB9", 2), 1, 1, "01", "12-345678900", dt.datetime(2025, 3, 5), "03/15/2025", 99030125, 0.1, 1]
    )
    wb.save(landing / "ES-003 export.xlsx")
    expected["ES-003 export.xlsx"] = (2, 2, 0)
    return expected


@pytest.fixture
def ingested(workspace):
    expected = _build_landing(workspace.landing)
    result = materialize([*ingest_assets, *ingest_checks], resources={"pipeline": workspace.resource})
    assert result.success
    con = duckdb.connect(str(workspace.warehouse), read_only=True)
    yield workspace, expected, con, result
    con.close()


def _ledger(con):
    cols = "file_name, status, refusal_code, refusal_reason, rows_read, rows_loaded, rows_quarantined, load_id"
    return {r[0]: r for r in con.execute(f"select {cols} from ingest.file_ledger").fetchall()}


def test_every_loaded_file_reconciles_with_what_was_written(ingested):
    _, expected, con, result = ingested
    ledger = _ledger(con)
    for name, (written, loaded, kept) in expected.items():
        row = ledger[name]
        assert row[1] == "loaded", (name, row)
        assert (row[4], row[5], row[6]) == (written, loaded, kept), name
        in_raw = con.execute("select count(*) from raw.es003_line_tariffs where _load_id = ?", [row[7]]).fetchone()[0]
        in_quarantine = con.execute(
            "select count(*) from quarantine.rejected_rows where load_id = ?", [row[7]]
        ).fetchone()[0]
        assert (in_raw, in_quarantine) == (loaded, kept), name
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"ledger_reconciles": True}


def test_refused_files_are_named_with_the_reason(ingested):
    _, _, con, _ = ingested
    ledger = _ledger(con)
    assert ledger["empty.csv"][1:3] == ("refused", "empty_file")
    assert ledger["not an ace report.csv"][1:3] == ("refused", "no_header")
    missing = ledger["missing duty column.csv"]
    assert missing[1:3] == ("refused", "required_column_missing")
    assert "Line Tariff Duty Amount" in missing[3] and "ES-003" in missing[3]


def test_duplicate_content_is_loaded_once(ingested):
    _, _, con, _ = ingested
    assert "z good copy.csv" not in _ledger(con)
    assert (
        con.execute("select count(*) from raw.es003_line_tariffs where entry_summary_number like 'AB1%'").fetchone()[0]
        == 3
    )


def test_quarantined_rows_keep_file_line_reason_and_record(ingested):
    _, _, con, _ = ingested
    rows = con.execute(
        """
        select source_line, reason_code, reason, record from quarantine.rejected_rows
        where source_file = 'bad values.csv' order by source_line
        """
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        (2, "bad_date"),
        (3, "bad_amount"),
        (4, "bad_amount"),
        (6, "required_missing"),
    ]
    assert "13/45/2025" in rows[0][2] and "Entry Date" in rows[0][2]
    assert '"Entry Date":"13/45/2025"' in rows[0][3]
    truncated = con.execute(
        "select source_line, reason_code from quarantine.rejected_rows where source_file = 'truncated.csv'"
    ).fetchall()
    assert truncated == [(4, "csv_structure")]


def test_values_are_parsed_exactly(ingested):
    _, _, con, _ = ingested
    got = dict(
        con.execute(
            "select entry_summary_number, line_duty_amount from raw.es003_line_tariffs "
            "where _source_file = 'bad values.csv'"
        ).fetchall()
    )
    from decimal import Decimal

    assert got[entry_number("AB2", 4, dashed=False)] == Decimal("-1234.50")
    lines = dict(
        con.execute(
            "select entry_summary_number, _source_line from raw.es003_line_tariffs "
            "where _source_file = 'bad values.csv'"
        ).fetchall()
    )
    assert lines[entry_number("AB2", 7, dashed=False)] == 9  # header is line 1, 8th data row
    checks = dict(
        con.execute(
            "select entry_summary_number, entry_summary_number_check from raw.es003_line_tariffs "
            "where entry_summary_number like 'AB2%'"
        ).fetchall()
    )
    assert checks[BAD_CHECK.replace("-", "")] == "bad_check_digit"
    assert checks["AB20000061"] == "malformed"


def test_text_encodings_and_quoting(ingested):
    _, _, con, _ = ingested
    assert con.execute(
        "select importer_number from raw.es003_line_tariffs where _source_file = 'cp1252.csv'"
    ).fetchone() == ("Café’s-01",)
    assert con.execute("select encoding from ingest.file_ledger where file_name = 'cp1252.csv'").fetchone() == (
        "cp1252",
    )
    assert con.execute("select encoding from ingest.file_ledger where file_name = 'bom.csv'").fetchone() == (
        "utf-8-sig",
    )
    names = [
        r[0]
        for r in con.execute(
            "select filer_name from raw.es003_line_tariffs where _source_file = 'quoted.csv' order by _source_line"
        ).fetchall()
    ]
    assert names == ["Smith, Jones & Co", "Line one\r\nline two", 'He said "ok"']


def test_excel_export(ingested):
    _, _, con, _ = ingested
    rows = con.execute(
        """
        select entry_type_code, entry_date, entry_summary_date, hts_number, line_duty_amount, _source_line
        from raw.es003_line_tariffs where _source_file = 'ES-003 export.xlsx' order by _source_line
        """
    ).fetchall()
    import datetime as dt
    from decimal import Decimal

    assert rows == [
        ("01", dt.date(2025, 3, 5), dt.date(2025, 3, 15), "99030125", Decimal("1000.50"), 4),
        ("01", dt.date(2025, 3, 5), dt.date(2025, 3, 15), "99030125", Decimal("0.10"), 5),
    ]


def test_redropping_and_rerunning_is_a_no_op(ingested):
    workspace, _, con, _ = ingested
    before = con.execute(
        "select count(*), (select count(*) from ingest.file_ledger) from raw.es003_line_tariffs"
    ).fetchone()
    con.close()
    (workspace.landing / "good again.csv").write_bytes((workspace.landing / "good.csv").read_bytes())
    assert materialize([*ingest_assets], resources={"pipeline": workspace.resource}).success
    con2 = duckdb.connect(str(workspace.warehouse), read_only=True)
    after = con2.execute(
        "select count(*), (select count(*) from ingest.file_ledger) from raw.es003_line_tariffs"
    ).fetchone()
    statuses = dict(con2.execute("select file_name, status from ingest.landing_inventory").fetchall())
    con2.close()
    assert after == before
    assert statuses["good again.csv"] == "already_loaded"
    assert statuses["empty.csv"] == "already_refused"


def test_a_file_still_being_written_waits(workspace):
    write(workspace.landing / "fresh.csv", csv_text(ES003_HEADERS, GOOD))
    resource = PipelineResource(
        landing_dir=str(workspace.landing), warehouse_path=str(workspace.warehouse), landing_settle_seconds=3600
    )
    assert materialize([*ingest_assets], resources={"pipeline": resource}).success
    con = duckdb.connect(str(workspace.warehouse))
    assert con.execute("select status from ingest.landing_inventory").fetchall() == [("deferred",)]
    assert con.execute("select count(*) from ingest.file_ledger").fetchone() == (0,)
    con.close()
    old = time.time() - 7200
    os.utime(workspace.landing / "fresh.csv", (old, old))
    assert materialize([*ingest_assets], resources={"pipeline": resource}).success
    con = duckdb.connect(str(workspace.warehouse), read_only=True)
    assert con.execute("select count(*) from raw.es003_line_tariffs").fetchone() == (3,)
    con.close()


def test_header_alias_lets_a_refused_file_load(workspace, tmp_path):
    renamed = [h.replace("Line Tariff Duty Amount", "IEEPA Duty Paid") for h in ES003_HEADERS]
    rows = [{("IEEPA Duty Paid" if k == "Line Tariff Duty Amount" else k): v for k, v in r.items()} for r in GOOD]
    write(workspace.landing / "renamed.csv", csv_text(renamed, rows))
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("report_code,column_name,header\n", encoding="utf-8")
    os.environ["REFUNDS_HEADER_ALIASES"] = str(aliases)
    try:
        assert materialize([*ingest_assets], resources={"pipeline": workspace.resource}).success
        con = duckdb.connect(str(workspace.warehouse))
        assert con.execute("select status, refusal_code from ingest.file_ledger").fetchall() == [
            ("refused", "required_column_missing")
        ]
        con.close()
        aliases.write_text("report_code,column_name,header\nes003,line_duty_amount,IEEPA Duty Paid\n", encoding="utf-8")
        assert materialize([*ingest_assets], resources={"pipeline": workspace.resource}).success
        con = duckdb.connect(str(workspace.warehouse), read_only=True)
        assert con.execute("select status, rows_loaded from ingest.file_ledger order by load_id").fetchall() == [
            ("refused", 0),
            ("loaded", 3),
        ]
        con.close()
    finally:
        del os.environ["REFUNDS_HEADER_ALIASES"]
