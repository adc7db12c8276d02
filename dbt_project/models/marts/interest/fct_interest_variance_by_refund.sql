-- Per CBP refund: the interest CBP stated for its entries against what it owes (sum over the refund's entries in
-- fct_entry_interest), the variance, and how many of its entries carry each diagnosis. A refund spans the entries
-- CBP consolidated by importer (or Form 4811 payee) and (re)liquidation date. The variance is split exactly into the
-- part a reading explains (within a cent of CBP's figure, fct_entry_interest.is_interest_explained) and the part
-- nothing explains (none_matches), however small.

{%- set tolerance = var('interest_tolerance_amount') %}

with

entries as (

    select * from {{ ref('int_interest__entry_interest') }}
    where refund_number is not null

),

rev603 as (

    -- REV-603's own principal and interest: NULL where its layout has none (a split derived from the entries would
    -- agree with them by construction)
    select
        refund_number,
        refund_date,
        refund_status,
        refund_secondary_status,
        case when amount_split_basis = 'reported' then refund_principal_amount end as refund_principal_amount,
        case when amount_split_basis = 'reported' then refund_interest_amount end as refund_interest_amount
    from {{ ref('int_refunds__rev603_refunds') }}

),

diagnoses as (

    select
        refund_number,
        {{ dbt.listagg('variance_diagnosis', "', '", 'order by variance_diagnosis') }} as variance_diagnoses
    from (
        select distinct refund_number, variance_diagnosis
        from entries
        where variance_diagnosis not in ('matches_expected', 'not_stated')
    ) as d
    group by refund_number

),

by_refund as (

    select
        refund_number,
        max(importer_number) as importer_number,
        count(*) as entry_count,
        cast(sum(principal_amount) as decimal(18, 2)) as principal_amount,
        cast(sum(cbp_principal_amount) as decimal(18, 2)) as cbp_principal_amount,
        cast(sum(interest_cbp_daily_compound) as decimal(18, 2)) as interest_cbp_daily_compound,
        cast(sum(interest_simple) as decimal(18, 2)) as interest_simple,
        cast(sum(interest_vendor_quarter_tier) as decimal(18, 2)) as interest_vendor_quarter_tier,
        cast(sum(cbp_interest_amount) as decimal(18, 2)) as cbp_interest_amount,
        cast(sum(principal_variance_amount) as decimal(18, 2)) as principal_variance_amount,
        cast(sum(interest_variance_amount) as decimal(18, 2)) as interest_variance_amount,
        cast(sum(case when is_interest_explained then interest_variance_amount else 0 end) as decimal(18, 2))
            as explained_interest_variance_amount,
        cast(sum(case when not is_interest_explained then interest_variance_amount else 0 end) as decimal(18, 2))
            as unexplained_interest_variance_amount,
        count(case when interest_variance_status = 'underpaid' then 1 end) as entries_underpaid,
        count(case when interest_variance_status = 'overpaid' then 1 end) as entries_overpaid,
        count(case when principal_variance_amount <> 0 then 1 end) as entries_principal_differs,
        count(case when variance_diagnosis = 'none_matches' then 1 end) as entries_unexplained,
        max(case when uses_unverified_rate then 1 else 0 end) = 1 as uses_unverified_rate,
        max(case when rate_basis_is_assumed then 1 else 0 end) = 1 as rate_basis_is_assumed,
        max(interest_suspended_days) as interest_suspended_days_max,
        max(case when deposit_date_is_estimated then 1 else 0 end) = 1 as deposit_date_is_estimated,
        max(case when cbp_reports_disagree then 1 else 0 end) = 1 as cbp_reports_disagree,
        max(payment_date) as payment_date
    from entries
    group by refund_number

)

select
    b.refund_number,
    b.importer_number,
    r.refund_date,
    r.refund_status,
    r.refund_secondary_status,
    b.payment_date,
    b.entry_count,
    b.principal_amount,
    b.cbp_principal_amount,
    b.principal_variance_amount,
    b.interest_cbp_daily_compound,
    b.interest_simple,
    b.interest_vendor_quarter_tier,
    b.cbp_interest_amount,
    b.interest_variance_amount,
    b.explained_interest_variance_amount,
    b.unexplained_interest_variance_amount,
    case
        when b.interest_variance_amount is null then null
        when b.interest_variance_amount < -{{ tolerance }} then 'underpaid'
        when b.interest_variance_amount > {{ tolerance }} then 'overpaid'
        else 'within_tolerance'
    end as interest_variance_status,
    b.entries_underpaid,
    b.entries_overpaid,
    b.entries_principal_differs,
    b.entries_unexplained,
    d.variance_diagnoses,
    b.uses_unverified_rate,
    b.rate_basis_is_assumed,
    b.interest_suspended_days_max,
    b.deposit_date_is_estimated,
    b.cbp_reports_disagree,
    r.refund_principal_amount as rev603_principal_amount,
    r.refund_interest_amount as rev603_interest_amount,
    -- REV-603's refund-level interest equals the sum of the entries' stated interest (NULL: refund not in REV-603)
    r.refund_interest_amount = b.cbp_interest_amount as rev603_interest_agrees,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from by_refund as b
left join rev603 as r on b.refund_number = r.refund_number
left join diagnoses as d on b.refund_number = d.refund_number
