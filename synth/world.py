"""Build the synthetic world in DuckDB, set-based.

Every random choice is ``hash(seed, key, salt)``: the same seed gives the same world, whatever the thread
count. Money is DECIMAL(18,2), rounded once where it is computed. Tables built here (in order):

  importers, filers, entries, lines, tariffs, entry_duty, liquidations, cape_lines, cape_refund_entries,
  refunds, offsets, ach_returns, es701_rows, truth_entries, truth_variances, truth_refunds

The report writers (writers.py) only format these tables; the truth files are written from them too, never
from the report files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from synth import catalog as cat

CAPE_START = date(2026, 4, 20)  # CAPE went live in the ACE Portal
ALPHANUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class WorldConfig:
    entries: int
    seed: int
    as_of: date
    seeds_dir: Path

    @property
    def n_importers(self) -> int:
        return max(12, min(20_000, self.entries // 50))

    @property
    def n_brokers(self) -> int:
        return max(4, self.n_importers // 8)

    @property
    def n_self(self) -> int:  # importers with i % 5 = 1 file their own entries
        return (self.n_importers + 3) // 5


def _lit(values) -> str:
    """A SQL list literal of strings."""
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def _in(values) -> str:
    return "(" + ", ".join("'" + v + "'" for v in values) + ")"


def _buckets(weights: list[int]) -> tuple[list[tuple[int, int]], int]:
    """Cumulative [lo, hi) bucket bounds for weighted picks by equality join on hash % total."""
    out, lo = [], 0
    for w in weights:
        out.append((lo, lo + w))
        lo += w
    return out, lo


def role_ranges(n: int) -> list[tuple[str, int, int]]:
    """Ranks [lo, hi] (1-based, in a hash permutation of the entries) that each planted role takes."""
    counts = [(role, max(minimum, round(n * share))) for role, share, minimum in cat.ROLES]
    if sum(c for _, c in counts) > n // 2:  # tiny worlds: shares only, so ordinary entries remain
        counts = [(role, round(n * share)) for role, share, _ in cat.ROLES]
    out, lo = [], 1
    for role, c in counts:
        if c > 0:
            out.append((role, lo, lo + c - 1))
            lo += c
    return out


def check_digit_macros() -> list[str]:
    """SQL macro ``check_digit(base10)``: CATAIR AE Table 1. Letters map A-I and J-R to 1-9, S-Z to 2-9;
    then Luhn from the left (positions 2, 4, .. 10 doubled, digits of the product summed)."""
    return [
        "create or replace macro dg(c) as ascii(c) - 48",
        "create or replace macro dbl(x) as (2 * x) // 10 + (2 * x) % 10",
        "create or replace macro luhn(m) as (10 - (dg(m[1]) + dbl(dg(m[2])) + dg(m[3]) + dbl(dg(m[4])) + dg(m[5])"
        " + dbl(dg(m[6])) + dg(m[7]) + dbl(dg(m[8])) + dg(m[9]) + dbl(dg(m[10]))) % 10) % 10",
        "create or replace macro check_digit(base) as luhn(translate(upper(base), "
        "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '12345678912345678923456789'))",
    ]


def _reference_sql(cfg: WorldConfig) -> tuple[list[str], int, int]:
    seeds = cfg.seeds_dir.as_posix()
    ctry_b, ctry_tot = _buckets([w for _, w in cat.COUNTRIES])
    goods_b, goods_tot = _buckets([g[5] for g in cat.GOODS])
    ctry_rows = ", ".join(f"('{c}', {lo}, {hi})" for (c, _), (lo, hi) in zip(cat.COUNTRIES, ctry_b, strict=True))
    goods_rows = ", ".join(
        f"('{h}', {p}, '{t}', '{k}', '{u}', {lo}, {hi})"
        for (h, p, t, k, u, _), (lo, hi) in zip(cat.GOODS, goods_b, strict=True)
    )
    roles = ", ".join(f"('{r}', {lo}, {hi})" for r, lo, hi in role_ranges(cfg.entries)) or "('none', 0, -1)"
    ranges = ", ".join(f"({i}, date '{lo}', date '{hi}')" for i, (lo, hi) in enumerate(cat.ES003_RANGES, 1))
    return (
        [
            f"create or replace macro u(k, salt) as (hash({cfg.seed}, k, salt) % 1000003)::double / 1000003",
            f"create or replace macro hn(k, salt, n) as (hash({cfg.seed}, k, salt) % n)::bigint",
            # Saturday/Sunday -> Monday: ACE dates are business days
            "create or replace macro wkday(d) as d + (case dayofweek(d) when 6 then 2 when 0 then 1 else 0 end)",
            "create or replace macro next_friday(d) as d + ((12 - dayofweek(d)) % 7)::int",
            "create or replace macro yd(d) as case when (year(d) % 4 = 0 and year(d) % 100 <> 0) "
            "or year(d) % 400 = 0 then 366 else 365 end",
            *check_digit_macros(),
            f"""
        create or replace table headings as
        select heading, hts8, authority, program, country_iso2,
          try_cast(additional_rate_pct as decimal(9, 3)) as rate_pct,
          effective_from::date as effective_from, coalesce(effective_to::date, date '9999-12-31') as effective_to,
          is_exception = 'true' as is_exception
        from read_csv('{seeds}/chapter99_headings.csv', all_varchar = true, header = true, nullstr = '')
        """,
            f"""
        create or replace table rates as
        select quarter_start::date as q_start, quarter_end::date as q_end,
          overpayment_noncorporate_pct::decimal(9, 3) as noncorp_pct,
          overpayment_corporate_pct::decimal(9, 3) as corp_pct
        from read_csv('{seeds}/interest_rates.csv', all_varchar = true, header = true, nullstr = '')
        """,
            f"""
        create or replace table country_buckets as
        select iso2, unnest(range(lo, hi)) as bucket from (values {ctry_rows}) t(iso2, lo, hi)
        """,
            f"""
        create or replace table goods_buckets as
        select hts10, col1_pct::decimal(9, 3) as col1_pct, col1_text, category, uom, unnest(range(lo, hi)) as bucket
        from (values {goods_rows}) t(hts10, col1_pct, col1_text, category, uom, lo, hi)
        """,
            f"create or replace table role_ranges as select * from (values {roles}) t(role, lo, hi)",
            f"create or replace table es003_ranges as select * from (values {ranges}) t(file_no, lo, hi)",
            # single-country reciprocal headings, looked up by origin and date
            """
        create or replace table country_headings as
        select country_iso2 as iso2, program, hts8, effective_from, effective_to
        from headings
        where program in ('reciprocal_country_2025_04', 'reciprocal_country_2025_08')
          and country_iso2 is not null and country_iso2 <> 'EU'
        qualify row_number() over (partition by country_iso2, program, effective_from order by hts8) = 1
        """,
        ],
        ctry_tot,
        goods_tot,
    )


def _parties_sql(cfg: WorldConfig) -> list[str]:
    n_imp, n_brk, seed = cfg.n_importers, cfg.n_brokers, cfg.seed
    rogue = n_brk + cfg.n_self
    return [
        f"""
        create or replace table importers as
        with b as (
          select i as imp_id,
            -- EIN: the 7-digit part is a bijection of i (7919 is prime to 10^7), so numbers never collide
            lpad((10 + hn(i, 'ein2', 89))::varchar, 2, '0') || '-'
              || lpad(((i * 7919 + {seed} * 104729) % 10000000)::varchar, 7, '0')
              || case when u(i, 'sfx') < 0.1 then '01' else '00' end as importer_number,
            i % 7 <> 3 and u(i, 'corp') < 0.78 as is_corporate,  -- every world has a non-corporate IOR
            not (i % 11 = 2 or u(i, 'ach') < 0.04) as ach_enrolled,
            u(i, 'pms') < 0.6 as pms,
            case when i % 13 = 4 or u(i, 'f4811') < 0.05 then
              lpad((10 + hn(i, 'p2', 89))::varchar, 2, '0') || '-'
              || lpad(hn(i, 'p7', 10000000)::varchar, 7, '0') || '00' end as form_4811_payee,
            i % 5 = 1 as self_filer,
            hn(i, 'pb', {n_brk}) as primary_broker,
            case when u(i, 'sb') < 0.35
              then (hn(i, 'pb', {n_brk}) + 1 + hn(i, 'sb2', {n_brk} - 1)) % {n_brk} end as secondary_broker,
            {_lit(cat.NAME_PREFIXES)}[1 + hn(i, 'np', {len(cat.NAME_PREFIXES)})] as name_prefix,
            {_lit(cat.NAME_MIDDLES)}[1 + hn(i, 'nm', {len(cat.NAME_MIDDLES)})] as name_middle,
            {_lit(cat.SURNAMES)}[1 + hn(i, 'ns', {len(cat.SURNAMES)})] as surname,
            {_lit(cat.CORP_SUFFIXES)}[1 + hn(i, 'nc', {len(cat.CORP_SUFFIXES)})] as corp_suffix,
            {_lit(cat.NONCORP_SUFFIXES)}[1 + hn(i, 'nn', {len(cat.NONCORP_SUFFIXES)})] as noncorp_suffix
          from range({n_imp}) t(i)
        )
        select imp_id, importer_number, is_corporate, ach_enrolled, pms, form_4811_payee, self_filer,
          primary_broker, secondary_broker,
          case when is_corporate then name_prefix || ' ' || name_middle || corp_suffix
               else surname || ' ' || name_middle || noncorp_suffix end as importer_name,
          case when self_filer then {n_brk} + (i_rank - 1) end as self_filer_idx
        from (select *, row_number() over (partition by self_filer order by imp_id) as i_rank from b)
        """,
        f"""
        create or replace table filers as
        with idx as (
          select b as filer_idx, 'broker' as kind, null::bigint as imp_id from range({n_brk}) t(b)
          union all
          select self_filer_idx, 'self', imp_id from importers where self_filer
          union all
          select {rogue}, 'broker', null  -- files a few entries for importers whose profile omits it
        ),
        x as (select *, (filer_idx * 7919 + {seed} * 7 + 12345) % 46656 as x from idx)
        select x.filer_idx, x.kind, x.imp_id,
          substr('{ALPHANUM}', 1 + x // 1296, 1) || substr('{ALPHANUM}', 1 + (x // 36) % 36, 1)
            || substr('{ALPHANUM}', 1 + x % 36, 1) as filer_code,
          case when x.kind = 'self' then i.importer_name
               else {_lit(cat.NAME_PREFIXES)}[1 + hn(x.filer_idx, 'fn', {len(cat.NAME_PREFIXES)})]
                 || {_lit(cat.BROKER_SUFFIXES)}[1 + hn(x.filer_idx, 'fs', {len(cat.BROKER_SUFFIXES)})]
          end as filer_name
        from x left join importers i on i.imp_id = x.imp_id
        """,
        """
        create or replace table importer_filers as
        with slots as (
          select imp_id, self_filer_idx as filer_idx from importers where self_filer_idx is not null
          union
          select imp_id, primary_broker from importers
          union
          select imp_id, secondary_broker from importers where secondary_broker is not null
        )
        select s.imp_id, f.filer_code from slots s join filers f using (filer_idx)
        """,
    ]


def _entries_sql(cfg: WorldConfig, ctry_tot: int) -> list[str]:
    n, n_imp, as_of = cfg.entries, cfg.n_importers, cfg.as_of
    rogue = cfg.n_brokers + cfg.n_self
    # IEEPA roles are dated 2025-04-07 .. 2026-02-23, and early enough to liquidate well before as_of
    last = min(date(2026, 2, 23), as_of - timedelta(days=150))
    ieepa_span = max(1, (last - date(2025, 4, 7)).days + 1)
    return [
        f"""
        create or replace table entries as
        with p as (
          select id, row_number() over (order by hash({cfg.seed}, id, 'perm'), id) as r
          from range(1, {n} + 1) t(id)
        ),
        r as (
          select p.id as entry_id, coalesce(rr.role, 'normal') as role, coalesce(p.r - rr.lo, 0) as role_rank
          from p left join role_ranges rr on p.r between rr.lo and rr.hi
        ),
        a as (
          select r.*,
            least({n_imp} - 1, floor({n_imp} * pow(u(r.entry_id, 'imp'), 1.7)))::bigint as imp_id,
            case when r.role = 'duty_mismatch' then 'CN'
                 when r.role = 'usmca_fentanyl_paid' then case when r.role_rank % 2 = 0 then 'MX' else 'CA' end
                 else cb.iso2 end as country,
            wkday(case
              when r.role = 'outside_pre' then date '2025-01-06' + hn(r.entry_id, 'd', 28)::int
              when r.role = 'outside_post' then date '2026-02-24' + hn(r.entry_id, 'd', 35)::int
              when r.role = 'usmca_fentanyl_paid' then date '2025-03-10' + hn(r.entry_id, 'd', 350)::int
              when r.role in {_in(cat.IEEPA_ROLES + ("duty_mismatch",))}
                then date '2025-04-07' + hn(r.entry_id, 'd', {ieepa_span})::int
              else date '2025-02-04' + hn(r.entry_id, 'd', 385)::int
            end) as entry_date,
            case r.role
              when 'type_08' then '08' when 'type_09' then '09' when 'type_47' then '47'
              when 'type_21' then '21' when 'type_22' then '22'
              when 'withdrawal' then ['31', '32', '34', '38'][1 + r.role_rank % 4]
              when 'type_02' then '02' when 'type_03' then '03' when 'type_06' then '06' when 'type_11' then '11'
              when 'recon' then ['01', '01', '02', '06'][1 + r.role_rank % 4]
              else '01' end as entry_type,
            case r.role when 'cancelled' then 'Cancelled' when 'rejected' then 'Rejected'
              else 'Accepted' end as status,
            r.role = 'recon' as recon,
            r.role in ('type_03', 'adcvd_flag') as adcvd,
            case when r.role = 'type_11' then 1 + hn(r.entry_id, 'nl', 2) else 1 + hn(r.entry_id, 'nl', 5) end
              as n_lines
          from r join country_buckets cb on cb.bucket = hn(r.entry_id, 'ctry', {ctry_tot})
        ),
        b as (
          select a.*, i.importer_number, i.is_corporate, i.pms,
            case when a.role = 'filer_not_in_profile' then {rogue}
                 when i.self_filer and u(a.entry_id, 'fs') < 0.6 then i.self_filer_idx
                 when i.secondary_broker is not null and u(a.entry_id, 'fs2') < 0.25 then i.secondary_broker
                 else i.primary_broker end as filer_idx,
            -- the summary is filed within 10 days of entry
            wkday(a.entry_date + hn(a.entry_id, 'esd', 10)::int) as entry_summary_date
          from a join importers i using (imp_id)
        ),
        c as (
          select b.*, f.filer_code, f.filer_name,
            f.filer_code || lpad((hn(b.filer_idx, 'serial0', 2000000)
              + row_number() over (partition by b.filer_idx order by b.entry_date, b.entry_id))::varchar, 7, '0')
              as base10
          from b join filers f using (filer_idx)
        )
        select entry_id, role, role_rank, imp_id, importer_number, is_corporate, filer_idx, filer_code,
          filer_name, base10 || check_digit(base10)::varchar as entry_number, country, entry_date,
          entry_summary_date, greatest(date '2025-01-01', entry_date - hn(entry_id, 'imp_d', 3)::int)
            as importation_date,
          entry_type, status, recon, adcvd, n_lines,
          case when country = 'CA' then {_lit(cat.PORTS_CA)}[1 + hn(entry_id, 'port', {len(cat.PORTS_CA)})]
               when country = 'MX' then {_lit(cat.PORTS_MX)}[1 + hn(entry_id, 'port', {len(cat.PORTS_MX)})]
               else {_lit(cat.PORTS_OTHER)}[1 + hn(entry_id, 'port', {len(cat.PORTS_OTHER)})] end as port,
          -- periodic monthly statement: paid mid next month; that payment is the deposit for interest
          case when pms and status = 'Accepted' and entry_type <> '11'
            then wkday((date_trunc('month', entry_summary_date) + interval 1 month + interval 14 day)::date)
          end as statement_payment_date,
          -- the deposit date interest runs from
          coalesce(statement_payment_date, entry_summary_date) as deposit_date
        from c
        """,
    ]


def _lines_sql(cfg: WorldConfig, ctry_tot: int, goods_tot: int) -> list[str]:
    eu = _in(cat.EU_MEMBERS)
    h, p, t, k, uom = cat.ENERGY_GOODS
    return [
        f"""
        create or replace table lines as
        with l as (
          select e.entry_id, e.role, e.role_rank, e.entry_date as d, e.entry_type, e.country as ectry,
            unnest(range(1, e.n_lines + 1)) as line_no
          from entries e
        ),
        c as (
          select l.*, l.entry_id * 8 + l.line_no as lk,
            case when l.ectry in ('CA', 'MX') or l.role in ('duty_mismatch', 'usmca_fentanyl_paid')
                   or u(l.entry_id * 8 + l.line_no, 'lc') >= 0.1 then l.ectry else cb.iso2 end as ctry
          from l join country_buckets cb on cb.bucket = hn(l.entry_id * 8 + l.line_no, 'lcb', {ctry_tot})
        ),
        g as (
          select c.*,
            c.ctry in ('CA', 'MX') and c.role <> 'usmca_fentanyl_paid' and u(c.lk, 'energy') < 0.12 as energy,
            gb.hts10 as g_hts, gb.col1_pct as g_col1, gb.col1_text as g_text, gb.category as g_cat, gb.uom as g_uom
          from c join goods_buckets gb on gb.bucket = hn(c.lk, 'goods', {goods_tot})
        ),
        v as (
          select entry_id, line_no, lk, role, role_rank, d, entry_type, ctry,
            case when energy then '{h}' else g_hts end as goods_hts,
            case when energy then {p}::decimal(9, 3) else g_col1 end as col1_pct,
            case when energy then '{t}' else g_text end as col1_text,
            case when energy then '{k}' else g_cat end as category,
            case when energy then '{uom}' else g_uom end as uom,
            case when ctry = 'CN' and u(lk, 'exp') < 0.08 then 'HK' else ctry end as export_ctry,
            ctry in ('CA', 'MX') and ((role = 'usmca_fentanyl_paid' and line_no = 1) or u(lk, 'usmca') < 0.6)
              as usmca_claim,
            role = 'usmca_fentanyl_paid' and line_no = 1 as planted_paid,
            ctry in ('CN', 'HK') and d <= date '2025-03-06' and u(lk, 'transit') < 0.05 as in_transit,
            ctry not in ('CA', 'MX') and u(lk, 'ch98') < 0.02 as ch98,
            round(case when entry_type = '11' then 20 + 780 * u(lk, 'val')
                       else 200 * pow(250, u(lk, 'val')) * case when u(lk, 'big') < 0.005 then 20 else 1 end
                  end)::decimal(18, 2) as value
          from g
        )
        select v.*,
          case when uom = 'KG' then round(value / (2 + 20 * u(lk, 'qty')), 1)
               else greatest(1, round(value / (5 + 200 * u(lk, 'qty')))) end::decimal(18, 1) as qty,
          case when usmca_claim then 'S' when ctry = 'KR' and u(lk, 'spi') < 0.5 then 'KR'
               when ctry = 'IL' then 'IL' end as spi,
          case when ctry = 'CN' and category <> 'pharma' and u(lk, '301') < 0.7
            then ['99038801', '99038802', '99038803', '99038815'][1 + hn(lk, '301l', 4)] end as s301_hts,
          -- Ch.99 IEEPA choices by origin, date and goods (rates come from the headings seed)
          case
            when d < date '2025-02-04' or d > date '2026-02-23' then null
            when ctry in ('CN', 'HK') then case when in_transit then '99030123'
              when d <= date '2025-03-03' then '99030120' else '99030124' end
            when ctry = 'MX' and d >= date '2025-03-04' then case
              when usmca_claim and d >= date '2025-03-07' and not planted_paid then '99030104'
              when category = 'energy' and d >= date '2025-03-07' then '99030105' else '99030101' end
            when ctry = 'CA' and d >= date '2025-03-04' then case
              when usmca_claim and d >= date '2025-03-07' and not planted_paid then '99030114'
              when category = 'energy' then '99030113' else '99030110' end
          end as fent_hts,
          case
            when d < date '2025-04-05' or d > date '2026-02-23' then null
            when ctry = 'CA' then '99030126'
            when ctry = 'MX' then '99030127'
            when category in ('steel', 'aluminum') or (category = 'auto' and d >= date '2025-05-03')
              then '99030133'
            when category in ('pharma', 'semis') then '99030132'
            when category = 'ag' and d >= date '2025-11-13' then '99030278'
            when ctry in ('CN', 'HK') then
              case when d between date '2025-04-09' and date '2025-05-13' then '99030163' else '99030125' end
            when d = date '2025-04-09' then coalesce(apr.hts8, '99030125')
            when d < date '2025-08-07' then '99030125'
            when ctry in {eu} then case when col1_pct >= 15 then '99030219' else '99030220' end
            when ctry = 'JP' then case when d <= date '2025-09-15' and u(lk, 'jp') < 0.5 then '99030230'
              when col1_pct >= 15 then '99030272' else '99030273' end
            when ctry = 'KR' and d >= date '2025-11-14'
              then case when col1_pct >= 15 then '99030279' else '99030280' end
            when ctry = 'CH' and d >= date '2025-11-14'
              then case when col1_pct >= 15 then '99030282' else '99030283' end
            when ctry = 'LI' and d >= date '2025-11-14'
              then case when col1_pct >= 15 then '99030287' else '99030288' end
            else coalesce(aug.hts8, '99030125')
          end as recip_hts,
          case
            when ctry = 'BR' and d between date '2025-08-06' and date '2026-02-23' then case
              when category = 'ag' and d >= date '2025-11-13' then '99030190'
              when category in ('pharma', 'semis') then '99030180' else '99030177' end
            when ctry = 'IN' and d between date '2025-08-27' and date '2026-02-06' then
              case when category in ('pharma', 'semis') then '99030186' else '99030184' end
          end as extra_hts,
          case
            when ctry in ('CA', 'MX') then null
            when category = 'steel' and d >= date '2025-03-12' then '99038190'
            when category = 'aluminum' and d >= date '2025-03-12' then '99038503'
            when category = 'auto' and d >= date '2025-05-03' then '99039405'
          end as s232_hts,
          d between date '2026-02-24' and date '2026-07-23' and ctry not in ('CA', 'MX') as s122
        from v
        left join country_headings apr on apr.iso2 = v.ctry and apr.program = 'reciprocal_country_2025_04'
          and v.d between apr.effective_from and apr.effective_to
        left join country_headings aug on aug.iso2 = v.ctry and aug.program = 'reciprocal_country_2025_08'
          and v.d between aug.effective_from and aug.effective_to
        """,
    ]


# Tariff rows of a line in ACE order: Ch.98, then Ch.99 (301, IEEPA fentanyl, reciprocal, other IEEPA, 232,
# 122), then the goods' HTS. (sort key, presence test on the line)
PARTS = (
    (0, "l.ch98"),
    (1, "l.s301_hts is not null"),
    (2, "l.fent_hts is not null"),
    (3, "l.recip_hts is not null"),
    (4, "l.extra_hts is not null"),
    (5, "l.s232_hts is not null"),
    (6, "l.s122"),
    (9, "true"),
)


def _ordinal(key: int) -> str:
    """Tariff ordinal of the part with sort key ``key``: 1 + the parts before it that the line has.
    Arithmetic instead of a window over every tariff row."""
    before = " + ".join(f"({test})::int" for k, test in PARTS if k < key)
    return f"1 + {before}" if before else "1"


def _tariffs_sql(cfg: WorldConfig) -> list[str]:
    def part(key: int, hts: str, authority: str, rate: str) -> str:
        test = dict(PARTS)[key]
        return (
            f"select l.entry_id, l.line_no, l.role, l.role_rank, l.d, l.value, l.col1_pct, {key} as sort_key, "
            f"({_ordinal(key)})::int as ordinal, {hts} as hts, '{authority}' as authority, "
            f"({rate})::decimal(9, 3) as rate_pct from lines l where {test}"
        )

    parts = "\n          union all\n          ".join(
        [
            part(0, "'9802008040'", "CHAPTER_98", "0"),
            part(1, "l.s301_hts", "SECTION_301", "case when l.s301_hts = '99038815' then 7.5 else 25 end"),
            part(2, "l.fent_hts", "IEEPA", "null"),
            part(3, "l.recip_hts", "IEEPA", "null"),
            part(4, "l.extra_hts", "IEEPA", "null"),
            part(
                5,
                "l.s232_hts",
                "SECTION_232",
                "case when l.s232_hts <> '99039405' and l.d >= date '2025-06-04' then 50 else 25 end",
            ),
            part(6, "'99030301'", "SECTION_122", "10"),
            part(9, "l.goods_hts", "GOODS", "l.col1_pct"),
        ]
    )
    return [
        f"""
        create or replace table tariffs as
        with parts as (
          {parts}
        ),
        r as (
          -- IEEPA rates from the headings seed, by heading and entry date; floor headings: 15% - column 1
          select p.*, h.program, coalesce(h.is_exception, false) as is_exception,
            case when p.authority <> 'IEEPA' then p.rate_pct
                 when h.rate_pct is null and h.program = 'reciprocal_floor' then 15 - p.col1_pct
                 else h.rate_pct end as rate
          from parts p
          left join headings h on p.authority = 'IEEPA' and h.hts8 = p.hts
            and p.d between h.effective_from and h.effective_to
        )
        select entry_id, line_no, ordinal, hts, authority, program, is_exception, authority = 'IEEPA' as is_ieepa,
          rate, value,
          case
            -- planted: the filer computed the fentanyl duty at a wrong rate, or a dollar off
            when role = 'duty_mismatch' and line_no = 1 and sort_key = 2 then
              case when role_rank % 2 = 0 then round(value * (rate + 5) * 0.01, 2)
                   else round(value * rate * 0.01, 2) + 1 end
            else round(value * rate * 0.01, 2)
          end::decimal(18, 2) as duty,
          role = 'duty_mismatch' and line_no = 1 and sort_key = 2 as planted_mismatch,
          null::decimal(18, 2) as duty_prev
        from r
        """,
    ]


def _duty_sql(cfg: WorldConfig) -> list[str]:
    return [
        """
        create or replace table entry_duty as
        select entry_id,
          count(*) as tariff_rows,
          count(distinct line_no) as line_count,
          bool_or(is_ieepa) as has_ieepa,
          coalesce(sum(duty) filter (where is_ieepa), 0)::decimal(18, 2) as ieepa_principal,
          coalesce(sum(duty) filter (where not is_ieepa), 0)::decimal(18, 2) as non_ieepa_duty,
          array_to_string(list_sort(list_distinct(list(program) filter (where is_ieepa))), '|') as ieepa_programs,
          bool_or(is_ieepa and is_exception) as has_exception,
          bool_or(authority = 'SECTION_301') as has_301,
          bool_or(authority = 'SECTION_232') as has_232,
          bool_or(authority = 'SECTION_122') as has_122,
          bool_or(authority = 'CHAPTER_98') as has_ch98,
          bool_or(hts in ('99030104', '99030114')) as has_usmca_exempt,
          bool_or(program = 'reciprocal_floor') as has_floor,
          bool_or(planted_mismatch) as planted_mismatch
        from tariffs group by entry_id
        """,
        # several IEEPA rows with duty on one line (e.g. China fentanyl + reciprocal)
        """
        create or replace table multi_program as
        select distinct entry_id from (
          select entry_id, line_no from tariffs where is_ieepa and rate > 0
          group by entry_id, line_no having count(*) >= 2
        )
        """,
        # entries in an ES-003 overlap appear in two exports; a quarter of them (at least 2) were corrected
        # by a PSC between the exports, so the older export carries the older IEEPA amounts
        """
        create or replace table corrected_entries as
        with o as (
          select e.entry_id from entries e join es003_ranges r on e.entry_date between r.lo and r.hi
          group by e.entry_id having count(*) >= 2
        ),
        c as (
          select o.entry_id, row_number() over (order by u(o.entry_id, 'corr'), o.entry_id) as rk, count(*) over () as n
          from o join entry_duty d using (entry_id) where d.ieepa_principal > 0
        )
        select entry_id from c where rk <= greatest(2, ceil(n * 0.25))
        """,
        """
        update tariffs set duty_prev = (duty + round(value * 0.05, 2))::decimal(18, 2)
        where is_ieepa and duty > 0 and entry_id in (select entry_id from corrected_entries)
        """,
    ]


def _liquidation_sql(cfg: WorldConfig) -> list[str]:
    as_of = cfg.as_of
    return [
        f"""
        create or replace table liquidations as
        with s as (
          select e.entry_id, e.role, e.role_rank, e.port, e.entry_summary_date,
            case when e.status <> 'Accepted' then 'none'
                 when e.role = 'suspended' or (e.adcvd and u(e.entry_id, 'susp') < 0.7) then 'Suspended'
                 when e.role = 'extended' then 'Extended'
                 else 'scheduled' end as liq_state,
            case
              when e.role = 'liq_day_80' then date '{as_of}' - 80
              when e.role = 'liq_day_81' then date '{as_of}' - 81
              when e.role like 'protest%' then date '{as_of}' - (20 + hn(e.entry_id, 'pliq', 150))::int
              when e.role = 'drawback' then date '{as_of}' - (10 + hn(e.entry_id, 'dliq', 200))::int
              -- CBP liquidates about 314 days after entry, on its weekly (Friday) cycle
              else next_friday(e.entry_summary_date + (300 + hn(e.entry_id, 'liq', 30))::int)
            end as liq0_raw
          from entries e
        )
        select entry_id, liq_state,
          case when liq_state = 'scheduled' then greatest(liq0_raw, entry_summary_date + 14) end as liq0,
          case when u(entry_id, 'lt') < 0.06 then '2' when u(entry_id, 'lt') < 0.09 then '3' else '1' end
            as orig_type,
          round(25 + 975 * u(entry_id, 'lamt'), 2)::decimal(18, 2) as orig_change,
          case when role like 'protest%' then
            port || '-' || strftime(liq0_raw + 30, '%y') || '-' || lpad(hn(entry_id, 'prot', 1000000)::varchar, 6, '0')
          end as protest_number,
          case role when 'protest_open' then 'Open' when 'protest_suspended' then 'Suspended'
            when 'protest_closed' then 'Closed' end as protest_status,
          role = 'drawback' as drawback,
          u(entry_id, 'final') < 0.85 as shows_final
        from s
        """,
    ]


def _cape_sql(cfg: WorldConfig) -> list[str]:
    as_of = cfg.as_of
    d_lo, d_hi = CAPE_START, as_of - timedelta(days=1)
    span = max(1, (d_hi - d_lo).days + 1)
    active = "true" if d_hi >= d_lo else "false"
    grid = f"""date '{d_lo}' + (7 * ((dc - date '{d_lo}') // 7) + hn(filer_idx, 'wk', 5))::int"""
    return [
        # CBP's entry-level validation at the submission date (docs/DOMAIN.md section 4), first failing rule wins
        """
        create or replace macro cape_error(status, entry_type, has_ieepa, recon, drawback, protest_status,
                                           liq_state, liq0, dq, planted) as
          case
            when status <> 'Accepted' then 'ENTRY SUMMARY IS CANCELLED/REJECTED'
            when entry_type in ('08', '09', '47') or (entry_type in ('21', '22') and dq >= date '2026-07-07')
              then 'ENTRY TYPE NOT ALLOWED'
            when not has_ieepa then 'INVALID HTS'
            when recon and not (dq >= date '2026-06-29' and entry_type in ('01', '02', '06'))
              then 'ENTRY SUMMARY FLAGGED FOR RECON'
            when drawback then 'ENTRY ON DRAWBACK'
            when protest_status in ('Open', 'Suspended') then 'PROTEST ON ENTRY'
            when planted is not null then planted
            when liq_state = 'scheduled' and liq0 < dq and dq - liq0 > 80
              then 'ENTRY SUMMARY IS IN FINAL LIQUIDATION STATUS'
          end
        """,
        f"""
        create or replace table cape_decl_entries as
        with e as (
          select e.entry_id, e.role, e.role_rank, e.filer_idx, e.filer_code, e.status, e.entry_type, e.recon,
            e.adcvd, d.has_ieepa, l.liq_state, l.liq0, l.drawback, l.protest_status
          from entries e join entry_duty d using (entry_id) join liquidations l using (entry_id)
        ),
        c as (
          select e.*,
            case
              when not {active} then false
              when role in ('liq_day_80', 'liq_day_81') or adcvd then false  -- left for the pipeline to judge
              when role = 'duty_mismatch' then true
              when role in {_in(cat.MISTAKE_ROLES)} then role_rank % 2 = 0
              when role = 'outside_post' then role_rank < 2
              when not has_ieepa then false
              -- liquidated more than 80 days before CAPE opened: few filers try
              when liq_state = 'scheduled' and liq0 < date '{d_lo}' - 80 then u(entry_id, 'decl') < 0.15
              else u(entry_id, 'decl') < 0.6
            end as declared,
            case
              when role like 'protest%' then
                least(date '{d_hi}', greatest(date '{d_lo}', liq0 + (5 + hn(entry_id, 'dc', 25))::int))
              when liq_state = 'scheduled' and liq0 between date '{d_lo}' - 80 and date '{d_hi}'
                then least(date '{d_hi}', greatest(date '{d_lo}', liq0 + hn(entry_id, 'dc', 95)::int))
              else date '{d_lo}' + hn(entry_id, 'dc', {span})::int
            end as dc,
            case when role = 'duty_mismatch' and role_rank % 4 = 0 then 'UNABLE TO CALCULATE DUTY'
                 when role = 'duty_mismatch' and role_rank % 4 = 1 then 'HTS RELATIONSHIP MISMATCH' end as planted
          from e
        ),
        q as (
          -- filers declare on a weekly rhythm (one declaration per filer and date); protests keep their date
          select c.*,
            case when role like 'protest%' then dc
                 when {grid} > date '{d_hi}' then greatest(date '{d_lo}', {grid} - 7)
                 else {grid} end as dq
          from c where declared
        ),
        first as (
          select entry_id, filer_idx, filer_code, dq as submission_date, 1 as decl_seq,
            cape_error(status, entry_type, has_ieepa, recon, drawback, protest_status, liq_state, liq0, dq, planted)
              as error
          from q
        ),
        again as (
          -- recon rejections re-filed once the 2026-06-29 rule change accepts recon-flagged 01/02/06
          select q.*, least(date '{d_hi}', date '2026-06-29' + hn(entry_id, 'dc2', 21)::int) as dc2
          from q join first f using (entry_id)
          where f.error = 'ENTRY SUMMARY FLAGGED FOR RECON' and q.entry_type in ('01', '02', '06')
            and date '{d_hi}' >= date '2026-06-29'
        )
        select * from first
        union all
        select entry_id, filer_idx, filer_code, dc2, 2,
          cape_error(status, entry_type, has_ieepa, recon, drawback, protest_status, liq_state, liq0, dc2, null)
        from again
        """,
        f"""
        create or replace table cape_lines as
        with c as (
          select *, (row_number() over (partition by filer_code, submission_date order by entry_id) - 1) // 9999
            as chunk
          from cape_decl_entries
        ),
        decl as (select distinct filer_code, submission_date, chunk from c),
        n as (
          select *, 'CAPE' || strftime(submission_date, '%y%m') || lpad(row_number() over (
            partition by strftime(submission_date, '%y%m') order by submission_date, filer_code, chunk)::varchar,
            6, '0') as declaration_number
          from decl
        ),
        a as (
          select c.entry_id, c.filer_code, c.submission_date, c.decl_seq, c.error, n.declaration_number,
            case when c.error is null then 'Accepted' else 'Rejected' end as cape_status,
            -- accepted entries are (re)liquidated on a later Friday, except suspended/extended ones
            case when c.error is null and l.liq_state = 'scheduled'
              then next_friday(c.submission_date + (14 + hn(c.entry_id, 'L', 21))::int) end as cape_liq_date,
            l.liq0, d.ieepa_principal
          from c join n using (filer_code, submission_date, chunk) join liquidations l using (entry_id)
          join entry_duty d using (entry_id)
        ),
        p as (select *, coalesce(cape_liq_date <= date '{as_of}', false) as processed from a)
        select p.* exclude (ieepa_principal),
          -- reliquidation (5) when the entry had liquidated, else liquidation (3); no change (8 / 1) when
          -- every IEEPA line was a 0% exception
          case when not processed then null
               when ieepa_principal = 0 then case when liq0 < cape_liq_date then '8' else '1' end
               when liq0 < cape_liq_date then '5' else '3' end as cape_liq_type
        from p
        """,
    ]


def _interest_sql(cfg: WorldConfig) -> list[str]:
    return [
        """
        create or replace table interest_calc as
        with b as (
          select c.entry_id, e.entry_date, e.deposit_date, c.cape_liq_date as end_date, e.is_corporate,
            d.ieepa_principal as principal
          from cape_lines c join entries e using (entry_id) join entry_duty d using (entry_id)
          where c.processed
        ),
        s as (
          select entry_id, 'deposit' as start_kind, deposit_date as s, end_date, is_corporate from b
          union all
          select entry_id, 'entry', entry_date, end_date, is_corporate from b
        ),
        seg as (
          -- one segment per quarter: its own rate, days = segment end - segment start, leap-year divisor
          select s.entry_id, s.start_kind, q.q_start,
            least(s.end_date, q.q_end + 1) - greatest(s.s, q.q_start) as days,
            (case when s.is_corporate then q.corp_pct else q.noncorp_pct end)::double / 100 / yd(q.q_start) as r
          from s join rates q on q.q_start < s.end_date and q.q_end >= s.s
        ),
        a as (
          select entry_id, start_kind,
            -- ordered list products keep the floating-point result independent of thread scheduling
            list_reduce(list(pow(1 + r, days) order by q_start), lambda x, y: x * y) as factor,
            list_sum(list(r * days order by q_start)) as simple_sum,
            arg_min(r, q_start) as r0,
            sum(days) as total_days
          from seg group by entry_id, start_kind
        )
        select b.*,
          round(b.principal * (dep.factor - 1), 2)::decimal(18, 2) as interest_cbp,
          round(b.principal * (ent.factor - 1), 2)::decimal(18, 2) as interest_entry_date,
          round(b.principal * (pow(1 + dep.r0, dep.total_days) - 1), 2)::decimal(18, 2) as interest_single_rate,
          round(b.principal * dep.simple_sum, 2)::decimal(18, 2) as interest_simple
        from b
        join a dep on dep.entry_id = b.entry_id and dep.start_kind = 'deposit'
        join a ent on ent.entry_id = b.entry_id and ent.start_kind = 'entry'
        """,
    ]


def _variance_sql(ranges: list[tuple[str, int, int]]) -> list[str]:
    vals = ", ".join(f"('{k}', {lo}, {hi})" for k, lo, hi in ranges) or "('none', 0, -1)"
    return [
        f"""
        create or replace table cape_refund_entries as
        with r as (
          select i.*, row_number() over (order by u(i.entry_id, 'var'), i.entry_id) as rk
          from interest_calc i where i.principal > 0
        ),
        k as (
          select i.*, v.kind
          from interest_calc i
          left join r using (entry_id)
          left join (values {vals}) v(kind, lo, hi) on r.rk between v.lo and v.hi
        )
        select entry_id, principal, interest_cbp as expected_interest, kind,
          case when kind = 'principal_short_pay'
            then principal - round(principal * (0.05 + 0.1 * u(entry_id, 'short')), 2)
            else principal end::decimal(18, 2) as stated_principal,
          case kind
            when 'interest_entry_date_as_deposit' then interest_entry_date
            when 'interest_single_rate' then interest_single_rate
            when 'interest_simple' then interest_simple
            when 'interest_unexplained' then interest_cbp
              -- a short or long pay; never below zero (CBP pays no negative interest)
              + (case when u(entry_id, 'sign') < 0.5 and interest_cbp > (1 + hn(entry_id, 'unx', 4900)) / 100
                  then -1 else 1 end) * (1 + hn(entry_id, 'unx', 4900)) / 100
            else interest_cbp end::decimal(18, 2) as stated_interest
        from k
        """,
    ]


def _refunds_sql(cfg: WorldConfig) -> list[str]:
    as_of = cfg.as_of
    return [
        # consolidated by importer and (re)liquidation date: one refund can span several declarations
        f"""
        create or replace table refunds as
        with a as (
          select c.entry_id, c.cape_liq_date, e.imp_id, e.importer_number, i.form_4811_payee,
            r.stated_principal, r.stated_interest
          from cape_lines c join entries e using (entry_id) join importers i using (imp_id)
          join cape_refund_entries r using (entry_id)
          where c.processed and r.principal > 0  -- nothing to pay when every IEEPA line was a 0% exception
        ),
        g as (
          select imp_id, importer_number, coalesce(any_value(form_4811_payee), importer_number) as payee_number,
            cape_liq_date as refund_date,
            sum(stated_principal)::decimal(18, 2) as principal, sum(stated_interest)::decimal(18, 2) as interest,
            count(*) as entry_count
          from a group by imp_id, importer_number, cape_liq_date
        ),
        n as (
          select g.*,
            'RF' || strftime(refund_date, '%y%m%d') || lpad(row_number() over (
              partition by refund_date order by importer_number)::varchar, 5, '0') as refund_number,
            refund_date + (1 + hash({cfg.seed}, imp_id, refund_date, 'sent') % 4)::int as sent_date
          from g
        )
        select n.*, (principal + interest)::decimal(18, 2) as gross,
          sent_date + (3 + hash({cfg.seed}, imp_id, refund_date, 'iss') % 6)::int as issued_date,
          case when sent_date > date '{as_of}' then 'Transmitted'
               when sent_date + (3 + hash({cfg.seed}, imp_id, refund_date, 'iss') % 6)::int > date '{as_of}'
                 then 'Sent to Treasury'
               else 'Treasury Issued' end as refund_status
        from n
        """,
        """
        create or replace table refund_entries as
        select c.entry_id, f.refund_number from cape_lines c join entries e using (entry_id)
        join cape_refund_entries r using (entry_id)
        join refunds f on f.imp_id = e.imp_id and f.refund_date = c.cape_liq_date
        where c.processed and r.principal > 0
        """,
        """
        create or replace table meta as
        select coalesce(min(refund_date) + ((max(refund_date) - min(refund_date)) // 2)::int, date '2026-08-15')
          as rev603_split
        from refunds
        """,
    ]


def _offsets_sql(cfg: WorldConfig) -> list[str]:
    seed = cfg.seed
    agencies = _lit(cat.TREASURY_AGENCIES)
    return [
        # debtors: a few importers with refunds, preferring those with refunds on both sides of the REV-603
        # split. Picks 1-3 owe from the split, so the export with offset columns shows every offset type and
        # the spanning CBP debt's bill on two refunds; every fourth pick owes from CAPE's start, so the export
        # without offset columns shows diverted funds too.
        f"""
        create or replace table debts as
        with r as (
          select imp_id, refund_number, refund_date, gross, refund_date < (select rev603_split from meta) as early
          from refunds
        ),
        pick as (
          select imp_id, row_number() over (order by bool_or(early) and bool_or(not early) desc,
              count(*) >= 2 desc, hash({seed}, imp_id, 'debt'), imp_id) as dk,
            count(*) over () as n_imp
          from r group by imp_id
        ),
        d as (
          select imp_id, dk,
            case when dk % 4 = 0 then date '{CAPE_START}' else (select rev603_split from meta) end as debt_date
          from pick where dk <= greatest(4, round(n_imp * 0.1))
        ),
        g as (
          -- the first two refunds the debt can reach size it
          select d.imp_id, d.dk, d.debt_date,
            max(r.gross) filter (where r.k = 1) as g1, max(r.gross) filter (where r.k = 2) as g2
          from d join (
            select r.*, row_number() over (partition by r.imp_id order by r.refund_date, r.refund_number) as k
            from r join d using (imp_id) where r.refund_date >= d.debt_date
          ) r using (imp_id)
          group by d.imp_id, d.dk, d.debt_date
        )
        -- dk % 4: 1 = CBP debt spanning two refunds, 2 = TOP (IRS), 3 = Treasury debt, 0 = CBP debt + TOP
        select imp_id, debt_date, 1 as debt_seq,
          case dk % 4 when 1 then 'CBP Debt' when 2 then 'TOP' when 3 then 'Treasury Debt' else 'CBP Debt' end
            as offset_type,
          case when dk % 4 in (0, 1) then lpad((hash({seed}, imp_id, 'bill') % 10000000000)::varchar, 10, '0') end
            as debt_reference,
          case dk % 4 when 2 then 'IRS' when 3 then {agencies}[1 + (hash({seed}, imp_id, 'ag') % 4)::bigint] end
            as agency,
          round(case dk % 4 when 1 then g1 + coalesce(g2 * 0.5, g1 * 0.4) when 2 then g1 * 0.3
                     when 3 then g1 * 0.45 else g1 * 0.2 end, 2)::decimal(18, 2) as amount
        from g where g1 > 0
        union all
        select imp_id, debt_date, 2, 'TOP', null, 'IRS', round(g1 * 0.25, 2)::decimal(18, 2)
        from g where dk % 4 = 0 and g1 > 0
        """,
        # debts take refunds in order: the overlap of the cumulative intervals is the offset
        """
        create or replace table offsets as
        with r as (
          select f.imp_id, f.refund_number, f.refund_date, f.gross,
            sum(f.gross) over (partition by f.imp_id order by f.refund_date, f.refund_number) as g_hi
          from refunds f join (select distinct imp_id, debt_date from debts) dd using (imp_id)
          where f.refund_date >= dd.debt_date
        ),
        d as (
          select *, sum(amount) over (partition by imp_id order by debt_seq) as d_hi from debts
        )
        select r.refund_number, d.offset_type, d.debt_reference, d.agency, d.debt_seq,
          (least(r.g_hi, d.d_hi) - greatest(r.g_hi - r.gross, d.d_hi - d.amount))::decimal(18, 2) as amount
        from r join d using (imp_id)
        where least(r.g_hi, d.d_hi) > greatest(r.g_hi - r.gross, d.d_hi - d.amount)
        """,
    ]


def _ach_sql(cfg: WorldConfig) -> list[str]:
    seed, as_of = cfg.seed, cfg.as_of
    ne = _lit(c for c, _ in cat.ACH_NOT_ENROLLED)
    ne_t = _lit(t for _, t in cat.ACH_NOT_ENROLLED)
    ot = _lit(c for c, _ in cat.ACH_OTHER)
    ot_t = _lit(t for _, t in cat.ACH_OTHER)
    return [
        f"""
        create or replace table ach_returns as
        with r as (
          select f.*, i.ach_enrolled,
            f.issued_date + (2 + hash({seed}, f.refund_number, 'ret') % 4)::int as return_date,
            row_number() over (
              partition by i.ach_enrolled order by hash({seed}, f.refund_number, 'achr'), f.refund_number) as rk,
            count(*) over (partition by i.ach_enrolled) as n
          from refunds f join importers i using (imp_id)
          where f.refund_status = 'Treasury Issued'
            and f.refund_number not in (select refund_number from offsets)
        ),
        x as (
          select *, (hash({seed}, refund_number, 'code') % 3 + 1)::bigint as ci from r
          where return_date <= date '{as_of}' and (not ach_enrolled or rk <= greatest(2, round(n * 0.03)))
        )
        select refund_number, imp_id, gross as amount, return_date, ach_enrolled,
          case when ach_enrolled then {ot}[ci] else {ne}[ci] end as reason_code,
          case when ach_enrolled then {ot_t}[ci] else {ne_t}[ci] end as reason,
          ach_enrolled and return_date + 10 <= date '{as_of}' and u(refund_number, 'reiss') < 0.6
            as reissued
        from x
        """,
    ]


def _report_tables_sql(cfg: WorldConfig) -> list[str]:
    as_of = cfg.as_of
    return [
        f"""
        create or replace table es701_rows as
        with c as (select * from cape_lines where processed)
        -- the scheduled liquidation, unless CAPE liquidated the entry first
        select e.entry_id, l.liq0 as liquidation_date, l.orig_type as liquidation_type_code,
          null as liquidation_reason_code,
          case when c.entry_id is null and date '{as_of}' - l.liq0 > 180 and l.shows_final then 'Final'
               else 'Liquidated' end as liquidation_status,
          case l.orig_type when '1' then 0 when '2' then l.orig_change else -l.orig_change end::decimal(18, 2)
            as net_duty_change_amount,
          null::decimal(18, 2) as interest_amount,
          l.protest_number, l.protest_status,
          case when l.drawback then 'Y' else 'N' end as drawback_indicator
        from entries e join liquidations l using (entry_id) left join c using (entry_id)
        where l.liq_state = 'scheduled' and l.liq0 <= date '{as_of}'
          and (c.entry_id is null or l.liq0 < c.cape_liq_date)
        union all
        select e.entry_id, null, null, null, l.liq_state, null, null, l.protest_number, l.protest_status,
          case when l.drawback then 'Y' else 'N' end
        from entries e join liquidations l using (entry_id)
        where l.liq_state in ('Suspended', 'Extended')
        union all
        -- CAPE: reliquidation (type 5) or liquidation (type 3) with reason 36, principal out, interest paid
        select c.entry_id, c.cape_liq_date, c.cape_liq_type, '36',
          case when c.cape_liq_type in ('5', '8') then 'Reliquidated' else 'Liquidated' end,
          -r.stated_principal, r.stated_interest, null, null, 'N'
        from c join cape_refund_entries r using (entry_id)
        """,
    ]


def _truth_sql(cfg: WorldConfig, quirks: bool) -> list[str]:
    as_of = cfg.as_of
    quirk_tags = (
        """
            case when s.in_overlap then 'es003_overlap' end,
            case when s.corrected then 'es003_corrected_in_newer_export' end,"""
        if quirks
        else ""
    )
    return [
        f"""
        create or replace table truth_entries as
        with ov as (
          select e.entry_id from entries e join es003_ranges r on e.entry_date between r.lo and r.hi
          group by e.entry_id having count(*) >= 2
        ),
        cl as (
          -- the latest declaration of the entry
          select * from cape_lines qualify row_number() over (partition by entry_id order by decl_seq desc) = 1
        ),
        acc as (select * from cape_lines where cape_status = 'Accepted'),
        base as (
          select e.*, d.* exclude (entry_id), l.liq_state, l.liq0, l.protest_number, l.protest_status, l.drawback,
            l.shows_final,
            cl.declaration_number, cl.submission_date, cl.cape_status, cl.error, cl.decl_seq,
            acc.entry_id is not null as accepted, acc.cape_liq_date, acc.processed, acc.cape_liq_type,
            re.refund_number, r.stated_principal, r.stated_interest, r.expected_interest, r.kind as variance_kind,
            i.form_4811_payee, f.refund_status,
            pf.imp_id is null as filer_not_in_profile,
            f.refund_number in (select refund_number from offsets) as offset_applied,
            ar.refund_number is not null as ach_returned, coalesce(ar.reissued, false) as ach_reissued,
            date '{as_of}' - l.liq0 as liq_age,
            ov.entry_id is not null as in_overlap,
            e.entry_id in (select entry_id from corrected_entries) as corrected
          from entries e
          left join ov using (entry_id)
          left join importer_filers pf on pf.imp_id = e.imp_id and pf.filer_code = e.filer_code
          join entry_duty d using (entry_id)
          join liquidations l using (entry_id)
          join importers i on i.imp_id = e.imp_id
          left join cl using (entry_id)
          left join acc using (entry_id)
          left join cape_refund_entries r using (entry_id)
          left join refund_entries re using (entry_id)
          left join refunds f on f.refund_number = re.refund_number
          left join ach_returns ar on ar.refund_number = re.refund_number
        ),
        s as (
          select b.*,
            case
              when b.status <> 'Accepted' then null
              when b.processed and b.cape_liq_type in ('5', '8') then 'Reliquidated'
              when b.processed then 'Liquidated'
              when b.liq_state in ('Suspended', 'Extended') then b.liq_state
              when b.liq0 <= date '{as_of}' and b.liq_age > 180 and b.shows_final then 'Final'
              when b.liq0 <= date '{as_of}' then 'Liquidated'
              else 'Unliquidated'
            end as liquidation_status,
            -- liquidated as of as_of, before any CAPE action (the original notice)
            b.liq_state = 'scheduled' and b.liq0 <= date '{as_of}'
              and not (coalesce(b.processed, false) and b.liq0 >= b.cape_liq_date) as orig_liquidated
          from base b
        )
        select s.entry_number, s.importer_number, s.filer_code, s.port as port_of_entry_code, s.entry_type,
          s.entry_date, s.entry_summary_date, s.status as summary_status, s.statement_payment_date,
          s.deposit_date, s.line_count, s.tariff_rows, case when s.has_ieepa then 'Y' else 'N' end as has_ieepa_line,
          s.ieepa_principal, s.non_ieepa_duty, s.ieepa_programs,
          s.liquidation_status,
          case when s.orig_liquidated then s.liq0 end as liquidation_date,
          case when s.orig_liquidated then s.liq_age end as days_since_liquidation,
          case when s.processed then s.cape_liq_date end as cape_liquidation_date,
          s.protest_number, s.protest_status,
          case when s.drawback then 'Y' else 'N' end as drawback_flag,
          case when s.recon then 'Y' else 'N' end as recon_flag,
          case when s.adcvd then 'Y' else 'N' end as adcvd_flag,
          s.declaration_number as cape_declaration_number, s.submission_date as cape_submission_date,
          s.cape_status, s.error as cape_error,
          s.refund_number, s.stated_principal as refund_principal, s.stated_interest as refund_interest,
          s.expected_interest,
          -- the generator's reading of the CAPE rules for a declaration filed on as_of
          case
            when s.accepted then 'ALREADY_ACCEPTED'
            when s.status <> 'Accepted' then 'CANCELLED_OR_REJECTED'
            when s.entry_type in ('08', '09', '47')
              or (s.entry_type in ('21', '22') and date '{as_of}' >= date '2026-07-07') then 'ENTRY_TYPE'
            when not s.has_ieepa then 'NO_IEEPA_LINE'
            when s.recon and not (date '{as_of}' >= date '2026-06-29' and s.entry_type in ('01', '02', '06'))
              then 'RECON'
            when s.drawback then 'DRAWBACK'
            when s.protest_status in ('Open', 'Suspended') then 'PROTEST'
            when s.adcvd and (s.liq_state = 'Suspended' or not s.orig_liquidated) then 'ADCVD_PENDING'
            when s.orig_liquidated and s.liq_age > 80 then 'LIQUIDATED_OVER_80_DAYS'
          end as cape_ineligible_reason,
          case when cape_ineligible_reason is null then 'Y' else 'N' end as cape_eligible_as_of,
          array_to_string(list_filter([
            case when s.entry_date not between date '2025-02-04' and date '2026-02-23' then 'outside_window' end,
            case when s.entry_date between date '2025-02-04' and date '2026-02-23' and not s.has_ieepa
              then 'no_ieepa_line' end,
            case when s.entry_type in ('08', '09', '47') then 'excluded_entry_type' end,
            case when s.entry_type in ('21', '22') then 'warehouse_entry' end,
            case when s.entry_type in ('31', '32', '34', '38') then 'warehouse_withdrawal' end,
            case when s.status = 'Cancelled' then 'summary_cancelled' end,
            case when s.status = 'Rejected' then 'summary_rejected' end,
            case when s.recon then 'recon_flagged' end,
            case when s.adcvd then 'adcvd' end,
            case when s.drawback then 'drawback' end,
            case when s.protest_status is not null then 'protest_' || lower(s.protest_status) end,
            case when s.statement_payment_date is not null then 'periodic_statement' end,
            case when s.entry_id in (select entry_id from multi_program) then 'multi_ieepa_program' end,
            case when s.has_exception then 'ieepa_exception_0pct' end,
            case when s.has_floor then 'reciprocal_floor' end,
            case when s.has_301 then 'section_301_stacked' end,
            case when s.has_232 then 'section_232_stacked' end,
            case when s.has_122 then 'section_122_line' end,
            case when s.has_ch98 then 'chapter_98_line' end,
            case when s.has_usmca_exempt then 'usmca_exempt_line' end,
            case when s.role = 'usmca_fentanyl_paid' then 'usmca_fentanyl_paid' end,
            case when s.planted_mismatch then 'duty_rate_mismatch' end,{quirk_tags}
            case when s.status = 'Accepted' and s.liquidation_status = 'Unliquidated' then 'unliquidated' end,
            case when s.orig_liquidated and s.liq_age < 80 then 'liq_within_80' end,
            case when s.orig_liquidated and s.liq_age = 80 then 'liq_day_80' end,
            case when s.orig_liquidated and s.liq_age = 81 then 'liq_day_81' end,
            case when s.orig_liquidated and s.liq_age between 82 and 180 then 'liq_82_to_180' end,
            case when s.orig_liquidated and s.liq_age > 180 then 'liq_beyond_180' end,
            case when s.liquidation_status = 'Final' then 'liq_final_status' end,
            case when s.liq_state = 'Suspended' and s.status = 'Accepted' then 'liq_suspended' end,
            case when s.liq_state = 'Extended' and s.status = 'Accepted' then 'liq_extended' end,
            case when s.accepted and s.processed then 'cape_accepted' end,
            case when s.accepted and not s.processed then 'cape_accepted_pending' end,
            case when s.cape_status = 'Rejected' or (s.accepted and s.decl_seq = 2) then 'cape_rejected' end,
            case when s.decl_seq = 2 then 'cape_redeclared_after_rule_change' end,
            case when s.processed and s.cape_liq_type in ('5', '8') then 'cape_reliquidated' end,
            case when s.processed and s.cape_liq_type in ('3', '1') then 'cape_liquidated' end,
            case when s.processed and s.cape_liq_type in ('8', '1') then 'cape_nothing_to_refund' end,
            case when s.offset_applied then 'refund_offset' end,
            case when s.ach_returned then 'ach_returned' end,
            case when s.ach_reissued then 'ach_reissued' end,
            case when s.refund_number is not null and s.form_4811_payee is not null then 'form_4811_payee' end,
            case when s.variance_kind is not null and (s.stated_interest <> s.expected_interest
              or s.stated_principal <> s.ieepa_principal) then 'variance_' || s.variance_kind end,
            case when s.filer_not_in_profile then 'filer_not_in_profile' end
          ], lambda x: x is not null), '|') as scenario_tags
        from s
        """,
        """
        create or replace table truth_variances as
        select re.refund_number, e.entry_number, r.kind,
          case when r.kind = 'principal_short_pay' then r.stated_principal else r.stated_interest end
            as stated_amount,
          case when r.kind = 'principal_short_pay' then r.principal else r.expected_interest end
            as expected_amount,
          (stated_amount - expected_amount)::decimal(18, 2) as amount
        from cape_refund_entries r join entries e using (entry_id) join refund_entries re using (entry_id)
        where r.kind is not null
          and (r.stated_interest <> r.expected_interest or r.stated_principal <> r.principal)
        """,
        """
        create or replace table truth_offsets as
        select o.refund_number, f.importer_number, o.offset_type, o.debt_reference, o.agency, o.debt_seq, o.amount
        from offsets o join refunds f using (refund_number)
        """,
        """
        create or replace table truth_refunds as
        with o as (select refund_number, sum(amount)::decimal(18, 2) as offset_total from offsets group by 1)
        select f.refund_number, f.importer_number, f.payee_number, f.refund_date, f.refund_status,
          f.entry_count, f.principal, f.interest, f.gross, coalesce(o.offset_total, 0)::decimal(18, 2) as offset_total,
          (f.gross - coalesce(o.offset_total, 0))::decimal(18, 2) as net,
          case when a.refund_number is null then 'N' else 'Y' end as ach_returned
        from refunds f left join o using (refund_number) left join ach_returns a using (refund_number)
        """,
    ]


def _variance_ranges(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    (n,) = con.execute("select count(*) from interest_calc where principal > 0").fetchone()
    counts = [(k, max(m, round(n * s))) for k, s, m in cat.VARIANCES]
    if sum(c for _, c in counts) > n // 2:
        counts = [(k, n // (2 * len(counts))) for k, _, _ in cat.VARIANCES]
    out, lo = [], 1
    for k, c in counts:
        if c > 0:
            out.append((k, lo, lo + c - 1))
            lo += c
    return out


def build_world(con: duckdb.DuckDBPyConnection, cfg: WorldConfig, quirks: bool) -> None:
    ref_sql, ctry_tot, goods_tot = _reference_sql(cfg)
    steps = [
        *ref_sql,
        *_parties_sql(cfg),
        *_entries_sql(cfg, ctry_tot),
        *_lines_sql(cfg, ctry_tot, goods_tot),
        *_tariffs_sql(cfg),
        *_duty_sql(cfg),
        *_liquidation_sql(cfg),
        *_cape_sql(cfg),
        *_interest_sql(cfg),
    ]
    for sql in steps:
        con.execute(sql)
    _check_world(con, cfg)
    for sql in [
        *_variance_sql(_variance_ranges(con)),
        *_refunds_sql(cfg),
        *_offsets_sql(cfg),
        *_ach_sql(cfg),
        *_report_tables_sql(cfg),
        *_truth_sql(cfg, quirks),
    ]:
        con.execute(sql)


def _check_world(con: duckdb.DuckDBPyConnection, cfg: WorldConfig) -> None:
    """Fail loudly when the world contradicts itself (a heading without a rate, a lost line)."""
    (missing,) = con.execute("select count(*) from tariffs where rate is null").fetchone()
    if missing:
        bad = con.execute(
            "select distinct t.hts, min(l.d) from tariffs t join lines l using (entry_id, line_no) "
            "where t.rate is null group by 1 limit 5"
        ).fetchall()
        raise RuntimeError(f"{missing} tariff rows without a rate in the headings seed, e.g. {bad}")
    lines, expected = con.execute("select (select count(*) from lines), (select sum(n_lines) from entries)").fetchone()
    if lines != expected:
        raise RuntimeError(f"lines: {lines} rows, expected {expected}")
    (max_q,) = con.execute("select max(q_end) from rates").fetchone()
    if cfg.as_of > max_q:
        raise ValueError(f"as_of {cfg.as_of} is beyond the last interest-rate quarter ({max_q})")
