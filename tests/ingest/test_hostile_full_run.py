"""The daily job, through the command line, with hostile files in the landing folder beside the bundled sample: the
run completes, every hostile file is named in the ledger, and the marts are the same as without them. Then the
landing folder is emptied and the job runs 30 days later: a normal day that says there was nothing new and still
rebuilds the as_of marts.

Three runs on one warehouse: the sample alone, the sample with the hostile files, the empty folder a month later.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import hashlib
import io
import os
import zipfile

import duckdb
import pytest

from pipelines.cli import main
from pipelines.settings import load_settings
from tests.conftest import PROJECT_ROOT, copy_sample_exports, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

SAMPLE = PROJECT_ROOT / "data" / "sample"
SECRET = "TOP-SECRET first line of a file outside the landing folder"


def _sample_files() -> list[dict]:
    with (SAMPLE / "truth" / "files.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _add_hostile(landing, outside) -> dict[str, str | None]:
    """Hostile files that must not change a mart; returns {file name: refusal code, or None when it loads}."""
    files = {f["report_code"]: f for f in reversed(_sample_files()) if f["format"] == "csv"}
    es003, es701 = files["es003"], files["es701"]
    day = 86_400
    older = {  # a day before the export each copies: the sample stays the newest export of its rows
        "ES-003_*.csv": dt.datetime.fromisoformat(es003["exported_at"]).timestamp() - day,
        "ES-701 mac.csv": dt.datetime.fromisoformat(es701["exported_at"]).timestamp() - day,
    }

    (landing / "binary.csv").write_bytes(b"\x00\x01\x02binary" * 512)
    # Glob characters in the name; two rows of a sample export, exported a day before it (the sample stays newest).
    head = (SAMPLE / es003["file_name"]).read_bytes().split(b"\r\n")[:3]
    (landing / "ES-003_*.csv").write_bytes(b"\r\n".join(head) + b"\r\n")
    # The ES-701 export as Excel for Mac saves it: CR line endings; also a day older.
    (landing / "ES-701 mac.csv").write_bytes((SAMPLE / es701["file_name"]).read_bytes().replace(b"\r\n", b"\r"))
    for name, stamp in older.items():
        os.utime(landing / name, (stamp, stamp))
    header = head[0].decode("utf-8-sig")
    write(landing / "huge line.csv", header + "\r\n" + "x," * (load_settings().max_record_bytes // 2 + 10) + "\r\n")
    write(landing / "wide line.csv", header + "\r\n" + "," * 100_000 + "\r\n")
    write(outside / "secret.csv", SECRET + "\r\n")
    os.symlink(outside / "secret.csv", landing / "secret link.csv")
    os.mkfifo(landing / "pipe.csv")
    with zipfile.ZipFile(landing / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(SAMPLE / es003["file_name"], "again/" + es003["file_name"])  # already loaded
        z.writestr("../escaped.csv", b"\r\n".join(head) + b"\r\n")
        z.writestr("bomb.csv", b"," * (20 << 20))
        z.writestr("notes.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    (landing / "export.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    (landing / "export.csv.gz").write_bytes(gzip.compress((SAMPLE / es701["file_name"]).read_bytes()))
    (landing / "export").write_bytes(b"\r\n".join(head))
    with open(os.fsencode(landing) + b"/latin1 \xe9.csv", "wb") as f:
        f.write(b"\r\n".join(head[:2]))  # a content of its own (a duplicate would not get a ledger row)
    return {
        "binary.csv": "binary_file",
        "ES-003_*.csv": None,
        "ES-701 mac.csv": None,
        "huge line.csv": None,
        "wide line.csv": None,
        "secret link.csv": "symlink",
        "pipe.csv": "not_a_regular_file",
        "bundle.zip/../escaped.csv": "unsafe_archive_path",
        "bundle.zip/bomb.csv": "archive_limit",
        "bundle.zip/notes.xls": "unsupported_file_type",
        "export.xls": "unsupported_file_type",
        "export.csv.gz": "unsupported_file_type",
        "export": "unsupported_file_type",
        "latin1 \\xe9.csv": "bad_file_name",
    }


def _marts(warehouse) -> dict[str, tuple[int, str]]:
    """Every mart as (rows, sha256 of its rows in a stable order)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
        out = {}
        for t in tables:
            rows = sorted(repr(r) for r in con.execute(f'select * from marts."{t}"').fetchall())
            out[t] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def _run(args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_run")
    landing, outside = root / "landing", root / "outside"
    landing.mkdir()
    outside.mkdir()
    as_of = copy_sample_exports(landing)
    warehouse = root / "warehouse" / "refunds.duckdb"

    def args(day: str) -> list[str]:
        return ["run", "--input", str(landing), "--as-of", day, "--settle", "0", "--warehouse", str(warehouse)]

    assert _run(args(as_of))[0] == 0
    without = _marts(warehouse)
    hostile = _add_hostile(landing, outside)
    code, printed = _run(args(as_of))
    with_hostile = _marts(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        claims_before = dict(
            con.execute(
                "select cape_declaration_number || '/' || entry_summary_number, days_since_acceptance "
                "from marts.fct_claim_status where days_since_acceptance is not null"
            ).fetchall()
        )
    for p in landing.iterdir():
        p.unlink()
    later = (dt.date.fromisoformat(as_of) + dt.timedelta(days=30)).isoformat()
    empty_code, empty_printed = _run([*args(later), "--force-future-as-of"])  # the world's date, not the clock's
    yield {
        "warehouse": warehouse,
        "hostile": hostile,
        "code": code,
        "printed": printed,
        "without": without,
        "with": with_hostile,
        "claims_before": claims_before,
        "empty": (empty_code, empty_printed, later),
    }


def test_the_run_completes_and_names_every_hostile_file(runs):
    assert runs["code"] == 0
    with duckdb.connect(str(runs["warehouse"]), read_only=True) as con:
        ledger = {
            r[0]: r[1:]
            for r in con.execute("select file_name, status, refusal_code, run_id from ingest.file_ledger").fetchall()
        }
    for name, code in runs["hostile"].items():
        assert ledger[name][:2] == (("loaded", None) if code is None else ("refused", code)), name
    assert SECRET not in runs["printed"]
    assert "refused file     secret link.csv: a symbolic link" in runs["printed"]


def test_the_marts_are_the_same_as_without_the_hostile_files(runs):
    assert runs["with"] == runs["without"]
    assert sum(n for n, _ in runs["without"].values()) > 0


def test_an_empty_folder_a_month_later_is_a_normal_day(runs):
    code, printed, later = runs["empty"]
    assert code == 0
    assert "nothing new" in printed
    with duckdb.connect(str(runs["warehouse"]), read_only=True) as con:
        assert con.execute("select distinct as_of_date from marts.fct_entry_eligibility").fetchall() == [
            (dt.date.fromisoformat(later),)
        ]
        claims_after = dict(
            con.execute(
                "select cape_declaration_number || '/' || entry_summary_number, days_since_acceptance "
                "from marts.fct_claim_status where days_since_acceptance is not null"
            ).fetchall()
        )
    assert claims_after and claims_after.keys() == runs["claims_before"].keys()
    assert all(claims_after[k] - runs["claims_before"][k] == 30 for k in claims_after)
