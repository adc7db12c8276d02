"""The analysts' copy of the marts.

Analysts never open the pipeline's working database (a reader's lock would block the nightly run). After each
successful run the marts, and the ledger and quarantine for auditors, are copied into a new DuckDB file and into
Parquet. The file is written in the oldest storage format DuckDB 2.0 writes (``STORAGE_VERSION``: DuckDB calls
the result "v1.0.0+"), so that older clients open it: DuckDB 0.10.3 and every later release (1.0 to 1.5, 2.x),
the DuckDB JDBC driver of an older DBeaver, BI tools. DuckDB 0.10.0 to 0.10.2 and 0.9 cannot (they fail with
"Failed to deserialize: field id mismatch"); a file in DuckDB 2.0's own format opens in 2.0 only. Table and column
comments (every mart column's description from the dbt YAML) are carried over.

The whole published folder is one set: it is built in a hidden staging folder beside it, with ``published.json``
(the run, every table's rows, every file's sha256) written last, then swapped in as a whole
(``pipelines/run/folder_swap.py``). An analyst holding the old file open keeps reading it undisturbed, the next
connection sees the new one, and the DuckDB file and the Parquet files always come from the same run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.run import folder_swap
from pipelines.run.recovery import PUBLISHED_MANIFEST, recover_published

PUBLISHED_DB = "refunds_analytics.duckdb"  # not named like a schema (a known pitfall of this stack)
# The oldest storage format DuckDB 2.0 writes: asked for anything from 'v0.9.0' to 'v1.1.0', it writes storage number
# 64 with the serialization it labels "v1.0.0+", which DuckDB 0.10.3 and later read (0.10.0-0.10.2 do not). v1.2.0 is
# number 65 (1.2 and later only), v1.3.0 66, v1.4.0 67 (1.4 and later), v1.5.0 68, v2.0.0 69. The marts' types
# (VARCHAR, DECIMAL, BIGINT, INTEGER, HUGEINT, BOOLEAN, DATE, TIMESTAMP, VARCHAR[]) are all in it; a type this format
# cannot hold (e.g. VARIANT) makes DuckDB refuse the copy, naming it, and the publish step fail.
STORAGE_VERSION = "v1.0.0"
AUDIT_TABLES = {"ingest.file_ledger": "audit.file_ledger", "quarantine.rejected_rows": "audit.rejected_rows"}


@dataclass
class Published:
    database: Path
    parquet_dir: Path
    tables: dict[str, int]  # published table -> rows


def publish(
    warehouse: Path,
    out_dir: Path,
    schemas: tuple[str, ...] = ("marts",),
    duckdb_config: dict | None = None,
    run_id: str = "",
) -> Published:
    recover_published(out_dir)
    token = folder_swap.new_token()
    stage = folder_swap.stage_path(out_dir, token)
    (stage / "parquet").mkdir(parents=True)
    try:
        counts = _copy(warehouse, stage, schemas, duckdb_config)
        files = {p.relative_to(stage).as_posix(): _sha256(p) for p in sorted(stage.rglob("*")) if p.is_file()}
        manifest = {
            "run_id": run_id,
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tables": counts,
            "files": files,
        }
        # Written last: a staging folder with its manifest is complete.
        folder_swap.write_durably(stage / PUBLISHED_MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        folder_swap.fsync_tree(stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    folder_swap.swap_in(stage, out_dir, token)
    return Published(out_dir / PUBLISHED_DB, out_dir / "parquet", counts)


def _copy(warehouse: Path, stage: Path, schemas: tuple[str, ...], duckdb_config: dict | None) -> dict[str, int]:
    con = duckdb.connect(config=duckdb_config or {})
    try:
        con.execute("attach ? as wh (read_only)", [str(warehouse)])
        con.execute(f"attach ? as pub (storage_version '{STORAGE_VERSION}')", [str(stage / PUBLISHED_DB)])
        sources = {
            f"{s}.{t}": f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'wh' "
                "and schema_name in (select unnest(?)) order by 1, 2",
                [list(schemas)],
            ).fetchall()
        } | AUDIT_TABLES
        counts = {}
        for schema in sorted({target.split(".")[0] for target in sources.values()}):
            con.execute(f"create schema pub.{schema}")
        # The Parquet files are written on a second connection while the DuckDB copy is written on this one: the two
        # writers overlap (about 12% of the publish step at 1,000,000 entries). Names come from the warehouse
        # catalog (our own schemas and models), not from user input.
        with ThreadPoolExecutor(max_workers=1) as parquet_writer:
            parquet = parquet_writer.submit(_write_parquet, con.cursor(), sources, stage / "parquet")
            try:
                for source, target in sources.items():
                    con.execute(f"create table pub.{target} as select * from wh.{source}")
                    counts[target] = con.execute(f"select count(*) from pub.{target}").fetchone()[0]
            except BaseException:
                parquet.exception()  # let the other writer finish; this error is the one reported
                raise
            parquet.result()  # raises the Parquet writer's error, if it had one
        _copy_comments(con, sources)
        con.execute("detach pub")
    finally:
        con.close()
    return counts


def _write_parquet(con: duckdb.DuckDBPyConnection, sources: dict[str, str], folder: Path) -> None:
    try:
        for source, target in sources.items():
            con.execute(f"copy wh.{source} to '{_q(folder / f'{target}.parquet')}' (format parquet)")
    finally:
        con.close()


def _copy_comments(con: duckdb.DuckDBPyConnection, sources: dict[str, str]) -> None:
    """The warehouse's table and column comments (dbt's descriptions) onto the published tables, in one batch:
    ``create table as`` copies the data, not the comments."""
    rows = con.execute(
        """
        select schema_name || '.' || table_name, null, comment from duckdb_tables()
        where database_name = 'wh' and comment is not null
        union all
        select schema_name || '.' || table_name, column_name, comment from duckdb_columns()
        where database_name = 'wh' and comment is not null
        order by 1, 2 nulls first
        """
    ).fetchall()
    statements = [
        f"comment on table pub.{sources[table]} is {_literal(comment)}"
        if column is None
        else f"comment on column pub.{sources[table]}.{_identifier(column)} is {_literal(comment)}"
        for table, column, comment in rows
        if table in sources
    ]
    if statements:
        con.execute(";\n".join(statements))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _q(path: Path) -> str:
    return path.as_posix().replace("'", "''")
