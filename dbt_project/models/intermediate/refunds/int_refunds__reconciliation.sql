-- One row per CBP refund number: the entries it covers, what we expected, what CBP stated and paid, and the
-- variance split into buckets that add up to it exactly.
--
--   expected_total_amount = expected principal + expected interest of the refund's entries
--   net_received_amount   = CBP's net refund (REV-603) - the part returned by ACH and still held (REV-613)
--   variance_amount       = expected_total_amount - net_received_amount      (positive: we got less than expected)
--
-- Buckets, in this order, each positive when it reduced what we received, DECIMAL(18,2), summing to the variance:
--   1 offset_cbp_debt_amount       offsets for debts owed to CBP (REV-603 offset block)
--   2 offset_treasury_debt_amount  offsets for federal non-tax debts certified to Treasury
--   3 offset_top_amount            Treasury Offset Program offsets
--   4 offset_unidentified_amount   offsets of unknown type: inferred from "Funds Diverted" and the gross-to-net gap
--                                  when REV-603 has no offset columns, or a type label the dispute table lacks
--   5 ach_returned_held_amount     the payment came back (REV-613 / REV-603 Check/ACH Returned) and CBP holds it
--                                  (not reissued: int_refunds__ach_holds)
--   6 principal_variance_amount    expected principal - principal CBP stated, over the entries (REV-615 / ES-022)
--   7 interest_variance_amount     expected interest - interest CBP stated, over the entries whose figure a reading
--                                  matches within a cent (fct_refund_entries.interest_explanation)
--   8 unexplained_amount           the rest, in three parts: interest differences no reading matches, however
--                                  small (var interest_tolerance_amount never explains anything); the entries'
--                                  stated total - REV-603's gross (reports disagree, or a refund without entry
--                                  detail); REV-603's gross - offsets - net (a gap the offset rows do not cover)
-- Since expected - (net - held) = offsets + held + (E_P - S_P) + (E_I - S_I) + (S - gross) + (gross - offsets - net),
-- the buckets add up to the variance by construction; buckets_reconcile checks it row by row (a data test).
-- A refund REV-603 does not list yet: gross = the entries' stated total, no offsets, net = gross.
-- Inputs, one row per refund each: REV-603's figures (int_refunds__rev603_refunds), what the entries say
-- (int_refunds__entry_totals), the offsets by bucket (int_refunds__offset_totals), ACH returns and holds.

{%- set buckets = [
    ('offset_cbp_debt', 1), ('offset_treasury_debt', 2), ('offset_top', 3), ('offset_unidentified', 4),
    ('ach_returned_held', 5), ('principal_variance', 6), ('interest_variance', 7), ('unexplained', 8)
] %}

with

rev603 as (

    select * from {{ ref('int_refunds__rev603_refunds') }}

),

entry_totals as (

    select * from {{ ref('int_refunds__entry_totals') }}

),

offset_totals as (

    select * from {{ ref('int_refunds__offset_totals') }}

),

ach_returns as (

    select * from {{ ref('int_refunds__ach_returns') }}

),

ach_holds as (

    select * from {{ ref('int_refunds__ach_holds') }}

),

refund_numbers as (

    select refund_number from rev603
    union
    select refund_number from entry_totals

),

