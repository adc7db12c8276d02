{#
    Keep one row per business key: the one from the newest export.

    A user exports the same ACE report several times over overlapping date ranges; the raw tables keep every
    copy. The newest file (by modification time) wins, then the later load, then the later line of the file.
    Window partitions group NULLs together, so a NULL key column (e.g. REV-603's optional offset columns) is a
    value of the key like any other.

    `complete_by`: columns of a group an export always lists whole (every line of an entry summary in ES-003, every
    entry of a declaration in ES-022, every entry of a refund in REV-615). The newest export that holds the group
    is then the whole truth about it: the group's rows come from that export only, so a row an older export had and
    the newest one lacks (a line a post-summary correction removed) is retracted, not kept. macros/retracted_rows.sql
    lists what was retracted.

    `qualify` is not ANSI SQL but DuckDB, Snowflake, BigQuery and Databricks have it. An adapter without it
    adds `<adapter>__newest_per_key` (e.g. Postgres: `select distinct on (<key>) * ... order by <key>, <order>`).
#}
{% macro newest_per_key(relation, key_columns, order_by=none, complete_by=none) -%}
    {{ return(adapter.dispatch('newest_per_key', 'ieepa_refunds')(relation, key_columns, order_by, complete_by)) }}
{%- endmacro %}

{% macro default__newest_per_key(relation, key_columns, order_by=none, complete_by=none) -%}
    select * exclude (_group_newest_load_id)
    from (
        select
            *,
            {%- if complete_by %}
            first_value(_load_id) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
            ) as _group_newest_load_id
            {%- else %}
            _load_id as _group_newest_load_id
            {%- endif %}
        from {{ relation }}
    ) as with_group
    where _load_id = _group_newest_load_id
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ order_by or newest_export_order() }}
    ) = 1
{%- endmacro %}

{# The tie-break order of the deduplication, newest first. Lineage columns written by the ingest assets. #}
{% macro newest_export_order() -%}
    _file_modified_at desc, _load_id desc, _source_line desc
{%- endmacro %}
