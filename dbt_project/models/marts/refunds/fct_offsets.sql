-- One row per offset CBP took from a refund (REV-603's offset block; or, where REV-603 has no offset columns,
-- one inferred row per refund from "Funds Diverted" and the gross-to-net gap): its type, amount, debt reference or
-- originating agency, the refund and the entries it reduced, and, from its debt (fct_offset_debts), who to
-- dispute it with and the validation steps still open. A debt spanning several refunds has one row per refund
-- here and one row in fct_offset_debts (same debt_key).

with

offsets as (

    select * from {{ ref('int_refunds__offsets') }}

),

refund_entries as (

    select * from {{ ref('int_refunds__entries') }}

),

debts as (

    select * from {{ ref('int_refunds__offset_debts') }}

),

-- a refund's entry count and declaration list, as the reconciliation counts them
refund_totals as (

    select * from {{ ref('int_refunds__entry_totals') }}

),

entry_lists as (

    select
        refund_number,
        {{ dbt.listagg('entry_summary_number', "', '", 'order by entry_summary_number') }} as entry_summary_numbers
    from refund_entries
    group by refund_number

)

select
    o.offset_key,
    o.refund_number,
    o.refund_date,
    o.importer_number,
    o.payee_number,

    -- the offset
    o.offset_type,
    o.offset_type_code,
    d.offset_type_name,
    o.offset_amount,
    o.is_amount_missing,
    o.offset_debt_reference as debt_reference,
    case when o.offset_type_code = 'cbp_debt' then 'CBP' else o.offset_agency end as originating_agency,
    o.is_inferred,
    o.inference_basis,

    -- the refund and the entries it reduced
    o.refund_status,
    o.refund_secondary_status,
    o.gross_refund_amount,
    o.net_refund_amount,
    coalesce(t.entry_count, 0) as entry_count,
    e.entry_summary_numbers,
    t.cape_declaration_numbers,

    -- the debt (one debt can take several refunds)
    o.debt_key,
    d.refund_count as debt_refund_count,
    d.total_offset_amount as debt_total_offset_amount,

    -- dispute path and validation steps (of the debt)
    d.dispute_with_role,
    d.dispute_with,
    d.dispute_path,
    d.legal_citation_label,
    d.dispute_basis_status,
    d.is_type_identified,
    d.is_debt_identified,
    d.is_debt_verified,
    d.is_documented,
    d.is_dispute_filed,
    d.open_step_count,
    d.open_steps,
    d.next_step,
    d.is_closed,

    -- lineage
    o._source_file,
    o._source_line,
    {{ as_of_date() }} as as_of_date,
    -- the reference data and settings this row was decided by (macros/rules_version.sql)
    {{ rules_version() }} as rules_version
from offsets as o
left join debts as d on o.debt_key = d.debt_key
left join entry_lists as e on o.refund_number = e.refund_number
left join refund_totals as t on o.refund_number = t.refund_number
