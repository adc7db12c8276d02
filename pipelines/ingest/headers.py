"""Header matching: which report a file is, and which file column feeds which raw column.

A header cell matches a layout column when, lower-cased and stripped of everything but letters and digits,
it equals the column's ACE header text, its raw column name, or an alias from the user's alias table.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.layouts import REPORTS, Report


class AliasFileError(ValueError):
    pass


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def load_aliases(path: Path) -> dict[str, dict[str, str]]:
    """{report_code: {normalised header: column name}}, the layouts' own headers plus the user's aliases."""
    table: dict[str, dict[str, str]] = {
        code: {normalise(c.header): c.name for c in r.columns} | {normalise(c.name): c.name for c in r.columns}
        for code, r in REPORTS.items()
    }
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


class Refusal(Exception):
    """The whole file is refused; the message says why, naming the file's problem in the user's terms."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _match_report(report: Report, headers: list[str], aliases: dict[str, str]):
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
    missing_required = [c.header for c in report.required if c.name not in positions]
    return positions, missing_required, duplicates, ignored


def classify(headers: list[str], aliases: dict[str, dict[str, str]]) -> Match:
    """The report a header row belongs to, or a Refusal naming the closest report and its missing columns."""
    scored = []
    for code, report in REPORTS.items():
        positions, missing, duplicates, ignored = _match_report(report, headers, aliases[code])
        scored.append((report, positions, missing, duplicates, ignored))
    complete = [s for s in scored if not s[2]]
    if complete:
        # Several layouts can be satisfied (ES-022 carries every REV-615 required column): the one that explains
        # the most of the file's columns wins.
        complete.sort(key=lambda s: (len(s[1]), -len(s[4])), reverse=True)
        best = complete[0]
        if len(complete) > 1 and (len(complete[1][1]), -len(complete[1][4])) == (len(best[1]), -len(best[4])):
            names = " and ".join(s[0].title for s in complete[:2])
            raise Refusal("ambiguous_report", f"the header fits both {names} equally; add a distinguishing column")
        report, positions, _, duplicates, ignored = best
        if duplicates:
            raise Refusal("duplicate_columns", f"{report.title}: " + "; ".join(duplicates))
        missing_optional = [c.name for c in report.columns if c.name not in positions]
        return Match(report, positions, missing_optional, ignored)
    closest = max(scored, key=lambda s: (len(s[1]), -len(s[2])))
    report, positions, missing = closest[0], closest[1], closest[2]
    if len(positions) >= 2:
        raise Refusal(
            "required_column_missing",
            f"looks like {report.title} but the required column(s) "
            + ", ".join(repr(m) for m in missing)
            + " cannot be found (add the export's header text to the header alias table if it is named differently)",
        )
    shown = ", ".join(repr(h) for h in headers[:8]) + (" ..." if len(headers) > 8 else "")
    raise Refusal("unknown_report", f"not a known ACE report export: header row {shown} matches no layout")


def looks_like_header(cells: list[str], aliases: dict[str, dict[str, str]]) -> bool:
    known = set().union(*(set(a) for a in aliases.values()))
    return sum(normalise(c) in known for c in cells if c.strip()) >= 2
