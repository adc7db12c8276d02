-- The eligible entries grouped into CAPE declarations a user can upload: one group per filer code (a broker
-- files only its own entries) or per importer (var declaration_group_by), at most declaration_max_entries
-- (9,999) entries a declaration. Ordered by entry summary date then entry number, so the same inputs always give
-- the same files, and new entries join the end of their group.

with

eligible as (

    select * from {{ ref('int_eligibility__entry_status') }}
    where eligibility_status = 'eligible'

),

grouped as (

    select
        *,
        {% if var('declaration_group_by') == 'importer' -%}
        importer_number
        {%- elif var('declaration_group_by') == 'filer' -%}
        filer_code
        {%- else -%}
        {{ exceptions.raise_compiler_error("var declaration_group_by must be 'filer' or 'importer'") }}
        {%- endif %} as declaration_group,
        row_number() over (
            partition by {{ 'importer_number' if var('declaration_group_by') == 'importer' else 'filer_code' }}
            order by entry_summary_date, entry_summary_number
        ) as position_in_group
    from eligible

),

numbered as (

    select
        *,
        cast(floor((position_in_group - 1) / {{ var('declaration_max_entries') }}) as integer) + 1
            as declaration_sequence
    from grouped

)

select
    declaration_group,
    '{{ var("declaration_group_by") }}' as declaration_group_by,
    declaration_sequence,
    -- 3 digits (ABC-001), more from the 1,000th declaration of a group: right(..., 3) alone would give 1001 the
    -- id of 1 and merge two files
    declaration_group || '-' || case
        when declaration_sequence < 1000 then {{ dbt.right("'000' || cast(declaration_sequence as varchar)", 3) }}
        else cast(declaration_sequence as varchar)
    end as planned_declaration_id,
    cast(position_in_group - (declaration_sequence - 1) * {{ var('declaration_max_entries') }} as integer)
        as row_in_declaration,
    entry_summary_number,
    importer_number,
    filer_code,
    entry_type_code,
    entry_summary_date,
    ieepa_principal_amount,
    as_of_date
from numbered
