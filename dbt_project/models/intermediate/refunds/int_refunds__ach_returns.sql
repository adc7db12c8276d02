-- One row per refund whose ACH payment was returned (REV-613): how often, the latest return, and whether CBP still
-- holds the money. A return is released when its hold status is one of var refund_ach_released_statuses (e.g.
-- "Released - Reissued"); otherwise CBP holds the refund until the importer's ACH data is fixed (docs/DOMAIN.md
-- section 6). REV-603's secondary status ("Check/ACH Reissued") is weighed in fct_refund_reconciliation.

{%- set released = var('refund_ach_released_statuses') %}

with

ach_returns as (

    select * from {{ ref('stg_ace__rev613_ach_returns') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by refund_number
            order by ach_return_date desc, _file_modified_at desc, _load_id desc, _source_line desc
        ) as recency,
        count(*) over (partition by refund_number) as return_count,
        min(ach_return_date) over (partition by refund_number) as first_return_date
    from ach_returns

)

select
    refund_number,
    importer_number,
    return_count,
    first_return_date,
    ach_return_date as latest_return_date,
    cast(refund_amount as decimal(18, 2)) as latest_returned_amount,
    ach_return_reason_code as latest_return_reason_code,
    ach_return_reason as latest_return_reason,
    refund_hold_status as latest_hold_status,
    coalesce(
        refund_hold_status in ({{ quoted_list(released) }}),
        false
    ) as is_released,
    -- when the export showing the latest status was saved (the reports date no release: see int_refunds__ach_holds)
    _file_modified_at as latest_export_at,
    _source_file,
    _source_line
from ranked
where recency = 1
