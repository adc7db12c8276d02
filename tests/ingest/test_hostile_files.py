"""Any file, any content: every entry of the landing folder is named in the inventory, loads or is refused with a
reason, and never stops the other files.

One landing folder holds good exports beside every kind of hostile entry (binary data, CR-only line endings, a
field over Python's csv limit, a line over the record limit, a line of 100,000 commas, glob characters and control
characters in names, links inside and outside the folder, a pipe, a ZIP archive with good, traversing and
bomb-like members, types the pipeline does not read), all written by this test, ingested once by the real Dagster
assets into a real DuckDB file. Expected counts and lines come from what the test wrote.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import threading
import time
import zipfile

import duckdb
import pytest
from dagster import materialize

from pipelines.ingest.assets import ingest_assets, ingest_checks
from pipelines.resources import PipelineResource
from pipelines.settings import load_settings
from tests.conftest import ES003_HEADERS, csv_text, entry_number, es003_row, write

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

LIMIT = load_settings().max_record_bytes  # the configured record limit (4 MiB by default)
SECRET = "TOP-SECRET first line of a file outside the landing folder"


def rows(filer: str, n: int, **over) -> list[dict]:
    return [es003_row(entry_number(filer, i + 1), **over) for i in range(n)]


def lines_of(filer: str, n: int, first_line: int = 2) -> dict[str, int]:
    """{entry number as stored: its line} for rows written one per line after a header on line 1."""
    return {entry_number(filer, i + 1, dashed=False): first_line + i for i in range(n)}


def _build(landing, outside) -> dict:
    """Write the landing folder; return {name: (rows read, loaded, quarantined)} for files expected to load."""
    loads = {}
    write(landing / "good.csv", csv_text(ES003_HEADERS, rows("GD1", 3)))
    loads["good.csv"] = (3, 3, 0)

    rng = random.Random(13)
    (landing / "binary.csv").write_bytes(b"\x89\x00\x1b[2J" + bytes(rng.randrange(256) for _ in range(4096)))
    # 8 MB of bytes that are neither UTF-8 nor NUL: judged from its head, never transcoded whole.
    (landing / "high bytes.csv").write_bytes(rng.randbytes(8 << 20).translate(bytes(range(128, 256)) * 2))

    cr = rows("CR1", 3)
    cr[1]["Entry Date"] = "13/45/2025"  # line 3 is quarantined
    write(landing / "cr only.csv", csv_text(ES003_HEADERS, cr, line_ending="\r"))
    loads["cr only.csv"] = (3, 2, 1)

    header = ",".join(ES003_HEADERS)
    body = [csv_text(ES003_HEADERS, [r]).splitlines()[1] for r in rows("MX1", 3)]
    write(landing / "mixed endings.csv", header + "\r\n" + body[0] + "\n" + body[1] + "\r" + body[2] + "\r\n")
    loads["mixed endings.csv"] = (3, 3, 0)

    # A title line with a 200,000-character cell (over Python csv's 131,072), then the header on line 2, and a
    # data row whose extra column holds 150,000 characters with quotes, commas and line breaks.
    wide = ES003_HEADERS + ["Remarks"]
    big = rows("HF1", 2)
    big[0]["Remarks"] = ('say "x", then\r\n' * 10_000)[:150_000]
    write(landing / "huge field.csv", "T" * 200_000 + "\r\n" + csv_text(wide, big))
    loads["huge field.csv"] = (2, 2, 0)

    # A line over the record limit (never given to DuckDB), between two good rows.
    with (landing / "huge line.csv").open("w", newline="") as f:
        f.write(csv_text(ES003_HEADERS, rows("HL1", 1)))
        f.write("x," * (LIMIT // 2 + 1000) + "\r\n")
        f.write(csv_text(ES003_HEADERS, rows("HL2", 1)).split("\r\n", 1)[1])
    loads["huge line.csv"] = (3, 2, 1)

    # 100,000 commas on one line: DuckDB would log an error per extra field (minutes, gigabytes).
    with (landing / "wide line.csv").open("w", newline="") as f:
        f.write(csv_text(ES003_HEADERS, rows("WL1", 1)))
        f.write("," * 100_000 + "\r\n")
        f.write(csv_text(ES003_HEADERS, rows("WL2", 1)).split("\r\n", 1)[1])
    loads["wide line.csv"] = (3, 2, 1)

    # Names are data: glob characters, and a terminal escape sequence.
    write(landing / "ES-003_*.csv", csv_text(ES003_HEADERS, rows("GL1", 2)))
    loads["ES-003_*.csv"] = (2, 2, 0)
    write(landing / "ES-003_[ab]?.csv", csv_text(ES003_HEADERS, rows("GL2", 1)))
    loads["ES-003_[ab]?.csv"] = (1, 1, 0)
    write(landing / "ES-003_a.csv", csv_text(ES003_HEADERS, rows("GL3", 3)))
    loads["ES-003_a.csv"] = (3, 3, 0)
    write(landing / "red \x1b[31mname.csv", csv_text(ES003_HEADERS, rows("ES1", 1)))
    loads["red \\x1b[31mname.csv"] = (1, 1, 0)
    with open(os.fsencode(landing) + b"/latin1 \xe9.csv", "wb") as f:
        f.write(csv_text(ES003_HEADERS, rows("NU1", 1)).encode())

    # Links: into a subfolder of the landing folder (followed), to a file in it (a duplicate), and outside.
    (landing / "sub").mkdir()
    write(landing / "sub" / "inner.csv", csv_text(ES003_HEADERS, rows("LK1", 2)))
    os.symlink(landing / "sub" / "inner.csv", landing / "link inside.csv")
    loads["link inside.csv"] = (2, 2, 0)
    os.symlink(landing / "good.csv", landing / "link to good.csv")
    write(outside / "secret.csv", SECRET + "\r\n" + csv_text(ES003_HEADERS, rows("SC1", 1)))
    os.symlink(outside / "secret.csv", landing / "secret link.csv")
    os.symlink(outside / "missing.csv", landing / "broken link.csv")
    os.mkfifo(landing / "pipe.csv")

    # A ZIP archive: good members, a path out of the folder, a compression bomb, types it does not read.
    with zipfile.ZipFile(landing / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ES-003 zipped.csv", csv_text(ES003_HEADERS, rows("ZP1", 3)))
        z.writestr("reports/ES-003 deep.csv", csv_text(ES003_HEADERS, rows("ZP2", 2)))
        z.writestr("../escaped.csv", csv_text(ES003_HEADERS, rows("ZP3", 1)))
        z.writestr("bomb.csv", b"," * (20 << 20))
        z.writestr("notes.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
        z.writestr("inner.zip", b"PK\x05\x06" + b"\x00" * 18)
        z.writestr("__MACOSX/._ES-003 zipped.csv", b"\x00\x05\x16\x07")
        z.writestr("empty folder/", b"")
        z.writestr("locked.csv", csv_text(ES003_HEADERS, rows("ZP4", 1)))
    _mark_encrypted(landing / "bundle.zip", b"locked.csv")
    with zipfile.ZipFile(landing / "many.zip", "w") as z:
        for i in range(load_settings().archive_max_members + 1):
            z.writestr(f"part {i}.csv", "")
    loads["bundle.zip/ES-003 zipped.csv"] = (3, 3, 0)
    loads["bundle.zip/reports/ES-003 deep.csv"] = (2, 2, 0)

    # Types the pipeline does not read, refused by name; and files that only pretend to be CSV or Excel.
    (landing / "export.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    (landing / "export.csv.gz").write_bytes(gzip.compress(csv_text(ES003_HEADERS, rows("GZ1", 1)).encode()))
    write(landing / "export", csv_text(ES003_HEADERS, rows("NX1", 1)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", "a,b\r\n")
    (landing / "zip named.csv").write_bytes(buf.getvalue())
    (landing / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2048)))

    # Hidden files and Office lock files are not exports.
    write(landing / ".hidden.csv", csv_text(ES003_HEADERS, rows("HD1", 1)))
    write(landing / "~$good.xlsx", "lock")
    return loads


def _mark_encrypted(archive, member: bytes) -> None:
    """Set the 'encrypted' flag of a member in the archive's central directory (zipfile cannot write one)."""
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        if data[at + 46 : at + 46 + len(member)] == member:
            data[at + 8] |= 0x1
        at = data.find(b"PK\x01\x02", at + 4)
    archive.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    landing, outside = root / "landing", root / "outside"
    landing.mkdir()
    outside.mkdir()
    loads = _build(landing, outside)
    warehouse = root / "warehouse" / "refunds.duckdb"
    resource = PipelineResource(landing_dir=str(landing), warehouse_path=str(warehouse), landing_settle_seconds=0)
    result = materialize([*ingest_assets, *ingest_checks], resources={"pipeline": resource})
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    yield root, loads, con, result
    con.close()


