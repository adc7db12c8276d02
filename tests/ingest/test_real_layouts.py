"""ES-022 and REV-603 as real exports lay them out (docs/DOMAIN.md section 8: the layouts an importer's own tool reads),
through the real ingest assets into a real DuckDB file.

The files are written here from the documented header text and the tool's display labels, not from the project's
layouts file, so a layout the pipeline does not know fails these tests instead of agreeing with itself.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import openpyxl
import pytest
from dagster import materialize

from pipelines.cli import main
from pipelines.ingest.assets import ingest_assets, ingest_checks
from tests.conftest import REAL_ES022_HEADER, entry_number, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

# REV-603 with the tool's display labels where it has one (sheet "Report", header in row 6).
REV603_LABELS = [
    "Refund ID",
    "Payee ID",
    "Company Name",
    "C/O",
    "Address",
    "Refund Date",
    "Status",
    "Secondary Status",
    "Refund Type",
    "Document Nr.",
    "Total Refund Amt.",
    "Check / ACH Trace",
    "Check/ACH",
    "Center ID",
    "Team Nr.",
    "Port Code",
]


def _es022_rows() -> list[list[str]]:
    accepted = entry_number("RL1", 1)
    return [
        # accepted, liquidated and refunded; principal and interest apart, no total
        ["CAPE2605000001", "Accepted", "RL1", "12-345678900", "", "", accepted, "03/05/2025", "06/12/2026", "CT12",
         "C23", "Center 23", "$1,234.56", "$80.10", "RF26061200001", "06/12/2026", "Treasury Issued"],
        # accepted, not liquidated yet: empty liquidation and refund fields are values, not errors
        ["CAPE2605000001", "Accepted", "RL1", "12-345678900", "", "", entry_number("RL1", 2), "03/06/2025", "", "",
         "", "", "", "", "", "", ""],
        # rejected: no refund
        ["CAPE2605000002", "Rejected", "RL1", "12-345678900", "", "", entry_number("RL1", 3), "03/07/2025", "", "",
         "", "", "", "", "", "", ""],
    ]  # fmt: skip


def _rev603_workbook(path, rows: list[list]) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Report Criteria"
    wb.active.append(["Refund Date From", dt.datetime(2026, 6, 1)])  # a prompt, not a header
    ws = wb.create_sheet("Report")
    ws.append(["CBP Liquidation Refund Report"])
    ws.append(["Run Date:", dt.datetime(2026, 7, 1)])
    ws.append(["Refund Date:", "06/01/2026 - 06/30/2026"])
    ws.append(["Refund Status:", "ALL"])
    ws.append([])
    ws.append(REV603_LABELS)  # row 6
    for row in rows:
        ws.append(row)
    wb.save(path)


@pytest.fixture
def loaded(workspace):
    write(
        workspace.landing / "ES-022 CAPE entries.csv",
        "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in [REAL_ES022_HEADER, *_es022_rows()])
        + "\r\n",
    )
    _rev603_workbook(
        workspace.landing / "REV-603.xlsx",
        [
            # Excel keeps no cell for empty trailing fields: the rows come back short
            ["RF26061200001", "12-345678900", "Acme Imports Inc.", None, "1 Main St", dt.datetime(2026, 6, 12),
             "Treasury Issued", "Funds Diverted", "CAPE", entry_number("RL1", 1, dashed=False), 1014.66,
             "000123456789012", "ACH", "C23", "123", "1001"],
            ["RF26061200002", "98-765432100", "Other Co", None, None, dt.datetime(2026, 6, 12), "Sent to Treasury",
             None, "CAPE", None, 500.0],
        ],
    )  # fmt: skip
    result = materialize([*ingest_assets, *ingest_checks], resources={"pipeline": workspace.resource})
    assert result.success
    return workspace


def _ledger(workspace) -> dict:
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        cols = "file_name, status, report_code, rows_read, rows_loaded, rows_quarantined, columns_missing"
        return {r[0]: r[1:] for r in con.execute(f"select {cols} from ingest.file_ledger").fetchall()}


def test_real_es022_and_rev603_load_with_nothing_quarantined(loaded):
    ledger = _ledger(loaded)
    assert ledger["ES-022 CAPE entries.csv"][:5] == ("loaded", "es022", 3, 3, 0)
    assert ledger["REV-603.xlsx"][:5] == ("loaded", "rev603", 2, 2, 0)
    assert "declaration_submission_date" in ledger["ES-022 CAPE entries.csv"][5]
    assert {"importer_number", "refund_principal_amount", "offset_amount"} <= set(ledger["REV-603.xlsx"][5])
    with duckdb.connect(str(loaded.warehouse), read_only=True) as con:
        es022 = con.execute(
            "select cape_declaration_number, cape_entry_status, refund_principal_amount, refund_interest_amount, "
            "liquidation_date, filer_code from raw.es022_cape_entries order by _source_line"
        ).fetchall()
        rev603 = con.execute(
            "select refund_number, payee_number, refund_status, refund_secondary_status, gross_refund_amount, "
            "payment_method, importer_number from raw.rev603_trade_refunds order by _source_line"
        ).fetchall()
    from decimal import Decimal

    assert es022[0] == ("CAPE2605000001", "Accepted", Decimal("1234.56"), Decimal("80.10"), dt.date(2026, 6, 12), "RL1")
    assert es022[2][:2] == ("CAPE2605000002", "Rejected") and es022[2][2] is None
    assert rev603 == [
        ("RF26061200001", "12-345678900", "Treasury Issued", "Funds Diverted", Decimal("1014.66"), "ACH", None),
        ("RF26061200002", "98-765432100", "Sent to Treasury", None, Decimal("500.00"), None, None),
    ]


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [("export.csv", "ambiguous_report"), ("REV-615 export.csv", "rev615"), ("ES-022 export.csv", "es022")],
)
def test_a_header_two_reports_fit_equally_is_told_apart_by_the_file_name(workspace, file_name, expected):
    # Every required column of ES-022 (assumed layout) and of REV-615, and as many columns of each.
    header = [
        "Entry Summary Number",
        "Importer Number",
        "CAPE Declaration Number",
        "CAPE Entry Status",
        "Liquidation Date",
        "Refund Number",
        "Refund Principal Amount",
        "Refund Interest Amount",
        "Refund Total Amount",
        "Sent to Treasury Date",
    ]
    row = [entry_number("RL2", 1), "12-345678900", "CAPE1", "Accepted", "", "RF1", "1.00", "0.10", "1.10", ""]
    write(workspace.landing / file_name, ",".join(header) + "\r\n" + ",".join(row) + "\r\n")
    assert materialize([*ingest_assets, *ingest_checks], resources={"pipeline": workspace.resource}).success
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        status, code, refusal, reason = con.execute(
            "select status, report_code, refusal_code, refusal_reason from ingest.file_ledger"
        ).fetchone()
    if expected == "ambiguous_report":
        assert (status, refusal) == ("refused", "ambiguous_report")
        assert "ES-022" in reason and "REV-615" in reason
    else:
        assert (status, code) == ("loaded", expected)


def test_inspect_names_the_layout_what_it_lacks_and_the_alias_to_add(workspace, capsys):
    good = write(
        workspace.root / "es022.csv", ",".join(REAL_ES022_HEADER) + "\r\n" + ",".join(_es022_rows()[2]) + "\r\n"
    )
    renamed = [("Claim Nbr" if h == "Claim Number" else h) for h in REAL_ES022_HEADER] + ["Broker Memo"]
    odd = write(workspace.root / "odd.csv", ",".join(renamed) + "\r\n")
    assert main(["inspect", str(good)]) == 0
    out = capsys.readouterr().out
    assert "ES-022 CAPE Entry Summary Report" in out and "importer_tool_2026" in out
    assert "'Claim Number' -> cape_declaration_number" in out
    assert "declaration_submission_date: no submission date" in out  # what the missing column costs
    assert main(["inspect", str(odd)]) == 1  # refused: a required column is not found
    out = capsys.readouterr().out
    assert "required_column_missing" in out and "'Claim Number'" in out
    assert "es022,cape_declaration_number,Claim Nbr" in out  # the alias line that would place the header
