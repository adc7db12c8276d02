"""Refund and offset reconciliation, through the real job on one synthetic world in two profiles: the bundled
sample (REV-603 in the layout found in real exports: no importer, no principal/interest split, no offsets, one
total) and the same world in the project's first assumed layouts (every column, the offset block).

The generator's truth is computed from its world tables, not from the report files: what CBP paid per refund
(refunds.csv), the offsets it took (offsets.csv), the variances it planted in CBP's figures (planted_variances.csv)
and the expected figures per entry (entries.csv). Amounts are compared as Decimal, exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

SAMPLE = PROJECT_ROOT / "data" / "sample"
AS_OF = (SAMPLE / "truth" / "as_of.txt").read_text().strip()
ZERO = Decimal("0.00")

BUCKETS = [
    "offset_cbp_debt_amount",
    "offset_treasury_debt_amount",
    "offset_top_amount",
    "offset_unidentified_amount",
    "ach_returned_held_amount",
    "principal_variance_amount",
    "interest_variance_amount",
    "unexplained_amount",
]
OFFSET_BUCKET = {
    "CBP Debt": "offset_cbp_debt_amount",
    "Treasury Debt": "offset_treasury_debt_amount",
    "TOP": "offset_top_amount",
}


@pytest.fixture(scope="module", params=["realistic", "assumed"])
def profile(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def world(sample_runs, profile) -> Path:
    """The bundled sample (realistic profile), or the same world generated in the assumed layouts."""
    return sample_runs(profile).world


def _truth(name: str, world=SAMPLE) -> list[dict]:
    with (world / "truth" / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _dec(value) -> Decimal:
    return ZERO if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))


def _rev603_without_offset_columns(world) -> list[dict]:
    return [f for f in _truth("files.csv", world) if f["report_code"] == "rev603" and f["has_offset_columns"] == "N"]


@pytest.fixture(scope="module")
def warehouse(sample_runs, profile) -> Path:
    """The session's run of the world through the command line (shared, read-only)."""
    return sample_runs(profile).warehouse


def _rows(warehouse, sql: str) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def recon(warehouse) -> dict[str, dict]:
    return {r["refund_number"]: r for r in _rows(warehouse, "select * from marts.fct_refund_reconciliation")}


def test_every_refund_of_the_truth_is_reconciled_with_cbps_figures(recon):
    truth = _truth_refunds()
    assert set(recon) == set(truth)
    for number, t in truth.items():
        r = recon[number]
        assert r["is_in_rev603"] and r["has_entry_detail"], number
        assert r["rev603_principal_amount"] == _dec(t["principal"]), number
        assert r["rev603_interest_amount"] == _dec(t["interest"]), number
        assert r["stated_principal_amount"] == _dec(t["principal"]), number  # REV-615 / ES-022 agree with REV-603
        assert r["stated_interest_amount"] == _dec(t["interest"]), number
        assert r["gross_refund_amount"] == _dec(t["gross"]), number
        assert r["offset_total_amount"] == _dec(t["offset_total"]), number
        assert r["net_refund_amount"] == _dec(t["net"]), number
        assert r["entry_count"] == int(t["entry_count"]), number
        assert r["has_ach_return"] == (t["ach_returned"] == "Y"), number
        assert r["importer_number"] == t["importer_number"], number


def test_expected_figures_are_the_truths_deposit_and_cbp_method_interest(recon):
    principal, interest = defaultdict(Decimal), defaultdict(Decimal)
    for e in _truth("entries.csv"):
        if e["refund_number"]:
            principal[e["refund_number"]] += _dec(e["ieepa_principal"])
            interest[e["refund_number"]] += _dec(e["expected_interest"])
    assert set(principal) == set(recon)
    for number, r in recon.items():
        assert r["expected_principal_amount"] == principal[number], number
        assert r["expected_interest_amount"] == interest[number], number
        assert r["entries_without_expected"] == 0, number


