"""Landing files: find them, fingerprint them, and turn each into a UTF-8 CSV DuckDB can read with fixed options.

Everything here works on whole files (streamed in blocks); rows are parsed by DuckDB, never in Python.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.headers import Refusal, looks_like_header

CSV_SUFFIXES = {".csv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
BLOCK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    path: Path
    sha256: str
    size: int
    modified_at: dt.datetime
    utf8: bool  # the whole file decodes as UTF-8 (checked while hashing)


def scan_landing(landing_dir: Path) -> list[Path]:
    """Report files in the landing folder (not recursive), in name order; hidden and Office lock files skipped."""
    if not landing_dir.exists():
        return []
    return sorted(
        p
        for p in landing_dir.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in CSV_SUFFIXES | XLSX_SUFFIXES
    )


def fingerprint(path: Path) -> LandingFile:
    """sha256 and UTF-8 validity in one streaming pass."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    stat = path.stat()
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return LandingFile(path, digest.hexdigest(), stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime), utf8)


@dataclass(frozen=True)
class PreparedFile:
    csv_path: Path  # UTF-8 CSV that DuckDB reads
    file_format: str  # csv | xlsx
    encoding: str  # of the original file
    header_index: int  # 0-based line of the header row in csv_path
    headers: list[str]


def prepare(lf: LandingFile, work_dir: Path, sheet_names: tuple[str, ...], search_lines: int, aliases) -> PreparedFile:
    """A UTF-8 CSV for DuckDB, the header row's position and its cells; Refusal when there is nothing to read."""
    if lf.size == 0:
        raise Refusal("empty_file", "the file is empty (0 bytes)")
    suffix = lf.path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        csv_path, encoding, fmt = _xlsx_to_csv(lf.path, work_dir, sheet_names, search_lines, aliases), "xlsx", "xlsx"
    else:
        fmt = "csv"
        with lf.path.open("rb") as f:
            has_bom = f.read(3) == codecs.BOM_UTF8
        if lf.utf8:
            csv_path, encoding = lf.path, "utf-8-sig" if has_bom else "utf-8"
        else:
            # Excel's "CSV" on Windows writes Windows-1252. DuckDB reads UTF-8 (latin-1 differs in 0x80-0x9F), so
            # transcode the file once, streaming.
            csv_path, encoding = _transcode(lf.path, work_dir), "cp1252"
    head = _head_rows(csv_path, search_lines)
    if not any(any(c.strip() for c in row) for row in head):
        raise Refusal("empty_file", "the file has no text (only blank lines)")
    for i, row in enumerate(head):
        if looks_like_header(row, aliases):
            return PreparedFile(csv_path, fmt, encoding, i, [c.strip().lstrip("\ufeff") for c in row])
    raise Refusal(
        "no_header",
        f"no header row of a known ACE report in the first {search_lines} lines "
        f"(first line: {', '.join(head[0][:6]) if head else ''!r})",
    )


def _head_rows(csv_path: Path, n: int) -> list[list[str]]:
    with csv_path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        rows = []
        for row in csv.reader(io.StringIO("".join(_first_lines(f, n * 4)))):
            rows.append(row)
            if len(rows) >= n:
                break
        return rows


def _first_lines(f, n: int) -> list[str]:
    out = []
    for line in f:
        out.append(line)
        if len(out) >= n:
            break
    return out


def _transcode(path: Path, work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    out = work_dir / f"{path.stem}.utf8.csv"
    # cp1252 leaves 5 byte values undefined; those (rare) bytes fall back to latin-1 so nothing is lost.
    with (
        path.open("r", encoding="cp1252", errors="latin1_fallback", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        shutil.copyfileobj(src, dst, BLOCK)
    return out


def _latin1_fallback(err: UnicodeDecodeError):
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("latin1_fallback", _latin1_fallback)


def _xlsx_to_csv(path: Path, work_dir: Path, sheet_names: tuple[str, ...], search_lines: int, aliases) -> Path:
    """The first sheet (preferred names first) that holds a known header, written as UTF-8 CSV.

    openpyxl streams the workbook in read-only mode; Excel caps a sheet at 1,048,576 rows, so this stays small
    next to CSV exports. Dates become ISO text, numbers their shortest exact text, so DuckDB parses them as it
    parses CSV exports.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # corrupt or not really a workbook
        raise Refusal("unreadable_file", f"cannot be opened as an Excel workbook: {exc}") from exc
    try:
        ordered = [n for n in sheet_names if n in wb.sheetnames] + [n for n in wb.sheetnames if n not in sheet_names]
        for name in ordered:
            ws = wb[name]
            rows = itertools.islice(ws.iter_rows(values_only=True), search_lines)
            head = [[_cell_text(v) for v in row] for row in rows]
            if not any(looks_like_header(r, aliases) for r in head):
                continue
            work_dir.mkdir(parents=True, exist_ok=True)
            out = work_dir / f"{path.stem}.{_safe(name)}.csv"
            # Excel stores no cell for an empty one: a row whose last cells are empty comes back short. Every row
            # is written as wide as the header (empty cells past it dropped), so DuckDB sees whole records.
            width = max(len(r) for r in head if looks_like_header(r, aliases))
            with out.open("w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, lineterminator="\n")
                for row in ws.iter_rows(values_only=True):
                    cells = [_cell_text(v) for v in row]
                    while len(cells) > width and not cells[-1]:
                        cells.pop()
                    writer.writerow(cells + [""] * (width - len(cells)))
            return out
    finally:
        wb.close()
    raise Refusal("no_header", f"no sheet holds a header row of a known ACE report (sheets: {wb.sheetnames})")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v))
    return str(v)
