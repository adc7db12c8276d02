-- REV-615 CAPE Details Refunds Report: one row per (refund, entry), newest export wins.

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'rev615_cape_refund_details') }}

),

renamed as (

    select
        -- business key
        refund_number,
        entry_summary_number,
        entry_summary_number_check,

        -- refund detail
        cape_declaration_number,
        {{ filer_code('entry_summary_number') }} as filer_code,
        importer_number,
        liquidation_date,
        refund_principal_amount,
        refund_interest_amount,
        refund_total_amount,
        sent_to_treasury_date,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at

    from source

),

deduplicated as (

    {{ newest_per_key('renamed', ['refund_number', 'entry_summary_number'], complete_by=['refund_number']) }}

)

select * from deduplicated
