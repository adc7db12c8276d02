"""The analysts' copy: published after each successful run, readable by every DuckDB client the docs name (real
older clients, installed by `make duckdb-clients` into .tools/), with the marts' comments; every SQL query of the
README and docs/ runs on it under the oldest of them; and an analyst holding it open neither blocks the pipeline
nor is broken by the next publish (two real processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import duckdb
import pytest
import yaml

from pipelines.cli import main
from tests.conftest import PROJECT_ROOT
from tests.test_export_gate import AS_OF, _landing

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

# The clients the Makefile installs (one list: docs/ANALYSTS.md names the same ones, a test below checks it).
DUCKDB_CLIENTS = re.search(r"^DUCKDB_CLIENTS := (.+)$", (PROJECT_ROOT / "Makefile").read_text(), re.M).group(1).split()
OLDEST_CLIENT = DUCKDB_CLIENTS[0]
STORAGE_NUMBER_OLDEST = 64  # the header's storage version number that DuckDB 0.10.3 to 2.0 all read

CLIENT_READS = textwrap.dedent(
    """
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    rows = con.execute("select count(*) from marts.fct_entry_eligibility").fetchone()[0]
    total = con.execute("select sum(ieepa_principal_amount)::varchar from marts.fct_entry_eligibility").fetchone()[0]
    (table_comment,) = con.execute(
        "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_entry_eligibility'"
    ).fetchone()
    (column_comment,) = con.execute(
        "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_entry_eligibility' "
        "and column_name = 'eligibility_status'"
    ).fetchone()
    print(json.dumps({"version": duckdb.__version__, "rows": rows, "total": total, "table_comment": table_comment,
                      "column_comment": column_comment}))
    """
)

RUN_QUERIES = textwrap.dedent(
    """
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    failed = {}
    for query in json.load(sys.stdin):
        try:
            con.execute(query).fetchall()
        except Exception as error:
            failed[query] = str(error).splitlines()[0]
    print(json.dumps({"version": duckdb.__version__, "failed": failed}))
    """
)

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


def _client(version: str) -> str:
    """The Python of the DuckDB ``version`` client environment ``make duckdb-clients`` made."""
    python = PROJECT_ROOT / ".tools" / f"duckdb-{version}" / "bin" / "python"
    if not python.exists():
        message = f"DuckDB {version} client missing: make duckdb-clients (make test runs it) installs it in .tools/"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(python)


def _in_client(version: str, script: str, *args: str, stdin: str | None = None) -> dict:
    done = subprocess.run(
        [_client(version), "-c", script, *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"DuckDB {version}: {done.stderr[-2000:]}"
    return json.loads(done.stdout)


def _description(model: str, column: str | None = None) -> str:
    """A mart's (or its column's) description as written in the dbt YAML, whitespace collapsed."""
    (path,) = (PROJECT_ROOT / "dbt_project" / "models").rglob(f"{model}.yml")
    (node,) = [m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"] if m["name"] == model]
    if column is not None:
        (node,) = [c for c in node["columns"] if c["name"] == column]
    return " ".join(node["description"].split())


@pytest.mark.parametrize("version", DUCKDB_CLIENTS)
def test_every_named_duckdb_client_opens_the_copy_and_reads_marts_and_comments(published, version):
    root, _ = published
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as wh:
        rows, total = wh.execute(
            "select count(*), sum(ieepa_principal_amount)::varchar from marts.fct_entry_eligibility"
        ).fetchone()
    got = _in_client(version, CLIENT_READS, str(root / "published" / "refunds_analytics.duckdb"))
    assert got["version"] == version
    assert (got["rows"], got["total"]) == (rows, total)
    assert " ".join(got["table_comment"].split()) == _description("fct_entry_eligibility")
    assert " ".join(got["column_comment"].split()) == _description("fct_entry_eligibility", "eligibility_status")


def test_the_copy_is_in_the_oldest_storage_format_with_every_comment(published):
    root, _ = published
    db = root / "published" / "refunds_analytics.duckdb"
    header = db.read_bytes()[:20]
    assert header[8:12] == b"DUCK" and int.from_bytes(header[12:20], "little") == STORAGE_NUMBER_OLDEST
    comments = """
        select count(*) filter (where comment is not null), count(*) from duckdb_columns()
        where schema_name = 'marts' and not internal
    """
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as wh:
        in_warehouse = wh.execute(comments).fetchone()
    with duckdb.connect(str(db), read_only=True) as pub:
        assert pub.execute(comments).fetchone() == in_warehouse
        assert in_warehouse[0] == in_warehouse[1] > 400, "every mart column is described"


def test_the_docs_name_exactly_the_tested_clients():
    """docs/ANALYSTS.md lists the clients tested here; it and the README name the oldest as the first that opens it."""
    analysts = (PROJECT_ROOT / "docs" / "ANALYSTS.md").read_text(encoding="utf-8")
    named = re.search(r"tested with DuckDB ([0-9., and]+)", analysts)
    assert named, "docs/ANALYSTS.md says which DuckDB clients open the published copy"
    assert re.findall(r"[0-9]+\.[0-9]+\.[0-9]+", named.group(1)) == [*DUCKDB_CLIENTS, duckdb.__version__]
    for doc in ("README.md", "docs/ANALYSTS.md"):
        oldest = re.findall(r"DuckDB ([0-9.]+[0-9]) and every later release", (PROJECT_ROOT / doc).read_text("utf-8"))
        assert oldest and set(oldest) == {OLDEST_CLIENT}, f"{doc} names the oldest client that opens the copy"


WAREHOUSE_MARK = "<!-- query: warehouse -->"


def documented_queries() -> dict[str, list[tuple[str, str]]]:
    """Every SQL query of the README and docs/*.md: ``published`` (an analyst's, on the published copy) or
    ``warehouse`` (an auditor's, on the working warehouse: the block is preceded by ``<!-- query: warehouse -->``).
    Each query is named by its file and line."""
    found: dict[str, list[tuple[str, str]]] = {"published": [], "warehouse": []}
    for path in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("**/*.md"))]:
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```sql\n(.*?)^```", text, re.S | re.M):
            before = text[: block.start()].rstrip().splitlines()[-1:]
            kind = "warehouse" if before == [WAREHOUSE_MARK] else "published"
            line = text.count("\n", 0, block.start()) + 2
            for query in block.group(1).split(";"):
                sql = "\n".join(q for q in query.splitlines() if not q.strip().startswith("--")).strip()
                if sql:
                    found[kind].append((f"{path.relative_to(PROJECT_ROOT)}:{line}", sql))
    return found


