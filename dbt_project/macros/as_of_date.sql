{#
    The date every rule is evaluated as of (docs/ARCHITECTURE.md), an ISO date: the `as_of` var when it is given
    (`dbt build --vars '{"as_of": "2026-05-01"}'` by hand, and the unit tests), else the environment variable
    REFUNDS_AS_OF (what the pipeline sets: read only at execution, so a changed date re-parses nothing, where a
    changed --vars would discard dbt's whole saved parse). With neither, a build stops with an error rather than
    guess a date in some time zone: the date of a run is the pipeline's to decide (settings' time_zone). Parsing
    (no `execute`) needs no date. Renders a portable `cast('YYYY-MM-DD' as date)`.
#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', none) -%}
    {#- Read only when executing: dbt's partial parse records the environment variables a file reads while it is
        parsed and re-parses those files when one changes, i.e. every day. Read here, the date never enters the
        parse, so a new day re-parses nothing (about 4 s of every run). -#}
    {%- if as_of is none or (as_of | string | trim) == '' -%}
        {%- set as_of = env_var('REFUNDS_AS_OF', '') if execute else '' -%}
    {%- endif -%}
    {%- if (as_of | string | trim) == '' -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error("no as_of date: give --vars '{\"as_of\": \"YYYY-MM-DD\"}' or set REFUNDS_AS_OF (refunds run sets it)") }}
        {%- endif -%}
        {%- set as_of = '1970-01-01' -%}
    {%- endif -%}
    {%- set as_of = as_of | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) -%}
        {{ exceptions.raise_compiler_error("as_of (var 'as_of' or REFUNDS_AS_OF) must be an ISO date (YYYY-MM-DD), got '" ~ as_of ~ "'") }}
    {%- endif -%}
    cast('{{ as_of }}' as date)
{%- endmacro %}