assembled as (

    select
        n.refund_number,
        coalesce(r.importer_number, e.importer_number) as importer_number,
        r.payee_number,
        r.refund_date,
        e.liquidation_date,
        e.sent_to_treasury_date,
        r.refund_status,
        r.refund_secondary_status,
        r.payment_method,
        r.ach_trace_number,
        r.refund_number is not null as is_in_rev603,
        e.refund_number is not null as has_entry_detail,

        -- entries covered
        coalesce(e.entry_count, 0) as entry_count,
        coalesce(e.declaration_count, 0) as declaration_count,
        e.cape_declaration_numbers,
        coalesce(e.entries_from_es022, 0) as entries_from_es022,
        coalesce(e.entries_without_expected, 0) as entries_without_expected,
        coalesce(e.entries_interest_unexplained, 0) as entries_interest_unexplained,
        e.interest_explanations,
        coalesce(e.entries_rate_not_confirmed, 0) as entries_rate_not_confirmed,
        coalesce(e.entries_interest_suspended, 0) as entries_interest_suspended,
        coalesce(e.interest_suspended_days_max, 0) as interest_suspended_days_max,

        -- expected (our marts)
        coalesce(e.expected_principal_amount, 0) as expected_principal_amount,
        coalesce(e.expected_interest_amount, 0) as expected_interest_amount,

        -- stated by CBP
        coalesce(e.stated_principal_amount, 0) as stated_principal_amount,
        coalesce(e.stated_interest_amount, 0) as stated_interest_amount,
        r.refund_principal_amount as rev603_principal_amount,
        r.refund_interest_amount as rev603_interest_amount,
        coalesce(e.stated_principal_amount + e.stated_interest_amount, 0) as entries_stated_total_amount,
        coalesce(r.gross_refund_amount, e.stated_principal_amount + e.stated_interest_amount, 0)
            as gross_refund_amount,

        -- offsets
        coalesce(o.offset_count, 0) as offset_count,
        coalesce(o.has_inferred_offset, false) as has_inferred_offset,
        coalesce(o.offset_total_amount, 0) as offset_total_amount,
        coalesce(o.offset_cbp_debt_amount, 0) as offset_cbp_debt_amount,
        coalesce(o.offset_treasury_debt_amount, 0) as offset_treasury_debt_amount,
        coalesce(o.offset_top_amount, 0) as offset_top_amount,
        coalesce(o.offset_unidentified_amount, 0) as offset_unidentified_amount,
        r.net_refund_amount as rev603_net_refund_amount,

        -- ACH: returned and held for missing ACH data, or reissued (int_refunds__ach_holds)
        h.refund_number is not null as has_ach_return,
        coalesce(a.return_count, 0) as ach_return_count,
        a.latest_return_date as ach_return_date,
        a.latest_return_reason_code as ach_return_reason_code,
        a.latest_hold_status as ach_hold_status,
        a.latest_returned_amount as ach_returned_amount,
        coalesce(not h.is_released, false) as is_ach_held,
        h.hold_start_date as ach_hold_start_date,
        h.hold_end_date as ach_hold_end_date,
        h.hold_is_estimated as ach_hold_is_estimated,
        coalesce(h.held_days_to_as_of, 0) as ach_held_days,

        -- entry-level variance parts
        coalesce(e.principal_shortfall_amount, 0) as principal_variance_amount,
        coalesce(e.explained_interest_shortfall_amount, 0) as interest_variance_amount,
        coalesce(e.unexplained_interest_shortfall_amount, 0) as unexplained_interest_amount
    from refund_numbers as n
    left join rev603 as r on n.refund_number = r.refund_number
    left join entry_totals as e on n.refund_number = e.refund_number
    left join offset_totals as o on n.refund_number = o.refund_number
    left join ach_returns as a on n.refund_number = a.refund_number
    left join ach_holds as h on n.refund_number = h.refund_number

),

netted as (

    select
        *,
        cast(coalesce(rev603_net_refund_amount, gross_refund_amount - offset_total_amount) as decimal(18, 2))
            as net_refund_amount
    from assembled

),

