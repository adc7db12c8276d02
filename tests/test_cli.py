"""The command line as the data team meets it: a quiet run with one line per step and the full log in a file,
a failed run that says what failed, ``refunds status``, ``--help``, ``--version``, the refusal of a future as_of,
and one Dagster instance for the command line and the UI.

The module's runs are real ``refunds run`` processes on the bundled sample (plus one entry whose IEEPA lines net
below 0, which a warn-severity dbt test flags), one as a pipe would see it, one on a pseudo-terminal.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import DagsterInstance

from pipelines import cli
from tests.conftest import PROJECT_ROOT
from tests.test_export_gate import AS_OF, SAMPLE, _landing

REFUNDS = Path(sys.executable).parent / "refunds"
STEP_LINE = re.compile(r"^(ok|warn|FAILED|skipped) +\d+\.\d s  ")
NEGATIVE_ENTRY_WARNING = "accepted_range_fct_entry_eligibility_ieepa_principal_amount__0"


def _env(root: Path) -> dict[str, str]:
    return os.environ | {
        "REFUNDS_EXPORTS_DIR": str(root / "exports"),
        "REFUNDS_REPORTS_DIR": str(root / "reports"),
        "REFUNDS_PUBLISHED_DIR": str(root / "published"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def _warehouse(root: Path) -> Path:
    return root / "warehouse" / "refunds.duckdb"


def _refunds(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``refunds ...`` with its output as a pipe shows it (stderr in its place among stdout's lines)."""
    return subprocess.run(
        [str(REFUNDS), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env or _env(root)
    )


def _run_args(root: Path) -> list[str]:
    return ["run", "--input", str(root / "landing"), "--as-of", AS_OF, "--settle", "0"] + [
        "--warehouse",
        str(_warehouse(root)),
    ]


def _on_a_terminal(args: list[str], env: dict) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its stdout and stderr; returns its exit code and what it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A good day (run, then status), then a run that fails at its reference files on a terminal (then status)."""
    root = tmp_path_factory.mktemp("cli")
    _landing(root)
    good = _refunds(root, *_run_args(root))
    status = _refunds(root, "status", "--warehouse", str(_warehouse(root)))

    # The same landing folder the next day, with an importer profile the run refuses (a wrong Y/N value).
    profiles = root / "broken_profiles.csv"
    text = (PROJECT_ROOT / "data" / "reference" / "importer_profiles.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[2] = "maybe"  # Is Corporate
    profiles.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    env = _env(root) | {"REFUNDS_IMPORTER_PROFILES": str(profiles)}
    failed_code, failed_out = _on_a_terminal([str(REFUNDS), *_run_args(root)], env)
    status_after = _refunds(root, "status", "--warehouse", str(_warehouse(root)), env=env)
    return {
        "root": root,
        "good": good,
        "status": status,
        "failed": (failed_code, failed_out),
        "status_after": status_after,
    }


def _run_id(output: str, word: str = "succeeded") -> str:
    return re.search(rf"^run (\S+) {word}", output, re.M)[1]


def _labelled(output: str, label: str) -> str:
    """The text beside ``label`` in the summary, continuation lines joined."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{label:<17}") and line[:17].strip() == label:
            text = [line[17:]]
            for more in lines[i + 1 :]:
                if not more.startswith(" " * 17) or not more.strip():
                    break
                text.append(more[17:])
            return " ".join(text)
    raise AssertionError(f"no {label!r} line in:\n{output}")


def _exported(root: Path) -> tuple[int, int]:
    """The CAPE files on disk and the entries in them, read here, not from the manifest."""
    files = sorted((root / "exports" / AS_OF).glob("cape_*.csv"))
    return len(files), sum(len(f.read_text(encoding="ascii").splitlines()) - 1 for f in files)


