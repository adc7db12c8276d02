"""Loading landing files into the warehouse: inventory, per-file load, refusals and the ledger.

One file is loaded in one transaction: its raw rows, its quarantined rows and its ledger row commit together,
so a crash never leaves half a file, and rows read = rows loaded + rows quarantined holds for every file.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import errno
import hashlib
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.ingest import fingerprint_cache
from pipelines.ingest.archive import expand
from pipelines.ingest.files import (
    ARCHIVE_SUFFIXES,
    Header,
    LandingFile,
    display_name,
    excerpt,
    find_header,
    fingerprint,
    list_landing,
    open_regular,
    safe_text,
    unsupported,
    xlsx_to_csv,
)
from pipelines.ingest.headers import Match, Refusal, classify
from pipelines.ingest.limits import Limits
from pipelines.ingest.parse_sql import entry_check_sql, parse_expression
from pipelines.ingest.records import copy_records
from pipelines.settings import Settings
from pipelines.warehouse.layouts import REPORTS, Report

# Part of the layout fingerprint: when the rules that refuse files change, refused files are tried again.
INGEST_RULES_VERSION = 2


def layout_fingerprint(aliases: dict[str, dict[str, str]]) -> str:
    """Changes when the layouts, the alias table or the ingest rules change: refused files are then tried again."""
    text = repr((INGEST_RULES_VERSION, sorted((code, sorted(a.items())) for code, a in aliases.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_work_dir(settings: Settings, run_id: str) -> Path:
    """This run's scratch folder (unpacked archive members, the copies DuckDB reads); files leave it once used."""
    return settings.work_dir / ("run-" + "".join(ch for ch in run_id[:12] if ch.isalnum()))


def clear_old_work(settings: Settings, keep: Path) -> None:
    """Remove what earlier runs left in the work folder (a run that was killed), so nothing large piles up."""
    if not settings.work_dir.is_dir():
        return
    for entry in settings.work_dir.iterdir():
        if entry != keep:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------- inventory
@dataclass
class InventoryItem:
    file: LandingFile | None  # None for a folder
    name: str
    # new | already_loaded | duplicate_in_landing | already_refused | refused | deferred | archive | skipped
    status: str
    report_code: str | None = None
    reason: str | None = None


