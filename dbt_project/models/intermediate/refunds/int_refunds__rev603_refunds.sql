-- One row per refund REV-603 shows: its refund-level figures, from its newest export (int_refunds__rev603_current,
-- where an export's offset rows repeat them and what the layout lacks is derived). Every model that needs a
-- refund's REV-603 figures reads them here.

with

current_rows as (

    select * from {{ ref('int_refunds__rev603_current') }}

),

ranked as (

    select
        *,
        row_number() over (partition by refund_number order by _source_line) as line_rank,
        count(case when has_offset_detail then 1 end) over (partition by refund_number) as offset_row_count
    from current_rows

)

select
    refund_number,
    refund_date,
    importer_number,
    importer_basis,
    payee_number,
    refund_status,
    refund_secondary_status,
    refund_principal_amount,
    refund_interest_amount,
    amount_split_basis,
    gross_refund_amount,
    gross_basis,
    net_refund_amount,
    net_basis,
    offset_row_count,
    payment_method,
    ach_trace_number,
    _load_id,
    _source_file,
    _source_line,
    _file_modified_at
from ranked
where line_rank = 1