def _truth_files() -> list[dict]:
    with (SAMPLE / "truth" / "files.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.e2e
def test_a_run_prints_one_line_per_step_and_the_summary_in_under_40_lines(day):
    out = day["good"].stdout
    assert day["good"].returncode == 0, out
    lines = out.splitlines()
    assert len(lines) < 40, out
    assert "\x1b" not in out and "\r" not in out, "nothing animated, no colour codes on a pipe"
    assert "START sql" not in out and "Registered adapter" not in out, "dbt's own lines are in the log only"
    run_id = _run_id(out)
    instance = DagsterInstance.from_config(str(day["root"] / "dagster_home"))
    steps = instance.get_run_step_stats(run_id)
    assert len(steps) >= 10
    step_lines = [line for line in lines if STEP_LINE.match(line)]
    assert len(step_lines) == len(steps) + 1, "one line per Dagster step, and one for preparing the job"
    assert any(" dbt build " in line and "dbt tests passed" in line for line in step_lines)


@pytest.mark.e2e
def test_the_summary_agrees_with_the_files_and_the_truth(day):
    out, root = day["good"].stdout, day["root"]
    truth = _truth_files()
    rows = sum(int(f["data_rows"]) for f in truth) + 3  # the sample's rows and the three of the added file
    loaded = _labelled(out, "new files")
    assert loaded.startswith(f"{len(truth) + 1} loaded, 0 refused: rows read {rows:,} = loaded {rows:,}"), loaded

    files, entries = _exported(root)
    assert files > 0
    assert _labelled(out, "CAPE files").startswith(f"{files} file(s), {entries:,} entries"), out

    with (SAMPLE / "truth" / "entries.csv").open(newline="", encoding="utf-8") as f:
        world = list(csv.DictReader(f))
    accepted = sum(e["cape_ineligible_reason"] == "ALREADY_ACCEPTED" for e in world)
    held = _labelled(out, "held back")
    # Every entry is exported, held back or already accepted: the counts reconcile with the files on disk.
    not_filed = len(world) + 1 - entries - accepted
    assert held.startswith(f"{not_filed:,} entries not filed: "), held
    assert f"; {accepted:,} already accepted earlier" in held
    assert "ineligible, by first reason: " in held
    assert _labelled(out, "to review").startswith("1 entries (fct_entry_eligibility): "), "the planted entry"


@pytest.mark.e2e
def test_a_warn_severity_test_that_fails_is_a_warning_not_a_failure(day):
    out = day["good"].stdout
    warnings = [line for line in out.splitlines() if line.startswith("refunds: warning: check ")]
    assert f"refunds: warning: check {NEGATIVE_ENTRY_WARNING} on marts/fct_entry_eligibility" in "\n".join(warnings)
    assert "FAILED" not in out
    (dbt_line,) = [line for line in out.splitlines() if " dbt build " in line]
    assert dbt_line.startswith("warn ") and f"{len(warnings)} warned" in dbt_line


@pytest.mark.e2e
def test_the_full_log_is_in_the_file_the_summary_names(day):
    out = day["good"].stdout
    named = re.search(r"full log: (\S+)", out.splitlines()[0])[1]
    assert _labelled(out, "full log") == named
    log = Path(named) if Path(named).is_absolute() else Path.cwd() / named
    assert log.parent == day["root"] / "reports" / "runs" / f"{AS_OF}_{_run_id(out)[:8]}", "beside the run report"
    text = log.read_text(encoding="utf-8")
    assert "Finished running" in text and "START sql" in text, "dbt's lines"
    assert "STEP_SUCCESS" in text and "ASSET_CHECK_EVALUATION" in text, "Dagster's events"
    assert "\x1b" not in text, "no colour codes in a file"
    assert (log.parent / "run_report.html").exists()


@pytest.mark.e2e
def test_the_run_is_recorded_in_the_instance_the_ui_reads(day):
    run_id = _run_id(day["good"].stdout)
    instance = DagsterInstance.from_config(str(day["root"] / "dagster_home"))
    assert instance.get_run_by_id(run_id).status.value == "SUCCESS"
    default = cli.DEFAULT_DAGSTER_HOME
    if (default / "history").exists():
        assert DagsterInstance.from_config(str(default)).get_run_by_id(run_id) is None, "the developer's is untouched"


def test_make_dev_and_the_command_line_share_one_instance_folder(monkeypatch):
    # The test suite records nothing in the developer's instance: its runs use a throwaway in-memory one.
    assert "DAGSTER_HOME" not in os.environ and not cli.dagster_instance().is_persistent
    monkeypatch.delenv(cli.EPHEMERAL_ENV)
    assert cli.dagster_home() == PROJECT_ROOT / ".dagster_home"
    recipe = subprocess.run(
        ["make", "-n", "dev"], cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, check=True
    ).stdout
    assert f"DAGSTER_HOME=${{DAGSTER_HOME:-{PROJECT_ROOT}/.dagster_home}}" in recipe
    monkeypatch.setenv("DAGSTER_HOME", "/srv/refunds/dagster_home")
    assert cli.dagster_home() == Path("/srv/refunds/dagster_home"), "an explicit DAGSTER_HOME wins"


@pytest.mark.e2e
def test_status_says_the_last_run_its_gate_its_files_and_the_published_copy(day):
    out, root = day["status"].stdout, day["root"]
    assert day["status"].returncode == 0, out
    run_id = _run_id(day["good"].stdout)
    assert _labelled(out, "run lock") == "free"
    assert _labelled(out, "last run").startswith(f"{run_id} as of {AS_OF}: SUCCESS (started ")
    suites = len(list((PROJECT_ROOT / "expectations" / "expectations").glob("*.json")))
    assert _labelled(out, "gate").startswith(f"passed: all {suites} GX suites; ")
    files, entries = _exported(root)
    assert _labelled(out, "CAPE files").startswith(f"{files} file(s), {entries:,} entries")
    published = json.loads((root / "published" / "published.json").read_text(encoding="utf-8"))
    assert f"published {published['published_at']} by run {run_id}" in _labelled(out, "published copy")
    truth_files = len(_truth_files()) + 1
    assert _labelled(out, "ledger").startswith(f"{truth_files} files loaded, 0 refused; rows read ")


@pytest.mark.e2e
def test_a_failed_run_on_a_terminal_shows_progress_and_says_what_failed(day):
    code, out = day["failed"]
    assert code == 1, out
    assert "\x1b" not in out, "progress without colour or cursor codes"
    assert "\r" in out.replace("\r\n", ""), "a progress line redrawn in place while a step runs"
    text = out.replace("\r\n", "\n")
    final = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]  # what the terminal shows once redrawn
    (failed,) = [line for line in final if line.startswith("FAILED") and "reference_files" in line]
    assert "broken_profiles.csv" in failed and "maybe" in failed, failed
    assert any(line.startswith("skipped") and "dbt build" in line for line in final), "\n".join(final)
    summary = "\n".join(final)
    assert re.search(r"^run \S+ FAILED after", summary, re.M)
    assert _labelled(summary, "gate").startswith("not reached")
    assert _labelled(summary, "CAPE files") == "none written by this run (the earlier files there are untouched)"
    assert _labelled(summary, "analysts' copy").startswith("not refreshed")
    assert _labelled(summary, "held back") == "not known: the marts were not rebuilt by this run"