def _ledger(con) -> dict[str, tuple]:
    cols = "status, refusal_code, refusal_reason, refusal_excerpt, rows_read, rows_loaded, rows_quarantined, load_id"
    out = {}
    for name, *rest in con.execute(f"select file_name, {cols} from ingest.file_ledger").fetchall():
        assert name not in out, f"{name} has two ledger rows"
        out[name] = tuple(rest)
    return out


def _refused(con, name: str) -> tuple[str, str, str | None]:
    status, code, reason, excerpt, *_ = _ledger(con)[name]
    assert status == "refused", (name, status)
    return code, reason, excerpt


def _raw_lines(con, name: str) -> dict[str, int]:
    return dict(
        con.execute(
            "select entry_summary_number, _source_line from raw.es003_line_tariffs where _source_file = ?", [name]
        ).fetchall()
    )


def test_every_entry_of_the_folder_has_an_inventory_row(hostile):
    root, _, con, _ = hostile
    names = sorted(r[0] for r in con.execute("select file_name from ingest.landing_inventory").fetchall())
    written = [
        "good.csv",
        "binary.csv",
        "high bytes.csv",
        "cr only.csv",
        "mixed endings.csv",
        "huge field.csv",
        "huge line.csv",
        "wide line.csv",
        "ES-003_*.csv",
        "ES-003_[ab]?.csv",
        "ES-003_a.csv",
        "red \\x1b[31mname.csv",
        "latin1 \\xe9.csv",
        "sub",
        "link inside.csv",
        "link to good.csv",
        "secret link.csv",
        "broken link.csv",
        "pipe.csv",
        "bundle.zip",
        "many.zip",
        "export.xls",
        "export.csv.gz",
        "export",
        "zip named.csv",
        "corrupt.xlsx",
    ]
    members = [
        "ES-003 zipped.csv",
        "reports/ES-003 deep.csv",
        "../escaped.csv",
        "bomb.csv",
        "notes.xls",
        "inner.zip",
        "locked.csv",
    ]
    assert len(written) == len(list((root / "landing").iterdir())) - 2  # all but the hidden and lock files
    assert names == sorted(written + [f"bundle.zip/{m}" for m in members])
    statuses = dict(con.execute("select file_name, status from ingest.landing_inventory").fetchall())
    assert statuses["sub"] == "skipped" and statuses["bundle.zip"] == "archive"
    assert statuses["link to good.csv"] == "duplicate_in_landing"


