-- Interest CBP paid per importer and calendar year of payment, to reconcile Form 1099-INT box 1 (interest is
-- income; the refunded principal is not, and is kept apart).
--
-- Payment date: REV-615's sent-to-Treasury date (the day CBP released the refund; Treasury issues it within days),
-- else REV-603's refund date. Amounts: REV-603's, else the refund's entries as CBP stated them (REV-615, else
-- ES-022: fct_refund_entries). Refund status (REV-603, newest export):
--   paid        Treasury Issued, Check/ACH Reissued, or Funds Diverted (an offset paid a debt of the importer
--               with it: the interest is still the importer's income)
--   in_transit  Sent to Treasury
--   returned    Check/ACH Returned: CBP holds the money until the ACH data is fixed (not received yet)
--   pending     Transmitted, or not in REV-603 yet
-- Box 1 expected = paid + in transit. Only refunds paid on or before the as_of date count.

with

rev603 as (

    select * from {{ ref('int_refunds__rev603_refunds') }}

),

rev615 as (

    -- the entries' stated figures per refund: REV-615, else ES-022 for an entry REV-615 does not list yet
    -- (fct_refund_entries); a REV-603 export in the layout without principal and interest needs them
    select
        refund_number,
        max(importer_number) as importer_number,
        max(sent_to_treasury_date) as sent_to_treasury_date,
        sum(stated_principal_amount) as refund_principal_amount,
        sum(stated_interest_amount) as refund_interest_amount
    from {{ ref('int_refunds__entries') }}
    group by refund_number

),

expected as (

    select
        refund_number,
        sum(interest_cbp_daily_compound) as interest_cbp_daily_compound
    from {{ ref('int_interest__entry_interest') }}
    where refund_number is not null
    group by refund_number

),

refunds as (

    select
        coalesce(a.refund_number, d.refund_number) as refund_number,
        coalesce(a.importer_number, d.importer_number) as importer_number,
        coalesce(d.sent_to_treasury_date, a.refund_date) as payment_date,
        coalesce(a.refund_principal_amount, d.refund_principal_amount) as principal_amount,
        coalesce(a.refund_interest_amount, d.refund_interest_amount) as interest_amount,
        case
            when a.refund_secondary_status = 'Check/ACH Returned' then 'returned'
            when a.refund_status = 'Treasury Issued' then 'paid'
            when a.refund_secondary_status in ('Check/ACH Reissued', 'Funds Diverted') then 'paid'
            when a.refund_status = 'Sent to Treasury' then 'in_transit'
            else 'pending'
        end as payment_status,
        a.refund_secondary_status = 'Funds Diverted' as has_offset
    from rev603 as a
    full outer join rev615 as d on a.refund_number = d.refund_number

),

dated as (

    select
        r.*,
        e.interest_cbp_daily_compound,
        cast(extract(year from r.payment_date) as integer) as payment_year
    from refunds as r
    left join expected as e on r.refund_number = e.refund_number
    where r.payment_date <= {{ as_of_date() }}

)

select
    importer_number,
    payment_year,
    count(*) as refund_count,
    count(case when payment_status in ('paid', 'in_transit') then 1 end) as refunds_paid_count,
    cast(coalesce(sum(case when payment_status in ('paid', 'in_transit') then interest_amount end), 0)
        as decimal(18, 2)) as form_1099_int_box1_expected_amount,
    cast(coalesce(sum(case when payment_status = 'paid' then interest_amount end), 0) as decimal(18, 2))
        as interest_paid_amount,
    cast(coalesce(sum(case when payment_status = 'in_transit' then interest_amount end), 0) as decimal(18, 2))
        as interest_in_transit_amount,
    cast(coalesce(sum(case when payment_status = 'returned' then interest_amount end), 0) as decimal(18, 2))
        as interest_returned_amount,
    cast(coalesce(sum(case when payment_status = 'pending' then interest_amount end), 0) as decimal(18, 2))
        as interest_pending_amount,
    cast(coalesce(sum(case when has_offset then interest_amount end), 0) as decimal(18, 2))
        as interest_in_offset_refunds_amount,
    cast(coalesce(sum(case when payment_status in ('paid', 'in_transit') then principal_amount end), 0)
        as decimal(18, 2)) as principal_paid_amount,
    cast(coalesce(sum(case when payment_status in ('paid', 'in_transit') then interest_cbp_daily_compound end), 0)
        as decimal(18, 2)) as interest_owed_on_paid_refunds_amount,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from dated
group by importer_number, payment_year
