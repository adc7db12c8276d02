"""Run safety with real processes on the bundled sample: one run at a time, dbt dies with its run, every run leaves
a report (a run that died, through the next one), and the exports and the published copy change as whole sets,
whatever the moment a crash strikes.

The module shares its runs: one contested start (a first ``refunds run`` and three more started 0, 1 and 5 s after
it) builds the warehouse; one run is killed with kill -9 while dbt builds; runs launched as the schedule launches
them run one cheap step. The crash tests work on copies of the state the contested start left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.export.cape_files import write_export
from pipelines.publish.analyst_copy import PUBLISHED_DB
from pipelines.run.lock import current_holder, lock_path, read_holder
from pipelines.run.recovery import PUBLISHED_MANIFEST, recover_exports, recover_published
from tests.conftest import PROJECT_ROOT, wait_for_dbt_to_build
from tests.test_export_gate import AS_OF, _landing
from tests.test_run_lock import hold

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

REFUNDS = Path(sys.executable).parent / "refunds"
DELAYS = (0, 1, 5)  # seconds after the first run's start


def _env(root: Path) -> dict[str, str]:
    return {
        "REFUNDS_EXPORTS_DIR": str(root / "exports"),
        "REFUNDS_REPORTS_DIR": str(root / "reports"),
        "REFUNDS_PUBLISHED_DIR": str(root / "published"),
    }


def _args(root: Path) -> list[str]:
    return ["run", "--input", str(root / "landing"), "--as-of", AS_OF, "--settle", "0"] + [
        "--warehouse",
        str(root / "warehouse" / "refunds.duckdb"),
    ]


def _start(root: Path, name: str, stdout=None) -> subprocess.Popen:
    """``refunds run`` in its own process; its output goes to files (a full pipe would stall it)."""
    with open(root / f"{name}.out", "w") as out, open(root / f"{name}.err", "w") as err:
        return subprocess.Popen(
            [str(REFUNDS), *_args(root)], stdout=stdout or out, stderr=err, text=True, env=os.environ | _env(root)
        )


def _label(name) -> str:
    return "first" if name == "first" else f"second_{name}s"


@pytest.fixture(scope="module")
def contested(tmp_path_factory):
    """A first run and three more on the same warehouse, started 0, 1 and 5 seconds after it."""
    root = tmp_path_factory.mktemp("run_safety")
    _landing(root)
    schedule = {"first": 0.0, **{delay: float(delay) for delay in DELAYS}}  # name -> seconds after the first
    procs, started, ended = {}, {}, {}
    t0 = time.monotonic()
    while len(ended) < len(schedule):
        now = time.monotonic() - t0
        for name, at in schedule.items():
            if name not in procs and now >= at:
                procs[name] = _start(root, _label(name))
                started[name] = time.monotonic() - t0
        for name, p in procs.items():
            if name not in ended and p.poll() is not None:
                ended[name] = time.monotonic() - t0
        assert now < 900, "runs did not finish"
        time.sleep(0.02)
    outcomes = {
        name: {
            "code": p.returncode,
            "started_s": round(started[name], 2),
            "took_s": round(ended[name] - started[name], 2),
            "stdout": (root / f"{_label(name)}.out").read_text(),
            "stderr": (root / f"{_label(name)}.err").read_text(),
            "pid": p.pid,
        }
        for name, p in procs.items()
    }
    print(json.dumps({k: {f: v[f] for f in ("code", "started_s", "took_s")} for k, v in outcomes.items()}))
    # The state the winning run left, kept aside for the crash tests (later tests change the warehouse).
    pristine = root / "pristine"
    for part in ("warehouse", "exports", "published"):
        shutil.copytree(root / part, pristine / part)
    return root, outcomes


def _winner(outcomes):
    winners = [name for name, o in outcomes.items() if o["code"] == 0]
    assert len(winners) == 1, {k: (o["code"], o["stderr"][-2000:]) for k, o in outcomes.items()}
    return winners[0], outcomes[winners[0]]


def test_a_second_run_at_0_1_and_5_seconds_exits_3_naming_the_first(contested):
    root, outcomes = contested
    name, winner = _winner(outcomes)
    # Started together, either of the first two may win; every other run is refused.
    assert name in ("first", 0)
    run_id = re.search(r"run (\S+) succeeded", winner["stdout"])[1]
    for other, o in outcomes.items():
        if other == name:
            continue
        assert o["code"] == 3, (other, o["stderr"][-2000:])
        assert f"in use by run {run_id} (pid {winner['pid']} on " in o["stderr"], o["stderr"]
        assert "Traceback" not in o["stderr"]
        assert o["took_s"] < 30, f"refused at once, not after a wait ({other}: {o['took_s']} s)"


def test_the_refused_runs_lose_nothing_and_leave_no_trace(contested):
    root, outcomes = contested
    _, winner = _winner(outcomes)
    run_id = re.search(r"run (\S+) succeeded", winner["stdout"])[1]
    landed = {p.name for p in (root / "landing").iterdir() if p.is_file()}
    with duckdb.connect(str(root / "warehouse" / "refunds.duckdb"), read_only=True) as con:
        ledger = con.execute(
            "select file_name, status, rows_read, rows_loaded, rows_quarantined, run_id from ingest.file_ledger"
        ).fetchall()
        registered = con.execute("select distinct run_id from export.exported_entries").fetchall()
    assert sorted(r[0] for r in ledger) == sorted(landed), "every landed file loaded exactly once"
    assert all(r[1] == "loaded" and r[2] == r[3] + r[4] for r in ledger)
    assert {r[5] for r in ledger} == {run_id} and registered == [(run_id,)], "only the winner wrote"
    _assert_export_agrees_with_register(root / "exports" / AS_OF, root / "warehouse" / "refunds.duckdb")
    reports = sorted(p.parent.name for p in (root / "reports" / "runs").glob("*/run_report.html"))
    assert reports == [f"{AS_OF}_{run_id[:8]}"], "one report: the winner's; a refused run did not run"
    holder = read_holder(lock_path((root / "warehouse" / "refunds.duckdb").resolve()))
    assert holder.run_id == run_id and holder.state == "finished"


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _is_dbt_build(pid: int) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"build" in args and any(a.endswith(b"/dbt") for a in args)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _duckdb_lock_holder(warehouse: Path) -> int | None:
    try:
        duckdb.connect(str(warehouse)).close()
        return None
    except duckdb.IOException as exc:
        m = re.search(r"PID (\d+)", str(exc))
        return int(m[1]) if m else -1


def test_kill_9_of_the_run_frees_the_warehouse_and_the_next_run_reports_it(contested, capsys):
    root, _ = contested
    warehouse = root / "warehouse" / "refunds.duckdb"
    victim = _start(root, "victim", stdout=subprocess.PIPE)
    wait_for_dbt_to_build(victim.stdout)  # once dbt builds models it holds DuckDB's lock
    dbt = [p for p in _descendants(victim.pid) if _is_dbt_build(p)]
    assert len(dbt) == 1, "dbt runs as a child of the run"
    dbt = dbt[0]
    victim_run = read_holder(lock_path(warehouse.resolve())).run_id

    os.kill(victim.pid, signal.SIGKILL)  # the run's process only, as an OOM killer or a user would
    killed = time.monotonic()
    while _alive(dbt) or current_holder(warehouse) is not None or _duckdb_lock_holder(warehouse) is not None:
        assert time.monotonic() - killed < 30, "the warehouse is still held after 30 s"
        time.sleep(0.05)
    free_after = time.monotonic() - killed
    victim.wait(timeout=30)
    victim.stdout.close()
    with capsys.disabled():
        print(f"warehouse free {free_after:.2f} s after kill -9 of the run (dbt pid {dbt} gone with it)")
    assert free_after < 5

    # The next run (here one launched as the schedule would, with a single step: the start of a run is what
    # matters) finds the lock file still saying "running" and reports the run that died.
    assert _launch_as_scheduled(root).success
    report = root / "reports" / "runs" / f"{AS_OF}_{victim_run[:8]}" / "run_report.html"
    assert report.exists(), "the run that died is reported by the next one"
    assert "DIED" in report.read_text(encoding="utf-8")
    assert "reported by run" in report.read_text(encoding="utf-8")


def _launch_as_scheduled(root: Path):
    """The daily job as the daemon runs what the schedule requests (through the job's resource, not the command
    line), limited to its first step to keep it cheap."""
    from dagster import DagsterInstance, build_schedule_context

    from pipelines.definitions import DAILY_JOB_NAME, daily_schedule, defs
    from pipelines.ingest.assets import INVENTORY_KEY

    os.environ.update(_env(root))
    scheduled = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with DagsterInstance.ephemeral() as instance:
        tags = (
            daily_schedule.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=scheduled))
            .run_requests[0]
            .tags
        )
        assert tags["refunds/as_of"] == AS_OF
        config = {
            "landing_dir": str(root / "landing"),
            "warehouse_path": str(root / "warehouse" / "refunds.duckdb"),
            "landing_settle_seconds": 0,
        }
        return defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
            run_config={"resources": {"pipeline": {"config": config}}},
            instance=instance,
            tags=tags,
            asset_selection=[INVENTORY_KEY],
            raise_on_error=False,
        )


def test_a_run_dagster_launches_is_refused_before_any_step_or_leaves_its_report(contested):
    """What the schedule, the sensor and the UI launch goes through the job's resource, not the command line."""
    from pipelines.definitions import DAILY_JOB_NAME
    from pipelines.settings import load_settings

    root, _ = contested
    warehouse = root / "warehouse" / "refunds.duckdb"
    holder = hold(warehouse)
    try:
        refused = _launch_as_scheduled(root)
    finally:
        holder.communicate("\n", timeout=30)
    assert not refused.success
    assert not [e for e in refused.all_events if e.is_step_start], "refused before any step"
    errors = [e.event_specific_data.error.to_string() for e in refused.all_events if e.is_run_failure]
    assert any("in use by run held-elsewhere" in text for text in errors), errors

    result = _launch_as_scheduled(root)
    assert result.success
    report = load_settings().run_report_dir(dt.date.fromisoformat(AS_OF), result.run_id) / "run_report.html"
    assert report.exists() and "SUCCESS" in report.read_text(encoding="utf-8"), "the run wrote its own report"
    holder_info = read_holder(lock_path(warehouse.resolve()))
    assert holder_info.run_id == result.run_id and holder_info.state == "finished"
    assert holder_info.command == f"dagster job {DAILY_JOB_NAME}"


