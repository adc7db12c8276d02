"""The auditors' run report, Data Docs and dbt docs site, on a warehouse built by the real daily job from the
bundled sample.

The landing folder also gets a file with two unreadable rows (quarantined) and a file that is no ACE report
(refused), so every section has something to show. The report's key figures are compared with sums computed here
by independent SQL; the page is parsed, checked for anything that would need a network or a script, and rendered
in headless Chromium, whose screenshot is decoded here (zlib and struct only) to prove the page is not blank and
that the SVG charts were drawn.

A blocked run is made cheaply from the same warehouse: rows of one loaded file are deleted from raw, so the
ledger's blocking checks fail right after the ingest and nothing downstream runs (no dbt, no export); its report
must say so at the top. The browser tests run with the network cut (tests/browser.py): the pages must fit a
1366 px laptop screen and the Data Docs and dbt docs must show their content and styles with nothing from outside.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.publish.dbt_docs import build_dbt_docs, docs_page
from pipelines.reports import REPORT_NAME, build_run_report
from pipelines.reports import run_report as run_report_module
from pipelines.reports.run_outcome import checks_in_instance
from pipelines.reports.run_report import SECTIONS, STATUS_COLOURS
from pipelines.settings import load_settings
from tests.browser import Browser, leaves_the_machine
from tests.conftest import ES003_HEADERS, PROJECT_ROOT, copy_sample_exports, csv_text, entry_number, es003_row, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

SAMPLE = PROJECT_ROOT / "data" / "sample"
AS_OF = (SAMPLE / "truth" / "as_of.txt").read_text().strip()
CHROMIUM = Path("/usr/bin/chromium")
BAD_ROWS_FILE = "ES-003_with_typos.csv"
REFUSED_FILE = "meeting_notes.csv"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("run_report")
    landing = root / "landing"
    landing.mkdir()
    copy_sample_exports(landing)
    rows = [
        es003_row(entry_number("ZZ9", 1), **{"Entry Date": "02/30/2025"}),  # no such date
        es003_row(entry_number("ZZ9", 2), **{"Line Tariff Duty Amount": "$1.234"}),  # three decimals
    ]
    write(landing / BAD_ROWS_FILE, csv_text(ES003_HEADERS, rows))
    write(landing / REFUSED_FILE, "Topic,Owner,Due <soon>\r\nrefunds,Ana,Friday\r\n")
    warehouse = root / "warehouse" / "refunds.duckdb"
    home = root / "dagster_home"  # a persistent instance: the runs' check evaluations stay readable after them
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["REFUNDS_DBT_DOCS_EACH_RUN"] = "true"  # this run's dbt docs site is tested below
    started = dt.datetime.now(dt.UTC)
    args = ["run", "--input", str(landing), "--as-of", AS_OF, "--settle", "0", "--warehouse", str(warehouse)]
    try:
        assert main(args) == 0
    except BaseException:
        del os.environ["DAGSTER_HOME"]
        raise
    finished = dt.datetime.now(dt.UTC)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        (run_id,) = con.execute("select distinct run_id from ingest.file_ledger").fetchone()
    settings = load_settings()  # the exports and reports folders the run used (tests point them to tmp)
    manifest = json.loads((settings.exports_dir / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    out_dir = settings.run_report_dir(dt.date.fromisoformat(AS_OF), run_id)
    docs = out_dir / "data_docs" / "index.html"
    run = {
        "run_id": run_id,
        "as_of": AS_OF,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "status": "success",
        "checks": [
            {
                "name": "ledger_reconciles",
                "passed": True,
                "description": "read = loaded + quarantined",
                "failing_rows": 0,
            },
            {
                "name": "refundable_amounts_valid",
                "passed": False,
                "description": "expect_column_values_to_be_between <script>alert(1)</script> failed",
                "failing_rows": 3,
            },
        ],
        "exports": manifest["files"],
    }
    report = build_run_report(warehouse, out_dir, run, docs)
    yield warehouse, out_dir, run, docs, report, root
    del os.environ["DAGSTER_HOME"]


@pytest.fixture(scope="module")
def real_checks(built):
    """The report of the sample run with the check evaluations it recorded (hundreds: dbt tests and the gate)."""
    warehouse, out_dir, run, docs, _, root = built
    from dagster import DagsterInstance

    checks = checks_in_instance(DagsterInstance.get(), run["run_id"])
    return build_run_report(warehouse, root / "real_checks", {**run, "checks": checks}, docs), checks


@pytest.fixture(scope="module")
def blocked(built):
    """A real run the gate stops: two raw rows of one loaded ES-003 file are gone, so the ledger no longer
    reconciles and its blocking checks fail before dbt; returns the report, the file and the warehouse."""
    _, _, _, _, _, root = built
    warehouse = root / "blocked" / "refunds.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(root / "warehouse" / "refunds.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        load_id, damaged = con.execute(
            "select load_id, file_name from ingest.file_ledger where status = 'loaded' and report_code = 'es003' "
            "and rows_loaded > 2 order by file_name limit 1"
        ).fetchone()
        con.execute(
            "delete from raw.es003_line_tariffs where rowid in "
            "(select rowid from raw.es003_line_tariffs where _load_id = ? order by _source_line limit 2)",
            [load_id],
        )
    reports = load_settings().reports_dir / "runs"
    before = set(reports.glob("*/run_report.html"))
    args = ["run", "--input", str(root / "landing"), "--as-of", AS_OF, "--settle", "0", "--warehouse", str(warehouse)]
    assert main(args) == 1
    (report,) = set(reports.glob("*/run_report.html")) - before
    return report, damaged, warehouse


class _Page(HTMLParser):
    """Collects section headings, figures marked ``data-figure``, links, and any tag that would load something."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.figures: dict[str, str] = {}
        self.links: list[str] = []
        self.fetching: list[str] = []
        self.svgs = 0
        self._capture: list[list] = []  # [kind, key, text parts]
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "object", "embed") or "src" in a:
            self.fetching.append(tag)
        if tag == "svg":
            self.svgs += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "h2":
            self._capture.append(["h2", None, []])
        elif "data-figure" in a:
            self._capture.append(["figure", a["data-figure"], []])
        elif self._capture:
            self._capture.append(["inner", None, []])

    def handle_endtag(self, tag):
        if self._capture:
            kind, key, parts = self._capture.pop()
            text = "".join(parts).strip()
            if kind == "h2":
                self.headings.append(text)
            elif kind == "figure":
                self.figures[key] = text
            if self._capture:
                self._capture[-1][2].append(text)

    def handle_data(self, data):
        self.text.append(data)
        if self._capture:
            self._capture[-1][2].append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _text(page: _Page) -> str:
    """The page's text, whitespace collapsed (so 'Source: <code>x</code>' reads 'Source: x')."""
    return " ".join("".join(page.text).split())


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def test_report_is_self_contained_and_has_every_section(built):
    _, out_dir, _, docs, report, _ = built
    assert report == out_dir / REPORT_NAME and report.exists()
    html = report.read_text(encoding="utf-8")
    page = _parse(report)
    assert page.headings == list(SECTIONS.values())
    assert not page.fetching, "nothing to load: no script, stylesheet link, image or frame"
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert page.svgs >= 6, "a chart per section"
    # Everything from the run or the warehouse is escaped: the check's description and the refused file's header.
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The Data Docs link is relative to the report's folder and leads to the run's Data Docs.
    relative = [h for h in page.links if not h.startswith("#")]
    assert relative and all(not h.startswith("/") for h in relative)
    assert (out_dir / relative[0]).resolve() == docs.resolve() and docs.exists()


