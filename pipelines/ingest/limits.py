"""The size limits of a ZIP file, an archive of exports or an Excel workbook (which is a ZIP archive too): members per
archive, unpacked bytes per member and in all, and the unpacked / packed ratio of large members. They are settings
(``archive_max_*``); a file over a limit is refused unread."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from pipelines.ingest.headers import Refusal
from pipelines.settings import Settings

RATIO_FROM_BYTES = 1 << 20  # the ratio limit applies to members larger than this


@dataclass(frozen=True)
class Limits:
    members: int
    member_bytes: int
    total_bytes: int
    ratio: int

    @classmethod
    def of(cls, s: Settings) -> Limits:
        return cls(s.archive_max_members, s.archive_max_member_bytes, s.archive_max_total_bytes, s.archive_max_ratio)

    def check_archive(self, zf: zipfile.ZipFile, what: str = "archive") -> None:
        """Refuse the whole archive when it holds too many members or too many bytes in all."""
        files = [i for i in zf.infolist() if not i.is_dir()]
        if len(files) > self.members:
            raise Refusal(
                "archive_limit",
                f"the {what} holds {len(files):,} files, over the limit of {self.members:,} (archive_max_members)",
            )
        total = sum(i.file_size for i in files)
        if total > self.total_bytes:
            raise Refusal(
                "archive_limit",
                f"the {what} unpacks to {total:,} bytes, over the limit of "
                f"{self.total_bytes:,} (archive_max_total_bytes)",
            )

    def check_member(self, info: zipfile.ZipInfo) -> Refusal | None:
        if info.flag_bits & 0x1:
            return Refusal("archive_member_encrypted", "the member is encrypted: not read")
        if info.file_size > self.member_bytes:
            return Refusal(
                "archive_limit",
                f"the member unpacks to {info.file_size:,} bytes, over the limit of "
                f"{self.member_bytes:,} (archive_max_member_bytes)",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FROM_BYTES and ratio > self.ratio:
            return Refusal(
                "archive_limit",
                f"the member unpacks {ratio:,.0f} times its packed size, over the limit "
                f"of {self.ratio} (archive_max_ratio): a compression bomb is refused unread",
            )
        return None
