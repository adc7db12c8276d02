"""The Great Expectations gate and the CAPE export, through the real job on the bundled sample.

The upload files are checked against CBP's format by an independent reader written here (header, charset,
line endings, row and size limits, check digits), not by the code that wrote them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from synth import generate
from tests.conftest import (
    ES003_HEADERS,
    PROJECT_ROOT,
    copy_sample_exports,
    csv_text,
    entry_number,
    es003_row,
    reference_check_digit,
)

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

SAMPLE = PROJECT_ROOT / "data" / "sample"
AS_OF = (SAMPLE / "truth" / "as_of.txt").read_text().strip()


# One entry whose IEEPA lines net to -12.00 (an anomaly of that entry), dropped beside the sample's exports.
BAD_ENTRY = entry_number("ZZ1", 12)


def _landing(root: Path, world: Path = SAMPLE) -> Path:
    landing = root / "landing"
    landing.mkdir()
    copy_sample_exports(landing, world)  # with their export times, as a user's downloads have
    dated = {"Entry Date": "05/01/2025", "Entry Summary Date": "05/10/2025"}

    def row(ordinal: int, hts: str, duty: str, value: str) -> dict:
        cells = {"HTS Number - Full": hts, "Line Tariff Duty Amount": duty, "Line Tariff Goods Value Amount": value}
        return es003_row(BAD_ENTRY, ordinal=ordinal, **dated, **cells)

    rows = [
        row(1, "99030125", "10.00", "0.00"),
        row(2, "99030125", "(22.00)", "0.00"),
        row(3, "8471300100", "0", "100"),
    ]
    (landing / "ES-003_one_bad_entry.csv").write_text(csv_text(ES003_HEADERS, rows), encoding="utf-8")
    return landing


def _run(root: Path, as_of: str, *extra: str) -> int:
    os.environ["REFUNDS_EXPORTS_DIR"] = str(root / "exports")
    os.environ["REFUNDS_REPORTS_DIR"] = str(root / "reports")
    landing = root / "landing" if (root / "landing").exists() else _landing(root)
    warehouse = root / "warehouse" / "refunds.duckdb"
    return main(
        ["run", "--input", str(landing), "--as-of", as_of, "--settle", "0", "--warehouse", str(warehouse), *extra]
    )


def check_cape_file(path: Path) -> list[str]:
    """CBP's upload format, checked byte by byte; returns the entry numbers."""
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf"), "no BOM"
    data.decode("ascii")  # raises on any non-ASCII byte
    assert len(data) < 1_000_000, "under 1 MB"
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), "CRLF line endings only"
    lines = data.decode("ascii").split("\r\n")[:-1]
    assert lines[0] == "Entry Number", "header exactly 'Entry Number'"
    entries = lines[1:]
    assert 1 <= len(entries) <= 9_999
    assert len(set(entries)) == len(entries), "no duplicates"
    for e in entries:
        assert len(e) == 11 and e[:3].isalnum() and e[3:].isdigit() and e == e.upper(), e
        assert reference_check_digit(e[:10]) == int(e[10]), f"check digit of {e}"
    return entries


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    assert _run(root, AS_OF) == 0
    return root


