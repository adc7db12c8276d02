"""The one way into the warehouse file: the settings' memory and thread limits, a clear message when it is locked,
and the ingestion tables ensured on every writing connection."""

from __future__ import annotations

import duckdb

from pipelines.settings import Settings
from pipelines.warehouse.schema import ensure_warehouse


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse file's lock."""


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
