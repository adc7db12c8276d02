{#
    A list of strings (a var's list of codes or statuses) as SQL string literals for `in (...)`: 'a', 'b', with any
    quote in a value doubled. One expression on one line, so the rendered list never spreads over the model's layout.
#}
{% macro quoted_list(values) -%}
    {%- for value in values -%}
        '{{ value | string | replace("'", "''") }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}
