-- CBP quarterly interest rates (percent per year), from the seed.

with

source as (

    select * from {{ ref('interest_rates') }}

),

renamed as (

    select
        quarter,
        quarter_start,
        quarter_end,
        underpayment_pct,
        overpayment_noncorporate_pct,
        overpayment_corporate_pct,
        irs_corporate_overpayment_over_10k_pct,
        source as rate_source,
        status as rate_status,
        -- anything not CONFIRMED must be flagged in results that use it (docs/DOMAIN.md/README.md)
        status <> 'CONFIRMED' as rate_needs_verification

    from source

)

select * from renamed