def test_buckets_sum_exactly_to_the_variance(recon):
    for number, r in recon.items():
        variance = r["expected_total_amount"] - (r["net_refund_amount"] - r["ach_returned_held_amount"])
        assert r["variance_amount"] == variance, number
        assert sum((r[b] for b in BUCKETS), ZERO) == r["variance_amount"], number
        assert r["buckets_reconcile"] is True, number
        assert r["unexplained_amount"] == (
            r["unexplained_interest_amount"] + r["unexplained_report_gap_amount"] + r["unexplained_net_gap_amount"]
        ), number


def test_each_bucket_holds_what_the_generator_planted(recon):
    """Nothing is unexplained that the generator did not plant as unexplained, and every bucket is the truth."""
    expected = {number: dict.fromkeys(BUCKETS, ZERO) for number in recon}
    for o in _truth("offsets.csv"):
        expected[o["refund_number"]][OFFSET_BUCKET[o["offset_type"]]] += _dec(o["amount"])
    for v in _truth("planted_variances.csv"):
        # planted amount = stated - expected; a bucket is expected - paid (positive: we got less)
        bucket = (
            "principal_variance_amount"
            if v["kind"] == "principal_short_pay"
            else "unexplained_amount"
            if v["kind"] == "interest_unexplained"
            else "interest_variance_amount"
        )
        expected[v["refund_number"]][bucket] -= _dec(v["amount"])
    for number in _held_refunds():
        expected[number]["ach_returned_held_amount"] = _dec(_truth_refunds()[number]["net"])

    inferred = {number for number, r in recon.items() if r["has_inferred_offset"]}
    for number, r in recon.items():
        want = dict(expected[number])
        if number in inferred:  # REV-603 without offset columns: the offsets' types are unknown
            want["offset_unidentified_amount"] = sum((want[b] for b in OFFSET_BUCKET.values()), ZERO)
            want.update(dict.fromkeys(OFFSET_BUCKET.values(), ZERO))
        got = {b: r[b] for b in BUCKETS}
        assert got == want, number

    planted_unexplained = {
        v["refund_number"] for v in _truth("planted_variances.csv") if v["kind"] == "interest_unexplained"
    }
    assert {n for n, r in recon.items() if r["unexplained_amount"] != 0} == planted_unexplained
    assert planted_unexplained


def _truth_refunds() -> dict[str, dict]:
    return {r["refund_number"]: r for r in _truth("refunds.csv")}


def _held_refunds() -> set[str]:
    """Refunds whose ACH payment came back and was not reissued (the entries' scenario tags)."""
    returned, reissued = set(), set()
    for e in _truth("entries.csv"):
        tags = e["scenario_tags"].split("|")
        if "ach_returned" in tags:
            returned.add(e["refund_number"])
        if "ach_reissued" in tags:
            reissued.add(e["refund_number"])
    return returned - reissued


def test_one_refund_spanning_several_declarations_reconciles(recon):
    spanning = [r for r in recon.values() if r["declaration_count"] > 1]
    assert spanning, "the sample consolidates refunds across declarations"
    for r in spanning:
        assert len(r["cape_declaration_numbers"].split(", ")) == r["declaration_count"]
        assert r["buckets_reconcile"]


def _inferred_refunds(world) -> set[str]:
    """Refunds with offsets whose REV-603 export has no offset columns: their offsets can only be inferred."""
    refund_dates = {n: r["refund_date"] for n, r in _truth_refunds().items()}
    ranges = [(f["date_from"], f["date_to"]) for f in _rev603_without_offset_columns(world)]
    return {
        o["refund_number"]
        for o in _truth("offsets.csv")
        if any(lo <= refund_dates[o["refund_number"]] <= hi for lo, hi in ranges)
    }