held as (

    select
        *,
        -- the returned payment, at most the net refund (REV-613's amount is the payment that came back)
        cast(
            case
                when is_ach_held then
                    case
                        when coalesce(ach_returned_amount, net_refund_amount) < net_refund_amount
                            then coalesce(ach_returned_amount, net_refund_amount)
                        else net_refund_amount
                    end
                else 0
            end as decimal(18, 2)
        ) as ach_returned_held_amount
    from netted

),

variance as (

    select
        *,
        cast(expected_principal_amount + expected_interest_amount as decimal(18, 2)) as expected_total_amount,
        cast(net_refund_amount - ach_returned_held_amount as decimal(18, 2)) as net_received_amount,
        cast(entries_stated_total_amount - gross_refund_amount as decimal(18, 2)) as unexplained_report_gap_amount,
        cast(gross_refund_amount - offset_total_amount - net_refund_amount as decimal(18, 2))
            as unexplained_net_gap_amount
    from held

),

bucketed as (

    select
        *,
        cast(expected_total_amount - net_received_amount as decimal(18, 2)) as variance_amount,
        cast(
            unexplained_interest_amount + unexplained_report_gap_amount + unexplained_net_gap_amount
            as decimal(18, 2)
        ) as unexplained_amount
    from variance

),

bucket_rows as (

    {%- for name, position in buckets %}
    select refund_number, '{{ name }}' as bucket, {{ position }} as bucket_order, {{ name }}_amount as amount
    from bucketed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

reasons as (

    select
        refund_number,
        {{ dbt.listagg('bucket', "', '", 'order by bucket_order') }} as variance_reasons
    from bucket_rows
    where amount <> 0
    group by refund_number

),

largest as (

    select refund_number, bucket as largest_bucket
    from (
        select
            *,
            row_number() over (partition by refund_number order by abs(amount) desc, bucket_order) as size_rank
        from bucket_rows
        where amount <> 0
    ) as b
    where size_rank = 1

),

final as (

    select
        b.*,
        cast(
            {%- for name, position in buckets %}
            {% if not loop.first %}    + {% endif %}{{ name }}_amount
            {%- endfor %}
            as decimal(18, 2)
        ) as buckets_total_amount,
        coalesce(x.variance_reasons, '') as variance_reasons,
        l.largest_bucket
    from bucketed as b
    left join reasons as x on b.refund_number = x.refund_number
    left join largest as l on b.refund_number = l.refund_number

)

select
    refund_number,
    importer_number,
    payee_number,
    refund_date,
    liquidation_date,
    sent_to_treasury_date,
    refund_status,
    refund_secondary_status,
    case
        when not is_in_rev603 then 'not_in_rev603'
        when is_ach_held then 'returned_held'
        when has_ach_return then 'returned_reissued'
        when refund_status = 'Treasury Issued' then 'issued'
        when refund_status = 'Sent to Treasury' then 'sent_to_treasury'
        when refund_status = 'Transmitted' then 'transmitted'
        else 'other'
    end as payment_status,
    payment_method,
    ach_trace_number,
    is_in_rev603,
    has_entry_detail,

    -- entries covered (REV-615, else ES-022)
    entry_count,
    declaration_count,
    cape_declaration_numbers,
    entries_from_es022,
    entries_without_expected,
    entries_interest_unexplained,
    interest_explanations,
    entries_rate_not_confirmed,
    entries_rate_not_confirmed > 0 as expected_interest_uses_unverified_rate,
    entries_interest_suspended,
    interest_suspended_days_max,

    -- expected (fct_entry_refundable, fct_entry_interest)
    expected_principal_amount,
    expected_interest_amount,
    expected_total_amount,

    -- stated by CBP
    stated_principal_amount,
    stated_interest_amount,
    rev603_principal_amount,
    rev603_interest_amount,
    coalesce(
        rev603_principal_amount = stated_principal_amount and rev603_interest_amount = stated_interest_amount,
        false
    ) as rev603_agrees_with_entries,
    gross_refund_amount,
    offset_count,
    offset_total_amount,
    has_inferred_offset,
    net_refund_amount,

    -- ACH
    has_ach_return,
    ach_return_count,
    ach_return_date,
    ach_return_reason_code,
    ach_hold_status,
    ach_returned_amount,
    is_ach_held,
    ach_hold_start_date,
    ach_hold_end_date,
    ach_hold_is_estimated,
    ach_held_days,
    net_received_amount,

    -- variance and its buckets (in order; they sum to variance_amount)
    variance_amount,
    offset_cbp_debt_amount,
    offset_treasury_debt_amount,
    offset_top_amount,
    offset_unidentified_amount,
    ach_returned_held_amount,
    principal_variance_amount,
    interest_variance_amount,
    unexplained_amount,
    unexplained_interest_amount,
    unexplained_report_gap_amount,
    unexplained_net_gap_amount,
    buckets_total_amount,
    buckets_total_amount = variance_amount as buckets_reconcile,
    variance_reasons,
    largest_bucket,
    {{ as_of_date() }} as as_of_date
from final
