-- Per entry: what CBP did and stated for it in CAPE, as of the run date, report by report, and the figure the
-- interest mart uses when several reports carry one:
--   CAPE (re)liquidation date: ES-701 reason 36 (the legal notice) > REV-615 > ES-022 > an ES-701 liquidation
--     dated after the entry's CAPE acceptance (ES-022), when that ES-701 export carries no reason codes at all
--     (the column is optional: without it a CAPE reliquidation is recognised by its date), basis in
--     cape_liquidation_date_basis;
--   refund number: REV-615 > ES-022;
--   principal and interest: REV-615 (the refund detail sent to Treasury) > ES-022 (CAPE report) > ES-701
--   (courtesy notice: net duty change and interest at liquidation, before payment);
--   payment date: REV-615 sent-to-Treasury date > REV-603 refund date (of the refund the entry is in);
--   ACH hold: the refunds of the entry CBP holds for missing ACH data (int_refunds__ach_holds), merged into one
--     interval: the earliest hold start to the latest release (open while any of them is still held).
-- Events dated after the as_of date are ignored.

with

es701_exports as (

    -- an export without any reason code: the optional column is absent (or never filled)
    select _load_id, max(liquidation_reason_code) is null as export_lacks_reason_codes
    from {{ ref('stg_ace__es701_liquidations') }}
    group by _load_id

),

es701_rows as (

    select l.*, x.export_lacks_reason_codes
    from {{ ref('stg_ace__es701_liquidations') }} as l
    inner join es701_exports as x on l._load_id = x._load_id
    where l.liquidation_date is not null
        and l.liquidation_date <= {{ as_of_date() }}

),

acceptance as (

    -- the entry's first CAPE acceptance (ES-022): a liquidation after it is CAPE's when no reason code says so
    select entry_summary_number, min(declaration_submission_date) as first_accepted_date
    from {{ ref('stg_ace__es022_cape_entries') }}
    where cape_entry_status = 'Accepted'
        and declaration_submission_date <= {{ as_of_date() }}
    group by entry_summary_number

),

es701_cape as (

    select
        l.*,
        case when l.liquidation_reason_code = '36' then 'reason_code_36' else 'liquidation_after_acceptance' end
            as liquidation_basis
    from es701_rows as l
    left join acceptance as a on l.entry_summary_number = a.entry_summary_number
    where l.liquidation_reason_code = '36'
        or (l.export_lacks_reason_codes and l.liquidation_date > a.first_accepted_date)

),

es701 as (

    select
        entry_summary_number,
        liquidation_date,
        liquidation_type_code,
        liquidation_basis,
        -- a CAPE refund shows as a negative net duty change
        -net_duty_change_amount as principal_amount,
        interest_amount,
        row_number() over (
            partition by entry_summary_number
            order by
                case when liquidation_basis = 'reason_code_36' then 0 else 1 end,
                liquidation_date desc,
                {{ newest_export_order() }}
        ) as recency
    from es701_cape

),

es022 as (

    select
        entry_summary_number,
        cape_declaration_number,
        declaration_submission_date,
        case when liquidation_date <= {{ as_of_date() }} then liquidation_date end as liquidation_date,
        case when liquidation_date <= {{ as_of_date() }} then refund_number end as refund_number,
        case when liquidation_date <= {{ as_of_date() }} then refund_principal_amount end as principal_amount,
        case when liquidation_date <= {{ as_of_date() }} then refund_interest_amount end as interest_amount,
        row_number() over (
            partition by entry_summary_number
            order by declaration_submission_date desc, cape_declaration_number desc
        ) as recency
    from {{ ref('stg_ace__es022_cape_entries') }}
    where cape_entry_status = 'Accepted'
        and declaration_submission_date <= {{ as_of_date() }}

),

rev615 as (

    select
        entry_summary_number,
        refund_number,
        liquidation_date,
        refund_principal_amount as principal_amount,
        refund_interest_amount as interest_amount,
        sent_to_treasury_date,
        count(*) over (partition by entry_summary_number) as refund_count,
        row_number() over (
            partition by entry_summary_number
            order by liquidation_date desc, refund_number desc
        ) as recency
    from {{ ref('stg_ace__rev615_cape_refund_details') }}
    where coalesce(liquidation_date, sent_to_treasury_date) <= {{ as_of_date() }}

),

rev603 as (

    select refund_number, refund_date, refund_status, refund_secondary_status
    from {{ ref('int_refunds__rev603_refunds') }}
    where refund_date <= {{ as_of_date() }}

),

