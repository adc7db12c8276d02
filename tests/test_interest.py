"""The interest mart against independent reference values.

The reference here is plain Python ``Decimal`` at 50 significant digits, written from REFERENCE.md section 5 and
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
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal, getcontext
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.schema import ensure_warehouse
from tests.conftest import PROJECT_ROOT, entry_number

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
    """REFERENCE.md s.5: split at each quarter start; a segment counts (segment end - segment start) days."""
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
    # REFERENCE.md s.5: deposit 2025-02-04, end 2025-12-31 gives 56, 91, 92 and 91 days
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


R1, R2, R3, R4, R5, R6 = (_entry(n) for n in range(1, 7))
SIXTEEN = {(dt.date(2025, 1, 1), NONCORP): "16"}  # the regulation's rate, in 2025Q1 (a year of 365 days)
D = dt.date.fromisoformat

# entry, importer, principal, entry date, summary date, statement payment date, CAPE (re)liquidation date
CASES = {
    R1: (NC, "1424.66", "2025-01-03", "2025-01-06", "2025-01-10", "2025-03-11"),  # the regulation: 60 days at 16%
    R2: (CO, "25000.00", "2025-01-28", "2025-01-31", "2025-02-04", "2025-12-31"),  # REFERENCE: 56/91/92/91, corporate
    R3: (NC, "100000.00", "2024-02-01", "2024-02-05", "2024-02-10", "2024-09-15"),  # leap year: / 366
    R4: (NC, "50000000.00", "2025-10-01", "2025-10-06", "2025-11-15", "2026-11-20"),  # 5 quarters, 7% -> 6% -> 7%
    R5: (NOBODY, "50000000.00", "2025-02-03", "2025-02-04", None, None),  # no profile, no statement, not filed
    R6: (NC, "10000.00", "2025-06-10", "2025-06-16", None, "2026-06-12"),  # CBP pays to its payment date
}
PAYMENT = {R4: "2026-11-20", R6: "2026-06-15"}  # REV-615 sent-to-Treasury dates


def _expected_cbp_figures() -> dict[str, Decimal]:
    """What CBP 'states' for the entries: planted readings, computed here in Decimal."""
    nc = rates(NONCORP, SIXTEEN)
    p2 = Decimal("25000.00")
    tier1, tier2 = rates(CORP), rates(OVER_10K)
    vendor = sum(
        (Decimal(10000) * daily_rate(tier1(q), q.year) + (p2 - 10000) * daily_rate(tier2(q), q.year)) * days
        for q, days in split_days(D("2025-02-04"), D("2025-12-31"))
    ).quantize(CENT, ROUND_HALF_UP)
    return {
        R1: Decimal("37.96"),  # the regulation's figure: matches
        R2: vendor,  # the vendor's "quarter x tier" method
        R3: cbp_interest(Decimal("100000.00"), D("2024-02-10"), D("2024-09-15"), nc),  # matches
        R4: cbp_interest(Decimal("50000000.00"), D("2025-10-01"), D("2026-11-20"), nc),  # from the entry date
        R6: cbp_interest(Decimal("10000.00"), D("2025-06-16"), D("2026-06-15"), nc),  # to the payment date
    }


def _lineage(load_id: int, line: int) -> dict:
    return {
        "_load_id": load_id,
        "_file_sha256": f"sha-{load_id}",
        "_source_file": f"file-{load_id}.csv",
        "_source_line": line,
        "_file_modified_at": "2026-11-20 06:00:00",
    }


def _raw_rows() -> dict[str, list[dict]]:
    stated = _expected_cbp_figures()
    rows: dict[str, list[dict]] = {
        t: []
        for t in (
            "es003_line_tariffs",
            "es701_liquidations",
            "rev615_cape_refund_details",
            "rev603_trade_refunds",
            "importer_profiles",
        )
    }
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
        if liquidation:
            rows["es701_liquidations"].append(
                {
                    "entry_summary_number": entry,
                    "entry_summary_number_check": "valid",
                    "importer_number": imp,
                    "entry_date": entry_date,
                    "liquidation_date": liquidation,
                    "liquidation_type_code": "5",
                    "liquidation_reason_code": "36",
                    "liquidation_status": "Reliquidated",
                    "net_duty_change_amount": f"-{principal}",
                    "interest_amount": str(stated[entry]),
                    **_lineage(2, i + 1),
                }
            )
        if entry in PAYMENT:
            refund = f"RF-{i}"
            rows["rev615_cape_refund_details"].append(
                {
                    "refund_number": refund,
                    "entry_summary_number": entry,
                    "entry_summary_number_check": "valid",
                    "importer_number": imp,
                    "liquidation_date": liquidation,
                    "refund_principal_amount": principal,
                    "refund_interest_amount": str(stated[entry]),
                    "sent_to_treasury_date": PAYMENT[entry],
                    **_lineage(3, i + 1),
                }
            )
            rows["rev603_trade_refunds"].append(
                {
                    "refund_number": refund,
                    "refund_date": liquidation,
                    "importer_number": imp,
                    "refund_status": "Treasury Issued",
                    "refund_principal_amount": principal,
                    "refund_interest_amount": str(stated[entry]),
                    "gross_refund_amount": str(Decimal(principal) + stated[entry]),
                    **_lineage(4, i + 1),
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


def _dbt(args: list[str], warehouse: Path, target: Path) -> None:
    dbt = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    cmd = [str(dbt), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    cmd += ["--target-path", str(target), "--log-path", str(target), "--vars", json.dumps({"as_of": AS_OF})]
    env = {**os.environ, "REFUNDS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(cmd, cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]


INTEREST_MODELS = ["path:models/intermediate/interest", "path:models/marts/interest"]


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
    # everything the interest mart needs (its data tests and unit tests run in the sample run's `dbt build`)
    _dbt(["run", "--select", *(f"+{s}" for s in INTEREST_MODELS)], warehouse, target)
    return warehouse


def _rows(warehouse: Path, sql: str, params=()) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _entry_interest(warehouse: Path) -> dict[str, dict]:
    return {r["entry_summary_number"]: r for r in _rows(warehouse, "select * from marts.fct_entry_interest")}


def test_the_sql_reproduces_the_regulation_example(tiny):
    e = _entry_interest(tiny)[R1]
    assert (e["deposit_date"], e["end_date"], e["period_days"]) == (D("2025-01-10"), D("2025-03-11"), 60)
    assert e["interest_cbp_daily_compound"] == Decimal("37.96")
    (seg,) = _rows(tiny, "select * from marts.fct_interest_segments where entry_summary_number = ?", [R1])
    assert (seg["days"], seg["annual_rate_pct"], seg["days_in_year"]) == (60, Decimal(16), 365)
    assert seg["balance_out_amount"].quantize(CENT, ROUND_HALF_UP) == Decimal("1462.62")
    assert e["variance_diagnosis"] == "matches_expected"


def test_every_case_equals_the_decimal_reference(tiny):
    got = _entry_interest(tiny)
    nc, co = rates(NONCORP, SIXTEEN), rates(CORP)
    for entry, (imp, principal, _, summary, statement, liquidation) in CASES.items():
        deposit = D(statement or summary)
        end = D(liquidation or AS_OF)
        pct = co if imp == CO else nc  # NOBODY has no profile: non-corporate column (the default)
        e = got[entry]
        assert (e["deposit_date"], e["end_date"]) == (deposit, end), entry
        assert e["interest_cbp_daily_compound"] == cbp_interest(Decimal(principal), deposit, end, pct), entry
        assert e["interest_simple"] == simple_interest(Decimal(principal), deposit, end, pct), entry
        # the unrounded figure agrees with Decimal far below a cent, even on $50,000,000
        exact = compound(Decimal(principal), deposit, end, pct) - Decimal(principal)
        assert abs(e["cbp_daily_compound_exact"] - exact) < Decimal("1e-6"), entry
    assert got[R5]["rate_basis_unknown"] and got[R5]["deposit_date_is_estimated"] and got[R5]["end_date_is_estimated"]
    assert got[R5]["end_date_basis"] == "as_of_date_not_accepted"
    assert not got[R1]["deposit_date_is_estimated"] and not got[R1]["end_date_is_estimated"]


def test_segments_split_carry_and_flag(tiny):
    def trail(entry):
        return _rows(
            tiny, "select * from marts.fct_interest_segments where entry_summary_number = ? order by 2", [entry]
        )

    ref = trail(R2)  # REFERENCE.md s.5 example
    assert [s["days"] for s in ref] == [56, 91, 92, 91]
    five = trail(R4)
    assert [s["days"] for s in five] == [47, 90, 91, 92, 50]
    assert [s["annual_rate_pct"] for s in five] == [7, 7, 6, 7, 7]  # the rate changes in 2026Q2 and back
    assert [s["rate_status"] for s in five] == ["SECONDARY", "CONFIRMED", "UNVERIFIED", "UNVERIFIED", "UNVERIFIED"]
    for a, b in zip(five, five[1:], strict=False):  # the balance is carried from one quarter into the next
        assert a["balance_out_amount"] == b["balance_in_amount"]
    leap = trail(R3)
    assert [(s["quarter"], s["days"], s["days_in_year"]) for s in leap] == [
        ("2024Q1", 51, 366),
        ("2024Q2", 91, 366),
        ("2024Q3", 76, 366),
    ]
    assert leap[0]["daily_rate"] == (Decimal(8) / 100 / 366).quantize(Decimal("1e-18"), ROUND_HALF_UP)
    got = _entry_interest(tiny)
    for entry in CASES:  # the audit trail adds up, to the last decimal, to the entry's unrounded interest
        segments = trail(entry)
        assert sum(s["interest_amount"] for s in segments) == got[entry]["cbp_daily_compound_exact"], entry
        assert sum(s["days"] for s in segments) == got[entry]["period_days"], entry
    assert got[R4]["uses_unverified_rate"] and got[R4]["rate_status_worst"] == "UNVERIFIED"
    assert got[R3]["rate_status_worst"] == "CONFIRMED" and not got[R3]["uses_unverified_rate"]


def test_diagnosis_end_to_end(tiny):
    got = _entry_interest(tiny)
    stated = _expected_cbp_figures()
    assert {e: got[e]["cbp_interest_amount"] for e in stated} == stated
    assert {e: got[e]["variance_diagnosis"] for e in CASES} == {
        R1: "matches_expected",
        R2: "vendor_tier_applied",
        R3: "matches_expected",
        R4: "entry_date_as_deposit_date",
        R5: "not_stated",
        R6: "payment_date_as_end_date",
    }
    assert got[R2]["interest_vendor_quarter_tier"] == stated[R2] and got[R2]["interest_variance_status"] == "underpaid"
    refunds = {r["refund_number"]: r for r in _rows(tiny, "select * from marts.fct_interest_variance_by_refund")}
    assert set(refunds) == {"RF-4", "RF-6"}
    assert refunds["RF-4"]["variance_diagnoses"] == "entry_date_as_deposit_date"
    assert refunds["RF-4"]["rev603_interest_agrees"]
    income = _rows(tiny, "select * from marts.fct_interest_income_by_year")
    assert [(r["importer_number"], r["payment_year"]) for r in income] == [(NC, 2026)]
    assert income[0]["form_1099_int_box1_expected_amount"] == stated[R4] + stated[R6]
    assert income[0]["principal_paid_amount"] == Decimal("50010000.00")  # kept apart: not income


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
def sample(tmp_path_factory) -> Path:
    from pipelines.cli import main

    root = tmp_path_factory.mktemp("interest_sample")
    landing = root / "landing"
    landing.mkdir()
    for row in _truth("files.csv"):
        target = landing / row["file_name"]
        shutil.copyfile(SAMPLE / row["file_name"], target)
        stamp = dt.datetime.fromisoformat(row["exported_at"]).timestamp()  # the export time (git drops it)
        os.utime(target, (stamp, stamp))
    warehouse = root / "warehouse" / "refunds.duckdb"
    as_of = (SAMPLE / "truth" / "as_of.txt").read_text().strip()
    assert main(["run", "--input", str(landing), "--as-of", as_of, "--settle", "0", "--warehouse", str(warehouse)]) == 0
    return warehouse


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
        expected = PLANTED_DIAGNOSIS[p["kind"]]
        if p["kind"] == "interest_unexplained" and abs(Decimal(p["amount"])) <= 1:
            expected = "within_tolerance"  # an unexplained cent or two is within the default tolerance
        assert got[entry]["variance_diagnosis"] == expected, (entry, p)
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
