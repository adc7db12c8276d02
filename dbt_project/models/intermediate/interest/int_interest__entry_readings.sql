-- noqa: disable=AL03
-- (the rows of a union take the names of its first branch; the later branches' expressions stay unnamed)
-- Per refundable entry: the interest under every method and reading, unrounded (exact products principal x
-- factor, DECIMAL(38,20)) and rounded to cents once (DECIMAL(18,2)), with the worst status of the rates each
-- figure uses.
--
-- Methods (docs/DOMAIN.md section 5): cbp_daily_compound (what CBP owes: daily compounding, balance carried across
-- quarters), simple (the same daily rates, not compounded) and vendor_quarter_tier (simple interest, a corporate
-- principal split at var vendor_tier_threshold_amount: the first part at short-term + 2 = CBP's corporate column,
-- the rest at short-term + 0.5 = the IRS column for corporate overpayments over $10,000). Readings CBP's stated
-- figure is compared against (entries with a stated figure only): the entry date as deposit date, the payment
-- date as end date, the deposit quarter's rate for the whole period, the other CBP column (corporate status
-- swapped), interest on the principal CBP actually paid, and the other rule for a refund held for missing ACH data
-- (accrued through the hold when the suspension is on, var interest_suspended_while_ach_held; suspended when off).
-- The other rate column is also computed for every entry whose rate basis is assumed (importer without a profile):
-- the interest that rides on the assumption.
--
-- Each reading's period loses the ACH hold (int_interest__entry_periods.suspension_*_date) when the rule is on:
-- it earns interest over at most two parts (macro interest_accrual_parts), the balance carried across the hold,
-- growth = growth(part 1) x growth(part 2) rounded to 18 decimals.
--
-- A period from D to E grows by growth(D, start of the quarter holding E's last day) x (that quarter's factor
-- for the days left): int_interest__growth_to_quarter_start and int_interest__daily_factors, one product rounded
-- to 18 decimals. The same figure, segment by segment, is the audit trail fct_interest_segments.
-- A figure is NULL when the rate table does not cover its whole period (rate status MISSING).

{%- set threshold = var('vendor_tier_threshold_amount') %}

with

periods as (

    select * from {{ ref('int_interest__entry_periods') }}

),

rate_quarters as (

    select * from {{ ref('int_interest__rate_quarters') }}

),

daily_factors as (

    select * from {{ ref('int_interest__daily_factors') }}

),

growth_to_quarter_start as (

    select * from {{ ref('int_interest__growth_to_quarter_start') }}

),

readings as (

    -- every reading's period and the hold it loses (hold_*: NULL when none applies)
    select
        entry_summary_number, 'cbp_daily_compound' as reading,
        deposit_date as start_date, end_date, rate_column, is_corporate,
        suspension_start_date as hold_start_date, suspension_end_date as hold_end_date
    from periods

    union all

    select
        entry_summary_number, 'entry_date_as_deposit_date' as reading,
        entry_date as start_date, end_date, rate_column, is_corporate,
        suspension_start_date, suspension_end_date
    from periods
    where cbp_interest_amount is not null and entry_date <> deposit_date

    union all

    select
        entry_summary_number, 'payment_date_as_end_date' as reading,
        deposit_date as start_date, payment_date as end_date, rate_column, is_corporate,
        suspension_start_date, suspension_end_date
    from periods
    where cbp_interest_amount is not null and payment_date <> end_date

    union all

    select
        entry_summary_number, 'other_rate_column' as reading,
        deposit_date as start_date, end_date, other_rate_column as rate_column, is_corporate,
        suspension_start_date, suspension_end_date
    from periods
    where cbp_interest_amount is not null or rate_basis_is_assumed

    union all

    -- the other ACH-hold rule: accrued through the hold when the suspension is on, suspended when it is off
    select
        entry_summary_number, 'ach_hold_other_rule' as reading,
        deposit_date as start_date, end_date, rate_column, is_corporate,
        {%- if var('interest_suspended_while_ach_held') %}
        cast(null as date), cast(null as date)
        {%- else %}
        ach_hold_start_date, ach_hold_end_date
        {%- endif %}
    from periods
    where cbp_interest_amount is not null and interest_held_days > 0

),

