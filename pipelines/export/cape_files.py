"""CAPE upload files, exactly as CBP's ACE Portal takes them.

One column headed exactly `Entry Number`, one 11-character entry number per row, no duplicates, at most 9,999
rows, under 1 MB, ASCII without BOM; the line ending is a setting (CRLF, as Excel's "CSV (Comma delimited)"
writes, by default). Every file's text is built by DuckDB in one set-based query.

One folder per as_of date, replaced as a whole (``pipelines/run/folder_swap.py``): re-running the same day replaces
the day's set. The register ``export.exported_entries`` (entry -> file) and ``export.export_sets`` (the day's
manifest and its sha256) commit in one transaction before the folder is swapped in, so the register and the
files never disagree once ``recover_exports`` (``pipelines/run/recovery.py``) has run: every run starts with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.run import folder_swap
from pipelines.run.recovery import EXPORT_MANIFEST, recover_export_folder

HEADER = "Entry Number"
MAX_ROWS = 9_999
MAX_BYTES = 1_000_000


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


def rules_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The version of the reference data and settings the marts were built with (macros/rules_version.sql): every
    mart row carries it, so a file's manifest names the rules that planned it."""
    (version,) = con.execute("select max(rules_version) from marts.fct_entry_eligibility").fetchone()
    return version


def _safe(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9-]", "_", name)
    return safe if safe == name else f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def write_export(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    as_of: dt.date,
    run_id: str,
    line_ending: str = "\r\n",
) -> dict:
    """Write the upload files and the manifest for ``as_of`` as one set into ``out_dir``, and register them.

    The set is written into a hidden staging folder beside ``out_dir``; the register (every entry with its file,
    and the manifest with every file's sha256) commits in one transaction; then the folder is swapped in. A crash
    before the commit leaves the previous set and its register; a crash after it leaves a committed staging folder
    that ``recover_exports`` (run at the start of every run) swaps in.
    """
    ensure_export_tables(con)
    recover_export_folder(con, out_dir)
    # The rows the gate validated (marts.fct_cape_export_candidates), as they are: the export decides nothing.
    con.execute("create or replace temp table _candidates as select * from marts.fct_cape_export_candidates")
    con.execute(
        """
        create or replace temp table _files as
        select planned_declaration_id, any_value(declaration_group) as declaration_group,
            dense_rank() over (order by planned_declaration_id) as file_number, count(*) as rows,
            sum(ieepa_principal_amount) as principal, sum(expected_interest_amount) as interest
        from _candidates
        group by planned_declaration_id
        """
    )
    # One query builds every file's text (set-based: thousands of declarations in one pass); Python only writes
    # each text into the staging folder. The text is the header, then one entry per line, every line ended by the
    # line ending.
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
    names = file_names([(declaration_id, group) for _, declaration_id, group, *_ in files])
    token = folder_swap.new_token()
    stage = folder_swap.stage_path(out_dir, token)
    stage.mkdir(parents=True)
    try:
        written: list[ExportFile] = []
        for _, declaration_id, group, rows, principal, interest, text in files:
            name = names[declaration_id]
            if rows > MAX_ROWS:
                raise ValueError(f"{declaration_id}: {rows} rows exceed CBP's limit of {MAX_ROWS}")
            data = text.encode("ascii")  # entry numbers are [A-Z0-9]: anything else fails here, not at CBP
            if len(data) >= MAX_BYTES:
                raise ValueError(f"{name}: {len(data)} bytes, CBP takes files under 1 MB")
            folder_swap.write_durably(stage / name, data)
            sha = hashlib.sha256(data).hexdigest()
            written.append(
                ExportFile(name, declaration_id, group, rows, len(data), sha, str(principal), _text(interest))
            )
        manifest = {
            "as_of": as_of.isoformat(),
            "run_id": run_id,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rules_version": rules_version(con),
            "line_ending": "CRLF" if line_ending == "\r\n" else "LF",
            "files": [asdict(f) for f in written],
            "entries": sum(f.rows for f in written),
            "ieepa_principal_amount": str(sum((_dec(f.ieepa_principal_amount) for f in written), _dec("0"))),
            "held_back_awaiting_cape_response": con.execute(
                "select count(*) from marts.fct_declaration_plan where entry_summary_number not in "
                "(select entry_summary_number from _candidates)"
            ).fetchone()[0],
        }
        manifest_bytes = _write_manifest(stage, manifest)
        folder_swap.fsync_tree(stage)
        _register(con, as_of, run_id, written, manifest, manifest_bytes)
    except Exception:
        # Nothing committed (the register's transaction rolls back on any error): the staged set goes. After an
        # interruption the outcome of the commit is not known here; the next run's recovery asks the register.
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        con.execute("drop table if exists _candidates")
        con.execute("drop table if exists _files")
    folder_swap.swap_in(stage, out_dir, token)
    return manifest


