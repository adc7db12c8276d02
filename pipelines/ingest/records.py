"""Records of a CSV export, found by the pipeline itself in one streaming pass over the bytes.

This pass is the pipeline's own count of what a file holds, independent of DuckDB's reader, and the place where a
record DuckDB should never see is stopped: one longer than ``max_record_bytes`` (it would take DuckDB's memory and
time), or one with more fields than the header (DuckDB logs an error per extra field). It writes the copy DuckDB
reads: every kept record on one line, its source line number after it (``<record>,000000000017``), line endings
made LF. DuckDB's own line numbers, its handling of blank lines and of line endings then never matter.

Quotes follow RFC 4180 and DuckDB: a quote opens a quoted field only at the start of a field, ``""`` inside one is
a quote, and a quote inside an unquoted field is text. A line break (LF, CRLF or CR) outside quotes ends a record.
A record's line is its 1-based position in the file, blank lines included, a quoted field spanning lines counting
once (so it is the row number Excel shows).

Work is done per block of 1 MiB with numpy (quotes paired by parity, checked, else a regex finds the quoted fields);
memory stays about ``max_record_bytes`` + a few blocks whatever the file holds.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

BLOCK = 1 << 20
LINE_DIGITS = 12  # the copy's line number column: a comma and 12 digits after every record
_COMMA, _QUOTE, _LF, _CR = 44, 34, 10, 13
_FIELD_EDGE = np.zeros(256, bool)  # bytes that may stand next to a quote that opens or closes a field
_FIELD_EDGE[[_COMMA, _LF, _CR, _QUOTE]] = True
# A quoted field: a quote at the start of a field, then text and "" pairs, to its closing quote (or the end).
_QUOTED_FIELD = re.compile(rb'(?<![^,\r\n])"(?:[^"]++|"")*+(?:"|\Z)')
_POW10 = 10 ** np.arange(LINE_DIGITS - 1, -1, -1, dtype=np.int64)


def _latin1_fallback(err: UnicodeDecodeError):
    # cp1252 leaves 5 byte values undefined; those (rare) bytes fall back to latin-1 so nothing is lost.
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("latin1_fallback", _latin1_fallback)


@dataclass
class Batch:
    """Complete records found in ``buf``: record i is ``buf[start[i]:end[i]]`` (terminator excluded)."""

    buf: bytes
    first_line: int
    start: np.ndarray
    end: np.ndarray
    next: np.ndarray  # where the record after it starts (past the terminator)
    quoted: np.ndarray  # the quoted fields, [start, end) rows


@dataclass
class Overlong:
    """A record longer than the limit, skipped without being held in memory."""

    line: int
    size: int
    head: bytes  # its first bytes, for an excerpt


def scan(f: BinaryIO, limit: int, digest=None) -> Iterator[Batch | Overlong]:
    """Every record of the file, in order, in batches; an over-long record comes as an ``Overlong`` of its own.

    ``digest`` (a hashlib object) sees every byte read, so the sha256 is of exactly what was scanned.
    """
    carry, line, eof = b"", 1, False
    while not eof:
        block = f.read(BLOCK)
        if digest is not None:
            digest.update(block)
        eof = not block
        buf = carry + block if carry else block
        batch = _split(buf, line, final=eof)
        consumed = int(batch.next[-1]) if batch.next.size else 0
        if batch.start.size:
            yield batch
            line += batch.start.size
        carry = buf[consumed:]
        if len(carry) > limit:  # the record under way is already too long: skip to its end
            skipped = yield from _skip_overlong(f, carry, line, digest)
            carry, eof = skipped
            line += 1


def _skip_overlong(f: BinaryIO, partial: bytes, line: int, digest):
    """Read on to the end of an over-long record keeping only its first bytes; returns (rest of block, eof).

    Inside such a record quotes are counted in pairs (any quote toggles): it is refused whole anyway, and a pass
    that keeps one bit of state cannot be made to hold the record in memory.
    """
    head, size = partial[:256], 0
    parity = 0
    block, eof = partial, False
    while True:
        a = np.frombuffer(block, np.uint8)
        inside = (np.cumsum(a == _QUOTE, dtype=np.int64) + parity) & 1
        breaks = np.flatnonzero(((a == _LF) | (a == _CR)) & (inside == 0))
        if breaks.size:
            t = int(breaks[0])
            end = t + 1
            if a[t] == _CR and end < a.size and a[end] == _LF:
                end += 1
            elif a[t] == _CR and end == a.size and not eof:  # a CRLF split by the block: drop the LF that follows
                nxt = f.read(BLOCK)
                if digest is not None:
                    digest.update(nxt)
                eof = not nxt
                rest = nxt[1:] if nxt[:1] == b"\n" else nxt
                yield Overlong(line, size + t, head)
                return rest, eof
            yield Overlong(line, size + t, head)
            return block[end:], eof
        size += a.size
        parity = int(inside[-1]) if a.size else parity
        block = f.read(BLOCK)
        if digest is not None:
            digest.update(block)
        if not block:
            yield Overlong(line, size, head)
            return b"", True


def _split(buf: bytes, first_line: int, final: bool) -> Batch:
    a = np.frombuffer(buf, np.uint8)
    quoted = _quoted_spans(a, buf)
    breaks = np.flatnonzero((a == _LF) | (a == _CR))
    breaks = breaks[~_inside(quoted, breaks)]
    after = np.minimum(breaks + 1, max(a.size - 1, 0))
    first_of_crlf = (a[breaks] == _CR) & (breaks + 1 < a.size) & (a[after] == _LF)
    breaks = breaks[~first_of_crlf]  # the LF of a CR LF ends the record
    if not final and breaks.size and breaks[-1] == a.size - 1 and a[-1] == _CR:
        breaks = breaks[:-1]  # a CR at the end of the block may be the first half of a CR LF
    nxt = breaks + 1
    end = breaks - ((a[breaks] == _LF) & (breaks > 0) & (a[np.maximum(breaks - 1, 0)] == _CR))
    if final and (nxt[-1] if nxt.size else 0) < a.size:  # the last record has no line break
        nxt = np.append(nxt, a.size)
        end = np.append(end, a.size)
    start = np.concatenate(([0], nxt))[:-1]
    return Batch(buf, first_line, start.astype(np.int64), end.astype(np.int64), nxt.astype(np.int64), quoted)


def _quoted_spans(a: np.ndarray, buf: bytes) -> np.ndarray:
    """The quoted fields of ``buf`` as sorted [start, end) rows. Quotes that pair up as RFC 4180 says (each
    opening quote at a field's start, each closing one before a comma, a line break, a quote or the end) are
    paired in order; otherwise a regex finds the quoted fields (a stray quote in an unquoted field is text)."""
    q = np.flatnonzero(a == _QUOTE)
    if q.size == 0:
        return np.empty((0, 2), np.int64)
    opening, closing = q[0::2], q[1::2]
    if (_FIELD_EDGE[a[opening - 1]] | (opening == 0)).all() and (
        _FIELD_EDGE[a[np.minimum(closing + 1, a.size - 1)]] | (closing == a.size - 1)
    ).all():
        closing = np.append(closing, a.size) if closing.size < opening.size else closing
        return np.stack([opening, closing + 1], axis=1).astype(np.int64)
    spans = [m.span() for m in _QUOTED_FIELD.finditer(buf)]
    return np.array(spans, dtype=np.int64).reshape(-1, 2)


def _inside(spans: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Whether each position falls inside one of the sorted, disjoint spans."""
    if spans.size == 0:
        return np.zeros(positions.size, bool)
    i = np.searchsorted(spans[:, 0], positions, side="right") - 1
    return (i >= 0) & (positions < spans[np.maximum(i, 0), 1])


def _fields(item: Batch, n_fields: int) -> np.ndarray:
    """Fields per record (1 + its commas outside quoted fields), exact where it matters: above ``n_fields``."""
    a = np.frombuffer(item.buf, np.uint8)[: int(item.next[-1])]
    is_comma = a == _COMMA
    fields = np.add.reduceat(is_comma, item.start, dtype=np.int64) + 1  # counting quoted commas too
    spans = item.quoted[item.quoted[:, 0] < a.size]
    if spans.size and (fields > n_fields).any():
        # reduceat over [open, close) bounds: the even segments are the commas inside each quoted field
        in_quotes = np.add.reduceat(is_comma, np.minimum(spans.ravel(), a.size - 1), dtype=np.int64)[0::2]
        record = np.searchsorted(item.next, spans[:, 0], side="right")
        fields -= np.bincount(record, weights=in_quotes, minlength=item.start.size).astype(np.int64)
    return fields


# ------------------------------------------------------------------------------------------------ the head
def head_records(f: BinaryIO, limit: int, count: int) -> list[tuple[int, bytes | None]]:
    """The first ``count`` records as (line, bytes without the line break); None for one over the limit."""
    out: list[tuple[int, bytes | None]] = []
    for item in scan(f, limit):
        if isinstance(item, Overlong):
            out.append((item.line, None))
        else:
            for i in range(min(item.start.size, count - len(out))):
                s, e = int(item.start[i]), int(item.end[i])
                out.append((item.first_line + i, item.buf[s:e] if e - s <= limit else None))
        if len(out) >= count:
            break
    return out


# ------------------------------------------------------------------------------------------------ the copy
@dataclass
class Cut:
    line: int
    reason_code: str
    reason: str
    head: bytes


@dataclass
class CopyResult:
    sha256: str = ""
    rows: int = 0  # data records (non-blank, after the header): rows read
    written: int = 0  # of them, written to the copy for DuckDB


def copy_records(
    src: BinaryIO,
    dst: BinaryIO,
    header_line: int,
    n_fields: int,
    limit: int,
    encoding: str | None,
    on_cut: Callable[[Cut], object],
) -> CopyResult:
    """Write every data record after ``header_line`` to ``dst`` as ``<record>,<line>\\n`` (UTF-8).

    Blank lines are not records: neither written nor counted. A record over ``limit`` bytes or with more than
    ``n_fields`` fields is not written: ``on_cut(Cut)`` receives it (it becomes a quarantined row), and it counts
    as read. ``encoding`` = cp1252 transcodes to UTF-8.
    """
    digest = hashlib.sha256()
    result = CopyResult()
    for item in scan(src, limit, digest):
        if isinstance(item, Overlong):
            if item.line > header_line:
                result.rows += 1
                on_cut(
                    Cut(
                        item.line,
                        "record_too_long",
                        f"line {item.line} is {item.size:,} bytes long, over the limit of {limit:,} (max_record_bytes)",
                        item.head,
                    )
                )
            continue
        lines = item.first_line + np.arange(item.start.size, dtype=np.int64)
        length = item.end - item.start
        data = lines > header_line
        blank = data & (length == 0)
        too_long = data & (length > limit)
        fields = _fields(item, n_fields)
        too_wide = data & ~too_long & ~blank & (fields > n_fields)
        keep = data & ~blank & ~too_long & ~too_wide
        result.rows += int((data & ~blank).sum())
        result.written += int(keep.sum())
        for i in np.flatnonzero(too_long | too_wide):
            s, e = int(item.start[i]), int(item.end[i])
            if too_long[i]:
                reason = f"line {lines[i]} is {e - s:,} bytes long, over the limit of {limit:,} (max_record_bytes)"
                on_cut(Cut(int(lines[i]), "record_too_long", reason, item.buf[s : s + 256]))
            else:
                reason = f"{int(fields[i]):,} fields where the header has {n_fields}"
                on_cut(Cut(int(lines[i]), "csv_structure", reason, item.buf[s : min(e, s + 256)]))
        if keep.any():
            out = _framed(item, keep, lines)
            dst.write(out if encoding is None else out.decode(encoding, "latin1_fallback").encode("utf-8"))
    result.sha256 = digest.hexdigest()
    return result


def _framed(item: Batch, keep: np.ndarray, lines: np.ndarray) -> bytes:
    """The kept records of a batch, each as ``<record>,<12-digit line>\\n``, built without a loop over records.

    The line break of each record becomes the line number and an LF: a CR LF's CR turns into the comma, a lone
    CR into the LF, and one insertion puts the digits (and the comma where needed) before the break.
    """
    a = np.frombuffer(item.buf, np.uint8)[: int(item.next[-1])]
    if not keep.all():
        take = np.repeat(keep, item.next - item.start)
        a = a[take]
        length = (item.next - item.start)[keep]
        nxt = np.cumsum(length)
        end = nxt - (item.next - item.end)[keep]
    else:
        nxt, end = item.next, item.end
    break_len = nxt - end  # 2 for CR LF, 1 for LF or CR, 0 for a last record without one
    lone_cr = (break_len == 1) & (a[np.minimum(end, a.size - 1)] == _CR)
    if lone_cr.any() or (break_len == 2).any():
        a = a.copy()
        a[end[break_len == 2]] = _COMMA
        a[end[lone_cr]] = _LF
    text = np.empty((end.size, LINE_DIGITS + 1), np.uint8)
    text[:, 0] = _COMMA
    text[:, 1:] = (lines[keep][:, None] // _POW10) % 10 + 48
    crlf = break_len == 2
    at = np.where(crlf, end + 1, end)  # the digits go before the LF (after the comma that was a CR)
    width = np.where(crlf, LINE_DIGITS, LINE_DIGITS + 1)
    values = text[:, 1:].ravel() if crlf.all() else text[np.c_[~crlf, np.ones((end.size, LINE_DIGITS), bool)]]
    out = np.insert(a, np.repeat(at, width), values)
    return out.tobytes() + (b"\n" if break_len[-1] == 0 else b"")