def test_sample_run_writes_valid_cape_files(exported):
    out = exported / "exports" / AS_OF
    files = sorted(out.glob("cape_*.csv"))
    assert files
    exported_entries = [e for f in files for e in check_cape_file(f)]
    assert len(set(exported_entries)) == len(exported_entries), "an entry is in one file only"
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        eligible = {
            r[0]
            for r in con.execute(
                "select entry_summary_number from marts.fct_entry_eligibility where is_eligible"
            ).fetchall()
        }
        filers = dict(
            con.execute("select entry_summary_number, filer_code from marts.fct_entry_eligibility").fetchall()
        )
    assert set(exported_entries) == eligible
    for f in files:  # one filer per file, named after it
        assert {filers[e] for e in check_cape_file(f)} == {f.name.split("_")[1]}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF and manifest["entries"] == len(exported_entries)
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        versions = {
            r[0] for r in con.execute("select distinct rules_version from marts.fct_declaration_plan").fetchall()
        }
    assert versions == {manifest["rules_version"]}, "the manifest names the rules version the plan was made with"
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["file_name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert (out / "manifest.md").read_text().startswith("# CAPE upload files")
    assert not list(out.glob(".*tmp")), "no temporary file left behind"
    reports = list((exported / "reports" / "runs").glob(f"{AS_OF}_*/run_report.html"))
    assert reports and all(f["file_name"] in reports[0].read_text(encoding="utf-8") for f in manifest["files"])


def test_one_bad_entry_goes_to_review_and_the_others_are_exported(exported):
    """An entry whose IEEPA lines net below 0 does not stop the day: the run succeeded (the fixture), the good entries
    are in the files (test above), and this one is held back for review with its reason, named in the run report."""
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        status, reasons, principal = con.execute(
            "select eligibility_status, reason_codes, ieepa_principal_amount from marts.fct_entry_eligibility "
            "where entry_summary_number = ?",
            [BAD_ENTRY.replace("-", "")],
        ).fetchone()
    assert (status, str(principal)) == ("needs_review", "-12.00") and "negative_ieepa_principal" in reasons
    out = exported / "exports" / AS_OF
    assert BAD_ENTRY.replace("-", "") not in {e for f in out.glob("cape_*.csv") for e in check_cape_file(f)}
    (report,) = (exported / "reports" / "runs").glob(f"{AS_OF}_*/run_report.html")
    assert BAD_ENTRY.replace("-", "") in report.read_text(encoding="utf-8"), "the report names the entry"


def test_same_day_rerun_writes_the_same_files(exported):
    out = exported / "exports" / AS_OF
    before = {f.name: f.read_bytes() for f in out.glob("cape_*.csv")}
    assert _run(exported, AS_OF) == 0
    assert {f.name: f.read_bytes() for f in out.glob("cape_*.csv")} == before
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        n, distinct = con.execute(
            "select count(*), count(distinct entry_summary_number) from export.exported_entries"
        ).fetchone()
    assert n == distinct == sum(len(check_cape_file(out / f)) for f in before)


def _exported(root: Path, as_of: str) -> set[str]:
    return {e for f in (root / "exports" / as_of).glob("cape_*.csv") for e in check_cape_file(f)}


def test_entries_sent_earlier_are_held_back_until_cbp_answers(exported):
    first_day, next_day = _exported(exported, AS_OF), "2026-11-21"
    assert _run(exported, next_day) == 0
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        planned = {r[0] for r in con.execute("select entry_summary_number from marts.fct_declaration_plan").fetchall()}
    manifest = json.loads((exported / "exports" / next_day / "manifest.json").read_text())
    assert not _exported(exported, next_day) & first_day, "nothing sent yesterday is sent again today"
    assert manifest["held_back_awaiting_cape_response"] == len(planned & first_day) > 0
    # ... unless the user asks to send them again
    assert _run(exported, next_day, "--re-export") == 0
    assert _exported(exported, next_day) == planned
    assert (
        json.loads((exported / "exports" / next_day / "manifest.json").read_text())["held_back_awaiting_cape_response"]
        == 0
    )


def test_an_unknown_cape_status_never_reaches_a_cape_file(exported):
    """A declaration in a state the pipeline does not know ("In Review") holds its entry back, even when the user
    asks to send earlier entries again; the entry is listed for review with the status as the reason."""
    day = "2026-11-22"
    sent = sorted(_exported(exported, AS_OF))
    entry = sent[0]
    header = (
        "Claim Number,Claim Status,Filer Code,Importer Number,CF4811 Number,CF4811 Name,Entry Summary Number,"
        "Entry Date,Liquidation Date,Control Team Number,Center ID Code,Center ID Name,Refund Amount,"
        "Interest Amount,Refund Number,Refund Date,Refund Status"
    )
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        (importer,) = con.execute(
            "select importer_number from marts.fct_entry_eligibility where entry_summary_number = ?", [entry]
        ).fetchone()
    row = f"CAPE2611999999,In Review,{entry[:3]},{importer},,,{entry},,,,,,,,,,"
    (exported / "landing" / "ES-022_in_review.csv").write_text(f"{header}\r\n{row}\r\n", encoding="utf-8")
    assert _run(exported, day, "--re-export") == 0
    files = _exported(exported, day)
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        # two days later some entries' 80-day window after liquidation has closed (ES-701, counted here by hand)
        closed = {
            e
            for (e,) in con.execute(
                "select entry_summary_number from staging.stg_ace__es701_liquidations "
                "group by 1 having date_diff('day', max(liquidation_date), ?::date) > 80",
                [day],
            ).fetchall()
        }
    assert closed & set(sent), "the world has entries whose window closes between the two days"
    assert entry not in files and files == set(sent[1:]) - closed, "only the entry in an unknown state is held back"
    with duckdb.connect(str(exported / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        status, reasons = con.execute(
            "select eligibility_status, reason_codes from marts.fct_entry_eligibility where entry_summary_number = ?",
            [entry],
        ).fetchone()
        (evidence,) = con.execute(
            "select evidence from marts.fct_entry_rule_results where entry_summary_number = ? "
            "and rule_name = 'already_accepted'",
            [entry],
        ).fetchone()
    assert (status, reasons) == ("needs_review", "already_accepted")
    assert "In Review" in evidence


def test_a_failing_expectation_stops_the_export(tmp_path, capsys):
    # The world in the assumed layouts, whose ES-022 dates each declaration: as of 2026-06-01 the rules (correctly)
    # see no acceptance yet for entries CBP accepted later; the gate, which checks every ES-022 acceptance on
    # record, must refuse to put those entries in a file again.
    world = tmp_path / "world"
    generate(
        world, entries=400, seed=7, as_of=dt.date.fromisoformat(AS_OF), xlsx_reports=("rev613",), profile="assumed"
    )
    _landing(tmp_path, world)
    assert _run(tmp_path, "2026-06-01") == 1
    err = capsys.readouterr().err
    assert "cape_export_candidates_valid" in err and "accepted_on_earlier_declaration" in err
    assert not (tmp_path / "exports" / "2026-06-01").exists(), "no file written"
    docs = list((tmp_path / "reports" / "runs").glob("2026-06-01_*/data_docs/index.html"))
    assert docs, "the failed validation is in the run's Data Docs"
    report = (docs[0].parent.parent / "run_report.html").read_text(encoding="utf-8")
    assert "cape_export_candidates_valid" in report and "FAILURE" in report, "the run report shows the blocked gate"
