-- One row per (CAPE declaration, entry) submitted on or before the as_of date: where the claim stands. Submitted,
-- accepted or rejected (CBP's error text), liquidated by CAPE, refund sent to Treasury, paid, held (ACH returned);
-- days since acceptance against CBP's 60-90 day window (vars refund_window_min_days / _max_days, SECONDARY) and
-- the overdue flag, as of {{ as_of_date() }}.
--
-- ES-022 carries no acceptance date: CBP validates a declaration when it is submitted, so the submission date is
-- the acceptance date (INFERRED). An entry whose liquidation is suspended or extended is accepted and refunded only
-- at liquidation (docs/DOMAIN.md section 4): the 60-90 day window does not apply to it while it waits.
-- CAPE (re)liquidation date: ES-022 > ES-701 (reason 36) > REV-615.

{%- set window_min = var('refund_window_min_days') %}
{%- set window_max = var('refund_window_max_days') %}

with

cape_entries as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}
    where declaration_submission_date <= {{ as_of_date() }}

),

refund_entries as (

    -- the refund that paid the entry (REV-615 first), one per entry
    select *
    from (
        select
            *,
            row_number() over (
                partition by entry_summary_number
                order by case when entry_source = 'rev615' then 0 else 1 end, refund_number desc
            ) as refund_rank
        from {{ ref('int_refunds__entries') }}
    ) as r
    where refund_rank = 1

),

refunds as (

    select * from {{ ref('int_refunds__reconciliation') }}

),

cape_notices as (

    select
        entry_summary_number,
        max(liquidation_date) as cape_liquidation_date
    from {{ ref('stg_ace__es701_liquidations') }}
    where liquidation_reason_code = '36'
    group by entry_summary_number

),

liquidation as (

    select * from {{ ref('int_entry_liquidation') }}

),

refundable as (

    select * from {{ ref('int_eligibility__entry_refundable') }}

),

joined as (

    select
        c.cape_declaration_number,
        c.entry_summary_number,
        c.filer_code,
        c.importer_number,
        c.declaration_submission_date,
        c.cape_entry_status,
        c.error_description,
        c.cape_entry_status = 'Accepted' as is_accepted,
        coalesce(c.cape_entry_status in ('Rejected', 'Failed'), false) as is_rejected,
        row_number() over (
            partition by c.entry_summary_number
            order by c.declaration_submission_date desc, c.cape_declaration_number desc
        ) = 1 as is_latest_for_entry,
        f.ieepa_principal_amount as expected_principal_amount,
        l.liquidation_status,
        coalesce(l.liquidation_status in ('Suspended', 'Extended'), false) as is_liquidation_suspended_or_extended,
        case
            when c.cape_entry_status = 'Accepted'
                then coalesce(c.liquidation_date, n.cape_liquidation_date, r.liquidation_date)
        end as cape_liquidation_date,
        case when c.cape_entry_status = 'Accepted' then coalesce(c.refund_number, r.refund_number) end
            as refund_number,
        case when c.cape_entry_status = 'Accepted' then coalesce(r.stated_total_amount, c.refund_total_amount) end
            as stated_refund_amount,
        case when c.cape_entry_status = 'Accepted' then r.sent_to_treasury_date end as sent_to_treasury_date
    from cape_entries as c
    left join refund_entries as r on c.entry_summary_number = r.entry_summary_number
    left join cape_notices as n on c.entry_summary_number = n.entry_summary_number
    left join liquidation as l on c.entry_summary_number = l.entry_summary_number
    left join refundable as f on c.entry_summary_number = f.entry_summary_number

),

with_refund as (

    select
        j.*,
        j.cape_liquidation_date is not null and j.cape_liquidation_date <= {{ as_of_date() }} as is_liquidated,
        x.refund_status,
        x.payment_status,
        x.refund_date,
        coalesce(x.offset_total_amount > 0, false) as is_offset,
        coalesce(
            j.sent_to_treasury_date is not null
            or x.refund_status in ('Sent to Treasury', 'Treasury Issued'),
            false
        ) as is_refund_sent,
        coalesce(x.payment_status in ('issued', 'returned_reissued'), false) as is_paid,
        coalesce(x.payment_status = 'returned_held', false) as is_held,
        case
            when j.is_accepted
                then {{ dbt.datediff('j.declaration_submission_date', as_of_date(), 'day') }}
        end as days_since_acceptance
    from joined as j
    left join refunds as x on j.refund_number = x.refund_number

),

staged as (

    select
        *,
        -- liquidated by CAPE and nothing to refund (every IEEPA line a 0% exception: ES-022 states 0, or no
        -- IEEPA duty was deposited): no refund will come
        coalesce(
            is_accepted and is_liquidated and refund_number is null
            and (stated_refund_amount = 0 or expected_principal_amount = 0),
            false
        ) as is_nothing_to_refund
    from with_refund

),

windowed as (

    select
        *,
        case
            when cape_entry_status = 'Rejected' then 'rejected'
            when cape_entry_status = 'Failed' then 'failed'
            when not coalesce(is_accepted, false) then 'submitted'
            when is_held then 'held'
            when is_paid then 'paid'
            when is_refund_sent then 'refund_sent'
            when is_nothing_to_refund then 'nothing_to_refund'
            when refund_number is not null then 'refund_transmitted'
            when is_liquidated then 'liquidated'
            else 'accepted'
        end as claim_stage,
        case
            when not coalesce(is_accepted, false) then 'not_accepted'
            when is_held then 'held'
            when is_paid then 'paid'
            when is_nothing_to_refund then 'nothing_to_refund'
            when is_liquidation_suspended_or_extended and not is_liquidated then 'awaiting_suspended_liquidation'
            when days_since_acceptance < {{ window_min }} then 'before_window'
            when days_since_acceptance <= {{ window_max }} then 'in_window'
            else 'overdue'
        end as refund_window_status
    from staged

)

select
    cape_declaration_number,
    entry_summary_number,
    filer_code,
    importer_number,
    declaration_submission_date,
    cape_entry_status,
    error_description,
    is_latest_for_entry,
    not is_latest_for_entry as is_superseded,

    -- stages
    true as is_submitted,
    coalesce(is_accepted, false) as is_accepted,
    is_rejected,
    is_liquidated,
    is_nothing_to_refund,
    is_refund_sent,
    is_paid,
    is_held,
    is_offset,
    claim_stage,

    -- money and dates
    expected_principal_amount,
    stated_refund_amount,
    refund_number,
    refund_status,
    payment_status,
    refund_date,
    sent_to_treasury_date,
    cape_liquidation_date,
    liquidation_status,
    is_liquidation_suspended_or_extended,

    -- CBP's 60-90 day window
    days_since_acceptance,
    case
        when is_accepted then cast({{ dbt.dateadd('day', window_min, 'declaration_submission_date') }} as date)
    end as refund_window_opens_on,
    case
        when is_accepted then cast({{ dbt.dateadd('day', window_max, 'declaration_submission_date') }} as date)
    end as refund_window_closes_on,
    refund_window_status,
    refund_window_status in ('in_window', 'overdue') as is_past_window_start,
    refund_window_status = 'overdue' as is_overdue,
    {{ as_of_date() }} as as_of_date
from windowed
