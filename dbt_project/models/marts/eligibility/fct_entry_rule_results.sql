-- One row per entry and CAPE rule in force on the as_of date: pass, fail or unknown (an input is missing), and
-- what that means for the entry (ineligible, needs_review, warning). The rules, their dates and CBP's error texts
-- are rows of the seed cape_rules; the entry types accepted on a date are rows of cape_entry_types.

with

entries as (

    select * from {{ ref('fct_entry_refundable') }}

),

liquidations as (

    select * from {{ ref('int_entry_liquidation') }}

),

cape_history as (

    select * from {{ ref('int_entry_cape_history') }}

),

flags as (

    select * from {{ ref('stg_reference__entry_flags') }}

),

flags_file as (

    select coalesce(max(case when is_present then 1 else 0 end), 0) = 1 as is_present
    from {{ ref('stg_reference__reference_files') }}
    where file_kind = 'entry_flags'

),

rules_in_force as (

    select * from {{ ref('cape_rules') }}
    where {{ as_of_date() }} >= effective_from
        and (effective_to is null or {{ as_of_date() }} <= effective_to)

),

entry_types_in_force as (

    select * from {{ ref('cape_entry_types') }}
    where {{ as_of_date() }} >= effective_from
        and (effective_to is null or {{ as_of_date() }} <= effective_to)

),

-- Every fact a rule reads, per entry; NULL = unknown.
inputs as (

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
        e.usmca_fentanyl_paid_row_count,
        e.is_recon_flagged,
        t.accepted as entry_type_accepted,
        l.liquidation_status,
        l.liquidation_date,
        {{ dbt.datediff('l.liquidation_date', as_of_date(), 'day') }} as days_since_liquidation,
        coalesce(c.accepted_declaration_count, 0) as accepted_declaration_count,
        c.first_accepted_declaration_number,
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
    left join liquidations as l on e.entry_summary_number = l.entry_summary_number
    left join cape_history as c on e.entry_summary_number = c.entry_summary_number
    left join flags as f on e.entry_summary_number = f.entry_summary_number
    left join entry_types_in_force as t on e.entry_type_code = t.entry_type_code

),

-- Each rule: 'fail', 'unknown' or 'pass', with the evidence in words.
evaluated as (

    select entry_summary_number, 'no_ieepa_line' as rule_name,
        case when has_ieepa_line then 'pass' else 'fail' end as result,
        cast(null as varchar) as evidence
    from inputs

    union all
    select entry_summary_number, 'zero_ieepa_principal',
        case when has_ieepa_line and ieepa_principal_amount <= 0 then 'fail' else 'pass' end,
        'IEEPA principal ' || cast(ieepa_principal_amount as varchar)
    from inputs

    union all
    select entry_summary_number, 'entry_type_not_allowed',
        case when entry_type_accepted is null then 'unknown' when entry_type_accepted then 'pass' else 'fail' end,
        'entry type ' || coalesce(entry_type_code, '?')
    from inputs

    union all
    select entry_summary_number, 'recon_flagged',
        case when is_recon_flagged is null then 'unknown' when is_recon_flagged then 'fail' else 'pass' end,
        null
    from inputs

    union all
    select entry_summary_number, 'recon_flagged_type09_filed',
        case
            when is_recon_flagged is null then 'unknown'
            when not is_recon_flagged then 'pass'
            when entry_type_code not in ('{{ var("recon_accepted_entry_types") | join("', '") }}') then 'fail'
            when has_recon_type09_filed is null then 'unknown'
            when has_recon_type09_filed then 'fail'
            else 'pass'
        end,
        'entry type ' || coalesce(entry_type_code, '?')
    from inputs

    union all
    select entry_summary_number, 'drawback',
        case when has_drawback is null then 'unknown' when has_drawback then 'fail' else 'pass' end, null
    from inputs

    union all
    select entry_summary_number, 'protest_open',
        case when has_open_protest is null then 'unknown' when has_open_protest then 'fail' else 'pass' end, null
    from inputs

    union all
    select entry_summary_number, 'adcvd_pending',
        case when is_adcvd_pending is null then 'unknown' when is_adcvd_pending then 'fail' else 'pass' end, null
    from inputs

    union all
    select entry_summary_number, 'summary_cancelled_or_rejected',
        case
            when entry_summary_status is null then 'unknown'
            when entry_summary_status in ('Cancelled', 'Rejected') then 'fail'
            else 'pass'
        end,
        entry_summary_status
    from inputs

    union all
    select entry_summary_number, 'final_liquidation',
        case when liquidation_status = 'Final' then 'fail' else 'pass' end,
        liquidation_status
    from inputs

    union all
    select entry_summary_number, 'liquidated_beyond_window',
        case
            when liquidation_status not in ('Liquidated', 'Reliquidated') or liquidation_status is null then 'pass'
            when liquidation_date is null then 'unknown'
            when days_since_liquidation > {{ var('cape_liquidation_window_days') }} then 'fail'
            else 'pass'
        end,
        'liquidated ' || cast(liquidation_date as varchar) || ', ' || cast(days_since_liquidation as varchar)
            || ' days before ' || cast({{ as_of_date() }} as varchar)
    from inputs

    union all
    select entry_summary_number, 'already_accepted',
        case when accepted_declaration_count > 0 then 'fail' else 'pass' end,
        first_accepted_declaration_number
    from inputs

    union all
    select entry_summary_number, 'entry_number_invalid',
        case when entry_number_check = 'valid' then 'pass' else 'fail' end, entry_number_check
    from inputs

    union all
    select entry_summary_number, 'unknown_ieepa_heading',
        case when unknown_ieepa_heading_row_count > 0 then 'fail' else 'pass' end,
        cast(unknown_ieepa_heading_row_count as varchar) || ' row(s)'
    from inputs

    union all
    select entry_summary_number, 'duty_mismatch',
        case when duty_mismatch_row_count > 0 then 'fail' else 'pass' end,
        cast(duty_mismatch_row_count as varchar) || ' row(s)'
    from inputs

    union all
    select entry_summary_number, 'entry_date_outside_ieepa_window',
        case
            when has_ieepa_line and (entry_date < cast('{{ var("ieepa_window_from") }}' as date)
                or entry_date > cast('{{ var("ieepa_window_to") }}' as date)) then 'fail'
            else 'pass'
        end,
        'entry date ' || cast(entry_date as varchar)
    from inputs

    union all
    select entry_summary_number, 'usmca_fentanyl_paid',
        case when usmca_fentanyl_paid_row_count > 0 then 'fail' else 'pass' end,
        cast(usmca_fentanyl_paid_row_count as varchar) || ' row(s)'
    from inputs

    union all
    select entry_summary_number, 'psc_pending',
        case when is_psc_pending is null then 'unknown' when is_psc_pending then 'fail' else 'pass' end, null
    from inputs

)

select
    e.entry_summary_number,
    r.rule_id,
    r.rule_name,
    e.result,
    case
        when e.result = 'pass' then 'pass'
        when e.result = 'unknown' then 'needs_review'
        else r.outcome_when_failed
    end as outcome,
    case when e.result = 'fail' then r.cbp_error_text end as cbp_error_text,
    e.evidence,
    r.status as rule_status,
    {{ as_of_date() }} as as_of_date
from evaluated as e
inner join rules_in_force as r on e.rule_name = r.rule_name
