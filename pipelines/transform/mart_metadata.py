"""Row counts and key figures attached to the dbt assets' materializations, so the UI plots their history.

dbt holds the warehouse's write lock for the whole ``dbt build``: the figures are read afterwards, in one
read-only connection, and added to the events dbt streamed. Each figure is one set-based query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import duckdb
from dagster import AssetKey, MetadataValue

# The figures people look at first, per mart: (label, SQL returning one row with one column per figure).
# Money is summed as DECIMAL in DuckDB; it becomes a float only for the UI's plot.
KEY_FIGURES: Mapping[AssetKey, str] = {
    AssetKey(["marts", "fct_entry_refundable"]): """
        select coalesce(sum(ieepa_principal_amount), 0) as refundable_ieepa_principal_usd,
               count(*) filter (where ieepa_principal_amount > 0) as entries_with_ieepa_principal
        from marts.fct_entry_refundable""",
    AssetKey(["marts", "fct_entry_eligibility"]): """
        select count(*) filter (where eligibility_status = 'eligible') as eligible_entries,
               coalesce(sum(ieepa_principal_amount) filter (where eligibility_status = 'eligible'), 0)
                   as eligible_ieepa_principal_usd,
               count(*) filter (where eligibility_status = 'needs_review') as needs_review_entries,
               count(*) filter (where eligibility_status = 'ineligible') as ineligible_entries
        from marts.fct_entry_eligibility""",
    AssetKey(["marts", "fct_declaration_plan"]): """
        select count(distinct planned_declaration_id) as planned_declarations, count(*) as planned_entries
        from marts.fct_declaration_plan""",
    AssetKey(["marts", "fct_entry_interest"]): """
        select coalesce(sum(interest_cbp_daily_compound), 0) as interest_owed_usd,
               coalesce(sum(cbp_interest_amount), 0) as interest_stated_by_cbp_usd,
               count(*) filter (where interest_variance_status = 'underpaid') as entries_interest_underpaid,
               count(*) filter (where variance_diagnosis = 'none_matches') as entries_interest_unexplained,
               count(distinct importer_number) filter (where rate_basis_is_assumed) as importers_rate_basis_assumed,
               count(*) filter (where rate_basis_is_assumed) as entries_rate_basis_assumed
        from marts.fct_entry_interest""",
    AssetKey(["marts", "fct_refund_reconciliation"]): """
        select coalesce(sum(unexplained_amount), 0) as unexplained_variance_usd,
               coalesce(sum(variance_amount), 0) as total_variance_usd,
               count(*) filter (where not buckets_reconcile) as refunds_not_reconciling
        from marts.fct_refund_reconciliation""",
    AssetKey(["marts", "fct_offsets"]): """
        select coalesce(sum(offset_amount), 0) as offsets_usd, count(*) as offsets
        from marts.fct_offsets""",
}


def _plain(value: object) -> float | int:
    if isinstance(value, Decimal):
        return float(value)
    return value if value is not None else 0


def figures_for(con: duckdb.DuckDBPyConnection, keys: Iterable[AssetKey]) -> dict[AssetKey, dict[str, object]]:
    """``dagster/row_count`` for every table among ``keys`` and the key figures of the marts among them."""
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
    for key in tables:
        sql = KEY_FIGURES.get(key)
        if sql is None:
            continue
        cursor = con.execute(sql)
        row = cursor.fetchone()
        for column, value in zip([d[0] for d in cursor.description], row, strict=True):
            out[key][column] = _plain(value)
    return out
