-- REV-603 Trade Refund Report: one row per (refund, offset type, offset debt reference, offset agency), newest
-- export wins. The offset block is UNVERIFIED and optional: a refund without offsets has NULL offset columns,
-- and NULL is a value of the key (window partitions group NULLs together).

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'rev603_trade_refunds') }}

),

renamed as (

    select
        -- business key
        refund_number,
        offset_type,
        offset_debt_reference,
        offset_agency,

        -- refund
        refund_date,
        importer_number,
        payee_number,
        refund_status,
        refund_secondary_status,
        refund_principal_amount,
        refund_interest_amount,
        gross_refund_amount,

        -- offset and payment
        offset_amount,
        (
            offset_amount is not null
            or offset_type is not null
            or offset_debt_reference is not null
            or offset_agency is not null
        ) as has_offset_detail,
        net_refund_amount,
        payment_method,
        ach_trace_number,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at

    from source

),

deduplicated as (

    {{ newest_per_key('renamed', ['refund_number', 'offset_type', 'offset_debt_reference', 'offset_agency']) }}

)

select * from deduplicated
