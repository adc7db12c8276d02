-- Rows a newer export proves gone: the newest export holding the row's group lacks its key (an ES-003 line a
-- post-summary correction removed; an entry no longer on a REV-615 refund). Staging reads those groups from their
-- newest export only (macros/newest_per_key.sql, complete_by), so these rows count nowhere; this lists them for the
-- auditor. ES-022, ES-701, REV-603 and REV-613 are not retracted this way (see the model's YAML), and an export
-- with a row quarantined (cut off mid-way) proves nothing gone.

with

es003 as (

    {{ retracted_rows('es003', source('raw', 'es003_line_tariffs'),
        ['entry_summary_number', 'entry_summary_line_number', 'tariff_ordinal_number'], ['entry_summary_number']) }}

),

rev615 as (

    {{ retracted_rows('rev615', source('raw', 'rev615_cape_refund_details'),
        ['refund_number', 'entry_summary_number'], ['refund_number']) }}

)

select * from es003
union all
select * from rev615
