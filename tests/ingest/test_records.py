"""The record pass against an independent reader: Python's csv module, on random CSV-like bytes (quoted fields with
commas and line breaks, "" escapes, stray quotes inside unquoted fields, LF / CRLF / CR, blank lines, a last line
without a break), cut into blocks as small as one byte so that every record and every quote pair crosses a block
boundary somewhere."""

from __future__ import annotations

import csv
import io
import random

import pytest

from pipelines.ingest import records


def _random_csv(rng: random.Random) -> bytes:
    rows = []
    for _ in range(rng.randint(1, 7)):
        if rng.random() < 0.15:
            rows.append(b"")
            continue
        fields = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                inner = b"".join(
                    rng.choice([b"a", b",", b"\n", b"\r\n", b"\r", b'""']) for _ in range(rng.randint(0, 4))
                )
                fields.append(b'"' + inner + b'"')
            else:
                fields.append(rng.choice([b"a", b'12" pipe', b"", b"dd"]))
        rows.append(b",".join(fields))
    data = b"".join(r + rng.choice([b"\n", b"\r\n", b"\r"]) for r in rows)
    return data.rstrip(b"\r\n") if rng.random() < 0.5 else data


@pytest.mark.parametrize("block", [1, 3, 64])
def test_the_copy_holds_what_pythons_csv_module_reads(monkeypatch, block):
    monkeypatch.setattr(records, "BLOCK", block)
    rng = random.Random(block)
    checked = 0
    for _ in range(400):
        data = _random_csv(rng)
        reference = list(csv.reader(io.StringIO(data.decode("latin-1"), newline="")))
        expected = [row + [f"{line:012d}"] for line, row in enumerate(reference, start=1) if row]
        out = io.BytesIO()
        copied = records.copy_records(io.BytesIO(data), out, 0, 99, 10**6, None, lambda cut: None)
        got = list(csv.reader(io.StringIO(out.getvalue().decode("latin-1"), newline="")))
        assert got == expected, data
        assert copied.rows == copied.written == len(expected)
        checked += 1
    assert checked == 400


def test_over_long_and_too_wide_records_are_cut_with_their_line(monkeypatch):
    monkeypatch.setattr(records, "BLOCK", 4)
    data = b'title\r\nh1,h2\r\n1,"a\r\nb"\r\n\r\n' + b"x" * 50 + b"\r\n3,4\r\n5,6,7\r\n" + b'"' + b"y" * 40 + b"\r\n8,9"
    cuts = []
    out = io.BytesIO()
    copied = records.copy_records(io.BytesIO(data), out, 2, 2, 20, None, cuts.append)
    # line 4 is blank (not a record); the quoted y-field never closes, so lines 8 and 9 are one record, cut.
    assert out.getvalue() == b'1,"a\r\nb",000000000003\n3,4,000000000006\n'
    assert [(c.line, c.reason_code) for c in cuts] == [
        (5, "record_too_long"),
        (7, "csv_structure"),
        (8, "record_too_long"),
    ]
    assert cuts[1].reason == "3 fields where the header has 2"
    assert (copied.rows, copied.written) == (5, 2)
