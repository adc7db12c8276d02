-- One row per offset CBP took from a refund, from the refund's newest REV-603 export:
--   reported   a row of REV-603's offset block (type, debt reference or agency, amount);
--   inferred   the refund has no offset row but the secondary status says "Funds Diverted" or net < gross: the
--              gap gross - net is one offset of unknown type (the older REV-603 layout has no offset columns).
-- Each offset gets a debt key, so that one debt taking money from several refunds is seen as one debt:
--   <importer>/<type code>/<agency:reference | reference | agency>, or <importer>/unidentified/<refund>[:<what
--   the row says>] when the type is not identified (an inferred offset, or a type label the dispute table lacks).

{%- set diverted = var('refund_funds_diverted_status') %}

with

current_rows as (

    select * from {{ ref('int_refunds__rev603_current') }}

),

dispute_paths as (

    select * from {{ ref('offset_dispute_paths') }}

),

refunds as (

    select * from {{ ref('int_refunds__rev603_refunds') }}

),

reported as (

    select
        refund_number,
        offset_type,
        offset_debt_reference,
        offset_agency,
        cast(coalesce(offset_amount, 0) as decimal(18, 2)) as offset_amount,
        offset_amount is null as is_amount_missing,
        false as is_inferred,
        cast(null as {{ dbt.type_string() }}) as inference_basis,
        _source_file,
        _source_line
    from current_rows
    where has_offset_detail

),

inferred as (

    select
        refund_number,
        cast(null as {{ dbt.type_string() }}) as offset_type,
        cast(null as {{ dbt.type_string() }}) as offset_debt_reference,
        cast(null as {{ dbt.type_string() }}) as offset_agency,
        cast(gross_refund_amount - net_refund_amount as decimal(18, 2)) as offset_amount,
        false as is_amount_missing,
        true as is_inferred,
        case
            when gross_basis <> 'reported'
                then 'REV-603 has one total and no offset detail; secondary status "{{ diverted }}"; offset = '
                    || 'principal + interest CBP stated (' || gross_basis || ') - REV-603 total'
            when refund_secondary_status = '{{ diverted }}'
                then 'REV-603 has no offset detail; secondary status "{{ diverted }}"; offset = gross - net'
            else 'REV-603 has no offset detail; net below gross; offset = gross - net'
        end as inference_basis,
        _source_file,
        _source_line
    from refunds
    where offset_row_count = 0
      and gross_refund_amount - net_refund_amount > 0
      -- a gross taken from other reports can differ from REV-603's total for other reasons: only a refund REV-603
      -- says was diverted has its gap taken as an offset
      and (gross_basis = 'reported' or refund_secondary_status = '{{ diverted }}')

),

offsets as (

    select * from reported
    union all
    select * from inferred

),

typed as (

    select
        o.*,
        coalesce(p.offset_type_code, 'unidentified') as offset_type_code
    from offsets as o
    left join dispute_paths as p
        on lower(trim(o.offset_type)) = lower(trim(p.offset_type_label))

),

keyed as (

    select
        t.*,
        r.importer_number,
        r.payee_number,
        r.refund_date,
        r.refund_status,
        r.refund_secondary_status,
        r.gross_refund_amount,
        r.net_refund_amount,
        coalesce(r.importer_number, r.payee_number, 'unknown-importer')
            || '/' || t.offset_type_code
            || '/' || case
                when t.offset_type_code = 'unidentified' then t.refund_number
                    || coalesce(':' || t.offset_type, '')
                    || coalesce(':' || t.offset_agency, '')
                    || coalesce(':' || t.offset_debt_reference, '')
                else coalesce(
                    t.offset_agency || ':' || t.offset_debt_reference,
                    t.offset_debt_reference,
                    t.offset_agency,
                    t.refund_number
                )
            end as debt_key
    from typed as t
    inner join refunds as r on t.refund_number = r.refund_number

)

select
    refund_number || '#' || debt_key as offset_key,
    refund_number,
    debt_key,
    importer_number,
    payee_number,
    refund_date,
    refund_status,
    refund_secondary_status,
    gross_refund_amount,
    net_refund_amount,
    offset_type,
    offset_type_code,
    offset_debt_reference,
    offset_agency,
    offset_amount,
    is_amount_missing,
    is_inferred,
    inference_basis,
    _source_file,
    _source_line
from keyed
