"""CAPE upload files, exactly as CBP's ACE Portal takes them.

One column headed exactly `Entry Number`, one 11-character entry number per row, no duplicates, at most 9,999
rows, under 1 MB, ASCII without BOM; the line ending is a setting (CRLF, as Excel's "CSV (Comma delimited)"
writes, by default). Every file's text is built by DuckDB in one set-based query, written to a temporary name
and renamed when complete.
One folder per as_of date: re-running the same day rewrites the same files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.quality.frames import export_candidates_sql
from pipelines.settings import PROJECT_ROOT

HEADER = "Entry Number"
MAX_ROWS = 9_999
MAX_BYTES = 1_000_000
FILE_PATTERN = re.compile(r"^cape_.+_\d{3}\.csv$")
RULE_FILES = (
    "dbt_project/seeds/cape_rules.csv",
    "dbt_project/seeds/cape_entry_types.csv",
    "dbt_project/dbt_project.yml",
)


@dataclass
class ExportFile:
    file_name: str
    planned_declaration_id: str
    declaration_group: str
    rows: int
    bytes: int
    sha256: str
    ieepa_principal_amount: str  # Decimal as text: exact in JSON
    expected_interest_amount: str | None


def rules_version() -> str:
    """sha256 (first 12) of the rule seeds and dbt vars in force: which rules produced a file."""
    digest = hashlib.sha256()
    for rel in RULE_FILES:
        digest.update((PROJECT_ROOT / rel).read_bytes())
    return digest.hexdigest()[:12]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "_", name)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _interest_by_entry(con) -> str:
    """Expected interest per entry when the interest mart exists (it is optional for the export)."""
    exists = con.execute(
        "select count(*) from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_entry_interest' "
        "and column_name = 'interest_cbp_daily_compound'"
    ).fetchone()[0]
    if exists:
        return (
            "select entry_summary_number, interest_cbp_daily_compound as expected_interest_amount "
            "from marts.fct_entry_interest"
        )
    return "select null::varchar as entry_summary_number, null::decimal(18, 2) as expected_interest_amount where false"


def write_export(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    as_of: dt.date,
    run_id: str,
    line_ending: str = "\r\n",
    include_pending: bool = False,
) -> dict:
    """Write the upload files and the manifest for ``as_of`` into ``out_dir``; register the exported entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"create or replace temp table _candidates as {export_candidates_sql(include_pending)}", {"as_of": as_of}
    )
    con.execute(
        f"""
        create or replace temp table _files as
        select planned_declaration_id, any_value(declaration_group) as declaration_group,
            dense_rank() over (order by planned_declaration_id) as file_number, count(*) as rows,
            sum(c.ieepa_principal_amount) as principal, sum(i.expected_interest_amount) as interest
        from _candidates c left join ({_interest_by_entry(con)}) i using (entry_summary_number)
        group by planned_declaration_id
        """
    )
    # One query builds every file's text (set-based: thousands of declarations in one pass); Python only writes
    # each text to a temporary name and renames it. The text is the header, then one entry per line, every line
    # ended by the line ending.
    files = con.execute(
        """
        select f.file_number, f.planned_declaration_id, f.declaration_group, f.rows, f.principal, f.interest,
            $header || $eol || string_agg(c.entry_summary_number || $eol, '' order by c.row_in_declaration) as text
        from _files f join _candidates c using (planned_declaration_id)
        group by all
        order by f.planned_declaration_id
        """,
        {"header": HEADER, "eol": line_ending},
    ).fetchall()
    # Files of an earlier run of the same day that this run no longer produces must not linger.
    for stale in out_dir.iterdir():
        if FILE_PATTERN.match(stale.name):
            stale.unlink()
    written: list[ExportFile] = []
    for _, declaration_id, group, rows, principal, interest, text in files:
        if rows > MAX_ROWS:
            raise ValueError(f"{declaration_id}: {rows} rows exceed CBP's limit of {MAX_ROWS}")
        data = text.encode("ascii")  # entry numbers are [A-Z0-9]: anything else fails here, not at CBP
        name = f"cape_{_safe(group)}_{declaration_id.rsplit('-', 1)[1]}.csv"
        if len(data) >= MAX_BYTES:
            raise ValueError(f"{name}: {len(data)} bytes, CBP takes files under 1 MB")
        final, temp = out_dir / name, out_dir / f".{name}.tmp"
        temp.write_bytes(data)
        os.replace(temp, final)
        sha = hashlib.sha256(data).hexdigest()
        written.append(ExportFile(name, declaration_id, group, rows, len(data), sha, str(principal), _text(interest)))
    con.execute("delete from export.exported_entries where as_of_date = ?", [as_of])
    if written:
        register = pa.table(
            {
                "planned_declaration_id": [f.planned_declaration_id for f in written],
                "file_name": [f.file_name for f in written],
                "file_sha256": [f.sha256 for f in written],
            }
        )
        con.register("_written", register)
        con.execute(
            "insert into export.exported_entries select c.entry_summary_number, c.planned_declaration_id, "
            "w.file_name, w.file_sha256, $as_of, $run_id, current_timestamp "
            "from _candidates c join _written w using (planned_declaration_id)",
            {"as_of": as_of, "run_id": run_id},
        )
        con.unregister("_written")
    manifest = {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rules_version": rules_version(),
        "line_ending": "CRLF" if line_ending == "\r\n" else "LF",
        "files": [asdict(f) for f in written],
        "entries": sum(f.rows for f in written),
        "ieepa_principal_amount": str(sum((_dec(f.ieepa_principal_amount) for f in written), _dec("0"))),
        "held_back_awaiting_cape_response": con.execute(
            "select count(*) from marts.fct_declaration_plan where entry_summary_number not in "
            "(select entry_summary_number from _candidates)"
        ).fetchone()[0],
    }
    _write_manifest(out_dir, manifest)
    con.execute("drop table _candidates")
    con.execute("drop table _files")
    return manifest


def _dec(v):
    from decimal import Decimal

    return Decimal(v)


def _text(v) -> str | None:
    return None if v is None else str(v)


def _sql_escape(s: str) -> str:
    return s.replace("'", "''")


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    body = json.dumps(manifest, indent=2) + "\n"
    temp = out_dir / ".manifest.json.tmp"
    temp.write_text(body, encoding="utf-8")
    os.replace(temp, out_dir / "manifest.json")
    lines = [
        f"# CAPE upload files, as of {manifest['as_of']}",
        "",
        f"Run `{manifest['run_id']}`, generated {manifest['generated_at']}, rules version "
        f"`{manifest['rules_version']}`, line ending {manifest['line_ending']}.",
        "",
        f"{manifest['entries']:,} entries in {len(manifest['files'])} file(s), IEEPA principal "
        f"{_dec(manifest['ieepa_principal_amount']):,.2f}. Held back (sent earlier, no CAPE response yet): "
        f"{manifest['held_back_awaiting_cape_response']:,}.",
        "",
        "| file | declaration | rows | principal | expected interest | sha256 |",
        "|---|---|---:|---:|---:|---|",
    ]
    for f in manifest["files"]:
        interest = f"{_dec(f['expected_interest_amount']):,.2f}" if f["expected_interest_amount"] else "n/a"
        lines.append(
            f"| {f['file_name']} | {f['planned_declaration_id']} | {f['rows']:,} | "
            f"{_dec(f['ieepa_principal_amount']):,.2f} | {interest} | `{f['sha256'][:16]}…` |"
        )
    temp = out_dir / ".manifest.md.tmp"
    temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temp, out_dir / "manifest.md")
