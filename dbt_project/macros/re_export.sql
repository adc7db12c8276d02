{#
    Whether this run sends again the entries an earlier run exported that CBP has not answered yet (the command
    line's --re-export, run tag refunds/re_export): the var `re_export` when given, else the environment variable
    REFUNDS_RE_EXPORT the pipeline sets (as for as_of, an environment variable keeps dbt's saved parse). Renders
    a SQL boolean.
#}
{% macro re_export() -%}
    {%- set value = var('re_export', none) -%}
    {%- if value is none -%}
        {%- set value = env_var('REFUNDS_RE_EXPORT', 'false') -%}
    {%- endif -%}
    {{ 'true' if (value | string | trim | lower) in ('true', '1', 'yes') else 'false' }}
{%- endmacro %}
