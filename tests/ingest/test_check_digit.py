"""The entry-number check digit, in SQL (what ingestion runs) and in the test's reference implementation,
against CBP's published vectors (docs/DOMAIN.md section 2)."""

import duckdb
import pytest

from pipelines.ingest.parse_sql import check_digit_sql, entry_check_sql, entry_number_sql
from tests.conftest import reference_check_digit

VALID = ["ABC-1234567-6", "SP7-0000001-4", "999-9999999-0", "AAA-0000000-6", "605-0000010-8"]
INVALID = {
    "605-0000010-0": "bad_check_digit",
    "605-000001-8": "malformed",  # 6 serial digits
    "605-00000100-8": "malformed",  # 8 serial digits
    "60500000100812": "malformed",  # 14 characters
    "A%C-1234567-6": "malformed",
}


@pytest.mark.parametrize("number", VALID)
def test_reference_implementation_accepts_published_vectors(number):
    digits = number.replace("-", "")
    assert reference_check_digit(digits[:10]) == int(digits[10])


def _sql_check(values):
    con = duckdb.connect()
    con.execute("create table t (v varchar)")
    con.executemany("insert into t values (?)", [[v] for v in values])
    n = entry_number_sql("v")
    return dict(con.execute(f"select v, {entry_check_sql(n)} from t").fetchall())


def test_sql_check_digit_on_published_vectors():
    got = _sql_check(VALID + list(INVALID))
    assert {v: got[v] for v in VALID} == dict.fromkeys(VALID, "valid")
    assert {v: got[v] for v in INVALID} == INVALID


def test_sql_normalises_case_dashes_and_spaces():
    got = _sql_check(["abc-1234567-6", " ABC 1234567 6 ", "sp7-0000001-4"])
    assert set(got.values()) == {"valid"}


def test_sql_agrees_with_reference_on_many_numbers():
    # Filer codes across the whole alphabet, so every letter band of the mapping is exercised.
    import itertools

    filers = ["".join(p) for p in itertools.product("AJSZ9", "BKT0", "IRY5")]
    numbers = [f"{f}{s:07d}" for f in filers for s in (0, 1, 1234567, 9999999, 5050505)]
    con = duckdb.connect()
    con.execute("create table t (base varchar)")
    con.executemany("insert into t values (?)", [[b] for b in numbers])
    got = dict(con.execute(f"select base, {check_digit_sql('base')} from t").fetchall())
    assert got == {b: reference_check_digit(b) for b in numbers}
