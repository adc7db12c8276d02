"""The documentation's own checks, fast (no warehouse, no dbt run): the mart catalog is what the dbt YAML gives and
shows every description as written; every relative link of the README and docs/ leads to a file, and to a heading
of it, that exists."""

from __future__ import annotations

import functools
import html
import importlib
import re
import textwrap
from pathlib import Path
from urllib.parse import unquote

import yaml
from dagster import AssetChecksDefinition
from markdown_it import MarkdownIt

from pipelines.reports.catalog import CATALOG_PATH, DBT_DIR, YAML_LOADER, catalog_text, write_catalog
from tests.conftest import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
MARKDOWN = MarkdownIt("commonmark").enable("table")


def test_the_committed_mart_catalog_is_what_the_dbt_yaml_gives():
    assert CATALOG_PATH.read_text(encoding="utf-8") == catalog_text(), (
        "docs/MART_CATALOG.md is not what the dbt YAML gives: run `make catalog` and commit it"
    )


def test_the_catalog_shows_every_mart_and_every_description_as_written():
    """Rendered as Markdown, the catalog has a section per model file of marts/ and reporting/ (found by the .sql
    files, not the YAML) and shows every description of their YAML word for word: nothing read as markup."""
    rendered = MARKDOWN.render(CATALOG_PATH.read_text(encoding="utf-8"))
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", "", rendered)).split())
    sections = set(re.findall(r"<h2>(\w+\.\w+)</h2>", rendered))
    models = {f"{p.relative_to(DBT_DIR / 'models').parts[0]}.{p.stem}" for p in _model_sql("marts", "reporting")}
    assert sections == models and len(models) > 15
    missing = []
    for path in _model_yaml("marts", "reporting"):
        for model in yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)["models"]:
            for node in [model, *model.get("columns", [])]:
                # as written: `code` in a description is meant as code, shown without its backticks
                if " ".join(node["description"].replace("`", "").split()) not in shown:
                    missing.append(f"{model['name']}.{node['name']}")
    assert not missing, f"descriptions not shown as written: {missing[:10]}"


def test_the_catalog_gives_each_column_its_description_and_tests(tmp_path):
    """A tiny dbt project written here: what the catalog must say of it, by hand."""
    (tmp_path / "models" / "marts" / "refunds").mkdir(parents=True)
    (tmp_path / "models" / "intermediate").mkdir()
    (tmp_path / "tests" / "generic").mkdir(parents=True)
    (tmp_path / "models" / "intermediate" / "int_debts.yml").write_text(
        "version: 2\nmodels:\n  - name: int_debts\n    description: Not a mart.\n    columns: []\n"
    )
    (tmp_path / "models" / "marts" / "refunds" / "fct_debts.yml").write_text(
        textwrap.dedent(
            """\
            version: 2
            models:
              - name: fct_debts
                description: >
                  One row per debt: <importer>/<type>,
                  *_amount in USD.
                data_tests:
                  - unique_combination:
                      arguments:
                        combination_of_columns: [debt_key, importer_number]
                  - not_null_columns:
                      name: not_null_columns_fct_debts
                      arguments:
                        column_names: [debt_key]
                  - not_null_columns:
                      arguments:
                        column_names: [note]
                      config:
                        severity: warn
                columns:
                  - name: debt_key
                    description: The debt | its `a|b` key.
                    data_tests:
                      - relationships:
                          arguments:
                            to: ref('fct_refunds')
                            field: debt_key
                  - name: offset_type_code
                    description: cbp_debt or top.
                    data_tests:
                      - accepted_values:
                          arguments:
                            values: [cbp_debt, top]
                          config:
                            severity: warn
                  - name: note
                    description: Free text.
            unit_tests:
              - name: fct_debts_one_row_per_debt
                model: fct_debts
                given: []
                expect: {rows: []}
            """
        )
    )
    (tmp_path / "tests" / "assert_debts_positive.sql").write_text("select * from {{ ref('fct_debts') }} where x < 0")
    (tmp_path / "tests" / "generic" / "positive.sql").write_text("select * from {{ ref('fct_debts') }}")

    text = catalog_text(tmp_path)
    assert "int_debts" not in text
    assert "- marts/refunds\n  - [marts.fct_debts](#martsfct_debts)\n" in text
    assert "## marts.fct_debts\n\nOne row per debt: \\<importer>/\\<type>, \\*\\_amount in USD.\n" in text
    assert "- Tests on the table: `unique_combination` (debt_key, importer_number).\n" in text
    assert "- Singular tests: `assert_debts_positive`.\n" in text  # not the generic test
    assert "- Unit tests: `fct_debts_one_row_per_debt`.\n" in text
    assert "| `debt_key` | The debt \\| its `a\\|b` key. | `not_null`, `relationships` (fct_refunds.debt_key) |" in text
    assert "| `offset_type_code` | cbp_debt or top. | `accepted_values` (cbp_debt, top) *warn* |" in text
    # one not_null_columns test per model, shown as not_null on each column it lists (with its config)
    assert "| `note` | Free text. | `not_null` *warn* |" in text

    out = tmp_path / "CATALOG.md"
    assert write_catalog(out, tmp_path) is True and out.read_text(encoding="utf-8") == text
    assert write_catalog(out, tmp_path) is False, "the same YAML gives the same file"


