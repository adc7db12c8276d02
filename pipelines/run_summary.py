"""What a run did and what the pipeline holds, in the words the command line prints (``refunds run`` at its end,
``refunds status``).

Everything is read, never written: the warehouse through a read-only connection (only while the reader holds the
run lock, or when no run holds it), the Dagster instance's run records, the export manifest, the published
copy's ``published.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from pipelines.console import counts


@cache
def gate_check_names() -> frozenset[str]:
    """The data-quality gate: the Great Expectations suites that block the export."""
    from pipelines.quality.checks import quality_checks

    return frozenset(key.name for check in quality_checks for key in check.check_keys)


@cache
def ingest_check_names() -> frozenset[str]:
    from pipelines.ingest.assets import ingest_checks

    return frozenset(key.name for check in ingest_checks for key in check.check_keys)


@dataclass
class CheckTally:
    """A run's asset check evaluations, sorted into the gate, the ingest checks and dbt's tests."""

    gate_passed: list = field(default_factory=list)
    gate_failed: list = field(default_factory=list)
    ingest_passed: list = field(default_factory=list)
    ingest_failed: list = field(default_factory=list)
    tests_passed: list = field(default_factory=list)
    tests_warned: list = field(default_factory=list)  # failed with severity warn: a warning, the run goes on
    tests_failed: list = field(default_factory=list)  # failed with severity error: blocks what is downstream

    @classmethod
    def of(cls, evaluations) -> CheckTally:
        tally = cls()
        gate, ingest = gate_check_names(), ingest_check_names()
        for e in evaluations:
            if e.check_name in gate:
                (tally.gate_passed if e.passed else tally.gate_failed).append(e)
            elif e.check_name in ingest:
                (tally.ingest_passed if e.passed else tally.ingest_failed).append(e)
            elif e.passed:
                tally.tests_passed.append(e)
            elif is_warning(e):
                tally.tests_warned.append(e)
            else:
                tally.tests_failed.append(e)
        return tally

    def gate_text(self) -> str:
        """The gate's result, in one phrase."""
        if self.gate_failed:
            names = ", ".join(sorted(e.check_name for e in self.gate_failed))
            return f"BLOCKED by {names}: no CAPE file was written"
        total, passed = len(gate_check_names()), len(self.gate_passed)
        if passed < total:
            return f"not reached: {total - passed} of {total} GX suites did not run (the run stopped before them)"
        return f"passed: all {total} GX suites"

    def tests_text(self) -> str:
        tests = len(self.tests_passed) + len(self.tests_warned) + len(self.tests_failed)
        parts = [f"{len(self.tests_passed):,} dbt tests passed" if tests else "no dbt test ran"]
        if self.tests_warned:
            parts.append(f"{len(self.tests_warned)} warned")
        if self.tests_failed:
            parts.append(f"{len(self.tests_failed)} FAILED")
        ingest = len(self.ingest_passed) + len(self.ingest_failed)
        if ingest:
            parts.append(
                f"ledger checks {len(self.ingest_passed)} of {ingest} passed"
                if self.ingest_failed
                else f"{ingest} ledger check(s) passed"
            )
        return ", ".join(parts)


def is_warning(evaluation) -> bool:
    """A failed check of severity warn is a warning (the run goes on), not a failure."""
    severity = getattr(evaluation, "severity", None)
    return getattr(severity, "value", severity) == "WARN"


def check_message(evaluation) -> str:
    what = "warning" if is_warning(evaluation) else "FAILED"
    description = " ".join((evaluation.description or "").split())
    return f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} {what}" + (
        f": {description}" if description else ""
    )


def evaluations_in_instance(instance, run_id: str) -> list:
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records]


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def export_manifest(exports_dir: Path, as_of: str) -> dict | None:
    return read_json(Path(exports_dir) / as_of / "manifest.json")


def latest_export(exports_dir: Path) -> tuple[Path, dict] | None:
    """The export folder with the latest as_of date (folders are named by it), with its manifest."""
    folders = sorted(p for p in Path(exports_dir).glob("*") if p.is_dir() and not p.name.startswith("."))
    for folder in reversed(folders):
        manifest = read_json(folder / "manifest.json")
        if manifest is not None:
            return folder, manifest
    return None


@dataclass
class WarehouseFacts:
    """What the warehouse says about one run (its files) and about the as_of marts it built."""

    inventory: dict[str, int] = field(default_factory=dict)  # landing folder: status -> files, this run
    loads: tuple = (0, 0, 0, 0, 0)  # this run: files loaded, refused, rows read, loaded, quarantined
    quarantined: list[tuple[str, int]] = field(default_factory=list)  # this run: reason_code, rows
    refused: list[tuple[str, str]] = field(default_factory=list)  # this run: file, reason
    statuses: dict[str, int] | None = None  # fct_entry_eligibility: status -> entries (None: not built)
    ineligible: list[tuple[str, int]] = field(default_factory=list)  # first reason -> entries
    to_review: list[tuple[str, int]] = field(default_factory=list)
    worklist: list[tuple[str, int]] | None = None  # fct_refund_worklist: reason_code -> items


