"""The fingerprint cache: a landing file whose stat is unchanged since it was fingerprinted is not read again.

As git's index and rsync do, a file is known by its resolved path and its stat: size, mtime and ctime in
nanoseconds, inode and device. A row holds what the inventory needs of the content (sha256, UTF-8 validity, the
first bytes a refusal shows and the header check looks at for a BOM). Any difference in the stat reads the file
again. ctime is part of the key because no one can set it: a file rewritten and given back its old mtime
(``cp -p``, ``touch -d``) still changes it.

A file changed less than ``RACY_SECONDS`` before the run began is not cached: a second write in the same
timestamp tick (coarse on some file systems: 2 s on FAT) would leave its stat unchanged ("racy git").
The rows are written with the inventory and its refusals, in one transaction (``take_inventory``): the table then
holds exactly the files this run fingerprinted or found unchanged, so rows of files gone from the folder go too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import duckdb

from pipelines.ingest.files import LandingFile
from pipelines.warehouse.schema import ensure_fingerprint_cache

TABLE = "ingest.landing_fingerprints"  # created on first use (warehouse/schema.py: ensure_fingerprint_cache)
RACY_SECONDS = 2.0


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _path_key(path: Path) -> bytes:
    return os.fsencode(os.path.realpath(path))


@dataclasses.dataclass
class _Row:
    stat: tuple[int, int, int, int, int]
    sha256: str
    utf8: bool
    head: bytes
    fingerprinted_at: dt.datetime


class FingerprintCache:
    """The cached fingerprints, read once at the start of the inventory, and the rows this run keeps."""

    def __init__(self, con: duckdb.DuckDBPyConnection, enabled: bool, now: float):
        self.enabled = enabled
        self.racy_after_ns = int((now - RACY_SECONDS) * 1e9)
        self.hits = self.reads = 0
        self._cached: dict[bytes, _Row] = {}
        self._kept: dict[bytes, _Row] = {}
        ensure_fingerprint_cache(con)  # a warehouse older than the cache gets the table here
        if enabled:
            for path, *stat, sha, utf8, head, at in con.execute(
                f"select file_path, file_size_bytes, mtime_ns, ctime_ns, inode, device, file_sha256, utf8, head, "
                f"fingerprinted_at from {TABLE}"
            ).fetchall():
                self._cached[path] = _Row(tuple(stat), sha, utf8, head, at)

    def lookup(self, path: Path, name: str, st: os.stat_result) -> LandingFile | None:
        """The file's fingerprint from the cache when its stat is the one cached; else None (read it)."""
        if not self.enabled:
            return None
        key = _path_key(path)
        row = self._cached.get(key)
        if row is None or row.stat != stat_key(st):
            return None
        self.hits += 1
        self._kept[key] = row
        modified = dt.datetime.fromtimestamp(st.st_mtime)
        return LandingFile(path, name, row.sha256, st.st_size, modified, row.utf8, row.head, from_cache=True)

    def remember(self, lf: LandingFile, before: os.stat_result, after: os.stat_result) -> None:
        """Keep a fingerprint just read, if the file did not change while it was read and is not too young."""
        self.reads += 1
        if not self.enabled or stat_key(before) != stat_key(after) or after.st_size != lf.size:
            return
        if max(after.st_mtime_ns, after.st_ctime_ns) >= self.racy_after_ns:
            return
        self._kept[_path_key(lf.path)] = _Row(stat_key(after), lf.sha256, lf.utf8, lf.head, dt.datetime.now())

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """Replace the table's rows by this run's (in the caller's transaction); emptied when the cache is off."""
        con.execute(f"delete from {TABLE}")
        if not self.enabled or not self._kept:
            return
        rows = list(self._kept.items())
        con.execute(
            f"""
            insert into {TABLE}
            select unnest($path), unnest($size), unnest($mtime), unnest($ctime), unnest($inode)::ubigint,
                unnest($device)::ubigint, unnest($sha), unnest($utf8), unnest($head), unnest($at)
            """,
            {
                "path": [k for k, _ in rows],
                "size": [r.stat[0] for _, r in rows],
                "mtime": [r.stat[1] for _, r in rows],
                "ctime": [r.stat[2] for _, r in rows],
                "inode": [str(r.stat[3]) for _, r in rows],  # as text: an inode may not fit a signed 64-bit int
                "device": [str(r.stat[4]) for _, r in rows],
                "sha": [r.sha256 for _, r in rows],
                "utf8": [r.utf8 for _, r in rows],
                "head": [r.head for _, r in rows],
                "at": [r.fingerprinted_at for _, r in rows],
            },
        )


def forget(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Drop a file's cached fingerprint (its content was found to differ from it): it is read in full next run."""
    ensure_fingerprint_cache(con)
    con.execute(f"delete from {TABLE} where file_path = ?", [_path_key(path)])
