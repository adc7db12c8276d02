"""The interest mart against independent reference values.

The reference here is plain Python ``Decimal`` at 50 significant digits, written from docs/DOMAIN.md section 5 and
26 CFR 301.6622-1, not from the SQL: split the period at each quarter start, compound each segment at its quarter's
rate / 365 (366 in a leap year) with ``(1 + r) ** days`` (no intermediate rounding), carry the balance, round to
cents once. It is checked against the published figures first (the regulation's 1,424.66 -> 1,462.62, the
56/91/92/91-day split), then compared with what the dbt models produce:

- on a tiny real warehouse (``ensure_warehouse`` + raw rows + the real dbt project), with the 2025Q1 rate
  overridden to 16% so the regulation's example runs through the SQL, a leap-year period, a five-quarter period
  with rate changes, $50,000,000 principals, and CBP figures planted to exercise the diagnosis end to end;
- factor by factor: every row of the daily compounding and growth tables against Decimal, with the worst error
  measured and every factor rounding to the same cent as Decimal on principals up to $99,999,999.99;
- on the bundled sample run through the command line: every refundable entry has its interest and segments, every
  figure equals the Decimal reference and the generator's own, and the diagnosis finds every planted variance.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal, getcontext
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from pipelines.reports import build_run_report
from pipelines.transform.mart_metadata import KEY_FIGURES, figures_for
from pipelines.warehouse.schema import ensure_warehouse
from tests.conftest import PROJECT_ROOT, entry_number

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

getcontext().prec = 50

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SAMPLE = PROJECT_ROOT / "data" / "sample"
CENT = Decimal("0.01")
AS_OF = "2026-11-20"


# --------------------------------------------------------------------------------------------------------------
# The independent reference
# --------------------------------------------------------------------------------------------------------------


def _seed_rates() -> dict[dt.date, dict]:
    """The interest-rate seed as data: quarter start -> row (the file, not the models)."""
    with (DBT_PROJECT / "seeds" / "interest_rates.csv").open(newline="", encoding="utf-8") as f:
        return {dt.date.fromisoformat(r["quarter_start"]): r for r in csv.DictReader(f)}


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter_start(day: dt.date) -> dt.date:
    q = quarter_start(day)
    return dt.date(q.year + 1, 1, 1) if q.month == 10 else dt.date(q.year, q.month + 3, 1)


def split_days(deposit: dt.date, end: dt.date) -> list[tuple[dt.date, int]]:
    """docs/DOMAIN.md section 5: split at each quarter start; a segment counts (segment end - segment start) days."""
    segments, start = [], deposit
    while start < end:
        stop = min(end, next_quarter_start(start))
        segments.append((quarter_start(start), (stop - start).days))
        start = stop
    return segments


def daily_rate(annual_pct: Decimal, year: int) -> Decimal:
    return annual_pct / 100 / (366 if calendar.isleap(year) else 365)


def compound(principal: Decimal, deposit: dt.date, end: dt.date, pct_of) -> Decimal:
    """Unrounded balance after daily compounding, the balance carried across quarters."""
    balance = principal
    for q, days in split_days(deposit, end):
        balance *= (1 + daily_rate(pct_of(q), q.year)) ** days
    return balance


def cbp_interest(principal, deposit, end, pct_of) -> Decimal:
    return (compound(principal, deposit, end, pct_of) - principal).quantize(CENT, ROUND_HALF_UP)


def simple_interest(principal, deposit, end, pct_of) -> Decimal:
    total = sum(principal * daily_rate(pct_of(q), q.year) * days for q, days in split_days(deposit, end))
    return Decimal(total).quantize(CENT, ROUND_HALF_UP)


def rates(column: str, overrides: dict | None = None):
    table = _seed_rates()
    overrides = overrides or {}

    def pct_of(q: dt.date) -> Decimal:
        # past the table, its last quarter's rates carry forward (status ASSUMED, flagged in the marts)
        return Decimal(overrides.get((q, column)) or (table.get(q) or table[max(table)])[column])

    return pct_of


NONCORP = "overpayment_noncorporate_pct"
CORP = "overpayment_corporate_pct"
OVER_10K = "irs_corporate_overpayment_over_10k_pct"


def test_reference_reproduces_the_regulation_example():
    # 26 CFR 301.6622-1: 1,424.66 x (1 + 0.16/365)^60 = 1,462.62
    balance = Decimal("1424.66") * (1 + Decimal("0.16") / 365) ** 60
    assert balance.quantize(CENT, ROUND_HALF_UP) == Decimal("1462.62")
    sixteen = rates(NONCORP, {(dt.date(2025, 1, 1), NONCORP): "16"})
    assert cbp_interest(Decimal("1424.66"), dt.date(2025, 1, 10), dt.date(2025, 3, 11), sixteen) == Decimal("37.96")


def test_reference_day_split():
    # docs/DOMAIN.md section 5: deposit 2025-02-04, end 2025-12-31 gives 56, 91, 92 and 91 days
    assert [d for _, d in split_days(dt.date(2025, 2, 4), dt.date(2025, 12, 31))] == [56, 91, 92, 91]
    assert sum(d for _, d in split_days(dt.date(2025, 2, 4), dt.date(2025, 12, 31))) == 330
    # a leap year: 2024Q1 has 91 days, and its daily rate divides by 366
    assert [d for _, d in split_days(dt.date(2024, 1, 1), dt.date(2024, 4, 1))] == [91]
    assert abs(daily_rate(Decimal(8), 2024) * 366 - Decimal("0.08")) < Decimal("1e-45")
    assert abs(daily_rate(Decimal(7), 2025) * 365 - Decimal("0.07")) < Decimal("1e-45")


# --------------------------------------------------------------------------------------------------------------
# A tiny warehouse through the real dbt project
# --------------------------------------------------------------------------------------------------------------

NC, CO, NOBODY = "11-1111111NC", "22-2222222CO", "33-3333333ZZ"


def _entry(serial: int) -> str:
    return entry_number("T1X", serial, dashed=False)


R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = (_entry(n) for n in range(1, 11))
N1, N2, N3, N4 = (_entry(n) for n in range(21, 25))
SIXTEEN = {(dt.date(2025, 1, 1), NONCORP): "16"}  # the regulation's rate, in 2025Q1 (a year of 365 days)
D = dt.date.fromisoformat

# entry, importer, principal, entry date, summary date, statement payment date, CAPE (re)liquidation date (ES-701
# reason 36)
CASES = {
    R1: (NC, "1424.66", "2025-01-03", "2025-01-06", "2025-01-10", "2025-03-11"),  # the regulation: 60 days at 16%
    R2: (CO, "25000.00", "2025-01-28", "2025-01-31", "2025-02-04", "2025-12-31"),  # REFERENCE: 56/91/92/91, corporate
    R3: (NC, "100000.00", "2024-02-01", "2024-02-05", "2024-02-10", "2024-09-15"),  # leap year: / 366
    R4: (NC, "50000000.00", "2025-10-01", "2025-10-06", "2025-11-15", "2026-11-20"),  # 5 quarters, 7% -> 6% -> 7%
    R5: (NOBODY, "50000000.00", "2025-02-03", "2025-02-04", None, None),  # no profile, no statement, not filed
    R6: (NC, "10000.00", "2025-06-10", "2025-06-16", None, "2026-06-12"),  # CBP pays to its payment date
    R7: (NC, "5000.00", "2025-08-01", "2025-08-05", "2025-08-15", None),  # ES-701 without reason codes
    R8: (NC, "20000.00", "2025-11-03", "2025-11-05", "2025-11-14", "2026-09-30"),  # refund held, still held
    R9: (NC, "20000.00", "2025-11-03", "2025-11-05", "2025-11-14", "2026-09-30"),  # refund held 31 days, reissued
    R10: (NC, "1000.00", "2026-03-02", "2026-03-04", "2026-03-16", None),  # estimated end in 2027Q1 (UNVERIFIED)
    # CBP figures planted near a reading (N1: 0.70 from one, the case CBP's deterministic figure rules out)
    N1: (NC, "10000.00", "2025-05-02", "2025-05-06", "2025-05-15", "2026-06-12"),
    N2: (NC, "10000.00", "2025-05-02", "2025-05-06", "2025-05-15", "2026-06-12"),
    N3: (NC, "10000.00", "2025-05-02", "2025-05-06", "2025-05-15", "2026-06-12"),
    N4: (NC, "10000.00", "2025-05-02", "2025-05-06", "2025-05-15", "2026-06-12"),
}
# REV-615 sent-to-Treasury dates: each makes a refund RF-<n> (REV-615; REV-603 too unless the refund was held)
PAYMENT = {
    R4: "2026-11-20",
    R6: "2026-06-15",
    R8: "2026-06-05",
    R9: "2026-06-05",
    **dict.fromkeys((N1, N2, N3, N4), "2026-06-16"),
}
# ES-022 acceptances, and ES-701 rows of an export without the optional reason-code column (R7: the liquidation
# before the acceptance is an ordinary one, the one after it is CAPE's)
ACCEPTED = {R7: "2026-05-01", R10: "2026-11-19"}
NO_REASON_CODE_LIQUIDATIONS = {R7: ["2026-02-10", "2026-06-20"]}
# REV-613 ACH returns: return date, hold status, when the export showing it was saved (a release's only date)
HOLDS = {
    R8: ("2026-06-10", "Held - ACH Enrollment Required", "2026-11-20 06:00:00"),
    R9: ("2026-07-01", "Released - Reissued", "2026-08-01 06:00:00"),
}
ESTIMATED_LIQUIDATION_DAYS = 45  # dbt_project.yml var estimated_liquidation_days_after_acceptance
READING_ORDER = [  # docs/DOMAIN.md section 5 readings, in the documented order of the diagnosis
    "accrued_while_ach_held",
    "entry_date_as_deposit_date",
    "payment_date_as_end_date",
    "single_rate_whole_period",
    "simple_not_compound",
    "vendor_tier_applied",
    "other_rate_column",
]


def _refund(entry: str) -> str:
    return f"RF-{list(CASES).index(entry) + 1}"


def _period(entry: str) -> tuple[dt.date, dt.date, tuple[dt.date, dt.date | None] | None]:
    """Deposit date, end date and ACH hold, from the case alone (docs/DOMAIN.md section 5, 19 U.S.C. 1505(d))."""
    _, _, _, summary, statement, liquidation = CASES[entry]
    deposit = D(statement or summary)
    if liquidation:
        end = D(liquidation)
    elif entry in NO_REASON_CODE_LIQUIDATIONS:
        end = max(D(d) for d in NO_REASON_CODE_LIQUIDATIONS[entry] if D(d) > D(ACCEPTED[entry]))
    elif entry in ACCEPTED:
        end = max(D(ACCEPTED[entry]) + dt.timedelta(days=ESTIMATED_LIQUIDATION_DAYS), D(AS_OF))
    else:
        end = D(AS_OF)
    hold = None
    if entry in HOLDS:
        start, status, export = HOLDS[entry]
        hold = (D(start), dt.datetime.fromisoformat(export).date() if status.startswith("Released") else None)
    return deposit, end, hold


def _accrual_parts(start: dt.date, end: dt.date, hold) -> list[tuple[dt.date, dt.date]]:
    """The period less the hold: no interest accrues while the refund is held."""
    if hold is None:
        return [(start, end)]
    held_from, held_to = hold
    parts = [(start, min(end, held_from))]
    if held_to is not None:
        parts.append((max(start, held_to), end))
    return [(s, e) for s, e in parts if s < e]


def _compound_parts(principal: Decimal, parts, pct_of) -> Decimal:
    balance = principal
    for s, e in parts:  # the balance is carried across the hold unchanged
        balance = compound(balance, s, e, pct_of)
    return balance


def _pct(entry: str, other: bool = False):
    corporate = CASES[entry][0] == CO  # NOBODY has no profile: the non-corporate column (the default)
    return rates(CORP if corporate != other else NONCORP, SIXTEEN)


def decimal_readings(
    p: Decimal, entry_date, deposit, end, corporate: bool, *, hold=None, payment=None, overrides=None
) -> dict[str, Decimal]:
    """What CBP's figure may be read as, in Decimal: the default and every alternative reading that differs."""
    pct = rates(CORP if corporate else NONCORP, overrides)

    def interest(start, stop, pct_of=pct, held=hold):
        return (_compound_parts(p, _accrual_parts(start, stop, held), pct_of) - p).quantize(CENT, ROUND_HALF_UP)

    parts = _accrual_parts(deposit, end, hold)
    out = {"matches_expected": interest(deposit, end)}
    if sum((e - s).days for s, e in parts) != (end - deposit).days:
        out["accrued_while_ach_held"] = interest(deposit, end, held=None)
    if entry_date != deposit:
        out["entry_date_as_deposit_date"] = interest(entry_date, end)
    if payment is not None and payment != end:
        out["payment_date_as_end_date"] = interest(deposit, payment)
    first, last = quarter_start(parts[0][0]), quarter_start(parts[-1][1] - dt.timedelta(days=1))
    if first != last:  # one rate, the first quarter's, for every day that earns interest
        days = sum((e - s).days for s, e in parts)
        out["single_rate_whole_period"] = (p * ((1 + daily_rate(pct(first), first.year)) ** days - 1)).quantize(
            CENT, ROUND_HALF_UP
        )
    out["simple_not_compound"] = sum(
        (p * daily_rate(pct(q), q.year) * days for s, e in parts for q, days in split_days(s, e)), Decimal(0)
    ).quantize(CENT, ROUND_HALF_UP)
    if corporate:
        tier1, tier2 = rates(CORP), rates(OVER_10K)
        out["vendor_tier_applied"] = sum(
            (
                (min(p, 10000) * daily_rate(tier1(q), q.year) + max(p - 10000, 0) * daily_rate(tier2(q), q.year)) * days
                for s, e in parts
                for q, days in split_days(s, e)
            ),
            Decimal(0),
        ).quantize(CENT, ROUND_HALF_UP)
    out["other_rate_column"] = interest(deposit, end, pct_of=rates(NONCORP if corporate else CORP, overrides))
    return out


