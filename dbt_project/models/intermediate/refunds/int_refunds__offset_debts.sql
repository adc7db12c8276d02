-- One row per debt CBP paid from refunds (offset debt key): a debt that took money from several refunds is one
-- row, with its refunds, total, who to dispute it with (CBP Revenue Division for CBP debts, the originating agency
-- for Treasury and TOP offsets) and the validation steps still open:
--   type_identified  the offset type is known (not inferred from "Funds Diverted", not an unknown label)
--   debt_identified  CBP debt: the bill number is known; Treasury / TOP: the originating agency is known
--   debt_verified    the finance team verified the debt with its holder   (seed offset_reviews.debt_verified_on)
--   documented       the offset and the debt are documented               (offset_reviews.documented_on)
--   dispute_filed    a dispute was filed (offset_reviews.dispute_filed_on); closed without one when the
--                    verification found the debt owed (offset_reviews.debt_is_owed = true)

{%- set steps = ['type_identified', 'debt_identified', 'debt_verified', 'documented', 'dispute_filed'] %}

with

offsets as (

    select * from {{ ref('int_refunds__offsets') }}

),

refund_entries as (

    select * from {{ ref('int_refunds__entries') }}

),

dispute_paths as (

    -- one row per type code (the seed may list several labels, i.e. wordings, of one type)
    select *
    from (
        select
            *,
            row_number() over (partition by offset_type_code order by offset_type_label) as label_rank
        from {{ ref('offset_dispute_paths') }}
    ) as p
    where label_rank = 1

),

reviews as (

    select * from {{ ref('offset_reviews') }}

),

debts as (

    select
        debt_key,
        max(importer_number) as importer_number,
        max(offset_type_code) as offset_type_code,
        max(offset_type) as offset_type,
        max(offset_debt_reference) as debt_reference,
        max(offset_agency) as offset_agency,
        max(case when is_inferred then 1 else 0 end) = 1 as is_inferred,
        count(*) as offset_count,
        count(distinct refund_number) as refund_count,
        min(refund_date) as first_offset_date,
        max(refund_date) as last_offset_date,
        cast(sum(offset_amount) as decimal(18, 2)) as total_offset_amount
    from offsets
    group by debt_key

),

debt_refunds as (

    select
        debt_key,
        {{ dbt.listagg('refund_number', "', '", 'order by refund_number') }} as refund_numbers
    from (select distinct debt_key, refund_number from offsets) as r
    group by debt_key

),

debt_entries as (

    select
        o.debt_key,
        count(distinct e.entry_summary_number) as entry_count
    from (select distinct debt_key, refund_number from offsets) as o
    inner join refund_entries as e on o.refund_number = e.refund_number
    group by o.debt_key

),

steps as (

    select
        d.*,
        r.refund_numbers,
        coalesce(e.entry_count, 0) as entry_count,
        p.offset_type_name,
        p.dispute_with_role,
        case
            when p.dispute_with_role = 'originating_agency' then coalesce(d.offset_agency, p.dispute_with_default)
            else p.dispute_with_default
        end as dispute_with,
        p.dispute_path,
        p.legal_citation_label,
        p.basis_status as dispute_basis_status,
        v.debt_verified_on,
        v.debt_is_owed,
        v.documented_on,
        v.dispute_filed_on,
        v.dispute_reference,
        v.note as review_note,
        d.offset_type_code <> 'unidentified' as is_type_identified,
        case d.offset_type_code
            when 'cbp_debt' then d.debt_reference is not null
            when 'treasury_debt' then d.offset_agency is not null
            when 'top' then d.offset_agency is not null
            else false
        end as is_debt_identified,
        v.debt_verified_on is not null as is_debt_verified,
        v.documented_on is not null as is_documented,
        v.dispute_filed_on is not null as is_dispute_filed,
        case when v.debt_is_owed then false when v.debt_is_owed = false then true end as is_dispute_needed
    from debts as d
    left join debt_refunds as r on d.debt_key = r.debt_key
    left join debt_entries as e on d.debt_key = e.debt_key
    left join dispute_paths as p on d.offset_type_code = p.offset_type_code
    left join reviews as v on d.debt_key = v.debt_key

),

step_flags as (

    select
        *,
        not is_type_identified as type_identified_open,
        not is_debt_identified as debt_identified_open,
        not is_debt_verified as debt_verified_open,
        not is_documented as documented_open,
        not is_dispute_filed and coalesce(is_dispute_needed, true) as dispute_filed_open
    from steps

),

open_step_rows as (

    {%- for step in steps %}
    select debt_key, '{{ step }}' as step, {{ loop.index }} as step_order
    from step_flags
    where {{ step }}_open
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

open_steps as (

    select
        debt_key,
        count(*) as open_step_count,
        {{ dbt.listagg('step', "', '", 'order by step_order') }} as open_steps,
        min(step_order) as first_open_step_order
    from open_step_rows
    group by debt_key

)

select
    f.debt_key,
    f.importer_number,
    f.offset_type_code,
    f.offset_type,
    f.offset_type_name,
    f.debt_reference,
    case when f.offset_type_code = 'cbp_debt' then 'CBP' else f.offset_agency end as originating_agency,
    f.is_inferred,

    -- the money
    f.offset_count,
    f.refund_count,
    f.refund_numbers,
    f.entry_count,
    f.first_offset_date,
    f.last_offset_date,
    f.total_offset_amount,

    -- dispute path
    f.dispute_with_role,
    f.dispute_with,
    f.dispute_path,
    f.legal_citation_label,
    f.dispute_basis_status,

    -- validation steps
    f.is_type_identified,
    f.is_debt_identified,
    f.is_debt_verified,
    f.is_documented,
    f.is_dispute_filed,
    f.is_dispute_needed,
    coalesce(o.open_step_count, 0) as open_step_count,
    coalesce(o.open_steps, '') as open_steps,
    case o.first_open_step_order
        {%- for step in steps %}
        when {{ loop.index }} then '{{ step }}'
        {%- endfor %}
    end as next_step,
    o.debt_key is null as is_closed,
    f.debt_verified_on,
    f.debt_is_owed,
    f.documented_on,
    f.dispute_filed_on,
    f.dispute_reference,
    f.review_note,
    {{ dbt.datediff('f.last_offset_date', as_of_date(), 'day') | trim }} as days_since_last_offset,
    {{ as_of_date() }} as as_of_date
from step_flags as f
left join open_steps as o on f.debt_key = o.debt_key
