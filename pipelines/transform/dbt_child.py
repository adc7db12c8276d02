"""``refunds-dbt``: runs dbt so that it dies with the process that started it.

dagster-dbt starts dbt with a plain ``subprocess.Popen`` (no hook for the child's set-up). When the run's process
is killed (kill -9, OOM killer), an orphaned dbt would go on building and hold the warehouse's DuckDB write lock
until it finishes, refusing the next run. So the pipeline gives dagster-dbt this program as its dbt executable:
it asks Linux to send it SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``, kept across ``exec``), then
replaces itself with the real dbt beside it. Elsewhere than Linux it simply runs dbt.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from pipelines.run.context import PARENT_PID_ENV  # set by the process that starts dbt: closes the race at start-up

PR_SET_PDEATHSIG = 1


def main() -> None:
    expected_parent = int(os.environ.get(PARENT_PID_ENV) or os.getppid())
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != expected_parent:  # the parent died before the request took effect
            sys.exit("refunds-dbt: the process that started dbt has ended; not starting dbt")
    dbt = Path(sys.executable).parent / "dbt"
    os.execv(dbt, [str(dbt), *sys.argv[1:]])


if __name__ == "__main__":
    main()
