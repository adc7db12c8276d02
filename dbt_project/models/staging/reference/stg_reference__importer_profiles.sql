-- Importer profiles kept by the user: one row per importer of record (raw.importer_profiles has it as primary key).

with

source as (

    select * from {{ source('raw', 'importer_profiles') }}

),

renamed as (

    select
        importer_number,
        importer_name,
        is_corporate,
        ach_enrolled as is_ach_enrolled,
        form_4811_payee_number,
        -- refunds are consolidated by IOR or by its Form 4811 payee
        coalesce(form_4811_payee_number, importer_number) as refund_payee_number,
        allowed_filer_codes,
        -- CAPE Phase 3 (finally liquidated entries) allowed for this importer from this date; NULL = off
        phase3_from,

        -- lineage
        _source_file,
        _source_line

    from source

)

select * from renamed
