-- Every ES-003 tariff row, classified: IEEPA (by program, with its heading's rate on the entry date), Section
-- 232 / 301 / 201 / 122, Chapter 98, base duty, or an unknown Chapter 99 number (flagged, never guessed).
-- IEEPA is decided by prefix (9903.01 / 9903.02); the heading table gives program, rate and status.
-- The duty check compares an IEEPA row's duty with the line's goods value x the heading's rate: real exports report
-- the value once per line, on its base HTS row, and carry $0.00 on Chapter 98 and 99 rows.
-- Incremental by entry (macros/incremental_entries.sql): a daily run classifies the entries with a raw ES-003 row
-- from a load newer than the newest this model had seen (_loads_seen_through). The raw rows decide, not the staged
-- ones: a new export can change an entry's staged rows without one of its own rows surviving (it retracts older
-- rows while a newer, cut-off export keeps the keys). A change to this SQL, the heading table or a var read here
-- reclassifies every row.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='entry_summary_number',
    on_schema_change='sync_all_columns'
) }}

{% set fingerprint_sql = build_fingerprint(
    "select '" ~ var('usmca_exemption_from') ~ "|" ~ var('duty_tolerance_amount') ~ "|" ~ var('duty_tolerance_pct')
    ~ "|' || coalesce(string_agg(cast(h as varchar), '|' order by cast(h as varchar)), '') from "
    ~ ref('stg_reference__chapter99_headings') ~ " as h"
) %}

with

tariff_rows as (

    select * exclude (_build_fingerprint) from {{ ref('stg_ace__es003_line_tariffs') }}
    {{ only_entries_loaded_since_last_build(
        source('raw', 'es003_line_tariffs'), fingerprint_sql, seen_column='_loads_seen_through') }}

),

headings as (

    select * from {{ ref('stg_reference__chapter99_headings') }}
    where not is_range_prefix

),

range_prefixes as (

    select * from {{ ref('stg_reference__chapter99_headings') }}
    where is_range_prefix

),

known_headings as (

    select distinct hts8 from headings

),

-- The goods value of each line: on its base HTS rows (Chapters 1-97), never on a Chapter 98 or 99 row.
line_values as (

    select
        entry_summary_number,
        entry_summary_line_number,
        sum(line_goods_value_amount) as line_base_value_amount
    from tariff_rows
    where hts_number not like '98%' and hts_number not like '99%'
    group by entry_summary_number, entry_summary_line_number

),

-- Lines that claim USMCA (SPI S or S+): the fentanyl duties did not apply to them from usmca_exemption_from.
usmca_lines as (

    select distinct entry_summary_number, entry_summary_line_number
    from tariff_rows
    where line_spi_code in ('S', 'S+')

),

classified as (

    select
        t.*,
        case
            when t.is_ieepa then 'IEEPA'
            when p.authority is not null then p.authority
            when t.hts_number like '99%' then 'OTHER_CHAPTER_99'
            when t.hts_number like '98%' then 'CHAPTER_98'
            else 'BASE_DUTY'
        end as authority,
        case
            when not t.is_ieepa then 'not_ieepa'
            when h.heading is not null then 'known'
            when k.hts8 is not null then 'outside_effective_period'
            else 'unknown_heading'
        end as ieepa_heading_match,
        h.heading,
        h.program,
        h.country_iso2 as heading_country,
        h.additional_rate_pct,
        h.rate_formula,
        coalesce(h.is_exception, false) as is_exception_heading,
        h.heading_status,
        u.entry_summary_number is not null as line_claims_usmca,
        v.line_base_value_amount
    from tariff_rows as t
    -- the heading's rate period in force on the entry date (9903.01.10 Canada: 25% then 35%, ...)
    left join headings as h
        on substring(t.hts_number, 1, 8) = h.hts8
        and t.entry_date >= h.effective_from
        and (h.effective_to is null or t.entry_date <= h.effective_to)
    left join known_headings as k
        on t.is_ieepa and substring(t.hts_number, 1, 8) = k.hts8
    left join range_prefixes as p
        on not t.is_ieepa and substring(t.hts_number, 1, 6) = p.hts8
    left join usmca_lines as u
        on t.entry_summary_number = u.entry_summary_number
        and t.entry_summary_line_number = u.entry_summary_line_number
    left join line_values as v
        on t.entry_summary_number = v.entry_summary_number
        and t.entry_summary_line_number = v.entry_summary_line_number

),

checked as (

    select
        *,
        -- the line's goods value x rate, rounded to cents once; only where the heading has a plain ad valorem rate
        case
            when ieepa_heading_match = 'known' and additional_rate_pct is not null
                and line_base_value_amount is not null
                then cast(round(line_base_value_amount * additional_rate_pct / 100, 2) as decimal(18, 2))
        end as expected_duty_amount
    from classified

)

select
    *,
    case
        when expected_duty_amount is null and ieepa_heading_match = 'known' and additional_rate_pct is not null
            then 'no_value'
        when expected_duty_amount is null then 'not_checked'
        when abs(line_duty_amount - expected_duty_amount)
            <= greatest(
                cast({{ var('duty_tolerance_amount') }} as decimal(18, 2)),
                abs(expected_duty_amount) * {{ var('duty_tolerance_pct') }} / 100
            )
            then 'ok'
        else 'mismatch'
    end as duty_check,
    coalesce(
        program in ('fentanyl_mexico', 'fentanyl_canada')
        and line_duty_amount > 0
        and line_claims_usmca
        and entry_date >= cast('{{ var("usmca_exemption_from") }}' as date),
        false
    ) as is_usmca_fentanyl_paid,
    ({{ loads_seen_through() }}) as _loads_seen_through,
    ({{ fingerprint_sql }}) as _build_fingerprint
from checked
