-- ES-022 CAPE Entry Summary Report: one row per (CAPE declaration, entry), newest export wins.
-- Both known layouts land in one raw table (docs/DOMAIN.md section 8); what a layout lacks is derived here, with
-- its basis: the layout found in real exports has no submission date (the declaration is dated by the first export
-- that shows it, an upper bound) and no total (principal + interest). The status is decoded by the seed
-- cape_entry_statuses; a status it does not know stays NULL in cape_status_meaning (state unknown).

-- Built only after the ingest file ledger reconciles (its blocking check gates this model):
-- depends_on: {{ source('ingest', 'file_ledger') }}

with

source as (

    select * from {{ source('raw', 'es022_cape_entries') }}

),

statuses as (

    select * from {{ ref('cape_entry_statuses') }}

),

-- The first export that shows each declaration: a declaration is submitted no later than that.
first_seen as (

    select
        cape_declaration_number,
        min(_file_modified_at) as first_seen_at
    from source
    group by cape_declaration_number

),

renamed as (

    select
        -- business key
        s.cape_declaration_number,
        s.entry_summary_number,
        s.entry_summary_number_check,

        -- declaration and entry
        {{ filer_code('s.entry_summary_number') }} as filer_code,
        s.filer_code as declaration_filer_code,
        s.importer_number,
        coalesce(s.declaration_submission_date, cast(f.first_seen_at as date)) as declaration_submission_date,
        case
            when s.declaration_submission_date is not null then 'reported'
            else 'first_export_showing_it'
        end as declaration_date_basis,
        s.declaration_submission_date is null as is_declaration_date_estimated,
        f.first_seen_at as declaration_first_seen_at,
        s.cape_entry_status,
        st.meaning as cape_status_meaning,
        st.blocks_refiling as cape_status_blocks_refiling,
        s.error_description,
        s.liquidation_date,
        s.entry_date,
        s.cf4811_number,
        s.cf4811_name,
        s.control_team_number,
        s.center_id_code,
        s.center_id_name,

        -- refund
        s.refund_number,
        s.refund_date,
        s.refund_status,
        s.refund_principal_amount,
        s.refund_interest_amount,
        coalesce(s.refund_total_amount, s.refund_principal_amount + s.refund_interest_amount)
            as refund_total_amount,
        case
            when s.refund_total_amount is not null then 'reported'
            when s.refund_principal_amount is not null and s.refund_interest_amount is not null
                then 'principal_plus_interest'
        end as refund_total_basis,

        -- lineage
        s._load_id,
        s._file_sha256,
        s._source_file,
        s._source_line,
        s._file_modified_at

    from source as s
    left join first_seen as f on s.cape_declaration_number = f.cape_declaration_number
    left join statuses as st on lower(trim(s.cape_entry_status)) = lower(st.cape_entry_status)

),

deduplicated as (

    {{ newest_per_key('renamed', ['cape_declaration_number', 'entry_summary_number']) }}

)

select * from deduplicated
