{#
    Incremental builds of the line-level models (millions of rows), by entry.

    The raw tables are append-only and every load gets a larger load id (ingest.load_id_seq), so on an incremental
    run the entries to recompute are the ones with a row loaded after the newest load the model already holds;
    each of them is recomputed from all its rows and replaces its old rows (delete+insert on entry_summary_number),
    which gives exactly what a full build gives for that entry. `fingerprint_sql`, when given, is a scalar query
    over what the model reads besides the rows (reference tables, vars): when it differs from the fingerprint the
    model was built with, every entry is recomputed. A change to the model's own SQL needs `--full-refresh`.
#}
{% macro only_entries_loaded_since_last_build(rows_relation, fingerprint_sql=none) -%}
    {%- if is_incremental() -%}
    where entry_summary_number in (
        select entry_summary_number from {{ rows_relation }}
        where _load_id > (select coalesce(max(_load_id), -1) from {{ this }})
    )
    {%- if fingerprint_sql %}
        or ({{ fingerprint_sql }}) is distinct from (select max(_build_fingerprint) from {{ this }})
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
