"""The auditors' run report, on a warehouse built by the real daily job from the bundled sample.

The landing folder also gets a file with two unreadable rows (quarantined) and a file that is no ACE report
(refused), so every section has something to show. The report's key figures are compared with sums computed here
by independent SQL; the page is parsed, checked for anything that would need a network or a script, and rendered
in headless Chromium, whose screenshot is decoded here (zlib and struct only) to prove the page is not blank and
that the SVG charts were drawn.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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
from pipelines.reports import REPORT_NAME, build_run_report
from pipelines.reports import run_report as run_report_module
from pipelines.reports.run_report import SECTIONS, STATUS_COLOURS
from pipelines.settings import load_settings
from tests.conftest import ES003_HEADERS, PROJECT_ROOT, copy_sample_exports, csv_text, entry_number, es003_row, write

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
    started = dt.datetime.now(dt.UTC)
    args = ["run", "--input", str(landing), "--as-of", AS_OF, "--settle", "0", "--warehouse", str(warehouse)]
    assert main(args) == 0
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
    return warehouse, out_dir, run, docs, report, root


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
    warehouse, _, run, _, report, _ = built
    figures = _parse(report).figures
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
        (principal,) = one("select sum(ieepa_principal_amount) from marts.fct_entry_refundable")
        eligible, eligible_principal = one(
            "select count(*), sum(ieepa_principal_amount) from marts.fct_entry_eligibility where is_eligible"
        )
        (planned,) = one("select sum(ieepa_principal_amount) from marts.fct_declaration_plan")
        (interest,) = one("select sum(interest_cbp_daily_compound) from marts.fct_entry_interest")
        unexplained, unexplained_n = one(
            "select coalesce(sum(interest_variance_amount), 0), count(*) from marts.fct_entry_interest "
            "where variance_diagnosis = 'none_matches'"
        )
    assert kept == raw_rejected == 2 and refused == 1 and read == rows_loaded + kept
    assert planned == eligible_principal  # the same figure reached another way
    expected = {
        "files_loaded": f"{loaded:,}",
        "files_refused": f"{refused:,}",
        "rows_read": f"{read:,}",
        "rows_loaded": f"{rows_loaded:,}",
        "rows_quarantined": f"{kept:,}",
        "ieepa_principal": _money(principal),
        "eligible_entries": f"{eligible:,}",
        "eligible_principal": _money(eligible_principal),
        "interest_owed": _money(interest),
        "unexplained_variance": _money(unexplained),
        "unexplained_entries": f"{unexplained_n:,}",
    }
    assert {k: figures.get(k) for k in expected} == expected
    assert isinstance(principal, Decimal) and "," in figures["ieepa_principal"]


def test_sections_show_what_the_warehouse_holds(built):
    warehouse, _, run, _, report, _ = built
    text = _text(_parse(report))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reasons = [r[0] for r in con.execute("select distinct reason_code from quarantine.rejected_rows").fetchall()]
        statuses = [
            r[0] for r in con.execute("select distinct eligibility_status from marts.fct_entry_eligibility").fetchall()
        ]
        refusal = con.execute("select refusal_code from ingest.file_ledger where status = 'refused'").fetchone()[0]
        # the largest offset type, as the offsets mart has it (inferred and unidentified without an offset block)
        offset_type, offsets = con.execute(
            "select offset_type_code, sum(offset_amount) from marts.fct_offsets group by 1 order by 2 desc limit 1"
        ).fetchone()
    for expected in [*reasons, *statuses, refusal, REFUSED_FILE, offset_type, _money(offsets)]:
        assert expected in text, expected
    for x in run["exports"]:
        assert x["file_name"] in text and x["sha256"] in text
    assert "FAILED" in text and "refundable_amounts_valid" in text
    html = report.read_text(encoding="utf-8")
    assert html.count(">yes<") == len(run["exports"]) and ">NO<" not in html, "manifest and warehouse agree"


def test_a_mart_not_built_yet_is_said_not_failed(built, tmp_path):
    warehouse, _, run, _, _, _ = built
    copy = tmp_path / "older.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop table marts.fct_entry_interest")
    report = build_run_report(copy, tmp_path / "out", {k: run[k] for k in ("run_id", "as_of", "status")})
    page = _parse(report)
    text = _text(page)
    assert "Not built yet" in text and "marts.fct_entry_interest" in text
    assert page.figures["interest_owed"] == "not built yet"
    assert page.headings == list(SECTIONS.values())
    assert "No check results were given" in text and "No export files were written" in text


def test_a_failed_check_is_listed_even_past_the_list_limit(built, tmp_path):
    warehouse, _, run, _, _, _ = built
    many = [{"name": f"check_{i:04d}", "passed": True} for i in range(run_report_module.LIST_LIMIT + 50)]
    many.append({"name": "the_gate_that_failed", "passed": False, "failing_rows": 3})
    report = build_run_report(warehouse, tmp_path / "out", {**run, "checks": many})
    text = _text(_parse(report))
    assert "the_gate_that_failed" in text and "FAILED" in text
    assert "and 51 more checks" in text


def test_claim_status_and_offsets_marts_are_used_once_built(built, tmp_path):
    warehouse, _, run, _, _, _ = built
    copy = tmp_path / "newer.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            """
            create or replace table marts.fct_claim_status as
            select * from (values ('paid', date '2026-11-01', 10.00::decimal(18, 2)),
                                  ('accepted', date '2026-07-01', 20.00::decimal(18, 2)),
                                  ('accepted', null, 30.00::decimal(18, 2)))
                t(claim_status, accepted_date, principal_amount)
            """
        )
        con.execute(
            """
            create or replace table marts.fct_offsets as
            select * from (values ('TOP', 'RF1', 5.25::decimal(18, 2)), ('TOP', 'RF2', 1000.00::decimal(18, 2)))
                t(offset_type, refund_number, offset_amount)
            """
        )
    report = build_run_report(copy, tmp_path / "out", {k: run[k] for k in ("run_id", "as_of", "status")})
    text = _text(_parse(report))
    assert "Source: marts.fct_claim_status" in text and "Source: marts.fct_offsets" in text
    assert "claims: accepted" in text and "1,005.25" in text  # the offsets' total, from the mart
    assert "no age" in text  # the bucket appears when a row has no date to age from


def test_report_is_written_atomically(built, tmp_path, monkeypatch):
    warehouse, out_dir, run, _, report, _ = built
    assert sorted(p.name for p in out_dir.iterdir() if p.is_file()) == [REPORT_NAME], "no temporary file left"
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
