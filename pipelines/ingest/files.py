"""Landing files: what the folder holds, each file's fingerprint, and the header check made from a file's head.

File names are data. They are stored and shown escaped (``display_name``), and no reader ever receives one: DuckDB
reads a copy the pipeline names (``records.py``, ``load.py``). Files are opened without following links
(O_NOFOLLOW) and only when they are regular files, so a file swapped for a link or a pipe between the listing and
the read is refused, never followed or waited on. Whole-file work (hashing) streams in blocks; what a file is
(text or binary, which report) is decided from its head.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.headers import Refusal, looks_like_header
from pipelines.ingest.limits import Limits
from pipelines.ingest.records import head_records
from pipelines.settings import Settings

CSV_SUFFIXES = {".csv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
ARCHIVE_SUFFIXES = {".zip"}
SKIPPED_PREFIXES = (".", "~$")  # hidden files; Office's lock files (~$Book.xlsx) while a workbook is open
BLOCK = 1 << 20
BINARY_PROBE = 64 * 1024  # a NUL byte in the first 64 KiB: not a text export
READS = "CSV (.csv, .txt), Excel (.xlsx, .xlsm) and ZIP archives of them"
# What a file that is not an export often is, told by its first bytes, so the refusal can say so.
MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel .xls workbook (or another Office 97-2003 file)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xfe", "UTF-16 text (Excel's 'Unicode Text')"),
    (b"\xfe\xff", "UTF-16 text"),
)
UNSUPPORTED = {
    ".xls": "a legacy Excel .xls workbook: save it as .xlsx or CSV",
    ".gz": "a gzip-compressed file: unpack it, or send it as a .zip",
    ".tgz": "a compressed tar archive: unpack it, or send it as a .zip",
    ".7z": "a 7-Zip archive: unpack it, or send it as a .zip",
    ".rar": "a RAR archive: unpack it, or send it as a .zip",
    "": "a file without an extension: name it .csv, .xlsx or .zip if it is an export",
}


# ------------------------------------------------------------------------------------------ names and text
def display_name(name: str) -> str:
    """A file name as text safe to store and print: bytes that are not UTF-8 and control characters as escapes."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def safe_text(text: str, limit: int = 1000) -> str:
    """Text from a file or an error, made printable (escapes) and cut to ``limit`` characters."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text[:limit])
    return shown[:limit] + ("…" if len(shown) > limit or len(text) > limit else "")


def excerpt(data: bytes, limit: int = 60) -> str:
    """The first bytes of a file or record, escaped: what a refusal may show of the content, and no more."""
    return safe_text(data[: limit * 4].decode("utf-8", "backslashreplace"), limit)


# ---------------------------------------------------------------------------------------- the landing folder
def list_landing(landing_dir: Path) -> list[Path]:
    """Every entry of the landing folder (not recursive), in name order; hidden and Office lock files aside."""
    if not landing_dir.is_dir():
        return []
    with os.scandir(landing_dir) as entries:
        return sorted(Path(e.path) for e in entries if not e.name.startswith(SKIPPED_PREFIXES))


def scan_landing(landing_dir: Path) -> list[Path]:
    """The landing folder's entries that are not folders (what the sensor watches)."""
    out = []
    for p in list_landing(landing_dir):
        try:
            if not stat.S_ISDIR(p.lstat().st_mode):
                out.append(p)
        except FileNotFoundError:
            continue
    return out


