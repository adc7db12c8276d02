"""Replace a whole folder of outputs at once: the CAPE files of a day, the analysts' published copy.

A new set is written into a hidden sibling folder (``.<name>.new-<token>``), made durable (every file and the
folder fsync'ed), then swapped in: the current folder is renamed away (``.<name>.old-<token>``), the new one renamed
in, the old one deleted. A reader sees the old set, or the new set, never a mix of the two.

A crash can stop the swap half-way. ``recover`` finishes or rolls it back, and every run calls it before it writes
anything: the caller says whether a staged set was committed (the export register holds its manifest) and must
therefore be swapped in, or may be dropped.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def new_token() -> str:
    return uuid.uuid4().hex[:8]


def stage_path(final: Path, token: str) -> Path:
    return final.parent / f".{final.name}.new-{token}"


def old_path(final: Path, token: str) -> Path:
    return final.parent / f".{final.name}.old-{token}"


def write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` and the folders themselves (the swap only starts on a durable set)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            _fsync(path, os.O_RDONLY)
        else:
            _fsync(path, os.O_RDONLY | os.O_DIRECTORY)
    _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)


def swap_in(stage: Path, final: Path, token: str) -> None:
    """Rename ``final`` away (if present), ``stage`` in, then delete the old set."""
    old = old_path(final, token)
    if final.exists() and not old.exists():
        os.rename(final, old)
    os.rename(stage, final)
    _fsync(final.parent, os.O_RDONLY | os.O_DIRECTORY)
    if old.exists():
        shutil.rmtree(old)


def leftovers(parent: Path) -> dict[Path, dict[str, dict[str, Path]]]:
    """Half-done swaps under ``parent``: final folder -> {"new": {token: path}, "old": {token: path}}."""
    found: dict[Path, dict[str, dict[str, Path]]] = {}
    if not parent.is_dir():
        return found
    for path in parent.iterdir():
        m = _LEFTOVER.match(path.name)
        if m and path.is_dir():
            kinds = found.setdefault(parent / m["name"], {"new": {}, "old": {}})
            kinds[m["kind"]][m["token"]] = path
    return found


def recover(final: Path, committed: Callable[[Path], bool]) -> list[str]:
    """Finish or roll back a half-done swap of ``final``; returns what was done (for the run's log).

    ``committed(stage)`` is True when the staged set must replace the current one (its swap had been decided);
    otherwise the stage is dropped. A set renamed away whose replacement never arrived is put back.
    """
    kinds = leftovers(final.parent).get(final, {"new": {}, "old": {}})
    done = []
    for token, stage in sorted(kinds["new"].items()):
        if committed(stage):
            swap_in(stage, final, token)
            done.append(f"finished the swap of {final.name} ({stage.name})")
        else:
            shutil.rmtree(stage)
            done.append(f"dropped the uncommitted {stage.name}")
    for _token, old in sorted(kinds["old"].items()):
        if not old.exists():
            continue
        if final.exists():
            shutil.rmtree(old)
            done.append(f"deleted the replaced {old.name}")
        else:
            os.rename(old, final)
            done.append(f"put back {final.name} from {old.name}")
    return done


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>new|old)-(?P<token>[0-9a-f]{8})$")


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
