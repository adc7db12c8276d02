"""Loading landing files into the warehouse: inventory, per-file load, refusals and the ledger.

One file is loaded in one transaction: its raw rows, its quarantined rows and its ledger row commit together,
so a crash never leaves half a file, and rows read = rows loaded + rows quarantined holds for every file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.ingest.files import LandingFile, PreparedFile, fingerprint, prepare, scan_landing
from pipelines.ingest.headers import Match, Refusal, classify
from pipelines.ingest.layouts import REPORTS, Report
from pipelines.ingest.parse_sql import entry_check_sql, parse_expression
from pipelines.ingest.schema import ensure_warehouse
from pipelines.settings import Settings


class WarehouseLockedError(RuntimeError):
    pass


def open_warehouse(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the pipeline's warehouse, with a clear message when another process holds its lock."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(settings.warehouse_path),
            read_only=read_only,
            config={"memory_limit": settings.duckdb_memory_limit, "threads": settings.duckdb_threads},
        )
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"the warehouse {settings.warehouse_path} is in use by another process ({exc}). "
                "Close the other DuckDB session (analysts should use the published copy), or wait for the "
                "running pipeline to finish, then run again."
            ) from exc
        raise
    if not read_only:
        ensure_warehouse(con)
    return con


def layout_fingerprint(aliases: dict[str, dict[str, str]]) -> str:
    """Changes when the layouts or the alias table change: refused files are then tried again."""
    text = repr(sorted((code, sorted(a.items())) for code, a in aliases.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------- inventory
@dataclass
class InventoryItem:
    file: LandingFile
    status: str  # new | already_loaded | duplicate_in_landing | refused | deferred
    report_code: str | None = None
    reason: str | None = None


def take_inventory(
    con: duckdb.DuckDBPyConnection, settings: Settings, aliases, run_id: str, now: float | None = None
) -> list[InventoryItem]:
    """Fingerprint and classify every landing file; record refusals in the ledger; write ingest.landing_inventory."""
    now = time.time() if now is None else now
    fp = layout_fingerprint(aliases)
    loaded = {
        r[0] for r in con.execute("select file_sha256 from ingest.file_ledger where status = 'loaded'").fetchall()
    }
    refused = {
        r[0]
        for r in con.execute(
            "select file_sha256 from ingest.file_ledger where status = 'refused' and layout_fingerprint = ?", [fp]
        ).fetchall()
    }
    items: list[InventoryItem] = []
    seen: set[str] = set()
    for path in scan_landing(settings.landing_dir):
        before = path.stat()
        if now - before.st_mtime < settings.landing_settle_seconds:
            items.append(_deferred(path, before, "modified moments ago: it may still be being written"))
            continue
        lf = fingerprint(path)
        after = path.stat()
        if (after.st_size, after.st_mtime) != (before.st_size, before.st_mtime):
            items.append(_deferred(path, after, "changed while it was being read: it is still being written"))
            continue
        if lf.sha256 in loaded:
            items.append(InventoryItem(lf, "already_loaded", reason="same content already loaded"))
            continue
        if lf.sha256 in seen:
            items.append(InventoryItem(lf, "duplicate_in_landing", reason="same content as another file in this run"))
            continue
        seen.add(lf.sha256)
        if lf.sha256 in refused:
            items.append(InventoryItem(lf, "already_refused", reason="refused before; header aliases unchanged"))
            continue
        try:
            prepared = prepare(lf, settings.work_dir, settings.xlsx_sheet_names, settings.header_search_lines, aliases)
            match = classify(prepared.headers, aliases, lf.path.name)
            items.append(InventoryItem(lf, "new", match.report.code))
        except Refusal as refusal:
            _record_refusal(con, lf, None, refusal, run_id, fp)
            items.append(InventoryItem(lf, "refused", reason=f"{refusal.code}: {refusal}"))
    con.execute(
        "create or replace table ingest.landing_inventory (file_name varchar, file_path varchar, "
        "file_sha256 varchar, file_size_bytes bigint, status varchar, report_code varchar, reason varchar, "
        "run_id varchar, taken_at timestamp)"
    )
    con.executemany(
        "insert into ingest.landing_inventory values (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [
            [i.file.path.name, str(i.file.path), i.file.sha256, i.file.size, i.status, i.report_code, i.reason, run_id]
            for i in items
        ],
    )
    return items


def _deferred(path: Path, stat, reason: str) -> InventoryItem:
    lf = LandingFile(path, "", stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime), False)
    return InventoryItem(lf, "deferred", reason=reason)


def _record_refusal(con, lf: LandingFile, report_code, refusal: Refusal, run_id: str, fp: str) -> None:
    con.execute(
        """
        insert into ingest.file_ledger (load_id, file_sha256, file_name, file_size_bytes, file_modified_at,
          report_code, status, refusal_code, refusal_reason, rows_read, rows_loaded, rows_quarantined, loaded_at,
          run_id, layout_fingerprint)
        values (nextval('ingest.load_id_seq'), ?, ?, ?, ?, ?, 'refused', ?, ?, 0, 0, 0, current_timestamp, ?, ?)
        """,
        [lf.sha256, lf.path.name, lf.size, lf.modified_at, report_code, refusal.code, str(refusal), run_id, fp],
    )


# ------------------------------------------------------------------------------------------ report loads
@dataclass
class FileLoad:
    file_name: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def load_report(
    con: duckdb.DuckDBPyConnection, settings: Settings, aliases, report_code: str, run_id: str
) -> list[FileLoad]:
    """Load every file the current inventory classified as ``report_code``."""
    fp = layout_fingerprint(aliases)
    rows = con.execute(
        "select file_path from ingest.landing_inventory where status = 'new' and report_code = ? order by file_name",
        [report_code],
    ).fetchall()
    results = []
    for (file_path,) in rows:
        lf = fingerprint(Path(file_path))
        try:
            prepared = prepare(lf, settings.work_dir, settings.xlsx_sheet_names, settings.header_search_lines, aliases)
            match = classify(prepared.headers, aliases, lf.path.name)
            if match.report.code != report_code:
                raise Refusal("changed", f"the file changed since the inventory (now {match.report.code})")
            results.append(load_file(con, lf, prepared, match, run_id, fp))
        except Refusal as refusal:
            _record_refusal(con, lf, report_code, refusal, run_id, fp)
            results.append(FileLoad(lf.path.name, "refused", reason=f"{refusal.code}: {refusal}"))
        except (duckdb.IOException, duckdb.InvalidInputException) as exc:
            # A file DuckDB cannot read at all (e.g. an encoding error in a field) is refused; the others load.
            # Other errors (a bug of ours) are raised, never turned into a refusal.
            con.execute("rollback") if _in_transaction(con) else None
            refusal = Refusal("unreadable_file", f"DuckDB could not read the file: {str(exc).splitlines()[0]}")
            _record_refusal(con, lf, report_code, refusal, run_id, fp)
            results.append(FileLoad(lf.path.name, "refused", reason=f"{refusal.code}: {refusal}"))
        finally:
            _clean_work(settings, lf, prepared if "prepared" in locals() else None)
    return results


def _in_transaction(con) -> bool:
    try:
        con.execute("begin transaction")
    except duckdb.TransactionException:
        return True
    con.execute("rollback")
    return False


def _clean_work(settings: Settings, lf: LandingFile, prepared: PreparedFile | None) -> None:
    if prepared is not None and prepared.csv_path != lf.path and prepared.csv_path.parent == settings.work_dir:
        prepared.csv_path.unlink(missing_ok=True)


def load_file(
    con: duckdb.DuckDBPyConnection, lf: LandingFile, prepared: PreparedFile, match: Match, run_id: str, fp: str
) -> FileLoad:
    report = match.report
    n_cols = len(prepared.headers)
    header_line = prepared.header_index + 1  # 1-based line of the header in the file
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_cols)) + "}"
    con.execute("begin transaction")
    try:
        load_id = con.execute("select nextval('ingest.load_id_seq')").fetchone()[0]
        con.execute(
            f"""
            create or replace temp table _in as
            select * from read_csv($path, columns = {columns}, header = true, skip = {prepared.header_index},
                delim = ',', quote = '"', escape = '"', auto_detect = false, ignore_errors = true,
                store_rejects = true, rejects_table = '_rejects', rejects_scan = '_reject_scans')
            """,
            {"path": str(prepared.csv_path)},
        )
        n_rejects = con.execute("select count(distinct line) from _rejects").fetchone()[0]
        _parse_into_temp(con, report, match, prepared, header_line, n_rejects > 0)
        _insert_raw(con, report, match, load_id, lf)
        _insert_quarantine(con, report, load_id, lf)
        rows_read = con.execute("select count(*) from _in").fetchone()[0] + n_rejects
        rows_loaded = con.execute("select count(*) from _parsed where errors = ''").fetchone()[0]
        rows_quarantined = con.execute(
            "select count(*) from quarantine.rejected_rows where load_id = ?", [load_id]
        ).fetchone()[0]
        if rows_read != rows_loaded + rows_quarantined:  # guard: never commit a file that loses rows
            raise RuntimeError(f"{lf.path.name}: {rows_read} read != {rows_loaded} loaded + {rows_quarantined} kept")
        con.execute(
            """
            insert into ingest.file_ledger (load_id, file_sha256, file_name, file_size_bytes, file_modified_at,
              file_format, encoding, report_code, status, header_line, columns_missing, columns_ignored,
              rows_read, rows_loaded, rows_quarantined, loaded_at, run_id, layout_fingerprint, layout_variant,
              detection_note)
            values (?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, current_timestamp, ?, ?, ?, ?)
            """,
            [
                load_id,
                lf.sha256,
                lf.path.name,
                lf.size,
                lf.modified_at,
                prepared.file_format,
                prepared.encoding,
                report.code,
                header_line,
                match.missing_optional,
                match.ignored_headers,
                rows_read,
                rows_loaded,
                rows_quarantined,
                run_id,
                fp,
                match.variant.name if match.variant else None,
                match.note,
            ],
        )
        for t in ("_in", "_parsed", "_rejects", "_reject_scans"):
            con.execute(f"drop table if exists {t}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        for t in ("_in", "_parsed", "_rejects", "_reject_scans"):
            con.execute(f"drop table if exists {t}")
        raise
    return FileLoad(lf.path.name, "loaded", rows_read, rows_loaded, rows_quarantined)


def _parse_into_temp(con, report: Report, match: Match, prepared: PreparedFile, header_line: int, has_rejects) -> None:
    """_parsed: one row per record DuckDB read: its line, typed values, errors, and (for bad rows) the record.

    Layered so that every field is parsed once: v (trimmed text) -> t (typed values) -> e (error list).
    """
    n_cols = len(prepared.headers)
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
    first = con.execute("select min(rowid) from _in").fetchone()[0] or 0
    if has_rejects:
        # DuckDB skipped the rejected records: the k-th good record sits after the rejects that precede it.
        line = (
            f"{header_line} + k + (select count(*) from (select line - {header_line} - row_number() over "
            f"(order by line) as good_before from (select distinct line from _rejects)) r where r.good_before < k)"
        )
    else:
        line = f"{header_line} + k"
    # rowids of one insert are consecutive and in file order (DuckDB preserves insertion order).
    trimmed = ", ".join(f"nullif(trim(c{i}), '') as v{i}" for i in range(n_cols))
    raw_text = ", ".join(f"v{i}" for i in range(n_cols))
    # Errors as text (concat_ws drops NULL pieces): '' means the row is good. Cheaper than lists per row.
    error_codes = "concat_ws(',', " + ", ".join(codes or ["null::varchar"]) + ")"
    error_reasons = "concat_ws('; ', " + ", ".join(reasons or ["null::varchar"]) + ")"
    # The record of a refused row keeps the file's own header -> text; header text is bound, never pasted.
    record = "cast(json_object(" + ", ".join(f"$h{i}, v{i}" for i in range(n_cols)) + ") as varchar)"
    params = {f"h{i}": (h or f"column {i + 1}") for i, h in enumerate(prepared.headers)}
    con.execute(
        f"""
        create or replace temp table _parsed as
        with v as (select rowid - {first} + 1 as k, {trimmed} from _in),
        t as (select k, {raw_text}, {", ".join(typed)} from v),
        e as (select *, {error_codes} as error_codes, {error_reasons} as errors from t)
        select {line} as line, {", ".join(c.name for c in cols)}{"".join(", " + c for c in checks)},
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
        {"load_id": load_id, "sha": lf.sha256, "file": lf.path.name, "mtime": lf.modified_at},
    )


def _insert_quarantine(con, report: Report, load_id: int, lf: LandingFile) -> None:
    params = {"load_id": load_id, "report": report.code, "file": lf.path.name}
    con.execute(
        """
        insert into quarantine.rejected_rows
        select $load_id, $report, $file, line, split_part(error_codes, ',', 1), errors, record
        from _parsed where errors <> ''
        """,
        params,
    )
    con.execute(
        """
        insert into quarantine.rejected_rows
        select $load_id, $report, $file, line, 'csv_structure',
            arg_min(error_type || ': ' || error_message, column_idx),
            trim(any_value(csv_line), chr(10) || chr(13))
        from _rejects group by line
        """,
        params,
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
