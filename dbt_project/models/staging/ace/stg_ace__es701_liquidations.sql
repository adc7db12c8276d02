-- ES-701 Courtesy Notice of Liquidation: one row per (entry, liquidation date, liquidation type), newest
-- export wins. Suspended and extended entries have no liquidation date yet: NULL is a value of the key.

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'es701_liquidations') }}

),

renamed as (

    select
        -- business key
        entry_summary_number,
        liquidation_date,
        liquidation_type_code,
        entry_summary_number_check,

        -- entry
        {{ filer_code('entry_summary_number') }} as filer_code,
        importer_number,
        port_of_entry_code,
        entry_type_code,
        entry_date,

        -- liquidation
        liquidation_reason_code,
        liquidation_status,
        net_duty_change_amount,
        interest_amount,
        protest_number,
        protest_status,
        drawback_indicator,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at

    from source

),

deduplicated as (

    {{ newest_per_key('renamed', ['entry_summary_number', 'liquidation_date', 'liquidation_type_code']) }}

)

select * from deduplicated
