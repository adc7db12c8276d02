"""The Dagster UI, in a real browser: headless Chromium on 127.0.0.1 opens the asset catalog and the last run,
and finds the assets and the run's checks (the UI is a JavaScript application: the DOM is read after it ran)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipelines.cli import main
from tests.browser import CHROMIUM
from tests.browser import FLAGS as BROWSER_FLAGS
from tests.conftest import PROJECT_ROOT
from tests.test_export_gate import AS_OF, _landing

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)

# The UI runs on 127.0.0.1: online flags (tests/browser.py), with time for its scripts to render.
FLAGS = [*BROWSER_FLAGS, "--virtual-time-budget=20000"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dom(url: str, profile: Path, screenshot: Path | None = None, tall: bool = True) -> str:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]
    if screenshot:
        subprocess.run(
            [*cmd, "--window-size=1400,900", f"--screenshot={screenshot}", url], capture_output=True, timeout=180
        )
    # Lists render only the rows in view: a tall window puts every asset of the catalog in the DOM. The run's log
    # is read in a normal window, which follows the log's end (where RUN_SUCCESS is).
    size = "--window-size=1400,20000" if tall else "--window-size=1400,900"
    return subprocess.run([*cmd, size, "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout


@pytest.mark.slow
def test_the_ui_shows_the_asset_graph_and_the_last_runs_checks(tmp_path, monkeypatch):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the command line records its run in this instance
    args = ["run", "--input", str(_landing(tmp_path)), "--as-of", AS_OF, "--settle", "0"]
    assert main([*args, "--warehouse", str(tmp_path / "warehouse" / "refunds.duckdb")]) == 0
    run_id = DagsterInstance.get().get_runs(limit=1)[0].run_id

    port = _port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, "the webserver did not start"
                time.sleep(1)
        base = f"http://127.0.0.1:{port}"
        catalog = _dom(f"{base}/assets?view=flat", tmp_path / "chrome", tmp_path / "catalog.png")
        for asset in (
            "fct_entry_eligibility",
            "fct_declaration_plan",
            "cape_declaration_files",
            "analyst_copy",
            "dbt_docs",
        ):
            assert asset in catalog, asset
        # Key figures are materialization metadata: the asset's page shows them (and plots their history).
        asset_page = _dom(f"{base}/assets/marts/fct_entry_eligibility", tmp_path / "chrome")
        assert "eligible_entries" in asset_page and "data-engineering" in asset_page  # owner
        # The run's log streams in (hundreds of events): on a loaded machine the page may not hold them all within
        # Chromium's time budget, so the page is read again, up to three times, before the test gives up.
        wanted = ("cape_export_candidates_valid", "ledger_reconciles", "eligibility_is_safe", "RUN_SUCCESS")
        for _ in range(3):
            run_page = _dom(f"{base}/runs/{run_id}", tmp_path / "chrome", tmp_path / "run.png", tall=False)
            if all(w in run_page for w in wanted):
                break
        for w in wanted:
            assert w in run_page, w
        assert (tmp_path / "run.png").stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
