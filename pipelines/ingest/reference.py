"""User-kept reference files under data/reference/: importer profiles and entry flags.

Each file is small and edited by hand, so a wrong value stops the load with the file and line named (nothing
half-loaded: one transaction). Columns are found by header name (case, spaces, punctuation and a "(Y/N)"
suffix ignored). Whether each file was present is recorded in ingest.reference_files: a rule whose input file
is absent yields "unknown" downstream, never "pass".
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from pipelines.ingest.headers import normalise

YES = "('Y', 'YES', 'TRUE', '1', 'X')"
_DATE = "cast(coalesce(try_strptime({0}, '%Y-%m-%d'), try_strptime({0}, '%m/%d/%Y')) as date)"
YES_NO = "('Y', 'N', 'YES', 'NO', 'TRUE', 'FALSE', '1', '0', 'X', '')"

PROFILE_COLUMNS = {  # name: required
    "importer_number": True,
    "importer_name": False,
    "is_corporate": True,
    "ach_enrolled": False,
    "form_4811_payee_number": False,
    "allowed_filer_codes": False,
    # CAPE Phase 3 (finally liquidated entries), reportedly only for importers who sued (UNVERIFIED): the date from
    # which this importer may file them; empty = off (the default)
    "phase3_from": False,
}

FLAG_COLUMNS = {
    "entry_number": True,
    "drawback_claim": False,  # a drawback claim is associated with the entry
    "protest_status": False,  # Open | Suspended | Closed
    "adcvd_pending": False,  # AD/CVD entry pending liquidation
    "psc_pending": False,  # a post-summary correction is pending
    "recon_type09_filed": False,  # a type 09 reconciliation entry has been filed for the flagged entry
    "note": False,
}


def _columns(path: Path, spec: dict[str, bool]) -> str:
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    known = {normalise(c): c for c in spec}
    names = [
        known.get(normalise(h.replace("(Y/N)", "").replace("(y/n)", "")), f"ignored_{i}") for i, h in enumerate(header)
    ]
    missing = [c for c, required in spec.items() if required and c not in names]
    if missing:
        raise ValueError(f"{path}: the header lacks column(s) {missing}; expected {list(spec)}")
    return "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"


def _read(con: duckdb.DuckDBPyConnection, path: Path, spec: dict[str, bool]) -> None:
    """Temp table _ref: the file's rows as text with their line (header = line 1); absent optional columns NULL."""
    con.execute(
        f"""
        create or replace temp table _ref_in as
        select * from read_csv($p, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
            columns = {_columns(path, spec)})
        """,
        {"p": str(path)},
    )
    present = {r[0] for r in con.execute("select column_name from (describe _ref_in)").fetchall()}
    cols = ", ".join(f"nullif(trim({c}), '') as {c}" if c in present else f"null::varchar as {c}" for c in spec)
    # rowids follow the file's order (DuckDB preserves insertion order)
    con.execute(
        f"create or replace temp table _ref as select row_number() over (order by rowid) + 1 as line, {cols} "
        "from _ref_in"
    )


def _fail_on(con, path: Path, sql: str, what: str) -> None:
    bad = con.execute(sql).fetchall()
    if bad:
        raise ValueError(f"{path}: {what}; wrong lines: {bad[:5]}")


def _record(con, kind: str, path: Path, rows: int) -> None:
    con.execute("delete from ingest.reference_files where file_kind = ?", [kind])
    con.execute(
        "insert into ingest.reference_files values (?, ?, ?, ?, current_timestamp)",
        [kind, str(path), path.exists(), rows],
    )


def load_importer_profiles(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace raw.importer_profiles with the user's file."""
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.importer_profiles")
        if path.exists():
            _read(con, path, PROFILE_COLUMNS)
            _fail_on(
                con,
                path,
                f"""select line, importer_number, is_corporate, ach_enrolled, phase3_from from _ref
                where importer_number is null or upper(coalesce(is_corporate, '?')) not in {YES_NO}
                   or upper(coalesce(ach_enrolled, '')) not in {YES_NO}
                   or (phase3_from is not null and {_DATE.format("phase3_from")} is null) order by line""",
                "importer_number must be set, is_corporate / ach_enrolled must be Y or N, phase3_from a date "
                "(YYYY-MM-DD or MM/DD/YYYY) or empty",
            )
            _fail_on(
                con,
                path,
                "select importer_number, list(line) from _ref group by 1 having count(*) > 1",
                "an importer_number is listed more than once",
            )
            con.execute(
                f"""
                insert into raw.importer_profiles (importer_number, importer_name, is_corporate, ach_enrolled,
                  form_4811_payee_number, allowed_filer_codes, phase3_from, _source_file, _source_line)
                select importer_number, importer_name, upper(is_corporate) in {YES},
                  upper(coalesce(ach_enrolled, '')) in {YES}, form_4811_payee_number,
                  list_filter(list_transform(string_split(coalesce(allowed_filer_codes, ''), '|'),
                    lambda x: upper(trim(x))), lambda x: x <> ''),
                  {_DATE.format("phase3_from")},
                  $file, line
                from _ref
                """,
                {"file": path.name},
            )
        n = con.execute("select count(*) from raw.importer_profiles").fetchone()[0]
        _record(con, "importer_profiles", path, n)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return n


def load_entry_flags(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace raw.entry_flags with the user's file of facts the ACE exports do not carry.

    When the file exists it is taken as complete: an entry it does not list has none of the flags. When it
    does not exist, the facts are unknown and the rules that need them route entries to review.
    """
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.entry_flags")
        if path.exists():
            _read(con, path, FLAG_COLUMNS)
            flags = ("drawback_claim", "adcvd_pending", "psc_pending", "recon_type09_filed")
            _fail_on(
                con,
                path,
                "select line, entry_number from _ref where entry_number is null or "
                + " or ".join(f"upper(coalesce({f}, '')) not in {YES_NO}" for f in flags)
                + " or coalesce(lower(protest_status), 'open') not in ('open', 'suspended', 'closed')"
                " order by line",
                "entry_number must be set, flags must be Y or N, protest_status Open, Suspended or Closed",
            )
            _fail_on(
                con,
                path,
                "select upper(replace(replace(entry_number, '-', ''), ' ', '')) as n, list(line) from _ref "
                "group by 1 having count(*) > 1",
                "an entry_number is listed more than once",
            )
            con.execute(
                f"""
                insert into raw.entry_flags
                select upper(replace(replace(entry_number, '-', ''), ' ', '')),
                  {", ".join(f"upper(coalesce({f}, '')) in {YES}" for f in flags)},
                  case lower(protest_status) when 'open' then 'Open' when 'suspended' then 'Suspended'
                    when 'closed' then 'Closed' end,
                  note, $file, line
                from _ref
                """,
                {"file": path.name},
            )
        n = con.execute("select count(*) from raw.entry_flags").fetchone()[0]
        _record(con, "entry_flags", path, n)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return n
