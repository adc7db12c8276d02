-- REV-613 ACH Rejected Refunds Report: one row per (refund, ACH return date), newest export wins.

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'rev613_ach_returns') }}

),

renamed as (

    select
        -- business key
        refund_number,
        ach_return_date,

        -- return
        importer_number,
        refund_amount,
        ach_return_reason_code,
        ach_return_reason,
        refund_hold_status,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at

    from source

),

deduplicated as (

    {{ newest_per_key('renamed', ['refund_number', 'ach_return_date']) }}

)

select * from deduplicated