def _register(con, as_of: dt.date, run_id: str, written: list[ExportFile], manifest: dict, manifest_bytes: bytes):
    """The register of what the day's folder holds, committed as one transaction (entries and manifest)."""
    con.execute("begin transaction")
    try:
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
        con.execute("delete from export.export_sets where as_of_date = ?", [as_of])
        con.execute(
            "insert into export.export_sets values (?, ?, ?, ?, ?, ?, current_timestamp)",
            [
                as_of,
                run_id,
                hashlib.sha256(manifest_bytes).hexdigest(),
                manifest_bytes.decode("utf-8"),
                len(written),
                manifest["entries"],
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def ensure_export_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists export")
    con.execute(
        """
        create table if not exists export.export_sets (
          as_of_date date not null,        -- the folder <exports_dir>/<as_of>/
          run_id varchar not null,
          manifest_sha256 varchar not null, -- sha256 of the folder's manifest.json: the set the register holds
          manifest_json varchar not null,   -- that manifest: every file with its sha256, rows and amounts
          files integer not null,
          entries integer not null,
          committed_at timestamp not null
        )
        """
    )


def file_names(declarations: list[tuple[str, str]]) -> dict[str, str]:
    """declaration id -> upload file name ``cape_<group>_<nnn>.csv``, unique (also ignoring case).

    A group (filer code or importer number) with characters a file name cannot carry is sanitised, and then also
    given a short hash of the original, so two groups that sanitise alike (``12-3/4``, ``12-3:4``) keep two files.
    """
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for declaration_id, group in declarations:
        name = f"cape_{_safe(group)}_{declaration_id.rsplit('-', 1)[1]}.csv"
        other = seen.setdefault(name.casefold(), declaration_id)
        if other != declaration_id:
            raise ValueError(f"declarations {other} and {declaration_id} would both be written to {name}")
        names[declaration_id] = name
    return names


def _dec(v):
    from decimal import Decimal

    return Decimal(v)


def _text(v) -> str | None:
    return None if v is None else str(v)


def _write_manifest(stage: Path, manifest: dict) -> bytes:
    """manifest.json (what the register stores) and manifest.md (for people), into the staging folder."""
    body = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    folder_swap.write_durably(stage / EXPORT_MANIFEST, body)
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
            f"| `{f['file_name']}` | {_md(f['planned_declaration_id'])} | {f['rows']:,} | "
            f"{_dec(f['ieepa_principal_amount']):,.2f} | {interest} | `{f['sha256'][:16]}…` |"
        )
    folder_swap.write_durably(stage / "manifest.md", ("\n".join(lines) + "\n").encode("utf-8"))
    return body


def _md(text) -> str:
    """Text from the data (a declaration id carries the filer code or importer number as exported), shown
    literally in a Markdown table cell: every character that could open markup, HTML, an entity or a new cell
    is backslash-escaped (CommonMark). File names need none: sanitised, and shown as code."""
    return _MD_SPECIAL.sub(r"\\\g<0>", str(text))


_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>|&~!#]")
