"""CBP accepts at most 9,999 entries a declaration: 10,001 eligible entries of one filer become two planned
declarations of 9,999 and 2, through the real job (ingest, dbt) on a real DuckDB file."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.cli import main
from tests.conftest import ES003_HEADERS, REAL_ES022_HEADER, csv_text, entry_number, es003_row, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

ENTRIES = 10_001


def test_declarations_split_at_9999(workspace, monkeypatch):
    known = {
        "Entry Date": "05/01/2025",
        "Entry Summary Date": "05/10/2025",
        "Reconciliation Indicator": "N",
        "AD/CVD Indicator": "N",
        "Entry Summary Status": "Accepted",
    }
    rows = []
    for serial in range(1, ENTRIES + 1):
        number = entry_number("ZZ9", serial)
        # As a real export reports a line: the reciprocal baseline (10 % from 2025-04-05) at $0.00 value, then the
        # goods' own HTS row, which carries the line's value.
        rows.append(
            es003_row(
                number,
                ordinal=1,
                **known,
                **{
                    "HTS Number - Full": "99030125",
                    "Line Tariff Duty Amount": "100.00",
                    "Line Tariff Goods Value Amount": "$0.00",
                },
            )
        )
        rows.append(
            es003_row(
                number,
                ordinal=2,
                **known,
                **{
                    "HTS Number - Full": "8471300100",
                    "Line Tariff Duty Amount": "0.00",
                    "Line Tariff Goods Value Amount": "1,000.00",
                },
            )
        )
    headers = ES003_HEADERS + ["Reconciliation Indicator", "AD/CVD Indicator", "Entry Summary Status"]
    write(workspace.landing / "es003.csv", csv_text(headers, rows))
    # An ES-022 export with no rows, in the layout found in real exports: nothing has been filed yet.
    write(workspace.landing / "ES-022 none filed.csv", ",".join(REAL_ES022_HEADER) + "\r\n")
    # An entry flags file with no rows: the user states none of these entries has a drawback, protest, ...
    flags = write(workspace.root / "entry_flags.csv", "entry_number,drawback_claim,protest_status\n")
    monkeypatch.setenv("REFUNDS_ENTRY_FLAGS", str(flags))
    args = ["run", "--input", str(workspace.landing), "--as-of", "2026-11-20", "--settle", "0"]
    assert main([*args, "--warehouse", str(workspace.warehouse)]) == 0

    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        assert con.execute(
            "select eligibility_status, count(*) from marts.fct_entry_eligibility group by 1"
        ).fetchall() == [("eligible", ENTRIES)]
        plan = con.execute(
            """
            select planned_declaration_id, count(*), min(row_in_declaration), max(row_in_declaration),
                min(entry_summary_number), max(entry_summary_number), sum(ieepa_principal_amount)
            from marts.fct_declaration_plan group by 1 order by 1
            """
        ).fetchall()
    first, last = entry_number("ZZ9", 9_999, dashed=False), entry_number("ZZ9", 10_000, dashed=False)
    assert [(p[0], p[1], p[2], p[3]) for p in plan] == [("ZZ9-001", 9_999, 1, 9_999), ("ZZ9-002", 2, 1, 2)]
    assert plan[0][5] == first and plan[1][4] == last  # entry 9,999 closes the first file, 10,000 opens the next
    assert sum(p[6] for p in plan) == 100 * ENTRIES
