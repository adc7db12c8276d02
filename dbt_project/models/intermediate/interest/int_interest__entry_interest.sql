-- Per refundable entry: the interest CBP owes, by method side by side, next to what CBP stated, the variance, and
-- a diagnosis of CBP's figure: which reading of it matches.
--
-- CBP computes deterministically: a reading explains CBP's figure only when it is within var interest_match_amount
-- (a cent) of it. A figure no reading matches is none_matches and its variance is unexplained however small; var
-- interest_tolerance_amount only decides what is worth chasing (interest_variance_status), never what is explained.
-- Diagnosis, first that applies (the readings are columns of this table, so an auditor can see them):
--   not_stated                  CBP has stated no figure for the entry (yet)
--   principal_short_paid /      CBP's principal differs from the IEEPA duty deposited (ES-003) and its interest is
--   principal_over_paid         the interest on the principal it paid, or on the deposit, within a cent (or none)
--   not_computable              the rate table does not cover the period
--   matches_expected            within a cent of cbp_daily_compound
--   <reading>                   the first alternative reading, in the order below, within a cent
--   none_matches                no reading is within a cent of CBP's figure
-- Readings, in order: the other ACH-hold rule (accrued_while_ach_held when var interest_suspended_while_ach_held is
-- on, suspended_while_ach_held when it is off), entry_date_as_deposit_date, payment_date_as_end_date,
-- single_rate_whole_period, simple_not_compound, vendor_tier_applied (corporate importers), other_rate_column (CBP
-- used the other column of its table: non-corporate for a corporation or the reverse).
-- diagnosis_reading_amount is the matching reading's figure (always within a cent of CBP's); is_interest_explained
-- says whether one matched (NULL when there is nothing to explain).

{%- set match = var('interest_match_amount') %}
{%- set tolerance = var('interest_tolerance_amount') %}
{%- set alternatives = [
    ('accrued_while_ach_held' if var('interest_suspended_while_ach_held') else 'suspended_while_ach_held',
        'alt_ach_hold_other_rule_interest'),
    ('entry_date_as_deposit_date', 'alt_entry_date_as_deposit_interest'),
    ('payment_date_as_end_date', 'alt_payment_date_as_end_interest'),
    ('single_rate_whole_period', 'alt_single_rate_whole_period_interest'),
    ('simple_not_compound', 'interest_simple'),
    ('vendor_tier_applied', 'alt_vendor_tier_interest'),
    ('other_rate_column', 'alt_other_rate_column_interest'),
] %}

with

periods as (

    select * from {{ ref('int_interest__entry_periods') }}

),

readings as (

    select * from {{ ref('int_interest__entry_readings') }}

),

joined as (

    select
        p.*,
        r.period_days,
        r.segment_count,
        r.is_fully_rated,
        r.interest_cbp_daily_compound,
        r.interest_simple,
        r.interest_vendor_quarter_tier,
        r.cbp_daily_compound_exact,
        r.rate_status_worst,
        r.uses_unverified_rate,
        r.vendor_quarter_tier_rate_status_worst,
        r.alt_entry_date_as_deposit_interest,
        r.alt_payment_date_as_end_interest,
        r.alt_single_rate_whole_period_interest,
        r.alt_other_rate_column_interest,
        r.alt_ach_hold_other_rule_interest,
        r.alt_on_cbp_principal_interest,
        -- the vendor's tier only exists for corporations (otherwise its figure is simple interest)
        case when p.is_corporate then r.interest_vendor_quarter_tier end as alt_vendor_tier_interest,
        cast(p.cbp_interest_amount - r.interest_cbp_daily_compound as decimal(18, 2)) as interest_variance_amount,
        cast(p.cbp_principal_amount - p.principal_amount as decimal(18, 2)) as principal_variance_amount
    from periods as p
    inner join readings as r on p.entry_summary_number = r.entry_summary_number

),

diagnosed as (

    select
        *,
        case
            when cbp_interest_amount is null and cbp_principal_amount is null then 'not_stated'
            when cbp_principal_amount <> principal_amount
                and (
                    cbp_interest_amount is null
                    or abs(cbp_interest_amount - alt_on_cbp_principal_interest) <= {{ match }}
                    or abs(interest_variance_amount) <= {{ match }}
                )
                then case when cbp_principal_amount < principal_amount then 'principal_short_paid'
                    else 'principal_over_paid' end
            when cbp_interest_amount is null then 'not_stated'
            when interest_cbp_daily_compound is null then 'not_computable'
            when abs(interest_variance_amount) <= {{ match }} then 'matches_expected'
            {%- for name, column in alternatives %}
            when abs(cbp_interest_amount - {{ column }}) <= {{ match }} then '{{ name }}'
            {%- endfor %}
            else 'none_matches'
        end as variance_diagnosis
    from joined

),

final as (

    select
        *,
        case variance_diagnosis
            when 'matches_expected' then interest_cbp_daily_compound
            {%- for name, column in alternatives %}
            when '{{ name }}' then {{ column }}
            {%- endfor %}
            else case
                when variance_diagnosis not in ('principal_short_paid', 'principal_over_paid') then null
                when abs(cbp_interest_amount - alt_on_cbp_principal_interest) <= {{ match }}
                    then alt_on_cbp_principal_interest
                when abs(interest_variance_amount) <= {{ match }} then interest_cbp_daily_compound
            end
        end as diagnosis_reading_amount
    from diagnosed

)

select
    entry_summary_number,
    importer_number,
    filer_code,
    entry_type_code,
    refund_number,

    -- period
    principal_amount,
    entry_date,
    deposit_date,
    deposit_date_basis,
    deposit_date_is_estimated,
    end_date,
    end_date_basis,
    end_date_is_estimated,
    period_days,
    segment_count,

    -- refund held for missing ACH data (19 U.S.C. 1505(d)): days of the period in the hold, days without interest
    ach_hold_start_date,
    ach_hold_end_date,
    ach_hold_is_estimated,
    interest_held_days,
    interest_suspended_days,

    -- rate basis
    is_corporate,
    rate_basis,
    rate_basis_is_assumed,
    rate_column,
    rate_status_worst,
    uses_unverified_rate,
    is_fully_rated,

    -- what CBP owes, by method (rounded to cents once)
    interest_cbp_daily_compound,
    interest_simple,
    interest_vendor_quarter_tier,
    vendor_quarter_tier_rate_status_worst,
    cbp_daily_compound_exact,

    -- what CBP stated
    cbp_principal_amount,
    cbp_interest_amount,
    cbp_interest_source,
    cbp_reports_disagree,
    es701_interest_amount,
    es022_interest_amount,
    rev615_interest_amount,
    payment_date,
    payment_date_source,

    -- variance (CBP - expected) and its diagnosis
    principal_variance_amount,
    interest_variance_amount,
    case
        when interest_variance_amount is null then null
        when interest_variance_amount < -{{ tolerance }} then 'underpaid'
        when interest_variance_amount > {{ tolerance }} then 'overpaid'
        else 'within_tolerance'
    end as interest_variance_status,
    abs(interest_variance_amount) <= {{ tolerance }} as is_within_tolerance,
    alt_entry_date_as_deposit_interest,
    alt_payment_date_as_end_interest,
    alt_single_rate_whole_period_interest,
    alt_vendor_tier_interest,
    alt_other_rate_column_interest,
    alt_ach_hold_other_rule_interest,
    alt_on_cbp_principal_interest,
    variance_diagnosis,
    diagnosis_reading_amount,
    case
        when cbp_interest_amount is null or interest_cbp_daily_compound is null then null
        else diagnosis_reading_amount is not null
    end as is_interest_explained
from final
