"""Finishing the output swaps a crash interrupted, before a run does anything else (``scope.py``).

Exports and the published copy are each replaced as a whole folder (``folder_swap.py``). A crash can leave a
staged folder beside the current one; what to do with it is decided here, from what is on disk and in the
warehouse's export register, so that the register, the exports and the published copy always agree:

- an export folder staged by a run whose register transaction committed (the manifest's sha256 is the one
  ``export.export_sets`` holds for that day) is swapped in; any other staged export folder is dropped;
- a complete published folder staged while no current one exists is the new set mid-swap: it goes in; any other
  staged published folder is dropped.

It sits with the run, below the stages that write those folders, because every run, whoever starts it, runs it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.run import folder_swap
from pipelines.settings import Settings

EXPORT_MANIFEST = "manifest.json"  # in each day's export folder: every file with its sha256, rows and amounts
PUBLISHED_MANIFEST = "published.json"  # in the published folder: what the copy holds, from which run


def recover_outputs(settings: Settings) -> list[str]:
    """Every half-done swap of the exports and the published copy, finished or rolled back; what was done."""
    return recover_exports(settings.exports_dir, settings.warehouse_path) + recover_published(settings.published_dir)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def committed_manifests(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """as_of (ISO) -> sha256 of the manifest the register committed for that day's folder."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'export' and table_name = 'export_sets'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("select as_of_date, manifest_sha256 from export.export_sets").fetchall()
    return {d.isoformat(): sha for d, sha in rows}


def recover_export_folder(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[str]:
    """Finish or roll back a half-done swap of one day's folder, as the register decides."""
    return _recover(out_dir, committed_manifests(con))


def recover_exports(exports_dir: Path, warehouse: Path) -> list[str]:
    """Every half-done swap under ``exports_dir``: a staged set whose manifest the register committed is swapped
    in, any other staged set is dropped (the register does not know it). Reads the register only when needed."""
    pending = folder_swap.leftovers(exports_dir)
    if not pending:
        return []
    committed: dict[str, str] = {}
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            committed = committed_manifests(con)
        finally:
            con.close()
    done = []
    for final in sorted(pending):
        done += _recover(final, committed)
    return done


def _recover(final: Path, committed: dict[str, str]) -> list[str]:
    def is_committed(stage: Path) -> bool:
        manifest = stage / EXPORT_MANIFEST
        return manifest.exists() and committed.get(final.name) == sha256_of(manifest)

    return folder_swap.recover(final, is_committed)


def recover_published(out_dir: Path) -> list[str]:
    """Finish or roll back a half-done swap of the published folder.

    The current folder is renamed away only once the new one is complete, so a complete staging folder with no
    current folder is the new set mid-swap: it goes in. Any other staging folder is dropped.
    """
    return folder_swap.recover(out_dir, lambda stage: not out_dir.exists() and (stage / PUBLISHED_MANIFEST).exists())
