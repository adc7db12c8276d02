{#
    Every non-NULL value of the column lies within [min_value, max_value] (bounds optional; exclusive with
    inclusive=false). A `where` config narrows the rows checked.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error("accepted_range needs min_value or max_value") }}
    {%- endif %}

    select *
    from {{ model }}
    where {{ column_name }} is not null
      and (
          1 = 0
          {%- if min_value is not none %}
          or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
          {%- endif %}
          {%- if max_value is not none %}
          or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
          {%- endif %}
      )

{% endtest %}
