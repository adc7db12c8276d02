{#
    The rows of `relation` (a raw table) that a newer export proves gone: the newest export holding their group and
    loaded whole (`complete_by`, see newest_per_key) lacks their key. One row each, with the export that
    superseded it.
#}
{% macro retracted_rows(report_code, relation, key_columns, complete_by) -%}
    with flagged as (
        select r.*, r._load_id in ({{ complete_loads() }}) as load_is_complete
        from {{ relation }} as r
    ),
    rows_ranked as (
        select
            *,
            first_value(case when load_is_complete then _load_id end ignore nulls) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
                rows between unbounded preceding and unbounded following
            ) as newest_load_id,
            first_value(case when load_is_complete then _source_file end ignore nulls) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
                rows between unbounded preceding and unbounded following
            ) as newest_source_file,
            first_value(case when load_is_complete then _file_modified_at end ignore nulls) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
                rows between unbounded preceding and unbounded following
            ) as newest_modified_at
        from flagged
    ),
    in_newest as (
        select distinct {{ key_columns | join(', ') }} from rows_ranked where _load_id = newest_load_id
    )
    select distinct
        '{{ report_code }}' as report_code,
        {{ complete_by | join(" || '|' || ") }} as group_key,
        {% for c in key_columns %}cast({{ c }} as {{ dbt.type_string() }}){% if not loop.last %} || '|' || {% endif %}{% endfor %} as row_key,
        r._source_file as source_file,
        r._source_line as source_line,
        r._load_id as load_id,
        r.newest_source_file as retracted_by_file,
        r.newest_load_id as retracted_by_load_id
    from rows_ranked as r
    where r.newest_load_id is not null
        and (r._file_modified_at < r.newest_modified_at
            or (r._file_modified_at = r.newest_modified_at and r._load_id < r.newest_load_id))
        and not exists (
            select 1 from in_newest as n
            where {% for c in key_columns %}n.{{ c }} is not distinct from r.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
        )
{%- endmacro %}
