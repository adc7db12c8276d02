"""Values from the data are shown as text, never as markup: in the Great Expectations Data Docs of a run and in the
run report. (manifest.md: tests/test_run_safety.py.)"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.quality.gx_runner import validate_frame
from pipelines.reports import build_run_report

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

HOSTILE = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_failing_values_in_data_docs_are_escaped(tmp_path):
    # Two rows share a hostile key: GX lists it among the unexpected values of the uniqueness expectation.
    frame = pd.DataFrame(
        {
            "entry_summary_number": [HOSTILE, HOSTILE, "AB100000017"],
            "ieepa_principal_amount": [1.0, 2.0, 3.0],
            "non_refundable_duty_amount": [0.0, 0.0, 0.0],
        }
    )
    docs = tmp_path / "data_docs"
    outcome = validate_frame("marts_entry_refundable", frame, "entry_summary_number", docs)
    assert not outcome.success
    assert HOSTILE in outcome.failures[0].unexpected_values, "the pipeline itself gets the values as they are"
    pages = list((docs / "validations").rglob("*.html"))
    assert pages
    shown = 0
    for page in pages:
        source = page.read_text(encoding="utf-8")
        assert HOSTILE not in source, f"raw markup from the data in {page.name}"
        shown += "".join(_parse(source).text).count(HOSTILE)
    assert shown >= 1, "the failing value is shown, as text"


def test_run_report_shows_hostile_names_as_text(tmp_path: Path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    run = {
        "run_id": "r1",
        "as_of": "2026-11-20",
        "status": "FAILURE",
        "checks": [{"name": IMAGE, "passed": False, "description": f"e.g. [{IMAGE!r}]", "failing_rows": 2}],
        "exports": [
            {
                "file_name": IMAGE,
                "planned_declaration_id": IMAGE,
                "declaration_group": IMAGE,
                "rows": 1,
                "bytes": 1,
                "sha256": "0" * 64,
                "ieepa_principal_amount": "1.00",
                "expected_interest_amount": None,
            }
        ],
    }
    page = build_run_report(warehouse, tmp_path / "report", run).read_text(encoding="utf-8")
    parsed = _parse(page)
    assert not [t for t, _ in parsed.tags if t in ("img", "script")]
    assert "".join(parsed.text).count(IMAGE) >= 3, "check, description and export shown literally"
