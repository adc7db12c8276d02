"""ZIP archives in the landing folder: each member becomes a landing file of its own, or is refused with the reason.

No member is ever written under its own name: each is streamed (unpacked, hashed, its size capped) to a work file
the pipeline names, so a member called ``../../etc/passwd`` cannot land anywhere; such a name is refused all the
same, as the mark of a hostile archive. The limits are settings: members per archive, unpacked bytes per member and
in all, and the unpacked / packed ratio of members over 1 MiB (a "zip bomb" inflates a few KB into gigabytes).
An Excel workbook is a ZIP archive too: its parts pass the same size limits before openpyxl opens it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipelines.ingest.files import (
    ARCHIVE_SUFFIXES,
    BLOCK,
    CSV_SUFFIXES,
    XLSX_SUFFIXES,
    Hasher,
    LandingFile,
    display_name,
    open_regular,
    unsupported,
)
from pipelines.ingest.headers import Refusal
from pipelines.ingest.limits import Limits


@dataclass
class Member:
    file: LandingFile  # for a refused member: its stated size, and a sha256 standing for it (it is not read)
    refusal: Refusal | None = None


def expand(archive: LandingFile, work: Path, limits: Limits) -> list[Member]:
    """Every file the archive holds (folders and hidden files aside), unpacked to ``work``, or refused by name."""
    with open_regular(archive.path) as f:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise Refusal("unreadable_archive", f"cannot be opened as a ZIP archive: {exc}") from exc
        with zf:
            limits.check_archive(zf)
            out = []
            for index, info in enumerate(zf.infolist()):
                if info.is_dir() or _hidden(info.filename):
                    continue
                out.append(_member(zf, info, index, archive, work, limits))
            return out


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, index: int, archive: LandingFile, work: Path, limits):
    name = f"{archive.name}/{display_name(info.filename)}"
    modified = _zip_time(info) or archive.modified_at
    refusal = _unsafe_path(info.filename) or limits.check_member(info) or unsupported(info.filename)
    if refusal is None and Path(info.filename).suffix.lower() in ARCHIVE_SUFFIXES:
        refusal = Refusal("unsupported_file_type", "an archive inside an archive is not opened: unpack it first")
    if refusal is None:
        suffix = Path(info.filename).suffix.lower()
        work.mkdir(parents=True, exist_ok=True)
        target = (
            work / f"member-{archive.sha256[:16]}-{index}{suffix if suffix in CSV_SUFFIXES | XLSX_SUFFIXES else ''}"
        )
        try:
            h = _unpack(zf, info, target)
            lf = LandingFile(target, name, h.digest.hexdigest(), h.size, modified, h.utf8, h.head, archive.name)
            return Member(lf)
        except Refusal as exc:
            target.unlink(missing_ok=True)
            refusal = exc
    # Not read: a sha256 of the archive's and the member's name stands for the member, so that the refusal is
    # recorded once, not on every run.
    stand_in = hashlib.sha256(f"{archive.sha256}/{info.filename}".encode("utf-8", "surrogateescape")).hexdigest()
    return Member(
        LandingFile(archive.path, name, stand_in, info.file_size, modified, False, b"", archive.name), refusal
    )


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> Hasher:
    """Stream the member to ``target``, hashing it; never more bytes than the archive says it holds."""
    h = Hasher()
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while block := src.read(BLOCK):
                if h.size + len(block) > info.file_size:
                    raise Refusal(
                        "archive_limit",
                        f"the member unpacks to more than the {info.file_size:,} bytes "
                        "its archive entry states: refused",
                    )
                h.update(block)
                dst.write(block)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, ValueError) as exc:
        raise Refusal("unreadable_archive_member", f"cannot be unpacked: {type(exc).__name__}: {exc}") from exc
    return h.finish()


def _unsafe_path(name: str) -> Refusal | None:
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        return Refusal(
            "unsafe_archive_path",
            "the member's path points outside the archive's folder (absolute, "
            "a drive, or '..'): refused, nothing written",
        )
    return None


def _hidden(name: str) -> bool:
    """macOS adds __MACOSX/ and ._ files to the archives it makes; hidden files are not exports."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any((p.startswith(".") and p != "..") or p == "__MACOSX" for p in parts)


def _zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    try:
        return dt.datetime(*info.date_time)
    except ValueError:
        return None
