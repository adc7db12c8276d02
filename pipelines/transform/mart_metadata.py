"""Row counts and key figures attached to the dbt assets' materializations, so the UI plots their history.

dbt holds the warehouse's write lock for the whole ``dbt build``: the figures are read afterwards, in one
read-only connection, and added to the events dbt streamed. The figures themselves are computed in the dbt project,
once (``reporting.rpt_key_figures``, one row per figure): here they are only read and handed to the asset its
``mart`` column names, and all of them to ``reporting/rpt_key_figures`` too.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
from dagster import AssetKey, MetadataValue

KEY_FIGURES = AssetKey(["reporting", "rpt_key_figures"])


def figures_for(con: duckdb.DuckDBPyConnection, keys: Iterable[AssetKey]) -> dict[AssetKey, dict[str, object]]:
    """``dagster/row_count`` for every table among ``keys``; the key figures when ``rpt_key_figures`` is among them.

    The figures go out only with a fresh ``rpt_key_figures`` (materialized with ``keys``): a table an earlier run
    left behind would attach old figures to marts this run rebuilt.
    """
    keys = [k for k in keys if len(k.path) == 2]
    present = {
        (schema, name)
        for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    tables = [k for k in keys if tuple(k.path) in present]
    out: dict[AssetKey, dict[str, object]] = {k: {} for k in tables}
    if tables:
        # One query for all row counts (count(*) reads only the row-group headers in DuckDB).
        counts_sql = " union all ".join(
            f'select {i} as i, count(*) as n from "{k.path[0]}"."{k.path[1]}"' for i, k in enumerate(tables)
        )
        for i, n in con.execute(counts_sql).fetchall():
            out[tables[i]]["dagster/row_count"] = MetadataValue.int(int(n))
    if KEY_FIGURES in out:
        rows = con.execute("select mart, figure, unit, value from reporting.rpt_key_figures order by mart, figure")
        for mart, figure, unit, value in rows.fetchall():
            # Plain numbers for the UI's plots: counts as integers, money as a float (the warehouse keeps DECIMAL).
            number = int(value) if unit == "count" else float(value)
            out[KEY_FIGURES][figure] = number
            mart_key = AssetKey(mart.split("."))
            if mart_key in out:
                out[mart_key][figure] = number
    return out
