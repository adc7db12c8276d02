{#
    Keep one row per business key: the one from the newest export.

    A user exports the same ACE report several times over overlapping date ranges; the raw tables keep every
    copy. The newest file (by modification time) wins, then the later load, then the later line of the file.
    Window partitions group NULLs together, so a NULL key column (e.g. REV-603's optional offset columns) is a
    value of the key like any other.

    `qualify` is not ANSI SQL but DuckDB, Snowflake, BigQuery and Databricks have it. An adapter without it
    adds `<adapter>__newest_per_key` (e.g. Postgres: `select distinct on (<key>) * ... order by <key>, <order>`).
#}
{% macro newest_per_key(relation, key_columns, order_by=none) -%}
    {{ return(adapter.dispatch('newest_per_key', 'ieepa_refunds')(relation, key_columns, order_by)) }}
{%- endmacro %}

{% macro default__newest_per_key(relation, key_columns, order_by=none) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ order_by or newest_export_order() }}
    ) = 1
{%- endmacro %}

{# The tie-break order of the deduplication, newest first. Lineage columns written by the ingest assets. #}
{% macro newest_export_order() -%}
    _file_modified_at desc, _load_id desc, _source_line desc
{%- endmacro %}