def open_regular(path: Path):
    """Open a regular file for reading, never through a link and never blocking on a pipe or a device."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refusal("not_a_regular_file", "not a regular file (a pipe, socket or device): not read")
    return os.fdopen(fd, "rb")


# ------------------------------------------------------------------------------------------- fingerprints
@dataclass(frozen=True)
class LandingFile:
    path: Path  # where its bytes are read: the landing file, a link's target, or an unpacked archive member
    name: str  # as stored and shown: the file name, or "<archive>/<member>", escaped
    sha256: str
    size: int
    modified_at: dt.datetime
    utf8: bool  # the whole file decodes as UTF-8 (checked while hashing)
    head: bytes = b""  # its first bytes, for a refusal's excerpt
    source_archive: str | None = None
    from_cache: bool = False  # its fingerprint came from the fingerprint cache: the file was not read this run


class Hasher:
    """sha256, size and UTF-8 validity of a stream of blocks, and its first bytes."""

    def __init__(self):
        self.digest, self.size, self.head = hashlib.sha256(), 0, b""
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.utf8 = True

    def update(self, block: bytes) -> None:
        if self.size == 0:
            self.head = block[:256]
        self.digest.update(block)
        self.size += len(block)
        if self.utf8:
            try:
                self._utf8.decode(block)
            except UnicodeDecodeError:
                self.utf8 = False

    def finish(self) -> Hasher:
        if self.utf8:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self.utf8 = False
        return self


def fingerprint(path: Path, name: str) -> LandingFile:
    """sha256, size and UTF-8 validity in one streaming pass."""
    h = Hasher()
    with open_regular(path) as f:
        mtime = os.fstat(f.fileno()).st_mtime
        while block := f.read(BLOCK):
            h.update(block)
    h.finish()
    modified = dt.datetime.fromtimestamp(mtime)
    return LandingFile(path, name, h.digest.hexdigest(), h.size, modified, h.utf8, h.head)


def unsupported(name: str) -> Refusal | None:
    """The refusal of a file the pipeline does not read, told by its name; None for a CSV, workbook or archive."""
    suffix = Path(name).suffix.lower()
    if suffix in CSV_SUFFIXES | XLSX_SUFFIXES | ARCHIVE_SUFFIXES:
        return None
    what = UNSUPPORTED.get(suffix, f"a {suffix} file")
    return Refusal("unsupported_file_type", f"{what}; the pipeline reads {READS}")


# ------------------------------------------------------------------------------------------ the header check
@dataclass(frozen=True)
class Header:
    file_format: str  # csv | xlsx
    encoding: str | None  # utf-8 | utf-8-sig | cp1252 (of a CSV file)
    line: int  # 1-based line (record) of the header row
    cells: list[str]
    sheet: str | None = None  # the workbook sheet that holds it


def find_header(lf: LandingFile, settings: Settings, aliases) -> Header:
    """The header row of a known report in the file's first ``header_search_lines`` lines; else a Refusal.

    Only the head is read: a large binary or a file of one huge line is refused without being read whole.
    """
    if lf.size == 0:
        raise Refusal("empty_file", "the file is empty (0 bytes)")
    search_lines = settings.header_search_lines
    if Path(lf.name).suffix.lower() in XLSX_SUFFIXES:
        return _xlsx_header(lf, settings, aliases)
    with open_regular(lf.path) as f:
        _refuse_binary(f.read(BINARY_PROBE))
        f.seek(0)
        head = head_records(f, settings.max_record_bytes, search_lines)
    encoding = ("utf-8-sig" if lf.head.startswith(codecs.BOM_UTF8) else "utf-8") if lf.utf8 else "cp1252"
    rows = [_cells(r, lf.utf8) if r is not None else None for _, r in head]
    if all(row is not None and not any(c.strip() for c in row) for row in rows):
        raise Refusal("empty_file", f"the file has no text in its first {search_lines} lines (only blank lines)")
    for (line, _), row in zip(head, rows, strict=True):
        if row is not None and looks_like_header(row, aliases):
            return Header("csv", encoding, line, [c.strip().lstrip("\ufeff") for c in row])
    raise Refusal("no_header", f"no header row of a known ACE report in the first {search_lines} lines")


def _refuse_binary(probe: bytes) -> None:
    for magic, what in MAGIC:
        if probe.startswith(magic):
            raise Refusal("not_a_csv_file", f"holds {what}, not CSV text")
    if b"\x00" in probe:
        raise Refusal(
            "binary_file", f"holds binary data (a NUL byte in its first {BINARY_PROBE // 1024} KiB), not CSV text"
        )


def _cells(record: bytes, utf8: bool) -> list[str]:
    text = record.decode("utf-8", "replace") if utf8 else record.decode("cp1252", "latin1_fallback")
    with _field_size_limit(max(len(text), csv.field_size_limit())):
        try:
            return next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error:  # not a well-formed CSV row: not a header
            return [text]


@contextmanager
def _field_size_limit(n: int):
    """Python's csv module refuses fields over 131,072 characters; a head record is already bounded by the
    record limit, so lift it for the time of one parse."""
    old = csv.field_size_limit(n)
    try:
        yield
    finally:
        csv.field_size_limit(old)


# ------------------------------------------------------------------------------------------ Excel workbooks
def _xlsx_header(lf: LandingFile, settings: Settings, aliases) -> Header:
    """The first sheet (preferred names first) whose first ``header_search_lines`` rows hold a known header."""
    sheet_names, search_lines = settings.xlsx_sheet_names, settings.header_search_lines
    with _workbook(lf, settings) as wb:
        ordered = [n for n in sheet_names if n in wb.sheetnames] + [n for n in wb.sheetnames if n not in sheet_names]
        for name in ordered:
            rows = itertools.islice(wb[name].iter_rows(values_only=True), search_lines)
            for i, row in enumerate(rows, start=1):
                cells = [_cell_text(v) for v in row]
                if looks_like_header(cells, aliases):
                    return Header("xlsx", None, i, [c.strip() for c in cells], name)
        sheets = ", ".join(safe_text(n, 40) for n in wb.sheetnames[:10])
    raise Refusal("no_header", f"no sheet holds a header row of a known ACE report (sheets: {sheets})")


def xlsx_to_csv(lf: LandingFile, sheet: str, out: Path, settings: Settings, width: int) -> Path:
    """The sheet written as UTF-8 CSV (one line per row, dates as ISO text, numbers as their shortest text), so
    the record pass and DuckDB read it as they read CSV exports. openpyxl streams it (read-only mode).

    Excel stores no cell for an empty one, so a row whose last cells are empty comes back short: every row is
    written ``width`` (the header's) cells wide, empty cells past it dropped, so DuckDB sees whole records."""
    with _workbook(lf, settings) as wb, out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        for row in wb[sheet].iter_rows(values_only=True):
            cells = [_cell_text(v) for v in row]
            while len(cells) > width and not cells[-1]:
                cells.pop()
            writer.writerow(cells + [""] * (width - len(cells)))
    return out


def _check_workbook(limits: Limits, zf) -> None:
    """A workbook's parts pass the archive limits before openpyxl opens it."""
    limits.check_archive(zf, "workbook")
    for info in zf.infolist():
        refusal = limits.check_member(info)
        if refusal is not None:
            raise Refusal(refusal.code, f"workbook part {display_name(info.filename)}: {refusal}")


@contextmanager
def _workbook(lf: LandingFile, settings: Settings):
    """The workbook, opened read-only after its parts passed the archive limits (an .xlsx is a ZIP archive)."""
    import zipfile

    import openpyxl

    with open_regular(lf.path) as f:
        try:
            _check_workbook(Limits.of(settings), zipfile.ZipFile(f))
            f.seek(0)
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Refusal:
            raise
        except Exception as exc:  # corrupt, or not really a workbook
            raise Refusal("unreadable_file", f"cannot be opened as an Excel workbook: {_error(exc)}") from exc
        try:
            yield wb
        except (Refusal, OSError):
            raise
        except Exception as exc:  # a sheet that cannot be parsed
            raise Refusal("unreadable_file", f"cannot be read as an Excel workbook: {_error(exc)}") from exc
        finally:
            wb.close()


def _error(exc: BaseException) -> str:
    return safe_text(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 200)


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
