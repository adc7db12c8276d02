{#
    The filer code of an entry number: its first 3 characters (entry numbers are stored normalised, without
    dashes: XXXNNNNNNNC). Used to route CAPE declarations to the filer allowed to submit them.
#}
{% macro filer_code(entry_number_column) -%}
    substring({{ entry_number_column }}, 1, 3)
{%- endmacro %}
