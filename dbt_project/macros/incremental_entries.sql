{#
    Incremental builds of the line-level models (millions of rows), by entry.

    The raw tables are append-only and every load gets a larger load id (ingest.load_id_seq), so on an incremental
    run the entries to recompute are the ones with a row loaded after the newest load the model already holds;
    each of them is recomputed from all its rows and replaces its old rows (delete+insert on entry_summary_number),
    which gives exactly what a full build gives for that entry.

    Every row also stores the model's build fingerprint (build_fingerprint()): the md5 of the model's own SQL and of
    whatever else it reads besides the rows (a reference table, vars). When the current fingerprint differs from the
    stored one (a new version of the model, an edited heading table), or the table predates fingerprints, every
    entry is recomputed; with on_schema_change='sync_all_columns' a new pipeline version heals its tables by itself.
#}
{% macro only_entries_loaded_since_last_build(rows_relation, fingerprint_sql) -%}
    {%- if is_incremental() -%}
        {#- a unit test's `this` is its fixture (a CTE name), which states its columns -#}
        {%- set built_columns = ['_build_fingerprint'] if this is string
            else adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if '_build_fingerprint' in built_columns -%}
    where entry_summary_number in (
        select entry_summary_number from {{ rows_relation }}
        where _load_id > (select coalesce(max(_load_id), -1) from {{ this }})
    )
        or ({{ fingerprint_sql }}) is distinct from (select max(_build_fingerprint) from {{ this }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# The fingerprint query: the md5 of this model's SQL, and of `inputs_sql` (a scalar varchar query) when given. #}
{% macro build_fingerprint(inputs_sql=none) -%}
    select md5('{{ local_md5(model.raw_code) }}|' || coalesce(({{ inputs_sql or "select ''" }}), ''))
{%- endmacro %}
