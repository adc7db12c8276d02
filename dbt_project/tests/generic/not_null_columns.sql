{#
    None of the listed columns holds a NULL: one test per model in place of one `not_null` per column, each dbt
    test node costing a fixed overhead whatever the table's size. One pass over the model; a failure returns one
    row per column that has NULLs (column_name, null_rows), so it names them. A `where` config narrows the rows
    checked, as for any generic test.
#}
{% test not_null_columns(model, column_names) %}

    {%- if not column_names %}
        {{ exceptions.raise_compiler_error("not_null_columns needs a non-empty list column_names") }}
    {%- endif %}

    with null_counts as (
        select
            {%- for column in column_names %}
            count(*) filter (where {{ column }} is null) as "{{ column }}"{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ model }}
    ),

    per_column as (
        unpivot null_counts
        on columns(*)
        into name column_name value null_rows
    )

    select column_name, null_rows
    from per_column
    where null_rows > 0

{% endtest %}
