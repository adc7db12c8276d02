-- One row per CBP refund that came back undelivered for missing ACH data (docs/DOMAIN.md sections 1 and 6): REV-613
-- lists its ACH return, or REV-603's newest export says Check/ACH Returned (or Reissued). CBP holds such a refund
-- until the importer's ACH data is fixed; while it is held no further interest accrues (19 U.S.C. 1505(d),
-- SECONDARY: var interest_suspended_while_ach_held), so the interest models cut the held days out of the periods.
--
-- Hold start: the latest ACH return on REV-613 (an earlier return already reissued is over); without a REV-613 row,
--   REV-603's refund date (the payment that came back went out that day): an estimate, flagged.
-- Released: REV-613's hold status or REV-603's secondary status is one of var refund_ach_released_statuses.
-- Hold end: no report dates the release; the day of the export that shows it released (its file modification
--   time) stands in, flagged: the release happened on or before it. Still held: no end date.
-- Returns dated after the as_of date have not happened yet.

{%- set released_list = quoted_list(var('refund_ach_released_statuses')) %}

with

rev613 as (

    select * from {{ ref('int_refunds__ach_returns') }}
    where latest_return_date <= {{ as_of_date() }}

),

rev603 as (

    select refund_number, importer_number, refund_date, refund_secondary_status, _file_modified_at
    from {{ ref('int_refunds__rev603_refunds') }}
    where (refund_secondary_status = 'Check/ACH Returned' or refund_secondary_status in ({{ released_list }}))
        and refund_date <= {{ as_of_date() }}

),

joined as (

    select
        coalesce(a.refund_number, p.refund_number) as refund_number,
        coalesce(a.importer_number, p.importer_number) as importer_number,
        coalesce(a.latest_return_date, p.refund_date) as hold_start_date,
        case when a.refund_number is not null then 'rev613_return_date' else 'rev603_refund_date' end
            as hold_start_basis,
        coalesce(a.is_released, false) as is_released_rev613,
        coalesce(p.refund_secondary_status in ({{ released_list }}), false) as is_released_rev603,
        a.latest_export_at as rev613_export_at,
        p._file_modified_at as rev603_export_at
    from rev613 as a
    full outer join rev603 as p on a.refund_number = p.refund_number

),

released as (

    select
        *,
        is_released_rev613 or is_released_rev603 as is_released,
        -- the earlier of the exports that show the release
        case
            when is_released_rev603 and (not is_released_rev613 or rev603_export_at < rev613_export_at)
                then 'rev603'
            when is_released_rev613 then 'rev613'
        end as release_seen_in
    from joined

),

ended as (

    select
        *,
        cast(case release_seen_in when 'rev603' then rev603_export_at when 'rev613' then rev613_export_at end as date)
            as release_seen_on
    from released

),

bounded as (

    select
        *,
        -- an export older than the return it would end: the hold has no length
        case when release_seen_on < hold_start_date then hold_start_date else release_seen_on end as hold_end_date
    from ended

)

select
    refund_number,
    importer_number,
    hold_start_date,
    hold_start_basis,
    is_released,
    hold_end_date,
    case when is_released then 'release_seen_in_' || release_seen_in || '_export' else 'still_held' end
        as hold_end_basis,
    hold_start_basis <> 'rev613_return_date' or is_released as hold_is_estimated,
    -- days held up to the as_of date
    {{ dbt.datediff('hold_start_date', 'case when hold_end_date < ' ~ as_of_date() ~ ' then hold_end_date else '
        ~ as_of_date() ~ ' end', 'day') }} as held_days_to_as_of
from bounded