# ------------------------------------------------------------------------------------------- crash at every step
CRASHING_CHILD = textwrap.dedent(
    """
    import datetime as dt, json, os, shutil, sys
    from pathlib import Path
    import duckdb
    from pipelines.export.cape_files import write_export
    from pipelines.publish.analyst_copy import publish

    what, root, crash_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    calls = []

    def crashing(fn, kind):
        def call(*args, **kwargs):
            calls.append(kind)
            if len(calls) == crash_at:
                os._exit(137)  # as a kill: no handler, no finally, no rollback
            return fn(*args, **kwargs)
        return call

    # Every call that changes or flushes the file system, counted after the imports (which write .pyc files).
    for module, name in ((os, "rename"), (os, "replace"), (os, "fsync"), (shutil, "rmtree")):
        setattr(module, name, crashing(getattr(module, name), name))
    warehouse = root / "warehouse" / "refunds.duckdb"
    if what == "export":
        con = duckdb.connect(str(warehouse))
        write_export(con, root / "exports" / sys.argv[4], dt.date.fromisoformat(sys.argv[4]), "new-run", "\\n")
        con.close()
    else:
        publish(warehouse, root / "published", run_id="new-run")
    print(json.dumps(calls))
    """
)


def _fresh(contested, tmp_path: Path, name: str) -> Path:
    root, _ = contested
    copy = tmp_path / name
    shutil.copytree(root / "pristine", copy)
    return copy


