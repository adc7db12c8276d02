{#
    The date every rule is evaluated as of (DESIGN.md): the `as_of` var (ISO date, passed by Dagster with
    `--vars '{"as_of": "2026-05-01"}'`), or the run's start date (UTC) when it is not given.
    Renders a portable `cast('YYYY-MM-DD' as date)`.
#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of is none or (as_of | string | trim) == '' -%}
        {%- set as_of = run_started_at.strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- set as_of = as_of | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) -%}
        {{ exceptions.raise_compiler_error("var 'as_of' must be an ISO date (YYYY-MM-DD), got '" ~ as_of ~ "'") }}
    {%- endif -%}
    cast('{{ as_of }}' as date)
{%- endmacro %}
