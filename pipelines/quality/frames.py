"""The frames the suites validate, read from the warehouse (read-only connection). Each frame carries the
computed columns its suite checks, so that a failed expectation points at the rows to look at."""

from __future__ import annotations

import datetime as dt

import duckdb


def export_candidates(con: duckdb.DuckDBPyConnection, as_of: dt.date):
    """The rows the export will write (marts.fct_cape_export_candidates), as the gate validates them."""
    return con.execute("select * from marts.fct_cape_export_candidates").df()


def entry_refundable(con: duckdb.DuckDBPyConnection):
    """The amounts of the entries that can be filed (eligible as of the run's date)."""
    return con.execute(
        "select r.entry_summary_number, r.ieepa_principal_amount, r.non_refundable_duty_amount "
        "from marts.fct_entry_refundable r join marts.fct_entry_eligibility e using (entry_summary_number) "
        "where e.is_eligible"
    ).df()


def eligibility_safety(con: duckdb.DuckDBPyConnection):
    """Eligible entries, flagged when something should have stopped them (never expected to be true)."""
    return con.execute(
        """
        select e.entry_summary_number,
            (r.unknown_ieepa_heading_row_count > 0 or r.entry_number_check <> 'valid'
             or not r.has_ieepa_line or r.ieepa_principal_amount <= 0) as unsafe_eligible
        from marts.fct_entry_eligibility e
        join marts.fct_entry_refundable r using (entry_summary_number)
        where e.eligibility_status = 'eligible'
        """
    ).df()


def ledger(con: duckdb.DuckDBPyConnection):
    from pipelines.warehouse.layouts import REPORTS

    raw_counts = " union all ".join(
        f"select _load_id as load_id, count(*) as n from raw.{r.table} group by 1" for r in REPORTS.values()
    )
    return con.execute(
        f"""
        with raw_rows as ({raw_counts}),
        kept as (select load_id, count(*) as n from quarantine.rejected_rows group by 1)
        select l.file_name, l.rows_read = l.rows_loaded + l.rows_quarantined as counts_add_up,
            l.rows_loaded = coalesce(r.n, 0) and l.rows_quarantined = coalesce(k.n, 0) as rows_present_match
        from ingest.file_ledger l
        left join raw_rows r using (load_id)
        left join kept k using (load_id)
        where l.status = 'loaded'
        """
    ).df()