def _readings(entry: str) -> dict[str, Decimal]:
    imp, principal, entry_date, _, _, _ = CASES[entry]
    deposit, end, hold = _period(entry)
    payment = D(PAYMENT[entry]) if entry in PAYMENT else None
    return decimal_readings(
        Decimal(principal), D(entry_date), deposit, end, imp == CO, hold=hold, payment=payment, overrides=SIXTEEN
    )


def _expected_cbp_figures() -> dict[str, Decimal]:
    """What CBP 'states' for the entries: planted readings, computed here in Decimal."""
    r = {e: _readings(e) for e in (R2, R3, R4, R6, R8, R9, N1, N2, N3, N4)}
    return {
        R1: Decimal("37.96"),  # the regulation's figure: matches
        R2: r[R2]["vendor_tier_applied"],  # the vendor's "quarter x tier" method
        R3: r[R3]["matches_expected"],
        R4: r[R4]["entry_date_as_deposit_date"],
        R6: r[R6]["payment_date_as_end_date"],
        R8: r[R8]["matches_expected"],  # CBP stopped the interest while it held the refund
        R9: r[R9]["accrued_while_ach_held"],  # CBP kept it running through the hold
        N1: r[N1]["single_rate_whole_period"] - Decimal("0.70"),  # near a reading, matches none: unexplained
        N2: r[N2]["single_rate_whole_period"] + CENT,  # exactly a cent off: matches
        N3: r[N3]["matches_expected"] + 2 * CENT,  # two cents off the default, within tolerance: unexplained
        N4: r[N4]["matches_expected"] - CENT,  # a cent off the default: matches
    }


