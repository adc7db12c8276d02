{#
    The version of everything a rule or a rate reads besides the rows: the reference seeds (CAPE rules, entry types
    and statuses, CBP error texts, Chapter 99 headings, interest rates, offset dispute paths, worklist actions) and
    the settings (the vars below, every var of dbt_project.yml but as_of: tests/test_rules_version.py checks the
    list). Twelve hex characters of an md5. Every mart row carries it, and the CAPE export's manifest states it, so
    an exported or reported figure can be traced to the reference data that produced it.

    `cast(t as varchar)` reads a whole row as text: DuckDB. Another adapter lists the columns instead.
#}


{% macro rules_version_var_names() -%}
    {{ return([
    'cape_liquidation_window_days', 'protest_window_days', 'psc_window_days', 'psc_days_before_liquidation',
    'psc_blocked_entry_types', 'court_action_years', 'scheduled_liquidation_days', 'ieepa_window_from',
    'ieepa_window_to', 'usmca_exemption_from', 'duty_tolerance_amount', 'duty_tolerance_pct',
    'recon_accepted_entry_types', 'declaration_max_entries', 'declaration_group_by', 'deposit_estimate_days',
    'estimated_liquidation_days_after_acceptance', 'interest_rate_basis_when_importer_unknown',
    'interest_tolerance_amount', 'interest_match_amount', 'vendor_tier_threshold_amount',
    'interest_rate_carry_forward_quarters', 'interest_suspended_while_ach_held', 'refund_window_min_days',
    'refund_window_max_days', 'refund_funds_diverted_status', 'rev603_total_is_net_of_offsets',
    'refund_ach_released_statuses', 'refund_worklist_min_amount',
]) }}
{%- endmacro %}

{% macro rules_version() -%}
    {#- a unit test checks the model's logic on its own rows, not the reference data (whose seeds it does not give) -#}
    {%- if model.resource_type == 'unit_test' %}{{ return("'unit-test'") }}{% endif -%}
    {%- set seeds = ['cape_rules', 'cape_entry_types', 'cape_entry_statuses', 'cbp_error_texts', 'chapter99_headings',
                     'interest_rates', 'offset_dispute_paths', 'refund_worklist_actions'] -%}
    {%- set settings = [] -%}
    {%- for name in rules_version_var_names() -%}
        {%- do settings.append(name ~ '=' ~ (var(name) | string)) -%}
    {%- endfor -%}
    (select left(md5(
        {%- for seed in seeds %}
        (select coalesce(string_agg(cast(t as varchar), '|' order by cast(t as varchar)), '')
            from {{ ref(seed) }} as t) || '#' ||
        {%- endfor %}
        '{{ settings | join("|") | replace("'", "''") }}'
    ), 12))
{%- endmacro %}
