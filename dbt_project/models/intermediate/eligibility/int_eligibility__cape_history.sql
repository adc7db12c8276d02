-- Per entry: what CAPE already did with it (ES-022), as of the run date: the first accepted declaration, the
-- latest declaration and its status and error text, and any status the pipeline does not know (state unknown).

with

-- Declarations up to the as_of date. One the export gives no submission date for is dated by the first export that
-- shows it, an upper bound: it may well predate as_of, so it always counts (a backdated run never files again an
-- entry accepted on a declaration of unknown date).
cape_entries as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}
    where declaration_submission_date <= {{ as_of_date() }} or is_declaration_date_estimated

),

ranked as (

    select
        *,
        row_number() over (
            partition by entry_summary_number
            order by declaration_submission_date desc, cape_declaration_number desc
        ) as recency
    from cape_entries

),

accepted as (

    select
        entry_summary_number,
        min(declaration_submission_date) as first_accepted_date,
        min(cape_declaration_number) as first_accepted_declaration_number,
        count(*) as accepted_declaration_count
    from cape_entries
    where cape_status_blocks_refiling
    group by entry_summary_number

),

-- A status the seed cape_entry_statuses does not know: on a declaration, state unknown.
unknown_statuses as (

    select
        entry_summary_number,
        count(*) as unknown_status_count,
        {{ dbt.listagg(
            "cape_declaration_number || ': ' || cape_entry_status", "'; '", 'order by cape_declaration_number'
        ) }} as unknown_statuses
    from cape_entries
    where cape_status_meaning is null
    group by entry_summary_number

)

select
    r.entry_summary_number,
    r.cape_declaration_number as latest_declaration_number,
    r.declaration_submission_date as latest_submission_date,
    r.declaration_date_basis as latest_submission_date_basis,
    r.cape_entry_status as latest_cape_status,
    r.cape_status_meaning as latest_cape_status_meaning,
    r.error_description as latest_error_description,
    a.first_accepted_declaration_number,
    a.first_accepted_date,
    coalesce(a.accepted_declaration_count, 0) as accepted_declaration_count,
    coalesce(u.unknown_status_count, 0) as unknown_status_count,
    u.unknown_statuses
from ranked as r
left join accepted as a on r.entry_summary_number = a.entry_summary_number
left join unknown_statuses as u on r.entry_summary_number = u.entry_summary_number
where r.recency = 1
