-- CBP's quarterly interest rates, one row per quarter and rate column, with the daily rate used for compounding
-- (26 CFR 301.6622-1: annual rate / 365, or / 366 in a leap year) and the status of the figure.
--
-- Rate columns: overpayment_noncorporate and overpayment_corporate (CBP's table; the interest CBP owes on a
-- refund), irs_corporate_overpayment_over_10k (26 U.S.C. 6621, used only by the vendor "quarter x tier" reading;
-- INFERRED whatever the row says, since CBP's table has no such column).
-- Past the table's last quarter, var interest_rate_carry_forward_quarters quarters repeat its rates with the status
-- ASSUMED, so that an estimated end date beyond the table still gets a (flagged) figure.

with

rates as (

    select * from {{ ref('stg_reference__interest_rates') }}

),

unpivoted as (

    select
        quarter, quarter_start, quarter_end, rate_status,
        'overpayment_noncorporate' as rate_column,
        overpayment_noncorporate_pct as annual_rate_pct
    from rates

    union all

    select
        quarter, quarter_start, quarter_end, rate_status,
        'overpayment_corporate' as rate_column,
        overpayment_corporate_pct as annual_rate_pct
    from rates

    union all

    select
        quarter, quarter_start, quarter_end,
        -- the column itself is derived (docs/DOMAIN.md/README.md): at best INFERRED
        case when rate_status = 'UNVERIFIED' then 'UNVERIFIED' else 'INFERRED' end as rate_status,
        'irs_corporate_overpayment_over_10k' as rate_column,
        irs_corporate_overpayment_over_10k_pct as annual_rate_pct
    from rates

),

{%- if var('interest_rate_carry_forward_quarters') > 0 %}

last_quarter as (

    select * from unpivoted
    where quarter_start = (select max(r.quarter_start) from rates as r)

),

carried_forward as (

    -- estimated periods can run past the table: the last quarter's rates carry forward, status ASSUMED
    {%- for k in range(1, var('interest_rate_carry_forward_quarters') + 1) %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        cast({{ dbt.dateadd('month', 3 * k, 'quarter_start') }} as date) as quarter_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3 * k + 3, 'quarter_start')) }} as date) as quarter_end,
        'ASSUMED' as rate_status,
        rate_column,
        annual_rate_pct
    from last_quarter
    {%- endfor %}

),

{%- endif %}

all_quarters as (

    select * from unpivoted
    {%- if var('interest_rate_carry_forward_quarters') > 0 %}
    union all
    select
        cast(extract(year from quarter_start) as varchar) || 'Q'
            || cast(extract(quarter from quarter_start) as varchar) as quarter,
        quarter_start, quarter_end, rate_status, rate_column, annual_rate_pct
    from carried_forward
    {%- endif %}

),

calendar as (

    select
        *,
        cast({{ dbt.dateadd('day', 1, 'quarter_end') }} as date) as next_quarter_start,
        {{ dbt.datediff(
            dbt.date_trunc('year', 'quarter_start'),
            dbt.dateadd('year', 1, dbt.date_trunc('year', 'quarter_start')),
            'day'
        ) }} as days_in_year
    from all_quarters

),

rated as (

    select
        *,
        -- the only floating-point step of the interest arithmetic (a decimal division is DOUBLE in DuckDB): the
        -- quotient, exact to about 1e-16 relative, is rounded to 18 decimals; everything after it is DECIMAL
        cast(annual_rate_pct / (100 * days_in_year) as decimal(38, 18)) as daily_rate
    from calendar
    where annual_rate_pct is not null

),

final as (

    select
        quarter,
        quarter_start,
        quarter_end,
        next_quarter_start,
        {{ dbt.datediff('quarter_start', 'next_quarter_start', 'day') | trim }} as quarter_days,
        -- position of the quarter in the table (1 = earliest): numbers the segments of a period
        dense_rank() over (order by quarter_start) as quarter_index,
        rate_column,
        cast(annual_rate_pct as decimal(9, 4)) as annual_rate_pct,
        days_in_year,
        daily_rate,
        -- sum of the daily rates of every day of the earlier quarters (exact): simple interest from day D to day E
        -- is principal x (cumulative(E) - cumulative(D)), cumulative(D) = this + daily rate x (D - quarter start)
        cast(coalesce(sum(daily_rate * {{ dbt.datediff('quarter_start', 'next_quarter_start', 'day') }}) over (
            partition by rate_column order by quarter_start rows between unbounded preceding and 1 preceding
        ), 0) as decimal(38, 18)) as cumulative_rate_days_at_start,
        rate_status,
        case rate_status
            when 'CONFIRMED' then 0
            when 'SECONDARY' then 1
            when 'INFERRED' then 2
            when 'UNVERIFIED' then 3
            when 'ASSUMED' then 4
            else 5
        end as rate_status_rank
    from rated

)

select * from final
