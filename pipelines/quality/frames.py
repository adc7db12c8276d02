"""The frames the suites validate, read from the warehouse (read-only connection). Each frame carries the
computed columns its suite checks, so that a failed expectation points at the rows to look at."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.ingest.parse_sql import entry_check_sql


def export_candidates_sql(include_pending: bool) -> str:
    """The CAPE export candidates: the declaration plan, less entries already sent in an earlier run that CBP has
    not answered yet (no ES-022 row), unless the user asks to send them again. Parameter: $as_of (date)."""
    pending_filter = "" if include_pending else "where p.entry_summary_number not in (select * from pending)"
    return f"""
        with
        -- sent in an earlier run, and no declaration of it submitted since then shows in ES-022 yet: one submitted
        -- on or after the export's date, or, when the export gives no submission date, first seen in an ES-022
        -- export made after the upload file was written
        pending as (
            select distinct x.entry_summary_number from export.exported_entries x
            where x.as_of_date <> $as_of and not exists (
                select 1 from staging.stg_ace__es022_cape_entries c
                where c.entry_summary_number = x.entry_summary_number
                    and case when c.is_declaration_date_estimated then c.declaration_first_seen_at > x.exported_at
                        else c.declaration_submission_date >= x.as_of_date end)
        ),
        -- on record as accepted (or in a state nobody knows) on any declaration, whatever its date
        accepted as (
            select distinct entry_summary_number from staging.stg_ace__es022_cape_entries
            where coalesce(cape_status_blocks_refiling, true)
        ),
        plan as (select p.* from marts.fct_declaration_plan p {pending_filter})
        select
            p.planned_declaration_id,
            p.declaration_group,
            p.declaration_group_by,
            p.declaration_sequence,
            p.row_in_declaration,
            p.entry_summary_number,
            p.filer_code,
            p.importer_number,
            p.ieepa_principal_amount,
            e.eligibility_status,
            {entry_check_sql("p.entry_summary_number")} = 'valid' as check_digit_valid,
            a.entry_summary_number is not null as accepted_on_earlier_declaration,
            count(*) over (partition by p.planned_declaration_id) as rows_in_file,
            case when min(p.declaration_group) over (partition by p.planned_declaration_id)
                = max(p.declaration_group) over (partition by p.planned_declaration_id) then 1 else 2 end
                as group_keys_in_file,
            case p.declaration_group_by when 'filer' then p.filer_code = p.declaration_group
                else p.importer_number = p.declaration_group end as filer_matches_group
        from plan p
        left join marts.fct_entry_eligibility e on p.entry_summary_number = e.entry_summary_number
        left join accepted a on p.entry_summary_number = a.entry_summary_number
        order by p.planned_declaration_id, p.row_in_declaration
    """


def export_candidates(con: duckdb.DuckDBPyConnection, as_of: dt.date, include_pending: bool = False):
    return con.execute(export_candidates_sql(include_pending), {"as_of": as_of}).df()


def held_back(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Planned entries not exported because an earlier file holds them and CBP has not answered yet."""
    planned = con.execute("select count(*) from marts.fct_declaration_plan").fetchone()[0]
    kept = con.execute(f"select count(*) from ({export_candidates_sql(False)})", {"as_of": as_of}).fetchone()[0]
    return planned - kept


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
    from pipelines.ingest.layouts import REPORTS

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
