"""The ACE report layouts the pipeline reads: the project's contract for each export, loaded from
``report_layouts.yaml`` beside this module (the one place to read and extend them).

Each report lists every column any known layout carries, and its layout variants (the one found in real exports,
the earlier assumed one, ...). A column is required only when every variant has it; the rest are optional, and
what an export without one costs downstream is written beside it (``when_missing``).

Column kinds and how ingestion parses them (set-based, in DuckDB):
  entry_number  upper-cased, dashes and spaces removed, flagged when malformed or the check digit fails
  text          trimmed, empty -> NULL
  code          trimmed, upper-cased, left-padded with zeros to ``width`` when Excel dropped them
  hts           digits only; 7 or 9 digits are left-padded to 8 or 10 (Excel drops a leading zero)
  int           whole number
  decimal       number, exact, up to 6 decimals (quantities)
  money         ``$1,234.56``, ``(12.00)`` or ``-12.00`` -> DECIMAL(18,2); more than 2 decimals is refused
  date          ``MM/DD/YYYY`` (zero padding optional) or ISO ``YYYY-MM-DD``
  flag          Y/N, Yes/No, True/False, 1/0, X (= yes) -> BOOLEAN
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

LAYOUTS_FILE = Path(__file__).with_name("report_layouts.yaml")
KINDS = ("entry_number", "text", "code", "hts", "int", "decimal", "money", "date", "flag")


class LayoutError(ValueError):
    """The layouts file contradicts itself; the message names the report and the column."""


@dataclass(frozen=True)
class Column:
    name: str  # column name in the raw table
    header: str  # the header text of the first variant that has the column (matched case- and punctuation-blind)
    kind: str
    required: bool = False  # the header must be present, or the file is refused
    not_null: bool = False  # a row without a value is quarantined
    width: int | None = None  # zero-padding width for codes
    aliases: tuple[str, ...] = ()  # every other header text known for the column
    when_missing: str | None = None  # what an export without the column costs downstream


@dataclass(frozen=True)
class Variant:
    name: str
    status: str  # CONFIRMED | SECONDARY | ASSUMED
    source: str
    headers: tuple[tuple[str, str], ...]  # (header text, column name) in file order

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for _, c in self.headers)


@dataclass(frozen=True)
class Report:
    code: str  # es003, es022, ...
    title: str
    table: str  # raw table name (schema raw)
    key: tuple[str, ...]  # business key; the newest export of a key wins in staging
    columns: tuple[Column, ...] = field(default_factory=tuple)
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    file_names: tuple[str, ...] = ()  # words of a file name that point at this report

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def headers(self, name: str) -> tuple[str, ...]:
        """Every header text known for a column: each variant's, then the aliases."""
        column = self.column(name)
        texts = [h for v in self.variants for h, c in v.headers if c == name] + list(column.aliases)
        return tuple(dict.fromkeys(texts))


def _report(code: str, spec: dict) -> Report:
    variants = tuple(
        Variant(name, v["status"], " ".join(str(v["source"]).split()), tuple(v["headers"].items()))
        for name, v in spec["variants"].items()
    )
    columns = []
    for name, c in spec["columns"].items():
        if c["kind"] not in KINDS:
            raise LayoutError(f"{code}.{name}: unknown kind {c['kind']!r}; known: {KINDS}")
        in_variants = [v for v in variants if name in v.columns]
        required = bool(c.get("required", False))
        if required and len(in_variants) != len(variants):
            missing = [v.name for v in variants if v not in in_variants]
            raise LayoutError(f"{code}.{name} is required but variant(s) {missing} lack it")
        first = next((h for v in in_variants for h, col in v.headers if col == name), None)
        aliases = tuple(c.get("aliases", ()))
        when_missing = " ".join(str(c["when_missing"]).split()) if c.get("when_missing") else None
        columns.append(
            Column(
                name,
                first or aliases[0] if (first or aliases) else name,
                c["kind"],
                required,
                bool(c.get("not_null", required)),
                c.get("width"),
                aliases,
                when_missing,
            )
        )
    names = {c.name for c in columns}
    for v in variants:
        unknown = set(v.columns) - names
        if unknown:
            raise LayoutError(f"{code} variant {v.name}: unknown column(s) {sorted(unknown)}")
    unknown_key = set(spec["key"]) - names
    if unknown_key:
        raise LayoutError(f"{code}: key column(s) {sorted(unknown_key)} are not columns")
    return Report(
        code,
        spec["title"],
        spec["table"],
        tuple(spec["key"]),
        tuple(columns),
        variants,
        tuple(spec.get("file_names", ())),
    )


def load_layouts(path: Path = LAYOUTS_FILE) -> dict[str, Report]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {code: _report(code, s) for code, s in spec.items()}


REPORTS: dict[str, Report] = load_layouts()
