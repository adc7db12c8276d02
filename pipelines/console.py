"""What ``refunds run`` shows while it runs: one line per step with its counts and time, a progress line on a
terminal, and nothing else; everything dbt, Dagster and the libraries print goes to the run's log file.

The run's own output is redirected at the file-descriptor level (fds 1 and 2, and ``sys.stdout`` / ``sys.stderr``),
so the dbt process, Dagster's console logger and any library that prints all land in the log, whatever stream
they hold. The console keeps a duplicate of the original descriptors for its own lines.

Steps are followed from the Dagster instance's event log (polled from a thread), the same record the UI shows.
On a terminal a single status line says which step is running and for how long (dbt's "N of M" while it builds);
when the output is not a terminal nothing is animated: each step's line is printed when the step ends.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LABEL_WIDTH = 17  # the summary's label column
_DBT_PROGRESS = re.compile(rb"(\d+) of (\d+) (?:START|OK|PASS|WARN|ERROR|FAIL|SKIP)")
_SPINNER = "|/-\\"


class Console:
    """The run's terminal (or pipe): lines for people; a status line only when it is a terminal."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None):
        self._owned: list[IO[str]] = []
        self.out = self._keep(out or sys.stdout)
        self.err = self._keep(err or sys.stderr)
        self.tty = _isatty(self.out)
        self._status = ""
        self._tee: IO[str] | None = None
        self._lock = threading.RLock()

    def _keep(self, stream: IO[str]) -> IO[str]:
        # A stream on fd 1 or 2 is duplicated: the run's capture redirects those descriptors to the log file.
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            return stream  # a StringIO, pytest's capsys: not a descriptor the capture touches
        if fd not in (1, 2):
            return stream
        stream.flush()
        kept = os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="replace")
        self._owned.append(kept)
        return kept

    def tee_to(self, log_path: Path | None) -> None:
        """Also append every line to ``log_path`` (the run's log gets the console's lines in their place)."""
        if self._tee is not None:
            self._tee.close()
        self._tee = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else None  # noqa: SIM115

    def line(self, text: str = "", error: bool = False) -> None:
        with self._lock:
            self._erase_status()
            stream = self.err if error else self.out
            if error and stream is not self.out:
                self.out.flush()
            stream.write(text + "\n")
            stream.flush()
            if self._tee is not None:
                self._tee.write(text + "\n")
            self._draw_status()

    def labelled(self, label: str, text: str) -> None:
        """``label`` in the summary's column, ``text`` wrapped beside it (to the terminal's width, at most 118)."""
        width = min(118, _columns(self.out)) if self.tty else 118
        for i, part in enumerate(_wrap(text, max(width - LABEL_WIDTH, 40))):
            self.line(f"{label if i == 0 else '':<{LABEL_WIDTH}}{part}")

    def status(self, text: str) -> None:
        """The progress line (terminal only; nothing is animated on a pipe or a file)."""
        if not self.tty:
            return
        with self._lock:
            self._erase_status()
            self._status = text[: _columns(self.out) - 1]
            self._draw_status()

    def clear_status(self) -> None:
        with self._lock:
            self._erase_status()
            self._status = ""

    def _erase_status(self) -> None:
        if self.tty and self._status:
            self.out.write("\r" + " " * len(self._status) + "\r")
            self.out.flush()

    def _draw_status(self) -> None:
        if self.tty and self._status:
            self.out.write(self._status)
            self.out.flush()

    def close(self) -> None:
        self.clear_status()
        self.tee_to(None)
        for stream in self._owned:
            stream.close()
        self._owned.clear()


