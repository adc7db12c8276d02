-- Per refundable entry (IEEPA principal > 0): the period interest runs over and the rate column it earns,
-- next to what CBP stated for it (int_interest__cbp_figures).
--
-- Deposit date: the statement payment date (periodic monthly statements pay mid next month) when present, else
--   the entry summary date + var deposit_estimate_days (else the entry date), flagged as estimated.
-- End date: the CAPE (re)liquidation date (19 CFR 24.36: interest runs to liquidation, not payment), its basis
--   from int_interest__cbp_figures (reason_code_36, rev615_liquidation_date, es022_liquidation_date,
--   liquidation_after_acceptance). Before liquidation, an estimate, flagged: an accepted entry liquidates about var
--   estimated_liquidation_days_after_acceptance days after its declaration (SECONDARY), and not before the as_of
--   date (it has not liquidated yet); an entry not accepted in CAPE accrues to the as_of date.
-- ACH hold: while a refund of the entry is held for missing ACH data no interest accrues (19 U.S.C. 1505(d),
--   SECONDARY; var interest_suspended_while_ach_held, on by default). interest_held_days counts the period's days
--   inside the hold; the readings cut the hold (suspension_*_date) out of their periods when the rule is on.
-- Rate column: CBP's corporate or non-corporate overpayment column by the importer profile; an importer without a
--   profile gets var interest_rate_basis_when_importer_unknown (default noncorporate), flagged
--   rate_basis_is_assumed (a key figure of the run, a worklist item and a warning check say so).
--
-- Every entry with IEEPA principal is here whatever its CAPE eligibility (join marts.fct_entry_eligibility to
-- narrow it): for an entry not yet filed the figure is the interest accrued so far.

{%- set unknown_basis = var('interest_rate_basis_when_importer_unknown') %}
{%- if unknown_basis not in ('noncorporate', 'corporate') %}
    {{ exceptions.raise_compiler_error(
        "var interest_rate_basis_when_importer_unknown must be noncorporate or corporate, got " ~ unknown_basis) }}
{%- endif %}

with

refundable as (

    select * from {{ ref('int_eligibility__entry_refundable') }}
    where ieepa_principal_amount > 0

),

profiles as (

    select importer_number, is_corporate from {{ ref('stg_reference__importer_profiles') }}

),

cbp as (

    select * from {{ ref('int_interest__cbp_figures') }}

),

dated as (

    select
        r.entry_summary_number,
        r.importer_number,
        r.filer_code,
        r.entry_type_code,
        r.entry_date,
        r.entry_summary_date,
        r.statement_payment_date,
        cast(r.ieepa_principal_amount as decimal(18, 2)) as principal_amount,

        -- deposit date
        coalesce(
            r.statement_payment_date,
            cast({{ dbt.dateadd('day', var('deposit_estimate_days'), 'r.entry_summary_date') }} as date),
            cast({{ dbt.dateadd('day', var('deposit_estimate_days'), 'r.entry_date') }} as date)
        ) as deposit_date,
        case
            when r.statement_payment_date is not null then 'statement_payment_date'
            when r.entry_summary_date is not null then 'entry_summary_date_estimate'
            when r.entry_date is not null then 'entry_date_estimate'
        end as deposit_date_basis,
        r.statement_payment_date is null as deposit_date_is_estimated,

        -- end date
        c.cape_liquidation_date,
        c.accepted_submission_date,
        case
            when c.cape_liquidation_date is not null then null
            when c.accepted_submission_date is not null then cast({{ dbt.dateadd(
                'day', var('estimated_liquidation_days_after_acceptance'), 'c.accepted_submission_date') }} as date)
        end as estimated_liquidation_date,

        -- rate basis
        p.is_corporate,
        p.importer_number is null or p.is_corporate is null as rate_basis_is_assumed,

        -- CBP's figures
        c.refund_number,
        c.cape_liquidation_date_basis,
        c.ach_hold_start_date,
        c.ach_hold_end_date,
        coalesce(c.ach_hold_is_estimated, false) as ach_hold_is_estimated,
        c.cbp_principal_amount,
        c.cbp_interest_amount,
        c.cbp_interest_source,
        c.cbp_reports_disagree,
        c.es701_interest_amount,
        c.es022_interest_amount,
        c.rev615_interest_amount,
        c.payment_date,
        c.payment_date_source,
        c.rev603_refund_status,
        c.rev603_refund_secondary_status

    from refundable as r
    left join profiles as p on r.importer_number = p.importer_number
    left join cbp as c on r.entry_summary_number = c.entry_summary_number

),

