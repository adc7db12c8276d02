-- One row per CBP refund with at least one offset (int_refunds__offsets): how many, their total, and the total of
-- each type bucket of the reconciliation. A type code outside the identified three (an inferred offset, a label
-- the dispute table lacks) goes to the unidentified bucket, so the four buckets add up to the total.

{%- set identified_types = ['cbp_debt', 'treasury_debt', 'top'] %}

with

offsets as (

    select * from {{ ref('int_refunds__offsets') }}

)

select
    refund_number,
    count(*) as offset_count,
    max(case when is_inferred then 1 else 0 end) = 1 as has_inferred_offset,
    cast(sum(offset_amount) as decimal(18, 2)) as offset_total_amount,
    {%- for type_code in identified_types %}
    cast(sum(case when offset_type_code = '{{ type_code }}' then offset_amount else 0 end) as decimal(18, 2))
        as offset_{{ type_code }}_amount,
    {%- endfor %}
    cast(
        sum(
            case
                when offset_type_code not in ({{ quoted_list(identified_types) }}) then offset_amount else 0
            end
        ) as decimal(18, 2)
    ) as offset_unidentified_amount
from offsets
group by refund_number
