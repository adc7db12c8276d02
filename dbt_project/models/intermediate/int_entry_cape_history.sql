-- Per entry: what CAPE already did with it (ES-022), as of the run date: the first accepted declaration, the
-- latest declaration and its status and error text.

with

cape_entries as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}
    where declaration_submission_date <= {{ as_of_date() }}

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
    where cape_entry_status = 'Accepted'
    group by entry_summary_number

)

select
    r.entry_summary_number,
    r.cape_declaration_number as latest_declaration_number,
    r.declaration_submission_date as latest_submission_date,
    r.cape_entry_status as latest_cape_status,
    r.error_description as latest_error_description,
    a.first_accepted_declaration_number,
    a.first_accepted_date,
    coalesce(a.accepted_declaration_count, 0) as accepted_declaration_count
from ranked as r
left join accepted as a on r.entry_summary_number = a.entry_summary_number
where r.recency = 1
