"""Shared test helpers: a project-like folder in tmp_path and builders of small ACE exports.

Entry-number check digits here are computed by an independent implementation written from CATAIR's
description (docs/DOMAIN.md section 2), verified against CBP's published vectors in test_check_digit.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.resources import PipelineResource
from pipelines.warehouse.layouts import REPORTS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def reference_check_digit(base10: str) -> int:
    values = []
    for ch in base10:
        if ch.isdigit():
            values.append(int(ch))
        else:
            offset = "ABCDEFGHI".find(ch)
            if offset >= 0:
                values.append(offset + 1)
            elif ch in "JKLMNOPQR":
                values.append("JKLMNOPQR".index(ch) + 1)
            else:
                values.append("STUVWXYZ".index(ch) + 2)
    total = 0
    for position, d in enumerate(values, start=1):
        if position % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def entry_number(filer: str, serial: int, dashed: bool = True) -> str:
    base = f"{filer}{serial:07d}"
    check = reference_check_digit(base)
    return f"{filer}-{serial:07d}-{check}" if dashed else f"{base}{check}"


ES003_HEADERS = [c.header for c in REPORTS["es003"].columns if c.required] + ["Line Tariff Goods Value Amount"]

# ES-022 as real exports have it ("Main Report", docs/DOMAIN.md section 8, in order): no submission date, no error
# text, no total. Copied from the documentation, not from the project's layouts file, so that the generator and the
# layouts file are both checked against it.
REAL_ES022_HEADER = [
    "Claim Number",
    "Claim Status",
    "Filer Code",
    "Importer Number",
    "CF4811 Number",
    "CF4811 Name",
    "Entry Summary Number",
    "Entry Date",
    "Liquidation Date",
    "Control Team Number",
    "Center ID Code",
    "Center ID Name",
    "Refund Amount",
    "Interest Amount",
    "Refund Number",
    "Refund Date",
    "Refund Status",
]


def es003_row(entry: str, line: int = 1, ordinal: int = 1, **over) -> dict:
    row = {
        "Entry Summary Number": entry,
        "Entry Summary Line Number": str(line),
        "Tariff Ordinal Number": str(ordinal),
        "Entry Type Code": "01",
        "Importer Number": "12-345678900",
        "Entry Date": "03/05/2025",
        "Entry Summary Date": "03/15/2025",
        "HTS Number - Full": "99030125",
        "Line Tariff Duty Amount": "$1,000.00",
        "Line Tariff Goods Value Amount": "$10,000.00",
    }
    row.update(over)
    return row


def csv_text(headers: list[str], rows: list[dict], line_ending: str = "\r\n") -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=headers, lineterminator=line_ending, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write(path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def copy_sample_exports(landing: Path, sample: Path = PROJECT_ROOT / "data" / "sample") -> str:
    """Copy a generated world's report files (the bundled sample's by default) into ``landing`` with their export
    times; returns its as_of date."""
    with (sample / "truth" / "files.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            target = landing / row["file_name"]
            shutil.copyfile(sample / row["file_name"], target)
            # The export time is when the browser saved the file: restore it (a git checkout does not keep it).
            stamp = dt.datetime.fromisoformat(row["exported_at"]).timestamp()
            os.utime(target, (stamp, stamp))
    return (sample / "truth" / "as_of.txt").read_text().strip()


@pytest.fixture(scope="session", autouse=True)
def _outputs_outside_the_repository(tmp_path_factory):
    """Runs in tests write their exports and reports under a temporary folder, never into data/, write no dbt docs
    site unless the test sets REFUNDS_DBT_DOCS_EACH_RUN=true, and record their
    Dagster runs in a throwaway in-memory instance, never in the developer's (the command line's default,
    .dagster_home/, or a DAGSTER_HOME set in the shell). A test that needs a persistent instance sets DAGSTER_HOME
    to a temporary folder itself (a persistent instance costs seconds a run: Dagster writes SQLite per event)."""
    out = tmp_path_factory.mktemp("outputs")
    os.environ["REFUNDS_EXPORTS_DIR"] = str(out / "exports")
    os.environ["REFUNDS_REPORTS_DIR"] = str(out / "reports")
    os.environ["REFUNDS_PUBLISHED_DIR"] = str(out / "published")
    os.environ.pop("DAGSTER_HOME", None)
    os.environ["REFUNDS_DAGSTER_EPHEMERAL"] = "1"
    # The dbt docs site costs about 10 s a run: written only by the runs of the tests that read it.
    os.environ["REFUNDS_DBT_DOCS_EACH_RUN"] = "false"
    yield


def _saved_refunds_environment():
    saved = {k: v for k, v in os.environ.items() if k.startswith("REFUNDS_")}
    yield
    for k in [k for k in os.environ if k.startswith("REFUNDS_")]:
        del os.environ[k]
    os.environ.update(saved)


# Runs export REFUNDS_WAREHOUSE for dbt: keep one test's paths from leaking into the next, and a module
# fixture's run (set up before any function fixture) from leaking into the next module.
_restore_refunds_environment = pytest.fixture(autouse=True)(_saved_refunds_environment)
_restore_refunds_environment_per_module = pytest.fixture(autouse=True, scope="module")(_saved_refunds_environment)


@pytest.fixture
def workspace(tmp_path: Path):
    """A landing folder, a warehouse path and the pipeline resource pointing at them."""
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse" / "refunds.duckdb"

    class W:
        pass

    w = W()
    w.root, w.landing, w.warehouse = tmp_path, landing, warehouse
    w.resource = PipelineResource(landing_dir=str(landing), warehouse_path=str(warehouse), landing_settle_seconds=0)
    return w


def wait_for_dbt_to_build(run_output, timeout: float = 600) -> None:
    """Wait until the ``refunds run`` whose output (a pipe) is ``run_output`` has dbt building models.

    The run prints its log file's path on its first line and relays dbt's own lines into that file only."""
    import re
    import time

    first = run_output.readline()
    found = re.search(r"full log: (\S+)", first)
    assert found, f"no log file named on the run's first line: {first!r}"
    log = Path(found[1]) if Path(found[1]).is_absolute() else Path.cwd() / found[1]
    deadline = time.monotonic() + timeout
    while "START sql table model" not in (log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""):
        assert time.monotonic() < deadline, "dbt never started building"
        time.sleep(0.1)


SAMPLE = PROJECT_ROOT / "data" / "sample"


@dataclass(frozen=True)
class SampleRun:
    """The daily run of one world through the command line, in a folder of its own."""

    world: Path  # the world's export files and its truth/
    root: Path  # landing/, warehouse/, exports/, reports/, published/, dagster_home/
    warehouse: Path
    args: list[str]  # the command line that ran it
    dagster_home: Path  # a persistent instance: the run's materializations and checks stay readable


@pytest.fixture(scope="session")
def sample_runs(tmp_path_factory):
    """``sample_runs("realistic")``: the bundled sample (its exports in the layouts real exports have), or
    ``sample_runs("assumed")``: the same world generated in the project's first assumed layouts, each run once per
    test session, as of the world's date, and shared by the modules that only read it (a full run costs about a
    minute). Read-only: a test that changes anything works on a copy of ``root``."""
    runs: dict[str, SampleRun] = {}

    def run(profile: str) -> SampleRun:
        if profile in runs:
            return runs[profile]
        from pipelines.cli import main
        from synth import generate

        root = tmp_path_factory.mktemp(f"sample_run_{profile}")
        world = SAMPLE
        if profile == "assumed":
            world = root / "world"
            as_of = dt.date.fromisoformat((SAMPLE / "truth" / "as_of.txt").read_text().strip())
            generate(world, entries=400, seed=7, as_of=as_of, xlsx_reports=("rev613",), profile="assumed")
        landing = root / "landing"
        landing.mkdir()
        as_of = copy_sample_exports(landing, world)
        warehouse = root / "warehouse" / "refunds.duckdb"
        args = ["run", "--input", str(landing), "--as-of", as_of, "--settle", "0", "--warehouse", str(warehouse)]
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", *(f"REFUNDS_{d}_DIR" for d in OUTPUT_DIRS))}
        os.environ["DAGSTER_HOME"] = str(home)
        for name in OUTPUT_DIRS:
            os.environ[f"REFUNDS_{name}_DIR"] = str(root / name.lower())
        try:
            assert main(args) == 0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        runs[profile] = SampleRun(world, root, warehouse, args, home)
        return runs[profile]

    return run


OUTPUT_DIRS = ("EXPORTS", "REPORTS", "PUBLISHED")
