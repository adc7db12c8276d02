"""A run killed in the middle (kill -9 while dbt builds) leaves the published copy and the exports untouched,
and the next run completes without any manual cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from pipelines.cli import main
from tests.conftest import wait_for_dbt_to_build
from tests.test_export_gate import AS_OF, _landing

pytestmark = pytest.mark.e2e  # the end-to-end tier (make test-e2e)


def _snapshot(root):
    files = [*sorted((root / "exports").rglob("*")), *sorted((root / "published").rglob("*"))]
    return {str(p.relative_to(root)): p.read_bytes() for p in files if p.is_file()}


def test_kill_9_during_dbt_then_recover(tmp_path):
    env_dirs = {
        "REFUNDS_EXPORTS_DIR": str(tmp_path / "exports"),
        "REFUNDS_REPORTS_DIR": str(tmp_path / "reports"),
        "REFUNDS_PUBLISHED_DIR": str(tmp_path / "published"),
    }
    os.environ.update(env_dirs)
    args = ["run", "--input", str(_landing(tmp_path)), "--as-of", AS_OF, "--settle", "0"]
    args += ["--warehouse", str(tmp_path / "warehouse" / "refunds.duckdb")]
    assert main(args) == 0
    before = _snapshot(tmp_path)
    assert any(k.endswith(".csv") for k in before) and any(k.endswith(".duckdb") for k in before)

    # The same run in another process, killed (with its dbt child) as soon as dbt starts building models.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | env_dirs,
        start_new_session=True,
    )
    wait_for_dbt_to_build(proc.stdout, timeout=300)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert _snapshot(tmp_path) == before, "exports and published copy untouched by the killed run"
    assert main(args) == 0, "the next run completes without cleanup"
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k.endswith(".csv")} == {
        k: v for k, v in before.items() if k.endswith(".csv")
    }