class _Inventory:
    """Walks the landing folder: every entry ends as one or more InventoryItems; refusals go to the ledger."""

    def __init__(self, con, settings: Settings, aliases, run_id: str, now: float):
        self.con, self.settings, self.aliases, self.run_id, self.now = con, settings, aliases, run_id, now
        self.fp = layout_fingerprint(aliases)
        self.loaded = {
            r[0] for r in con.execute("select file_sha256 from ingest.file_ledger where status = 'loaded'").fetchall()
        }
        self.refused = {
            r[0]
            for r in con.execute(
                "select file_sha256 from ingest.file_ledger where status = 'refused' and layout_fingerprint = $fp "
                "and refusal_code not in (select unnest($retried))",
                {"retried": list(RETRIED), "fp": self.fp},
            ).fetchall()
        }
        self.seen: set[str] = set()
        self.items: list[InventoryItem] = []
        self.cache = fingerprint_cache.FingerprintCache(con, settings.landing_fingerprint_cache, now)
        self.work = run_work_dir(settings, run_id)
        self.landing = settings.landing_dir.resolve()

    def entry(self, path: Path) -> None:
        name = display_name(path.name)
        try:
            st = path.lstat()
        except FileNotFoundError:
            return  # gone between the listing and now
        if stat.S_ISDIR(st.st_mode):
            self.items.append(
                InventoryItem(
                    None,
                    name,
                    "skipped",
                    reason="a folder: folders in the landing folder "
                    "are not read (put the files themselves, or a .zip, in it)",
                )
            )
            return
        read_path, what = path, None
        if stat.S_ISLNK(st.st_mode):
            target = Path(os.path.realpath(path))
            if target.is_relative_to(self.landing) and target.is_file():
                read_path = target
            else:
                what = Refusal(
                    "symlink",
                    "a symbolic link to something outside the landing folder: links are only "
                    "followed to files inside it; the target was not read",
                )
        elif not stat.S_ISREG(st.st_mode):
            what = Refusal("not_a_regular_file", "not a regular file (a pipe, socket or device): not read")
        if what is not None:
            self._consider(_stand_in(path, name, st), what)
            return
        try:
            self._file(path, read_path, name)
        except FileNotFoundError:
            return
        except Exception as exc:  # one file, whatever it does, never stops the others
            self._consider(_stand_in(path, name, st), Refusal("unreadable_file", f"cannot be read: {_error(exc)}"))

    def _file(self, path: Path, read_path: Path, name: str) -> None:
        before = os.stat(read_path)
        if self.now - before.st_mtime < self.settings.landing_settle_seconds:
            self.items.append(_deferred(name, before, "modified moments ago: it may still be being written"))
            return
        lf = self.cache.lookup(read_path, name, before)
        if lf is None:
            try:
                lf = fingerprint(read_path, name)
            except Refusal as refusal:
                self._consider(_stand_in(path, name, before), refusal)
                return
            after = os.stat(read_path)
            if (after.st_size, after.st_mtime) != (before.st_size, before.st_mtime):
                self.items.append(_deferred(name, after, "changed while it was being read: it is still being written"))
                return
            self.cache.remember(lf, before, after)
        if any("\udc80" <= ch <= "\udcff" for ch in path.name):
            # Names are stored as text: a name with bytes that are not UTF-8 could not be found again to load it.
            self._consider(lf, Refusal("bad_file_name", "the file name is not valid UTF-8: rename the file"))
            return
        self._consider(lf)

    def _consider(self, lf: LandingFile, refusal: Refusal | None = None) -> None:
        if lf.sha256 in self.loaded:
            self.items.append(InventoryItem(lf, lf.name, "already_loaded", reason="same content already loaded"))
            return
        if lf.sha256 in self.seen:
            self.items.append(
                InventoryItem(lf, lf.name, "duplicate_in_landing", reason="same content as another file in this run")
            )
            return
        self.seen.add(lf.sha256)
        if lf.sha256 in self.refused:
            self.items.append(InventoryItem(lf, lf.name, "already_refused", reason="refused before; rules unchanged"))
            return
        try:
            if refusal is not None:
                raise refusal
            refusal = unsupported(lf.name)
            if refusal is not None:
                raise refusal
            if Path(lf.name).suffix.lower() in ARCHIVE_SUFFIXES:
                self._archive(lf)
                return
            header = find_header(lf, self.settings, self.aliases)
            match = classify(header.cells, self.aliases, lf.name)
            self.items.append(InventoryItem(lf, lf.name, "new", match.report.code))
        except Refusal as exc:
            self._refuse(lf, exc)
        except Exception as exc:  # one file, whatever it does, never stops the others
            self._refuse(lf, Refusal("unreadable_file", f"cannot be read: {_error(exc)}"))

    def _archive(self, archive: LandingFile) -> None:
        members = expand(archive, self.work, Limits.of(self.settings))
        self.items.append(
            InventoryItem(
                archive,
                archive.name,
                "archive",
                reason=f"a ZIP archive of {len(members)} file(s): each has a row of its own",
            )
        )
        for m in members:
            self._consider(m.file, m.refusal)
            if self.items[-1].status != "new" and m.refusal is None:
                m.file.path.unlink(missing_ok=True)  # unpacked for nothing: never leave it in the work folder

    def _refuse(self, lf: LandingFile, refusal: Refusal) -> None:
        _record_refusal(self.con, lf, None, refusal, self.run_id, self.fp)
        self.items.append(InventoryItem(lf, lf.name, "refused", reason=f"{refusal.code}: {safe_text(str(refusal))}"))


