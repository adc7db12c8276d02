"""SQL expressions that parse the text of one CSV field into its typed value, and say why when they cannot.

Each kind yields (value expression, error condition, reason code). They are built once per file from the
layout, then DuckDB evaluates them set-based over every row; no Python touches a row.
"""

from __future__ import annotations

from pipelines.warehouse.layouts import Column

# The CATAIR check digit (docs/DOMAIN.md section 2): characters mapped to digits (0-9 as is, A-I -> 1-9,
# J-R -> 1-9, S-Z -> 2-9), then Luhn over the 10 base characters, doubling the even positions from the left.
# Each character's position in _ALPHABET indexes a list of its digit (odd positions) or of its doubled-and-
# reduced digit (even positions): one lookup per character, no per-row branching.
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGIT = [
    int(ch) if ch.isdigit() else (("ABCDEFGHIJKLMNOPQR".find(ch) % 9) + 1 if ch <= "R" else "STUVWXYZ".find(ch) + 2)
    for ch in _ALPHABET
]
_DOUBLED = [2 * d - 9 if 2 * d > 9 else 2 * d for d in _DIGIT]


def entry_number_sql(v: str) -> str:
    """Normalised entry number: upper case, no dashes or spaces."""
    return f"upper(replace(replace({v}, '-', ''), ' ', ''))"


def check_digit_sql(n: str) -> str:
    """SQL for the check digit of entry number ``n`` (its first 10 characters, upper case)."""
    terms = []
    for pos in range(1, 11):
        table = _DIGIT if pos % 2 else _DOUBLED
        terms.append(f"{table}[instr('{_ALPHABET}', substr({n}, {pos}, 1))]")
    return f"((10 - ({' + '.join(terms)}) % 10) % 10)"


def entry_check_sql(n: str) -> str:
    """'valid' | 'bad_check_digit' | 'malformed' for the normalised entry number ``n``."""
    return (
        f"case when {n} is null then null"
        f" when not regexp_full_match({n}, '[A-Z0-9]{{3}}[0-9]{{8}}') then 'malformed'"
        f" when {check_digit_sql(n)} = ascii(substr({n}, 11, 1)) - 48 then 'valid'"
        f" else 'bad_check_digit' end"
    )


def parse_expression(col: Column, v: str) -> tuple[str, str | None, str]:
    """(typed value SQL, reason code, expected form) for the trimmed text ``v`` (empty text is NULL).

    The value is NULL when the text cannot be parsed, so a parse error is simply "text present, value NULL";
    kinds that always parse (text, codes, entry numbers) have no reason code.
    """
    kind = col.kind
    if kind == "text":
        return v, None, ""
    if kind == "entry_number":
        return entry_number_sql(v), None, ""
    if kind == "code":
        if col.width:
            return (
                f"case when regexp_full_match({v}, '[0-9]+') then lpad({v}, {col.width}, '0') else upper({v}) end",
                None,
                "",
            )
        return f"upper({v})", None, ""
    if kind == "hts":
        digits = f"replace(replace({v}, '.', ''), ' ', '')"
        padded = f"lpad({digits}, cast(length({digits}) + 1 as integer), '0')"
        value = (
            f"case when not regexp_full_match({digits}, '[0-9]{{7,10}}') then null"
            f" when length({digits}) in (7, 9) then {padded} else {digits} end"
        )
        return value, "bad_hts", "an HTS number of 8 or 10 digits"
    if kind == "int":
        return (
            f"case when regexp_full_match({v}, '-?[0-9]{{1,9}}') then cast({v} as integer) end",
            "bad_integer",
            "a whole number",
        )
    if kind == "decimal":
        clean = f"replace({v}, ',', '')"
        number = f"regexp_full_match({clean}, '-?[0-9]{{0,12}}(\\.[0-9]{{0,6}})?')"
        value = f"case when {number} then try_cast({clean} as decimal(18,6)) end"
        return value, "bad_number", "a number with at most 6 decimals"
    if kind == "money":
        # $1,234.56 | -1,234.56 | (1,234.56) | -$12 ; never more than 2 decimals (refused, not rounded)
        s_ = f"replace(replace(replace({v}, '$', ''), ',', ''), ' ', '')"
        value = (
            f"case when regexp_full_match({s_}, '-?[0-9]{{1,16}}(\\.[0-9]{{1,2}})?') then cast({s_} as decimal(18,2))"
            f" when regexp_full_match({s_}, '\\([0-9]{{1,16}}(\\.[0-9]{{1,2}})?\\)')"
            f" then -cast(substr({s_}, 2, length({s_}) - 2) as decimal(18,2)) end"
        )
        return value, "bad_amount", "an amount like 1234.56, $1,234.56 or (12.00), at most 2 decimals"
    if kind == "date":
        value = f"cast(coalesce(try_strptime({v}, '%m/%d/%Y'), try_strptime({v}, '%Y-%m-%d')) as date)"
        return value, "bad_date", "a date MM/DD/YYYY or YYYY-MM-DD"
    if kind == "flag":
        up = f"upper({v})"
        value = (
            f"case when {up} in ('Y', 'YES', 'TRUE', 'T', '1', 'X') then true"
            f" when {up} in ('N', 'NO', 'FALSE', 'F', '0') then false end"
        )
        return value, "bad_flag", "Y or N"
    raise ValueError(f"unknown column kind {kind!r}")
