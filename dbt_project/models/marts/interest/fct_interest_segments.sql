-- The audit trail of the interest CBP owes (method cbp_daily_compound): one row per refundable entry and quarter
-- segment of its period, so an auditor can follow every cent.
--
-- Days (docs/DOMAIN.md section 5): the period from the deposit date to the end date is split at each quarter start;
-- a segment runs from the deposit date (or a quarter start) to the next quarter start (or the end date), earns its
-- quarter's rate and counts (segment end - segment start) days, so the segments add up to (end - deposit) days,
-- less the days a refund of the entry was held for missing ACH data (no interest accrues: int_interest__entry_periods,
-- macro interest_accrual_parts): the period then earns over two parts, before the hold and after its release, the
-- balance carried across the hold unchanged; days_suspended_before shows the gap on the segment after it.
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

as_readings as (

    select
        entry_summary_number, 'cbp_daily_compound' as reading, rate_column,
        deposit_date as start_date, end_date,
        suspension_start_date as hold_start_date, suspension_end_date as hold_end_date
    from periods

),

parts as (

    {{ interest_accrual_parts('as_readings', ['rate_column']) }}

),

split as (

    select
        p.entry_summary_number,
        p.importer_number,
        p.refund_number,
        p.principal_amount,
        p.is_corporate,
        p.deposit_date,
        pt.accrual_part,
        pt.start_date as part_start_date,
        pt.end_date as part_end_date,
        q.quarter,
        q.quarter_start,
        q.rate_column,
        q.annual_rate_pct,
        q.days_in_year,
        q.daily_rate,
        q.rate_status,
        case when pt.start_date > q.quarter_start then pt.start_date else q.quarter_start end
            as segment_start_date,
        case when pt.end_date < q.next_quarter_start then pt.end_date else q.next_quarter_start end
            as segment_end_date
    from parts as pt
    inner join periods as p on pt.entry_summary_number = p.entry_summary_number
    inner join rate_quarters as q
        on pt.rate_column = q.rate_column
        and pt.end_date > q.quarter_start
        and pt.start_date < q.next_quarter_start
    where pt.start_date < pt.end_date

),

counted as (

    select
        *,
        {{ dbt.datediff('segment_start_date', 'segment_end_date', 'day') | trim }} as days,
        row_number() over (partition by entry_summary_number order by segment_start_date) as segment_number,
        -- days without interest since the previous segment (or the deposit date): a hold
        {{ dbt.datediff(
            'coalesce(lag(segment_end_date) over (partition by entry_summary_number order by segment_start_date),'
            ~ ' deposit_date)', 'segment_start_date', 'day') }} as days_suspended_before
    from split

),

within_part as (

    -- growth within the segment's part, as fct_entry_interest computes each part's growth
    select
        s.*,
        f.growth_factor as segment_growth_factor,
        case when s.segment_start_date = s.part_start_date then cast(1 as decimal(38, 18)) else g_in.growth_factor end
            as part_growth_in,
        case
            -- a segment ending at a quarter start hands its balance to the next one
            when s.segment_end_date < s.part_end_date then g_out.growth_factor
            -- the part's last segment: the part's growth
            when s.segment_start_date = s.part_start_date then f.growth_factor
            else cast(round(g_in.growth_factor * f.growth_factor, 18) as decimal(38, 18))
        end as part_growth_out
    from counted as s
    left join daily_factors as f
        on s.rate_column = f.rate_column
        and s.quarter_start = f.quarter_start
        and s.days = f.days
    left join growth_to_quarter_start as g_in
        on s.rate_column = g_in.rate_column
        and s.part_start_date = g_in.from_date
        and s.segment_start_date = g_in.to_quarter_start
    left join growth_to_quarter_start as g_out
        on s.segment_end_date < s.part_end_date
        and s.rate_column = g_out.rate_column
        and s.part_start_date = g_out.from_date
        and s.segment_end_date = g_out.to_quarter_start

),

grown as (

    -- after the hold the balance starts from part 1's growth (carried across the hold unchanged)
    select
        w.*,
        case
            when w.accrual_part = 1 then w.part_growth_in
            else cast(round(w.growth_before_part * w.part_growth_in, 18) as decimal(38, 18))
        end as growth_factor_in,
        case
            when w.accrual_part = 1 then w.part_growth_out
            else cast(round(w.growth_before_part * w.part_growth_out, 18) as decimal(38, 18))
        end as growth_factor_out
    from (
        select
            *,
            coalesce(max(case when accrual_part = 1 and segment_end_date = part_end_date then part_growth_out end)
                over (partition by entry_summary_number), cast(1 as decimal(38, 18))) as growth_before_part
        from within_part
    ) as w

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
    g.accrual_part,
    g.days_suspended_before,
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
    end as vendor_tier_interest_amount,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from grown as g
left join vendor_rates as v on g.quarter_start = v.quarter_start
