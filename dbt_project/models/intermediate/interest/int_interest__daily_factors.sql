-- The daily compounding table: for every quarter's rate (the two CBP overpayment columns) and every number of
-- days from 0 to the span of the rate table, the growth factor (1 + daily rate) ^ days, compounded one day at a
-- time in DECIMAL(38,18) (each day's product rounded to 18 decimals: the error stays below 1e-15 of the
-- balance after 1,100 days, i.e. below a millionth of a cent on $50,000,000).
--
-- A segment of a period (at most one quarter) looks up its factor here by (rate column, quarter, days); the
-- "single rate for the whole period" reading looks up the deposit quarter's rate for the whole period's days.
-- Small: 2 columns x quarters x ~1,100 days. `with recursive` is ANSI SQL (DuckDB, Postgres, Snowflake, ...).

with recursive

quarters as (

    select rate_column, quarter_start, daily_rate
    from {{ ref('int_interest__rate_quarters') }}
    where rate_column in ('overpayment_noncorporate', 'overpayment_corporate')

),

span as (

    -- the longest period the rate table can cover
    select {{ dbt.datediff('min(quarter_start)', 'max(next_quarter_start)', 'day') | trim }} as max_days
    from {{ ref('int_interest__rate_quarters') }}

),

compounded as (

    select
        rate_column,
        quarter_start,
        daily_rate,
        0 as days,
        cast(1 as decimal(38, 18)) as growth_factor
    from quarters

    union all

    select
        c.rate_column,
        c.quarter_start,
        c.daily_rate,
        c.days + 1 as days,
        cast(round(c.growth_factor * (1 + c.daily_rate), 18) as decimal(38, 18)) as growth_factor
    from compounded as c
    cross join span as s
    where c.days < s.max_days

)

select rate_column, quarter_start, days, growth_factor
from compounded
