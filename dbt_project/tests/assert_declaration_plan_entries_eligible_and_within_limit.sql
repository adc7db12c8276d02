-- The declaration plan files only eligible entries, and no planned declaration (upload file) holds more than
-- var('declaration_max_entries') entries (CBP: 9,999 rows a file; more and the whole declaration is rejected).
-- Returns one row per offending entry or declaration.

with

plan as (

    select * from {{ ref('fct_declaration_plan') }}

),

eligibility as (

    select * from {{ ref('fct_entry_eligibility') }}

)

select
    p.planned_declaration_id,
    p.entry_summary_number,
    'planned entry is ' || coalesce(e.eligibility_status, 'missing from fct_entry_eligibility') as problem
from plan as p
left join eligibility as e on p.entry_summary_number = e.entry_summary_number
where e.eligibility_status is null or e.eligibility_status <> 'eligible'

union all

select
    planned_declaration_id,
    cast(null as {{ dbt.type_string() }}) as entry_summary_number,
    'declaration holds ' || cast(count(*) as {{ dbt.type_string() }})
        || ' entries, more than {{ var("declaration_max_entries") }}' as problem
from plan
group by planned_declaration_id
having count(*) > {{ var('declaration_max_entries') }}