parts as (

    {{ interest_accrual_parts('readings', ['rate_column', 'is_corporate']) }}

),

located as (

    select
        *,
        cast({{ dbt.date_trunc('quarter', 'start_date') }} as date) as start_quarter_start,
        -- the quarter holding the last day that earns interest (the end date itself does not)
        cast({{ dbt.date_trunc('quarter', dbt.dateadd('day', -1, 'end_date')) }} as date) as last_quarter_start,
        {{ dbt.datediff('start_date', 'end_date', 'day') | trim }} as part_days
    from parts
    where start_date < end_date

),

grown_parts as (

    select
        l.entry_summary_number,
        l.reading,
        l.accrual_part,
        l.part_days,
        l.start_quarter_start,
        l.last_quarter_start,
        -- quarters the part touches (its segments in fct_interest_segments)
        cast({{ dbt.datediff('l.start_quarter_start', 'l.last_quarter_start', 'month') | trim }} / 3 as integer) + 1
            as segment_count,
        case
            when l.start_quarter_start = l.last_quarter_start then same.growth_factor
            else cast(round(g.growth_factor * tail.growth_factor, 18) as decimal(38, 18))
        end as growth_factor,
        case
            when l.start_quarter_start = l.last_quarter_start then qs.rate_status_rank
            when g.rate_status_rank > ql.rate_status_rank then g.rate_status_rank
            else ql.rate_status_rank
        end as rate_status_rank,
        -- sum of the daily rates over the part (simple interest per $1)
        (ql.cumulative_rate_days_at_start
            + ql.daily_rate * {{ dbt.datediff('l.last_quarter_start', 'l.end_date', 'day') }})
        - (qs.cumulative_rate_days_at_start
            + qs.daily_rate * {{ dbt.datediff('l.start_quarter_start', 'l.start_date', 'day') }}) as rate_days
    from located as l
    left join rate_quarters as qs
        on l.rate_column = qs.rate_column and l.start_quarter_start = qs.quarter_start
    left join rate_quarters as ql
        on l.rate_column = ql.rate_column and l.last_quarter_start = ql.quarter_start
    -- part within one quarter
    left join daily_factors as same
        on l.start_quarter_start = l.last_quarter_start
        and l.rate_column = same.rate_column
        and l.start_quarter_start = same.quarter_start
        and l.part_days = same.days
    -- part over several quarters: to the start of the last one, then the days left
    left join growth_to_quarter_start as g
        on l.start_quarter_start <> l.last_quarter_start
        and l.rate_column = g.rate_column
        and l.start_date = g.from_date
        and l.last_quarter_start = g.to_quarter_start
    left join daily_factors as tail
        on l.start_quarter_start <> l.last_quarter_start
        and l.rate_column = tail.rate_column
        and l.last_quarter_start = tail.quarter_start
        and {{ dbt.datediff('l.last_quarter_start', 'l.end_date', 'day') | trim }} = tail.days

),

grown as (

    -- per reading: the parts' growth multiplied (a period held throughout earns nothing: growth 1)
    select
        r.entry_summary_number,
        r.reading,
        coalesce(sum(g.part_days), 0) as accrual_days,
        coalesce(sum(g.segment_count), 0) as segment_count,
        min(g.start_quarter_start) as start_quarter_start,
        max(g.last_quarter_start) as last_quarter_start,
        case
            when count(g.accrual_part) = 0 then cast(1 as decimal(38, 18))
            when count(g.growth_factor) < count(g.accrual_part) then null
            when count(g.accrual_part) = 1 then max(g.growth_factor)
            else cast(round(
                max(case when g.accrual_part = 1 then g.growth_factor end)
                * max(case when g.accrual_part = 2 then g.growth_factor end), 18) as decimal(38, 18))
        end as growth_factor,
        coalesce(max(g.rate_status_rank), 0) as rate_status_rank,
        coalesce(sum(g.rate_days), 0) as rate_days
    from readings as r
    left join grown_parts as g on r.entry_summary_number = g.entry_summary_number and r.reading = g.reading
    where r.start_date < r.end_date
    group by r.entry_summary_number, r.reading

),