def test_key_figures_equal_independent_sums(built):
    """The summary shows reporting.rpt_key_figures; each figure shown equals a sum computed here from the marts and
    the ledger (and the refundable principal the generator's truth)."""
    warehouse, _, run, _, report, _ = built
    page = _parse(report)
    figures = page.figures
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def one(sql):
            return con.execute(sql).fetchone()

        loaded, refused = one(
            "select sum(case when status = 'loaded' then 1 else 0 end), "
            "sum(case when status = 'refused' then 1 else 0 end) from ingest.file_ledger"
        )
        read, rows_loaded, kept = one(
            "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ingest.file_ledger"
        )
        (raw_rejected,) = one("select count(*) from quarantine.rejected_rows")
        entries, principal = one("select count(*), sum(ieepa_principal_amount) from marts.fct_entry_refundable")
        eligible, eligible_principal = one(
            "select count(*), sum(ieepa_principal_amount) from marts.fct_entry_eligibility where is_eligible"
        )
        (planned,) = one("select sum(ieepa_principal_amount) from marts.fct_declaration_plan")
        interest, interest_n = one(
            "select sum(interest_cbp_daily_compound), count(interest_cbp_daily_compound) from marts.fct_entry_interest"
        )
        unexplained, unexplained_abs, unexplained_n = one(
            "select coalesce(sum(interest_variance_amount), 0), coalesce(sum(abs(interest_variance_amount)), 0), "
            "count(*) from marts.fct_entry_interest where variance_diagnosis = 'none_matches'"
        )
        (all_figures,) = one("select count(*) from reporting.rpt_key_figures")
    assert kept == raw_rejected == 2 and refused == 1 and read == rows_loaded + kept
    assert planned == eligible_principal  # the same figure reached another way
    with (SAMPLE / "truth" / "entries.csv").open(newline="", encoding="utf-8") as f:
        assert principal == sum(Decimal(e["ieepa_principal"] or "0") for e in csv.DictReader(f))
    expected = {
        "files_loaded": f"{loaded:,}",
        "files_refused": f"{refused:,}",
        "rows_read": f"{read:,}",
        "rows_loaded": f"{rows_loaded:,}",
        "rows_quarantined": f"{kept:,}",
        "refundable_ieepa_principal_usd": _money(principal),
        "entries": f"{entries:,}",
        "eligible_entries": f"{eligible:,}",
        "eligible_ieepa_principal_usd": _money(eligible_principal),
        "interest_owed_usd": _money(interest),
        "entries_with_interest": f"{interest_n:,}",
        "unexplained_interest_variance_usd": _money(unexplained),
        "unexplained_interest_variance_abs_usd": _money(unexplained_abs),
        "entries_interest_unexplained": f"{unexplained_n:,}",
    }
    assert {k: figures.get(k) for k in expected} == expected
    assert isinstance(principal, Decimal) and "," in figures["refundable_ieepa_principal_usd"]
    # every figure of the model is on the page (folded under the cards), and the page says whose they are
    text = _text(page)
    assert f"All {all_figures:,} key figures of the run" in text and "Source: reporting.rpt_key_figures" in text
    assert "not this run's as_of date" not in text