def take_inventory(
    con: duckdb.DuckDBPyConnection, settings: Settings, aliases, run_id: str, now: float | None = None
) -> list[InventoryItem]:
    """Fingerprint and classify every landing file; record refusals in the ledger; write ingest.landing_inventory.

    A file whose stat is the one cached is not read again (``fingerprint_cache``). The refusals, the inventory
    and the cache commit together. An empty landing folder is a normal day: the table is written empty.
    """
    inventory = _Inventory(con, settings, aliases, run_id, time.time() if now is None else now)
    clear_old_work(settings, keep=inventory.work)
    con.execute("begin transaction")
    try:
        for path in list_landing(settings.landing_dir):
            inventory.entry(path)
        _write_inventory(con, inventory, run_id)
        inventory.cache.write(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return inventory.items


def _write_inventory(con, inventory: _Inventory, run_id: str) -> None:
    con.execute(
        "create or replace table ingest.landing_inventory (file_name varchar, file_path varchar, "
        "file_sha256 varchar, file_size_bytes bigint, file_modified_at timestamp, utf8 boolean, "
        "source_archive varchar, status varchar, report_code varchar, reason varchar, run_id varchar, "
        "taken_at timestamp)"
    )
    rows = [
        [
            i.name,
            _path_text(i),
            i.file.sha256 if i.file else None,
            i.file.size if i.file else None,
            i.file.modified_at if i.file else None,
            i.file.utf8 if i.file else None,
            i.file.source_archive if i.file else None,
            i.status,
            i.report_code,
            i.reason,
            run_id,
        ]
        for i in inventory.items
    ]
    if rows:
        con.executemany(
            "insert into ingest.landing_inventory values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)", rows
        )


def _path_text(item: InventoryItem) -> str | None:
    """The path the load step reads (exact) for a new file; for the others, the path as safe text."""
    if item.file is None or not str(item.file.path):
        return None
    return str(item.file.path) if item.status == "new" else display_name(str(item.file.path))


def _stand_in(path: Path, name: str, st) -> LandingFile:
    """A file that is not read (a link, a pipe, ...): a sha256 of its name, size and times stands for its content,
    so that its refusal is recorded once, not on every run (a chmod or a new target changes it)."""
    key = f"{os.fsencode(path.name)!r}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{stat.S_IFMT(st.st_mode)}"
    sha = hashlib.sha256(key.encode()).hexdigest()
    return LandingFile(path, name, sha, st.st_size, dt.datetime.fromtimestamp(st.st_mtime), False)


def _deferred(name: str, st, reason: str) -> InventoryItem:
    lf = LandingFile(Path(), name, "", st.st_size, dt.datetime.fromtimestamp(st.st_mtime), False)
    return InventoryItem(lf, name, "deferred", reason=reason)


def _record_refusal(con, lf: LandingFile, report_code, refusal: Refusal, run_id: str, fp: str) -> None:
    con.execute(
        """
        insert into ingest.file_ledger (load_id, file_sha256, file_name, file_size_bytes, file_modified_at,
          report_code, status, refusal_code, refusal_reason, rows_read, rows_loaded, rows_quarantined, loaded_at,
          run_id, layout_fingerprint, source_archive, refusal_excerpt)
        values (nextval('ingest.load_id_seq'), ?, ?, ?, ?, ?, 'refused', ?, ?, 0, 0, 0, current_timestamp, ?, ?, ?, ?)
        """,
        [
            lf.sha256,
            lf.name,
            lf.size,
            lf.modified_at,
            report_code,
            refusal.code,
            safe_text(str(refusal)),
            run_id,
            fp,
            lf.source_archive,
            excerpt(lf.head) if lf.head else None,
        ],
    )


def _error(exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return safe_text(f"{type(exc).__name__}: {first}", 200)


# ------------------------------------------------------------------------------------------ report loads
@dataclass
class FileLoad:
    file_name: str
    status: str  # loaded | refused | deferred
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


class FileChanged(Exception):
    """The file changed (or went) between the inventory and its load: it waits for the next run."""


# What DuckDB raises for a file it cannot read: the file is refused, the others load.
READ_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)
# Refusals that are not the file's fault alone: named in the ledger, and tried again on every run.
RETRIED = ("too_large_for_memory",)


def load_report(
    con: duckdb.DuckDBPyConnection, settings: Settings, aliases, report_code: str, run_id: str
) -> list[FileLoad]:
    """Load every file the current inventory classified as ``report_code``."""
    fp = layout_fingerprint(aliases)
    work = run_work_dir(settings, run_id)
    rows = con.execute(
        """
        select file_name, file_path, file_sha256, file_size_bytes, file_modified_at, utf8, source_archive
        from ingest.landing_inventory where status = 'new' and report_code = ? order by file_name
        """,
        [report_code],
    ).fetchall()
    results = []
    for name, file_path, sha, size, modified_at, utf8, archive in rows:
        lf = LandingFile(Path(file_path), name, sha, size, modified_at, utf8, b"", archive)
        try:
            lf = _unchanged(lf)
            header = find_header(lf, settings, aliases)
            match = classify(header.cells, aliases, lf.name)
            if match.report.code != report_code:
                raise FileChanged(f"now looks like {match.report.code}")
            results.append(load_file(con, settings, lf, header, match, run_id, fp, work))
        except FileChanged as exc:
            if archive is None:  # a cached fingerprint it no longer matches is not trusted again
                fingerprint_cache.forget(con, lf.path)
            con.execute(
                "update ingest.landing_inventory set status = 'deferred', reason = ? where file_name = ? "
                "and status = 'new'",
                [f"changed since the inventory ({exc}): loaded on the next run", name],
            )
            results.append(FileLoad(name, "deferred", reason=str(exc)))
        except (Refusal, *READ_ERRORS, duckdb.OutOfMemoryException, OSError) as exc:
            # A file that cannot be read is refused; the others load. Other errors (a bug of ours) are raised,
            # never turned into a refusal, and so is a full disk (the run's fault, not the file's).
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            if isinstance(exc, Refusal):
                refusal = exc
            elif isinstance(exc, duckdb.OutOfMemoryException):
                refusal = Refusal("too_large_for_memory", f"did not fit in duckdb_memory_limit: {_error(exc)}")
            else:
                refusal = Refusal("unreadable_file", f"could not be read: {_error(exc)}")
            _record_refusal(con, lf, report_code, refusal, run_id, fp)
            results.append(FileLoad(name, "refused", reason=f"{refusal.code}: {safe_text(str(refusal))}"))
        finally:
            for scratch in _scratch(work, lf):
                scratch.unlink(missing_ok=True)
            if archive is not None:
                lf.path.unlink(missing_ok=True)  # the unpacked member
    for folder in (work, settings.work_dir):  # gone once empty (members of other reports may still wait in it)
        with contextlib.suppress(OSError):
            folder.rmdir()
    return results


def _unchanged(lf: LandingFile) -> LandingFile:
    """The inventory's file, with its first bytes, if it still has the size and time the inventory saw."""
    try:
        with open_regular(lf.path) as f:
            st = os.fstat(f.fileno())
            head = f.read(256)
    except FileNotFoundError as exc:
        raise FileChanged("it is gone") from exc
    same_time = lf.source_archive is not None or dt.datetime.fromtimestamp(st.st_mtime) == lf.modified_at
    if st.st_size != lf.size or not same_time:
        raise FileChanged("its size or time differ")
    return dataclasses.replace(lf, head=head)


def _scratch(work: Path, lf: LandingFile) -> list[Path]:
    key = lf.sha256[:16]
    return [work / f"load-{key}.csv", work / f"cut-{key}.csv", work / f"sheet-{key}.csv"]


def literal_path(path: Path) -> str:
    """A path DuckDB reads as that one file: its glob characters bracketed ([*], [?], [[]), never expanded."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in str(path))


def load_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    lf: LandingFile,
    header: Header,
    match: Match,
    run_id: str,
    fp: str,
    work: Path,
) -> FileLoad:
    report = match.report
    n_cols = len(header.cells)
    copy_path, cut_path, sheet_path = _scratch(work, lf)
    work.mkdir(parents=True, exist_ok=True)
    source = lf.path if header.file_format == "csv" else xlsx_to_csv(lf, header.sheet, sheet_path, settings, n_cols)
    with open_regular(source) as src, copy_path.open("wb") as dst, cut_path.open("w", encoding="utf-8") as cuts:
        writer = csv.writer(cuts, lineterminator="\n")
        copied = copy_records(
            src,
            dst,
            header.line,
            n_cols,
            settings.max_record_bytes,
            "cp1252" if header.encoding == "cp1252" else None,
            lambda c: writer.writerow([c.line, c.reason_code, c.reason, excerpt(c.head, 200)]),
        )
    if header.file_format == "csv" and copied.sha256 != lf.sha256:
        raise FileChanged("its content differs")
    n_cut = copied.rows - copied.written
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_cols)) + ", '_line': 'BIGINT'}"
    con.execute("begin transaction")
    try:
        load_id = con.execute("select nextval('ingest.load_id_seq')").fetchone()[0]
        con.execute(
            f"""
            create or replace temp table _in as
            select * from read_csv($path, columns = {columns}, header = false, delim = ',', quote = '"',
                escape = '"', new_line = '\\n', auto_detect = false, ignore_errors = true,
                max_line_size = {settings.max_record_bytes + 1024}, store_rejects = true,
                rejects_table = '_rejects', rejects_scan = '_reject_scans')
            """,
            {"path": literal_path(copy_path)},
        )
        _check_reader(con, copied.written)
        _parse_into_temp(con, report, match, header)
        _insert_raw(con, report, match, load_id, lf)
        _insert_quarantine(con, report, load_id, lf, cut_path if n_cut else None)
        rows_loaded = con.execute("select count(*) from _parsed where errors = ''").fetchone()[0]
        rows_quarantined = con.execute(
            "select count(*) from quarantine.rejected_rows where load_id = ?", [load_id]
        ).fetchone()[0]
        if copied.rows != rows_loaded + rows_quarantined:  # guard: never commit a file that loses rows
            raise Refusal(
                "rows_do_not_reconcile",
                f"{copied.rows} rows in the file != {rows_loaded} loaded + {rows_quarantined} quarantined",
            )
        con.execute(
            """
            insert into ingest.file_ledger (load_id, file_sha256, file_name, file_size_bytes, file_modified_at,
              file_format, encoding, report_code, status, header_line, columns_missing, columns_ignored,
              rows_read, rows_loaded, rows_quarantined, loaded_at, run_id, layout_fingerprint, source_archive,
              layout_variant, detection_note)
            values (?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, current_timestamp, ?, ?, ?, ?, ?)
            """,
            [
                load_id,
                lf.sha256,
                lf.name,
                lf.size,
                lf.modified_at,
                header.file_format,
                header.encoding or "xlsx",
                report.code,
                header.line,
                match.missing_optional,
                [safe_text(h, 200) for h in match.ignored_headers],
                copied.rows,
                rows_loaded,
                rows_quarantined,
                run_id,
                fp,
                lf.source_archive,
                match.variant.name if match.variant else None,
                match.note,
            ],
        )
        _drop_temp(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        _drop_temp(con)
        raise
    return FileLoad(lf.name, "loaded", copied.rows, rows_loaded, rows_quarantined)


def _drop_temp(con) -> None:
    for t in ("_in", "_parsed", "_rejects", "_reject_scans"):
        con.execute(f"drop table if exists {t}")


def _check_reader(con, written: int) -> None:
    """DuckDB must account for every record the pass wrote, each once: a row, or a rejected line."""
    total, distinct, numbered = con.execute(
        """
        with seen as (
            select _line as line from _in
            union all
            select distinct try_cast(right(rtrim(csv_line, chr(10)), 12) as bigint) from _rejects
        )
        select count(*), count(distinct line), count(line) from seen
        """
    ).fetchone()
    if not total == distinct == numbered == written:
        raise Refusal(
            "reader_mismatch",
            f"the file holds {written:,} records but DuckDB's reader returned {total:,} (distinct lines "
            f"{distinct:,}): refused so that no row is lost",
        )


def _parse_into_temp(con, report: Report, match: Match, header: Header) -> None:
    """_parsed: one row per record DuckDB read: its line, typed values, errors, and (for bad rows) the record.

    Layered so that every field is parsed once: v (trimmed text) -> t (typed values) -> e (error list). The line is
    the one the record pass wrote after the record.
    """
    n_cols = len(header.cells)
    cols = [c for c in report.columns if c.name in match.positions]
    typed, codes, reasons = [], [], []
    for col in cols:
        v = f"v{match.positions[col.name]}"
        value, code, expected = parse_expression(col, v)
        typed.append(f"{value} as {col.name}")
        if col.not_null:
            codes.append(f"case when {v} is null then 'required_missing' end")
            reasons.append(f"case when {v} is null then '{col.header} is empty' end")
        if code:
            failed = f"{v} is not null and {col.name} is null"
            codes.append(f"case when {failed} then '{code}' end")
            reasons.append(f"case when {failed} then '{col.header}: ' || {v} || ' is not {expected}' end")
    checks = [f"{entry_check_sql(c.name)} as {c.name}_check" for c in cols if c.kind == "entry_number"]
    trimmed = ", ".join(f"nullif(trim(c{i}), '') as v{i}" for i in range(n_cols))
    raw_text = ", ".join(f"v{i}" for i in range(n_cols))
    # Errors as text (concat_ws drops NULL pieces): '' means the row is good. Cheaper than lists per row.
    error_codes = "concat_ws(',', " + ", ".join(codes or ["null::varchar"]) + ")"
    error_reasons = "concat_ws('; ', " + ", ".join(reasons or ["null::varchar"]) + ")"
    # The record of a refused row keeps the file's own header -> text; header text is bound, never pasted.
    record = "cast(json_object(" + ", ".join(f"$h{i}, v{i}" for i in range(n_cols)) + ") as varchar)"
    params = {f"h{i}": (h or f"column {i + 1}") for i, h in enumerate(header.cells)}
    con.execute(
        f"""
        create or replace temp table _parsed as
        with v as (select _line as line, {trimmed} from _in),
        t as (select line, {raw_text}, {", ".join(typed)} from v),
        e as (select *, {error_codes} as error_codes, {error_reasons} as errors from t)
        select line, {", ".join(c.name for c in cols)}{"".join(", " + c for c in checks)},
            error_codes, errors,
            case when errors <> '' then {record} end as record
        from e
        """,
        params,
    )


def _insert_raw(con, report: Report, match: Match, load_id: int, lf: LandingFile) -> None:
    cols = [c for c in report.columns if c.name in match.positions]
    names = [c.name for c in cols] + [f"{c.name}_check" for c in cols if c.kind == "entry_number"]
    con.execute(
        f"""
        insert into raw.{report.table} ({", ".join(names)}, _load_id, _file_sha256, _source_file, _source_line,
            _file_modified_at)
        select {", ".join(names)}, $load_id, $sha, $file, line, $mtime from _parsed where errors = ''
        """,
        {"load_id": load_id, "sha": lf.sha256, "file": lf.name, "mtime": lf.modified_at},
    )


def _insert_quarantine(con, report: Report, load_id: int, lf: LandingFile, cut_path: Path | None) -> None:
    """Rows refused by the parse, by DuckDB's reader (structure), and by the record pass (too long, too wide)."""
    params = {"load_id": load_id, "report": report.code, "file": lf.name}
    con.execute(
        """
        insert into quarantine.rejected_rows
        select $load_id, $report, $file, line, split_part(error_codes, ',', 1), errors, record
        from _parsed where errors <> ''
        """,
        params,
    )
    # The record pass wrote each record's line after it (a comma and 12 digits): read it, and cut it off.
    con.execute(
        """
        insert into quarantine.rejected_rows
        select $load_id, $report, $file, try_cast(right(text, 12) as bigint) as source_line, 'csv_structure',
            arg_min(error_type || ': ' || error_message, column_idx), left(any_value(text), -13)
        from (select *, rtrim(csv_line, chr(10)) as text from _rejects)
        group by source_line
        """,
        params,
    )
    if cut_path is not None:
        con.execute(
            """
            insert into quarantine.rejected_rows
            select $load_id, $report, $file, line, reason_code, reason, record
            from read_csv($path, columns = {'line': 'BIGINT', 'reason_code': 'VARCHAR', 'reason': 'VARCHAR',
                'record': 'VARCHAR'}, header = false, delim = ',', quote = '"', escape = '"', auto_detect = false)
            """,
            params | {"path": literal_path(cut_path)},
        )


# ----------------------------------------------------------------------------------------- reconciliation
def ledger_discrepancies(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Files whose ledger counts disagree with each other or with the rows actually in raw/quarantine."""
    raw_counts = " union all ".join(
        f"select _load_id as load_id, count(*) as n from raw.{r.table} group by 1" for r in REPORTS.values()
    )
    return con.execute(
        f"""
        with raw_rows as ({raw_counts}),
        kept as (select load_id, count(*) as n from quarantine.rejected_rows group by 1)
        select l.load_id, l.file_name, l.rows_read, l.rows_loaded, l.rows_quarantined,
            coalesce(r.n, 0) as rows_in_raw, coalesce(k.n, 0) as rows_in_quarantine
        from ingest.file_ledger l
        left join raw_rows r using (load_id)
        left join kept k using (load_id)
        where l.status = 'loaded' and (
            l.rows_read <> l.rows_loaded + l.rows_quarantined
            or l.rows_loaded <> coalesce(r.n, 0)
            or l.rows_quarantined <> coalesce(k.n, 0))
        order by l.load_id
        """
    ).fetchall()