def warehouse_facts(con: duckdb.DuckDBPyConnection, run_id: str) -> WarehouseFacts:
    facts = WarehouseFacts()
    facts.inventory = dict(
        _rows(con, "select status, count(*) from ingest.landing_inventory where run_id = ? group by 1", [run_id])
    )
    loads = _rows(
        con,
        """
        select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'refused'),
            coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
        from ingest.file_ledger where run_id = ?
        """,
        [run_id],
    )
    facts.loads = tuple(loads[0]) if loads else facts.loads
    facts.quarantined = _rows(
        con,
        """
        select q.reason_code, count(*) from quarantine.rejected_rows q
        join ingest.file_ledger l using (load_id) where l.run_id = ? group by 1
        """,
        [run_id],
    )
    facts.refused = _rows(
        con,
        "select file_name, refusal_reason from ingest.file_ledger where status = 'refused' and run_id = ? "
        "order by load_id",
        [run_id],
    )
    statuses = _rows(con, "select eligibility_status, count(*) from marts.fct_entry_eligibility group by 1")
    facts.statuses = dict(statuses) if statuses is not None else None
    # Each entry counted once, under the first of its reasons (rule id order), so the counts add up.
    first_reason = """
        select coalesce(nullif(trim(split_part(reason_codes, ',', 1)), ''), 'no reason given'), count(*)
        from marts.fct_entry_eligibility where eligibility_status = ? group by 1
    """
    facts.ineligible = _rows(con, first_reason, ["ineligible"]) or []
    facts.to_review = _rows(con, first_reason, ["needs_review"]) or []
    facts.worklist = _rows(con, "select reason_code, count(*) from marts.fct_refund_worklist group by 1")
    return facts


def _rows(con, sql: str, params: list | None = None) -> list[tuple[Any, ...]] | None:
    """The query's rows, or None when a table it reads is not there (a run that stopped before building it)."""
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return None


def loads_text(facts: WarehouseFacts) -> str:
    loaded, refused, read, rows_loaded, quarantined = facts.loads
    inventory = dict(facts.inventory)
    new = inventory.pop("new", 0)
    if not new and not loaded and not refused:
        head = "nothing new"
    else:
        head = f"{loaded} loaded, {refused} refused: rows read {read:,}"
        head += f" = loaded {rows_loaded:,} + quarantined {quarantined:,}"
    rest = ", ".join(
        f"{n} {status.replace('_', ' ')}" for status, n in sorted(inventory.items()) if status != "refused"
    )
    return head + (f"; {rest}" if rest else "")


def held_back_text(facts: WarehouseFacts, exported: bool, awaiting: int | None) -> list[str]:
    """The entries not filed today and why: ineligible (by first reason), to review, awaiting CBP's answer; every
    entry when the run wrote no file."""
    if facts.statuses is None:
        return ["not known: the eligibility mart was not built"]
    ineligible = facts.statuses.get("ineligible", 0)
    review = facts.statuses.get("needs_review", 0)
    accepted = f"{facts.statuses.get('already_accepted', 0):,} already accepted earlier"
    if exported:
        head = f"{ineligible + review + (awaiting or 0):,} entries not filed: {ineligible:,} ineligible, "
        head += f"{review:,} to review" + (
            f", {awaiting:,} awaiting CBP's answer to an earlier file" if awaiting else ""
        )
        head += f"; {accepted}"
    else:
        head = (
            f"every entry, no file was written; by the rules {facts.statuses.get('eligible', 0):,} eligible, "
            f"{ineligible:,} ineligible, {review:,} to review; {accepted}"
        )
    lines = [head]
    if facts.ineligible:
        lines.append("ineligible, by first reason: " + counts(facts.ineligible))
    return lines


def review_text(facts: WarehouseFacts) -> str:
    parts = []
    if facts.statuses is not None:
        review = facts.statuses.get("needs_review", 0)
        parts.append(
            f"{review:,} entries (fct_entry_eligibility)" + (f": {counts(facts.to_review)}" if facts.to_review else "")
        )
    if facts.worklist is not None:
        items = sum(n for _, n in facts.worklist)
        parts.append(f"{items:,} refund items (fct_refund_worklist)" + (f": {counts(facts.worklist)}" if items else ""))
    loaded, refused, _, _, quarantined = facts.loads
    if quarantined:
        parts.append(f"{quarantined:,} quarantined rows: {counts(facts.quarantined)}")
    if refused:
        parts.append(f"{refused} refused file(s)")
    return "; ".join(parts) if parts else "nothing"


def export_text(manifest: dict | None, folder: Path, display) -> str:
    if manifest is None:
        return "none"
    files, entries = len(manifest.get("files", [])), manifest.get("entries", 0)
    if not files:
        return f"no entry to file as of {manifest.get('as_of')} (an empty set in {display(folder)})"
    principal = Decimal(manifest.get("ieepa_principal_amount") or "0")
    return (
        f"{files} file(s), {entries:,} entries, IEEPA principal {principal:,.2f}, in {display(folder)} "
        "(manifest.md lists them)"
    )
