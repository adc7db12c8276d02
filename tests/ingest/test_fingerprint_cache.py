"""The landing inventory's fingerprint cache: a file whose stat is unchanged is not read again, and any change of
stat (content rewritten in place, even with its old mtime given back) reads it again.

Each test runs the real inventory and load steps (``take_inventory``, ``load_report``) on a real DuckDB warehouse
under tmp_path. ``now`` is passed a minute ahead, so that files just written are settled and not too young to be
cached; the tests about young files pass the real time. Expected digests are hashlib's of the bytes the test wrote.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path

import pytest

from pipelines.ingest.fingerprint_cache import TABLE
from pipelines.ingest.headers import load_aliases
from pipelines.ingest.load import load_report, take_inventory
from pipelines.settings import SettingsError, load_settings
from pipelines.warehouse.connection import open_warehouse
from tests.conftest import ES003_HEADERS, csv_text, entry_number, es003_row, write

ALIASES = load_aliases(load_settings().header_aliases_file)
NOT_AN_EXPORT = b"a note about the exports, not an export\n"


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "landing").mkdir()
    return dataclasses.replace(
        load_settings(), landing_dir=tmp_path / "landing", warehouse_path=tmp_path / "warehouse" / "refunds.duckdb"
    )


def inventory(settings, now: float | None = None, run: str = "run") -> dict:
    """{file name: inventory item} of one inventory taken ``now`` (default: a minute from now)."""
    with open_warehouse(settings) as con:
        items = take_inventory(con, settings, ALIASES, run, now=time.time() + 60 if now is None else now)
    return {i.name: i for i in items}


def load(settings, report_code: str, run: str = "run") -> list:
    with open_warehouse(settings) as con:
        return load_report(con, settings, ALIASES, report_code, run)


def query(settings, sql: str, params=None) -> list[tuple]:
    with open_warehouse(settings) as con:
        return con.execute(sql, params or []).fetchall()


def export(path: Path, filer: str, n: int) -> bytes:
    write(path, csv_text(ES003_HEADERS, [es003_row(entry_number(filer, i + 1)) for i in range(n)]))
    return path.read_bytes()


def bytes_read() -> int:
    """Bytes this process has read through read(2) and its kind (Linux /proc): whether a file was read at all."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="counts the bytes read through Linux /proc")
def test_an_unchanged_file_is_not_read_again_and_keeps_its_status(settings):
    good = export(settings.landing_dir / "good.csv", "GD1", 3)
    (settings.landing_dir / "notes.csv").write_bytes(NOT_AN_EXPORT * 400_000)  # 16 MB, no header: refused

    before = bytes_read()
    first = inventory(settings, run="day1")
    read_first = bytes_read() - before
    assert (first["good.csv"].status, first["notes.csv"].status) == ("new", "refused")
    assert not any(i.file.from_cache for i in first.values())
    assert load(settings, first["good.csv"].report_code, "day1")[0].status == "loaded"

    before = bytes_read()
    second = inventory(settings, run="day2")
    read_second = bytes_read() - before
    assert read_first > 16_000_000, "the first inventory reads the whole files (the meter counts them)"
    assert read_second < 4_000_000, f"the second read {read_second:,} bytes: the 16 MB file was read again"
    assert all(i.file.from_cache for i in second.values())
    assert second["good.csv"].status == "already_loaded"
    assert second["good.csv"].file.sha256 == hashlib.sha256(good).hexdigest()
    assert second["notes.csv"].status == "already_refused"
    assert second["notes.csv"].file.sha256 == hashlib.sha256(NOT_AN_EXPORT * 400_000).hexdigest()
    # The ledger is as without a cache: one row per file, the refusal once, with its reason.
    ledger = query(settings, "select file_name, status, refusal_code, run_id from ingest.file_ledger order by 1")
    assert ledger == [("good.csv", "loaded", None, "day1"), ("notes.csv", "refused", "no_header", "day1")]
    assert query(settings, "select count(*), count(distinct file_path) from " + TABLE) == [(2, 2)]


def test_a_file_rewritten_in_place_is_read_again_even_with_its_old_mtime(settings):
    path = settings.landing_dir / "es003.csv"
    old = export(path, "RW1", 3)
    first = inventory(settings, run="day1")
    load(settings, first["es003.csv"].report_code, "day1")
    st = path.stat()
    # Same size, same inode, its old mtime given back (as cp -p or touch -d would): only the ctime tells.
    new = old.replace(b"RW1", b"RW2")
    assert len(new) == len(old) and new != old
    with path.open("r+b") as f:
        f.write(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)

    second = inventory(settings, run="day2")["es003.csv"]
    assert not second.file.from_cache
    assert (second.status, second.file.sha256) == ("new", hashlib.sha256(new).hexdigest())
    assert load(settings, second.report_code, "day2")[0].status == "loaded"
    entries = query(
        settings,
        "select distinct entry_summary_number from raw.es003_line_tariffs where _file_sha256 = ?",
        [hashlib.sha256(new).hexdigest()],
    )
    written = [entry_number("RW1", i + 1, dashed=False).replace("RW1", "RW2") for i in range(3)]
    assert sorted(e for (e,) in entries) == sorted(written), "the rows are the new content's"


