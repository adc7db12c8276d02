-- One row per CAPE declaration submitted on or before the as_of date: how many of its entries CBP accepted,
-- rejected, liquidated, refunded, paid and holds, how many are overdue against CBP's 60-90 day window, the money,
-- and one stage for the whole declaration. Built on fct_claim_status (declaration x entry).

with

claims as (

    select * from {{ ref('int_refunds__claim_status') }}

),

refund_lists as (

    select
        cape_declaration_number,
        count(*) as refund_count,
        {{ dbt.listagg('refund_number', "', '", 'order by refund_number') }} as refund_numbers
    from (
        select distinct cape_declaration_number, refund_number
        from claims
        where refund_number is not null
    ) as r
    group by cape_declaration_number

),

by_declaration as (

    select
        cape_declaration_number,
        max(filer_code) as filer_code,
        max(declaration_submission_date) as declaration_submission_date,
        count(distinct importer_number) as importer_count,
        count(*) as entry_count,
        count(case when is_accepted then 1 end) as accepted_count,
        count(case when is_rejected then 1 end) as rejected_count,
        count(case when is_liquidated then 1 end) as liquidated_count,
        count(case when is_nothing_to_refund then 1 end) as nothing_to_refund_count,
        count(case when is_refund_sent then 1 end) as refund_sent_count,
        count(case when is_paid then 1 end) as paid_count,
        count(case when is_held then 1 end) as held_count,
        count(case when refund_window_status = 'before_window' then 1 end) as before_window_count,
        count(case when refund_window_status = 'in_window' then 1 end) as in_window_count,
        count(case when is_overdue then 1 end) as overdue_count,
        count(case when refund_window_status = 'awaiting_suspended_liquidation' then 1 end)
            as awaiting_suspended_liquidation_count,
        cast(sum(case when is_accepted then expected_principal_amount else 0 end) as decimal(18, 2))
            as accepted_expected_principal_amount,
        cast(sum(case when is_overdue then expected_principal_amount else 0 end) as decimal(18, 2))
            as overdue_expected_principal_amount,
        cast(sum(case when is_accepted then coalesce(stated_refund_amount, 0) else 0 end) as decimal(18, 2))
            as stated_refund_amount,
        cast(sum(case when is_paid then coalesce(stated_refund_amount, 0) else 0 end) as decimal(18, 2))
            as paid_refund_amount,
        max(days_since_acceptance) as days_since_acceptance,
        min(refund_window_opens_on) as refund_window_opens_on,
        min(refund_window_closes_on) as refund_window_closes_on
    from claims
    group by cape_declaration_number

)

select
    d.cape_declaration_number,
    d.filer_code,
    d.declaration_submission_date,
    d.importer_count,
    d.entry_count,
    d.accepted_count,
    d.rejected_count,
    d.liquidated_count,
    d.nothing_to_refund_count,
    d.refund_sent_count,
    d.paid_count,
    d.held_count,
    d.before_window_count,
    d.in_window_count,
    d.overdue_count,
    d.awaiting_suspended_liquidation_count,
    coalesce(r.refund_count, 0) as refund_count,
    r.refund_numbers,
    d.accepted_expected_principal_amount,
    d.overdue_expected_principal_amount,
    d.stated_refund_amount,
    d.paid_refund_amount,
    d.days_since_acceptance,
    d.refund_window_opens_on,
    d.refund_window_closes_on,
    case
        when d.accepted_count = 0 then 'nothing_accepted'
        when d.held_count > 0 then 'held'
        when d.overdue_count > 0 then 'overdue'
        when d.paid_count + d.nothing_to_refund_count = d.accepted_count then 'closed'
        else 'in_progress'
    end as declaration_stage,
    d.overdue_count > 0 as is_overdue,
    {{ as_of_date() }} as as_of_date,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from by_declaration as d
left join refund_lists as r on d.cape_declaration_number = r.cape_declaration_number
