{#
    The reports whose rows a newer export can retract (models/staging/ingest/stg_ingest__retracted_rows.sql): the
    group an export always lists whole (as `complete_by` in newest_per_key) and the row's business key.
#}
{% macro retracted_row_groups() -%}
    {{ return([
        {'report_code': 'es003', 'relation': source('raw', 'es003_line_tariffs'),
         'group_column': 'entry_summary_number',
         'key_columns': ['entry_summary_number', 'entry_summary_line_number', 'tariff_ordinal_number']},
        {'report_code': 'rev615', 'relation': source('raw', 'rev615_cape_refund_details'),
         'group_column': 'refund_number', 'key_columns': ['refund_number', 'entry_summary_number']},
    ]) }}
{%- endmacro %}

{#
    The model's fingerprint covers its SQL and the groups above (a hook renders it too, so it is a macro): table
    names, not relations, whose database name is the warehouse file's.
#}
{% macro retracted_rows_fingerprint() -%}
    {%- set groups = [] -%}
    {%- for g in retracted_row_groups() -%}
        {%- do groups.append([g.report_code, g.relation.identifier, g.group_column, g.key_columns | join(',')] | join(':')) -%}
    {%- endfor -%}
    {{ return(build_fingerprint("select '" ~ groups | join(';') ~ "'")) }}
{%- endmacro %}
