-- `NA` is Namibia's ISO code in chapter99_headings.country_iso2 (9903.02.44), not a missing value.
-- Fails when the seed loader turned it into NULL (or the row is gone).
with namibia as (
    select heading, country_iso2
    from {{ ref('chapter99_headings') }}
    where hts8 = '99030244'
)

select heading, country_iso2
from namibia
where country_iso2 is null or country_iso2 <> 'NA'

union all

select 'missing row 9903.02.44' as heading, cast(null as {{ dbt.type_string() }}) as country_iso2
where not exists (select 1 from namibia)
