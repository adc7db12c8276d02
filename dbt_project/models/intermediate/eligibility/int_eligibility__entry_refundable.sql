-- Per entry: the IEEPA principal deposited (the sum of its IEEPA tariff rows), split by program family, next
-- to the stacked duties that are not refundable, and the data-quality findings on its IEEPA rows.
-- Incremental by entry (macros/incremental_entries.sql): an entry's figures depend only on its classified rows, the
-- ledger rows of their loads (written once) and a var, never on the as_of date, so a run recomputes the entries
-- with a raw ES-003 row from a load newer than the newest this model had seen (_loads_seen_through). The raw rows
-- decide, not the classified ones: a new export can change an entry's rows without one of its own rows surviving
-- (it retracts older rows). The fingerprint covers this SQL, the var and the classification's fingerprint: a
-- reclassification (an edited heading table) changes every entry without a new row.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='entry_summary_number',
    on_schema_change='sync_all_columns'
) }}

{% set fingerprint_sql = build_fingerprint(
    "select '" ~ var('usmca_exemption_from') ~ "|' || coalesce((select min(_build_fingerprint) || '|' || "
    ~ "max(_build_fingerprint) from " ~ ref('int_tariff_rows_classified') ~ "), '')"
) %}

with

tariff_rows as (

    select * from {{ ref('int_tariff_rows_classified') }}
    {{ only_entries_loaded_since_last_build(
        source('raw', 'es003_line_tariffs'), fingerprint_sql, seen_column='_loads_seen_through') }}

),

ledger as (

    select * from {{ ref('stg_ingest__file_ledger') }}

),

rows_with_columns as (

    select
        t.*,
        l.has_reconciliation_indicator,
        l.has_adcvd_indicator,
        l.has_line_spi_code
    from tariff_rows as t
    left join ledger as l on t._load_id = l.load_id

),

programs as (

    select
        entry_summary_number,
        {{ dbt.listagg('program', "','", 'order by program') }} as ieepa_programs
    from (
        select distinct entry_summary_number, program from tariff_rows
        where program is not null
    ) as p
    group by entry_summary_number

),

entries as (

    select
        entry_summary_number,
        max(entry_summary_number_check) as entry_number_check,
        max(filer_code) as filer_code,
        max(importer_number) as importer_number,
        max(entry_type_code) as entry_type_code,
        max(port_of_entry_code) as port_of_entry_code,
        max(entry_date) as entry_date,
        max(entry_summary_date) as entry_summary_date,
        max(statement_payment_date) as statement_payment_date,
        max(entry_summary_status) as entry_summary_status,
        count(distinct entry_summary_line_number) as line_count,
        count(*) as tariff_row_count,

        -- IEEPA principal: the duty actually deposited on IEEPA lines (0% exceptions included, they add 0)
        count(case when authority = 'IEEPA' then 1 end) as ieepa_row_count,
        coalesce(sum(case when authority = 'IEEPA' then line_duty_amount end), 0) as ieepa_principal_amount,
        coalesce(sum(case when program like 'fentanyl%' then line_duty_amount end), 0) as fentanyl_principal_amount,
        coalesce(sum(case when program like 'reciprocal%' then line_duty_amount end), 0)
            as reciprocal_principal_amount,
        coalesce(sum(case when program = 'brazil' then line_duty_amount end), 0) as brazil_principal_amount,
        coalesce(sum(case when program = 'india_russian_oil' then line_duty_amount end), 0)
            as india_principal_amount,
        coalesce(sum(case when authority = 'IEEPA' and (program is null or program in ('transshipment', 'exception'))
            then line_duty_amount end), 0) as other_ieepa_principal_amount,

        -- stacked duties that are not refundable
        coalesce(sum(case when authority = 'SECTION_232' then line_duty_amount end), 0) as section_232_duty_amount,
        coalesce(sum(case when authority = 'SECTION_301' then line_duty_amount end), 0) as section_301_duty_amount,
        coalesce(sum(case when authority = 'SECTION_201' then line_duty_amount end), 0) as section_201_duty_amount,
        coalesce(sum(case when authority = 'SECTION_122' then line_duty_amount end), 0) as section_122_duty_amount,
        coalesce(sum(case when authority = 'OTHER_CHAPTER_99' then line_duty_amount end), 0)
            as other_chapter_99_duty_amount,
        coalesce(sum(case when authority in ('BASE_DUTY', 'CHAPTER_98') then line_duty_amount end), 0)
            as base_duty_amount,

        -- findings on IEEPA rows
        count(case when ieepa_heading_match in ('unknown_heading', 'outside_effective_period') then 1 end)
            as unknown_ieepa_heading_row_count,
        count(case when duty_check = 'mismatch' then 1 end) as duty_mismatch_row_count,
        -- IEEPA duty on a line without a goods value (the export lacks it): the duty check cannot be made
        count(case when duty_check = 'no_value' and line_duty_amount <> 0 then 1 end) as duty_unchecked_row_count,
        count(case when is_usmca_fentanyl_paid then 1 end) as usmca_fentanyl_paid_row_count,
        -- fentanyl duty on a line whose export lacked the SPI column: whether it claimed USMCA is unknown
        count(case
            when program in ('fentanyl_mexico', 'fentanyl_canada') and line_duty_amount > 0
                and entry_date >= cast('{{ var("usmca_exemption_from") }}' as date)
                and not coalesce(has_line_spi_code, false) then 1
        end) as usmca_claim_unknown_row_count,
        coalesce(sum(case when is_usmca_fentanyl_paid then line_duty_amount end), 0) as usmca_fentanyl_paid_amount,
        count(case when authority = 'IEEPA' and heading_status <> 'CONFIRMED' then 1 end)
            as ieepa_rows_on_unconfirmed_heading,

        -- flags: NULL = unknown (no export of the entry carried the column)
        case
            when max(case when reconciliation_indicator then 1 else 0 end) = 1 then true
            when min(case when has_reconciliation_indicator then 1 else 0 end) = 1 then false
        end as is_recon_flagged,
        case
            when max(case when adcvd_indicator then 1 else 0 end) = 1 then true
            when min(case when has_adcvd_indicator then 1 else 0 end) = 1 then false
        end as is_adcvd_entry,
        max(case when psc_indicator then 1 else 0 end) = 1 as has_psc_line

    from rows_with_columns
    group by entry_summary_number

)

select
    e.*,
    e.ieepa_row_count > 0 as has_ieepa_line,
    p.ieepa_programs,
    e.section_232_duty_amount + e.section_301_duty_amount + e.section_201_duty_amount
        + e.section_122_duty_amount + e.other_chapter_99_duty_amount + e.base_duty_amount
        as non_refundable_duty_amount,
    ({{ loads_seen_through() }}) as _loads_seen_through,
    ({{ fingerprint_sql }}) as _build_fingerprint
from entries as e
left join programs as p on e.entry_summary_number = p.entry_summary_number
