-- The audit trail of the interest CBP owes (method cbp_daily_compound): one row per refundable entry and quarter
-- segment of its period, so an auditor can follow every cent.
--
-- Days (REFERENCE.md section 5): the period from the deposit date to the end date is split at each quarter start;
-- a segment runs from the deposit date (or a quarter start) to the next quarter start (or the end date), earns its
-- quarter's rate and counts (segment end - segment start) days, so the segments add up to (end - deposit) days.
-- Money: the balance entering a segment (principal + interest so far) grows by the segment's factor
-- (1 + daily rate) ^ days into the balance going out, which is the next segment's balance in. Balances are exact
-- products principal x growth factor, DECIMAL(38,20), never rounded: the segments' interest adds up to the
-- entry's unrounded interest, which fct_entry_interest rounds to cents once. The growth factors come from the
-- same tables as fct_entry_interest's figure (int_interest__growth_to_quarter_start, int_interest__daily_factors).

{%- set threshold = var('vendor_tier_threshold_amount') %}

with

periods as (

    select * from {{ ref('int_interest__entry_periods') }}
    where deposit_date < end_date

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

split as (

    select
        p.entry_summary_number,
        p.importer_number,
        p.refund_number,
        p.principal_amount,
        p.is_corporate,
        p.deposit_date,
        p.end_date,
        q.quarter,
        q.quarter_start,
        q.rate_column,
        q.annual_rate_pct,
        q.days_in_year,
        q.daily_rate,
        q.rate_status,
        case when p.deposit_date > q.quarter_start then p.deposit_date else q.quarter_start end
            as segment_start_date,
        case when p.end_date < q.next_quarter_start then p.end_date else q.next_quarter_start end
            as segment_end_date,
        cast({{ dbt.datediff(dbt.date_trunc('quarter', 'p.deposit_date'), 'q.quarter_start', 'month') }} / 3
            as integer) + 1 as segment_number
    from periods as p
    inner join rate_quarters as q
        on p.rate_column = q.rate_column
        and q.quarter_start < p.end_date
        and q.next_quarter_start > p.deposit_date

),

counted as (

    select
        *,
        {{ dbt.datediff('segment_start_date', 'segment_end_date', 'day') }} as days
    from split

),

grown as (

    select
        s.*,
        f.growth_factor as segment_growth_factor,
        case when s.segment_start_date = s.deposit_date then cast(1 as decimal(38, 18)) else g_in.growth_factor end
            as growth_factor_in,
        case
            -- a segment ending at a quarter start hands its balance to the next one
            when s.segment_end_date < s.end_date then g_out.growth_factor
            -- the last segment: the period's growth, computed as in fct_entry_interest
            when s.segment_start_date = s.deposit_date then f.growth_factor
            else cast(round(g_in.growth_factor * f.growth_factor, 18) as decimal(38, 18))
        end as growth_factor_out
    from counted as s
    left join daily_factors as f
        on s.rate_column = f.rate_column
        and s.quarter_start = f.quarter_start
        and s.days = f.days
    left join growth_to_quarter_start as g_in
        on s.rate_column = g_in.rate_column
        and s.deposit_date = g_in.from_date
        and s.segment_start_date = g_in.to_quarter_start
    left join growth_to_quarter_start as g_out
        on s.segment_end_date < s.end_date
        and s.rate_column = g_out.rate_column
        and s.deposit_date = g_out.from_date
        and s.segment_end_date = g_out.to_quarter_start

),

vendor_rates as (

    select
        quarter_start,
        max(case when rate_column = 'overpayment_corporate' then daily_rate end) as tier1_daily_rate,
        max(case when rate_column = 'irs_corporate_overpayment_over_10k' then daily_rate end) as tier2_daily_rate
    from rate_quarters
    group by quarter_start

)

select
    g.entry_summary_number,
    g.segment_number,
    g.importer_number,
    g.refund_number,
    g.quarter,
    g.segment_start_date,
    g.segment_end_date,
    g.days,
    g.rate_column,
    g.annual_rate_pct,
    g.days_in_year,
    g.daily_rate,
    g.rate_status,
    g.rate_status <> 'CONFIRMED' as rate_needs_verification,
    g.principal_amount,
    g.segment_growth_factor,
    g.growth_factor_in,
    g.growth_factor_out,
    g.principal_amount * g.growth_factor_in as balance_in_amount,
    g.principal_amount * g.growth_factor_out - g.principal_amount * g.growth_factor_in as interest_amount,
    g.principal_amount * g.growth_factor_out as balance_out_amount,
    -- the other methods' share of the segment: simple interest on the principal
    g.principal_amount * g.daily_rate * g.days as simple_interest_amount,
    case
        when g.is_corporate then
            (case when g.principal_amount < {{ threshold }} then g.principal_amount else {{ threshold }} end)
                * v.tier1_daily_rate * g.days
            + (case when g.principal_amount > {{ threshold }} then g.principal_amount - {{ threshold }} else 0 end)
                * v.tier2_daily_rate * g.days
        else g.principal_amount * g.daily_rate * g.days
    end as vendor_tier_interest_amount
from grown as g
left join vendor_rates as v on g.quarter_start = v.quarter_start