def test_sections_show_what_the_warehouse_holds(built):
    warehouse, _, run, _, report, _ = built
    text = _text(_parse(report))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reasons = [r[0] for r in con.execute("select distinct reason_code from quarantine.rejected_rows").fetchall()]
        statuses = [
            r[0] for r in con.execute("select distinct eligibility_status from marts.fct_entry_eligibility").fetchall()
        ]
        refusal = con.execute("select refusal_code from ingest.file_ledger where status = 'refused'").fetchone()[0]
        # the sample's REV-603 is in the real layout, which has no offset block: offsets are inferred, typeless
        (offsets,) = con.execute("select sum(offset_amount) from marts.fct_offsets").fetchone()
    assert offsets > 0
    for expected in [*reasons, *statuses, refusal, REFUSED_FILE, "inferred", _money(offsets)]:
        assert expected in text, expected
    for x in run["exports"]:
        assert x["file_name"] in text and x["sha256"] in text
    assert "FAILED" in text and "refundable_amounts_valid" in text
    html = report.read_text(encoding="utf-8")
    assert html.count(">yes<") == len(run["exports"]) and ">NO<" not in html, "manifest and warehouse agree"


def test_a_mart_not_built_yet_is_said_not_failed(built, tmp_path):
    """A run that stopped before dbt built the marts: their sections and the key figures say "not built yet"; no
    section falls back to the staging tables."""
    warehouse, _, run, _, _, _ = built
    copy = tmp_path / "older.duckdb"
    shutil.copyfile(warehouse, copy)
    missing = ["marts.fct_entry_interest", "marts.fct_claim_status", "marts.fct_offsets", "reporting.rpt_key_figures"]
    with duckdb.connect(str(copy)) as con:
        for table in missing:
            con.execute(f"drop table {table}")
    report = build_run_report(copy, tmp_path / "out", {k: run[k] for k in ("run_id", "as_of", "status")})
    page = _parse(report)
    text = _text(page)
    for table in missing:
        assert f"Not built yet: {table} is not in the warehouse." in text, table
    sections = report.read_text(encoding="utf-8").split('id="tables"')[0]  # all but the appendix of tables
    assert "stg_ace__" not in sections, "no section reads staging in place of a mart"
    assert page.figures and set(page.figures.values()) == {"not built yet"}, page.figures
    assert page.figures["interest_owed_usd"] == "not built yet"
    assert page.headings == list(SECTIONS.values())
    assert "No check results were given" in text and "No export files were written" in text