def _expected_diagnosis(stated: Decimal | None, readings: dict[str, Decimal]) -> str:
    """The diagnosis as docs/DOMAIN.md section 5 and the issue define it: the first reading within a cent, else none."""
    if stated is None:
        return "not_stated"
    for name in ["matches_expected", *READING_ORDER]:
        if name in readings and abs(stated - readings[name]) <= CENT:
            return name
    return "none_matches"


def _lineage(load_id: int, line: int, modified: str = "2026-11-20 06:00:00") -> dict:
    return {
        "_load_id": load_id,
        "_file_sha256": f"sha-{load_id}",
        "_source_file": f"file-{load_id}.csv",
        "_source_line": line,
        "_file_modified_at": modified,
    }


def _raw_rows() -> dict[str, list[dict]]:
    stated = _expected_cbp_figures()
    tables = ("es003_line_tariffs", "es701_liquidations", "es022_cape_entries", "rev613_ach_returns")
    tables += ("rev615_cape_refund_details", "rev603_trade_refunds", "importer_profiles")
    rows: dict[str, list[dict]] = {t: [] for t in tables}
    for i, (entry, (imp, principal, entry_date, summary, statement, liquidation)) in enumerate(CASES.items(), 1):
        rows["es003_line_tariffs"].append(
            {
                "entry_summary_number": entry,
                "entry_summary_number_check": "valid",
                "entry_summary_line_number": 1,
                "tariff_ordinal_number": 1,
                "entry_type_code": "01",
                "importer_number": imp,
                "entry_date": entry_date,
                "entry_summary_date": summary,
                "statement_payment_date": statement,
                "hts_number": "99030125",
                "line_duty_amount": principal,
                "entry_summary_status": "Accepted",
                **_lineage(1, i + 1),
            }
        )
        es701 = {"entry_summary_number": entry, "entry_summary_number_check": "valid", "importer_number": imp}
        if liquidation:
            rows["es701_liquidations"].append(
                {
                    **es701,
                    "entry_date": entry_date,
                    "liquidation_date": liquidation,
                    "liquidation_type_code": "5",
                    "liquidation_reason_code": "36",
                    "liquidation_status": "Reliquidated",
                    "net_duty_change_amount": f"-{principal}",
                    "interest_amount": str(stated[entry]) if entry in stated else None,
                    **_lineage(2, i + 1),
                }
            )
        for k, day in enumerate(NO_REASON_CODE_LIQUIDATIONS.get(entry, [])):  # an export without reason codes
            rows["es701_liquidations"].append(
                {**es701, "liquidation_date": day, "liquidation_type_code": "1", **_lineage(5, 10 * i + k)}
            )
        if entry in ACCEPTED:
            rows["es022_cape_entries"].append(
                {
                    "entry_summary_number": entry,
                    "entry_summary_number_check": "valid",
                    "importer_number": imp,
                    "cape_declaration_number": f"CD-{i}",
                    "declaration_submission_date": ACCEPTED[entry],
                    "cape_entry_status": "Accepted",
                    **_lineage(6, i + 1),
                }
            )
        if entry in PAYMENT:
            refund = _refund(entry)
            interest = str(stated[entry])
            rows["rev615_cape_refund_details"].append(
                {
                    "refund_number": refund,
                    "entry_summary_number": entry,
                    "entry_summary_number_check": "valid",
                    "importer_number": imp,
                    "liquidation_date": liquidation,
                    "refund_principal_amount": principal,
                    "refund_interest_amount": interest,
                    "sent_to_treasury_date": PAYMENT[entry],
                    **_lineage(3, i + 1),
                }
            )
            rows["rev603_trade_refunds"].append(
                {
                    "refund_number": refund,
                    "refund_date": PAYMENT[entry],
                    "importer_number": imp,
                    "refund_status": "Treasury Issued",
                    "refund_principal_amount": principal,
                    "refund_interest_amount": interest,
                    "gross_refund_amount": str(Decimal(principal) + stated[entry]),
                    **_lineage(4, i + 1),
                }
            )
        if entry in HOLDS:
            returned, status, export = HOLDS[entry]
            rows["rev613_ach_returns"].append(
                {
                    "refund_number": _refund(entry),
                    "importer_number": imp,
                    "refund_amount": str(Decimal(principal) + stated[entry]),
                    "ach_return_date": returned,
                    "ach_return_reason_code": "R03",
                    "refund_hold_status": status,
                    **_lineage(7 + i, 2, export),
                }
            )
    for i, (imp, corporate) in enumerate(((NC, False), (CO, True)), 2):
        rows["importer_profiles"].append(
            {
                "importer_number": imp,
                "importer_name": imp,
                "is_corporate": corporate,
                "_source_file": "p.csv",
                "_source_line": i,
            }
        )
    return rows