ended as (

    select
        entry_summary_number,
        importer_number,
        filer_code,
        entry_type_code,
        entry_date,
        entry_summary_date,
        statement_payment_date,
        principal_amount,
        deposit_date,
        deposit_date_basis,
        deposit_date_is_estimated,
        case
            when cape_liquidation_date is not null then cape_liquidation_date
            when estimated_liquidation_date > {{ as_of_date() }} then estimated_liquidation_date
            else {{ as_of_date() }}
        end as end_date,
        case
            when cape_liquidation_date is not null then cape_liquidation_date_basis
            when estimated_liquidation_date > {{ as_of_date() }} then 'estimated_from_acceptance'
            when accepted_submission_date is not null then 'as_of_date_accepted_not_liquidated'
            else 'as_of_date_not_accepted'
        end as end_date_basis,
        cape_liquidation_date is null as end_date_is_estimated,
        cape_liquidation_date,
        accepted_submission_date,
        is_corporate,
        case
            when is_corporate then 'profile_corporate'
            when is_corporate = false then 'profile_noncorporate'
            else 'assumed_{{ unknown_basis }}'
        end as rate_basis,
        rate_basis_is_assumed,
        case
            when is_corporate then 'overpayment_corporate'
            when is_corporate = false then 'overpayment_noncorporate'
            else 'overpayment_{{ unknown_basis }}'
        end as rate_column,
        -- the other CBP column: CBP's figure is also read against it (corporate status swapped)
        case
            when is_corporate then 'overpayment_noncorporate'
            when is_corporate = false then 'overpayment_corporate'
            else 'overpayment_{{ "corporate" if unknown_basis == "noncorporate" else "noncorporate" }}'
        end as other_rate_column,
        refund_number,
        cbp_principal_amount,
        cbp_interest_amount,
        cbp_interest_source,
        coalesce(cbp_reports_disagree, false) as cbp_reports_disagree,
        es701_interest_amount,
        es022_interest_amount,
        rev615_interest_amount,
        payment_date,
        payment_date_source,
        rev603_refund_status,
        rev603_refund_secondary_status,
        ach_hold_start_date,
        ach_hold_end_date,
        ach_hold_is_estimated
    from dated

),

held as (

    -- the part of the period [deposit_date, end_date) inside the hold [start, end) (end NULL: still held)
    select
        *,
        case when ach_hold_start_date > deposit_date then ach_hold_start_date else deposit_date end
            as held_from_date,
        case when ach_hold_end_date < end_date then ach_hold_end_date else end_date end as held_to_date
    from ended

)

select
    entry_summary_number,
    importer_number,
    filer_code,
    entry_type_code,
    entry_date,
    entry_summary_date,
    statement_payment_date,
    principal_amount,
    deposit_date,
    deposit_date_basis,
    deposit_date_is_estimated,
    end_date,
    end_date_basis,
    end_date_is_estimated,
    cape_liquidation_date,
    accepted_submission_date,
    is_corporate,
    rate_basis,
    rate_basis_is_assumed,
    rate_column,
    other_rate_column,
    refund_number,
    cbp_principal_amount,
    cbp_interest_amount,
    cbp_interest_source,
    cbp_reports_disagree,
    es701_interest_amount,
    es022_interest_amount,
    rev615_interest_amount,
    payment_date,
    payment_date_source,
    rev603_refund_status,
    rev603_refund_secondary_status,
    ach_hold_start_date,
    ach_hold_end_date,
    ach_hold_is_estimated,
    case
        when ach_hold_start_date is null or held_to_date <= held_from_date then 0
        else {{ dbt.datediff('held_from_date', 'held_to_date', 'day') }}
    end as interest_held_days,
    -- the hold every reading's period loses, when the rule is on
    {%- if var('interest_suspended_while_ach_held') %}
    case
        when ach_hold_start_date is null or held_to_date <= held_from_date then 0
        else {{ dbt.datediff('held_from_date', 'held_to_date', 'day') }}
    end as interest_suspended_days,
    ach_hold_start_date as suspension_start_date,
    ach_hold_end_date as suspension_end_date
    {%- else %}
    0 as interest_suspended_days,
    cast(null as date) as suspension_start_date,
    cast(null as date) as suspension_end_date
    {%- endif %}
from held
