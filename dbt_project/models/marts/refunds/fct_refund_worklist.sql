-- The finance team's list of what to chase, as of the as_of date, one row per item, ranked by amount (item_rank 1
-- is the largest). Items worth less than var refund_worklist_min_amount are left out; interest items also below
-- var interest_tolerance_amount. Reasons, next actions and whom to chase come from the seed
-- refund_worklist_actions (editable advice, each with its status); for offsets the debt's dispute path names the
-- party.
--   ach_returned_held      refund      the ACH payment came back and CBP holds it          amount held
--   principal_short_paid   entry       CBP refunded less principal than deposited          principal short
--   interest_underpaid     entry       CBP's interest is short by an identified error      interest short
--   unexplained_shortfall  refund      short by an amount nothing explains                 unexplained amount
--   offset_unidentified    debt        funds diverted to a debt REV-603 does not identify  amount diverted
--   offset_to_validate     debt        offset whose validation / dispute steps are open    amount diverted
--   claim_overdue          declaration entries accepted > refund_window_max_days, unpaid   principal expected
--   held_for_review        entry       eligibility holds it back for a person (anomaly,     IEEPA principal
--                                      unknown that the rule says to review), with the rules'
--                                      reasons
--   protest_window_open    entry       past the 80-day CAPE window: protest by the deadline  IEEPA principal
--   court_action_window_open entry     protest window closed: a court action (1581(i))      IEEPA principal
--                                      until its deadline
--   importer_profile_missing importer no profile: its interest uses an assumed rate basis  interest riding on it
--                                      (var interest_rate_basis_when_importer_unknown); listed whatever the amount:
--                                      every figure of the importer depends on it. Amount: |interest on the assumed
--                                      column - interest on the other| over its entries

{%- set min_amount = var('refund_worklist_min_amount') %}
{%- set interest_tolerance = var('interest_tolerance_amount') %}
{%- set window_max = var('refund_window_max_days') %}

with

refunds as (

    select * from {{ ref('int_refunds__reconciliation') }}

),

refund_entries as (

    select * from {{ ref('int_refunds__entries') }}

),

debts as (

    select * from {{ ref('int_refunds__offset_debts') }}

),

claims as (

    select * from {{ ref('int_refunds__claim_status') }}

),

entry_interest as (

    select * from {{ ref('int_interest__entry_interest') }}

),

eligibility as (

    select * from {{ ref('int_eligibility__entry_status') }}

),

actions as (

    select * from {{ ref('refund_worklist_actions') }}

),

ach_items as (

    select
        'ach_returned_held' as reason_code,
        'refund' as subject_type,
        refund_number as subject_id,
        refund_number,
        cast(null as {{ dbt.type_string() }}) as entry_summary_number,
        cast(null as {{ dbt.type_string() }}) as cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        ach_returned_held_amount as amount,
        'REV-613 ' || coalesce(ach_return_reason_code, '') || ', ' || coalesce(ach_hold_status, 'held')
            as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        ach_return_date as opened_on,
        cast(null as date) as act_by
    from refunds
    where is_ach_held
      and ach_returned_held_amount >= {{ min_amount }}

),

principal_items as (

    select
        'principal_short_paid' as reason_code,
        'entry' as subject_type,
        refund_number || '/' || entry_summary_number as subject_id,
        refund_number,
        entry_summary_number,
        cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        principal_shortfall_amount as amount,
        'expected ' || cast(expected_principal_amount as {{ dbt.type_string() }})
            || ', CBP stated ' || cast(stated_principal_amount as {{ dbt.type_string() }}) as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        liquidation_date as opened_on,
        -- a protest of the (re)liquidation runs 180 days from it (var protest_window_days)
        cast({{ dbt.dateadd('day', var('protest_window_days'), 'liquidation_date') }} as date) as act_by
    from refund_entries
    where principal_shortfall_amount >= {{ min_amount }}

),

interest_items as (

    select
        'interest_underpaid' as reason_code,
        'entry' as subject_type,
        refund_number || '/' || entry_summary_number as subject_id,
        refund_number,
        entry_summary_number,
        cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        explained_interest_shortfall_amount as amount,
        'CBP''s figure matches: ' || interest_explanation
            || '; expected ' || cast(expected_interest_amount as {{ dbt.type_string() }})
            || ', CBP stated ' || cast(stated_interest_amount as {{ dbt.type_string() }}) as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        liquidation_date as opened_on,
        cast({{ dbt.dateadd('day', var('protest_window_days'), 'liquidation_date') }} as date) as act_by
    from refund_entries
    where explained_interest_shortfall_amount >= {{ min_amount }}
      and explained_interest_shortfall_amount > {{ interest_tolerance }}

),

unexplained_items as (

    select
        'unexplained_shortfall' as reason_code,
        'refund' as subject_type,
        refund_number as subject_id,
        refund_number,
        cast(null as {{ dbt.type_string() }}) as entry_summary_number,
        cast(null as {{ dbt.type_string() }}) as cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        unexplained_amount as amount,
        'interest ' || cast(unexplained_interest_amount as {{ dbt.type_string() }})
            || ', entries vs REV-603 gross ' || cast(unexplained_report_gap_amount as {{ dbt.type_string() }})
            || ', gross - offsets - net ' || cast(unexplained_net_gap_amount as {{ dbt.type_string() }}) as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        coalesce(refund_date, liquidation_date) as opened_on,
        cast(null as date) as act_by
    from refunds
    where unexplained_amount >= {{ min_amount }}

),