def test_key_figures_of_another_day_say_so(built, tmp_path):
    """Figures the warehouse holds for another as_of than the run's are shown with a warning, not as the run's."""
    warehouse, _, run, _, _, _ = built
    other = (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=1)).isoformat()
    report = build_run_report(warehouse, tmp_path / "out", {**run, "as_of": other, "checks": [], "exports": []})
    text = _text(_parse(report))
    assert f"These figures are as of {AS_OF}, not this run's as_of date ({other})" in text


def test_no_check_is_ever_cut_off_and_the_gate_comes_first(built, tmp_path):
    warehouse, _, run, _, _, _ = built
    many = [{"name": f"check_{i:04d}", "passed": True, "asset": "marts/x"} for i in range(500)]
    many.append({"name": "a_failed_dbt_test", "passed": False, "blocking": True, "asset": "marts/y"})
    many.append({"name": "a_warning", "passed": False, "severity": "WARN", "asset": "marts/z"})
    many.append({"name": "the_gate", "passed": True, "blocking": True, "gate": True, "asset": "marts/p"})
    report = build_run_report(warehouse, tmp_path / "out", {**run, "checks": many})
    html = report.read_text(encoding="utf-8")
    text = _text(_parse(report))
    assert all(f"check_{i:04d}" in text for i in range(500)) and "more checks" not in text
    positions = [html.index(name) for name in ("the_gate", "a_failed_dbt_test", "a_warning", "check_0000")]
    assert positions == sorted(positions), "the gate, then failures, then warnings, then the checks that passed"
    assert "warning" in text and "FAILED" in text