def test_the_real_layout_derives_what_rev603_lacks(warehouse, world):
    """REV-603 in the layout found in real exports: the importer and the principal / interest split come from
    ES-022 by refund number, the total is the net paid; the bases say so."""
    rows = _rows(warehouse, "select * from intermediate.int_refunds__rev603_current")
    assert rows
    real = all(
        f["layout_variant"] == "importer_tool_2026" for f in _truth("files.csv", world) if f["report_code"] == "rev603"
    )
    for r in rows:
        if real:
            assert (r["importer_basis"], r["amount_split_basis"], r["net_basis"]) == (
                "es022_refund_number",
                "es022_refund_number",
                "rev603_total",
            ), r["refund_number"]
        else:
            assert (r["importer_basis"], r["amount_split_basis"], r["gross_basis"]) == ("reported",) * 3


def test_offsets_match_the_truth(warehouse, world):
    offsets = _rows(warehouse, "select * from marts.fct_offsets")
    truth = _truth("offsets.csv")
    inferred_refunds = _inferred_refunds(world)
    assert inferred_refunds, "the sample has an offset in a REV-603 file without offset columns"

    reported = sorted(
        (o["refund_number"], o["offset_type"], o["debt_reference"] or None, o["agency"] or None, _dec(o["amount"]))
        for o in truth
        if o["refund_number"] not in inferred_refunds
    )
    got_reported = sorted(
        (
            o["refund_number"],
            o["offset_type"],
            o["debt_reference"],
            o["originating_agency"] if o["offset_type"] != "CBP Debt" else None,
            o["offset_amount"],
        )
        for o in offsets
        if not o["is_inferred"]
    )
    assert got_reported == reported

    inferred = {o["refund_number"]: o for o in offsets if o["is_inferred"]}
    assert set(inferred) == inferred_refunds
    for number, o in inferred.items():
        assert o["offset_amount"] == sum((_dec(t["amount"]) for t in truth if t["refund_number"] == number), ZERO)
        assert o["offset_type_code"] == "unidentified" and o["refund_secondary_status"] == "Funds Diverted"
        assert not o["is_type_identified"] and o["dispute_with"] == "CBP Revenue Division"

    for o in offsets:
        assert o["entry_count"] > 0 and o["entry_summary_numbers"], o["offset_key"]
        if o["offset_type"] == "CBP Debt":
            assert o["dispute_with"] == "CBP Revenue Division"
        elif not o["is_inferred"]:
            assert o["dispute_with"] == o["originating_agency"] != "CBP"


def test_a_debt_spanning_several_refunds_is_one_debt(warehouse, world):
    truth = defaultdict(set)
    for o in _truth("offsets.csv"):
        if o["debt_reference"]:
            truth[o["debt_reference"]].add(o["refund_number"])
    spanning = {ref: refunds for ref, refunds in truth.items() if len(refunds) > 1}
    assert spanning
    if not any(f["has_offset_columns"] == "Y" for f in _truth("files.csv", world) if f["report_code"] == "rev603"):
        # No export names a debt: each inferred offset is a debt of its own refund, never merged on a guess.
        debts = _rows(warehouse, "select * from marts.fct_offset_debts")
        assert debts and all(d["refund_count"] == 1 and d["debt_reference"] is None for d in debts)
        return
    debts = {
        d["debt_reference"]: d for d in _rows(warehouse, "select * from marts.fct_offset_debts") if d["debt_reference"]
    }
    for ref, refunds in spanning.items():
        assert debts[ref]["refund_count"] == len(refunds)
        assert set(debts[ref]["refund_numbers"].split(", ")) == refunds
        amounts = sum((_dec(o["amount"]) for o in _truth("offsets.csv") if o["debt_reference"] == ref), ZERO)
        assert debts[ref]["total_offset_amount"] == amounts


