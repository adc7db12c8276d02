"""The mart catalog, docs/MART_CATALOG.md, written from the dbt YAML so it never repeats it by hand.

Every model under dbt_project/models/marts/ and dbt_project/models/reporting/ (the folder names its schema): its
description, every column with its description, and what guards it: the data tests of the model and of each
column (with their arguments, and ``warn`` when a failure only warns), the singular tests under dbt_project/tests/
that read it, and the names of its dbt unit tests. A model's ``not_null_columns`` test (one test over all its
not-null columns) is shown as ``not_null`` on each column it lists. The text depends on the YAML alone (files in
path order, columns in YAML order), so the same YAML always gives the same file; a test compares the committed file
with it.

    python -m pipelines.reports.catalog      (make catalog)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

from pipelines.settings import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"
CATALOG_PATH = PROJECT_ROOT / "docs" / "MART_CATALOG.md"
SCHEMAS = ("marts", "reporting")  # folders under models/, each built into the schema of its name (dbt_project.yml)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same result, 10 times faster

HEADER = """\
# Mart catalog

Every model of the schemas `marts` (in the analysts' published copy) and `reporting` (the run's key figures, in the
warehouse), every column, and the tests that guard them. **Generated** from the dbt YAML beside each model by
`make catalog` (`python -m pipelines.reports.catalog`): edit the YAML, then run it; a test fails when this file is
not what the YAML gives. The same descriptions are the table and column comments of the published copy and the
pages of the dbt docs site. How to use the marts: [ANALYSTS.md](ANALYSTS.md).

A data test stops the run when it fails (dbt severity `error`, the default) unless it is marked *warn*. Unit tests
check a model's logic on fixed inputs in `make test`, not on the day's data.
"""


def catalog_text(dbt_dir: Path = DBT_DIR) -> str:
    """The catalog's Markdown for the dbt project in ``dbt_dir``."""
    singular = _singular_tests(dbt_dir / "tests")
    groups: dict[str, list[tuple[Path, dict, list[str]]]] = {}
    for schema in SCHEMAS:
        for path in sorted((dbt_dir / "models" / schema).rglob("*.yml")):
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
            units: dict[str, list[str]] = {}
            for unit in document.get("unit_tests") or []:
                units.setdefault(unit["model"], []).append(unit["name"])
            group = "/".join(path.relative_to(dbt_dir / "models").parent.parts)
            for model in document.get("models") or []:
                groups.setdefault(group, []).append((path, model, units.get(model["name"], [])))

    contents, sections = ["## Contents", ""], []
    for group, models in groups.items():
        contents.append(f"- {group}")
        for path, model, units in models:
            name = f"{group.split('/')[0]}.{model['name']}"
            contents.append(f"  - [{name}](#{_anchor(name)})")
            sections.append(_model_section(name, path.relative_to(dbt_dir.parent), model, units, singular))
    return "\n".join([HEADER, *contents, "", *sections]).rstrip("\n") + "\n"


def _model_section(name: str, source: Path, model: dict, units: list[str], singular: dict) -> str:
    lines = [f"## {name}", "", _text(model.get("description", "")), ""]
    table_tests, not_null = _not_null_columns(model.get("data_tests") or [])
    guards = [
        ("Tests on the table", ", ".join(_test(t) for t in table_tests)),
        ("Singular tests", ", ".join(f"`{t}`" for t in singular.get(model["name"], []))),
        ("Unit tests", ", ".join(f"`{u}`" for u in units)),
    ]
    lines += [f"- {label}: {text}." for label, text in guards if text]
    lines += [f"- YAML: [{source.as_posix()}](../{source.as_posix()})", ""]
    lines += ["| column | description | tests |", "|---|---|---|"]
    for column in model.get("columns") or []:
        tests = ", ".join(_test(t) for t in not_null.get(column["name"], []) + (column.get("data_tests") or []))
        lines.append(f"| `{column['name']}` | {_cell(_text(column.get('description', '')))} | {_cell(tests)} |")
    return "\n".join(lines) + "\n"


def _not_null_columns(tests: list) -> tuple[list, dict[str, list]]:
    """The model's tests other than ``not_null_columns``, and that test spread over its columns as ``not_null``
    (with its config): one dbt test checks them all, the catalog shows each column's guard where it is read."""
    others, by_column = [], {}
    for test in tests:
        if isinstance(test, dict) and "not_null_columns" in test:
            body = test["not_null_columns"] or {}
            per_column = {"not_null": {"config": body["config"]}} if body.get("config") else "not_null"
            for column in body["arguments"]["column_names"]:
                by_column.setdefault(column, []).append(per_column)
        else:
            others.append(test)
    return others, by_column


def _test(test: str | dict) -> str:
    """A data test as a reader wants it: its name, what it compares with, and *warn* when it only warns."""
    if isinstance(test, str):
        return f"`{test}`"
    ((name, body),) = test.items()
    body = body or {}
    args = body.get("arguments") or {}
    if name == "accepted_values":
        detail = ", ".join(str(v) for v in args["values"])
    elif name == "relationships":
        detail = f"{_ref(args['to'])}.{args['field']}"
    elif name == "unique_combination":
        detail = ", ".join(args["combination_of_columns"])
    else:
        detail = ", ".join(f"{k} {_ref(v)}" for k, v in args.items())
    severity = " *warn*" if (body.get("config") or {}).get("severity") == "warn" else ""
    return f"`{name}`" + (f" ({detail})" if detail else "") + severity


def _ref(value) -> str:
    """``ref('model')`` as the model's name; anything else as written."""
    match = re.fullmatch(r"""ref\(\s*['"](\w+)['"]\s*\)""", str(value))
    return match.group(1) if match else str(value)


def _singular_tests(tests_dir: Path) -> dict[str, list[str]]:
    """The singular data tests (dbt_project/tests/*.sql, not the generic ones) by the models they ref()."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.glob("*.sql")):
        for model in sorted(set(re.findall(r"""ref\(\s*['"](\w+)['"]\s*\)""", path.read_text(encoding="utf-8")))):
            found.setdefault(model, []).append(path.stem)
    return found


def _text(description: str) -> str:
    """A YAML description as one Markdown line: whitespace collapsed, and outside `code` the characters that
    Markdown would read as markup (emphasis, links, HTML tags) escaped, so the text shows as written."""
    parts = re.split(r"(`[^`]*`)", " ".join(str(description).split()))
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        text = re.sub(r"([\\*\[\]<])", r"\\\1", parts[i])
        parts[i] = re.sub(r"(?<![A-Za-z0-9_])_|_(?![A-Za-z0-9_])", r"\\_", text)  # only at a word's edge
    return "".join(parts)


def _cell(text: str) -> str:
    """Text inside a table cell: a pipe would end the cell, even inside `code`."""
    return text.replace("|", "\\|")


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than - and _ dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def write_catalog(path: Path = CATALOG_PATH, dbt_dir: Path = DBT_DIR) -> bool:
    """Write the catalog (under a temporary name, then renamed); True when the file changed."""
    text = catalog_text(dbt_dir)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8", newline="\n")
    os.replace(scratch, path)
    return True


def main() -> int:
    changed = write_catalog()
    print(f"{CATALOG_PATH.relative_to(PROJECT_ROOT)} {'written' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
