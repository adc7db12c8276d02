-- The rows the CAPE export writes, and the Great Expectations gate validates before it does: the declaration plan,
-- less the entries an earlier run already sent that CBP has not answered yet (held back unless the run re-exports,
-- macros/re_export.sql), with what the gate checks of each row.
--
-- CBP has answered an exported entry when ES-022 shows it on a declaration submitted on or after the export's
-- date, or, when the export gives no submission date, on a declaration first seen in an ES-022 export made after
-- the upload file was written.

with

plan as (

    select * from {{ ref('int_eligibility__declaration_plan') }}

),

status as (

    select * from {{ ref('int_eligibility__entry_status') }}

),

refundable as (

    select * from {{ ref('int_eligibility__entry_refundable') }}

),

cape_entries as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}

),

exported as (

    select * from {{ source('export', 'exported_entries') }}

),

interest as (

    select * from {{ ref('int_interest__entry_interest') }}

),

pending as (

    select distinct x.entry_summary_number
    from exported as x
    where x.as_of_date <> {{ as_of_date() }}
        and not exists (
            select 1 from cape_entries as c
            where c.entry_summary_number = x.entry_summary_number
                and case
                    when c.is_declaration_date_estimated then c.declaration_first_seen_at > x.exported_at
                    else c.declaration_submission_date >= x.as_of_date
                end
        )

),

-- on record as accepted, or in a state nobody knows, on any declaration whatever its date
on_record as (

    select distinct entry_summary_number
    from cape_entries
    where coalesce(cape_status_blocks_refiling, true)

),

candidates as (

    select p.*
    from plan as p
    where {{ re_export() }}
        or p.entry_summary_number not in (select pe.entry_summary_number from pending as pe)

)

select
    c.planned_declaration_id,
    c.declaration_group,
    c.declaration_group_by,
    c.declaration_sequence,
    c.row_in_declaration,
    c.entry_summary_number,
    c.filer_code,
    c.importer_number,
    c.ieepa_principal_amount,
    i.interest_cbp_daily_compound as expected_interest_amount,
    s.eligibility_status,
    f.entry_number_check = 'valid' as check_digit_valid,
    r.entry_summary_number is not null as accepted_on_earlier_declaration,
    count(*) over (partition by c.planned_declaration_id) as rows_in_file,
    case
        when min(c.declaration_group) over (partition by c.planned_declaration_id)
            = max(c.declaration_group) over (partition by c.planned_declaration_id) then 1
        else 2
    end as group_keys_in_file,
    case c.declaration_group_by
        when 'filer' then c.filer_code = c.declaration_group
        else c.importer_number = c.declaration_group
    end as filer_matches_group,
    c.as_of_date,
    {{ rules_version() }} as rules_version
from candidates as c
left join status as s on c.entry_summary_number = s.entry_summary_number
left join refundable as f on c.entry_summary_number = f.entry_summary_number
left join on_record as r on c.entry_summary_number = r.entry_summary_number
left join interest as i on c.entry_summary_number = i.entry_summary_number