@contextmanager
def capture_output(log_path: Path) -> Iterator[None]:
    """Send everything this process and its children print to ``log_path`` until the block ends."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        saved = os.dup(1), os.dup(2)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):
                yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                if stream is not None:
                    stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class Ticker:
    """Calls ``tick`` every ``interval`` seconds from a thread until the block ends (then once more, here)."""

    def __init__(self, tick: Callable[[], None], interval: float):
        self._tick, self._interval = tick, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="refunds-console", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            # The display must never stop the run; the final tick (in __exit__) reports what this one missed.
            with suppress(Exception):
                self._tick()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._tick()


@dataclass
class Step:
    """One Dagster step of the run, as its events describe it."""

    key: str
    started: float | None = None
    ended: float | None = None
    outcome: str | None = None  # ok, FAILED, skipped
    error: str | None = None
    materializations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    checks: list[Any] = field(default_factory=list)  # AssetCheckEvaluation

    @property
    def seconds(self) -> float:
        if self.started is None:  # never started
            return 0.0
        return (self.ended or time.time()) - self.started


def _root(error):
    while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
        error = error.cause
    return error


def root_error(error) -> str:
    """The innermost cause of a Dagster error, on one line."""
    error = _root(error)
    return " ".join((error.message if error is not None else "").split())


def root_error_class(error) -> str | None:
    error = _root(error)
    return error.cls_name if error is not None else None


class RunWatcher:
    """Follows a run in the Dagster instance: prints each step's line when it ends, shows the running one."""

    def __init__(self, console: Console, instance, run_id: str, log_path: Path, describe: Callable[[Step], str]):
        from dagster import DagsterEventType as T

        self.console, self.instance, self.run_id, self.log_path = console, instance, run_id, log_path
        self.describe = describe
        self.steps: dict[str, Step] = {}
        self._cursor: str | None = None
        self._spin = 0
        self._types = {
            T.STEP_START,
            T.STEP_SUCCESS,
            T.STEP_FAILURE,
            T.STEP_SKIPPED,
            T.ASSET_MATERIALIZATION,
            T.ASSET_CHECK_EVALUATION,
        }

    def tick(self) -> None:
        self.poll()
        running = [s for s in self.steps.values() if s.started and not s.ended]
        self._spin += 1
        if running:
            step = running[-1]
            extra = self._dbt_progress() if "dbt" in step.key else ""
            self.console.status(f"{_SPINNER[self._spin % 4]:<7}{step.seconds:>7.1f} s  {step_label(step)}{extra}")

    def poll(self) -> None:
        from dagster import DagsterEventType as T

        connection = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=self._types)
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None:
                continue
            step = self.steps.setdefault(event.step_key, Step(event.step_key))
            at = record.event_log_entry.timestamp
            kind = event.event_type
            if kind == T.STEP_START:
                step.started = at
            elif kind == T.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                metadata = {k: getattr(v, "value", v) for k, v in (materialization.metadata or {}).items()}
                step.materializations.append((materialization.asset_key.to_user_string(), metadata))
            elif kind == T.ASSET_CHECK_EVALUATION:
                step.checks.append(event.event_specific_data)
            else:
                step.ended = at
                step.outcome = {T.STEP_SUCCESS: "ok", T.STEP_FAILURE: "FAILED"}.get(kind, "skipped")
                if kind == T.STEP_FAILURE:
                    step.error = root_error(getattr(event.event_specific_data, "error", None))
                self.console.line(step_line(step, self.describe(step)))
        self._cursor = connection.cursor

    def report_not_run(self, step_keys) -> None:
        """A line for each step of the plan that never ran (Dagster records no event for a step whose upstream
        step or blocking check failed)."""
        for key in step_keys:
            step = self.steps.setdefault(key, Step(key))
            if step.outcome is None:
                step.outcome = "skipped"
                self.console.line(step_line(step, self.describe(step)))

    def _dbt_progress(self) -> str:
        # dbt's own "N of M" from the tail of the log (dagster-dbt relays dbt's lines there as they come).
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 8192))
                found = _DBT_PROGRESS.findall(log.read())
        except OSError:
            return ""
        return f": dbt node {int(found[-1][0]):,} of {int(found[-1][1]):,}" if found else ""


def step_label(step: Step) -> str:
    if step.checks and not step.materializations:
        return "check " + ", ".join(sorted({c.check_name for c in step.checks}))
    if step.key == "ieepa_dbt_assets":  # the dbt project's one step (its tables are many assets)
        return "dbt build"
    return step.key.replace("__", ".")


def step_line(step: Step, detail: str) -> str:
    outcome = step.outcome or "?"
    if outcome == "ok" and any(not c.passed for c in step.checks):
        outcome = "warn"
    return f"{outcome:<7}{step.seconds:>7.1f} s  {step_label(step):<36} {detail}".rstrip()


@contextmanager
def phase(console: Console, label: str) -> Iterator[dict]:
    """A stretch of the run that is not a Dagster step (preparing the job): its line, with progress on a tty."""
    started = time.time()
    note: dict = {"detail": ""}
    spin = [0]

    def tick() -> None:
        spin[0] += 1
        console.status(f"{_SPINNER[spin[0] % 4]:<7}{time.time() - started:>7.1f} s  {label}")

    try:
        with Ticker(tick, 0.25):
            yield note
    except BaseException:
        console.line(f"{'FAILED':<7}{time.time() - started:>7.1f} s  {label}")
        raise
    console.clear_status()
    console.line(f"{'ok':<7}{time.time() - started:>7.1f} s  {label:<36} {note['detail']}".rstrip())


def display_path(path: Path | str) -> str:
    """A path relative to the current folder when it is inside it (shorter to read), else absolute."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def counts(pairs, limit: int = 8) -> str:
    """``name n, name n, ...`` for (name, n) pairs, biggest first, the rest summed (a name and its count are never
    wrapped apart)."""
    pairs = sorted(pairs, key=lambda p: (-p[1], p[0]))
    shown = [f"{name}{_KEEP}{n:,}" for name, n in pairs[:limit]]
    if len(pairs) > limit:
        rest = len(pairs) - limit
        shown.append(
            f"{rest}{_KEEP}more{_KEEP}reason{'s' if rest > 1 else ''}{_KEEP}{sum(n for _, n in pairs[limit:]):,}"
        )
    return ", ".join(shown)


_KEEP = "\u00a0"  # a space _wrap does not break at


def _wrap(text: str, width: int) -> list[str]:
    return [line.replace(_KEEP, " ") for line in _wrap_words(text, width)]


def _wrap_words(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current]


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 120
