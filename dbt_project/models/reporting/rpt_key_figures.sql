-- noqa: disable=AL03
-- (the rows of a union take the names of its first branch; the later branches' expressions stay unnamed)
-- The figures people look at first, one row each: what the run report's summary, the command line's summary and
-- the Dagster UI's plots (materialization metadata of the mart named in `mart`) show. One home for them: the
-- presenters only format. Money is DECIMAL; counts are whole numbers in the same column.

with

ledger as (

    select * from {{ ref('stg_ingest__file_ledger') }}

),

refundable as (

    select * from {{ ref('fct_entry_refundable') }}

),

eligibility as (

    select * from {{ ref('fct_entry_eligibility') }}

),

plan as (

    select * from {{ ref('fct_declaration_plan') }}

),

candidates as (

    select * from {{ ref('fct_cape_export_candidates') }}

),

interest as (

    select * from {{ ref('fct_entry_interest') }}

),

reconciliation as (

    select * from {{ ref('fct_refund_reconciliation') }}

),

offsets as (

    select * from {{ ref('fct_offsets') }}

),

figures as (

    select 'ingest.file_ledger' as mart, 'files_loaded' as figure, 'Files loaded' as label, 'count' as unit,
        cast(count(case when status = 'loaded' then 1 end) as decimal(38, 2)) as value
    from ledger
    union all
    select 'ingest.file_ledger', 'files_refused', 'Files refused', 'count',
        count(case when status = 'refused' then 1 end)
    from ledger
    union all
    select 'ingest.file_ledger', 'rows_read', 'Rows read', 'count', coalesce(sum(rows_read), 0) from ledger
    union all
    select 'ingest.file_ledger', 'rows_loaded', 'Rows loaded', 'count', coalesce(sum(rows_loaded), 0) from ledger
    union all
    select 'ingest.file_ledger', 'rows_quarantined', 'Rows quarantined', 'count',
        coalesce(sum(rows_quarantined), 0)
    from ledger

    union all
    select 'marts.fct_entry_refundable', 'refundable_ieepa_principal_usd', 'Refundable IEEPA principal', 'usd',
        coalesce(sum(ieepa_principal_amount), 0)
    from refundable
    union all
    select 'marts.fct_entry_refundable', 'entries', 'Entries', 'count', count(*) from refundable
    union all
    select 'marts.fct_entry_refundable', 'entries_with_ieepa_principal', 'Entries with IEEPA principal', 'count',
        count(case when ieepa_principal_amount > 0 then 1 end)
    from refundable

    union all
    select 'marts.fct_entry_eligibility', 'eligible_entries', 'Eligible entries', 'count',
        count(case when eligibility_status = 'eligible' then 1 end)
    from eligibility
    union all
    select 'marts.fct_entry_eligibility', 'eligible_ieepa_principal_usd', 'Eligible IEEPA principal', 'usd',
        coalesce(sum(case when eligibility_status = 'eligible' then ieepa_principal_amount end), 0)
    from eligibility
    union all
    select 'marts.fct_entry_eligibility', 'eligible_with_warnings', 'Eligible with warnings', 'count',
        count(case when eligibility_status = 'eligible' and has_warnings then 1 end)
    from eligibility
    union all
    select 'marts.fct_entry_eligibility', 'needs_review_entries', 'Entries held back for review', 'count',
        count(case when eligibility_status = 'needs_review' then 1 end)
    from eligibility
    union all
    select 'marts.fct_entry_eligibility', 'ineligible_entries', 'Ineligible entries', 'count',
        count(case when eligibility_status = 'ineligible' then 1 end)
    from eligibility
    union all
    select 'marts.fct_entry_eligibility', 'already_accepted_entries', 'Already accepted', 'count',
        count(case when eligibility_status = 'already_accepted' then 1 end)
    from eligibility

    union all
    select 'marts.fct_declaration_plan', 'planned_declarations', 'Planned declarations', 'count',
        count(distinct planned_declaration_id)
    from plan
    union all
    select 'marts.fct_declaration_plan', 'planned_entries', 'Planned entries', 'count', count(*) from plan
    union all
    select 'marts.fct_cape_export_candidates', 'entries_to_export', 'Entries to export', 'count', count(*)
    from candidates
    union all
    select 'marts.fct_cape_export_candidates', 'entries_held_back', 'Held back (sent earlier, no CBP answer)',
        'count', (select count(*) from plan) - count(*)
    from candidates

    union all
    select 'marts.fct_entry_interest', 'interest_owed_usd', 'Interest owed', 'usd',
        coalesce(sum(interest_cbp_daily_compound), 0)
    from interest
    union all
    select 'marts.fct_entry_interest', 'entries_with_interest', 'Entries with interest', 'count',
        count(interest_cbp_daily_compound)
    from interest
    union all
    select 'marts.fct_entry_interest', 'interest_stated_by_cbp_usd', 'Interest stated by CBP', 'usd',
        coalesce(sum(cbp_interest_amount), 0)
    from interest
    union all
    select 'marts.fct_entry_interest', 'entries_interest_underpaid', 'Entries whose interest CBP underpaid', 'count',
        count(case when interest_variance_status = 'underpaid' then 1 end)
    from interest
    union all
    select 'marts.fct_entry_interest', 'entries_interest_unexplained', 'Entries whose interest no reading explains',
        'count', count(case when variance_diagnosis = 'none_matches' then 1 end)
    from interest
    union all
    select 'marts.fct_entry_interest', 'unexplained_interest_variance_usd', 'Unexplained interest variance', 'usd',
        coalesce(sum(case when variance_diagnosis = 'none_matches' then interest_variance_amount end), 0)
    from interest
    union all
    select 'marts.fct_entry_interest', 'unexplained_interest_variance_abs_usd',
        'Unexplained interest variance (absolute)', 'usd',
        coalesce(sum(case when variance_diagnosis = 'none_matches' then abs(interest_variance_amount) end), 0)
    from interest
    union all
    select 'marts.fct_entry_interest', 'importers_rate_basis_assumed', 'Importers on an assumed rate basis', 'count',
        count(distinct case when rate_basis_is_assumed then importer_number end)
    from interest
    union all
    select 'marts.fct_entry_interest', 'entries_rate_basis_assumed', 'Entries on an assumed rate basis', 'count',
        count(case when rate_basis_is_assumed then 1 end)
    from interest

    union all
    select 'marts.fct_refund_reconciliation', 'unexplained_variance_usd', 'Unexplained refund variance', 'usd',
        coalesce(sum(unexplained_amount), 0)
    from reconciliation
    union all
    select 'marts.fct_refund_reconciliation', 'total_variance_usd', 'Refund variance', 'usd',
        coalesce(sum(variance_amount), 0)
    from reconciliation
    union all
    select 'marts.fct_refund_reconciliation', 'refunds_not_reconciling', 'Refunds whose buckets do not add up',
        'count', count(case when not buckets_reconcile then 1 end)
    from reconciliation

    union all
    select 'marts.fct_offsets', 'offsets_usd', 'Offsets', 'usd', coalesce(sum(offset_amount), 0) from offsets
    union all
    select 'marts.fct_offsets', 'offsets', 'Offsets taken', 'count', count(*) from offsets

)

select
    mart,
    figure,
    label,
    unit,
    cast(value as decimal(38, 2)) as value,
    {{ as_of_date() }} as as_of_date
from figures
