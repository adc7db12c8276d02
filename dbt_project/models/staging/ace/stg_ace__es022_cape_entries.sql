-- ES-022 CAPE Entry Summary Report: one row per (CAPE declaration, entry), newest export wins.

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'es022_cape_entries') }}

),

renamed as (

    select
        -- business key
        cape_declaration_number,
        entry_summary_number,
        entry_summary_number_check,

        -- declaration and entry
        {{ filer_code('entry_summary_number') }} as filer_code,
        importer_number,
        declaration_submission_date,
        cape_entry_status,
        error_description,
        liquidation_date,

        -- refund
        refund_number,
        refund_principal_amount,
        refund_interest_amount,
        refund_total_amount,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at

    from source

),

deduplicated as (

    {{ newest_per_key('renamed', ['cape_declaration_number', 'entry_summary_number']) }}

)

select * from deduplicated
