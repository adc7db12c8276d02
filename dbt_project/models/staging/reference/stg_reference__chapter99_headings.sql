-- HTSUS Chapter 99 headings (IEEPA, one row per rate period) and non-IEEPA range prefixes, from the seed.

with

source as (

    select * from {{ ref('chapter99_headings') }}

),

renamed as (

    select
        heading,
        hts8,
        {{ dbt.length('hts8') }} = 6 as is_range_prefix,
        authority,
        authority = 'IEEPA' as is_ieepa,
        program,
        country_iso2,
        additional_rate_pct,
        rate_formula,
        effective_from,
        effective_to,
        is_exception,
        refundable as is_refundable,
        source as heading_source,
        status as heading_status

    from source

)

select * from renamed
