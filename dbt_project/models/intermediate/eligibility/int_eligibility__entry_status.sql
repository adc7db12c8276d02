-- Per entry, as of the run's date: can it go on a CAPE declaration today, for how much, and if not, every
-- reason (with CBP's error text where one is known) and the remedy still open: a protest within 180 days of
-- liquidation for entries past the 80-day cliff, a post-summary correction for entries that need one first.

with

entries as (

    select * from {{ ref('int_eligibility__entry_refundable') }}

),

rule_results as (

    select * from {{ ref('int_eligibility__rule_results') }}

),

liquidations as (

    select * from {{ ref('int_entry_liquidation') }}

),

-- the PSC errors that close the correction path: 864 (after CAPE acceptance), F883 (FTZ type 06)
psc_errors as (

    select * from {{ ref('cbp_error_texts') }}
    where applies_to = 'psc'

),

not_passed as (

    select * from rule_results
    where outcome <> 'pass'

),

reasons as (

    select
        entry_summary_number,
        max(case when rule_name = 'already_accepted' and result = 'fail' then 1 else 0 end) = 1 as is_already_accepted,
        max(case when outcome = 'ineligible' then 1 else 0 end) = 1 as has_ineligible_reason,
        max(case when outcome = 'needs_review' then 1 else 0 end) = 1 as has_review_reason,
        max(case when rule_name in ('liquidated_beyond_window', 'final_liquidation') then 1 else 0 end) = 1
            as missed_liquidation_window,
        max(case when rule_name in ('duty_mismatch', 'unknown_ieepa_heading', 'usmca_fentanyl_paid')
            then 1 else 0 end) = 1 as needs_correction,
        -- the entry's not-passed rules sorted by rule id (the first field), once; the three lists below are read
        -- from it. Three ordered string_aggs over the 2.6 M not-passed rows at 1,000,000 entries took about
        -- twice as long (each sorts every group again).
        list_sort(list({ 'rule_id': rule_id, 'rule_name': rule_name, 'outcome': outcome, 'result': result }))
            as rules
    from not_passed
    group by entry_summary_number

),

reason_lists as (

    -- rule names joined with ', ' in rule id order; null when there are none (as string_agg gives). RF03 is off
    -- here: a lambda's parameter (r.outcome) reads to the linter as a table-qualified reference.
    -- noqa: disable=RF03
    select
        * exclude (rules),
        nullif(array_to_string(list_transform(
            list_filter(rules, lambda r: r.outcome <> 'warning'), lambda r: r.rule_name), ', '), '') as reason_codes,
        nullif(array_to_string(list_transform(
            list_filter(rules, lambda r: r.outcome = 'warning'), lambda r: r.rule_name), ', '), '') as warning_codes,
        nullif(array_to_string(list_transform(
            list_filter(rules, lambda r: r.result = 'unknown'), lambda r: r.rule_name), ', '), '') as unknown_inputs
    from reasons
    -- noqa: enable=RF03

),

cbp_texts as (

    select
        entry_summary_number,
        {{ dbt.listagg('cbp_error_text', "'; '", 'order by cbp_error_text') }} as cbp_error_texts
    from (
        select distinct entry_summary_number, cbp_error_text from not_passed
        where cbp_error_text is not null
    ) as t
    group by entry_summary_number

),

assessed as (

    select
        e.entry_summary_number,
        e.importer_number,
        e.filer_code,
        e.entry_type_code,
        e.entry_date,
        e.entry_summary_date,
        e.ieepa_principal_amount,
        e.ieepa_programs,
        l.liquidation_status,
        l.liquidation_date,
        case
            when coalesce(r.is_already_accepted, false) then 'already_accepted'
            when coalesce(r.has_ineligible_reason, false) then 'ineligible'
            when coalesce(r.has_review_reason, false) then 'needs_review'
            else 'eligible'
        end as eligibility_status,
        r.reason_codes,
        r.warning_codes,
        r.unknown_inputs,
        t.cbp_error_texts,
        coalesce(r.missed_liquidation_window, false) as missed_liquidation_window,
        coalesce(r.needs_correction, false) as needs_correction,
        cast({{ dbt.dateadd('day', var('protest_window_days'), 'l.liquidation_date') }} as date) as protest_deadline,
        -- scheduled liquidation: the real date once liquidated, else CBP's usual lag after entry (estimate)
        cast({{ dbt.dateadd('day', var('scheduled_liquidation_days'), 'e.entry_date') }} as date)
            as estimated_liquidation_date,
        cast({{ dbt.dateadd('day', var('psc_window_days'), 'e.entry_date') }} as date) as psc_window_end,
        case
            when coalesce(r.is_already_accepted, false) then '864'
            when e.entry_type_code in ({{ quoted_list(var('psc_blocked_entry_types')) }}) then 'F883'
        end as psc_block_code,
        -- a court action (28 U.S.C. 1581(i)) within court_action_years, counted from the liquidation (INFERRED)
        cast({{ dbt.dateadd('year', var('court_action_years'), 'l.liquidation_date') }} as date)
            as court_action_deadline
    from entries as e
    left join reason_lists as r on e.entry_summary_number = r.entry_summary_number
    left join cbp_texts as t on e.entry_summary_number = t.entry_summary_number
    left join liquidations as l on e.entry_summary_number = l.entry_summary_number

)

select
    a.*,
    {{ as_of_date() }} as as_of_date,
    a.eligibility_status = 'eligible' as is_eligible,
    a.warning_codes is not null as has_warnings,
    case when a.eligibility_status = 'eligible' then a.ieepa_principal_amount else 0 end as eligible_principal_amount,

    -- past the cliff: a protest (19 CFR Part 174) within 180 days of liquidation
    case
        when a.missed_liquidation_window and a.liquidation_date is not null
            then case when {{ as_of_date() }} <= a.protest_deadline then 'protest_open' else 'protest_expired' end
    end as protest_path,
    case
        when a.missed_liquidation_window and a.liquidation_date is not null
            then {{ dbt.datediff(as_of_date(), 'a.protest_deadline', 'day') }}
    end as protest_days_left,

    -- needs a correction first: PSC within 300 days of entry and 15 days before scheduled liquidation, unless CBP
    -- refuses a PSC on the entry (864 after CAPE acceptance, F883 on an FTZ type 06 entry's IEEPA HTS)
    case
        when a.needs_correction then
            case
                when a.liquidation_date is not null or a.psc_block_code is not null then false
                else {{ as_of_date() }} <= least(
                    a.psc_window_end,
                    cast({{ dbt.dateadd('day', -var('psc_days_before_liquidation'), 'a.estimated_liquidation_date') }}
                        as date))
            end
    end as is_psc_possible,
    case
        when a.needs_correction and a.liquidation_date is null and a.psc_block_code is null then least(
            a.psc_window_end,
            cast({{ dbt.dateadd('day', -var('psc_days_before_liquidation'), 'a.estimated_liquidation_date') }}
                as date))
    end as psc_deadline,
    case when a.needs_correction then p.error_code || ' ' || p.error_text end as psc_blocked_by,
    case
        when a.court_action_deadline is not null
            then {{ dbt.datediff(as_of_date(), 'a.court_action_deadline', 'day') }}
    end as court_action_days_left
from assessed as a
left join psc_errors as p on a.psc_block_code = p.error_code
