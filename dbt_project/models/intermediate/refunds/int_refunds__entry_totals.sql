-- One row per CBP refund that REV-615 or ES-022 gives entries for: what its entries say, summed whatever their
-- declaration (one payment may span several). Expected and stated principal and interest, the shortfalls
-- (int_refunds__entries decides which interest shortfall a reading explains), the counts the reconciliation flags,
-- and the declarations and interest explanations as lists.

with

refund_entries as (

    select * from {{ ref('int_refunds__entries') }}

),

totals as (

    select
        refund_number,
        max(importer_number) as importer_number,
        count(*) as entry_count,
        count(distinct cape_declaration_number) as declaration_count,
        count(case when entry_source = 'es022' then 1 end) as entries_from_es022,
        count(
            case
                when expected_principal_basis <> 'ieepa_duty_deposited' or expected_interest_basis like 'stated%'
                    then 1
            end
        ) as entries_without_expected,
        count(case when not is_interest_explained then 1 end) as entries_interest_unexplained,
        count(case when expected_interest_rate_status not in ('CONFIRMED') then 1 end)
            as entries_rate_not_confirmed,
        count(case when interest_suspended_days > 0 then 1 end) as entries_interest_suspended,
        max(interest_suspended_days) as interest_suspended_days_max,
        max(liquidation_date) as liquidation_date,
        max(sent_to_treasury_date) as sent_to_treasury_date,
        cast(sum(expected_principal_amount) as decimal(18, 2)) as expected_principal_amount,
        cast(sum(expected_interest_amount) as decimal(18, 2)) as expected_interest_amount,
        cast(sum(stated_principal_amount) as decimal(18, 2)) as stated_principal_amount,
        cast(sum(stated_interest_amount) as decimal(18, 2)) as stated_interest_amount,
        cast(sum(principal_shortfall_amount) as decimal(18, 2)) as principal_shortfall_amount,
        cast(sum(explained_interest_shortfall_amount) as decimal(18, 2)) as explained_interest_shortfall_amount,
        cast(sum(unexplained_interest_shortfall_amount) as decimal(18, 2)) as unexplained_interest_shortfall_amount
    from refund_entries
    group by refund_number

),

declarations as (

    select
        refund_number,
        {{ dbt.listagg('cape_declaration_number', "', '", 'order by cape_declaration_number') }}
            as cape_declaration_numbers
    from (
        select distinct refund_number, cape_declaration_number
        from refund_entries
        where cape_declaration_number is not null
    ) as d
    group by refund_number

),

interest_explanations as (

    select
        refund_number,
        {{ dbt.listagg('interest_explanation', "', '", 'order by interest_explanation') }} as interest_explanations
    from (
        select distinct refund_number, interest_explanation
        from refund_entries
        where interest_explanation not in ('matches_expected')
    ) as x
    group by refund_number

)

select
    t.refund_number,
    t.importer_number,
    t.liquidation_date,
    t.sent_to_treasury_date,

    -- the entries
    t.entry_count,
    t.declaration_count,
    d.cape_declaration_numbers,
    t.entries_from_es022,
    t.entries_without_expected,
    t.entries_interest_unexplained,
    x.interest_explanations,
    t.entries_rate_not_confirmed,
    t.entries_interest_suspended,
    t.interest_suspended_days_max,

    -- expected (int_refunds__entries) and stated by CBP (REV-615, else ES-022)
    t.expected_principal_amount,
    t.expected_interest_amount,
    t.stated_principal_amount,
    t.stated_interest_amount,

    -- shortfalls, expected - stated (positive: CBP paid less)
    t.principal_shortfall_amount,
    t.explained_interest_shortfall_amount,
    t.unexplained_interest_shortfall_amount
from totals as t
left join declarations as d on t.refund_number = d.refund_number
left join interest_explanations as x on t.refund_number = x.refund_number