def test_report_is_written_atomically(built, tmp_path, monkeypatch):
    warehouse, out_dir, run, _, report, _ = built
    # the run's folder holds its report and its log (refunds run), and no temporary file
    assert sorted(p.name for p in out_dir.iterdir() if p.is_file()) == ["run.log", REPORT_NAME]
    if os.name == "posix":
        assert report.stat().st_mode & 0o044 == 0o044, "readable by auditors, not only by the pipeline's user"
    # A crash at the rename leaves the previous report as it was, and no temporary file.
    target = tmp_path / "out"
    target.mkdir()
    (target / REPORT_NAME).write_text("previous report", encoding="utf-8")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(run_report_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        build_run_report(warehouse, target, run)
    assert [p.name for p in target.iterdir()] == [REPORT_NAME]
    assert (target / REPORT_NAME).read_text(encoding="utf-8") == "previous report"


def _png_pixels(path: Path) -> tuple[int, int, list[bytes], int]:
    """Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes): width, height, rows, bytes a pixel."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG file"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a, b = (line[i - bpp] if i >= bpp else 0), prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def test_report_renders_in_headless_chromium(built):
    _, _, _, _, report, root = built
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Chromium (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    shot = root / "run_report.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={root / 'chromium-profile'}",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        report.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 0, f"no screenshot: {done.returncode} {done.stderr[-2000:]}"
    width, height, rows, bpp = _png_pixels(shot)
    assert (width, height) == (1280, 2400)
    colours, inked = set(), 0
    for row in rows[::2]:
        pixels = [row[i : i + 3] for i in range(0, len(row), bpp)]
        colours.update(pixels)
        inked += sum(1 for p in pixels if p != b"\xff\xff\xff")
    assert len(colours) > 50, f"a blank page: {len(colours)} colours"
    assert inked > 0.03 * width * len(rows[::2]), "mostly white"
    # The charts were drawn: the fill of the 'eligible' bar is on the screen, as is the headings' colour.
    assert bytes.fromhex(STATUS_COLOURS["eligible"][1:]) in colours
    assert bytes.fromhex("1f3a5f") in colours


# ------------------------------------------------------------------------------------------- a run the gate stops

GATE_CHECKS = {
    "cape_export_candidates_valid",
    "eligibility_is_safe",
    "refundable_amounts_valid",
    "ledger_reconciles",
    "ledger_expectations",
}  # the gate table of docs/AUDITORS.md


def test_a_blocked_run_says_at_the_top_what_stopped_it_and_that_nothing_was_exported(blocked):
    report, damaged, _ = blocked
    html = report.read_text(encoding="utf-8")
    assert 'id="run-failed"' in html and html.index('id="run-failed"') < html.index('id="summary"'), "the banner first"
    banner = html[html.index('id="run-failed"') : html.index('id="summary"')]
    text = " ".join(_text(_parse_text(banner)).split())
    assert "Run FAILURE" in text
    for name in ("ledger_expectations", "ledger_reconciles", "ingest/file_ledger", "rows_present_match", damaged):
        assert name in text, name
    assert "No CAPE file was exported by this run" in text and "analysts' copy was not replaced" in text
    assert "ieepa_dbt_assets" in text and "export__cape_declaration_files" in text, "the steps not run are named"


def _parse_text(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _fits(browser: Browser) -> dict:
    """Widths at the browser's window: the page's, and the widest table's right edge."""
    return browser.evaluate(
        """({page: document.documentElement.scrollWidth, window: window.innerWidth,
            tables: Math.max(0, ...Array.from(document.querySelectorAll('table'))
                                     .map(t => t.getBoundingClientRect().right)),
            banner: (() => { const b = document.getElementById('run-failed');
                             return b ? {top: b.getBoundingClientRect().top, height: b.offsetHeight,
                                         background: getComputedStyle(b).backgroundColor} : null; })()})"""
    )


def test_the_reports_fit_a_laptop_screen_and_the_banner_shows_first(blocked, real_checks, tmp_path):
    report, _, _ = blocked
    real, checks = real_checks
    assert len(checks) > 100 and any(c["gate"] for c in checks), "the sample run's own checks, dbt tests and the gate"
    with Browser(tmp_path / "chromium", width=1366, height=900) as browser:
        browser.open(report.resolve().as_uri())
        blocked_page = _fits(browser)
        assert not [u for u in browser.requests if leaves_the_machine(u)]
        browser.screenshot(tmp_path / "blocked.png")
        browser.open(real.resolve().as_uri())
        real_page = _fits(browser)
        first_checks = browser.evaluate(
            "Array.from(document.querySelectorAll('table.checks')[0].querySelectorAll('tbody .check'))"
            ".map(c => c.textContent)"
        )
    for widths in (blocked_page, real_page):
        assert widths["window"] == 1366 and widths["page"] <= 1366 and widths["tables"] <= 1366, widths
    banner = blocked_page["banner"]
    assert banner and 0 <= banner["top"] < 900 and banner["height"] > 40, "on the first screen"
    assert banner["background"] == "rgb(251, 234, 234)"
    assert real_page["banner"] is None, "a run that succeeded has no banner"
    assert set(first_checks) == {c["name"] for c in checks if c["gate"]} and set(first_checks) <= GATE_CHECKS


# ------------------------------------------------------------------------------------- Data Docs and dbt docs offline


def test_data_docs_render_with_the_network_cut(built, tmp_path):
    _, _, _, docs, _, _ = built
    site = docs.parent
    pages = [
        docs,
        next(site.glob("validations/cape_export_candidates/**/*.html")),
        site / "expectations" / "ingest_ledger.html",
    ]
    with Browser(tmp_path / "chromium") as browser:
        for page in pages:
            browser.open(page.resolve().as_uri())
            assert not [u for u in browser.requests if leaves_the_machine(u)], page
            assert not browser.failed_requests, f"{page}: {browser.failed_requests}"
            seen = browser.evaluate(
                """({jquery: typeof window.jQuery, vega: typeof window.vegaEmbed,
                     navbar: getComputedStyle(document.querySelector('.navbar')).display,
                     font: getComputedStyle(document.body).fontFamily,
                     logo: document.querySelector('.navbar img').naturalWidth,
                     text: document.body.innerText})"""
            )
            icons = browser.evaluate("document.fonts.load('900 16px \"Font Awesome 6 Free\"').then(f => f.length)")
            # Bootstrap's stylesheet (a flex navbar, its system font stack), its scripts, the icons' font and the logo
            assert seen["jquery"] == "function" and seen["vega"] == "function", page
            assert seen["navbar"] == "flex" and seen["font"].startswith("-apple-system"), seen
            assert icons > 0 and seen["logo"] > 0, (page, icons, seen["logo"])
        assert "cape_export_candidates" in seen["text"] or "ingest_ledger" in seen["text"]
        browser.open(pages[1].resolve().as_uri())
        assert browser.evaluate("document.querySelectorAll('.bootstrap-table').length") > 0, "bootstrap-table ran"
        assert "entry_summary_number" in browser.evaluate("document.body.innerText")


def test_the_dbt_docs_site_is_written_by_the_run_and_reads_offline(built, tmp_path):
    page = docs_page(load_settings())
    assert page.exists() and not list(page.parent.glob(".*.tmp")), "written by the run's publish/dbt_docs step"
    sql = next((PROJECT_ROOT / "dbt_project" / "models").rglob("fct_entry_eligibility.sql")).read_text()
    parents = set(re.findall(r"ref\('([a-z0-9_]+)'\)", sql))
    with Browser(tmp_path / "chromium") as browser:
        browser.open(page.resolve().as_uri() + "#!/model/model.ieepa_refunds.fct_entry_eligibility", settle=3)
        assert not [u for u in browser.requests if leaves_the_machine(u)]
        text = browser.evaluate("document.body.innerText")
    assert "One row per entry (of fct_entry_refundable)" in text, "the model's description from its YAML"
    with duckdb.connect(str(built[0]), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                "and table_name = 'fct_entry_eligibility'"
            ).fetchall()
        )
    for column in ("eligibility_status", "ieepa_principal_amount", "protest_deadline"):
        assert column in text and types[column] in text, f"{column} and its type as built (the catalog)"
    depends = text[text.rindex("Depends On") :]
    assert parents and all(p in depends for p in parents), "the lineage: what the model is built from"


