"""Header matching: which report (and which layout variant) a file is, and which file column feeds which raw column.

A header cell matches a layout column when, lower-cased and stripped of everything but letters and digits, it
equals one of the column's header texts (any variant's, or an alias from report_layouts.yaml), its raw column name,
or an alias from the user's alias table.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.warehouse.layouts import REPORTS, Report, Variant


class AliasFileError(ValueError):
    pass


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def load_aliases(path: Path) -> dict[str, dict[str, str]]:
    """{report_code: {normalised header: column name}}, the layouts' own headers plus the user's aliases."""
    table: dict[str, dict[str, str]] = {}
    for code, r in REPORTS.items():
        table[code] = {normalise(c.name): c.name for c in r.columns}
        for c in r.columns:
            for text in r.headers(c.name):
                table[code].setdefault(normalise(text), c.name)
    if not path.exists():
        return table
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or {"report_code", "column_name", "header"} - set(reader.fieldnames):
            raise AliasFileError(f"{path}: the header must be report_code,column_name,header")
        for line, row in enumerate(reader, start=2):
            code, column, header = (row["report_code"] or "").strip().lower(), row["column_name"], row["header"]
            if code not in REPORTS:
                raise AliasFileError(f"{path}, line {line}: unknown report_code {code!r}; known: {sorted(REPORTS)}")
            names = {c.name for c in REPORTS[code].columns}
            if column not in names:
                raise AliasFileError(f"{path}, line {line}: {code} has no column {column!r}; known: {sorted(names)}")
            key = normalise(header or "")
            if not key:
                raise AliasFileError(f"{path}, line {line}: empty header")
            if table[code].get(key, column) != column:
                raise AliasFileError(
                    f"{path}, line {line}: header {header!r} already maps to {table[code][key]!r} in {code}"
                )
            table[code][key] = column
    return table


@dataclass(frozen=True)
class Match:
    report: Report
    positions: dict[str, int]  # raw column name -> 0-based position in the file
    missing_optional: list[str]
    ignored_headers: list[str]
    variant: Variant | None = None  # the known layout the header is closest to
    note: str | None = None  # how the report was told apart from another that also fits


class Refusal(Exception):
    """The whole file is refused; the message says why, naming the file's problem in the user's terms."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Fit:
    report: Report
    positions: dict[str, int]
    missing_required: list[str]
    duplicates: list[str]
    ignored: list[str]
    named: bool  # the file name points at this report

    @property
    def complete(self) -> bool:
        return not self.missing_required

    @property
    def explained(self) -> int:
        return len(self.positions)


def _fit(report: Report, headers: list[str], aliases: dict[str, str], file_name: str) -> _Fit:
    positions: dict[str, int] = {}
    duplicates: list[str] = []
    ignored: list[str] = []
    for i, h in enumerate(headers):
        col = aliases.get(normalise(h))
        if col is None:
            if h.strip():
                ignored.append(h)
        elif col in positions:
            duplicates.append(f"{headers[positions[col]]!r} and {h!r} both map to {col}")
        else:
            positions[col] = i
    missing = [c.header for c in report.required if c.name not in positions]
    named = any(normalise(hint) in normalise(file_name) for hint in report.file_names)
    return _Fit(report, positions, missing, duplicates, ignored, named)


def closest_variant(report: Report, columns: set[str]) -> Variant:
    """The variant sharing the most columns with the file, then missing the fewest of its own."""
    return max(report.variants, key=lambda v: (len(columns & set(v.columns)), -len(set(v.columns) - columns)))


def classify(headers: list[str], aliases: dict[str, dict[str, str]], file_name: str = "") -> Match:
    """The report a header row belongs to, or a Refusal naming the closest report and its missing columns.

    The whole header is weighed: among the reports whose required columns are all present, the one that explains
    the most of the file's columns wins (ES-022 carries every required REV-615 column; a real ES-022 carries a
    refund number, date and status like a REV-603). When two explain as many, the file name decides; when it
    cannot, the file is refused as ambiguous, naming both.
    """
    fits = [_fit(r, headers, aliases[code], file_name) for code, r in REPORTS.items()]
    complete = sorted((f for f in fits if f.complete), key=lambda f: f.explained, reverse=True)
    if complete:
        best, note = complete[0], None
        rivals = [f for f in complete[1:] if f.explained == best.explained]
        if rivals:
            named = [f for f in [best, *rivals] if f.named]
            if len(named) != 1:
                names = " and ".join(f.report.title for f in [best, *rivals])
                raise Refusal(
                    "ambiguous_report",
                    f"the header fits {names} equally and the file name does not say which: name the file after "
                    "its report (e.g. ES-022_...csv) or add a distinguishing column",
                )
            best = named[0]
            note = f"the header fits {len(rivals) + 1} reports equally; the file name says {best.report.title}"
        runner_up = next((f for f in complete if f is not best), None)
        if note is None and runner_up is not None:
            note = (
                f"also fits {runner_up.report.title} ({runner_up.explained} of {len(headers)} columns, against "
                f"{best.explained})"
            )
        if best.duplicates:
            raise Refusal("duplicate_columns", f"{best.report.title}: " + "; ".join(best.duplicates))
        report = best.report
        missing_optional = [c.name for c in report.columns if c.name not in best.positions]
        variant = closest_variant(report, set(best.positions))
        return Match(report, best.positions, missing_optional, best.ignored, variant, note)
    closest = max(fits, key=lambda f: (f.explained, f.named, -len(f.missing_required)))
    if closest.explained >= 2:
        raise Refusal(
            "required_column_missing",
            f"looks like {closest.report.title} but the required column(s) "
            + ", ".join(repr(m) for m in closest.missing_required)
            + " cannot be found (add the export's header text to the header alias table if it is named differently)",
        )
    shown = ", ".join(repr(h) for h in headers[:8]) + (" ..." if len(headers) > 8 else "")
    raise Refusal("unknown_report", f"not a known ACE report export: header row {shown} matches no layout")


def header_score(cells: list[str], aliases: dict[str, dict[str, str]]) -> int:
    """How many cells of a row are known header texts of one report (the best report)."""
    keys = [normalise(c) for c in cells if c.strip()]
    return max((sum(k in a for k in keys) for a in aliases.values()), default=0)


def looks_like_header(cells: list[str], aliases: dict[str, dict[str, str]]) -> bool:
    """A header row: at least three cells are one report's header texts, and they are most of the row's cells.

    Title and prompt rows above the header ("Refund Date: 01/01/2026 - 03/31/2026", "Importer Number | 12-34...")
    can name a column or two; a header names many, and little else.
    """
    filled = sum(1 for c in cells if c.strip())
    score = header_score(cells, aliases)
    return score >= 3 and score * 2 >= filled
