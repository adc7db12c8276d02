-- Growth of $1 deposited on a given day, compounded daily at CBP's quarterly rates with the balance carried from
-- one quarter into the next (docs/DOMAIN.md section 5), up to the start of every later quarter of the rate table:
-- one row per rate column, deposit day and later quarter start.
--
-- growth(day D, quarter start B) = (first, partial quarter: (1 + its daily rate) ^ (days from D to the next quarter
-- start)) x (each whole quarter in between: (1 + its daily rate) ^ (its days)), every product rounded to 18
-- decimals. A period from D to an end date E then grows by growth(D, start of E's last quarter) x (that
-- quarter's factor for the remaining days): two lookups and one product per period, however many quarters it
-- spans, instead of a row-by-row recursion over millions of segments. Small: 2 columns x ~1,500 days x quarters.
-- rate_status_rank is the worst status of the quarters the growth used.

with recursive

quarters as (

    select rate_column, quarter_start, next_quarter_start, quarter_days, rate_status_rank
    from {{ ref('int_interest__rate_quarters') }}
    where rate_column in ('overpayment_noncorporate', 'overpayment_corporate')

),

factors as (

    select * from {{ ref('int_interest__daily_factors') }}

),

whole_quarters as (

    -- growth over runs of whole quarters: from one quarter start to a later one
    select
        q.rate_column,
        q.quarter_start as from_quarter_start,
        q.next_quarter_start as to_quarter_start,
        f.growth_factor,
        q.rate_status_rank
    from quarters as q
    inner join factors as f
        on q.rate_column = f.rate_column
        and q.quarter_start = f.quarter_start
        and q.quarter_days = f.days

    union all

    select
        w.rate_column,
        w.from_quarter_start,
        q.next_quarter_start as to_quarter_start,
        cast(round(w.growth_factor * f.growth_factor, 18) as decimal(38, 18)) as growth_factor,
        case when q.rate_status_rank > w.rate_status_rank then q.rate_status_rank else w.rate_status_rank end
            as rate_status_rank
    from whole_quarters as w
    inner join quarters as q
        on w.rate_column = q.rate_column
        and w.to_quarter_start = q.quarter_start
    inner join factors as f
        on q.rate_column = f.rate_column
        and q.quarter_start = f.quarter_start
        and q.quarter_days = f.days

),

first_leg as (

    -- from every day of a quarter to the start of the next one
    select
        q.rate_column,
        cast({{ dbt.dateadd('day', 'd.days', 'q.quarter_start') }} as date) as from_date,
        q.next_quarter_start,
        f.growth_factor,
        q.rate_status_rank
    from quarters as q
    inner join factors as d
        on q.rate_column = d.rate_column
        and q.quarter_start = d.quarter_start
        and q.quarter_days > d.days
    inner join factors as f
        on q.rate_column = f.rate_column
        and q.quarter_start = f.quarter_start
        and f.days = q.quarter_days - d.days

)

select
    rate_column,
    from_date,
    next_quarter_start as to_quarter_start,
    growth_factor,
    rate_status_rank
from first_leg

union all

select
    l.rate_column,
    l.from_date,
    w.to_quarter_start,
    cast(round(l.growth_factor * w.growth_factor, 18) as decimal(38, 18)) as growth_factor,
    case when w.rate_status_rank > l.rate_status_rank then w.rate_status_rank else l.rate_status_rank end
        as rate_status_rank
from first_leg as l
inner join whole_quarters as w
    on l.rate_column = w.rate_column
    and l.next_quarter_start = w.from_quarter_start
