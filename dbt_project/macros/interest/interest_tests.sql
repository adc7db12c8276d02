{#
    Generic data tests of the interest mart.

    interest_audit_trail_reconciles: for every entry of fct_entry_interest whose period is covered by the rate
    table, the audit trail (fct_interest_segments) has one row per quarter the period touches (per part, when an ACH
    hold cuts the period in two), its days add up to the period's days less the days suspended by the hold, and its
    segments' interest adds up, to the last of its 20 decimals, to the entry's unrounded interest: the two are
    computed separately from the same factor tables, so this proves they agree.

    interest_diagnosis_is_exact: a diagnosis that names a reading names one within var interest_match_amount (a cent)
    of CBP's figure, and an entry whose figure a reading explains has one (none_matches: no reading was within a
    cent, so none is recorded; matches_expected: the default figure itself is within a cent).

    interest_calendar_quarters: every rate row is a calendar quarter (starts on a quarter's first day and ends the
    day before the next one). The factor lookups find a date's quarter with date_trunc('quarter', date).
#}

{% test interest_audit_trail_reconciles(model, segments) %}

    with trail as (

        select
            entry_summary_number,
            count(*) as segment_rows,
            sum(days) as days,
            sum(interest_amount) as interest_amount
        from {{ segments }}
        group by entry_summary_number

    )

    select
        e.entry_summary_number,
        e.period_days,
        e.segment_count,
        e.cbp_daily_compound_exact,
        t.segment_rows,
        t.days,
        t.interest_amount
    from {{ model }} as e
    left join trail as t on e.entry_summary_number = t.entry_summary_number
    where e.is_fully_rated
        and e.period_days > e.interest_suspended_days
        and (
            t.entry_summary_number is null
            or t.segment_rows <> e.segment_count
            or t.days <> e.period_days - e.interest_suspended_days
            or t.interest_amount <> e.cbp_daily_compound_exact
        )

{% endtest %}

{% test interest_calendar_quarters(model) %}

    select *
    from {{ model }}
    where quarter_start <> cast({{ dbt.date_trunc('quarter', 'quarter_start') }} as date)
        or next_quarter_start <> cast({{ dbt.dateadd('month', 3, 'quarter_start') }} as date)

{% endtest %}

{% test interest_diagnosis_is_exact(model) %}

    select entry_summary_number, variance_diagnosis, cbp_interest_amount, diagnosis_reading_amount
    from {{ model }}
    where
        -- the reading named misses CBP's figure
        abs(cbp_interest_amount - diagnosis_reading_amount) > {{ var('interest_match_amount') }}
        -- a figure to explain, a diagnosis that claims to explain it, and no reading recorded
        or (
            cbp_interest_amount is not null
            and variance_diagnosis not in ('none_matches', 'not_computable', 'not_stated')
            and diagnosis_reading_amount is null
        )
        -- nothing explains it, yet the default figure is within a cent
        or (variance_diagnosis = 'none_matches' and abs(interest_variance_amount) <= {{ var('interest_match_amount') }})
        or (variance_diagnosis = 'none_matches') <> coalesce(not is_interest_explained, false)

{% endtest %}