def test_every_documented_query_runs_under_the_oldest_client_and_on_the_warehouse(published):
    root, _ = published
    queries = documented_queries()
    assert len(queries["published"]) >= 20, "the analysts' queries were found"
    sql = [q for _, q in queries["published"]]
    oldest = _in_client(
        OLDEST_CLIENT, RUN_QUERIES, str(root / "published" / "refunds_analytics.duckdb"), stdin=json.dumps(sql)
    )
    where = {q: at for at, q in queries["published"]}
    assert oldest["version"] == OLDEST_CLIENT
    assert not {where[q]: e for q, e in oldest["failed"].items()}, f"under DuckDB {OLDEST_CLIENT}"
    # ... and under the project's own DuckDB; the auditors' queries on the warehouse
    with duckdb.connect(str(root / "published" / "refunds_analytics.duckdb"), read_only=True) as pub:
        assert not _failures(pub, queries["published"])
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as wh:
        assert not _failures(wh, queries["warehouse"])


def _failures(con: duckdb.DuckDBPyConnection, queries: list[tuple[str, str]]) -> dict[str, str]:
    failed = {}
    for at, query in queries:
        try:
            con.execute(query).fetchall()
        except duckdb.Error as error:
            failed[at] = str(error).splitlines()[0]
    return failed


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