def test_refunds_docs_writes_the_site_of_a_warehouse(blocked, tmp_path, monkeypatch):
    _, _, warehouse = blocked
    monkeypatch.setenv("REFUNDS_REPORTS_DIR", str(tmp_path / "reports"))
    assert main(["docs", "--warehouse", str(warehouse)]) == 0
    page = tmp_path / "reports" / "dbt_docs" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "model.ieepa_refunds.fct_entry_eligibility" in html and '"CATALOG.JSON INLINE DATA"' not in html
    assert [p.name for p in page.parent.iterdir()] == ["index.html"]
    # A run rewrites the page only when the project or the warehouse changed (the fingerprint at its end).
    settings = dataclasses.replace(load_settings(), warehouse_path=warehouse.resolve())
    written_at = page.stat().st_mtime_ns
    assert build_dbt_docs(settings, only_if_changed=True) == (page, False)
    assert page.stat().st_mtime_ns == written_at
    page.write_text(re.sub(r"fingerprint: [0-9a-f]{64}", "fingerprint: " + "0" * 64, html), encoding="utf-8")
    assert build_dbt_docs(settings, only_if_changed=True) == (page, True)
    fingerprint = re.search(r"fingerprint: ([0-9a-f]{64}) -->\s*$", html).group(1)
    assert page.read_text(encoding="utf-8").rstrip().endswith(f"fingerprint: {fingerprint} -->"), "rewritten"