entry_holds as (

    -- the refunds of the entry CBP holds for missing ACH data, merged into one interval
    select
        e.entry_summary_number,
        min(h.hold_start_date) as ach_hold_start_date,
        case when count(h.hold_end_date) = count(*) then max(h.hold_end_date) end as ach_hold_end_date,
        max(case when h.hold_is_estimated then 1 else 0 end) = 1 as ach_hold_is_estimated
    from (
        select entry_summary_number, refund_number from rev615
        union
        select entry_summary_number, refund_number from es022
        where refund_number is not null
    ) as e
    inner join {{ ref('int_refunds__ach_holds') }} as h on e.refund_number = h.refund_number
    group by e.entry_summary_number

),

entries as (

    select entry_summary_number from es701
    where recency = 1
    union
    select entry_summary_number from es022
    where recency = 1
    union
    select entry_summary_number from rev615
    where recency = 1

),

combined as (

    select
        e.entry_summary_number,

        a.cape_declaration_number as accepted_declaration_number,
        a.declaration_submission_date as accepted_submission_date,

        l.liquidation_date as es701_liquidation_date,
        l.liquidation_type_code as es701_liquidation_type_code,
        l.liquidation_basis as es701_liquidation_basis,
        l.principal_amount as es701_principal_amount,
        l.interest_amount as es701_interest_amount,
        a.liquidation_date as es022_liquidation_date,
        a.refund_number as es022_refund_number,
        a.principal_amount as es022_principal_amount,
        a.interest_amount as es022_interest_amount,
        r.liquidation_date as rev615_liquidation_date,
        r.refund_number as rev615_refund_number,
        r.principal_amount as rev615_principal_amount,
        r.interest_amount as rev615_interest_amount,
        r.sent_to_treasury_date as rev615_sent_to_treasury_date,
        coalesce(r.refund_count, 0) as rev615_refund_count,
        h.ach_hold_start_date,
        h.ach_hold_end_date,
        h.ach_hold_is_estimated

    from entries as e
    left join es701 as l on e.entry_summary_number = l.entry_summary_number and l.recency = 1
    left join es022 as a on e.entry_summary_number = a.entry_summary_number and a.recency = 1
    left join rev615 as r on e.entry_summary_number = r.entry_summary_number and r.recency = 1
    left join entry_holds as h on e.entry_summary_number = h.entry_summary_number

),

chosen as (

    select
        c.*,
        coalesce(
            case when c.es701_liquidation_basis = 'reason_code_36' then c.es701_liquidation_date end,
            c.rev615_liquidation_date,
            c.es022_liquidation_date,
            c.es701_liquidation_date
        ) as cape_liquidation_date,
        case
            when c.es701_liquidation_basis = 'reason_code_36' then 'reason_code_36'
            when c.rev615_liquidation_date is not null then 'rev615_liquidation_date'
            when c.es022_liquidation_date is not null then 'es022_liquidation_date'
            when c.es701_liquidation_date is not null then 'liquidation_after_acceptance'
        end as cape_liquidation_date_basis,
        coalesce(c.rev615_refund_number, c.es022_refund_number) as refund_number,
        cast(coalesce(c.rev615_principal_amount, c.es022_principal_amount, c.es701_principal_amount)
            as decimal(18, 2)) as cbp_principal_amount,
        cast(coalesce(c.rev615_interest_amount, c.es022_interest_amount, c.es701_interest_amount)
            as decimal(18, 2)) as cbp_interest_amount,
        case
            when c.rev615_interest_amount is not null then 'rev615'
            when c.es022_interest_amount is not null then 'es022'
            when c.es701_interest_amount is not null then 'es701'
        end as cbp_interest_source
    from combined as c

)

select
    c.*,
    -- the reports disagree on the interest or the principal (the chosen figure is the first in the order above)
    (
        (c.rev615_interest_amount is not null and c.rev615_interest_amount <> c.cbp_interest_amount)
        or (c.es022_interest_amount is not null and c.es022_interest_amount <> c.cbp_interest_amount)
        or (c.es701_interest_amount is not null and c.es701_interest_amount <> c.cbp_interest_amount)
        or (c.rev615_principal_amount is not null and c.rev615_principal_amount <> c.cbp_principal_amount)
        or (c.es022_principal_amount is not null and c.es022_principal_amount <> c.cbp_principal_amount)
        or (c.es701_principal_amount is not null and c.es701_principal_amount <> c.cbp_principal_amount)
    ) as cbp_reports_disagree,
    p.refund_date as rev603_refund_date,
    p.refund_status as rev603_refund_status,
    p.refund_secondary_status as rev603_refund_secondary_status,
    coalesce(c.rev615_sent_to_treasury_date, p.refund_date) as payment_date,
    case
        when c.rev615_sent_to_treasury_date is not null then 'rev615_sent_to_treasury_date'
        when p.refund_date is not null then 'rev603_refund_date'
    end as payment_date_source
from chosen as c
left join rev603 as p on c.refund_number = p.refund_number