def test_a_file_still_being_written_is_never_cached(settings):
    path = settings.landing_dir / "es003.csv"
    export(path, "YW1", 2)
    now = time.time()
    # Modified within the settle time: deferred, not read, not cached.
    deferred = inventory(settings, now=now, run="r1")["es003.csv"]
    assert deferred.status == "deferred"
    assert query(settings, f"select count(*) from {TABLE}") == [(0,)]
    # Settled (settle time 0) but changed less than RACY_SECONDS before the run: read, and still not cached.
    young = dataclasses.replace(settings, landing_settle_seconds=0)
    assert inventory(young, now=now, run="r2")["es003.csv"].status == "new"
    assert query(settings, f"select count(*) from {TABLE}") == [(0,)]
    # Once old enough: read again, and cached.
    later = inventory(young, run="r3")["es003.csv"]
    assert (later.status, later.file.from_cache) == ("new", False)
    assert query(settings, f"select file_sha256 from {TABLE}") == [(hashlib.sha256(path.read_bytes()).hexdigest(),)]


def test_a_stale_cached_fingerprint_is_caught_at_load_and_forgotten(settings):
    """The load step hashes what it loads: a cached sha256 the content no longer has defers the file, and the
    row is dropped, so the next inventory reads the file again."""
    content = export(settings.landing_dir / "es003.csv", "ST1", 2)
    inventory(settings, run="r1")
    query(settings, f"update {TABLE} set file_sha256 = repeat('0', 64)")  # as if the content changed unseen
    stale = inventory(settings, run="r2")["es003.csv"]
    assert (stale.file.from_cache, stale.file.sha256) == (True, "0" * 64)
    assert load(settings, stale.report_code, "r2")[0].status == "deferred"
    assert query(settings, f"select count(*) from {TABLE}") == [(0,)]
    again = inventory(settings, run="r3")["es003.csv"]
    assert (again.file.from_cache, again.file.sha256) == (False, hashlib.sha256(content).hexdigest())
    assert load(settings, again.report_code, "r3")[0].status == "loaded"


def test_rows_of_files_gone_from_the_folder_are_pruned(settings):
    export(settings.landing_dir / "a.csv", "PA1", 1)
    kept = export(settings.landing_dir / "b.csv", "PB1", 1)
    inventory(settings, run="r1")
    (settings.landing_dir / "a.csv").unlink()
    inventory(settings, run="r2")
    assert query(settings, f"select file_path, file_sha256 from {TABLE}") == [
        (os.fsencode(os.path.realpath(settings.landing_dir / "b.csv")), hashlib.sha256(kept).hexdigest())
    ]


def test_an_older_warehouse_without_the_table_gets_it(settings):
    content = export(settings.landing_dir / "es003.csv", "OW1", 1)
    tables = "select count(*) from duckdb_tables() where schema_name = 'ingest' and table_name = 'landing_fingerprints'"
    assert query(settings, tables) == [(0,)], "a warehouse made before the cache existed: the sources' tables only"
    assert inventory(settings, run="r1")["es003.csv"].status == "new"
    assert query(settings, f"select file_sha256 from {TABLE}") == [(hashlib.sha256(content).hexdigest(),)]


def test_the_cache_can_be_turned_off(settings, tmp_path):
    yaml = tmp_path / "refunds.yaml"
    yaml.write_text("ingest:\n  landing_fingerprint_cache: false\n", encoding="utf-8")
    assert load_settings(yaml).landing_fingerprint_cache is False
    yaml.write_text("ingest:\n  landing_fingerprint_cache: sometimes\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="landing_fingerprint_cache must be true or false"):
        load_settings(yaml)

    export(settings.landing_dir / "es003.csv", "OF1", 1)
    inventory(settings, run="r1")
    assert query(settings, f"select count(*) from {TABLE}") == [(1,)]
    off = dataclasses.replace(settings, landing_fingerprint_cache=False)
    for run in ("r2", "r3"):
        item = inventory(off, run=run)["es003.csv"]
        assert (item.status, item.file.from_cache) == ("new", False)
        assert query(settings, f"select count(*) from {TABLE}") == [(0,)], "off: the cache is emptied, not kept"