vendor_tiers as (

    -- the vendor reading's two tiers for corporations, over the CBP reading's parts
    select
        l.entry_summary_number,
        sum(
            (c_last.cumulative_rate_days_at_start
                + c_last.daily_rate * {{ dbt.datediff('l.last_quarter_start', 'l.end_date', 'day') }})
            - (c_first.cumulative_rate_days_at_start
                + c_first.daily_rate * {{ dbt.datediff('l.start_quarter_start', 'l.start_date', 'day') }})
        ) as tier1_rate_days,
        sum(
            (i_last.cumulative_rate_days_at_start
                + i_last.daily_rate * {{ dbt.datediff('l.last_quarter_start', 'l.end_date', 'day') }})
            - (i_first.cumulative_rate_days_at_start
                + i_first.daily_rate * {{ dbt.datediff('l.start_quarter_start', 'l.start_date', 'day') }})
        ) as tier2_rate_days,
        max(case
            when i_last.rate_status_rank > c_last.rate_status_rank then i_last.rate_status_rank
            else c_last.rate_status_rank
        end) as vendor_tier_rate_status_rank
    from located as l
    left join rate_quarters as c_first
        on c_first.rate_column = 'overpayment_corporate' and l.start_quarter_start = c_first.quarter_start
    left join rate_quarters as c_last
        on c_last.rate_column = 'overpayment_corporate' and l.last_quarter_start = c_last.quarter_start
    left join rate_quarters as i_first
        on i_first.rate_column = 'irs_corporate_overpayment_over_10k' and l.start_quarter_start = i_first.quarter_start
    left join rate_quarters as i_last
        on i_last.rate_column = 'irs_corporate_overpayment_over_10k' and l.last_quarter_start = i_last.quarter_start
    where l.reading = 'cbp_daily_compound' and l.is_corporate
    group by l.entry_summary_number

),

joined as (

    select
        p.entry_summary_number,
        p.principal_amount,
        p.is_corporate,
        p.cbp_principal_amount,
        p.rate_column,
        {{ dbt.datediff('p.deposit_date', 'p.end_date', 'day') | trim }} as period_days,
        p.end_date <= p.deposit_date as is_empty_period,
        p.interest_suspended_days,
        coalesce(c.segment_count, 0) as segment_count,
        c.growth_factor,
        c.rate_days,
        c.rate_status_rank,
        coalesce(v.tier1_rate_days, 0) as tier1_rate_days,
        coalesce(v.tier2_rate_days, 0) as tier2_rate_days,
        case when p.is_corporate then coalesce(v.vendor_tier_rate_status_rank, 0) else c.rate_status_rank end
            as vendor_tier_rate_status_rank,
        sr.growth_factor as single_rate_growth_factor,
        e.growth_factor as entry_date_growth_factor,
        pd.growth_factor as payment_date_growth_factor,
        o.growth_factor as other_rate_column_growth_factor,
        h.growth_factor as ach_hold_other_rule_growth_factor
    from periods as p
    left join grown as c
        on p.entry_summary_number = c.entry_summary_number and c.reading = 'cbp_daily_compound'
    left join grown as e
        on p.entry_summary_number = e.entry_summary_number and e.reading = 'entry_date_as_deposit_date'
    left join grown as pd
        on p.entry_summary_number = pd.entry_summary_number and pd.reading = 'payment_date_as_end_date'
    left join grown as o
        on p.entry_summary_number = o.entry_summary_number and o.reading = 'other_rate_column'
    left join grown as h
        on p.entry_summary_number = h.entry_summary_number and h.reading = 'ach_hold_other_rule'
    left join vendor_tiers as v
        on p.entry_summary_number = v.entry_summary_number
    -- one rate for the whole period: the first quarter's, compounded over all the days that earn interest
    left join daily_factors as sr
        on p.rate_column = sr.rate_column
        and c.start_quarter_start = sr.quarter_start
        and c.start_quarter_start <> c.last_quarter_start
        and c.growth_factor is not null
        and c.accrual_days = sr.days

),