def _dbt(args: list[str], warehouse: Path, target: Path) -> str:
    dbt = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    cmd = [str(dbt), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    cmd += ["--target-path", str(target), "--log-path", str(target), "--vars", json.dumps({"as_of": AS_OF})]
    env = {**os.environ, "REFUNDS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(cmd, cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return done.stdout


# the interest marts and the refund marts that read them, and the key figures (the UI's metadata reads them)
TINY_MODELS = [
    "path:models/intermediate/interest",
    "path:models/marts/interest",
    "fct_refund_reconciliation",
    "fct_refund_worklist",
    "fct_refund_entries",
    "rpt_key_figures",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """One entry per case, the real dbt project, 2025Q1's non-corporate rate overridden to 16%."""
    root = tmp_path_factory.mktemp("interest_tiny")
    warehouse, target = root / "refunds.duckdb", root / "target"
    con = duckdb.connect(str(warehouse))
    try:
        ensure_warehouse(con)
        for table, rows in _raw_rows().items():
            for row in rows:
                con.execute(
                    f"insert into raw.{table} ({', '.join(row)}) values ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
    finally:
        con.close()
    _dbt(["seed"], warehouse, target)
    with duckdb.connect(str(warehouse)) as con:  # the one-row rate override (seeds are data, not code)
        con.execute("update seeds.interest_rates set overpayment_noncorporate_pct = 16 where quarter = '2025Q1'")
    # everything those marts need (their data tests and unit tests run in the sample run's `dbt build`)
    _dbt(["run", "--select", *(f"+{s}" for s in TINY_MODELS)], warehouse, target)
    return warehouse


def _rows(warehouse: Path, sql: str, params=()) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _entry_interest(warehouse: Path) -> dict[str, dict]:
    return {r["entry_summary_number"]: r for r in _rows(warehouse, "select * from marts.fct_entry_interest")}


def _segments(warehouse: Path, entry: str) -> list[dict]:
    sql = "select * from marts.fct_interest_segments where entry_summary_number = ? order by segment_number"
    return _rows(warehouse, sql, [entry])


def _all_segments(warehouse: Path) -> dict[str, list[dict]]:
    trails: dict[str, list[dict]] = {}
    for s in _rows(warehouse, "select * from marts.fct_interest_segments order by 1, segment_number"):
        trails.setdefault(s["entry_summary_number"], []).append(s)
    return trails


def test_the_sql_reproduces_the_regulation_example(tiny):
    e = _entry_interest(tiny)[R1]
    assert (e["deposit_date"], e["end_date"], e["period_days"]) == (D("2025-01-10"), D("2025-03-11"), 60)
    assert e["interest_cbp_daily_compound"] == Decimal("37.96")
    (seg,) = _segments(tiny, R1)
    assert (seg["days"], seg["annual_rate_pct"], seg["days_in_year"]) == (60, Decimal(16), 365)
    assert seg["balance_out_amount"].quantize(CENT, ROUND_HALF_UP) == Decimal("1462.62")
    assert e["variance_diagnosis"] == "matches_expected"


def test_every_case_equals_the_decimal_reference(tiny):
    got = _entry_interest(tiny)
    for entry, (_, principal, *_) in CASES.items():
        deposit, end, hold = _period(entry)
        parts = _accrual_parts(deposit, end, hold)
        e = got[entry]
        assert (e["deposit_date"], e["end_date"]) == (deposit, end), entry
        assert e["interest_suspended_days"] == (end - deposit).days - sum((b - a).days for a, b in parts), entry
        readings = _readings(entry)
        assert e["interest_cbp_daily_compound"] == readings["matches_expected"], entry
        assert e["interest_simple"] == readings["simple_not_compound"], entry
        # the unrounded figure agrees with Decimal far below a cent, even on $50,000,000
        exact = _compound_parts(Decimal(principal), parts, _pct(entry)) - Decimal(principal)
        assert abs(e["cbp_daily_compound_exact"] - exact) < Decimal("1e-6"), entry
    assert got[R5]["rate_basis_is_assumed"] and got[R5]["rate_basis"] == "assumed_noncorporate"
    assert got[R5]["deposit_date_is_estimated"] and got[R5]["end_date_is_estimated"]
    assert got[R5]["end_date_basis"] == "as_of_date_not_accepted"
    assert not got[R1]["deposit_date_is_estimated"] and not got[R1]["end_date_is_estimated"]
    assert got[R1]["rate_basis"] == "profile_noncorporate" and got[R2]["rate_basis"] == "profile_corporate"


def test_a_cape_reliquidation_without_reason_code_is_recognised_by_its_date(tiny):
    """ES-701 without the optional reason code: the liquidation after the CAPE acceptance ends the interest."""
    got = _entry_interest(tiny)
    e = got[R7]
    assert (e["end_date"], e["end_date_is_estimated"]) == (D("2026-06-20"), False)
    assert e["end_date_basis"] == "liquidation_after_acceptance"
    # the other bases, each with what it says about the estimate
    assert (got[R1]["end_date_basis"], got[R1]["end_date_is_estimated"]) == ("reason_code_36", False)
    assert (got[R10]["end_date_basis"], got[R10]["end_date_is_estimated"]) == ("estimated_from_acceptance", True)
    assert got[R10]["end_date"] == D(ACCEPTED[R10]) + dt.timedelta(days=ESTIMATED_LIQUIDATION_DAYS)


def test_segments_split_carry_and_flag(tiny):
    ref = _segments(tiny, R2)  # docs/DOMAIN.md section 5 example
    assert [s["days"] for s in ref] == [56, 91, 92, 91]
    five = _segments(tiny, R4)
    assert [s["days"] for s in five] == [47, 90, 91, 92, 50]
    assert [s["annual_rate_pct"] for s in five] == [7, 7, 6, 7, 7]  # the rate changes in 2026Q2 and back
    for a, b in zip(five, five[1:], strict=False):  # the balance is carried from one quarter into the next
        assert a["balance_out_amount"] == b["balance_in_amount"]
    leap = _segments(tiny, R3)
    assert [(s["quarter"], s["days"], s["days_in_year"]) for s in leap] == [
        ("2024Q1", 51, 366),
        ("2024Q2", 91, 366),
        ("2024Q3", 76, 366),
    ]
    assert leap[0]["daily_rate"] == (Decimal(8) / 100 / 366).quantize(Decimal("1e-18"), ROUND_HALF_UP)
    got, trails = _entry_interest(tiny), _all_segments(tiny)
    for entry in CASES:  # the audit trail adds up, to the last decimal, to the entry's unrounded interest
        segments = trails[entry]
        assert sum(s["interest_amount"] for s in segments) == got[entry]["cbp_daily_compound_exact"], entry
        assert sum(s["days"] for s in segments) == got[entry]["period_days"] - got[entry]["interest_suspended_days"]


def test_no_interest_while_the_refund_is_held_for_missing_ach_data(tiny):
    """19 U.S.C. 1505(d): the held days earn nothing; the balance crosses the hold unchanged."""
    got = _entry_interest(tiny)
    # R8: returned 2026-06-10, still held: the period stops there (112 of its days suspended)
    deposit, end, _ = _period(R8)
    assert (got[R8]["ach_hold_start_date"], got[R8]["ach_hold_end_date"]) == (D("2026-06-10"), None)
    assert got[R8]["interest_suspended_days"] == (end - D("2026-06-10")).days == 112
    assert got[R8]["variance_diagnosis"] == "matches_expected"  # CBP stopped the interest too
    # R9: held from 2026-07-01, released (the export showing it is of 2026-08-01): 31 days in two parts
    trail = _segments(tiny, R9)
    assert got[R9]["interest_suspended_days"] == 31 and got[R9]["ach_hold_is_estimated"]
    after = [s for s in trail if s["accrual_part"] == 2]
    assert [s["segment_start_date"] for s in after][:1] == [D("2026-08-01")]
    assert after[0]["days_suspended_before"] == 31 and sum(s["days_suspended_before"] for s in trail) == 31
    before = [s for s in trail if s["accrual_part"] == 1]
    assert before[-1]["segment_end_date"] == D("2026-07-01")
    assert before[-1]["balance_out_amount"] == after[0]["balance_in_amount"]
    # CBP kept the interest running through the hold: the reading says so, and the money is explained
    assert got[R9]["variance_diagnosis"] == "accrued_while_ach_held"
    assert got[R9]["alt_ach_hold_other_rule_interest"] == _readings(R9)["accrued_while_ach_held"]
    recon = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_refund_reconciliation")}
    held, released = recon[_refund(R8)], recon[_refund(R9)]
    assert held["is_ach_held"] and held["ach_held_days"] == (D(AS_OF) - D("2026-06-10")).days
    assert held["interest_suspended_days_max"] == 112 and held["entries_interest_suspended"] == 1
    assert not released["is_ach_held"] and released["ach_held_days"] == 31
    assert released["interest_explanations"] == "accrued_while_ach_held" and released["unexplained_amount"] == 0


def test_diagnosis_is_exact_against_decimal_readings(tiny):
    """Every diagnosis is the first reading within a cent of CBP's figure, computed here; else none_matches."""
    got = _entry_interest(tiny)
    stated = _expected_cbp_figures()
    assert {e: got[e]["cbp_interest_amount"] for e in stated} == stated
    for entry in CASES:
        readings = _readings(entry)
        e = got[entry]
        assert e["variance_diagnosis"] == _expected_diagnosis(stated.get(entry), readings), entry
        if e["diagnosis_reading_amount"] is not None:
            assert abs(e["diagnosis_reading_amount"] - e["cbp_interest_amount"]) <= CENT, entry
        alt = {  # the mart's alternative readings are the Decimal ones
            "accrued_while_ach_held": e["alt_ach_hold_other_rule_interest"],
            "entry_date_as_deposit_date": e["alt_entry_date_as_deposit_interest"],
            "payment_date_as_end_date": e["alt_payment_date_as_end_interest"],
            "single_rate_whole_period": e["alt_single_rate_whole_period_interest"],
            "vendor_tier_applied": e["alt_vendor_tier_interest"],
            "other_rate_column": e["alt_other_rate_column_interest"],
        }
        for name, value in alt.items():
            if value is not None or entry in stated:
                assert value == readings.get(name), (entry, name)
    assert {e: got[e]["variance_diagnosis"] for e in CASES} == {
        R1: "matches_expected",
        R2: "vendor_tier_applied",
        R3: "matches_expected",
        R4: "entry_date_as_deposit_date",
        R5: "not_stated",
        R6: "payment_date_as_end_date",
        R7: "not_stated",
        R8: "matches_expected",
        R9: "accrued_while_ach_held",
        R10: "not_stated",
        N1: "none_matches",
        N2: "single_rate_whole_period",
        N3: "none_matches",
        N4: "matches_expected",
    }


def test_a_figure_near_a_reading_that_misses_it_is_unexplained(tiny):
    """The issue's case: 0.70 from one reading (inside the $1 tolerance), a cent from none: none_matches."""
    got = _entry_interest(tiny)
    readings, n1 = _readings(N1), got[N1]
    assert abs(n1["cbp_interest_amount"] - readings["single_rate_whole_period"]) == Decimal("0.70")
    assert all(abs(n1["cbp_interest_amount"] - v) > CENT for v in readings.values())
    assert (n1["variance_diagnosis"], n1["is_interest_explained"], n1["diagnosis_reading_amount"]) == (
        "none_matches",
        False,
        None,
    )
    # two cents off the default: unexplained however small; the tolerance only decides what is chased
    assert got[N3]["interest_variance_amount"] == 2 * CENT and got[N3]["interest_variance_status"] == "within_tolerance"
    assert got[N3]["variance_diagnosis"] == "none_matches"
    by_refund = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_interest_variance_by_refund")}
    for entry, explained in ((N1, False), (N2, True), (N3, False), (N4, True)):
        r = by_refund[_refund(entry)]
        variance = got[entry]["interest_variance_amount"]
        assert (r["explained_interest_variance_amount"], r["unexplained_interest_variance_amount"]) == (
            (variance, 0) if explained else (0, variance)
        ), entry


def test_the_reconciliation_keeps_a_miss_in_unexplained(tiny):
    """Money leaves the unexplained bucket only on a reading within a cent of what CBP paid."""
    stated = _expected_cbp_figures()
    recon = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_refund_reconciliation")}
    for entry, explained in ((N1, False), (N2, True), (N3, False), (N4, True)):
        shortfall = _readings(entry)["matches_expected"] - stated[entry]  # expected - paid
        r = recon[_refund(entry)]
        assert r["variance_amount"] == shortfall, entry
        assert (r["interest_variance_amount"], r["unexplained_amount"]) == (
            (shortfall, 0) if explained else (0, shortfall)
        ), entry
        assert r["buckets_reconcile"] and r["entries_interest_unexplained"] == (0 if explained else 1), entry
    assert recon[_refund(N1)]["interest_explanations"] == "unexplained"


def test_rates_not_confirmed_keep_saying_so(tiny):
    """Every segment carries its quarter's status from the seed; every figure built on one that is not CONFIRMED
    says so, up to the refund reconciliation."""
    seed = _seed_rates()
    rank = ["CONFIRMED", "SECONDARY", "INFERRED", "UNVERIFIED", "ASSUMED"]
    got, trails = _entry_interest(tiny), _all_segments(tiny)
    for entry in CASES:
        segments = trails[entry]
        for s in segments:  # past the table the last rates carry forward, ASSUMED
            assert s["rate_status"] == seed.get(quarter_start(s["segment_start_date"]), {"status": "ASSUMED"})["status"]
        statuses = {s["rate_status"] for s in segments}
        worst = max(statuses, key=rank.index)
        assert got[entry]["rate_status_worst"] == worst, entry
        assert got[entry]["uses_unverified_rate"] == (worst != "CONFIRMED"), entry
    assert got[R3]["rate_status_worst"] == "CONFIRMED"  # 2024
    assert got[R4]["rate_status_worst"] == "SECONDARY"  # into 2026Q2-Q4
    assert got[R10]["rate_status_worst"] == "UNVERIFIED"  # into 2027Q1, carried forward
    entries = {r["entry_summary_number"]: r for r in _rows(tiny, "select * from marts.fct_refund_entries")}
    recon = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_refund_reconciliation")}
    by_refund = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_interest_variance_by_refund")}
    for entry in PAYMENT:
        worst = got[entry]["rate_status_worst"]
        assert entries[entry]["expected_interest_rate_status"] == worst, entry
        assert recon[_refund(entry)]["expected_interest_uses_unverified_rate"] == (worst != "CONFIRMED"), entry
        assert by_refund[_refund(entry)]["uses_unverified_rate"] == (worst != "CONFIRMED"), entry


def test_an_importer_without_a_profile_is_loud(tiny, tmp_path):
    """The assumed rate basis shows in a column, a key figure, the run report, the worklist and a warning check."""
    got = _entry_interest(tiny)
    assert {e for e, r in got.items() if r["rate_basis_is_assumed"]} == {R5}
    # one worklist item per importer; its amount is the interest riding on the assumption (Decimal)
    deposit, end, _ = _period(R5)
    p = Decimal(CASES[R5][1])
    riding = cbp_interest(p, deposit, end, rates(NONCORP, SIXTEEN)) - cbp_interest(p, deposit, end, rates(CORP))
    items = _rows(tiny, "select * from marts.fct_refund_worklist where reason_code = 'importer_profile_missing'")
    assert [(i["subject_type"], i["subject_id"], i["amount"]) for i in items] == [("importer", NOBODY, riding)]
    key = AssetKey(["marts", "fct_entry_interest"])
    with duckdb.connect(str(tiny), read_only=True) as con:
        figures = figures_for(con, [key, KEY_FIGURES])[key]
    assert (figures["importers_rate_basis_assumed"], figures["entries_rate_basis_assumed"]) == (1, 1)
    report = build_run_report(tiny, tmp_path / "report", {"run_id": "tiny", "as_of": AS_OF, "status": "success"})
    html = report.read_text(encoding="utf-8")
    assert '<strong data-figure="rate_basis_assumed_importers">1</strong>' in html
    assert "assumed_noncorporate" in html
    # a warning, not an error: the run goes on (dbt exits 0), the check says so
    out = _dbt(
        ["test", "--select", "fct_entry_interest_no_entry_on_an_assumed_rate_basis"], tiny, tiny.parent / "target"
    )
    assert "WARN=1" in out and "ERROR=0" in out


def test_factor_tables_against_decimal(tiny):
    """Every compounding factor the SQL uses against Decimal (the unrounded (1 + r)^d); worst error measured."""
    seed = _seed_rates()

    def pct(column: str, q: dt.date) -> Decimal:
        if (q, NONCORP) in SIXTEEN and column == "overpayment_noncorporate":
            return Decimal(16)
        row = seed.get(q) or seed[max(seed)]  # past the table the last quarter carries forward (ASSUMED)
        return Decimal(row[f"{column}_pct"])

    factors = _rows(
        tiny, "select rate_column, quarter_start, days, growth_factor from intermediate.int_interest__daily_factors"
    )
    growth = _rows(tiny, "select * from intermediate.int_interest__growth_to_quarter_start")
    assert len(factors) > 30_000 and len(growth) > 20_000
    worst, checked = Decimal(0), 0
    principals = [
        Decimal("0.01"),
        Decimal("1424.66"),
        Decimal("25000.00"),
        Decimal("50000000.00"),
        Decimal("99999999.99"),
    ]

    def check(model: Decimal, exact: Decimal) -> None:
        nonlocal worst, checked
        worst = max(worst, abs(model - exact) / exact)
        for p in principals:
            assert (p * (model - 1)).quantize(CENT, ROUND_HALF_UP) == (p * (exact - 1)).quantize(CENT, ROUND_HALF_UP)
        checked += 1

    for f in factors:
        q = f["quarter_start"]
        check(f["growth_factor"], (1 + daily_rate(pct(f["rate_column"], q), q.year)) ** f["days"])
    for g in growth:
        exact = compound(Decimal(1), g["from_date"], g["to_quarter_start"], lambda q, c=g["rate_column"]: pct(c, q))
        check(g["growth_factor"], exact)
    # 18-decimal steps, about 1,100 of them at most: the relative error stays below 1e-15, i.e. below
    # $0.0000001 on $99,999,999.99, and no factor rounds to a different cent than Decimal on any principal above
    assert worst < Decimal("1e-15"), worst
    print(f"\n{checked} factors checked; worst relative error vs Decimal: {worst:.3e}")


# --------------------------------------------------------------------------------------------------------------
# The bundled sample through the command line
# --------------------------------------------------------------------------------------------------------------


def _truth(name: str) -> list[dict]:
    with (SAMPLE / "truth" / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sample(sample_runs) -> Path:
    """The session's run of the bundled sample through the command line (shared, read-only)."""
    return sample_runs("realistic").warehouse


def test_sample_every_refundable_entry_has_its_interest(sample):
    got = _entry_interest(sample)
    truth = {e["entry_number"]: e for e in _truth("entries.csv") if Decimal(e["ieepa_principal"] or 0) > 0}
    assert set(got) == set(truth)
    assert all(e["interest_cbp_daily_compound"] is not None for e in got.values())
    trail = {
        r["entry_summary_number"]: r
        for r in _rows(
            sample,
            "select entry_summary_number, sum(days) as days, count(*) as n from marts.fct_interest_segments group by 1",
        )
    }
    for entry, e in got.items():
        assert (trail[entry]["days"], trail[entry]["n"]) == (e["period_days"], e["segment_count"]), entry

    def pct_of(corporate: bool):
        return rates(CORP if corporate else NONCORP)

    profiles = {p["Importer Number"]: p["Is Corporate"] == "Y" for p in _truth("importer_profiles.csv")}
    for entry, t in truth.items():
        e = got[entry]
        # the truth's deposit date; the truth's CAPE liquidation date, else the model's estimate
        deposit = D(t["deposit_date"])
        end = D(t["cape_liquidation_date"]) if t["cape_liquidation_date"] else e["end_date"]
        assert e["deposit_date"] == deposit and e["end_date"] == end, entry
        expected = cbp_interest(Decimal(t["ieepa_principal"]), deposit, end, pct_of(profiles[t["importer_number"]]))
        assert e["interest_cbp_daily_compound"] == expected, entry
        if t["expected_interest"]:  # the generator's own figure (computed in its world, in floating point)
            assert abs(e["interest_cbp_daily_compound"] - Decimal(t["expected_interest"])) <= CENT, entry


PLANTED_DIAGNOSIS = {
    "interest_entry_date_as_deposit": "entry_date_as_deposit_date",
    "interest_single_rate": "single_rate_whole_period",
    "interest_simple": "simple_not_compound",
    "principal_short_pay": "principal_short_paid",
    "interest_unexplained": "none_matches",
}


def test_sample_diagnosis_finds_every_planted_variance(sample):
    got = _entry_interest(sample)
    planted = {p["entry_number"]: p for p in _truth("planted_variances.csv")}
    assert len({p["kind"] for p in planted.values()}) == 5
    for entry, p in planted.items():
        # unexplained is unexplained however small: the tolerance never explains anything
        assert got[entry]["variance_diagnosis"] == PLANTED_DIAGNOSIS[p["kind"]], (entry, p)
        if p["kind"] != "principal_short_pay":
            assert got[entry]["cbp_interest_amount"] == Decimal(p["stated_amount"])
            assert got[entry]["interest_variance_amount"] == Decimal(p["amount"])
    # every other figure CBP stated is what it owes, to the cent
    others = {
        e: r["variance_diagnosis"] for e, r in got.items() if e not in planted and r["cbp_interest_amount"] is not None
    }
    assert others and set(others.values()) == {"matches_expected"}
    stated = {
        t["entry_number"] for t in _truth("entries.csv") if t["refund_interest"] and Decimal(t["ieepa_principal"]) > 0
    }
    assert {e for e, r in got.items() if r["cbp_interest_amount"] is not None} == stated
    # per refund: the planted kinds show on their refunds, and the sums are CBP's stated refund interest
    refunds = {r["refund_number"]: r for r in _rows(sample, "select * from marts.fct_interest_variance_by_refund")}
    for p in planted.values():
        assert PLANTED_DIAGNOSIS[p["kind"]] in (refunds[p["refund_number"]]["variance_diagnoses"] or ""), p
    for r in _truth("refunds.csv"):
        assert refunds[r["refund_number"]]["cbp_interest_amount"] == Decimal(r["interest"]), r["refund_number"]
    income = _rows(sample, "select * from marts.fct_interest_income_by_year")
    buckets = (
        "interest_paid_amount",
        "interest_in_transit_amount",
        "interest_returned_amount",
        "interest_pending_amount",
    )
    assert sum(r[b] for r in income for b in buckets) == sum(Decimal(r["interest"]) for r in _truth("refunds.csv"))


def test_sample_diagnosis_is_exact_against_decimal(sample):
    """Every reading a diagnosis names is within a cent of CBP's figure, and none_matches has no reading within a
    cent, by readings computed here in Decimal from the truth's dates and amounts."""
    got = _entry_interest(sample)
    profiles = {p["Importer Number"]: p["Is Corporate"] == "Y" for p in _truth("importer_profiles.csv")}
    checked = 0
    for t in _truth("entries.csv"):
        e = got.get(t["entry_number"])
        if e is None or e["cbp_interest_amount"] is None or e["variance_diagnosis"].startswith("principal_"):
            continue
        readings = decimal_readings(
            Decimal(t["ieepa_principal"]),
            D(t["entry_date"]),
            D(t["deposit_date"]),
            e["end_date"],
            profiles[t["importer_number"]],
            payment=e["payment_date"],
        )
        stated = e["cbp_interest_amount"]
        assert e["variance_diagnosis"] == _expected_diagnosis(stated, readings), t["entry_number"]
        checked += 1
    unexplained = [p for p in _truth("planted_variances.csv") if p["kind"] == "interest_unexplained"]
    assert checked > 100 and unexplained
    for p in unexplained:
        assert got[p["entry_number"]]["variance_diagnosis"] == "none_matches"
