-- Per entry: its liquidation state from the courtesy notices (ES-701): the latest notice (a suspension or
-- extension has no date and comes before liquidation: it counts only when the entry has no dated notice), and
-- the drawback and protest facts the notices carry. Entries without any notice are unliquidated.

with

notices as (

    select * from {{ ref('stg_ace__es701_liquidations') }}
    -- as of the run date: a liquidation dated later is not known yet (undated suspensions/extensions count)
    where liquidation_date is null or liquidation_date <= {{ as_of_date() }}

),

ledger as (

    select * from {{ ref('stg_ingest__file_ledger') }}

),

ranked as (

    select
        n.*,
        l.has_drawback_indicator,
        l.has_protest_status,
        row_number() over (
            partition by n.entry_summary_number
            order by n.liquidation_date desc nulls last, n._load_id desc
        ) as recency
    from notices as n
    left join ledger as l on n._load_id = l.load_id

),

facts as (

    select
        entry_summary_number,
        count(*) as notice_count,
        max(case when liquidation_reason_code = '36' then 1 else 0 end) = 1 as has_cape_reliquidation,
        -- NULL = unknown: no notice came from an export carrying the column
        case
            when max(case when drawback_indicator then 1 else 0 end) = 1 then true
            when max(case when has_drawback_indicator then 1 else 0 end) = 1 then false
        end as notice_drawback,
        max(case when protest_status in ('Open', 'Suspended') then protest_number end) as open_protest_number,
        case
            when max(case when protest_status in ('Open', 'Suspended') then 1 else 0 end) = 1 then true
            when max(case when has_protest_status then 1 else 0 end) = 1 then false
        end as notice_open_protest
    from ranked
    group by entry_summary_number

)

select
    r.entry_summary_number,
    r.liquidation_status,
    r.liquidation_date,
    r.liquidation_type_code,
    r.liquidation_reason_code,
    f.notice_count,
    f.has_cape_reliquidation,
    f.notice_drawback,
    f.open_protest_number,
    f.notice_open_protest,
    r._source_file as latest_notice_file,
    r._source_line as latest_notice_line
from ranked as r
inner join facts as f on r.entry_summary_number = f.entry_summary_number
where r.recency = 1
