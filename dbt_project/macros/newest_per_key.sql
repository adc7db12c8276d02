{#
    Keep one row per business key: the one from the newest export.

    A user exports the same ACE report several times over overlapping date ranges; the raw tables keep every
    copy. The newest file (by modification time) wins, then the later load, then the later line of the file.
    Window partitions group NULLs together, so a NULL key column (e.g. REV-603's optional offset columns) is a
    value of the key like any other.

    `complete_by`: columns of a group an export always lists whole (every line of an entry summary in ES-003, every
    entry of a refund in REV-615). The newest export that holds the group and loaded whole (no row quarantined: a
    file cut off mid-way proves nothing gone) is then the whole truth about it: the group's rows come from that
    export or newer ones, so a row an older export had and that export lacks (a line a post-summary correction
    removed) is retracted, not kept. stg_ingest__retracted_rows lists what was retracted.

    `qualify` is not ANSI SQL but DuckDB, Snowflake, BigQuery and Databricks have it. An adapter without it
    adds `<adapter>__newest_per_key` (e.g. Postgres: `select distinct on (<key>) * ... order by <key>, <order>`).
#}
{% macro newest_per_key(relation, key_columns, order_by=none, complete_by=none) -%}
    {{ return(adapter.dispatch('newest_per_key', 'ieepa_refunds')(relation, key_columns, order_by, complete_by)) }}
{%- endmacro %}

{% macro default__newest_per_key(relation, key_columns, order_by=none, complete_by=none) -%}
    {%- if complete_by %}
    select * exclude (_complete_load_id, _complete_modified_at)
    from (
        select
            *,
            -- the newest export holding the group that loaded whole (no row quarantined): a cut-off file proves
            -- nothing gone
            first_value(case when _load_is_complete then _load_id end ignore nulls) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
                rows between unbounded preceding and unbounded following
            ) as _complete_load_id,
            first_value(case when _load_is_complete then _file_modified_at end ignore nulls) over (
                partition by {{ complete_by | join(', ') }}
                order by _file_modified_at desc, _load_id desc
                rows between unbounded preceding and unbounded following
            ) as _complete_modified_at
        from (
            select r.*, r._load_id in ({{ complete_loads() }}) as _load_is_complete
            from {{ relation }} as r
        ) as flagged
    ) as with_group
    -- rows of that export, or of any newer one; older exports' rows of the group are retracted
    where _complete_load_id is null
        or _file_modified_at > _complete_modified_at
        or (_file_modified_at = _complete_modified_at and _load_id >= _complete_load_id)
    {%- else %}
    select *
    from {{ relation }}
    {%- endif %}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ order_by or newest_export_order() }}
    ) = 1
{%- endmacro %}

{# Loads whose file loaded whole: no row quarantined (ingest.file_ledger). #}
{% macro complete_loads() -%}
    select load_id from {{ source('ingest', 'file_ledger') }} where status = 'loaded' and rows_quarantined = 0
{%- endmacro %}

{# The tie-break order of the deduplication, newest first. Lineage columns written by the ingest assets. #}
{% macro newest_export_order() -%}
    _file_modified_at desc, _load_id desc, _source_line desc
{%- endmacro %}