def test_the_good_files_load_whole_beside_the_hostile_ones(hostile):
    _, loads, con, result = hostile
    ledger = _ledger(con)
    for name, counts in loads.items():
        status, *_, read, loaded, kept, load_id = ledger[name]
        assert (status, (read, loaded, kept)) == ("loaded", counts), name
        in_raw = con.execute("select count(*) from raw.es003_line_tariffs where _load_id = ?", [load_id]).fetchone()
        assert in_raw == (loaded,), name
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {"ledger_reconciles": True}
    assert _raw_lines(con, "good.csv") == lines_of("GD1", 3)


def test_binary_data_is_refused_from_its_head_with_an_escaped_excerpt(hostile):
    _, _, con, _ = hostile
    code, reason, excerpt = _refused(con, "binary.csv")
    assert code == "binary_file" and "NUL" in reason
    assert excerpt.startswith("\\x89\\x00\\x1b[2J") and len(excerpt) <= 61
    assert excerpt.isprintable()
    code, reason, excerpt = _refused(con, "high bytes.csv")
    assert code == "no_header" and excerpt.isprintable() and len(excerpt) <= 61


def test_cr_only_and_mixed_line_endings_are_read_with_their_lines(hostile):
    _, _, con, _ = hostile
    assert _raw_lines(con, "cr only.csv") == {k: v for k, v in lines_of("CR1", 3).items() if v != 3}
    kept = con.execute(
        "select source_line, reason_code from quarantine.rejected_rows where source_file = 'cr only.csv'"
    ).fetchall()
    assert kept == [(3, "bad_date")]
    assert _raw_lines(con, "mixed endings.csv") == lines_of("MX1", 3)


def test_a_field_over_pythons_csv_limit_is_read(hostile):
    _, _, con, _ = hostile
    assert _raw_lines(con, "huge field.csv") == lines_of("HF1", 2, first_line=3)
    assert con.execute("select header_line from ingest.file_ledger where file_name = 'huge field.csv'").fetchone() == (
        2,
    )


