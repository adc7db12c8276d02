-- One row per (refund, entry): the entries a CBP refund covers, what CBP stated for each, what we expected, and
-- the entry's share of the refund's principal and interest variance.
--
-- Entries of a refund: REV-615 (entry-level detail of refunds sent to Treasury); an entry REV-615 does not list
-- yet is taken from ES-022 (accepted entries with a refund number, the latest declaration). CBP consolidates by
-- importer (or Form 4811 payee) and (re)liquidation date, so one refund spans entries of several declarations.
--
-- Expected: principal = the IEEPA duty deposited (fct_entry_refundable.ieepa_principal_amount); interest = the
-- CBP-method figure of fct_entry_interest (interest_cbp_daily_compound). Where we cannot compute a figure (the
-- entry is not in ES-003, or the rate table does not cover its period) CBP's stated figure stands in for it,
-- flagged (expected_principal_basis / expected_interest_basis): no variance is claimed where we have no figure.
--
-- Shortfalls are expected - stated (positive: CBP paid less). The interest shortfall is explained only by a reading
-- within var interest_match_amount (a cent) of the interest stated on this row: the interest on the principal CBP
-- actually paid, the expected figure itself, or the reading fct_entry_interest's diagnosis names (checked again
-- here against this row's figure, which may come from another report than the entry's). Anything else, however
-- small, is unexplained: money never leaves the unexplained bucket on a reading that misses.

{%- set match = var('interest_match_amount') %}

with

rev615 as (

    select * from {{ ref('stg_ace__rev615_cape_refund_details') }}

),

es022 as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}

),

refundable as (

    select * from {{ ref('int_eligibility__entry_refundable') }}

),

entry_interest as (

    select * from {{ ref('int_interest__entry_interest') }}

),

from_rev615 as (

    select
        refund_number,
        entry_summary_number,
        cape_declaration_number,
        importer_number,
        liquidation_date,
        sent_to_treasury_date,
        refund_principal_amount,
        refund_interest_amount,
        refund_total_amount,
        'rev615' as entry_source,
        _source_file,
        _source_line
    from rev615

),

from_es022 as (

    select
        refund_number,
        entry_summary_number,
        cape_declaration_number,
        importer_number,
        liquidation_date,
        cast(null as date) as sent_to_treasury_date,
        refund_principal_amount,
        refund_interest_amount,
        refund_total_amount,
        'es022' as entry_source,
        _source_file,
        _source_line
    from (
        select
            *,
            row_number() over (
                partition by refund_number, entry_summary_number
                order by declaration_submission_date desc, cape_declaration_number desc
            ) as recency
        from es022
        where refund_number is not null
    ) as e
    where recency = 1
      and not exists (
          select 1 from rev615 as r
          where r.entry_summary_number = e.entry_summary_number
      )

),

refund_entries as (

    select * from from_rev615
    union all
    select * from from_es022

),

joined as (

    select
        e.*,
        cast(coalesce(e.refund_principal_amount, 0) as decimal(18, 2)) as stated_principal_amount,
        cast(coalesce(e.refund_interest_amount, 0) as decimal(18, 2)) as stated_interest_amount,
        f.entry_summary_number is not null as is_in_es003,
        f.ieepa_principal_amount,
        i.interest_cbp_daily_compound,
        i.variance_diagnosis,
        i.diagnosis_reading_amount,
        i.alt_on_cbp_principal_interest,
        i.rate_status_worst as expected_interest_rate_status,
        i.interest_suspended_days
    from refund_entries as e
    left join refundable as f on e.entry_summary_number = f.entry_summary_number
    left join entry_interest as i on e.entry_summary_number = i.entry_summary_number

),

expected as (

    select
        *,
        case
            when not is_in_es003 then 'stated_not_in_es003'
            else 'ieepa_duty_deposited'
        end as expected_principal_basis,
        case
            when not is_in_es003 then stated_principal_amount
            else ieepa_principal_amount
        end as expected_principal_amount,
        case
            when not is_in_es003 then 'stated_not_in_es003'
            when ieepa_principal_amount = 0 then 'no_refundable_principal'
            when interest_cbp_daily_compound is null then 'stated_not_computable'
            else 'cbp_daily_compound'
        end as expected_interest_basis
    from joined

),

shortfalls as (

    select
        *,
        cast(
            case
                when expected_interest_basis like 'stated%' then stated_interest_amount
                when expected_interest_basis = 'no_refundable_principal' then 0
                else interest_cbp_daily_compound
            end as decimal(18, 2)
        ) as expected_interest_amount
    from expected

),

explained as (

    select
        *,
        cast(expected_principal_amount - stated_principal_amount as decimal(18, 2)) as principal_shortfall_amount,
        cast(expected_interest_amount - stated_interest_amount as decimal(18, 2)) as interest_shortfall_amount,
        case
            when expected_interest_basis like 'stated%' then 'expected_not_computable'
            when expected_interest_amount = stated_interest_amount then 'matches_expected'
            when expected_interest_basis = 'no_refundable_principal' then 'no_refundable_principal'
            when variance_diagnosis in ('principal_short_paid', 'principal_over_paid')
                and abs(stated_interest_amount - alt_on_cbp_principal_interest) <= {{ match }}
                then 'interest_on_cbp_principal'
            when abs(stated_interest_amount - expected_interest_amount) <= {{ match }} then 'matches_expected'
            when variance_diagnosis not in ('principal_short_paid', 'principal_over_paid', 'none_matches')
                and abs(stated_interest_amount - diagnosis_reading_amount) <= {{ match }}
                then variance_diagnosis
            else 'unexplained'
        end as interest_explanation
    from shortfalls

)

select
    refund_number,
    entry_summary_number,
    cape_declaration_number,
    importer_number,
    entry_source,
    liquidation_date,
    sent_to_treasury_date,

    -- what CBP stated (REV-615, else ES-022)
    stated_principal_amount,
    stated_interest_amount,
    cast(stated_principal_amount + stated_interest_amount as decimal(18, 2)) as stated_total_amount,
    refund_total_amount as stated_refund_total_amount,

    -- what we expected
    is_in_es003,
    cast(expected_principal_amount as decimal(18, 2)) as expected_principal_amount,
    expected_principal_basis,
    expected_interest_amount,
    expected_interest_basis,
    expected_interest_rate_status,
    interest_suspended_days,
    cast(expected_principal_amount + expected_interest_amount as decimal(18, 2)) as expected_total_amount,

    -- shortfall (expected - stated) and its explanation
    principal_shortfall_amount,
    interest_shortfall_amount,
    variance_diagnosis,
    interest_explanation,
    interest_explanation <> 'unexplained' as is_interest_explained,
    cast(
        case when interest_explanation <> 'unexplained' then interest_shortfall_amount else 0 end
        as decimal(18, 2)
    ) as explained_interest_shortfall_amount,
    cast(
        case when interest_explanation = 'unexplained' then interest_shortfall_amount else 0 end
        as decimal(18, 2)
    ) as unexplained_interest_shortfall_amount,

    -- lineage
    _source_file,
    _source_line
from explained
