-- ES-003 Entry Summary Line Tariff Details: one row per (entry, line, tariff ordinal).
-- Overlapping exports: the newest export holding an entry is the whole truth about it (macros/newest_per_key.sql).
-- Incremental by entry: a daily run recomputes only the entries of the new loads (macros/incremental_entries.sql).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='entry_summary_number',
    on_schema_change='sync_all_columns'
) }}

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'es003_line_tariffs') }}
    {{ only_entries_loaded_since_last_build(source('raw', 'es003_line_tariffs'), build_fingerprint()) }}

),

renamed as (

    select
        -- business key
        entry_summary_number,
        entry_summary_line_number,
        tariff_ordinal_number,
        entry_summary_number_check,

        -- entry
        {{ filer_code('entry_summary_number') }} as filer_code,
        entry_type_code,
        importer_number,
        port_of_entry_code,
        entry_date,
        entry_summary_date,
        importation_date,
        statement_payment_date,
        entry_summary_status,
        filer_name,

        -- tariff line: Chapter 99 lines are classified by prefix (IEEPA = 9903.01 / 9903.02), not by lookup
        hts_number,
        coalesce(hts_number like '99%', false) as is_chapter99,
        case when hts_number like '99%' then substring(hts_number, 1, 6) end as hts_chapter99_prefix,
        coalesce(substring(hts_number, 1, 6) in ('990301', '990302'), false) as is_ieepa,
        line_goods_value_amount,
        line_duty_amount,
        column_1_duty_rate,
        country_of_origin_code,
        country_of_export_code,
        line_quantity_1,
        line_uom_1_code,
        line_spi_code,
        psc_indicator,
        reconciliation_indicator,
        adcvd_indicator,

        -- lineage
        _load_id,
        _file_sha256,
        _source_file,
        _source_line,
        _file_modified_at,
        ({{ build_fingerprint() }}) as _build_fingerprint

    from source

),

deduplicated as (

    {{ newest_per_key(
        'renamed',
        ['entry_summary_number', 'entry_summary_line_number', 'tariff_ordinal_number'],
        complete_by=['entry_summary_number']
    ) }}

)

select * from deduplicated
