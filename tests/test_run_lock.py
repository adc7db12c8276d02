"""The warehouse's run lock between real processes: exclusive, naming its holder, released by the OS when the holder
dies (kill -9), remembering that the last run did not finish; the landing sensor waits while it is held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context

from pipelines.run.lock import RunLock, RunLockedError, current_holder
from tests.conftest import ES003_HEADERS, csv_text, entry_number, es003_row, write

HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipelines.run.lock import RunLock
    RunLock.acquire(Path(sys.argv[1]), sys.argv[2], "a test holding the warehouse")
    print("held", flush=True)
    sys.stdin.readline()
    """
)


def hold(warehouse: Path, run_id: str = "held-elsewhere") -> subprocess.Popen:
    """Another process holding the warehouse's run lock until its stdin gets a line (or it is killed)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse), run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_the_lock_is_exclusive_names_its_holder_and_is_freed_by_its_death(tmp_path):
    warehouse = tmp_path / "warehouse" / "refunds.duckdb"
    holder = hold(warehouse, "run-a")
    with pytest.raises(RunLockedError, match=rf"in use by run run-a \(pid {holder.pid} on .*a test holding"):
        RunLock.acquire(warehouse, "run-b", "refunds run")
    assert current_holder(warehouse).run_id == "run-a"

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    started = time.monotonic()
    lock = RunLock.acquire(warehouse, "run-b", "refunds run")  # at once: the OS let go with the process
    assert time.monotonic() - started < 1
    assert lock.previous_run_died and lock.previous.run_id == "run-a", "the next run knows the last one died"
    lock.release()
    assert current_holder(warehouse) is None
    again = RunLock.acquire(warehouse, "run-c", "refunds run")
    assert not again.previous_run_died and again.previous.run_id == "run-b"
    again.release()


def test_the_landing_sensor_waits_while_a_run_holds_the_warehouse(tmp_path, monkeypatch):
    from pipelines.definitions import landing_sensor

    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse" / "refunds.duckdb"
    monkeypatch.setenv("REFUNDS_LANDING_DIR", str(landing))
    monkeypatch.setenv("REFUNDS_WAREHOUSE", str(warehouse))
    f = write(landing / "es003.csv", csv_text(ES003_HEADERS, [es003_row(entry_number("AB1", 1))]))
    old = time.time() - 3600
    os.utime(f, (old, old))
    holder = hold(warehouse, "run-a")
    try:
        with DagsterInstance.ephemeral() as instance:
            waiting = landing_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert waiting.run_requests == [] and "run-a" in waiting.skip_message
    finally:
        holder.communicate("\n", timeout=30)
    with DagsterInstance.ephemeral() as instance:
        assert len(landing_sensor.evaluate_tick(build_sensor_context(instance=instance)).run_requests) == 1