def test_a_line_over_the_record_limit_is_quarantined_before_duckdb(hostile):
    _, _, con, _ = hostile
    kept = con.execute(
        "select source_line, reason_code, reason, record from quarantine.rejected_rows "
        "where source_file = 'huge line.csv'"
    ).fetchall()
    assert [(k[0], k[1]) for k in kept] == [(3, "record_too_long")]
    assert f"{LIMIT:,}" in kept[0][2] and "max_record_bytes" in kept[0][2]
    assert kept[0][3].startswith("x,x,") and len(kept[0][3]) <= 201
    assert _raw_lines(con, "huge line.csv") == {
        entry_number("HL1", 1, dashed=False): 2,
        entry_number("HL2", 1, dashed=False): 4,
    }


def test_a_line_of_100000_commas_is_quarantined_before_duckdb(hostile):
    _, _, con, _ = hostile
    kept = con.execute(
        "select source_line, reason_code, reason from quarantine.rejected_rows where source_file = 'wide line.csv'"
    ).fetchall()
    assert kept == [(3, "csv_structure", f"100,001 fields where the header has {len(ES003_HEADERS)}")]


def test_names_are_data_never_patterns(hostile):
    _, _, con, _ = hostile
    assert _raw_lines(con, "ES-003_*.csv") == lines_of("GL1", 2)
    assert _raw_lines(con, "ES-003_[ab]?.csv") == lines_of("GL2", 1)
    assert _raw_lines(con, "ES-003_a.csv") == lines_of("GL3", 3)
    # The control character is stored escaped; a name that is not UTF-8 is refused, named with an escape.
    assert _raw_lines(con, "red \\x1b[31mname.csv") == lines_of("ES1", 1)
    assert _refused(con, "latin1 \\xe9.csv")[0] == "bad_file_name"


def test_links_are_followed_only_inside_the_landing_folder(hostile):
    _, _, con, _ = hostile
    assert _raw_lines(con, "link inside.csv") == lines_of("LK1", 2)
    code, reason, excerpt = _refused(con, "secret link.csv")
    assert code == "symlink" and "not read" in reason and excerpt is None
    assert _refused(con, "broken link.csv")[0] == "symlink"
    # Nothing of the target reached the warehouse, wherever it could have been echoed.
    for table in (
        "ingest.file_ledger",
        "ingest.landing_inventory",
        "quarantine.rejected_rows",
        "raw.es003_line_tariffs",
    ):
        text = con.execute(f"select string_agg(cast(columns(*) as varchar), '|') from {table}").fetchall()
        assert SECRET not in repr(text), table
    assert not _raw_lines(con, "secret link.csv")


def test_a_pipe_is_refused_without_being_opened(hostile):
    _, _, con, _ = hostile
    assert _refused(con, "pipe.csv")[0] == "not_a_regular_file"


def test_zip_members_are_files_of_their_own_or_refused_by_name(hostile):
    root, _, con, _ = hostile
    ledger = con.execute(
        "select file_name, status, refusal_code, source_archive from ingest.file_ledger "
        "where file_name like 'bundle.zip/%' order by file_name"
    ).fetchall()
    assert ledger == [
        ("bundle.zip/../escaped.csv", "refused", "unsafe_archive_path", "bundle.zip"),
        ("bundle.zip/ES-003 zipped.csv", "loaded", None, "bundle.zip"),
        ("bundle.zip/bomb.csv", "refused", "archive_limit", "bundle.zip"),
        ("bundle.zip/inner.zip", "refused", "unsupported_file_type", "bundle.zip"),
        ("bundle.zip/locked.csv", "refused", "archive_member_encrypted", "bundle.zip"),
        ("bundle.zip/notes.xls", "refused", "unsupported_file_type", "bundle.zip"),
        ("bundle.zip/reports/ES-003 deep.csv", "loaded", None, "bundle.zip"),
    ]
    assert _raw_lines(con, "bundle.zip/ES-003 zipped.csv") == lines_of("ZP1", 3)
    assert "compression bomb" in _refused(con, "bundle.zip/bomb.csv")[1]
    assert not (root / "escaped.csv").exists() and not (root / "landing" / "escaped.csv").exists()
    code, reason, _ = _refused(con, "many.zip")
    assert code == "archive_limit" and f"{load_settings().archive_max_members + 1:,} files" in reason