offset_items as (

    select
        case when is_type_identified then 'offset_to_validate' else 'offset_unidentified' end as reason_code,
        'debt' as subject_type,
        debt_key as subject_id,
        refund_numbers as refund_number,
        cast(null as {{ dbt.type_string() }}) as entry_summary_number,
        cast(null as {{ dbt.type_string() }}) as cape_declaration_number,
        debt_key,
        importer_number,
        total_offset_amount as amount,
        coalesce(offset_type, 'type unknown') || coalesce(' ' || debt_reference, '')
            || case when offset_type_code = 'cbp_debt' then '' else coalesce(' (' || originating_agency || ')', '') end
            || '; next step: ' || coalesce(next_step, '') || '; open: ' || open_steps as detail,
        dispute_with as chase_with_override,
        last_offset_date as opened_on,
        cast(null as date) as act_by
    from debts
    where not is_closed
      and total_offset_amount >= {{ min_amount }}

),

overdue_items as (

    select
        'claim_overdue' as reason_code,
        'declaration' as subject_type,
        cape_declaration_number as subject_id,
        cast(null as {{ dbt.type_string() }}) as refund_number,
        cast(null as {{ dbt.type_string() }}) as entry_summary_number,
        cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        max(importer_number) as importer_number,
        cast(sum(coalesce(expected_principal_amount, 0)) as decimal(18, 2)) as amount,
        cast(count(*) as {{ dbt.type_string() }})
            || ' entries accepted on ' || cast(max(declaration_submission_date) as {{ dbt.type_string() }})
            || ', unpaid after ' || cast(max(days_since_acceptance) as {{ dbt.type_string() }}) || ' days' as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        max(refund_window_closes_on) as opened_on,
        cast(null as date) as act_by
    from claims
    where is_overdue
    group by cape_declaration_number
    having sum(coalesce(expected_principal_amount, 0)) >= {{ min_amount }}

),

profile_items as (

    select
        'importer_profile_missing' as reason_code,
        'importer' as subject_type,
        importer_number as subject_id,
        cast(null as {{ dbt.type_string() }}) as refund_number,
        cast(null as {{ dbt.type_string() }}) as entry_summary_number,
        cast(null as {{ dbt.type_string() }}) as cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        cast(coalesce(sum(abs(interest_cbp_daily_compound - alt_other_rate_column_interest)), 0) as decimal(18, 2))
            as amount,
        cast(count(*) as {{ dbt.type_string() }}) || ' entries on the assumed ' || max(rate_basis)
            || ' rate basis: interest ' || cast(sum(interest_cbp_daily_compound) as {{ dbt.type_string() }})
            || ', on the other column ' || cast(sum(alt_other_rate_column_interest) as {{ dbt.type_string() }})
            as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        min(deposit_date) as opened_on,
        cast(null as date) as act_by
    from entry_interest
    where rate_basis_is_assumed
    group by importer_number

),

-- Entries not on a refund yet: held back for review, or past the CAPE window with a remedy still open.
entry_items as (

    select
        case
            when eligibility_status = 'needs_review' then 'held_for_review'
            when protest_path = 'protest_open' then 'protest_window_open'
            else 'court_action_window_open'
        end as reason_code,
        'entry' as subject_type,
        entry_summary_number as subject_id,
        cast(null as {{ dbt.type_string() }}) as refund_number,
        entry_summary_number,
        cast(null as {{ dbt.type_string() }}) as cape_declaration_number,
        cast(null as {{ dbt.type_string() }}) as debt_key,
        importer_number,
        abs(ieepa_principal_amount) as amount,
        case
            when eligibility_status = 'needs_review' then 'held back: ' || coalesce(reason_codes, '')
            when protest_path = 'protest_open' then 'liquidated ' || cast(liquidation_date as {{ dbt.type_string() }})
                || ', protest within ' || cast(protest_days_left as {{ dbt.type_string() }}) || ' days'
            else 'liquidated ' || cast(liquidation_date as {{ dbt.type_string() }}) || ', protest window closed, '
                || cast(court_action_days_left as {{ dbt.type_string() }}) || ' days left for a court action'
        end as detail,
        cast(null as {{ dbt.type_string() }}) as chase_with_override,
        coalesce(liquidation_date, entry_summary_date) as opened_on,
        case
            when eligibility_status = 'needs_review' then cast(null as date)
            when protest_path = 'protest_open' then protest_deadline
            else court_action_deadline
        end as act_by
    from eligibility
    where ieepa_principal_amount <> 0
        and (
            eligibility_status = 'needs_review'
            or protest_path = 'protest_open'
            or (protest_path = 'protest_expired' and court_action_days_left >= 0)
        )
        and abs(ieepa_principal_amount) >= {{ min_amount }}

),

items as (

    select * from ach_items
    union all
    select * from principal_items
    union all
    select * from interest_items
    union all
    select * from unexplained_items
    union all
    select * from offset_items
    union all
    select * from overdue_items
    union all
    select * from profile_items
    union all
    select * from entry_items

),

ranked as (

    select
        i.*,
        a.reason,
        a.next_action,
        coalesce(i.chase_with_override, a.chase_with) as chase_with,
        a.basis_status,
        row_number() over (order by i.amount desc, a.sort_order asc, i.subject_id asc) as item_rank
    from items as i
    left join actions as a on i.reason_code = a.reason_code

)

select
    item_rank,
    reason_code || ':' || subject_id as item_key,
    reason_code,
    reason,
    subject_type,
    subject_id,
    cast(amount as decimal(18, 2)) as amount,
    detail,
    next_action,
    chase_with,
    basis_status,
    importer_number,
    refund_number,
    entry_summary_number,
    cape_declaration_number,
    debt_key,
    opened_on,
    {{ dbt.datediff('opened_on', as_of_date(), 'day') | trim }} as days_open,
    act_by,
    {{ as_of_date() }} as as_of_date,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from ranked
