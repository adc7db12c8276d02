"""The analysts' copy: published after each successful run, readable by a DuckDB 1.x client, and an analyst
holding it open neither blocks the pipeline nor is broken by the next publish (two real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from pipelines.cli import main
from tests.test_export_gate import AS_OF, _landing

ANALYST = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)   # an analyst's session, left open
    print(con.execute("select count(*) from marts.fct_entry_eligibility").fetchone()[0], flush=True)
    sys.stdin.readline()                                 # ... while the pipeline runs and publishes again
    print(con.execute("select count(*) from marts.fct_entry_eligibility").fetchone()[0], flush=True)
    """
)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    os.environ["REFUNDS_PUBLISHED_DIR"] = str(root / "published")
    args = ["run", "--input", str(_landing(root)), "--as-of", AS_OF, "--settle", "0"]
    args += ["--warehouse", str(root / "warehouse" / "refunds.duckdb")]
    assert main(args) == 0
    return root, args


def test_every_mart_is_published_to_duckdb_and_parquet(published):
    root, _ = published
    db = root / "published" / "refunds_analytics.duckdb"
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as wh:
        marts = dict(
            wh.execute("select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'").fetchall()
        )
    with duckdb.connect(str(db), read_only=True) as pub:
        for table in marts:
            n = pub.execute(f"select count(*) from marts.{table}").fetchone()[0]
            parquet = root / "published" / "parquet" / f"marts.{table}.parquet"
            assert pub.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()[0] == n, table
        assert pub.execute("select count(*) from audit.file_ledger").fetchone()[0] > 0
    assert not list((root / "published").rglob(".*.tmp"))


def test_a_duckdb_1x_client_reads_the_published_file(published, tmp_path):
    root, _ = published
    venv = tmp_path / "duckdb14"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "duckdb==1.4.1"], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-2000:]
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, c.execute('select count(*) from marts.fct_entry_eligibility').fetchone()[0])",
            str(root / "published" / "refunds_analytics.duckdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    version, rows = out.stdout.split()
    assert version.startswith("1.") and int(rows) > 0


def test_an_open_analyst_session_does_not_block_the_run(published):
    root, args = published
    db = root / "published" / "refunds_analytics.duckdb"
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        before = int(analyst.stdout.readline())
        inode_before = db.stat().st_ino
        assert main(args) == 0  # the whole job, publish included, while the analyst holds the file open
        assert db.stat().st_ino != inode_before, "a new file was renamed into place"
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert int(analyst.stdout.readline()) == before, "the open session keeps working on the file it opened"
        assert analyst.wait(timeout=30) == 0
    finally:
        analyst.kill()
    with duckdb.connect(str(db), read_only=True) as fresh:
        assert fresh.execute("select count(*) from marts.fct_entry_eligibility").fetchone()[0] == before