exact as (

    select
        entry_summary_number,
        principal_amount,
        period_days,
        interest_suspended_days,
        segment_count,
        is_empty_period or growth_factor is not null as is_fully_rated,
        growth_factor,
        case
            when is_empty_period then 0
            else principal_amount * (growth_factor - 1)
        end as cbp_daily_compound_exact,
        case
            when is_empty_period then 0
            when growth_factor is not null then principal_amount * rate_days
        end as simple_exact,
        case
            when is_empty_period then 0
            when growth_factor is null then null
            when is_corporate then
                (case when principal_amount < {{ threshold }} then principal_amount else {{ threshold }} end)
                    * tier1_rate_days
                + (case when principal_amount > {{ threshold }} then principal_amount - {{ threshold }} else 0 end)
                    * tier2_rate_days
            else principal_amount * rate_days
        end as vendor_quarter_tier_exact,
        case when is_empty_period then 0 else rate_status_rank end as rate_status_rank,
        case when is_empty_period then 0 else vendor_tier_rate_status_rank end as vendor_tier_rate_status_rank,
        -- alternative readings (NULL when the reading does not differ from the CBP one or cannot be computed)
        principal_amount * (entry_date_growth_factor - 1) as entry_date_as_deposit_exact,
        principal_amount * (payment_date_growth_factor - 1) as payment_date_as_end_exact,
        principal_amount * (single_rate_growth_factor - 1) as single_rate_whole_period_exact,
        principal_amount * (other_rate_column_growth_factor - 1) as other_rate_column_exact,
        principal_amount * (ach_hold_other_rule_growth_factor - 1) as ach_hold_other_rule_exact,
        case when cbp_principal_amount <> principal_amount then
            case when is_empty_period then 0 else cbp_principal_amount * (growth_factor - 1) end
        end as on_cbp_principal_exact
    from joined

),

status_names as (

    select 0 as status_rank, 'CONFIRMED' as status_name
    union all
    select 1, 'SECONDARY'
    union all
    select 2, 'INFERRED'
    union all
    select 3, 'UNVERIFIED'
    union all
    select 4, 'ASSUMED'
    union all
    select 5, 'UNKNOWN'

)

select
    x.entry_summary_number,
    x.period_days,
    x.interest_suspended_days,
    x.segment_count,
    x.is_fully_rated,
    x.growth_factor,

    x.cbp_daily_compound_exact,
    cast(round(x.cbp_daily_compound_exact, 2) as decimal(18, 2)) as interest_cbp_daily_compound,
    x.simple_exact,
    cast(round(x.simple_exact, 2) as decimal(18, 2)) as interest_simple,
    x.vendor_quarter_tier_exact,
    cast(round(x.vendor_quarter_tier_exact, 2) as decimal(18, 2)) as interest_vendor_quarter_tier,

    case when x.is_fully_rated then s.status_name else 'MISSING' end as rate_status_worst,
    not x.is_fully_rated or x.rate_status_rank > 0 as uses_unverified_rate,
    case when x.is_fully_rated then v.status_name else 'MISSING' end as vendor_quarter_tier_rate_status_worst,

    cast(round(x.entry_date_as_deposit_exact, 2) as decimal(18, 2)) as alt_entry_date_as_deposit_interest,
    cast(round(x.payment_date_as_end_exact, 2) as decimal(18, 2)) as alt_payment_date_as_end_interest,
    cast(round(x.single_rate_whole_period_exact, 2) as decimal(18, 2)) as alt_single_rate_whole_period_interest,
    cast(round(x.other_rate_column_exact, 2) as decimal(18, 2)) as alt_other_rate_column_interest,
    cast(round(x.ach_hold_other_rule_exact, 2) as decimal(18, 2)) as alt_ach_hold_other_rule_interest,
    cast(round(x.on_cbp_principal_exact, 2) as decimal(18, 2)) as alt_on_cbp_principal_interest
from exact as x
left join status_names as s on x.rate_status_rank = s.status_rank
left join status_names as v on x.vendor_tier_rate_status_rank = v.status_rank