def test_claim_status_covers_every_declared_entry(warehouse, world):
    claims = _rows(warehouse, "select * from marts.fct_claim_status")
    entries = {e["entry_number"]: e for e in _truth("entries.csv")}
    assert len({(c["cape_declaration_number"], c["entry_summary_number"]) for c in claims}) == len(claims)
    has_error_text = not any(
        "error_description" in f["columns_omitted"] or f["layout_variant"] == "importer_tool_2026"
        for f in _truth("files.csv", world)
        if f["report_code"] == "es022"
    )
    for c in claims:
        if c["is_rejected"]:
            # the ES-022 layout found in real exports carries no error text: a rejection is known, its reason not
            assert c["claim_stage"] == "rejected" and (bool(c["error_description"]) == has_error_text)
        if c["is_latest_for_entry"]:
            truth = entries[c["entry_summary_number"]]
            assert c["cape_declaration_number"] == truth["cape_declaration_number"]
            if truth["refund_number"] and c["is_accepted"]:
                assert c["refund_number"] == truth["refund_number"]
    assert any(c["is_paid"] for c in claims) and any(c["is_held"] for c in claims)
    declarations = _rows(warehouse, "select * from marts.fct_claim_status_declarations")
    assert {d["cape_declaration_number"] for d in declarations} == {c["cape_declaration_number"] for c in claims}
    assert sum(d["entry_count"] for d in declarations) == len(claims)


def test_worklist_is_ordered_by_value_and_chases_the_held_money_and_open_debts(warehouse, recon):
    items = _rows(warehouse, "select * from marts.fct_refund_worklist order by item_rank")
    assert [i["item_rank"] for i in items] == list(range(1, len(items) + 1))
    assert [i["amount"] for i in items] == sorted((i["amount"] for i in items), reverse=True)
    held = {n for n, r in recon.items() if r["is_ach_held"]}
    assert {i["subject_id"] for i in items if i["reason_code"] == "ach_returned_held"} == held
    debts = _rows(warehouse, "select debt_key from marts.fct_offset_debts where not is_closed")
    assert {i["debt_key"] for i in items if i["debt_key"]} == {d["debt_key"] for d in debts}
    assert all(i["next_action"] and i["chase_with"] for i in items)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def test_expected_interest_on_rates_not_confirmed_says_so(recon):
    """A refund whose expected interest runs through a quarter whose rate is not CONFIRMED (the seed's status,
    docs/DOMAIN.md section 5) says so; the quarters come from the truth's deposit and CAPE liquidation dates."""
    with (PROJECT_ROOT / "dbt_project" / "seeds" / "interest_rates.csv").open(newline="", encoding="utf-8") as f:
        status = {dt.date.fromisoformat(r["quarter_start"]): r["status"] for r in csv.DictReader(f)}
    unconfirmed = defaultdict(bool)
    for e in _truth("entries.csv"):
        if not e["refund_number"] or _dec(e["ieepa_principal"]) == 0:
            continue
        day, end = dt.date.fromisoformat(e["deposit_date"]), dt.date.fromisoformat(e["cape_liquidation_date"])
        quarters = set()
        while day < end:
            quarters.add(_quarter_start(day))
            day += dt.timedelta(days=1)
        unconfirmed[e["refund_number"]] |= any(status.get(q, "ASSUMED") != "CONFIRMED" for q in quarters)
    assert any(
        unconfirmed.values()
    )  # CAPE pays from 2026Q2, a SECONDARY quarter (a CONFIRMED-only refund: test_interest)
    for number, flag in unconfirmed.items():
        assert recon[number]["expected_interest_uses_unverified_rate"] == flag, number


def test_held_refunds_count_their_days_and_cost_no_interest_after_liquidation(recon):
    """Interest runs to the (re)liquidation (docs/DOMAIN.md section 5) and CBP holds a refund after it certified it: the
    hold counts its days but suspends none of the interest period."""
    held = _held_refunds()
    assert held
    liquidated = {e["refund_number"]: e["cape_liquidation_date"] for e in _truth("entries.csv") if e["refund_number"]}
    for number in held:
        r = recon[number]
        assert r["is_ach_held"] and r["ach_hold_end_date"] is None, number
        assert r["ach_hold_start_date"] > dt.date.fromisoformat(liquidated[number]), number
        assert r["ach_held_days"] == (dt.date.fromisoformat(AS_OF) - r["ach_hold_start_date"]).days, number
    assert all(r["interest_suspended_days_max"] == 0 for r in recon.values())
