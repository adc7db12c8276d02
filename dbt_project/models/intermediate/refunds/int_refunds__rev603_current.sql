-- REV-603 rows of each refund's newest export: one row per (refund, offset) as that export lists them, with what
-- the export's layout lacks derived from the other reports, each with its basis.
--
-- Staging keeps the newest export per (refund, offset type, debt reference, agency). An older export without
-- the offset block (NULL offset columns) and a newer one with it would leave both the bare row and the offset
-- rows of the same refund in staging; a refund is therefore read from one export only, its newest (file
-- modification time, then load), so its refund-level figures and its offsets come from the same report.
--
-- The layout found in real exports (docs/DOMAIN.md section 8) has no importer, no principal/interest split, no offset
-- block and one Total Refund Amount:
--   importer   from ES-022 by refund number, else REV-615, else the payee when it is an importer we know, else the
--              importer whose Form 4811 payee it is (importer_basis);
--   split      from ES-022 by refund number, else REV-615 (amount_split_basis);
--   gross/net  without a Net Refund column, the total is read as what was paid (var rev603_total_is_net_of_offsets,
--              UNVERIFIED), and the gross is what ES-022 / REV-615 say CBP refunded: the gap is the only trace
--              of an offset (int_refunds__offsets infers one when the secondary status says Funds Diverted).

{%- set total_is_net = var('rev603_total_is_net_of_offsets') %}

with

trade_refunds as (

    select * from {{ ref('stg_ace__rev603_trade_refunds') }}

),

ledger as (

    select * from {{ ref('stg_ingest__file_ledger') }}

),

cape_entries as (

    select * from {{ ref('stg_ace__es022_cape_entries') }}

),

refund_details as (

    select * from {{ ref('stg_ace__rev615_cape_refund_details') }}

),

profiles as (

    select * from {{ ref('stg_reference__importer_profiles') }}

),

ranked as (

    select
        *,
        dense_rank() over (
            partition by refund_number
            order by _file_modified_at desc, _load_id desc
        ) as export_rank
    from trade_refunds

),

current_rows as (

    select r.*, not l.has_net_refund_amount as lacks_net_column
    from ranked as r
    left join ledger as l on r._load_id = l.load_id
    where r.export_rank = 1

),

-- What ES-022 says of each refund: its importer(s) and the principal and interest of its entries (an entry once,
-- from its newest declaration row carrying the refund).
es022_refunds as (

    select
        refund_number,
        min(importer_number) as importer_number,
        count(distinct importer_number) as importer_count,
        sum(refund_principal_amount) as principal_amount,
        sum(refund_interest_amount) as interest_amount
    from (
        select
            *,
            row_number() over (
                partition by refund_number, entry_summary_number
                order by declaration_submission_date desc, cape_declaration_number desc
            ) as recency
        from cape_entries
        where refund_number is not null
    ) as e
    where recency = 1
    group by refund_number

),

rev615_refunds as (

    select
        refund_number,
        min(importer_number) as importer_number,
        count(distinct importer_number) as importer_count,
        sum(refund_principal_amount) as principal_amount,
        sum(refund_interest_amount) as interest_amount
    from refund_details
    group by refund_number

),

known_importers as (

    select importer_number from profiles
    union
    select importer_number from cape_entries
    union
    select importer_number from refund_details

),

derived as (

    select
        c.*,
        e.importer_number as es022_importer_number,
        e.importer_count as es022_importer_count,
        s.importer_number as rev615_importer_number,
        s.importer_count as rev615_importer_count,
        k.importer_number as payee_as_importer,
        p.importer_number as form_4811_importer_number,
        coalesce(e.principal_amount, s.principal_amount) as derived_principal_amount,
        coalesce(e.interest_amount, s.interest_amount) as derived_interest_amount,
        case when e.principal_amount is not null then 'es022_refund_number'
            when s.principal_amount is not null then 'rev615_refund_number' end as derived_split_basis
    from current_rows as c
    left join es022_refunds as e on c.refund_number = e.refund_number
    left join rev615_refunds as s on c.refund_number = s.refund_number
    left join known_importers as k on c.payee_number = k.importer_number
    left join profiles as p on c.payee_number = p.form_4811_payee_number

)

select
    refund_number,
    offset_type,
    offset_debt_reference,
    offset_agency,
    refund_date,
    coalesce(
        importer_number,
        case when es022_importer_count = 1 then es022_importer_number end,
        case when rev615_importer_count = 1 then rev615_importer_number end,
        payee_as_importer,
        form_4811_importer_number
    ) as importer_number,
    case
        when importer_number is not null then 'reported'
        when es022_importer_count = 1 then 'es022_refund_number'
        when rev615_importer_count = 1 then 'rev615_refund_number'
        when payee_as_importer is not null then 'payee_is_importer'
        when form_4811_importer_number is not null then 'form_4811_payee_profile'
        else 'unknown'
    end as importer_basis,
    payee_number,
    refund_status,
    refund_secondary_status,
    coalesce(refund_principal_amount, derived_principal_amount) as refund_principal_amount,
    coalesce(refund_interest_amount, derived_interest_amount) as refund_interest_amount,
    case
        when refund_principal_amount is not null then 'reported'
        else coalesce(derived_split_basis, 'unknown')
    end as amount_split_basis,
    {%- if total_is_net %}
    case
        when lacks_net_column and derived_principal_amount is not null
            then cast(derived_principal_amount + derived_interest_amount as decimal(18, 2))
        else gross_refund_amount
    end as gross_refund_amount,
    case
        when lacks_net_column and derived_principal_amount is not null then derived_split_basis
        else 'reported'
    end as gross_basis,
    offset_amount,
    has_offset_detail,
    coalesce(net_refund_amount, case when lacks_net_column then gross_refund_amount end) as net_refund_amount,
    case
        when net_refund_amount is not null then 'reported'
        when lacks_net_column then 'rev603_total'
    end as net_basis,
    {%- else %}
    gross_refund_amount,
    'reported' as gross_basis,
    offset_amount,
    has_offset_detail,
    net_refund_amount,
    case when net_refund_amount is not null then 'reported' end as net_basis,
    {%- endif %}
    payment_method,
    ach_trace_number,
    _load_id,
    _source_file,
    _source_line,
    _file_modified_at
from derived
