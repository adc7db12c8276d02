-- noqa: disable=AL03
-- (the rows of a union take the names of its first branch; the later branches' expressions stay unnamed)
-- One row per entry and CAPE rule in force on the as_of date: pass, fail or unknown, and what that means for the
-- entry (ineligible, needs_review, warning). The rules, their dates, CBP's error texts and what an unknown does
-- (when_unknown: review or file_with_warning) are rows of the seed cape_rules; the entry types accepted on a date
-- are rows of cape_entry_types.
--
-- Three-valued logic: every fact is TRUE, FALSE or NULL (unknown; int_eligibility__entry_facts). A rule is unknown
-- only when its answer would differ between the values the unknown fact could take: a recon-flagged entry of an
-- accepted type with no type 09 filed passes whatever the flag is.

with

facts as (

    select * from {{ ref('int_eligibility__entry_facts') }}

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

inputs as (

    select
        f.*,
        t.accepted as entry_type_accepted,
        f.entry_type_code in ({{ quoted_list(var('recon_accepted_entry_types')) }}) as is_recon_accepted_type,
        {{ dbt.datediff('f.liquidation_date', as_of_date(), 'day') | trim }} as days_since_liquidation,
        coalesce(f.phase3_from <= {{ as_of_date() }}, false) as is_phase3_open
    from facts as f
    left join entry_types_in_force as t on f.entry_type_code = t.entry_type_code

),

-- A liquidation is final once its protest period is over (19 U.S.C. 1514: 180 days, var protest_window_days) and
-- no protest is open; ES-701 may say so (status Final) or not yet. NULL: liquidated, date unknown.
finality as (

    select
        *,
        case
            when liquidation_status = 'Final' then true
            when liquidation_status not in ('Liquidated', 'Reliquidated') or liquidation_status is null then false
            when has_open_protest then false
            when liquidation_date is null then null
            else days_since_liquidation > {{ var('protest_window_days') }}
        end as is_final
    from inputs

),

-- Each rule: 'fail', 'unknown' or 'pass', with the evidence in words.
evaluated as (

    select entry_summary_number, 'no_ieepa_line' as rule_name,
        case when has_ieepa_line then 'pass' else 'fail' end as result,
        cast(null as varchar) as evidence
    from inputs

    union all
    select entry_summary_number, 'zero_ieepa_principal',
        case when has_ieepa_line and ieepa_principal_amount = 0 then 'fail' else 'pass' end,
        'IEEPA principal ' || cast(ieepa_principal_amount as varchar)
    from inputs

    -- an anomaly of one entry: it goes to review with the amount as evidence, the other entries go on
    union all
    select entry_summary_number, 'negative_ieepa_principal',
        case when ieepa_principal_amount < 0 then 'fail' else 'pass' end,
        'IEEPA principal ' || cast(ieepa_principal_amount as varchar)
    from inputs

    union all
    select entry_summary_number, 'entry_type_not_allowed',
        case when entry_type_accepted is null then 'unknown' when entry_type_accepted then 'pass' else 'fail' end,
        'entry type ' || coalesce(entry_type_code, '?')
            || case when entry_type_accepted is null then ' (not in the seed cape_entry_types)' else '' end
    from inputs

    union all
    select entry_summary_number, 'recon_flagged',
        case when is_recon_flagged is null then 'unknown' when is_recon_flagged then 'fail' else 'pass' end,
        case when is_recon_flagged is null then 'no export of the entry carried the Reconciliation Indicator' end
    from inputs

    -- fails only when flagged AND (a type CAPE does not take when flagged, OR a type 09 was filed)
    union all
    select entry_summary_number, 'recon_flagged_type09_filed',
        case
            when is_recon_flagged = false then 'pass'
            when is_recon_accepted_type and has_recon_type09_filed = false then 'pass'
            when is_recon_flagged and (not is_recon_accepted_type or has_recon_type09_filed) then 'fail'
            else 'unknown'
        end,
        'entry type ' || coalesce(entry_type_code, '?')
            || case when is_recon_flagged is null then '; recon flag unknown' else '' end
            || case when has_recon_type09_filed is null then '; type 09 filed unknown' else '' end
    from inputs

    union all
    select entry_summary_number, 'drawback',
        case when has_drawback is null then 'unknown' when has_drawback then 'fail' else 'pass' end,
        case when has_drawback is null then 'no entry flags file and no Drawback Indicator on ES-701' end
    from inputs

    union all
    select entry_summary_number, 'protest_open',
        case when has_open_protest is null then 'unknown' when has_open_protest then 'fail' else 'pass' end,
        case when has_open_protest is null then 'liquidated; no entry flags file and no Protest Status on ES-701' end
    from inputs

    union all
    select entry_summary_number, 'adcvd_pending',
        case when is_adcvd_pending is null then 'unknown' when is_adcvd_pending then 'fail' else 'pass' end,
        case when is_adcvd_pending is null then 'no entry flags file and no AD/CVD Indicator on ES-003' end
    from inputs

    union all
    select entry_summary_number, 'summary_cancelled_or_rejected',
        case
            when entry_summary_status is null then 'unknown'
            when entry_summary_status in ('Cancelled', 'Rejected') then 'fail'
            else 'pass'
        end,
        coalesce(entry_summary_status, 'no export of the entry carried the Entry Summary Status')
    from inputs

    -- CAPE Phase 3 (a dated setting per importer, off by default) takes finally liquidated entries
    union all
    select entry_summary_number, 'final_liquidation',
        case
            when is_final and is_phase3_open then 'pass'
            when is_final then 'fail'
            when is_final is null and not is_phase3_open then 'unknown'
            else 'pass'
        end,
        coalesce(liquidation_status, 'unliquidated')
            || case when is_final and liquidation_status <> 'Final' then ', final by age' else '' end
            || case when is_phase3_open then '; CAPE Phase 3 open to the importer from '
                || cast(phase3_from as varchar) else '' end
    from finality

    union all
    select entry_summary_number, 'liquidated_beyond_window',
        case
            when liquidation_status not in ('Liquidated', 'Reliquidated', 'Final') or liquidation_status is null
                then 'pass'
            when is_final and is_phase3_open then 'pass'
            when liquidation_date is null then 'unknown'
            when days_since_liquidation > {{ var('cape_liquidation_window_days') }} then 'fail'
            else 'pass'
        end,
        'liquidated ' || cast(liquidation_date as varchar) || ', ' || cast(days_since_liquidation as varchar)
            || ' days before ' || cast({{ as_of_date() }} as varchar)
            || case when is_final and is_phase3_open then '; final, CAPE Phase 3 open to the importer' else '' end
    from finality

    -- unknown when no ES-022 export says what CAPE has seen, or a declaration shows a status nobody knows
    union all
    select entry_summary_number, 'already_accepted',
        case
            when accepted_declaration_count > 0 then 'fail'
            when unknown_cape_status_count > 0 or not is_es022_loaded then 'unknown'
            else 'pass'
        end,
        case
            when accepted_declaration_count > 0 then first_accepted_declaration_number
            when unknown_cape_status_count > 0 then 'status unknown to the pipeline: ' || unknown_cape_statuses
            when not is_es022_loaded then 'no ES-022 export loaded: which entries CAPE accepted is unknown'
        end
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
        case
            when duty_mismatch_row_count > 0 then 'fail'
            when duty_unchecked_row_count > 0 then 'unknown'
            else 'pass'
        end,
        cast(duty_mismatch_row_count as varchar) || ' row(s) off'
            || case when duty_unchecked_row_count > 0
                then ', ' || cast(duty_unchecked_row_count as varchar) || ' row(s) on a line without goods value'
                else '' end
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
        case
            when usmca_fentanyl_paid_row_count > 0 then 'fail'
            when usmca_claim_unknown_row_count > 0 then 'unknown'
            else 'pass'
        end,
        cast(usmca_fentanyl_paid_row_count as varchar) || ' row(s)'
            || case when usmca_claim_unknown_row_count > 0
                then ', ' || cast(usmca_claim_unknown_row_count as varchar) || ' without Line SPI Code'
                else '' end
    from inputs

    union all
    select entry_summary_number, 'psc_pending',
        case when is_psc_pending is null then 'unknown' when is_psc_pending then 'fail' else 'pass' end,
        case when is_psc_pending is null then 'no entry flags file' end
    from inputs

)

select
    e.entry_summary_number,
    r.rule_id,
    r.rule_name,
    e.result,
    case
        when e.result = 'pass' then 'pass'
        when e.result = 'unknown' and r.when_unknown = 'file_with_warning' then 'warning'
        when e.result = 'unknown' then 'needs_review'
        else r.outcome_when_failed
    end as outcome,
    case when e.result = 'fail' then r.cbp_error_text end as cbp_error_text,
    e.evidence,
    r.status as rule_status,
    {{ as_of_date() }} as as_of_date
from evaluated as e
inner join rules_in_force as r on e.rule_name = r.rule_name
