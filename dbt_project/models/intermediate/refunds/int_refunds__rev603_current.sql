-- REV-603 rows of each refund's newest export: one row per (refund, offset) as that export lists them.
--
-- Staging keeps the newest export per (refund, offset type, debt reference, agency). An older export without
-- the offset block (NULL offset columns) and a newer one with it would leave both the bare row and the offset
-- rows of the same refund in staging; a refund is therefore read from one export only, its newest (file
-- modification time, then load), so its refund-level figures and its offsets come from the same report.

with

trade_refunds as (

    select * from {{ ref('stg_ace__rev603_trade_refunds') }}

),

ranked as (

    select
        *,
        dense_rank() over (
            partition by refund_number
            order by _file_modified_at desc, _load_id desc
        ) as export_rank
    from trade_refunds

)

select
    refund_number,
    offset_type,
    offset_debt_reference,
    offset_agency,
    refund_date,
    importer_number,
    payee_number,
    refund_status,
    refund_secondary_status,
    refund_principal_amount,
    refund_interest_amount,
    gross_refund_amount,
    offset_amount,
    has_offset_detail,
    net_refund_amount,
    payment_method,
    ach_trace_number,
    _load_id,
    _source_file,
    _source_line,
    _file_modified_at
from ranked
where export_rank = 1