@pytest.mark.e2e
def test_status_after_a_failed_run_names_it_and_the_files_still_in_place(day):
    out = day["status_after"].stdout
    failed_id = _run_id(day["failed"][1].replace("\r", "\n"), "FAILED after")
    good_id = _run_id(day["good"].stdout)
    assert _labelled(out, "last run").startswith(f"{failed_id} as of {AS_OF}: FAILURE (started ")
    assert _labelled(out, "gate").startswith("not reached")
    assert f"; written by run {good_id} at " in _labelled(out, "CAPE files")
    assert f"by run {good_id}" in _labelled(out, "published copy")


HOLD_WAREHOUSE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import duckdb
    from pipelines.run.lock import RunLock
    RunLock.acquire(Path(sys.argv[1]), "run-in-progress", "refunds run (a test)", "2026-11-20")
    con = duckdb.connect(sys.argv[1])  # and DuckDB's write lock, as a running step holds it
    print("held", flush=True)
    sys.stdin.readline()
    """
)


@pytest.mark.e2e
def test_status_never_opens_the_warehouse_while_a_run_holds_it(day, tmp_path):
    root = tmp_path
    shutil.copytree(day["root"] / "warehouse", root / "warehouse")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(_warehouse(root))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        done = _refunds(root, "status", "--warehouse", str(_warehouse(root)), env=_env(day["root"]))
    finally:
        holder.communicate("\n", timeout=30)
    assert done.returncode == 0, done.stdout
    assert "Traceback" not in done.stdout
    assert _labelled(done.stdout, "run lock").startswith("held by run run-in-progress (pid ")
    assert _labelled(done.stdout, "running").startswith("run run-in-progress as of 2026-11-20, since ")
    assert _labelled(done.stdout, "ledger").startswith("not read while a run holds the warehouse")
    # The last run that ended, from the Dagster instance.
    assert _labelled(done.stdout, "last run").startswith(_run_id(day["failed"][1].replace("\r", "\n"), "FAILED after"))


def _settings_in(tmp_path: Path, time_zone: str) -> Path:
    path = tmp_path / f"{time_zone.replace('/', '_')}.yaml"
    path.write_text(f"schedule:\n  time_zone: {time_zone}\n", encoding="utf-8")
    return path


def test_a_future_as_of_is_refused_in_the_settings_time_zone_unless_forced(tmp_path, monkeypatch, capsys):
    # Kiritimati (UTC+14) is always a calendar day or two ahead of Pago Pago (UTC-11).
    ahead = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    missing = tmp_path / "no_such_folder"
    args = ["run", "--as-of", ahead, "--input", str(missing), "--warehouse", str(tmp_path / "w" / "refunds.duckdb")]

    monkeypatch.setenv("REFUNDS_SETTINGS", str(_settings_in(tmp_path, "Pacific/Pago_Pago")))
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert f"--as-of {ahead} is after today" in err and "Pacific/Pago_Pago" in err and "--force-future-as-of" in err
    assert not (tmp_path / "w").exists() and not (tmp_path / "data").exists(), "nothing written"

    # Forced, the date passes (the run then stops at the next check: the input folder does not exist).
    assert cli.main([*args, "--force-future-as-of"]) == 2
    assert "is not a folder" in capsys.readouterr().err

    # In a time zone where that date is today, it is no future date.
    monkeypatch.setenv("REFUNDS_SETTINGS", str(_settings_in(tmp_path, "Pacific/Kiritimati")))
    assert cli.main(args) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_help_describes_every_command_option_exit_code_and_the_settings_variable():
    parser = cli._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) >= {"run", "status", "synth", "inspect", "sample", "prepare"}
    for name, sub in commands.choices.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest}"
        text = sub.format_help()
        assert "exit codes:" in text and "REFUNDS_SETTINGS" in text, name
    text = parser.format_help()
    for code in range(4):
        assert re.search(rf"^  {code}  \w", text, re.M), code
    assert "REFUNDS_SETTINGS" in text and "DAGSTER_HOME" in text and "--version" in text


def test_version_names_the_package_and_the_pinned_libraries_in_use():
    out = subprocess.run([str(REFUNDS), "--version"], capture_output=True, text=True, check=True).stdout
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert out.splitlines()[0] == f"refunds {pyproject['project']['version']}"
    pins = dict(re.match(r"([\w-]+)(.*)", d).groups() for d in pyproject["project"]["dependencies"])
    for name in ("dagster", "dagster-dbt", "dbt-duckdb", "duckdb", "great-expectations"):
        assert f"  {name} {pins[name].removeprefix('==')}" in out.splitlines(), name
    dbt_core = re.search(r"^  dbt-core (1\.11\.\d+)$", out, re.M)
    assert dbt_core, out


@pytest.mark.e2e
def test_the_run_parses_the_dbt_project_only_when_a_file_of_it_changed(tmp_path):
    """``refunds run`` relies on loading the definitions to parse a stale manifest, not on a parse every run."""
    from dagster_dbt import DbtProject

    from pipelines.transform.dbt import get_dbt_project, manifest_is_stale

    copy = tmp_path / "dbt_project"
    shutil.copytree(get_dbt_project().project_dir, copy, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=copy, profiles_dir=copy)
    assert manifest_is_stale(project), "no manifest yet"
    project.manifest_path.parent.mkdir(parents=True)
    shutil.copyfile(get_dbt_project().manifest_path, project.manifest_path)  # newer than every project file
    assert not manifest_is_stale(project)
    model = next((copy / "models").rglob("*.sql"))
    later = project.manifest_path.stat().st_mtime + 5
    os.utime(model, (later, later))  # a model edited after the parse
    assert manifest_is_stale(project)