def test_types_it_does_not_read_are_refused_by_name(hostile):
    _, _, con, _ = hostile
    assert _refused(con, "export.xls")[:1] == ("unsupported_file_type",)
    assert "legacy Excel .xls" in _refused(con, "export.xls")[1]
    assert "gzip" in _refused(con, "export.csv.gz")[1]
    assert "without an extension" in _refused(con, "export")[1]
    assert _refused(con, "zip named.csv")[0] == "not_a_csv_file"
    assert _refused(con, "corrupt.xlsx")[0] == "unreadable_file"


def test_no_work_files_are_left_behind(hostile):
    root, _, _, _ = hostile
    work = root / "warehouse" / ".work"
    left = [p for p in work.rglob("*") if p.is_file()] if work.exists() else []
    assert left == []


def test_an_empty_landing_folder_is_a_normal_day(workspace):
    result = materialize([*ingest_assets, *ingest_checks], resources={"pipeline": workspace.resource})
    assert result.success
    (inventory,) = result.asset_materializations_for_node("ingest__landing_inventory")
    assert inventory.metadata["summary"].value == "nothing new in the landing folder"
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ingest.landing_inventory").fetchone() == (0,)
        assert con.execute("select count(*) from ingest.file_ledger").fetchone() == (0,)


class _PeakRss:
    """Resident memory of this process, sampled every 2 ms by a thread (Linux /proc), and its peak."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.baseline = self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="samples memory through Linux /proc")
def test_a_50_mb_line_of_commas_stays_within_the_memory_limit(workspace, tmp_path):
    memory_limit = 512 * 1024**2
    settings_file = tmp_path / "refunds.yaml"
    settings_file.write_text("duckdb_memory_limit: 512MB\n", encoding="utf-8")
    resource = PipelineResource(
        settings_file=str(settings_file),
        landing_dir=str(workspace.landing),
        warehouse_path=str(workspace.warehouse),
        landing_settle_seconds=0,
    )
    write(workspace.landing / "good.csv", csv_text(ES003_HEADERS, rows("MG1", 3)))
    with (workspace.landing / "50 MB line.csv").open("w", newline="") as f:
        f.write(csv_text(ES003_HEADERS, rows("MB1", 1)))
        for _ in range(50):
            f.write("," * (1 << 20))
        f.write("\r\n" + csv_text(ES003_HEADERS, rows("MB2", 1)).split("\r\n", 1)[1])
    # The other case: a 5 MB file whose last line holds 2.5 million commas.
    with (workspace.landing / "5 MB file.csv").open("w", newline="") as f:
        f.write(csv_text(ES003_HEADERS, rows("FV1", 25_000)))
        f.write("," * 2_500_000 + "\r\n")
    started = time.monotonic()
    with _PeakRss() as rss:
        result = materialize([*ingest_assets, *ingest_checks], resources={"pipeline": resource})
    elapsed = time.monotonic() - started
    assert result.success
    grew = rss.peak - rss.baseline
    print(
        f"\n50 MB line + 5 MB file: {elapsed:.1f} s, peak RSS {rss.peak / 2**20:.0f} MiB, "
        f"+{grew / 2**20:.0f} MiB over the {rss.baseline / 2**20:.0f} MiB before the run"
    )
    assert grew < memory_limit
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        ledger = {
            r[0]: r[1:]
            for r in con.execute(
                "select file_name, status, rows_read, rows_loaded, rows_quarantined from ingest.file_ledger"
            ).fetchall()
        }
        kept = con.execute(
            "select source_file, source_line, reason_code from quarantine.rejected_rows order by 1"
        ).fetchall()
    assert ledger == {
        "good.csv": ("loaded", 3, 3, 0),
        "50 MB line.csv": ("loaded", 3, 2, 1),
        "5 MB file.csv": ("loaded", 25_001, 25_000, 1),
    }
    assert kept == [("5 MB file.csv", 25_002, "csv_structure"), ("50 MB line.csv", 3, "record_too_long")]


def test_a_second_run_records_nothing_twice(hostile):
    root, _, con, _ = hostile
    before = con.execute("select count(*) from ingest.file_ledger").fetchone()
    con.close()
    resource = PipelineResource(
        landing_dir=str(root / "landing"),
        warehouse_path=str(root / "warehouse" / "refunds.duckdb"),
        landing_settle_seconds=0,
    )
    assert materialize([*ingest_assets], resources={"pipeline": resource}).success
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as again:
        assert again.execute("select count(*) from ingest.file_ledger").fetchone() == before
        statuses = {r[0] for r in again.execute("select status from ingest.landing_inventory").fetchall()}
    assert statuses <= {"already_loaded", "already_refused", "duplicate_in_landing", "skipped", "archive"}
