{#
    The combination of columns is unique: no two rows share it. NULL counts as a value (GROUP BY groups NULLs),
    so two rows that differ only by NULL vs NULL in a key column are duplicates, as staging's deduplication
    sees them.
#}
{% test unique_combination(model, combination_of_columns) %}

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

{% endtest %}
