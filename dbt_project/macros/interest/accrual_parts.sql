{#
    The parts of an interest period that earn interest: the period [start_date, end_date) less a hold
    [hold_start_date, hold_end_date) during which no interest accrues (19 U.S.C. 1505(d): a refund held for missing
    ACH data; hold_end_date NULL = still held; hold_start_date NULL = no hold). At most two parts: part 1 before the
    hold (the whole period without one), part 2 after its release. A part may be empty (start >= end): callers keep
    the parts with start_date < end_date. The balance is carried across the hold unchanged.

    `relation` is a CTE or relation with the columns entry_summary_number, reading, start_date, end_date,
    hold_start_date, hold_end_date and the pass-through columns named in `columns`.
#}
{% macro interest_accrual_parts(relation, columns) -%}
    select
        entry_summary_number,
        reading,
        1 as accrual_part,
        {% for c in columns %}{{ c }}, {% endfor %}
        start_date,
        case when hold_start_date < end_date then hold_start_date else end_date end as end_date
    from {{ relation }}

    union all

    select
        entry_summary_number,
        reading,
        2 as accrual_part,
        {% for c in columns %}{{ c }}, {% endfor %}
        case when hold_end_date > start_date then hold_end_date else start_date end as start_date,
        end_date
    from {{ relation }}
    where hold_start_date < end_date
        and hold_end_date is not null
{%- endmacro %}