def _crash(what: str, root: Path, crash_at: int) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, what, str(root), str(crash_at), AS_OF],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert done.returncode in (0, 137), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout) if done.returncode == 0 else []


def _crash_points(calls: list[str]) -> list[int]:
    """1-based positions to crash at: the first and the last flush while the new set is written, and every
    rename, flush and delete from then on (the commit and the swap)."""
    first_rename = calls.index("rename")
    return sorted({1, first_rename, *range(first_rename + 1, len(calls) + 1)})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entries(path: Path) -> list[str]:
    """The entry numbers of an upload file, with either line ending (the crash tests write the new set in LF)."""
    lines = path.read_bytes().decode("ascii").splitlines()
    assert lines[0] == "Entry Number"
    return lines[1:]


def _assert_export_agrees_with_register(folder: Path, warehouse: Path) -> dict:
    """The folder holds exactly the files of its manifest, and the register holds exactly that manifest and the
    entries of those files, each with its file. Returns the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["file_name"]: f["sha256"] for f in manifest["files"]}
    present = {p.name for p in folder.iterdir()} - {"manifest.json", "manifest.md"}
    assert present == set(listed), "no file the manifest does not list, none missing"
    assert all(_sha(folder / n) == sha for n, sha in listed.items()), "every file is the one listed"
    in_files = {(e, n, listed[n]) for n in listed for e in _entries(folder / n)}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        register = set(
            con.execute(
                "select entry_summary_number, file_name, file_sha256 from export.exported_entries where as_of_date = ?",
                [dt.date.fromisoformat(AS_OF)],
            ).fetchall()
        )
        committed = con.execute(
            "select manifest_sha256 from export.export_sets where as_of_date = ?", [dt.date.fromisoformat(AS_OF)]
        ).fetchall()
    assert register == in_files, "the register names every exported entry with its file, and nothing else"
    assert committed == [(_sha(folder / "manifest.json"),)], "the register committed this very manifest"
    return manifest


def test_a_crash_at_any_step_of_the_export_leaves_the_old_set_or_the_new_one(contested, tmp_path):
    root0, _ = contested
    old_manifest = (root0 / "pristine" / "exports" / AS_OF / "manifest.json").read_bytes()

    def prepared(name: str) -> Path:
        root = _fresh(contested, tmp_path, name)
        # The new set differs from the old one in every file (LF line endings) and drops a declaration, so a mix
        # of the two, or a file of the old set left beside the new, cannot go unseen.
        with duckdb.connect(str(root / "warehouse" / "refunds.duckdb")) as con:
            con.execute(
                "delete from marts.fct_declaration_plan where planned_declaration_id = "
                "(select min(planned_declaration_id) from marts.fct_declaration_plan)"
            )
        return root

    code, calls = _crash("export", prepared("reference"), 10**6)
    assert code == 0 and calls.count("rename") == 2
    outcomes = []
    for point in _crash_points(calls):
        root = prepared(f"crash_{point}")
        code, _ = _crash("export", root, point)
        assert code == 137
        folder, warehouse = root / "exports" / AS_OF, root / "warehouse" / "refunds.duckdb"
        if folder.exists():  # before recovery: whatever is in place is one whole set
            manifest = json.loads((folder / "manifest.json").read_text())
            assert all(_sha(folder / f["file_name"]) == f["sha256"] for f in manifest["files"])
            assert {p.name for p in folder.iterdir()} == {f["file_name"] for f in manifest["files"]} | {
                "manifest.json",
                "manifest.md",
            }
        recover_exports(root / "exports", warehouse)  # what the next run does first
        assert [p.name for p in (root / "exports").iterdir()] == [AS_OF], "no half-done swap left"
        manifest = _assert_export_agrees_with_register(folder, warehouse)
        if (folder / "manifest.json").read_bytes() == old_manifest:
            outcomes.append("old")
        else:
            assert manifest["run_id"] == "new-run" and manifest["line_ending"] == "LF"
            outcomes.append("new")
    print(dict(zip(_crash_points(calls), outcomes, strict=True)))
    # Before the register's commit the old set stands; from the commit on, the new one.
    assert outcomes == sorted(outcomes, key=["old", "new"].index) and {"old", "new"} <= set(outcomes)


def _assert_published_set(folder: Path) -> dict:
    manifest = json.loads((folder / PUBLISHED_MANIFEST).read_text())
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {PUBLISHED_MANIFEST}
    assert present == set(manifest["files"]), "the published folder holds exactly the files of one publish"
    assert all(_sha(folder / name) == sha for name, sha in manifest["files"].items())
    with duckdb.connect(str(folder / PUBLISHED_DB), read_only=True) as con:
        for table, rows in manifest["tables"].items():
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == rows
            parquet = folder / "parquet" / f"{table}.parquet"
            assert con.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()[0] == rows
    return manifest


def test_a_crash_at_any_step_of_the_publish_leaves_the_old_copy_or_the_new_one(contested, tmp_path):
    root0, _ = contested
    old = json.loads((root0 / "pristine" / "published" / PUBLISHED_MANIFEST).read_text())

    def prepared(name: str) -> Path:
        root = _fresh(contested, tmp_path, name)
        # The new copy has half the eligibility rows: a DuckDB file and Parquet files of two runs cannot agree.
        with duckdb.connect(str(root / "warehouse" / "refunds.duckdb")) as con:
            con.execute("delete from marts.fct_entry_eligibility where hash(entry_summary_number) % 2 = 0")
        return root

    code, calls = _crash("publish", prepared("reference"), 10**6)
    assert code == 0 and calls.count("rename") == 2
    outcomes = []
    for point in _crash_points(calls):
        root = prepared(f"crash_{point}")
        code, _ = _crash("publish", root, point)
        assert code == 137
        if (root / "published").exists():
            _assert_published_set(root / "published")
        recover_published(root / "published")
        assert sorted(p.name for p in root.iterdir()) == ["exports", "published", "warehouse"]
        manifest = _assert_published_set(root / "published")
        outcomes.append("new" if manifest["run_id"] == "new-run" else "old")
        if outcomes[-1] == "old":
            assert manifest == old
    print(dict(zip(_crash_points(calls), outcomes, strict=True)))
    assert outcomes == sorted(outcomes, key=["old", "new"].index) and {"old", "new"} <= set(outcomes)


# ------------------------------------------------------------------------------------ file names and manifest.md
def test_groups_that_sanitise_alike_get_two_files_and_manifest_md_shows_text_literally(contested, tmp_path):
    from markdown_it import MarkdownIt

    root = _fresh(contested, tmp_path, "names")
    warehouse = root / "warehouse" / "refunds.duckdb"
    hostile = "<img src=x onerror=alert(1)>|**x**"
    with duckdb.connect(str(warehouse)) as con:
        ids = [
            r[0]
            for r in con.execute(
                "select distinct planned_declaration_id from marts.fct_cape_export_candidates"
            ).fetchall()
        ]
        # Importer numbers as an export may carry them: two that differ only where a file name cannot.
        for declaration, group in zip(sorted(ids)[:3], ["12-3/45", "12-3:45", hostile], strict=True):
            con.execute(
                # the export writes the candidates the gate validated, as they are
                "update marts.fct_cape_export_candidates set declaration_group = ?, planned_declaration_id = ? "
                "where planned_declaration_id = ?",
                [group, f"{group}-001", declaration],
            )
        manifest = write_export(con, root / "exports" / AS_OF, dt.date.fromisoformat(AS_OF), "names-run")
    folder = root / "exports" / AS_OF
    names = [f["file_name"] for f in manifest["files"]]
    assert len(set(names)) == len(names) == len(ids)
    assert len({n for n in names if n.startswith("cape_12-3_45-")}) == 2, names
    _assert_export_agrees_with_register(folder, warehouse)

    page = MarkdownIt("commonmark").enable("table").render((folder / "manifest.md").read_text(encoding="utf-8"))
    assert "<img" not in page and "<strong>" not in page, "data shown as text, never as markup"
    assert "&lt;img src=x onerror=alert(1)&gt;|**x**-001" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)[1:]
    assert len(rows) == len(ids) and all(r.count("<td") == 6 for r in rows), "one cell per column in every row"