def test_every_relative_link_of_the_docs_leads_to_a_file_and_heading_that_exist():
    broken = []
    for path in DOCS:
        for href in _links(path):
            if re.match(r"[a-z][a-z0-9+.-]*:", href):  # http:, https:, mailto: ...
                continue
            target, _, anchor = href.partition("#")
            file = (path.parent / unquote(target)).resolve() if target else path
            where = f"{path.relative_to(PROJECT_ROOT)}: {href}"
            if not file.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and file.suffix == ".md" and unquote(anchor) not in _anchors(file):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)
    assert len(DOCS) >= 8


def test_the_auditors_gate_table_names_every_blocking_check_of_the_pipeline():
    """docs/AUDITORS.md's gate table against the code: every blocking asset check the pipeline defines outside dbt
    (the modules that define asset checks, found by their source), no more, no fewer."""
    text = (PROJECT_ROOT / "docs" / "AUDITORS.md").read_text(encoding="utf-8")
    table = text.split("\n## The gate\n", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in re.findall(r"^\| (`.+?) \(GX", table, re.M) for name in re.findall(r"`(\w+)`", row)}
    blocking = set()
    for path in sorted((PROJECT_ROOT / "pipelines").rglob("*.py")):
        if "@asset_check" in path.read_text(encoding="utf-8"):
            module = importlib.import_module(".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts))
            checks = [v for v in vars(module).values() if isinstance(v, AssetChecksDefinition)]
            blocking |= {spec.name for c in checks for spec in c.check_specs if spec.blocking}
    assert documented == blocking and len(blocking) >= 5


def _links(path: Path) -> list[str]:
    tokens = MARKDOWN.parse(path.read_text(encoding="utf-8"))
    inline = [child for t in tokens if t.type == "inline" for child in t.children or []]
    return [t.attrs["href"] for t in inline if t.type == "link_open"]


@functools.cache
def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file: the heading's text in lower case, punctuation but
    hyphens and underscores dropped, spaces as hyphens; a repeated one gets -1, -2, ..."""
    tokens = MARKDOWN.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        words = "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))
        slug = re.sub(r"[^\w\- ]", "", words.strip().lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in found:
            n += 1
            anchor = f"{slug}-{n}"
        found.add(anchor)
    return found


def _model_sql(*schemas: str) -> list[Path]:
    return [p for s in schemas for p in sorted((DBT_DIR / "models" / s).rglob("*.sql"))]


def _model_yaml(*schemas: str) -> list[Path]:
    return [p for s in schemas for p in sorted((DBT_DIR / "models" / s).rglob("*.yml"))]
