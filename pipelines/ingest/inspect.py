"""``refunds inspect FILE...``: what the pipeline makes of an export before it is dropped in the landing folder.

For each file: which report and which layout variant it matched (and what else it could have been), the header to
column mapping, the optional columns it lacks and what each costs downstream, and for a header it could not place,
the alias line that would place it. Nothing is written to the warehouse; scratch files go to a temporary folder.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingest.files import display_name, find_header, fingerprint, unsupported
from pipelines.ingest.headers import Match, Refusal, classify, load_aliases, normalise
from pipelines.settings import Settings
from pipelines.warehouse.layouts import REPORTS, Report


@dataclass
class Inspection:
    file: Path
    report: Report | None = None
    match: Match | None = None
    file_format: str | None = None
    header_line: int | None = None
    headers: list[str] = field(default_factory=list)
    refusal: str | None = None
    unplaced: list[tuple[str, str | None]] = field(default_factory=list)  # (header, suggested column)


def missing_costs(report: Report, missing: list[str]) -> list[tuple[str, str]]:
    """(column, what its absence costs) for the optional columns of ``missing`` that something downstream reads."""
    return [(c.name, c.when_missing) for c in report.columns if c.name in missing and c.when_missing]


def _suggest(report: Report, header: str, taken: set[str]) -> str | None:
    """The column of ``report`` whose known header texts look most like ``header`` (none when nothing is close)."""
    candidates = {normalise(t): c.name for c in report.columns if c.name not in taken for t in report.headers(c.name)}
    close = difflib.get_close_matches(normalise(header), list(candidates), n=1, cutoff=0.6)
    return candidates[close[0]] if close else None


def inspect_file(path: Path, settings: Settings) -> Inspection:
    aliases = load_aliases(settings.header_aliases_file)
    result = Inspection(path)
    headers: list[str] = []
    try:
        refusal = unsupported(path.name)
        if refusal is not None:
            raise refusal
        header = find_header(fingerprint(path, display_name(path.name)), settings, aliases)
        headers = header.cells
        result.file_format, result.header_line, result.headers = header.file_format, header.line, headers
        match = classify(headers, aliases, path.name)
    except Refusal as refusal:
        result.refusal = f"{refusal.code}: {refusal}"
        closest = _closest_report(headers, aliases)
        if closest is not None:
            result.report = closest
            taken = {aliases[closest.code].get(normalise(h)) for h in headers}
            result.unplaced = [
                (h, _suggest(closest, h, taken))
                for h in headers
                if h.strip() and normalise(h) not in aliases[closest.code]
            ]
        return result
    result.report, result.match = match.report, match
    taken = set(match.positions)
    result.unplaced = [(h, _suggest(match.report, h, taken)) for h in match.ignored_headers]
    return result


def _closest_report(headers: list[str], aliases) -> Report | None:
    scores = {code: sum(normalise(h) in aliases[code] for h in headers) for code in REPORTS}
    code = max(scores, key=scores.get, default=None)
    return REPORTS[code] if code and scores[code] >= 2 else None


def describe(result: Inspection, alias_file: Path) -> list[str]:
    """The inspection as lines of text for the console."""
    lines = [str(result.file)]
    if result.refusal:
        lines.append(f"  refused       {result.refusal}")
    if result.match:
        m, r = result.match, result.report
        v = m.variant
        lines.append(f"  report        {r.title} ({r.code})")
        lines.append(f"  layout        {v.name} ({v.status}: {v.source})")
        lines.append(f"  read as       {result.file_format}, header on line {result.header_line}")
        if m.note:
            lines.append(f"  note          {m.note}")
        lines.append("  columns")
        by_position = sorted(m.positions.items(), key=lambda kv: kv[1])
        for column, i in by_position:
            required = "  (required)" if r.column(column).required else ""
            lines.append(f"                {result.headers[i]!r} -> {column}{required}")
        costs = missing_costs(r, m.missing_optional)
        quiet = [c for c in m.missing_optional if c not in dict(costs)]
        if costs:
            lines.append("  lacks         (what each costs downstream)")
            lines += [f"                {column}: {cost}" for column, cost in costs]
        if quiet:
            lines.append(f"  lacks also    {', '.join(quiet)} (no further cost)")
    if result.unplaced and result.report:
        lines.append(f"  not placed    (add a line to {alias_file} if the header is one of these columns)")
        for header, column in result.unplaced:
            hint = f"{result.report.code},{column},{header}" if column else f"{result.report.code},<column>,{header}"
            lines.append(f"                {header!r}: {hint}")
    return lines
