-- The ingest file ledger, one row per file loaded or refused, with flags saying which optional columns each
-- loaded export carried: a NULL flag value means "no" only when the file had the column, else "unknown".

with

source as (

    select * from {{ source('ingest', 'file_ledger') }}

)

select
    load_id,
    file_sha256,
    file_name,
    file_size_bytes,
    file_modified_at,
    file_format,
    encoding,
    report_code,
    status,
    refusal_code,
    refusal_reason,
    header_line,
    rows_read,
    rows_loaded,
    rows_quarantined,
    loaded_at,
    run_id,
    layout_variant,
    detection_note,
    -- DuckDB list function: the ledger is written by the ingest assets, which are DuckDB-specific anyway
    not list_contains(coalesce(columns_missing, []), 'reconciliation_indicator') as has_reconciliation_indicator,
    not list_contains(coalesce(columns_missing, []), 'adcvd_indicator') as has_adcvd_indicator,
    not list_contains(coalesce(columns_missing, []), 'psc_indicator') as has_psc_indicator,
    not list_contains(coalesce(columns_missing, []), 'line_spi_code') as has_line_spi_code,
    not list_contains(coalesce(columns_missing, []), 'drawback_indicator') as has_drawback_indicator,
    not list_contains(coalesce(columns_missing, []), 'net_refund_amount') as has_net_refund_amount,
    not list_contains(coalesce(columns_missing, []), 'protest_status') as has_protest_status
from source
