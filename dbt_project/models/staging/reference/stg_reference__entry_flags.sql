-- Entry facts kept by the user (data/reference/entry_flags.csv), one row per entry listed.
-- Whether the file was there at all (absent = facts unknown) is stg_reference__reference_files.

with

source as (

    select * from {{ source('raw', 'entry_flags') }}

),

renamed as (

    select
        entry_number as entry_summary_number,
        drawback_claim as has_drawback_claim,
        adcvd_pending as is_adcvd_pending,
        psc_pending as is_psc_pending,
        recon_type09_filed as has_recon_type09_filed,
        protest_status,
        note,
        _source_file,
        _source_line

    from source

)

select * from renamed
