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

    `seen_column`: the model's column holding the newest load its build had seen. The line models carry each row's
    own _load_id; a model of one row per entry stores the build's newest load instead (`loads_seen_through()`).
#}
{% macro only_entries_loaded_since_last_build(rows_relation, fingerprint_sql, seen_column='_load_id') -%}
    {%- if is_incremental() -%}
        {#- a unit test's `this` is its fixture (a CTE name), which states its columns -#}
        {%- set built_columns = ['_build_fingerprint', seen_column] if this is string
            else adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {#- a table built before it had these columns is rebuilt whole (and gains them: sync_all_columns) -#}
        {%- if '_build_fingerprint' in built_columns and seen_column in built_columns -%}
    where entry_summary_number in (
        select entry_summary_number from {{ rows_relation }}
        where _load_id > (select coalesce(max({{ seen_column }}), -1) from {{ this }})
    )
        or ({{ fingerprint_sql }}) is distinct from (select max(_build_fingerprint) from {{ this }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#
    The fingerprint query: the md5 of this model's SQL, of the project's macros, and of `inputs_sql` (a scalar
    varchar query) when given. The macros count because the SQL a model runs is partly theirs (newest_per_key,
    complete_loads, filer_code ...): a pipeline version that changes one rebuilds the incremental models once.
#}
{% macro build_fingerprint(inputs_sql=none) -%}
    select md5('{{ local_md5(model.raw_code) }}|{{ project_macros_md5() }}|' || coalesce(({{ inputs_sql or "select ''" }}), ''))
{%- endmacro %}

{# The md5 of every macro of this project, in name order (dbt's own macros come with its version). At parse: ''. #}
{% macro project_macros_md5() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set texts = [] -%}
    {%- for name, item in context.items() | sort -%}
        {%- if item.macro is defined and item.macro.package_name == project_name -%}
            {%- do texts.append(name ~ ':' ~ item.macro.macro_sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(texts | join('\n'))) }}
{%- endmacro %}

{# The newest load in the ledger: what a build has seen (raw rows and their ledger row are written together). #}
{% macro loads_seen_through() -%}
    select coalesce(max(load_id), -1) from {{ source('ingest', 'file_ledger') }}
{%- endmacro %}

{#
    Incremental builds by group for a model that can be empty or write no row for a group it recomputed
    (stg_ingest__retracted_rows): its rows cannot say what it has seen, so the fingerprint and the newest load seen
    are kept in a one-row table beside it, `<model>__build_state`, written by a post-hook in the same transaction
    as the model's rows (record_build_state). A run recomputes the groups with a row from a load newer than that,
    or every group when the fingerprint differs or the state table is missing; the pre-hook
    delete_groups_to_rebuild first deletes every row of those groups (all rows when there is no state; the model
    appends), so a group whose rows shrink, down to none, is replaced whole. Groups: a list of {report_code,
    relation, group_column}; the model has columns report_code and group_key (the group column as text).
#}
{% macro build_state_relation() -%}
    {%- if this is string or not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(this.database, this.schema, this.identifier ~ '__build_state')) }}
{%- endmacro %}

{% macro only_groups_loaded_since_last_build(rows_relation, group_column, fingerprint_sql) -%}
    {%- if is_incremental() -%}
        {%- set state = build_state_relation() -%}
        {%- if state is not none -%}
    where {{ group_column }} in (
        select {{ group_column }} from {{ rows_relation }}
        where _load_id > (select loads_seen_through from {{ state }})
    )
        or ({{ fingerprint_sql }}) is distinct from (select build_fingerprint from {{ state }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro delete_groups_to_rebuild(groups, fingerprint_sql) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
        {%- if build_state_relation() is not none %}
    where {% for g in groups %}(report_code = '{{ g.report_code }}' and group_key in (
        select cast({{ g.group_column }} as {{ dbt.type_string() }}) from {{ g.relation }}
        {{ only_groups_loaded_since_last_build(g.relation, g.group_column, fingerprint_sql) }}
    )){% if not loop.last %}
        or {% endif %}{% endfor %}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{% macro record_build_state(fingerprint_sql) -%}
    create or replace table {{ this.incorporate(path={'identifier': this.identifier ~ '__build_state'}) }} as
    select ({{ fingerprint_sql }}) as build_fingerprint, ({{ loads_seen_through() }}) as loads_seen_through
{%- endmacro %}
