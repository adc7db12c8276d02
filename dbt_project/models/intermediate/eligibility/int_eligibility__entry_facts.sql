-- Per entry: every fact a CAPE rule reads, three-valued: TRUE / FALSE when known, NULL when nobody has the input
-- (an export without the column, no entry flags file, no ES-022 export). The rules (fct_entry_rule_results)
-- decide from these facts alone, so a missing input makes a rule unknown only where its answer depends on it.

with

entries as (

    select * from {{ ref('int_eligibility__entry_refundable') }}

),

liquidations as (

    select * from {{ ref('int_entry_liquidation') }}

),

cape_history as (

    select * from {{ ref('int_eligibility__cape_history') }}

),

flags as (

    select * from {{ ref('stg_reference__entry_flags') }}

),

profiles as (

    select * from {{ ref('stg_reference__importer_profiles') }}

),

-- The entry flags file, when present, is complete: an entry it does not list has none of its flags.
flags_file as (

    select coalesce(max(case when is_present then 1 else 0 end), 0) = 1 as is_present
    from {{ ref('stg_reference__reference_files') }}
    where file_kind = 'entry_flags'

),

-- Any ES-022 export loaded (even an empty one) says which entries CAPE has seen; none loaded, nobody knows.
es022_exports as (

    select count(*) > 0 as is_loaded
    from {{ ref('stg_ingest__file_ledger') }}
    where report_code = 'es022' and status = 'loaded'

)

select
    e.entry_summary_number,
    e.entry_number_check,
    e.entry_type_code,
    e.entry_date,
    e.entry_summary_status,
    e.has_ieepa_line,
    e.ieepa_principal_amount,
    e.unknown_ieepa_heading_row_count,
    e.duty_mismatch_row_count,
    e.duty_unchecked_row_count,
    e.usmca_fentanyl_paid_row_count,
    e.usmca_claim_unknown_row_count,
    e.is_recon_flagged,
    l.liquidation_status,
    l.liquidation_date,
    p.phase3_from,
    x.is_loaded as is_es022_loaded,
    coalesce(c.accepted_declaration_count, 0) as accepted_declaration_count,
    c.first_accepted_declaration_number,
    coalesce(c.unknown_status_count, 0) as unknown_cape_status_count,
    c.unknown_statuses as unknown_cape_statuses,
    case
        when coalesce(f.has_drawback_claim, false) or coalesce(l.notice_drawback, false) then true
        when ff.is_present then false
        when l.notice_drawback is not null then false
    end as has_drawback,
    case
        when f.protest_status in ('Open', 'Suspended') or coalesce(l.notice_open_protest, false) then true
        when ff.is_present then false
        when l.entry_summary_number is null then false  -- a protest needs a liquidation to contest
        when l.notice_open_protest is not null then false
    end as has_open_protest,
    case
        when coalesce(f.is_adcvd_pending, false) then true
        when e.is_adcvd_entry and (l.entry_summary_number is null or l.liquidation_status in ('Suspended', 'Extended'))
            then true
        when e.is_adcvd_entry is not null or ff.is_present then false
    end as is_adcvd_pending,
    case when ff.is_present then coalesce(f.is_psc_pending, false) end as is_psc_pending,
    case when ff.is_present then coalesce(f.has_recon_type09_filed, false) end as has_recon_type09_filed
from entries as e
cross join flags_file as ff
cross join es022_exports as x
left join liquidations as l on e.entry_summary_number = l.entry_summary_number
left join cape_history as c on e.entry_summary_number = c.entry_summary_number
left join flags as f on e.entry_summary_number = f.entry_summary_number
left join profiles as p on e.importer_number = p.importer_number
