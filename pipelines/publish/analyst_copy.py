"""The analysts' copy of the marts.

Analysts never open the pipeline's working database (a reader's lock would block the nightly run). After each
successful run the marts, and the ledger and quarantine for auditors, are copied into a new DuckDB file written
in storage version v1.4.0 (readable by DuckDB 1.x clients: older DBeaver drivers, BI tools) and into Parquet; each
file is written under a temporary name and renamed into place, so an analyst holding the old file open keeps
reading it undisturbed and the next connection sees the new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

PUBLISHED_DB = "refunds_analytics.duckdb"  # not named like a schema (DESIGN pitfall)
STORAGE_VERSION = "v1.4.0"
AUDIT_TABLES = {"ingest.file_ledger": "audit.file_ledger", "quarantine.rejected_rows": "audit.rejected_rows"}


@dataclass
class Published:
    database: Path
    parquet_dir: Path
    tables: dict[str, int]  # published table -> rows


def publish(
    warehouse: Path, out_dir: Path, schemas: tuple[str, ...] = ("marts",), duckdb_config: dict | None = None
) -> Published:
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = out_dir / "parquet"
    parquet_dir.mkdir(exist_ok=True)
    final, temp = out_dir / PUBLISHED_DB, out_dir / f".{PUBLISHED_DB}.tmp"
    temp.unlink(missing_ok=True)
    con = duckdb.connect(config=duckdb_config or {})
    try:
        con.execute("attach ? as wh (read_only)", [str(warehouse)])
        con.execute(f"attach ? as pub (storage_version '{STORAGE_VERSION}')", [str(temp)])
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
        for source, target in sources.items():
            # names come from the warehouse catalog (our own schemas and models), not from user input
            con.execute(f"create table pub.{target} as select * from wh.{source}")
            counts[target] = con.execute(f"select count(*) from pub.{target}").fetchone()[0]
            parquet, parquet_temp = parquet_dir / f"{target}.parquet", parquet_dir / f".{target}.parquet.tmp"
            con.execute(f"copy wh.{source} to '{_q(parquet_temp)}' (format parquet)")
            os.replace(parquet_temp, parquet)
        con.execute("detach pub")
    finally:
        con.close()
    os.replace(temp, final)
    return Published(final, parquet_dir, counts)


def _q(path: Path) -> str:
    return path.as_posix().replace("'", "''")
